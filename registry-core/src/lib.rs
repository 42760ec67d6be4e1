//! Berth's engine: a Harbor-class container registry as a library.
//!
//! Everything goes through [`Registry`]; storage sits behind [`blob::BlobStore`] (filesystem,
//! memory, S3) and [`meta::MetadataStore`] (SQLite, PostgreSQL).

pub mod access;
pub mod audit;
pub mod auth;
pub mod blob;
pub mod catalog;
pub mod clock;
pub mod error;
pub mod events;
pub mod gc;
pub mod image;
pub mod immutable;
pub mod jobs;
pub mod meta;
pub mod model;
pub mod oci;
pub mod project;
pub mod query;
pub mod quota;
pub mod registry;
pub mod retention;
pub mod robot;
pub mod selector;
pub mod settings;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod user;
pub mod webhook;

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
