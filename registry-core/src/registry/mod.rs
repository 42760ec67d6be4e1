//! The `Registry` facade: everything a frontend can do goes through here.
//!
//! Handlers, Python methods and Node methods are each one call into this type plus conversions.
//! It owns the product rules of the distribution API: upload sessions with resumable hashing,
//! digest verification before publish, manifest validation, tags, referrers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub mod secrets;

use crate::access::{AccessSettings, AccessState};
use crate::auth::{Authenticator, Principal};
use crate::blob::{BlobStore, fs::FsBlobStore, memory::MemoryBlobStore};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::meta::governance::NewEvent;
use crate::meta::{MetadataStore, StoredManifest};
use crate::oci::{Reference, RepoName};

/// A link answered "exists" is re-touched at most this often (ms), keeping HEAD-heavy pushes
/// from writing on every request; at most half the garbage collection grace period, so that a
/// HEAD protects its link for that period (see [`RegistryBuilder::gc_grace`]).
pub(crate) const LINK_TOUCH_INTERVAL_MS: i64 = 60_000;

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
pub(crate) struct ManifestCache {
    pub(crate) entries: moka::future::Cache<(String, u64, String), Arc<StoredManifest>>,
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

    pub(crate) fn key(&self, repo: &RepoName, reference: &Reference) -> (String, u64, String) {
        let generation = self
            .generations
            .lock()
            .expect("generation map lock")
            .get(repo.as_str())
            .copied()
            .unwrap_or(0);
        (repo.to_string(), generation, reference.to_string())
    }

