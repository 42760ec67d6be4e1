//! Berth's engine: a Harbor-class container registry as a library.
//!
//! Everything goes through [`Registry`]; storage sits behind [`blob::BlobStore`] (filesystem,
//! memory, S3) and [`meta::MetadataStore`] (SQLite, PostgreSQL).

pub mod blob;
pub mod clock;
pub mod error;
pub mod image;
pub mod meta;
pub mod oci;
pub mod registry;
#[cfg(feature = "testkit")]
pub mod testkit;

/// Deterministic bytes for unit tests.
#[cfg(test)]
pub(crate) fn testkit_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

pub use error::{Error, ErrorCode, Result};
pub use image::{Content, ImageRef, NewImage, NewLayer, PulledImage, PulledLayer, PushedImage};
pub use registry::{BlobRead, PutManifestOutcome, RangeSpec, ReferrersIndex, Registry, RegistryBuilder};
