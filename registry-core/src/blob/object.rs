//! Blob store over any [`object_store::ObjectStore`]: S3-compatible buckets (`s3://bucket/prefix`,
//! cargo feature `s3`), and object_store's own backends.
//!
//! Object stores cannot append, so each appended stream becomes its own chunk object
//! `uploads/<id>/<offset:020>`; a chunk is valid up to the offset where the next one starts, which
//! lets a retried PATCH overwrite a tail left by a failed one. Commit publishes with a server-side
//! copy when the upload is one chunk, else by streaming the chunks into one multipart upload;
//! either way the object appears atomically, and small chunks never meet S3's 5 MiB part minimum
//! because parts are cut from the concatenated stream.
//!
//! A blob that arrives in one stream ([`BlobStore::stage_whole`]) is not staged at all when it
//! fits in one part: it is held in memory while core hashes it and published with one `PUT`.
//!
//! # Memory
//!
//! Everything held in memory on its way to the bucket (the first part of an upload, the part
//! being filled, the parts in flight) counts against one budget per store
//! ([`DEFAULT_BUFFER_BUDGET`], `buffer_mib=` in the URL), so many concurrent uploads cannot
//! exhaust memory. Waiting on the budget never holds content, so uploads cannot deadlock on it:
//! - client uploads are admitted to hold content one per 4 MiB of budget ([`ADMIT_SHARE`]);
//!   the others wait, holding nothing, so the admitted ones rarely wait for memory. An admitted
//!   upload counts each chunk it receives; when the budget stays spent for [`GROW_WAIT`], it
//!   streams into a multipart upload with parts of what it holds when that is 5 MiB or more
//!   ([`MIN_PART`]), else it writes what it holds as a piece of its own (a chunk object, as a
//!   separate `PATCH` would write) and goes on;
//! - once past one part it streams into a multipart upload that holds one part's worth, and
//!   takes up to [`PARALLEL_PARTS`] more only while a quarter of the budget stays free;
//! - content is held for at most [`HOLD_MAX`] while its client is silent: then the piece is
//!   closed (written, or its multipart upload completed), so stalled clients keep nothing;
//! - publishing a staged upload takes what it will hold (its size, at most one part) before it
//!   reads anything back.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::{BlobStore, ByteStream, HashingStream, InputStream, Whole};
use crate::error::{Error, Result};
use crate::oci::{Digest, Hasher};

/// Parts are cut at this size (S3 requires ≥ 5 MiB for all but the last).
const PART: usize = 8 << 20;
/// The smallest part: a client's upload that cannot hold a whole [`PART`] streams into a
/// multipart upload with parts of what it holds, once that is at least this much.
const MIN_PART: usize = 5 << 20;
/// Multipart parts one upload sends concurrently, at most.
const PARALLEL_PARTS: usize = 4;
/// Upload content held in memory across all uploads of one store, by default.
pub const DEFAULT_BUFFER_BUDGET: usize = 128 << 20;
/// The smallest budget: a part being filled and one in flight.
const MIN_BUFFER_BUDGET: usize = 2 * PART;
/// Client uploads that may hold content at once: one per this much budget (32 for the default).
/// The others wait before they hold anything, so the few admitted rarely wait for memory.
const ADMIT_SHARE: usize = 4 << 20;
/// How long an admitted upload that holds content waits for more budget before it writes what
/// it holds as a piece of its own.
const GROW_WAIT: Duration = Duration::from_millis(250);
/// A client's content is held at most this long (from the first byte of a piece, or of a
/// multipart part) once the client pauses; then it is written out.
const HOLD_MAX: Duration = Duration::from_secs(2);

/// Blobs in an object store bucket, under an optional prefix.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    name: &'static str,
    /// Permits are bytes of upload content held in memory, out of `budget`.
    buffers: Arc<Semaphore>,
    budget: usize,
    /// Permits are client uploads admitted to hold content.
    admits: Arc<Semaphore>,
}

#[derive(Debug, Clone)]
struct Chunk {
    start: u64,
    size: u64,
    path: Path,
}

