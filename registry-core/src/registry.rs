//! The `Registry` facade: everything a frontend can do goes through here.
//!
//! Handlers, Python methods and Node methods are each one call into this type plus conversions.
//! It owns the product rules of the distribution API: upload sessions with resumable hashing,
//! digest verification before publish, manifest validation, tags, referrers.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use crate::access::{AccessSettings, AccessState};
use crate::auth::{Authenticator, Principal};
use crate::blob::{BlobStore, ByteStream, HashingStream, fs::FsBlobStore, memory::MemoryBlobStore};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::events::{DELETE_ARTIFACT, PUSH_ARTIFACT};
use crate::meta::governance::NewEvent;
use crate::meta::{ManifestRecord, MetadataStore, StoredManifest, UploadSession};
use crate::oci::manifest::{self, OCI_INDEX};
use crate::oci::{Algorithm, Digest, Hasher, Reference, RepoName, validate_tag};

/// A link answered "exists" is re-touched at most this often (ms), keeping HEAD-heavy pushes
/// from writing on every request.
const LINK_TOUCH_INTERVAL_MS: i64 = 60_000;

/// Staging ids of monolithic uploads start with this, then the start time in unix ms.
pub const MONOLITHIC_PREFIX: &str = "m-";

/// Largest page a listing returns when the client does not ask for fewer.
pub const MAX_PAGE: u32 = 10_000;

/// How long a manifest lookup may be answered from this process's cache by default. Writes
/// through this process are visible at once; writes by other nodes within this time.
pub const DEFAULT_MANIFEST_CACHE_TTL: Duration = Duration::from_secs(2);

/// Bytes of manifests the cache may hold.
const MANIFEST_CACHE_BYTES: u64 = 64 << 20;

/// Recently served manifests, keyed by (repository, repository generation, reference).
///
/// Each local write to a repository's manifests or tags bumps its generation, so entries from
/// before the write are never served again. Entries also expire after the TTL, which bounds how
/// long a change made by another node can go unseen.
struct ManifestCache {
    entries: moka::future::Cache<(String, u64, String), Arc<StoredManifest>>,
    generations: std::sync::Mutex<HashMap<String, u64>>,
}

