//! OCI content model: digests, names and references, manifests.

pub mod digest;
pub mod manifest;
pub mod name;

pub use digest::{Algorithm, Digest, Hasher};
pub use manifest::{ContentRef, ManifestKind, ParsedManifest, RefKind};
pub use name::{Reference, RepoName, validate_tag};
