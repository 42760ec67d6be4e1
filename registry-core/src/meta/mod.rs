//! Metadata: repositories, blobs and their links, manifests, tags, referrers, upload sessions.
//!
//! Two real implementations share one SQL text ([`sql`]): SQLite (embedded default, WAL) and
//! PostgreSQL (several nodes on one database). Every multi-row invariant is one trait method that
//! the implementation runs in one transaction: a manifest push checks what it references, stores
//! the manifest, its reference links and its tags together, or writes nothing.

use std::fmt::Debug;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::oci::{ContentRef, Digest, Reference, RepoName};

use governance::NewEvent;

pub mod audit;
mod audit_sql;
pub mod governance;
mod governance_sql;
pub mod identity;
mod identity_sql;
pub mod outbox;
pub mod policy;
mod policy_sql;
pub mod postgres;
pub mod replication;
mod replication_sql;
pub mod scan;
mod scan_sql;
pub mod sql;
pub mod sqlite;

/// An upload session, as persisted between requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSession {
    pub id: String,
    pub repo: String,
    /// Bytes received so far; the next chunk must start here.
    pub size: u64,
    /// The running hash state ([`crate::oci::Hasher::save`]).
    pub hash_state: Vec<u8>,
    pub started_at: i64,
    pub updated_at: i64,
}

/// A manifest ready to be stored.
#[derive(Debug, Clone)]
pub struct ManifestRecord {
    pub digest: Digest,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    /// Manifest annotations as a JSON object, for the referrers API.
    pub annotations: Option<String>,
    pub content: Bytes,
    pub refs: Vec<ContentRef>,
    /// Tags of this push that immutable tag rules protect, each with the refusal to answer if
    /// it already exists: checked inside the manifest transaction, so two first pushes of the
    /// same protected tag cannot both win.
    pub immutable_tags: Vec<(String, String)>,
    /// When the manifest is an accessory: what it belongs to (recorded with it).
    pub accessory: Option<AccessoryLink>,
}

/// An accessory's link to its subject, decided by `content::accessory` at push time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessoryLink {
    pub subject: Digest,
    /// `signature.cosign`, `signature.notation`, `sbom.harbor`, `accelerator.nydus` or
    /// `subject.accessory`.
    pub kind: &'static str,
    /// `subject` or `tag`.
    pub via: &'static str,
}

/// A stored manifest.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub digest: String,
    pub media_type: String,
    pub content: Bytes,
}

/// A manifest whose `subject` is a given digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    /// JSON object text.
    pub annotations: Option<String>,
}

/// A published blob to link, for [`MetadataStore::link_new_blobs`].
#[derive(Debug, Clone)]
pub struct NewBlobLink {
    pub repo: RepoName,
    pub digest: Digest,
    pub size: u64,
}