    pub(crate) fn invalidate(&self, repo: &RepoName) {
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
    secret_key: Option<secrets::SecretKey>,
    previous_secret_keys: Vec<secrets::SecretKey>,
    gc_grace_ms: i64,
    #[cfg(feature = "oidc")]
    oidc: Option<Arc<crate::auth::oidc::OidcProvider>>,
    #[cfg(feature = "ldap")]
    ldap: Option<Arc<crate::auth::ldap::LdapAuthenticator>>,
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
            secret_key: None,
            previous_secret_keys: Vec::new(),
            gc_grace_ms: crate::gc::DEFAULT_GRACE_MS,
            #[cfg(feature = "oidc")]
            oidc: None,
            #[cfg(feature = "ldap")]
            ldap: None,
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

    /// The key secrets are sealed with at rest ([`secrets`]). Without one, a key is made up for
    /// this process: fine for a throw-away registry, but secrets stored by one process then
    /// cannot be read by the next ([`Registry::open`] finds a persistent key for you).
    pub fn secret_key(mut self, key: secrets::SecretKey) -> Self {
        self.secret_key = Some(key);
        self
    }

    /// Earlier keys still accepted for opening secrets, during a rotation.
    pub fn previous_secret_keys(mut self, keys: Vec<secrets::SecretKey>) -> Self {
        self.previous_secret_keys = keys;
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

    /// The LDAP directory users log in with (Harbor's `ldap_auth`): added as an authenticator,
    /// and kept for the directory's own API (`/ldap/ping`, user and group search, import).
    #[cfg(feature = "ldap")]
    pub fn ldap(mut self, directory: Arc<crate::auth::ldap::LdapAuthenticator>) -> Self {
        self.authenticators.push(directory.clone());
        self.ldap = Some(directory);
        self
    }

    /// The grace period garbage collection runs with (default 2 hours). A blob HEAD answered
    /// "exists" re-touches its link when the link is older than half of it (at most a minute),
    /// and a run keeps links untouched for its grace plus that interval, so a HEAD protects its
    /// link for at least the grace period even with a short one.
    pub fn gc_grace(mut self, grace: Duration) -> Self {
        self.gc_grace_ms = grace.as_millis().min(i64::MAX as u128) as i64;
        self
    }

    pub fn build(self) -> Result<Registry> {
        let missing = |what: &str| Error::BadRequest {
            reason: format!("registry builder needs {what}"),
        };
        let reg = Registry(Arc::new(Shared {
            blobs: self.blobs.ok_or_else(|| missing("a blob store"))?,
            meta: self.meta.ok_or_else(|| missing("a metadata store"))?,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            manifests: ManifestCache::new(self.manifest_cache_ttl).map(Arc::new),
            access: Arc::new(AccessState::new(self.access, self.authenticators)),
            jobs: Arc::new(crate::jobs::JobState::new()),
            policies: Arc::new(crate::immutable::PolicyCache::new()),
            trust: Arc::new(crate::policy::trust::TrustCache::new(
                self.manifest_cache_ttl,
            )),
            audit: Arc::new(crate::audit::AuditState::new(self.audit)),
            secrets: Arc::new(secrets::SecretBox::new(
                self.secret_key.unwrap_or_else(secrets::SecretKey::generate),
                self.previous_secret_keys,
            )),
            proxy: Arc::new(crate::proxy::ProxyState::new()),
            links: Arc::default(),
            read_only: Arc::new(
                moka::future::Cache::builder()
                    .time_to_live(READ_ONLY_TTL)
                    .build(),
            ),
            link_touch_ms: LINK_TOUCH_INTERVAL_MS.min(self.gc_grace_ms / 2),
            #[cfg(feature = "oidc")]
            oidc: self.oidc,
            #[cfg(feature = "ldap")]
            ldap: self.ldap,
        }));
        crate::gc::register_builtin(&reg);
        crate::retention::register_builtin(&reg);
        crate::audit::register_jobs(&reg);
        crate::replication::execution::register_jobs(&reg);
        crate::scan::jobs::register_jobs(&reg);
        Ok(reg)
    }
}

/// A Berth registry: a handle on one shared state, so a clone (axum clones its state for
/// every middleware layer and handler of every request) is one reference count.
#[derive(Clone)]
pub struct Registry(Arc<Shared>);

impl std::ops::Deref for Registry {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What every clone of a [`Registry`] shares.
pub struct Shared {
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) meta: Arc<dyn MetadataStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) manifests: Option<Arc<ManifestCache>>,
    pub(crate) access: Arc<AccessState>,
    pub(crate) jobs: Arc<crate::jobs::JobState>,
    pub(crate) policies: Arc<crate::immutable::PolicyCache>,
    pub(crate) trust: Arc<crate::policy::trust::TrustCache>,
    pub(crate) audit: Arc<crate::audit::AuditState>,
    pub(crate) secrets: Arc<secrets::SecretBox>,
    pub(crate) proxy: Arc<crate::proxy::ProxyState>,
    /// Blob links waiting to be written together (group commit).
    pub(crate) links: Arc<crate::distribution::links::LinkQueue>,
    /// The `read_only` setting, re-read at most every [`READ_ONLY_TTL`].
    read_only: Arc<moka::future::Cache<(), bool>>,
    /// How stale a link may be before a HEAD touches it again (ms; see
    /// [`RegistryBuilder::gc_grace`]).
    pub(crate) link_touch_ms: i64,
    #[cfg(feature = "oidc")]
    pub(crate) oidc: Option<Arc<crate::auth::oidc::OidcProvider>>,
    #[cfg(feature = "ldap")]
    pub(crate) ldap: Option<Arc<crate::auth::ldap::LdapAuthenticator>>,
}

/// How long a node may act on a stale read-only setting changed by another node.
pub const READ_ONLY_TTL: Duration = Duration::from_secs(2);

/// The settings key of read-only mode.
const READ_ONLY_KEY: &str = "read_only";

/// How long an upload commit waits for garbage collection to finish deleting the same digest.
pub(crate) const GC_WAIT: Duration = Duration::from_secs(60);

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

pub(crate) use crate::meta::no_project;

pub use crate::distribution::{BlobRead, PutManifestOutcome, RangeSpec, ReferrersIndex};

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("blobs", &self.blobs.name())
            .field("meta", &self.meta.name())
            .finish()
    }
}