impl ManifestCache {
    fn new(ttl: Duration) -> Option<Self> {
        if ttl.is_zero() {
            return None;
        }
        let entries = moka::future::Cache::builder()
            .max_capacity(MANIFEST_CACHE_BYTES)
            .weigher(|k: &(String, u64, String), v: &Arc<StoredManifest>| {
                u32::try_from(
                    k.0.len() + k.2.len() + v.content.len() + v.digest.len() + v.media_type.len(),
                )
                .unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        Some(Self {
            entries,
            generations: std::sync::Mutex::new(HashMap::new()),
        })
    }

    fn key(&self, repo: &RepoName, reference: &Reference) -> (String, u64, String) {
        let generation = self
            .generations
            .lock()
            .expect("generation map lock")
            .get(repo.as_str())
            .copied()
            .unwrap_or(0);
        (repo.to_string(), generation, reference.to_string())
    }

    fn invalidate(&self, repo: &RepoName) {
        *self
            .generations
            .lock()
            .expect("generation map lock")
            .entry(repo.to_string())
            .or_insert(0) += 1;
    }
}

/// Builds a [`Registry`] from explicit parts.
pub struct RegistryBuilder {
    blobs: Option<Arc<dyn BlobStore>>,
    meta: Option<Arc<dyn MetadataStore>>,
    clock: Option<Arc<dyn Clock>>,
    manifest_cache_ttl: Duration,
    access: AccessSettings,
    authenticators: Vec<Arc<dyn Authenticator>>,
    audit: crate::audit::AuditSettings,
    #[cfg(feature = "oidc")]
    oidc: Option<Arc<crate::auth::oidc::OidcProvider>>,
}

impl Default for RegistryBuilder {
    fn default() -> Self {
        Self {
            blobs: None,
            meta: None,
            clock: None,
            manifest_cache_ttl: DEFAULT_MANIFEST_CACHE_TTL,
            access: AccessSettings::default(),
            authenticators: Vec::new(),
            audit: crate::audit::AuditSettings::default(),
            #[cfg(feature = "oidc")]
            oidc: None,
        }
    }
}

impl RegistryBuilder {
    pub fn blobs(mut self, b: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(b);
        self
    }

    pub fn meta(mut self, m: Arc<dyn MetadataStore>) -> Self {
        self.meta = Some(m);
        self
    }

    pub fn clock(mut self, c: Arc<dyn Clock>) -> Self {
        self.clock = Some(c);
        self
    }

    /// How long manifest lookups may be served from memory ([`DEFAULT_MANIFEST_CACHE_TTL`]);
    /// zero turns the cache off.
    pub fn manifest_cache_ttl(mut self, ttl: Duration) -> Self {
        self.manifest_cache_ttl = ttl;
        self
    }

    /// Token lifetime, service name, who may create projects.
    pub fn access_settings(mut self, settings: AccessSettings) -> Self {
        self.access = settings;
        self
    }

    /// Pull auditing, the registry host named in webhook payloads, webhook timeouts.
    pub fn audit_settings(mut self, settings: crate::audit::AuditSettings) -> Self {
        self.audit = settings;
        self
    }

    /// Add an external identity source (LDAP, …), asked in order after local users and robots.
    pub fn authenticator(mut self, a: Arc<dyn Authenticator>) -> Self {
        self.authenticators.push(a);
        self
    }

    /// The OpenID Connect provider users log in with (Harbor's `oidc_auth`), for the portal's
    /// code flow ([`Registry::oidc`]); OIDC users' CLI secrets are checked by `login` either way.
    #[cfg(feature = "oidc")]
    pub fn oidc(mut self, provider: Arc<crate::auth::oidc::OidcProvider>) -> Self {
        self.oidc = Some(provider);
        self
    }

    pub fn build(self) -> Result<Registry> {
        let missing = |what: &str| Error::BadRequest {
            reason: format!("registry builder needs {what}"),
        };
        let reg = Registry {
            blobs: self.blobs.ok_or_else(|| missing("a blob store"))?,
            meta: self.meta.ok_or_else(|| missing("a metadata store"))?,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            manifests: ManifestCache::new(self.manifest_cache_ttl).map(Arc::new),
            access: Arc::new(AccessState::new(self.access, self.authenticators)),
            jobs: Arc::new(crate::jobs::JobState::new()),
            policies: Arc::new(crate::immutable::PolicyCache::new()),
            audit: Arc::new(crate::audit::AuditState::new(self.audit)),
            read_only: Arc::new(
                moka::future::Cache::builder()
                    .time_to_live(READ_ONLY_TTL)
                    .build(),
            ),
            #[cfg(feature = "oidc")]
            oidc: self.oidc,
        };
        crate::gc::register_builtin(&reg);
        crate::retention::register_builtin(&reg);
        crate::audit::register_jobs(&reg);
        Ok(reg)
    }
}

/// Result of a manifest push.
#[derive(Debug, Clone)]
pub struct PutManifestOutcome {
    pub digest: Digest,
    /// The manifest's subject, for the `OCI-Subject` response header.
    pub subject: Option<Digest>,
    /// Every tag that now points at the manifest.
    pub tags: Vec<String>,
}

/// A blob about to be streamed.
pub struct BlobRead {
    /// Size of the whole blob.
    pub size: u64,
    /// The byte range being returned (end exclusive).
    pub range: Range<u64>,
    pub body: ByteStream,
}

/// A byte range as a client asked for it (`Range: bytes=…`), resolved against the blob's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `start-` or `start-end` (end inclusive, clamped to the size).
    From { start: u64, end: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The half-open range this selects in a blob of `size` bytes, or `RangeInvalid`.
    pub fn resolve(self, size: u64) -> Result<Range<u64>> {
        let bad = Error::RangeInvalid { offset: size };
        match self {
            Self::From { start, end } => {
                let last = end.unwrap_or(u64::MAX).min(size.saturating_sub(1));
                if start >= size || end.is_some_and(|e| e < start) {
                    return Err(bad);
                }
                Ok(start..last + 1)
            }
            Self::Suffix(n) if n == 0 || size == 0 => Err(bad),
            Self::Suffix(n) => Ok(size.saturating_sub(n)..size),
        }
    }
}

/// A referrers answer: an OCI image index, and whether an `artifactType` filter was applied.
#[derive(Debug, Clone)]
pub struct ReferrersIndex {
    pub body: Bytes,
    pub filtered: bool,
}

/// A Berth registry.
#[derive(Clone)]
pub struct Registry {
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) clock: Arc<dyn Clock>,
    manifests: Option<Arc<ManifestCache>>,
    pub(crate) access: Arc<AccessState>,
    pub(crate) jobs: Arc<crate::jobs::JobState>,
    pub(crate) policies: Arc<crate::immutable::PolicyCache>,
    pub(crate) audit: Arc<crate::audit::AuditState>,
    /// The `read_only` setting, re-read at most every [`READ_ONLY_TTL`].
    read_only: Arc<moka::future::Cache<(), bool>>,
    #[cfg(feature = "oidc")]
    pub(crate) oidc: Option<Arc<crate::auth::oidc::OidcProvider>>,
}

/// How long a node may act on a stale read-only setting changed by another node.
pub const READ_ONLY_TTL: Duration = Duration::from_secs(2);

/// The settings key of read-only mode.
const READ_ONLY_KEY: &str = "read_only";

/// How long an upload commit waits for garbage collection to finish deleting the same digest.
const GC_WAIT: Duration = Duration::from_secs(60);

/// Content goes into `<project>/<name>`: a name without a project segment cannot take any.
pub(crate) fn require_project_segment(repo: &RepoName) -> Result<()> {
    if repo.as_str().contains('/') {
        Ok(())
    } else {
        Err(Error::NameInvalid {
            reason: format!(
                "repository names start with their project: <project>/<name>, not {repo:?}"
            ),
        })
    }
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

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("blobs", &self.blobs.name())
            .field("meta", &self.meta.name())
            .finish()
    }
}

