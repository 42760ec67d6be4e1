//! Upload sessions: start, status, append (resumable hashing), commit, cancel, purge.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::blob::{ByteStream, HashingStream, Whole};
use crate::error::{Error, Result};
use crate::meta::UploadSession;
use crate::oci::{Algorithm, Digest, Hasher, RepoName};

use crate::registry::{GC_WAIT, MONOLITHIC_PREFIX, Registry};

/// A chunk must start where the session's received bytes end.
fn check_start(s: &UploadSession, start: Option<u64>) -> Result<()> {
    match start {
        Some(start) if start != s.size => Err(Error::RangeInvalid { offset: s.size }),
        _ => Ok(()),
    }
}

/// The body, counted and cut off past its declared length.
fn bounded(body: ByteStream, length: Option<u64>) -> HashingStream<ByteStream> {
    let hs = HashingStream::counting(body);
    match length {
        Some(len) => hs.with_limit(len),
        None => hs,
    }
}

/// A body shorter than its declared length is refused.
fn check_length(hs: &HashingStream<ByteStream>, length: Option<u64>) -> Result<()> {
    match length {
        Some(len) if hs.bytes_seen() != len => Err(Error::SizeInvalid {
            reason: format!(
                "Content-Length was {len} but {} bytes arrived",
                hs.bytes_seen()
            ),
        }),
        _ => Ok(()),
    }
}

