//! In-memory blob store, for tests and throw-away registries (`memory://`).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};

use super::{BlobStore, ByteStream, InputStream};
use crate::error::{Error, Result};
use crate::oci::Digest;

/// Blobs and staged uploads held in process memory.
#[derive(Debug, Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<Digest, Bytes>>,
    uploads: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryBlobStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self
            .blobs
            .lock()
            .unwrap()
            .get(digest)
            .map(|b| b.len() as u64))
    }

    async fn get(&self, digest: &Digest, range: Option<Range<u64>>) -> Result<ByteStream> {
        let blob = self
            .blobs
            .lock()
            .unwrap()
            .get(digest)
            .cloned()
            .ok_or_else(|| Error::BlobUnknown {
                digest: digest.to_string(),
            })?;
        let part = match range {
            Some(r) => blob.slice(r.start as usize..(r.end as usize).min(blob.len())),
            None => blob,
        };
        Ok(stream::once(async move { Ok(part) }).boxed())
    }

    async fn delete(&self, digest: &Digest) -> Result<bool> {
        Ok(self.blobs.lock().unwrap().remove(digest).is_some())
    }

    fn list(&self) -> BoxStream<'static, Result<Digest>> {
        let all: Vec<_> = self.blobs.lock().unwrap().keys().cloned().map(Ok).collect();
        stream::iter(all).boxed()
    }

    async fn append(&self, id: &str, offset: u64, data: InputStream<'_>) -> Result<u64> {
        super::check_upload_id(id)?;
        let mut staged = {
            let mut uploads = self.uploads.lock().unwrap();
            let len = uploads.get(id).map_or(0, Vec::len) as u64;
            if len < offset {
                return Err(Error::RangeInvalid { offset: len });
            }
            let mut buf = uploads.remove(id).unwrap_or_default();
            buf.truncate(offset as usize);
            buf
        };
        let mut result = Ok(());
        while let Some(chunk) = data.next().await {
            match chunk {
                Ok(c) => staged.extend_from_slice(&c),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let len = staged.len() as u64;
        self.uploads.lock().unwrap().insert(id.to_owned(), staged);
        result.map(|()| len)
    }

    async fn read_staged(&self, id: &str, size: u64) -> Result<ByteStream> {
        let uploads = self.uploads.lock().unwrap();
        let buf = uploads.get(id).map(Vec::as_slice).unwrap_or_default();
        let part = Bytes::copy_from_slice(&buf[..(size as usize).min(buf.len())]);
        Ok(stream::once(async move { Ok(part) }).boxed())
    }

    async fn commit(&self, id: &str, size: u64, digest: &Digest) -> Result<()> {
        let mut staged = self.uploads.lock().unwrap().remove(id).unwrap_or_default();
        if (staged.len() as u64) < size {
            return Err(Error::BlobUploadInvalid {
                reason: "staged content shorter than expected".into(),
            });
        }
        staged.truncate(size as usize);
        self.blobs
            .lock()
            .unwrap()
            .entry(digest.clone())
            .or_insert_with(|| Bytes::from(staged));
        Ok(())
    }

    async fn abort(&self, id: &str) -> Result<()> {
        self.uploads.lock().unwrap().remove(id);
        Ok(())
    }

    async fn list_uploads(&self) -> Result<Vec<String>> {
        Ok(self.uploads.lock().unwrap().keys().cloned().collect())
    }
}
