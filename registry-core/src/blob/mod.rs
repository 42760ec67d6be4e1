//! Content-addressed blob storage with resumable upload staging.
//!
//! # Layout
//!
//! Every backend keeps the same logical layout (the filesystem backend under its root directory,
//! the object-store backend under its bucket prefix):
//!
//! ```text
//! <root>/
//! ├── blobs/
//! │   ├── sha256/ab/abcdef…            published blob, named by its digest (fs: 2-char fan-out)
//! │   └── sha512/…
//! └── uploads/
//!     ├── <upload-id>                   fs: one staging file per upload session
//!     └── <upload-id>/<offset:020>      object store: one object per appended chunk
//! ```
//!
//! # Contract
//!
//! * Backends only move bytes. Digest verification, offsets and hash state live in core
//!   ([`crate::upload`]); a backend never computes a digest.
//! * [`BlobStore::append`] writes the stream at exactly `offset`: content staged past `offset`
//!   (left by a request that failed or a process that was killed) is discarded first.
//! * [`BlobStore::commit`] publishes the first `size` staged bytes under a digest atomically:
//!   readers see the whole blob or nothing. Committing a digest that already exists succeeds.
//! * Nothing under `uploads/` is ever visible through [`BlobStore::get`].

use std::fmt::Debug;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::oci::{Digest, Hasher};

pub mod fs;
pub mod memory;
pub mod object;

/// A stream of blob bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// The input side of an upload, borrowed so core keeps the hasher wrapped around it.
pub type InputStream<'a> = &'a mut (dyn Stream<Item = Result<Bytes>> + Send + Unpin);

/// Storage for blob bytes.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug + 'static {
    /// Short backend name used in errors and metrics (`"fs"`, `"memory"`, `"s3"`).
    fn name(&self) -> &'static str;

    /// Size of a published blob, or `None` when it does not exist.
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>>;

    /// Read a published blob, optionally a byte range of it (end exclusive, already clamped to
    /// the blob's size by the caller). Fails with `BlobUnknown` when it does not exist.
    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream>;

    /// Delete a published blob. Returns whether it existed.
    async fn delete(&self, digest: &Digest) -> Result<bool>;

    /// Every published blob, for garbage collection and audits.
    fn list(&self) -> BoxStream<'static, Result<Digest>>;

    /// Append `data` to upload `id` at `offset`, returning the staged size afterwards.
    async fn append(&self, id: &str, offset: u64, data: InputStream<'_>) -> Result<u64>;

    /// [`BlobStore::append`], feeding every byte appended, in order, to `hasher`; returns the
    /// staged size and the hasher. By default the bytes are hashed as they arrive; a store
    /// that writes on other threads may hash there instead, beside the write, so one upload
    /// keeps two cores busy and no received byte waits in memory for a hasher.
    async fn append_hashed(
        &self,
        id: &str,
        offset: u64,
        data: InputStream<'_>,
        hasher: Hasher,
    ) -> Result<(u64, Hasher)> {
        let mut hashing = HashingStream::new(data, hasher);
        let size = self.append(id, offset, &mut hashing).await?;
        let hasher = hashing.finish().expect("a hashing stream keeps its hasher");
        Ok((size, hasher))
    }

    /// Stage the whole content of a blob from one stream under a new upload `id` (nothing is
    /// staged under it), hashing it into `hasher`, for [`BlobStore::commit_whole`] to publish
    /// once core has checked the digest. On failure core drops it with [`BlobStore::abort`].
    ///
    /// A store may keep small content in memory instead of staging it (the object store does:
    /// one `PUT` then publishes it, where staging costs a listing, a `PUT`, a copy and a
    /// delete). By default the content is appended at offset 0.
    async fn stage_whole(
        &self,
        id: &str,
        data: InputStream<'_>,
        hasher: Hasher,
    ) -> Result<(Whole, Hasher)> {
        let (size, hasher) = self.append_hashed(id, 0, data, hasher).await?;
        Ok((
            Whole {
                size,
                held: None,
                memory: None,
            },
            hasher,
        ))
    }

    /// Publish content [`BlobStore::stage_whole`] staged as blob `digest`, then drop its
    /// staging data. By default: [`BlobStore::commit`].
    async fn commit_whole(&self, id: &str, whole: Whole, digest: &Digest) -> Result<()> {
        self.commit(id, whole.size, digest).await
    }

    /// Read back the first `size` staged bytes of upload `id`.
    async fn read_staged(&self, id: &str, size: u64) -> Result<ByteStream>;

    /// Publish the first `size` staged bytes of upload `id` as blob `digest`, then drop the
    /// staging data.
    async fn commit(&self, id: &str, size: u64, digest: &Digest) -> Result<()>;

    /// Drop the staging data of upload `id` (missing is fine).
    async fn abort(&self, id: &str) -> Result<()>;

    /// Upload ids that have staging data, for purging abandoned sessions.
    async fn list_uploads(&self) -> Result<Vec<String>>;
}

