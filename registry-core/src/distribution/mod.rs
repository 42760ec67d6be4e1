//! The `/v2` data plane: uploads, blobs, manifests, tags, referrers and the catalog, and who may
//! do which of them.
//!
//! Frontends authenticate; this module authorizes. [`Registry::v2`] binds a [`Caller`] to the
//! registry, and every operation of the returned [`V2`] checks the caller's project role (and,
//! for token callers, the token's granted scope) before it touches anything. The plain methods
//! of [`Registry`] act as the embedding program (the bindings, `berth` admin commands).
//!
//! Mounting follows the distribution spec: a blob is linked from another repository only when
//! the caller may pull that repository; otherwise the client gets an upload session (202).

pub mod access;
pub mod blobs;
pub mod image;
pub(crate) mod links;
pub mod manifests;
pub mod uploads;

pub use access::{Caller, V2};

use std::ops::Range;

use bytes::Bytes;

use crate::blob::ByteStream;
use crate::error::{Error, Result};
use crate::oci::Digest;

/// Result of a manifest push.
#[derive(Debug, Clone)]
pub struct PutManifestOutcome {
    pub digest: Digest,
    /// The manifest's subject, for the `OCI-Subject` response header.
    pub subject: Option<Digest>,
    /// Every tag that now points at the manifest.
    pub tags: Vec<String>,
}

/// A blob about to be streamed.
pub struct BlobRead {
    /// Size of the whole blob.
    pub size: u64,
    /// The byte range being returned (end exclusive).
    pub range: Range<u64>,
    pub body: ByteStream,
}

/// A byte range as a client asked for it (`Range: bytes=…`), resolved against the blob's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `start-` or `start-end` (end inclusive, clamped to the size).
    From { start: u64, end: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The half-open range this selects in a blob of `size` bytes, or `RangeInvalid`.
    pub fn resolve(self, size: u64) -> Result<Range<u64>> {
        let bad = Error::RangeInvalid { offset: size };
        match self {
            Self::From { start, end } => {
                let last = end.unwrap_or(u64::MAX).min(size.saturating_sub(1));
                if start >= size || end.is_some_and(|e| e < start) {
                    return Err(bad);
                }
                Ok(start..last + 1)
            }
            Self::Suffix(n) if n == 0 || size == 0 => Err(bad),
            Self::Suffix(n) => Ok(size.saturating_sub(n)..size),
        }
    }
}

/// A referrers answer: an OCI image index, and whether an `artifactType` filter was applied.
#[derive(Debug, Clone)]
pub struct ReferrersIndex {
    pub body: Bytes,
    pub filtered: bool,
}