fn new_upload_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Registry {
    // ---- uploads -----------------------------------------------------------------------------

    /// Open an upload session.
    pub async fn start_upload(&self, repo: &RepoName) -> Result<UploadSession> {
        self.check_writable().await?;
        self.check_project(repo).await?;
        let now = self.now();
        let s = UploadSession {
            id: new_upload_id(),
            repo: repo.to_string(),
            size: 0,
            hash_state: Hasher::new(Algorithm::Sha256).save(),
            started_at: now,
            updated_at: now,
        };
        self.meta.create_upload(&s).await?;
        Ok(s)
    }

    /// The session `id` of `repo`.
    pub async fn upload_status(&self, repo: &RepoName, id: &str) -> Result<UploadSession> {
        match self.meta.get_upload(id).await? {
            Some(s) if s.repo == repo.as_str() => Ok(s),
            _ => Err(Error::BlobUploadUnknown { id: id.to_owned() }),
        }
    }

    /// Append a chunk. `start` is the first byte's offset when the client said (`Content-Range`);
    /// it must equal the bytes received so far. Returns the new size.
    pub async fn append_upload(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<u64> {
        let s = self.upload_status(repo, id).await?;
        check_start(&s, start)?;
        let hasher = Hasher::restore(&s.hash_state)?;
        let (size, hasher) = self.stage(&s.id, s.size, body, hasher, length).await?;
        self.save_progress(&s, size, &hasher).await?;
        Ok(size)
    }

    /// Stream `body` into the session's staging area at its current size.
    async fn stage(
        &self,
        id: &str,
        offset: u64,
        body: ByteStream,
        hasher: Hasher,
        length: Option<u64>,
    ) -> Result<(u64, Hasher)> {
        let mut hs = bounded(body, length);
        let (size, hasher) = self
            .blobs
            .append_hashed(id, offset, &mut hs, hasher)
            .await?;
        check_length(&hs, length)?;
        Ok((size, hasher))
    }

    async fn save_progress(&self, s: &UploadSession, size: u64, hasher: &Hasher) -> Result<()> {
        if self
            .meta
            .advance_upload(&s.id, s.size, size, &hasher.save(), self.now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::RangeInvalid { offset: s.size })
        }
    }

    /// Finish an upload: append the last chunk (if any; `start` as for
    /// [`Registry::append_upload`]), verify the digest, publish, link. A wrong `start` is
    /// `RangeInvalid` and changes nothing; on a digest mismatch the session and its staged
    /// bytes are dropped and nothing is stored.
    pub async fn finish_upload(
        &self,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        start: Option<u64>,
        body: Option<ByteStream>,
        length: Option<u64>,
    ) -> Result<u64> {
        self.check_writable().await?;
        let mut s = self.upload_status(repo, id).await?;
        check_start(&s, start)?;
        let mut hasher = Hasher::restore(&s.hash_state)?;
        if s.size == 0 && hasher.algorithm() != digest.algorithm() {
            // Nothing hashed yet: hash the final body with the algorithm the client named.
            hasher = Hasher::new(digest.algorithm());
        }
        if let Some(body) = body {
            let (size, h) = self.stage(&s.id, s.size, body, hasher, length).await?;
            self.save_progress(&s, size, &h).await?;
            s.size = size;
            hasher = h;
        }
        let actual = if hasher.algorithm() == digest.algorithm() {
            hasher.finish()
        } else {
            // The chunks were hashed as sha256 but the client names another algorithm: hash the
            // staged bytes once more with it (the only path that re-reads data).
            let mut h = Hasher::new(digest.algorithm());
            let mut staged = self.blobs.read_staged(&s.id, s.size).await?;
            while let Some(chunk) = staged.next().await {
                h.update(&chunk?);
            }
            h.finish()
        };
        if &actual != digest {
            self.drop_upload(&s.id).await;
            return Err(Error::DigestInvalid {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        self.publish(repo, &s.id, s.size, digest, None).await?;
        self.meta.delete_upload(&s.id).await?;
        Ok(s.size)
    }

    /// Publish verified staged bytes as `digest` and link the blob to `repo`.
    ///
    /// The blob's row is claimed before the bytes are published: if garbage collection is
    /// deleting the same digest, this waits until it is done, so the deletion cannot remove
    /// the bytes just written. Refused by the quota, the published bytes stay unlinked and go
    /// at the next garbage collection after the grace period.
    ///
    /// `whole` is what [`BlobStore::stage_whole`] staged, for a blob that came in one stream.
    ///
    /// [`BlobStore::stage_whole`]: crate::blob::BlobStore::stage_whole
    async fn publish(
        &self,
        repo: &RepoName,
        staging_id: &str,
        size: u64,
        digest: &Digest,
        whole: Option<Whole>,
    ) -> Result<()> {
        let waited = std::time::Instant::now();
        while !self
            .meta
            .claim_blob(&digest.to_string(), size as i64, self.now())
            .await?
        {
            if waited.elapsed() > GC_WAIT {
                return Err(Error::Unavailable {
                    reason: format!("blob {digest} is being garbage collected; try again"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match whole {
            Some(whole) => self.blobs.commit_whole(staging_id, whole, digest).await?,
            None => self.blobs.commit(staging_id, size, digest).await?,
        }
        let link = crate::meta::NewBlobLink {
            repo: repo.clone(),
            digest: digest.clone(),
            size,
        };
        let linked = self.links.link(&self.meta, &self.clock, link).await;
        if let Err(e) = &linked {
            self.quota_refused(e).await;
        }
        linked
    }

    async fn drop_upload(&self, id: &str) {
        if let Err(e) = self.blobs.abort(id).await {
            tracing::warn!(upload = id, error = %e, "could not drop staged upload data");
        }
        if let Err(e) = self.meta.delete_upload(id).await {
            tracing::warn!(upload = id, error = %e, "could not drop upload session");
        }
    }

    /// Upload a whole blob in one call (monolithic `POST …?digest=`).
    ///
    /// A single request needs no resumable session: the bytes stage under an id that carries
    /// its start time (see [`MONOLITHIC_PREFIX`]), are hashed with the digest's own algorithm,
    /// and are published or dropped before the call returns. A process killed in between leaves
    /// staged bytes that [`Registry::purge_uploads`] finds by that time.
    pub async fn push_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<u64> {
        self.check_writable().await?;
        self.check_project(repo).await?;
        let id = format!(
            "{MONOLITHIC_PREFIX}{}-{}",
            self.now(),
            uuid::Uuid::new_v4().simple()
        );
        let result = async {
            let mut hs = bounded(body, length);
            let (whole, hasher) = self
                .blobs
                .stage_whole(&id, &mut hs, Hasher::new(digest.algorithm()))
                .await?;
            check_length(&hs, length)?;
            let actual = hasher.finish();
            if &actual != digest {
                return Err(Error::DigestInvalid {
                    expected: digest.to_string(),
                    actual: actual.to_string(),
                });
            }
            let size = whole.size;
            self.publish(repo, &id, size, digest, Some(whole)).await?;
            Ok(size)
        }
        .await;
        if result.is_err()
            && let Err(e) = self.blobs.abort(&id).await
        {
            tracing::warn!(upload = id, error = %e, "could not drop staged upload data");
        }
        result
    }

    /// Upload a blob from memory. Convenience for bindings and tests.
    pub async fn push_blob_bytes(&self, repo: &RepoName, data: Bytes) -> Result<Digest> {
        let digest = Digest::sha256_of(&data);
        let len = data.len() as u64;
        let body = futures::stream::once(async move { Ok(data) }).boxed();
        self.push_blob(repo, &digest, body, Some(len)).await?;
        Ok(digest)
    }

    /// Cancel an upload session.
    pub async fn cancel_upload(&self, repo: &RepoName, id: &str) -> Result<()> {
        let s = self.upload_status(repo, id).await?;
        self.blobs.abort(&s.id).await?;
        self.meta.delete_upload(&s.id).await?;
        Ok(())
    }

    /// Drop sessions untouched for `max_age_ms` with their staged bytes, and staged bytes of
    /// monolithic uploads older than that (left by a crash). Returns how many were dropped.
    pub async fn purge_uploads(&self, max_age_ms: i64) -> Result<usize> {
        let cutoff = self.now() - max_age_ms;
        let stale = self.meta.stale_uploads(cutoff).await?;
        for s in &stale {
            self.drop_upload(&s.id).await;
        }
        let mut dropped = stale.len();
        for id in self.blobs.list_uploads().await? {
            let started = id
                .strip_prefix(MONOLITHIC_PREFIX)
                .and_then(|rest| rest.split('-').next())
                .and_then(|ms| ms.parse::<i64>().ok());
            if started.is_some_and(|t| t < cutoff) {
                self.blobs.abort(&id).await?;
                dropped += 1;
            }
        }
        Ok(dropped)
    }
}