/// Open a metadata store from a URI: `sqlite://path`, `postgres://…`, `memory://`.
pub async fn open_metadata(uri: &str) -> Result<Arc<dyn MetadataStore>> {
    use crate::meta::{postgres::PostgresStore, sqlite::SqliteStore};
    if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(uri).await?))
    } else if uri == "memory://" {
        Ok(Arc::new(SqliteStore::open_memory().await?))
    } else if uri.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(uri).await?))
    } else {
        Err(Error::BadRequest {
            reason: format!("unsupported metadata URI {uri:?} (sqlite://, postgres://, memory://)"),
        })
    }
}

/// Open a blob store from a URI: `file:///path` (or a plain path), `s3://bucket/prefix?endpoint=…`,
/// `memory://`.
pub async fn open_blobs(uri: &str) -> Result<Arc<dyn BlobStore>> {
    if uri == "memory://" {
        return Ok(Arc::new(MemoryBlobStore::new()));
    }
    if let Some(path) = uri.strip_prefix("file://") {
        return Ok(Arc::new(FsBlobStore::open(path)?));
    }
    if uri.starts_with("s3://") {
        #[cfg(feature = "s3")]
        {
            let url = url::Url::parse(uri).map_err(|e| Error::BadRequest {
                reason: format!("bad s3 URI: {e}"),
            })?;
            return Ok(Arc::new(crate::blob::object::ObjectBlobStore::open_s3(
                &url,
            )?));
        }
        #[cfg(not(feature = "s3"))]
        return Err(Error::Unsupported {
            reason: "built without the s3 feature".into(),
        });
    }
    if !uri.contains("://") {
        return Ok(Arc::new(FsBlobStore::open(uri)?));
    }
    Err(Error::BadRequest {
        reason: format!("unsupported storage URI {uri:?} (file://, s3://, memory://)"),
    })
}

