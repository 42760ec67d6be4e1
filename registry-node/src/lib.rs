//! Node bindings for Berth (`require('berth')`). This crate is the seed of the binding layer:
//! the full API over `registry_core::Registry` lands with the embedding-frontends work.

use napi_derive::napi;

/// The version of the Berth engine this module was built from.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Validate a repository name with the engine's grammar; throws an error whose code is
/// `NAME_INVALID` when invalid.
#[napi]
pub fn check_repository_name(name: String) -> napi::Result<()> {
    registry_core::oci::RepoName::parse(&name)
        .map(|_| ())
        .map_err(|e| napi::Error::new(napi::Status::InvalidArg, format!("{}: {e}", e.code())))
}
