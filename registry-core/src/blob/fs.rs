//! Filesystem blob store (`file:///path`), the embedded default.
//!
//! Uploads stage into `uploads/<id>`; a commit truncates the staging file to the verified size,
//! fsyncs it, renames it to `blobs/<alg>/<xx>/<hex>` and fsyncs that directory (and any directory
//! it had to create, in its parent). A rename within one filesystem is atomic, so a reader (or a
//! restart after `kill -9`) sees either no blob or the whole blob, and once the commit returns
//! (and the database links the blob) a power loss cannot take the name away.
//! Writes run on the blocking pool in batches of what has arrived (at most 1 MiB), one batch in
//! flight while the next one is received, under a store-wide budget of unwritten bytes (uploads
//! are hashed as they arrive, by core's `append_hashed` default); reads run there in 1 MiB
//! batches, reading one batch ahead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use tokio::task::JoinHandle;

use super::{BlobStore, ByteStream, InputStream};
use crate::error::{Error, Result};
use crate::oci::{Algorithm, Digest};

/// Bytes read ahead per step of a blob read. Small enough for malloc to serve from its heap,
/// where freed batches are reused, rather than from a fresh mapping per batch whose every page
/// faults in as it is filled (glibc maps blocks from its threshold up: 256 KiB as `berth`
/// sets it). Reading 16 MiB blobs, 128 KiB batches were about a third faster than 1 MiB
/// batches (docs/benchmarks.md).
const BATCH: usize = 128 << 10;
const NAME: &str = "fs";

fn io_err(e: std::io::Error) -> Error {
    Error::storage(NAME, e)
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::storage(NAME, e)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(join_err)?
        .map_err(io_err)
}

/// Blobs as files under a root directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    /// Permits are bytes of [`STAGING_BUDGET`].
    staging: std::sync::Arc<tokio::sync::Semaphore>,
}

impl FsBlobStore {
    /// Open (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs")).map_err(io_err)?;
        std::fs::create_dir_all(root.join("uploads")).map_err(io_err)?;
        Ok(Self {
            root,
            staging: std::sync::Arc::new(tokio::sync::Semaphore::new(STAGING_BUDGET)),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(d.algorithm().as_str())
            .join(&d.hex()[..2])
            .join(d.hex())
    }

    fn upload_path(&self, id: &str) -> Result<PathBuf> {
        super::check_upload_id(id)?;
        Ok(self.root.join("uploads").join(id))
    }
}

/// Stream `len` bytes of `file` from its current position, reading one batch ahead.
fn read_stream(file: File, len: u64) -> ByteStream {
    fn read_next(mut file: File, remaining: u64) -> JoinHandle<std::io::Result<(File, Bytes)>> {
        tokio::task::spawn_blocking(move || {
            let want = remaining.min(BATCH as u64) as usize;
            // Read into spare capacity: nothing to zero first.
            let mut buf = Vec::with_capacity(want);
            (&mut file).take(want as u64).read_to_end(&mut buf)?;
            if buf.len() < want {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "blob shorter than expected",
                ));
            }
            Ok((file, Bytes::from(buf)))
        })
    }
    let first = (len > 0).then(|| read_next(file, len));
    futures::stream::unfold((first, len), |(pending, remaining)| async move {
        let handle = pending?;
        match handle
            .await
            .map_err(join_err)
            .and_then(|r| r.map_err(io_err))
        {
            Ok((file, chunk)) => {
                let left = remaining - chunk.len() as u64;
                let next = (left > 0).then(|| read_next(file, left));
                Some((Ok(chunk), (next, left)))
            }
            Err(e) => Some((Err(e), (None, 0))),
        }
    })
    .boxed()
}