/// The secret key for a registry opened from URIs: `BERTH_SECRET_KEY` (64 hex digits or
/// base64), else the file `BERTH_SECRET_KEY_FILE`, else `secret.key` beside the data of a
/// filesystem store or SQLite database (created on first use, mode 0600), else — for a
/// `memory://` registry only — a key for this process. A registry on PostgreSQL with neither
/// needs the operator to say which key every node shares.
pub fn default_secret_key(metadata: &str, storage: &str) -> Result<secrets::SecretKey> {
    if let Ok(k) = std::env::var("BERTH_SECRET_KEY")
        && !k.is_empty()
    {
        return secrets::SecretKey::parse(&k);
    }
    if let Ok(f) = std::env::var("BERTH_SECRET_KEY_FILE")
        && !f.is_empty()
    {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::BadRequest {
            reason: format!("reading the secret key file {f}: {e}"),
        })?;
        return secrets::SecretKey::parse(&text);
    }
    let local_dir = if !storage.contains("://") || storage.starts_with("file://") {
        Some(Path::new(storage.strip_prefix("file://").unwrap_or(storage)).to_path_buf())
    } else {
        metadata
            .strip_prefix("sqlite://")
            .and_then(|p| Path::new(p.split('?').next().unwrap_or(p)).parent())
            .map(Path::to_path_buf)
    };
    match local_dir {
        Some(dir) => secrets::SecretKey::load_or_create(&dir.join("secret.key")),
        None if metadata == "memory://" => Ok(secrets::SecretKey::generate()),
        None => Err(Error::BadRequest {
            reason: "secrets are sealed at rest: give the secret key every node shares (BERTH_SECRET_KEY or BERTH_SECRET_KEY_FILE)".into(),
        }),
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
            reason: format!(
                "unsupported metadata URI {:?} (sqlite://, postgres://, memory://)",
                crate::units::redact_uri(uri)
            ),
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
                reason: format!("bad s3 URI {}: {e}", crate::units::redact_uri(uri)),
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
        reason: format!(
            "unsupported storage URI {:?} (file://, s3://, memory://)",
            crate::units::redact_uri(uri)
        ),
    })
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

    /// Open a registry from a metadata URI and a storage URI. The secret key comes from
    /// [`default_secret_key`]; stored secrets are resealed under it ([`Self::reseal_secrets`]).
    pub async fn open_with(metadata: &str, storage: &str) -> Result<Self> {
        let key = default_secret_key(metadata, storage)?;
        let meta = open_metadata(metadata).await?;
        let blobs = open_blobs(storage).await?;
        let reg = Self::builder()
            .meta(meta)
            .blobs(blobs)
            .secret_key(key)
            .build()?;
        reg.reseal_secrets().await?;
        Ok(reg)
    }

    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    pub fn metadata_store(&self) -> &Arc<dyn MetadataStore> {
        &self.meta
    }

    pub(crate) fn now(&self) -> i64 {
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
        let event = NewEvent::new(
            "UPDATE_CONFIGURATION",
            "configuration",
            "read_only",
            "update",
        )
        .payload(serde_json::json!({ "read_only": on }));
        self.with_events(
            vec![event],
            self.meta
                .set_setting(READ_ONLY_KEY, if on { "true" } else { "false" }),
        )
        .await?;
        self.read_only.invalidate(&()).await;
        Ok(())
    }

    /// Content may only enter an existing project.
    pub(crate) async fn check_project(&self, repo: &RepoName) -> Result<()> {
        require_project_segment(repo)?;
        match self
            .project_access(&Principal::System, repo.project())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(no_project(repo)),
        }
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

    /// axum clones the registry for every layer and handler of every request: the handle must
    /// stay one pointer, whatever state is added to [`Shared`].
    #[test]
    fn a_registry_handle_is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<super::Registry>(),
            std::mem::size_of::<usize>()
        );
    }
}