/// Content staged by [`BlobStore::stage_whole`]: its size, and the bytes themselves when the
/// store held them in memory rather than staging them.
pub struct Whole {
    pub size: u64,
    pub held: Option<Vec<Bytes>>,
    /// The share of the store's memory budget the held bytes count against, released with
    /// them.
    pub memory: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Check that an upload id is safe to use as one path segment (letters, digits, `-`).
/// Every backend calls this before touching its staging area.
pub fn check_upload_id(id: &str) -> Result<()> {
    if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(crate::Error::BlobUploadUnknown {
            id: id.chars().take(64).collect(),
        })
    }
}

/// A stream adapter that counts the bytes passing through, optionally stops past a limit, and
/// optionally hashes them inline, as they pass.
///
/// Chunks pass through untouched. [`BlobStore::append_hashed`]'s default (which every store
/// uses today) hashes with it on the receiving task, so no received byte waits for a hasher;
/// core counts and bounds the body with [`HashingStream::counting`].
pub struct HashingStream<S> {
    inner: S,
    hasher: Option<Hasher>,
    count: u64,
    limit: Option<u64>,
}

impl<S> HashingStream<S> {
    /// Count and hash.
    pub fn new(inner: S, hasher: Hasher) -> Self {
        Self {
            inner,
            hasher: Some(hasher),
            count: 0,
            limit: None,
        }
    }

    /// Count only.
    pub fn counting(inner: S) -> Self {
        Self {
            inner,
            hasher: None,
            count: 0,
            limit: None,
        }
    }

    /// Fail the stream with `SizeInvalid` once more than `limit` bytes have passed.
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    pub fn bytes_seen(&self) -> u64 {
        self.count
    }

    /// The hasher over everything that passed (`None` for a counting stream).
    pub fn finish(self) -> Option<Hasher> {
        self.hasher
    }
}

impl<S: Stream<Item = Result<Bytes>> + Unpin> Stream for HashingStream<S> {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.count += chunk.len() as u64;
                if let Some(limit) = this.limit
                    && this.count > limit
                {
                    return Poll::Ready(Some(Err(crate::Error::SizeInvalid {
                        reason: format!("body exceeds the declared {limit} bytes"),
                    })));
                }
                if let Some(h) = &mut this.hasher {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

/// Collect a stream into memory. Only for bounded content such as manifests and tests.
pub async fn collect(mut s: ByteStream, limit: usize) -> Result<Vec<u8>> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        if out.len() + chunk.len() > limit {
            return Err(crate::Error::SizeInvalid {
                reason: format!("content exceeds {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::{Algorithm, Digest};
    use futures::StreamExt;

    /// Every store's hashed append hashes every byte it stages, in order: the default (inline)
    /// and through the filesystem store's batched, budgeted writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashed_appends_hash_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let stores: Vec<Box<dyn BlobStore>> = vec![
            Box::new(memory::MemoryBlobStore::new()),
            Box::new(fs::FsBlobStore::open(dir.path()).unwrap()),
        ];
        const MIB: usize = 1 << 20;
        for store in &stores {
            for (i, len) in [0usize, 1, MIB - 1, MIB, 3 * MIB + 17, 9 * MIB]
                .into_iter()
                .enumerate()
            {
                let data = crate::testkit_data(len);
                let chunks: Vec<Result<Bytes>> = data
                    .chunks(64 * 1024 + 3)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                let mut body = futures::stream::iter(chunks);
                let (size, hasher) = store
                    .append_hashed(
                        &format!("h{i}"),
                        0,
                        &mut body,
                        Hasher::new(Algorithm::Sha256),
                    )
                    .await
                    .unwrap();
                assert_eq!(size, len as u64);
                assert_eq!(
                    hasher.finish(),
                    Digest::sha256_of(&data),
                    "{} len {len}",
                    store.name()
                );
                let mut staged = store.read_staged(&format!("h{i}"), size).await.unwrap();
                let mut back = Vec::new();
                while let Some(c) = staged.next().await {
                    back.extend_from_slice(&c.unwrap());
                }
                assert!(
                    back == data,
                    "{} len {len}: staged bytes differ",
                    store.name()
                );
            }
        }
    }
}