#[async_trait]
impl BlobStore for FsBlobStore {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        match tokio::fs::metadata(self.blob_path(digest)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream> {
        let path = self.blob_path(digest);
        let opened = blocking(move || {
            let mut f = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e),
            };
            let size = f.metadata()?.len();
            let r = range.unwrap_or(0..size);
            let (start, end) = (r.start.min(size), r.end.min(size));
            f.seek(SeekFrom::Start(start))?;
            Ok(Some((f, end.saturating_sub(start))))
        })
        .await?;
        let (file, len) = opened.ok_or_else(|| Error::BlobUnknown {
            digest: digest.to_string(),
        })?;
        Ok(read_stream(file, len))
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        match tokio::fs::remove_file(self.blob_path(digest)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err(e)),
        }
    }

    fn list(&self) -> BoxStream<'static, Result<Digest>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Digest>>(1024);
        let root = self.root.join("blobs");
        tokio::task::spawn_blocking(move || {
            for alg in [Algorithm::Sha256, Algorithm::Sha512] {
                let Ok(fanout) = std::fs::read_dir(root.join(alg.as_str())) else {
                    continue;
                };
                for dir in fanout.flatten() {
                    let Ok(entries) = std::fs::read_dir(dir.path()) else {
                        continue;
                    };
                    for e in entries.flatten() {
                        let name = e.file_name();
                        let s = format!("{}:{}", alg.as_str(), name.to_string_lossy());
                        if let Ok(d) = Digest::parse(&s)
                            && tx.blocking_send(Ok(d)).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        tokio_stream_from(rx)
    }

    async fn append(&self, id: &str, offset: u64, data: InputStream<'_>) -> Result<u64> {
        let path = self.upload_path(id)?;
        let file = blocking(move || {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            let len = f.metadata()?.len();
            if len > offset {
                f.set_len(offset)?;
            }
            let len = len.min(offset);
            f.seek(SeekFrom::Start(len))?;
            Ok((f, len))
        })
        .await?;
        let (file, len) = file;
        if len != offset {
            return Err(Error::RangeInvalid { offset: len });
        }
        let mut writer = StagingWriter::new(file, self.staging.clone());
        let mut written = offset;
        loop {
            // Batch what arrives; when the client pauses, hand the batch to the writer, so
            // nothing waits in memory on a slow client.
            let next = if writer.batch_len == 0 {
                data.next().await
            } else {
                match tokio::time::timeout(IDLE_FLUSH, data.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        writer.flush().await?;
                        data.next().await
                    }
                }
            };
            match next {
                Some(Ok(chunk)) => {
                    written += chunk.len() as u64;
                    writer.push(chunk).await?;
                }
                Some(Err(e)) => {
                    // What arrived before the failure is staged; the session's offset decides
                    // whether it counts.
                    writer.finish().await?;
                    return Err(e);
                }
                None => break,
            }
        }
        writer.finish().await?;
        Ok(written)
    }

    async fn read_staged(&self, id: &str, size: u64) -> Result<ByteStream> {
        let path = self.upload_path(id)?;
        let file = blocking(move || File::open(path)).await?;
        Ok(read_stream(file, size))
    }

    async fn commit(&self, id: &str, size: u64, digest: &Digest) -> Result<()> {
        let staging = self.upload_path(id)?;
        let target = self.blob_path(digest);
        blocking(move || {
            if target.exists() {
                return match std::fs::remove_file(&staging) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                };
            }
            let f = std::fs::OpenOptions::new().write(true).open(&staging)?;
            let len = f.metadata()?.len();
            if len < size {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "staged content shorter than expected",
                ));
            }
            if len > size {
                f.set_len(size)?;
            }
            f.sync_all()?;
            drop(f);
            let dir = target.parent().expect("blob path has a parent");
            create_dir_durable(dir)?;
            std::fs::rename(&staging, &target)?;
            // The rename is durable only once the directory holding the new name is.
            sync_dir(dir)
        })
        .await
    }

    async fn abort(&self, id: &str) -> Result<()> {
        let path = self.upload_path(id)?;
        match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(e)),
            _ => Ok(()),
        }
    }

    async fn list_uploads(&self) -> Result<Vec<String>> {
        let root = self.root.join("uploads");
        blocking(move || {
            let mut out = Vec::new();
            for e in std::fs::read_dir(root)? {
                out.push(e?.file_name().to_string_lossy().into_owned());
            }
            Ok(out)
        })
        .await
    }
}

/// Received upload bytes not yet written, across all uploads of one store. An upload that finds
/// the budget spent stops reading its body (TCP pushes back on the client) until writes
/// complete, so memory stays flat however many uploads run at once.
const STAGING_BUDGET: usize = 16 << 20;
/// Bytes handed to one write on the blocking pool, at most.
const WRITE_BATCH: usize = 1 << 20;
/// A batch is written once the client has sent nothing for this long.
const IDLE_FLUSH: std::time::Duration = std::time::Duration::from_millis(2);

/// Writes one upload's chunks to its staging file: one batch written on the blocking pool while
/// the next one is received, each batch's bytes counted against the store's staging budget
/// until written.
struct StagingWriter {
    file: Option<File>,
    inflight: Option<JoinHandle<std::io::Result<File>>>,
    batch: Vec<Bytes>,
    batch_len: usize,
    permits: Option<tokio::sync::OwnedSemaphorePermit>,
    budget: std::sync::Arc<tokio::sync::Semaphore>,
}