impl ObjectBlobStore {
    /// Wrap `store`; keys go under `prefix` (may be empty). `name` labels errors and metrics.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str, name: &'static str) -> Self {
        Self {
            store,
            prefix: prefix.trim_matches('/').to_owned(),
            name,
            buffers: Arc::new(Semaphore::new(DEFAULT_BUFFER_BUDGET)),
            budget: DEFAULT_BUFFER_BUDGET,
            admits: Arc::new(Semaphore::new(DEFAULT_BUFFER_BUDGET / ADMIT_SHARE)),
        }
    }

    /// Hold at most `bytes` of upload content in memory across all uploads (at least two
    /// parts, 16 MiB; at most 4 GiB).
    pub fn with_buffer_budget(mut self, bytes: usize) -> Self {
        let budget = bytes.clamp(MIN_BUFFER_BUDGET, u32::MAX as usize);
        self.buffers = Arc::new(Semaphore::new(budget));
        self.budget = budget;
        self.admits = Arc::new(Semaphore::new(budget / ADMIT_SHARE));
        self
    }

    /// Upload content held in memory right now, in bytes.
    pub fn buffered(&self) -> usize {
        self.budget - self.buffers.available_permits()
    }

    /// Open an S3-compatible bucket from an `s3://bucket/prefix?endpoint=…&region=…` URL.
    /// Credentials come from the query (`access_key_id`, `secret_access_key`) or from the
    /// standard `AWS_*` environment variables.
    #[cfg(feature = "s3")]
    pub fn open_s3(url: &url::Url) -> Result<Self> {
        use object_store::aws::AmazonS3Builder;
        let bucket = url.host_str().ok_or_else(|| Error::BadRequest {
            reason: "s3 URL needs a bucket".into(),
        })?;
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let mut endpoint_is_http = false;
        let mut budget = DEFAULT_BUFFER_BUDGET;
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "endpoint" => {
                    endpoint_is_http = v.starts_with("http://");
                    b = b
                        .with_endpoint(v.as_ref())
                        .with_virtual_hosted_style_request(false);
                }
                "region" => b = b.with_region(v.as_ref()),
                "access_key_id" => b = b.with_access_key_id(v.as_ref()),
                "secret_access_key" => b = b.with_secret_access_key(v.as_ref()),
                "allow_http" => endpoint_is_http = v == "true",
                "buffer_mib" => {
                    budget = v
                        .parse::<usize>()
                        .ok()
                        .and_then(|m| m.checked_mul(1 << 20))
                        .ok_or_else(|| Error::BadRequest {
                            reason: format!(
                                "s3 URL parameter buffer_mib={v:?} is not a size in MiB"
                            ),
                        })?;
                }
                other => {
                    return Err(Error::BadRequest {
                        reason: format!("unknown s3 URL parameter {other:?}"),
                    });
                }
            }
        }
        let store = b
            .with_allow_http(endpoint_is_http)
            .build()
            .map_err(|e| Error::storage("s3", e))?;
        Ok(Self::new(Arc::new(store), url.path(), "s3").with_buffer_budget(budget))
    }

    fn key(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn blob_key(&self, d: &Digest) -> Path {
        self.key(&format!("blobs/{}/{}", d.algorithm().as_str(), d.hex()))
    }

    fn upload_dir(&self, id: &str) -> Result<Path> {
        super::check_upload_id(id)?;
        Ok(self.key(&format!("uploads/{id}")))
    }

    fn err(&self, e: object_store::Error) -> Error {
        Error::storage(self.name, e)
    }

    /// The chunks of an upload in offset order, each cut to where the next one starts.
    async fn chunks(&self, id: &str) -> Result<Vec<Chunk>> {
        let dir = self.upload_dir(id)?;
        let mut chunks: Vec<Chunk> = self
            .store
            .list(Some(&dir))
            .map_err(|e| self.err(e))
            .try_filter_map(|m| async move {
                let start = m.location.filename().and_then(|f| f.parse::<u64>().ok());
                Ok(start.map(|start| Chunk {
                    start,
                    size: m.size,
                    path: m.location,
                }))
            })
            .try_collect()
            .await?;
        chunks.sort_by_key(|c| c.start);
        for i in 0..chunks.len().saturating_sub(1) {
            let next = chunks[i + 1].start;
            let c = &mut chunks[i];
            c.size = c.size.min(next.saturating_sub(c.start));
        }
        Ok(chunks)
    }

    /// Write `data`, the store's own staged content of `size` bytes, to `key`: one plain `PUT`
    /// when it ends within [`PART`] bytes, else a multipart upload. What it will hold (`size`,
    /// at most a part) is taken from the budget first, while nothing is held.
    async fn put_own(&self, key: &Path, data: InputStream<'_>, size: u64) -> Result<u64> {
        let mut head = Head::new();
        head.permit = Some(self.take(size.clamp(1, PART as u64) as usize).await?);
        while head.len <= PART {
            match data.next().await {
                Some(chunk) => head.push(chunk?),
                None => {
                    let len = head.len as u64;
                    if len > 0 {
                        self.put_head(key, head).await?;
                    }
                    return Ok(len);
                }
            }
        }
        let (n, _) = self.put_multipart(key, head, data, false).await?;
        Ok(n)
    }

    /// Write a client's `data` into upload `id` from `offset`: as one piece (the object
    /// `<offset>`) when memory allows, else as several, each at the offset where it starts (see
    /// the module docs). Returns the offset where the content ends, and with `hold`, the
    /// content itself instead of a piece when it all fits in one part.
    async fn stage_client(
        &self,
        id: &str,
        mut offset: u64,
        data: InputStream<'_>,
        hold: bool,
    ) -> Result<(u64, Option<Head>)> {
        let dir = self.upload_dir(id)?;
        let mut carry = None;
        let mut admitted = None;
        let mut first = true;
        loop {
            let head = self
                .read_client_head(data, &mut carry, &mut admitted)
                .await?;
            let key = dir.clone().join(format!("{offset:020}").as_str());
            let len = head.len as u64;
            match head.end {
                HeadEnd::Ended if hold && first => return Ok((offset + len, Some(head))),
                HeadEnd::Ended => {
                    if len > 0 {
                        self.put_head(&key, head).await?;
                    }
                    return Ok((offset + len, None));
                }
                HeadEnd::Short => {
                    self.put_head(&key, head).await?;
                    offset += len;
                }
                HeadEnd::Paused => {
                    admitted = None;
                    self.put_head(&key, head).await?;
                    offset += len;
                }
                HeadEnd::Full => {
                    let (n, ended) = self.put_multipart(&key, head, data, true).await?;
                    offset += n;
                    if ended {
                        return Ok((offset, None));
                    }
                }
            }
            first = false;
        }
    }

    /// Read a client's content into memory until the stream ends, passes one part, or must be
    /// written out: the budget stayed spent for [`GROW_WAIT`] (the chunk that waited is left in
    /// `carry`), or the client paused after the head was held [`HOLD_MAX`].
    ///
    /// The upload is admitted (`admitted`) once a chunk arrives, waiting while it holds nothing,
    /// and gives its admission back whenever it waits for its client holding nothing. Each chunk
    /// is counted against the budget, waiting without limit only while nothing is held.
    async fn read_client_head(
        &self,
        data: InputStream<'_>,
        carry: &mut Option<Bytes>,
        admitted: &mut Option<OwnedSemaphorePermit>,
    ) -> Result<Head> {
        let mut head = Head::new();
        let mut deadline = None;
        loop {
            if head.len > PART {
                head.end = HeadEnd::Full;
                return Ok(head);
            }
            let next = match (carry.take(), deadline) {
                (Some(chunk), _) => Some(Ok(chunk)),
                (None, Some(at)) => match tokio::time::timeout_at(at, data.next()).await {
                    Ok(next) => next,
                    Err(_) => {
                        head.end = HeadEnd::Paused;
                        return Ok(head);
                    }
                },
                (None, None) => {
                    // Nothing held: a client that stops sending here keeps no admission.
                    *admitted = None;
                    data.next().await
                }
            };
            let chunk = match next {
                Some(chunk) => chunk?,
                None => {
                    head.end = HeadEnd::Ended;
                    return Ok(head);
                }
            };
            if chunk.is_empty() {
                continue;
            }
            if admitted.is_none() {
                let permit = self.admits.clone().acquire_owned().await;
                *admitted = Some(permit.map_err(|e| Error::storage(self.name, e))?);
            }
            let want = chunk.len().min(self.budget) as u32;
            let permit = match self.buffers.clone().try_acquire_many_owned(want) {
                Ok(p) => p,
                Err(_) if head.len == 0 => self.take(want as usize).await?,
                Err(_) => {
                    let wait = self.buffers.clone().acquire_many_owned(want);
                    match tokio::time::timeout(GROW_WAIT, wait).await {
                        Ok(p) => p.map_err(|e| Error::storage(self.name, e))?,
                        Err(_) if head.len >= MIN_PART => {
                            // Parts of what it holds. The chunk that waited starts the next
                            // part, which is filled only once the first is written.
                            head.part = head.len;
                            head.push(chunk);
                            head.end = HeadEnd::Full;
                            return Ok(head);
                        }
                        Err(_) => {
                            *carry = Some(chunk);
                            head.end = HeadEnd::Short;
                            return Ok(head);
                        }
                    }
                }
            };
            merge(&mut head.permit, permit);
            head.push(chunk);
            deadline.get_or_insert_with(|| Instant::now() + HOLD_MAX);
        }
    }

    /// `n` bytes of the budget (at most all of it), waiting for them.
    async fn take(&self, n: usize) -> Result<OwnedSemaphorePermit> {
        self.buffers
            .clone()
            .acquire_many_owned(n.min(self.budget) as u32)
            .await
            .map_err(|e| Error::storage(self.name, e))
    }

    /// Take one more part's worth of budget for a multipart upload holding `slots` parts, up to
    /// [`PARALLEL_PARTS`] in flight beside the one being filled, while a quarter of the budget
    /// stays free for other uploads. Never waits.
    fn grow(&self, part: usize, permits: &mut Option<OwnedSemaphorePermit>, slots: &mut usize) {
        if *slots <= PARALLEL_PARTS
            && self.buffers.available_permits() >= part + self.budget / 4
            && let Ok(p) = self.buffers.clone().try_acquire_many_owned(part as u32)
        {
            merge(permits, p);
            *slots += 1;
        }
    }

    /// One plain `PUT` of a head; its share of the budget is released once written.
    async fn put_head(&self, key: &Path, head: Head) -> Result<()> {
        self.store
            .put(key, PutPayload::from_iter(head.chunks))
            .await
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// A multipart upload of `head` (more than one part, read from `data`) and the rest of
    /// `data`: the bytes written, and whether `data` ended. The head's share of the budget
    /// covers the part being filled; more parts go out concurrently only while the budget has
    /// room. A `client` upload is closed early (its parts completed as one object) when the
    /// client pauses after the part being filled was held [`HOLD_MAX`].
    async fn put_multipart(
        &self,
        key: &Path,
        head: Head,
        data: InputStream<'_>,
        client: bool,
    ) -> Result<(u64, bool)> {
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| self.err(e))?;
        let part = head.part;
        let mut w = WriteMultipart::new_with_chunk_size(upload, part);
        let mut permits = head.permit;
        let mut total = 0u64;
        for b in head.chunks {
            total += b.len() as u64;
            w.put(b);
        }
        let part = part as u64;
        // Parts in flight (an upper bound) and parts' worth of budget held.
        let mut inflight = (total / part) as usize;
        let mut slots = 1usize;
        self.grow(part as usize, &mut permits, &mut slots);
        let mut part_started = Instant::now();
        let res: Result<bool> = async {
            loop {
                let filling = usize::from(!total.is_multiple_of(part));
                if inflight + filling > slots {
                    let keep = slots - filling;
                    // "Less than keep + 1" in flight.
                    w.wait_for_capacity(keep + 1)
                        .await
                        .map_err(|e| self.err(e))?;
                    inflight = keep;
                    // The time spent on our own parts is not the client's pause.
                    part_started = Instant::now();
                }
                let next = if client {
                    match tokio::time::timeout_at(part_started + HOLD_MAX, data.next()).await {
                        Ok(next) => next,
                        Err(_) => return Ok(false),
                    }
                } else {
                    data.next().await
                };
                let Some(chunk) = next else {
                    return Ok(true);
                };
                let chunk = chunk?;
                let before = total / part;
                total += chunk.len() as u64;
                w.put(chunk);
                let cut = (total / part - before) as usize;
                if cut > 0 {
                    inflight += cut;
                    part_started = Instant::now();
                    self.grow(part as usize, &mut permits, &mut slots);
                }
            }
        }
        .await;
        match res {
            Ok(ended) => {
                w.finish().await.map_err(|e| self.err(e))?;
                drop(permits);
                Ok((total, ended))
            }
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    }

    /// Publish `size` bytes of one staged object as `digest`. A small blob is copied without
    /// asking first (a copy over the same content changes nothing and costs what the `HEAD`
    /// would); a large one is copied only when the blob does not exist yet.
    async fn publish_object(&self, from: &Path, size: u64, digest: &Digest) -> Result<()> {
        if size > PART as u64 && self.stat(digest).await?.is_some() {
            return Ok(());
        }
        self.store
            .copy(from, &self.blob_key(digest))
            .await
            .map_err(|e| self.err(e))
    }

    async fn delete_chunks(&self, chunks: &[Chunk]) -> Result<()> {
        for c in chunks {
            match self.store.delete(&c.path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(self.err(e)),
            }
        }
        Ok(())
    }

    fn range_stream(&self, path: Path, range: Range<u64>) -> ByteStream {
        let store = self.store.clone();
        let name = self.name;
        stream::once(async move {
            let opts = GetOptions {
                range: Some(GetRange::Bounded(range)),
                ..Default::default()
            };
            let res = store
                .get_opts(&path, opts)
                .await
                .map_err(|e| Error::storage(name, e))?;
            Ok::<_, Error>(res.into_stream().map_err(move |e| Error::storage(name, e)))
        })
        .try_flatten()
        .boxed()
    }
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        match self.store.head(&self.blob_key(digest)).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream> {
        let opts = GetOptions {
            range: range.filter(|r| r.start < r.end).map(GetRange::Bounded),
            ..Default::default()
        };
        match self.store.get_opts(&self.blob_key(digest), opts).await {
            Ok(res) => {
                let name = self.name;
                Ok(res
                    .into_stream()
                    .map_err(move |e| Error::storage(name, e))
                    .boxed())
            }
            Err(object_store::Error::NotFound { .. }) => Err(Error::BlobUnknown {
                digest: digest.to_string(),
            }),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        let existed = self.stat(digest).await?.is_some();
        match self.store.delete(&self.blob_key(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(existed),
            Err(e) => Err(self.err(e)),
        }
    }

    fn list(&self) -> BoxStream<'static, Result<Digest>> {
        let name = self.name;
        self.store
            .list(Some(&self.key("blobs")))
            .map_err(move |e| Error::storage(name, e))
            .try_filter_map(|m| async move {
                let parts: Vec<_> = m.location.parts().collect();
                let n = parts.len();
                if n < 2 {
                    return Ok(None);
                }
                Ok(Digest::parse(&format!(
                    "{}:{}",
                    parts[n - 2].as_ref(),
                    parts[n - 1].as_ref()
                ))
                .ok())
            })
            .boxed()
    }

    async fn append(&self, id: &str, offset: u64, data: InputStream<'_>) -> Result<u64> {
        let chunks = self.chunks(id).await?;
        let staged = chunks.last().map_or(0, |c| c.start + c.size);
        if staged < offset {
            return Err(Error::RangeInvalid { offset: staged });
        }
        for c in chunks.iter().filter(|c| c.start >= offset) {
            self.store.delete(&c.path).await.map_err(|e| self.err(e))?;
        }
        let (end, _) = self.stage_client(id, offset, data, false).await?;
        Ok(end)
    }

    async fn read_staged(&self, id: &str, size: u64) -> Result<ByteStream> {
        let chunks = self.chunks(id).await?;
        let mut parts = Vec::new();
        for c in chunks {
            if c.start >= size {
                break;
            }
            let end = (c.start + c.size).min(size);
            parts.push(self.range_stream(c.path, 0..end - c.start));
        }
        Ok(stream::iter(parts).flatten().boxed())
    }

    async fn stage_whole(
        &self,
        id: &str,
        data: InputStream<'_>,
        hasher: Hasher,
    ) -> Result<(Whole, Hasher)> {
        let mut hashing = HashingStream::new(data, hasher);
        let (size, head) = self.stage_client(id, 0, &mut hashing, true).await?;
        let hasher = hashing.finish().expect("a hashing stream keeps its hasher");
        let whole = match head {
            Some(head) => Whole {
                size,
                held: Some(head.chunks),
                memory: head.permit,
            },
            None => Whole {
                size,
                held: None,
                memory: None,
            },
        };
        Ok((whole, hasher))
    }

    async fn commit_whole(&self, id: &str, whole: Whole, digest: &Digest) -> Result<()> {
        match whole.held {
            // Content-addressed: writing the same bytes over an existing blob changes nothing.
            Some(bytes) => self
                .store
                .put(&self.blob_key(digest), PutPayload::from_iter(bytes))
                .await
                .map(|_| ())
                .map_err(|e| self.err(e)),
            // Staged as one piece, or as several when memory ran short.
            None => self.commit(id, whole.size, digest).await,
        }
    }

    async fn commit(&self, id: &str, size: u64, digest: &Digest) -> Result<()> {
        let chunks = self.chunks(id).await?;
        let single = chunks.len() == 1 && chunks[0].start == 0 && chunks[0].size == size;
        if single {
            self.publish_object(&chunks[0].path, size, digest).await?;
        } else if self.stat(digest).await?.is_none() {
            let target = self.blob_key(digest);
            if size == 0 {
                self.store
                    .put(&target, PutPayload::default())
                    .await
                    .map_err(|e| self.err(e))?;
            } else {
                let mut s = self.read_staged(id, size).await?;
                let n = self.put_own(&target, &mut s, size).await?;
                if n != size {
                    let _ = self.store.delete(&target).await;
                    return Err(Error::BlobUploadInvalid {
                        reason: "staged content shorter than expected".into(),
                    });
                }
            }
        }
        self.delete_chunks(&chunks).await
    }

    async fn abort(&self, id: &str) -> Result<()> {
        self.delete_chunks(&self.chunks(id).await?).await
    }

    async fn list_uploads(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .store
            .list(Some(&self.key("uploads")))
            .map_err(|e| self.err(e))
            .try_filter_map(|m| async move {
                let parts: Vec<_> = m.location.parts().collect();
                Ok((parts.len() >= 2).then(|| parts[parts.len() - 2].as_ref().to_owned()))
            })
            .try_collect()
            .await?;
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

/// Add `p` to the permits `held`.
fn merge(held: &mut Option<OwnedSemaphorePermit>, p: OwnedSemaphorePermit) {
    match held {
        Some(h) => h.merge(p),
        None => *held = Some(p),
    }
}

/// Content read into memory on its way to the bucket, and its share of the budget.
struct Head {
    chunks: Vec<Bytes>,
    len: usize,
    /// The part size of a multipart upload of it: [`PART`], or less under memory pressure.
    part: usize,
    permit: Option<OwnedSemaphorePermit>,
    end: HeadEnd,
}

/// Why a client's head stopped.
enum HeadEnd {
    /// The stream ended.
    Ended,
    /// More than one part arrived: the rest streams into a multipart upload.
    Full,
    /// The budget stayed spent: write it out as a piece of its own and go on.
    Short,
    /// The client paused: write it out and hold nothing while waiting for it.
    Paused,
}

impl Head {
    fn new() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
            part: PART,
            permit: None,
            end: HeadEnd::Ended,
        }
    }

    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        self.chunks.push(chunk);
    }
}
