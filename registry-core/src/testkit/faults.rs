//! A [`BlobStore`] that injects failures and latency around another one, for fault tests: the
//! registry must answer a clear server error, leave no corrupt state, and work again once the
//! store does, with nobody's help.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::blob::{BlobStore, ByteStream, InputStream};
use crate::error::{Error, Result};
use crate::oci::Digest;

/// Which operations fail (bit flags).
pub mod ops {
    pub const GET: u64 = 1;
    pub const APPEND: u64 = 2;
    pub const COMMIT: u64 = 4;
    pub const DELETE: u64 = 8;
    pub const STAT: u64 = 16;
    pub const ALL: u64 = 31;
}

#[derive(Debug)]
pub struct FaultyBlobStore {
    inner: Arc<dyn BlobStore>,
    failing: AtomicU64,
    latency_ms: AtomicU64,
    injected: AtomicU64,
}

impl FaultyBlobStore {
    pub fn new(inner: Arc<dyn BlobStore>) -> Self {
        Self {
            inner,
            failing: AtomicU64::new(0),
            latency_ms: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        }
    }

    /// Fail the operations in `ops` (see [`ops`]) from now on; 0 heals the store.
    pub fn fail(&self, ops: u64) {
        self.failing.store(ops, Ordering::SeqCst);
    }

    /// Delay every operation by this much.
    pub fn latency(&self, d: Duration) {
        self.latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Failures injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::SeqCst)
    }

    async fn enter(&self, op: u64) -> Result<()> {
        let ms = self.latency_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if self.failing.load(Ordering::SeqCst) & op != 0 {
            self.injected.fetch_add(1, Ordering::SeqCst);
            return Err(Error::storage(
                "faulty",
                std::io::Error::other("injected failure"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl BlobStore for FaultyBlobStore {
    fn name(&self) -> &'static str {
        "faulty"
    }
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        self.enter(ops::STAT).await?;
        self.inner.stat(digest).await
    }
    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream> {
        self.enter(ops::GET).await?;
        self.inner.get(digest, range).await
    }
    async fn delete(&self, digest: &Digest) -> Result<bool> {
        self.enter(ops::DELETE).await?;
        self.inner.delete(digest).await
    }
    fn list(&self) -> BoxStream<'static, Result<Digest>> {
        self.inner.list()
    }
    async fn append(&self, id: &str, offset: u64, data: InputStream<'_>) -> Result<u64> {
        self.enter(ops::APPEND).await?;
        self.inner.append(id, offset, data).await
    }
    async fn append_hashed(
        &self,
        id: &str,
        offset: u64,
        data: InputStream<'_>,
        hasher: crate::oci::Hasher,
    ) -> Result<(u64, crate::oci::Hasher)> {
        self.enter(ops::APPEND).await?;
        self.inner.append_hashed(id, offset, data, hasher).await
    }
    async fn read_staged(&self, id: &str, size: u64) -> Result<ByteStream> {
        self.enter(ops::GET).await?;
        self.inner.read_staged(id, size).await
    }
    async fn commit(&self, id: &str, size: u64, digest: &Digest) -> Result<()> {
        self.enter(ops::COMMIT).await?;
        self.inner.commit(id, size, digest).await
    }
    async fn abort(&self, id: &str) -> Result<()> {
        self.inner.abort(id).await
    }
    async fn list_uploads(&self) -> Result<Vec<String>> {
        self.inner.list_uploads().await
    }
}