/// A chunk must start where the session's received bytes end.
fn check_start(s: &UploadSession, start: Option<u64>) -> Result<()> {
    match start {
        Some(start) if start != s.size => Err(Error::RangeInvalid { offset: s.size }),
        _ => Ok(()),
    }
}

fn new_upload_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Registry {
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// Open a registry from one URI: `memory://` (everything in memory), or a data directory
    /// (`file:///path` or a plain path) holding `berth.db` (SQLite) and the blob files.
    pub async fn open(uri: &str) -> Result<Self> {
        if uri == "memory://" {
            return Self::open_with("memory://", "memory://").await;
        }
        let dir = uri.strip_prefix("file://").unwrap_or(uri);
        if dir.contains("://") {
            return Err(Error::BadRequest {
                reason: format!(
                    "{uri:?}: give memory://, a data directory, or use open_with(metadata, storage)"
                ),
            });
        }
        Self::open_data_dir(Path::new(dir)).await
    }

    /// Open a registry whose metadata and blobs live in one directory.
    pub async fn open_data_dir(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::storage("fs", e))?;
        let db = format!("sqlite://{}", dir.join("berth.db").display());
        Self::open_with(&db, &dir.display().to_string()).await
    }

    /// Open a registry from a metadata URI and a storage URI.
    pub async fn open_with(metadata: &str, storage: &str) -> Result<Self> {
        let meta = open_metadata(metadata).await?;
        let blobs = open_blobs(storage).await?;
        Self::builder().meta(meta).blobs(blobs).build()
    }

    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn metadata_store(&self) -> &Arc<dyn MetadataStore> {
        &self.meta
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Whether the registry is in read-only mode (the `read_only` setting; another node's change
    /// is seen within [`READ_ONLY_TTL`]).
    pub async fn is_read_only(&self) -> Result<bool> {
        let meta = self.meta.clone();
        self.read_only
            .try_get_with((), async move {
                Ok::<_, Error>(
                    meta.get_setting(READ_ONLY_KEY)
                        .await?
                        .is_some_and(|v| v == "true"),
                )
            })
            .await
            .map_err(|e: Arc<Error>| Error::Unavailable {
                reason: format!("reading the read-only setting: {e}"),
            })
    }

    /// Refuse a change while the registry is read-only.
    pub async fn check_writable(&self) -> Result<()> {
        if self.is_read_only().await? {
            Err(Error::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Turn read-only mode on or off (system administrators).
    pub async fn set_read_only(&self, p: &Principal, on: bool) -> Result<()> {
        self.require_system(
            p,
            crate::auth::rbac::SystemResource::Configuration,
            crate::auth::rbac::Action::Update,
        )?;
        self.meta
            .set_setting(READ_ONLY_KEY, if on { "true" } else { "false" })
            .await?;
        self.read_only.invalidate(&()).await;
        self.record(
            NewEvent::new(
                "UPDATE_CONFIGURATION",
                "configuration",
                "read_only",
                "update",
            )
            .payload(serde_json::json!({ "read_only": on })),
        )
        .await;
        Ok(())
    }

    /// Content may only enter an existing project.
    async fn check_project(&self, repo: &RepoName) -> Result<()> {
        require_project_segment(repo)?;
        match self
            .project_access(&Principal::System, repo.project())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(no_project(repo)),
        }
    }

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
                now - LINK_TOUCH_INTERVAL_MS,
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
        let mut hs = HashingStream::new(body, hasher);
        if let Some(len) = length {
            hs = hs.with_limit(len);
        }
        let size = self.blobs.append(id, offset, &mut hs).await?;
        if let Some(len) = length
            && hs.bytes_seen() != len
        {
            return Err(Error::SizeInvalid {
                reason: format!(
                    "Content-Length was {len} but {} bytes arrived",
                    hs.bytes_seen()
                ),
            });
        }
        Ok((size, hs.finish().await?))
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
        self.publish(repo, &s.id, s.size, digest).await?;
        self.meta.delete_upload(&s.id).await?;
        Ok(s.size)
    }

    /// Publish verified staged bytes as `digest` and link the blob to `repo`.
    ///
    /// The blob's row is claimed before the bytes are published: if garbage collection is
    /// deleting the same digest, this waits until it is done, so the deletion cannot remove
    /// the bytes just written. Refused by the quota, the published bytes stay unlinked and go
    /// at the next garbage collection after the grace period.
    async fn publish(
        &self,
        repo: &RepoName,
        staging_id: &str,
        size: u64,
        digest: &Digest,
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
        self.blobs.commit(staging_id, size, digest).await?;
        let linked = self
            .meta
            .link_new_blob(repo, digest, size, self.now())
            .await;
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
            let (size, hasher) = self
                .stage(&id, 0, body, Hasher::new(digest.algorithm()), length)
                .await?;
            let actual = hasher.finish();
            if &actual != digest {
                return Err(Error::DigestInvalid {
                    expected: digest.to_string(),
                    actual: actual.to_string(),
                });
            }
            self.publish(repo, &id, size, digest).await?;
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

    // ---- manifests ---------------------------------------------------------------------------

    /// Validate and store a manifest under `reference` (a tag, or the digest it must have), also
    /// tagging it with `extra_tags`.
    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
    ) -> Result<PutManifestOutcome> {
        self.check_writable().await?;
        let parsed = manifest::parse(&body, content_type)?;
        let digest = match reference {
            Reference::Digest(expected) => {
                let mut h = Hasher::new(expected.algorithm());
                h.update(&body);
                let actual = h.finish();
                if &actual != expected {
                    return Err(Error::DigestInvalid {
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    });
                }
                actual
            }
            Reference::Tag(_) => Digest::sha256_of(&body),
        };
        let mut tags = Vec::with_capacity(extra_tags.len() + 1);
        if let Reference::Tag(t) = reference {
            tags.push(t.clone());
        }
        for t in extra_tags {
            validate_tag(t)?;
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let annotations = parsed
            .annotations
            .as_ref()
            .map(|a| serde_json::to_string(a).expect("a string map serializes"));
        let record = ManifestRecord {
            digest: digest.clone(),
            media_type: parsed.media_type,
            artifact_type: parsed.artifact_type,
            subject: parsed.subject.clone(),
            annotations,
            content: body,
            refs: parsed.refs,
        };
        let size = record.content.len();
        let resource = |t: Option<&String>| match t {
            Some(t) => format!("{repo}:{t}"),
            None => format!("{repo}@{digest}"),
        };
        let event = NewEvent::new(PUSH_ARTIFACT, "artifact", resource(tags.first()), "create")
            .payload(serde_json::json!({
                "repository": repo.as_str(), "digest": digest.to_string(), "tags": tags,
                "media_type": record.media_type, "size": size,
            }));
        self.check_tags_writable(repo, &tags).await?;
        let stored = self
            .meta
            .put_manifest(
                repo,
                &record,
                &tags,
                self.now(),
                std::slice::from_ref(&event),
            )
            .await;
        if let Err(e) = &stored {
            self.quota_refused(e).await;
        }
        stored?;
        self.manifests_changed(repo);
        Ok(PutManifestOutcome {
            digest,
            subject: parsed.subject,
            tags,
        })
    }

    /// Fetch a manifest by tag or digest.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Arc<StoredManifest>> {
        let unknown = || Error::ManifestUnknown {
            reference: reference.to_string(),
        };
        let Some(cache) = &self.manifests else {
            return self
                .meta
                .get_manifest(repo, reference)
                .await?
                .map(Arc::new)
                .ok_or_else(unknown);
        };
        let key = cache.key(repo, reference);
        if let Some(hit) = cache.entries.get(&key).await {
            return Ok(hit);
        }
        let found = Arc::new(
            self.meta
                .get_manifest(repo, reference)
                .await?
                .ok_or_else(unknown)?,
        );
        cache.entries.insert(key, found.clone()).await;
        Ok(found)
    }

    pub(crate) fn manifests_changed(&self, repo: &RepoName) {
        if let Some(cache) = &self.manifests {
            cache.invalidate(repo);
        }
    }

    /// Delete a manifest by digest (with every tag pointing at it), or just a tag.
    pub async fn delete_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<()> {
        self.check_writable().await?;
        self.check_deletable(repo, reference).await?;
        let found = match reference {
            Reference::Digest(d) => {
                let event = NewEvent::new(
                    DELETE_ARTIFACT,
                    "artifact",
                    format!("{repo}@{d}"),
                    "delete",
                )
                .payload(
                    serde_json::json!({ "repository": repo.as_str(), "digest": d.to_string() }),
                );
                self.meta
                    .delete_manifest(repo, d, self.now(), std::slice::from_ref(&event))
                    .await?
            }
            Reference::Tag(t) => {
                let found = self.meta.delete_tag(repo, t).await?;
                if found {
                    self.record(
                        NewEvent::new("DELETE_TAG", "tag", format!("{repo}:{t}"), "delete")
                            .payload(serde_json::json!({ "repository": repo.as_str(), "tag": t })),
                    )
                    .await;
                }
                found
            }
        };
        self.manifests_changed(repo);
        if found {
            Ok(())
        } else {
            Err(Error::ManifestUnknown {
                reference: reference.to_string(),
            })
        }
    }

    /// Tags in lexical order after `last`, at most `n` (default and cap [`MAX_PAGE`]).
    pub async fn list_tags(
        &self,
        repo: &RepoName,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<Vec<String>> {
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        self.meta
            .list_tags(repo, limit, last)
            .await?
            .ok_or_else(|| Error::NameUnknown {
                name: repo.to_string(),
            })
    }

    /// Repository names in lexical order after `last`, at most `n` (default and cap [`MAX_PAGE`]).
    pub async fn catalog(&self, n: Option<u32>, last: Option<&str>) -> Result<Vec<String>> {
        self.meta
            .catalog(n.unwrap_or(MAX_PAGE).min(MAX_PAGE), last)
            .await
    }

    /// The referrers of `subject` as an OCI image index, optionally only those of one
    /// `artifact_type`.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ReferrersIndex> {
        let all = self.meta.referrers(repo, subject).await?;
        let manifests: Vec<serde_json::Value> = all
            .into_iter()
            .filter(|r| artifact_type.is_none_or(|t| r.artifact_type.as_deref() == Some(t)))
            .map(|r| {
                let mut d = serde_json::json!({ "mediaType": r.media_type, "digest": r.digest, "size": r.size });
                if let Some(t) = r.artifact_type {
                    d["artifactType"] = t.into();
                }
                if let Some(a) = r.annotations.and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok()) {
                    d["annotations"] = a;
                }
                d
            })
            .collect();
        let index = serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
        Ok(ReferrersIndex {
            body: Bytes::from(serde_json::to_vec(&index).expect("json serializes")),
            filtered: artifact_type.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RangeSpec;

    #[test]
    fn ranges_resolve_like_the_conformance_suite_expects() {
        let from = |start, end| RangeSpec::From { start, end };
        assert_eq!(from(500, Some(1499)).resolve(2048).unwrap(), 500..1500);
        assert_eq!(from(500, None).resolve(2048).unwrap(), 500..2048);
        assert_eq!(RangeSpec::Suffix(500).resolve(2048).unwrap(), 1548..2048);
        assert_eq!(RangeSpec::Suffix(5000).resolve(2048).unwrap(), 0..2048);
        assert_eq!(from(2000, Some(5000)).resolve(2048).unwrap(), 2000..2048);
        assert!(from(500, Some(0)).resolve(2048).is_err());
        assert!(from(5000, Some(10000)).resolve(2048).is_err());
        assert!(from(0, None).resolve(0).is_err());
    }
}
