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

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::{BlobStore, ByteStream, HashingStream, InputStream, Whole};
use crate::error::{Error, Result};
use crate::oci::{Digest, Hasher};

/// Parts are cut at this size (S3 requires ≥ 5 MiB for all but the last).
const PART: usize = 8 << 20;
/// Multipart parts uploaded concurrently.
const PARALLEL_PARTS: usize = 4;

/// Blobs in an object store bucket, under an optional prefix.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    name: &'static str,
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
        }
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
        Ok(Self::new(Arc::new(store), url.path(), "s3"))
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

    /// Write `data` to `key`: one plain `PUT` when it ends within [`PART`] bytes, else a
    /// multipart upload.
    async fn put_stream(&self, key: &Path, data: InputStream<'_>) -> Result<u64> {
        let (head, len, ended) = read_head(data).await?;
        if ended {
            if len > 0 {
                self.store
                    .put(key, PutPayload::from_iter(head))
                    .await
                    .map_err(|e| self.err(e))?;
            }
            return Ok(len as u64);
        }
        self.put_multipart(key, head, data).await
    }

    /// A multipart upload of `head` (already read from `data`) and the rest of `data`.
    async fn put_multipart(
        &self,
        key: &Path,
        head: Vec<Bytes>,
        data: InputStream<'_>,
    ) -> Result<u64> {
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| self.err(e))?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut total = 0u64;
        for b in head {
            total += b.len() as u64;
            w.put(b);
        }
        let res: Result<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk?;
                total += chunk.len() as u64;
                w.wait_for_capacity(PARALLEL_PARTS)
                    .await
                    .map_err(|e| self.err(e))?;
                w.put(chunk);
            }
            Ok(())
        }
        .await;
        match res {
            Ok(()) => {
                w.finish().await.map_err(|e| self.err(e))?;
                Ok(total)
            }
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    }

    /// The one chunk [`BlobStore::stage_whole`] writes when content does not fit in memory.
    fn whole_key(&self, id: &str) -> Result<Path> {
        Ok(self.upload_dir(id)?.join(format!("{:020}", 0).as_str()))
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
        let key = self.upload_dir(id)?.join(format!("{offset:020}").as_str());
        let n = self.put_stream(&key, data).await?;
        Ok(offset + n)
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
        let key = self.whole_key(id)?;
        let mut hashing = HashingStream::new(data, hasher);
        let (head, len, ended) = read_head(&mut hashing).await?;
        let (size, held) = if ended {
            (len as u64, Some(head))
        } else {
            (self.put_multipart(&key, head, &mut hashing).await?, None)
        };
        let hasher = hashing.finish().expect("a hashing stream keeps its hasher");
        Ok((Whole { size, held }, hasher))
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
            None => {
                let key = self.whole_key(id)?;
                self.publish_object(&key, whole.size, digest).await?;
                match self.store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(self.err(e)),
                }
            }
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
                let n = self.put_stream(&target, &mut s).await?;
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

/// Read `data` into memory until it ends or passes [`PART`] bytes: the chunks read, their total
/// length, and whether the stream ended.
async fn read_head(data: InputStream<'_>) -> Result<(Vec<Bytes>, usize, bool)> {
    let mut head = Vec::new();
    let mut len = 0usize;
    while len <= PART {
        match data.next().await {
            Some(chunk) => {
                let chunk = chunk?;
                len += chunk.len();
                head.push(chunk);
            }
            None => return Ok((head, len, true)),
        }
    }
    Ok((head, len, false))
}
