//! Who may do what on the data plane: [`Caller`] and the authorizing handle [`V2`].
//!
//! Each method of [`V2`] checks the caller's project role (and, for token callers, the scope the
//! token grants) and only then calls the operation. A frontend authenticates, builds a
//! [`Caller`] and renders what comes back; it never decides access.

use std::sync::Arc;

use bytes::Bytes;

use super::{BlobRead, PutManifestOutcome, RangeSpec, ReferrersIndex};
use crate::access::RepoAction;
use crate::auth::Principal;
use crate::auth::token::Claims;
use crate::blob::ByteStream;
use crate::error::{Error, Result};
use crate::meta::{StoredManifest, UploadSession};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;

/// How many repositories linking a digest an anonymous mount (no `from`) considers as sources.
const MOUNT_CANDIDATES: u32 = 32;

/// The caller of one data-plane request, as a frontend authenticated it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// Present when the caller came with a registry token: what it grants. A token narrows the
    /// principal's rights to its scopes; it never widens them.
    pub claims: Option<Arc<Claims>>,
    /// The client's `User-Agent`, for Harbor's signing-client bypass of content trust.
    pub user_agent: Option<String>,
}

impl Caller {
    /// A caller with `principal`'s rights and no token.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            claims: None,
            user_agent: None,
        }
    }

    /// The embedding program: every permission.
    pub fn system() -> Self {
        Self::new(Principal::System)
    }

    pub fn anonymous() -> Self {
        Self::new(Principal::Anonymous)
    }
}

/// The data plane as `caller` may use it ([`Registry::v2`]).
#[derive(Clone, Copy)]
pub struct V2<'a> {
    registry: &'a Registry,
    caller: &'a Caller,
}

impl Registry {
    /// The `/v2` operations, each authorized for `caller` before it runs.
    pub fn v2<'a>(&'a self, caller: &'a Caller) -> V2<'a> {
        V2 {
            registry: self,
            caller,
        }
    }
}

