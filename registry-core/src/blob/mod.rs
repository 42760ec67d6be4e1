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
use std::future::Future;
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

/// Bodies are hashed on the blocking pool in batches of this many bytes, in parallel with
/// receiving and writing them.
const HASH_BATCH: usize = 1 << 20;
/// Reading pauses while this many received bytes still wait for the hasher (bounds memory).
const HASH_MAX_PENDING: usize = 2 << 20;

/// A stream adapter that counts the bytes passing through and hashes them.
///
/// Chunks pass through untouched. Hashing happens off the receiving task: full batches go to
/// the blocking pool while the next ones are received (and written by the backend), so one
/// upload keeps two cores busy. Bodies smaller than one batch are hashed inline by
/// [`HashingStream::finish`].
pub struct HashingStream<S> {
    inner: S,
    hasher: Option<Hasher>,
    job: Option<tokio::task::JoinHandle<Hasher>>,
    batch: Vec<Bytes>,
    batch_len: usize,
    count: u64,
    limit: Option<u64>,
}

impl<S> HashingStream<S> {
    pub fn new(inner: S, hasher: Hasher) -> Self {
        Self {
            inner,
            hasher: Some(hasher),
            job: None,
            batch: Vec::new(),
            batch_len: 0,
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

    /// Hand a full batch to the blocking pool when the hasher is free.
    fn dispatch(&mut self) {
        if self.batch_len >= HASH_BATCH
            && let Some(mut h) = self.hasher.take()
        {
            let chunks = std::mem::take(&mut self.batch);
            self.batch_len = 0;
            self.job = Some(tokio::task::spawn_blocking(move || {
                for c in &chunks {
                    h.update(c);
                }
                h
            }));
        }
    }

    /// Wait for the hashing to catch up and return the hasher over everything that passed.
    pub async fn finish(mut self) -> Result<Hasher> {
        if let Some(job) = self.job.take() {
            self.hasher = Some(job.await.map_err(|e| crate::Error::Internal(Box::new(e)))?);
        }
        let mut h = self
            .hasher
            .take()
            .expect("the hasher is back once no job runs");
        for c in &self.batch {
            h.update(c);
        }
        Ok(h)
    }
}

impl<S: Stream<Item = Result<Bytes>> + Unpin> Stream for HashingStream<S> {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(job) = this.job.as_mut()
            && let Poll::Ready(done) = Pin::new(job).poll(cx)
        {
            this.job = None;
            match done {
                Ok(h) => this.hasher = Some(h),
                Err(e) => return Poll::Ready(Some(Err(crate::Error::Internal(Box::new(e))))),
            }
            this.dispatch();
        }
        if this.job.is_some() && this.batch_len >= HASH_MAX_PENDING {
            // The running job's completion wakes this task.
            return Poll::Pending;
        }
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
                this.batch_len += chunk.len();
                this.batch.push(chunk.clone());
                this.dispatch();
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

    #[tokio::test]
    async fn hashes_match_inline_hashing_for_every_size() {
        for len in [
            0usize,
            1,
            HASH_BATCH - 1,
            HASH_BATCH,
            3 * HASH_BATCH + 17,
            9 * HASH_BATCH,
        ] {
            let data = crate::testkit_data(len);
            let chunks: Vec<Result<Bytes>> = data
                .chunks(64 * 1024 + 3)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let mut hs = HashingStream::new(
                futures::stream::iter(chunks),
                Hasher::new(Algorithm::Sha256),
            );
            let mut passed = 0;
            while let Some(c) = hs.next().await {
                passed += c.unwrap().len();
            }
            assert_eq!(passed, len);
            assert_eq!(hs.bytes_seen(), len as u64);
            assert_eq!(
                hs.finish().await.unwrap().finish(),
                Digest::sha256_of(&data),
                "len {len}"
            );
        }
    }
}
