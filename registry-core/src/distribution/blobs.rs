//! Blobs: stat, HEAD, ranged GET, delete and mount.

use crate::error::{Error, Result};
use crate::oci::{Digest, RepoName};

use super::{BlobRead, RangeSpec};
use crate::registry::Registry;

impl Registry {
    // ---- blobs -------------------------------------------------------------------------------

    /// Size of a blob the repository links.
    pub async fn stat_blob(&self, repo: &RepoName, digest: &Digest) -> Result<u64> {
        self.meta
            .repo_blob(repo, digest)
            .await?
            .ok_or_else(|| Error::BlobUnknown {
                digest: digest.to_string(),
            })
    }

    /// Size of a blob the repository links, for a client asking whether it must upload it: the
    /// link counts as used now, so garbage collection leaves it for the grace period in which the
    /// client pushes the manifest referencing it.
    pub async fn head_blob(&self, repo: &RepoName, digest: &Digest) -> Result<u64> {
        let size = self.stat_blob(repo, digest).await?;
        let now = self.now();
        self.meta
            .touch_link(
                repo.as_str(),
                &digest.to_string(),
                now - self.link_touch_ms,
                now,
            )
            .await?;
        Ok(size)
    }

    /// Stream a blob, or a byte range of it (`range` end exclusive).
    pub async fn get_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        range: Option<RangeSpec>,
    ) -> Result<BlobRead> {
        let size = self.stat_blob(repo, digest).await?;
        let range = match range {
            Some(r) => r.resolve(size)?,
            None => 0..size,
        };
        let whole = range.start == 0 && range.end == size;
        let body = self
            .blobs
            .get(digest, (!whole).then(|| range.clone()))
            .await?;
        Ok(BlobRead { size, range, body })
    }

    /// Remove a blob from a repository (the bytes go when garbage collection finds them unused).
    pub async fn delete_blob(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        self.check_writable().await?;
        if self.meta.unlink_blob(repo, digest, self.now()).await? {
            Ok(())
        } else {
            Err(Error::BlobUnknown {
                digest: digest.to_string(),
            })
        }
    }

    /// Link a blob into `repo` from `from` (or, with `None`, from anywhere in the registry).
    /// Returns the size, or `None` when there is nothing to mount (the client then uploads).
    pub async fn mount_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: Option<&RepoName>,
    ) -> Result<Option<u64>> {
        self.check_writable().await?;
        let mounted = self.meta.mount_blob(repo, digest, from, self.now()).await;
        if let Err(e) = &mounted {
            self.quota_refused(e).await;
        }
        let size = mounted?;
        if let Some(size) = size
            && self.blobs.stat(digest).await?.is_none()
        {
            tracing::warn!(%digest, size, "metadata lists a blob the store does not have; not mounting");
            return Ok(None);
        }
        Ok(size)
    }
}