impl StagingWriter {
    fn new(file: File, budget: std::sync::Arc<tokio::sync::Semaphore>) -> Self {
        Self {
            file: Some(file),
            inflight: None,
            batch: Vec::new(),
            batch_len: 0,
            permits: None,
            budget,
        }
    }

    /// Take a received chunk: count it against the budget (writing what is batched first when
    /// the budget is spent, so waiting never holds unwritten bytes), then batch it.
    async fn push(&mut self, chunk: Bytes) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let want = chunk.len().min(STAGING_BUDGET) as u32;
        let permit = match self.budget.clone().try_acquire_many_owned(want) {
            Ok(p) => p,
            Err(_) => {
                self.flush().await?;
                self.budget
                    .clone()
                    .acquire_many_owned(want)
                    .await
                    .map_err(|e| Error::storage(NAME, e))?
            }
        };
        match &mut self.permits {
            Some(p) => p.merge(permit),
            None => self.permits = Some(permit),
        }
        self.batch_len += chunk.len();
        self.batch.push(chunk);
        if self.batch_len >= WRITE_BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Hand the batch to the blocking pool (after the previous write finished); its budget is
    /// released as soon as it is written.
    async fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.settle().await?;
        let mut f = self
            .file
            .take()
            .expect("the file is here while nothing is in flight");
        let chunks = std::mem::take(&mut self.batch);
        let permits = self.permits.take();
        self.batch_len = 0;
        self.inflight = Some(tokio::task::spawn_blocking(move || {
            for c in &chunks {
                f.write_all(c)?;
            }
            drop(chunks);
            drop(permits);
            Ok(f)
        }));
        Ok(())
    }

    /// Wait for the write in flight, if any.
    async fn settle(&mut self) -> Result<()> {
        if let Some(h) = self.inflight.take() {
            self.file = Some(h.await.map_err(join_err)?.map_err(io_err)?);
        }
        Ok(())
    }

    /// Write everything received and wait until it is written.
    async fn finish(mut self) -> Result<()> {
        self.flush().await?;
        self.settle().await
    }
}

/// fsync a directory, making the names created or renamed in it durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `create_dir_all`, with each directory it creates made durable in its parent.
fn create_dir_durable(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = dir.parent().expect("a blob directory has a parent");
    create_dir_durable(parent)?;
    match std::fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Adapt an mpsc receiver into a boxed stream.
pub(crate) fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> BoxStream<'static, T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::BlobStore;

    fn chunks(seed: u8, n: usize, size: usize) -> Vec<Result<Bytes>> {
        (0..n)
            .map(|i| Ok(Bytes::from(vec![seed.wrapping_add(i as u8); size])))
            .collect()
    }

    /// Uploads whose clients stop sending keep no budget: more of them than the budget could
    /// hold, each with bytes received and then silence, do not stop another upload.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stalled_uploads_do_not_hold_the_staging_budget() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let stalled = 2 * STAGING_BUDGET / (200 << 10);
        let mut tasks = Vec::new();
        for i in 0..stalled {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut body = futures::stream::iter(chunks(i as u8, 4, 50 << 10))
                    .chain(futures::stream::pending());
                store.append(&format!("stalled-{i}"), 0, &mut body).await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let mut body = futures::stream::iter(chunks(7, 64, 64 << 10));
        let written = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            store.append("live", 0, &mut body),
        )
        .await
        .expect("an upload waited on the budget held by stalled ones")
        .unwrap();
        assert_eq!(written, 64 * (64 << 10));
        for t in &tasks {
            t.abort();
        }
        // What the stalled clients sent was written, not held.
        let staged = std::fs::metadata(dir.path().join("uploads/stalled-0")).unwrap();
        assert_eq!(staged.len(), 200 << 10);
    }

    /// Many uploads at once, with chunks larger than a write batch: every byte lands in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_appends_write_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..64u8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut body = futures::stream::iter(chunks(i, 5, 700 << 10));
                store.append(&format!("u{i}"), 0, &mut body).await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 5 * (700 << 10));
        }
        for i in 0..64u8 {
            let data = std::fs::read(dir.path().join(format!("uploads/u{i}"))).unwrap();
            for (n, piece) in data.chunks(700 << 10).enumerate() {
                assert!(piece.iter().all(|b| *b == i.wrapping_add(n as u8)));
            }
        }
    }
}
