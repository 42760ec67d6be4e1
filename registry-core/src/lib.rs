//! Berth's engine: a Harbor-class container registry as a library.
//!
//! Everything goes through [`Registry`]; storage sits behind [`blob::BlobStore`] (filesystem,
//! memory, S3) and [`meta::MetadataStore`] (SQLite, PostgreSQL).
//!
//! The crate is laid out by domain (see `docs/architecture.md`):
//! - foundation: [`error`], [`clock`], [`units`], [`query`] — depend on nothing above them;
//! - [`oci`] (digests, names, manifests), [`blob`] (byte stores), [`meta`] (the storage layer);
//! - [`registry`]: the facade, its builder, caches and the read-only switch;
//! - the domains: [`distribution`] (the `/v2` data plane and its authorization), [`identity`],
//!   [`content`], [`policy`], [`ops`], [`events`].
//!
//! The flat module paths of earlier releases (`berth::access`, `berth::gc`, …) stay available as
//! re-exports so frontends do not churn when a file moves.

pub mod blob;
pub mod clock;
pub mod error;
pub mod meta;
pub mod oci;
pub mod query;
pub mod units;

pub mod registry;

pub mod content;
pub mod distribution;
pub mod events;
pub mod identity;
pub mod ops;
pub mod policy;
pub mod proxy;
pub mod replication;
pub mod scan;

#[cfg(feature = "testkit")]
pub mod testkit;

// The flat layout's paths.
pub use content::{catalog, model, project};
pub use distribution::image;
pub use events::{audit, webhook};
pub use identity as auth;
pub use identity::{access, robot, user};
pub use ops::{gc, jobs, quota, settings};
pub use policy::{immutable, retention, selector};

/// Deterministic bytes for unit tests.
#[cfg(test)]
pub(crate) fn testkit_data(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

pub use access::{AccessSettings, IssuedToken, ProjectAccess, ProjectCreation, RepoAction};
pub use auth::Principal;
pub use error::{Error, ErrorCode, Result};
pub use image::{Content, ImageRef, NewImage, NewLayer, PulledImage, PulledLayer, PushedImage};
pub use query::{ListQuery, Page};
pub use registry::{
    BlobRead, PutManifestOutcome, RangeSpec, ReferrersIndex, Registry, RegistryBuilder,
};