/// The metadata store behind a [`crate::Registry`].
///
/// # Contract
/// * Names and digests passed in are already validated.
/// * Methods that change several rows do so in one transaction.
/// * "Not found" answers are `Ok(None)`/`Ok(false)` unless documented otherwise; errors are
///   reserved for failures and violated preconditions.
#[async_trait]
pub trait MetadataStore:
    identity::IdentityStore
    + governance::GovernanceStore
    + policy::PolicyStore
    + scan::ScanStore
    + replication::ReplicationStore
    + audit::AuditStore
    + Send
    + Sync
    + Debug
    + 'static
{
    /// Backend name for errors and metrics (`"sqlite"`, `"postgres"`).
    fn name(&self) -> &'static str;

    /// Link several published blobs of one project's repositories in one transaction, each as
    /// [`MetadataStore::link_new_blob`] would: `Ok(true)` when all are linked. `Ok(false)`
    /// links none: one of them could not be (its blob was collected meanwhile, or the quota
    /// cannot hold them all), and the caller links them one at a time, for each its own answer.
    /// By default `Ok(false)`.
    async fn link_new_blobs(&self, links: &[NewBlobLink], now: i64) -> Result<bool> {
        let _ = (links, now);
        Ok(false)
    }

    /// Link a published blob, whose row [`governance::GovernanceStore::claim_blob`] created
    /// before the bytes were published, to `repo` (creating the repository row), charging the
    /// project's quota (`QuotaExceeded`, linking nothing, when it cannot hold the blob).
    async fn link_new_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        size: u64,
        now: i64,
    ) -> Result<()>;

    /// Link an existing blob to `repo` (cross-repository mount). Returns its size, or `None`
    /// when the registry has no such blob — or, with `from`, when `from` does not link it.
    async fn mount_blob(
        &self,
        repo: &RepoName,
        digest: &Digest,
        from: Option<&RepoName>,
        now: i64,
    ) -> Result<Option<u64>>;

    /// Up to `limit` repositories that link `digest`, by name (mount sources to check).
    async fn repos_linking(&self, digest: &Digest, limit: u32) -> Result<Vec<RepoName>>;

    /// Size of `digest` if `repo` links it.
    async fn repo_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>>;

    /// Remove the link from `repo` to `digest`. Returns whether it existed.
    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest, now: i64) -> Result<bool>;

    /// Size of `digest` if the registry holds it at all.
    async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;

    async fn create_upload(&self, session: &UploadSession) -> Result<()>;
    async fn get_upload(&self, id: &str) -> Result<Option<UploadSession>>;
    /// Move an upload from `from_size` to `size` with a new hash state, if it is still at
    /// `from_size` (compare-and-set). Returns whether it moved.
    async fn advance_upload(
        &self,
        id: &str,
        from_size: u64,
        size: u64,
        hash_state: &[u8],
        now: i64,
    ) -> Result<bool>;
    async fn delete_upload(&self, id: &str) -> Result<bool>;
    /// Sessions last updated before `before`.
    async fn stale_uploads(&self, before: i64) -> Result<Vec<UploadSession>>;

    /// Store a manifest with its reference links and tags, in one transaction. Fails with
    /// `ManifestBlobUnknown` (writing nothing) when a required reference is absent from the
    /// repository, and with `QuotaExceeded` when the project's quota cannot hold the manifest.
    /// `events` are recorded in the same transaction.
    async fn put_manifest(
        &self,
        repo: &RepoName,
        m: &ManifestRecord,
        tags: &[String],
        now: i64,
        events: &[NewEvent],
    ) -> Result<()>;

    async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Option<StoredManifest>>;

    /// Delete a manifest and the tags pointing at it, recording `events` if it existed. Returns
    /// whether it was deleted. With `only_collectable`, only while it is still what
    /// [`GovernanceStore::gc_untagged`](governance::GovernanceStore::gc_untagged) lists (no tag,
    /// no index of its repository lists it, its subject gone), rechecked under the project's
    /// lock: a push that tagged it since it was listed wins.
    async fn delete_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
        only_collectable: bool,
        now: i64,
        events: &[NewEvent],
    ) -> Result<bool>;

    /// Delete one tag (the manifest stays). Returns whether it existed.
    async fn delete_tag(&self, repo: &RepoName, tag: &str) -> Result<bool>;

    /// Tags of `repo` in lexical order after `last`, at most `limit`. `None` when the repository
    /// does not exist.
    async fn list_tags(
        &self,
        repo: &RepoName,
        limit: u32,
        last: Option<&str>,
    ) -> Result<Option<Vec<String>>>;

    /// Manifests in `repo` whose subject is `subject`.
    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>>;

    /// Repository names in lexical order after `last`, at most `limit`.
    async fn catalog(&self, limit: u32, last: Option<&str>) -> Result<Vec<String>>;

    /// Whether the repository exists.
    async fn repo_exists(&self, repo: &RepoName) -> Result<bool>;
}

/// Refusal for content aimed at a project that does not exist.
pub(crate) fn no_project(repo: &RepoName) -> Error {
    Error::Denied {
        reason: format!(
            "project {:?} does not exist; create it before pushing {repo}",
            repo.project()
        ),
    }
}