impl V2<'_> {
    pub fn caller(&self) -> &Caller {
        self.caller
    }

    async fn allow(&self, repo: &RepoName, action: RepoAction) -> Result<()> {
        self.registry
            .authorize_repo(
                &self.caller.principal,
                self.caller.claims.as_deref(),
                repo,
                action,
            )
            .await
    }

    /// Whether the caller may pull `repo`, by its own rights. A token names only the repository
    /// it was issued for, so the source of a mount is judged by the principal, not the token.
    async fn may_pull_by_role(&self, repo: &RepoName) -> bool {
        self.registry
            .authorize_repo(&self.caller.principal, None, repo, RepoAction::Pull)
            .await
            .is_ok()
    }

    /// `GET /v2/`: any authenticated caller (anonymous callers get the challenge).
    pub fn base(&self) -> Result<()> {
        if self.caller.principal.is_anonymous() {
            Err(Error::Unauthorized)
        } else {
            Ok(())
        }
    }

    pub async fn head_blob(&self, repo: &RepoName, digest: &Digest) -> Result<u64> {
        self.allow(repo, RepoAction::Pull).await?;
        match self.registry.head_blob(repo, digest).await {
            Err(Error::BlobUnknown { .. })
                if let Some(up) = self.registry.proxy_of(repo).await? =>
            {
                self.registry.proxy_fetch_blob(up, repo, digest).await
            }
            other => other,
        }
    }

    pub async fn get_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        range: Option<RangeSpec>,
    ) -> Result<BlobRead> {
        self.allow(repo, RepoAction::Pull).await?;
        if let Some(up) = self.registry.proxy_of(repo).await? {
            return self.registry.proxy_blob(up, repo, digest, range).await;
        }
        self.registry.get_blob(repo, digest, range).await
    }

    pub async fn delete_blob(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        self.allow(repo, RepoAction::Delete).await?;
        self.registry.delete_blob(repo, digest).await
    }

    /// Link `digest` into `repo` from a repository the caller may pull: `from` when given,
    /// otherwise any repository that links it and that the caller may pull. `None` when there is
    /// no such source; the client then uploads (the spec's fallback to a session).
    pub async fn mount_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: Option<&RepoName>,
    ) -> Result<Option<u64>> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry.refuse_proxy_write(repo).await?;
        let source = match from {
            Some(src) => self.may_pull_by_role(src).await.then(|| src.clone()),
            None => {
                let mut found = None;
                for src in self
                    .registry
                    .meta
                    .repos_linking(digest, MOUNT_CANDIDATES)
                    .await?
                {
                    if self.may_pull_by_role(&src).await {
                        found = Some(src);
                        break;
                    }
                }
                found
            }
        };
        match source {
            Some(src) => self.registry.mount_blob(repo, digest, Some(&src)).await,
            None => Ok(None),
        }
    }

    pub async fn start_upload(&self, repo: &RepoName) -> Result<UploadSession> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry.refuse_proxy_write(repo).await?;
        self.registry.start_upload(repo).await
    }

    /// Reading an upload's status needs pull, as in Distribution and Harbor.
    pub async fn upload_status(&self, repo: &RepoName, id: &str) -> Result<UploadSession> {
        self.allow(repo, RepoAction::Pull).await?;
        self.registry.upload_status(repo, id).await
    }

    pub async fn append_upload(
        &self,
        repo: &RepoName,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<u64> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry
            .append_upload(repo, id, start, body, length)
            .await
    }

    pub async fn finish_upload(
        &self,
        repo: &RepoName,
        id: &str,
        digest: &Digest,
        start: Option<u64>,
        body: Option<ByteStream>,
        length: Option<u64>,
    ) -> Result<u64> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry
            .finish_upload(repo, id, digest, start, body, length)
            .await
    }

    pub async fn push_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        body: ByteStream,
        length: Option<u64>,
    ) -> Result<u64> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry.refuse_proxy_write(repo).await?;
        self.registry.push_blob(repo, digest, body, length).await
    }

    pub async fn cancel_upload(&self, repo: &RepoName, id: &str) -> Result<()> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry.cancel_upload(repo, id).await
    }

    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
    ) -> Result<PutManifestOutcome> {
        self.allow(repo, RepoAction::Push).await?;
        self.registry.refuse_proxy_write(repo).await?;
        let outcome = self
            .registry
            .put_manifest(repo, reference, content_type, body, extra_tags)
            .await?;
        self.registry
            .scan_on_push(self.caller, repo, &outcome.digest)
            .await;
        Ok(outcome)
    }

    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Arc<StoredManifest>> {
        self.allow(repo, RepoAction::Pull).await?;
        let m = match self.registry.proxy_of(repo).await? {
            Some(up) => self.registry.proxy_manifest(up, repo, reference).await?,
            None => self.registry.get_manifest(repo, reference).await?,
        };
        self.registry
            .enforce_pull_policies(self.caller, repo, &m)
            .await?;
        Ok(m)
    }

    pub async fn delete_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<()> {
        self.allow(repo, RepoAction::Delete).await?;
        self.registry.delete_manifest(repo, reference).await
    }

    pub async fn list_tags(
        &self,
        repo: &RepoName,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<Vec<String>> {
        self.allow(repo, RepoAction::Pull).await?;
        if n == Some(0) {
            return Ok(Vec::new());
        }
        self.registry.list_tags(repo, n, last).await
    }

    /// `/v2/_catalog`: system administrators and robots granted `catalog:read`.
    pub async fn catalog(&self, n: Option<u32>, last: Option<&str>) -> Result<Vec<String>> {
        self.registry.authorize_catalog(&self.caller.principal)?;
        if n == Some(0) {
            return Ok(Vec::new());
        }
        self.registry.catalog(n, last).await
    }

    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ReferrersIndex> {
        self.allow(repo, RepoAction::Pull).await?;
        if let Some(up) = self.registry.proxy_of(repo).await? {
            return self
                .registry
                .proxy_referrers(up, repo, subject, artifact_type)
                .await;
        }
        self.registry.referrers(repo, subject, artifact_type).await
    }
}
