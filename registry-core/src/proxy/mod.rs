//! Proxy-cache projects: a project created with a `registry_id` serves
//! `<project>/<upstream path>` from that registry, keeping what it serves.
//!
//! - **Manifests.** A tag is resolved by `HEAD` upstream (Docker Hub does not count a HEAD as a
//!   pull). When the local copy has that digest it is served; otherwise the manifest is fetched
//!   by digest, verified, served, and stored: an index at once (its children may stay
//!   absent), an image manifest once its blobs are cached (a background task fetches the ones
//!   the client does not). A digest reference present locally never goes upstream.
//! - **Blobs.** A miss starts one upstream fetch per (repository, digest); the bytes stream to
//!   the first client while they are hashed and stored like an upload (digest verified before
//!   publish). Concurrent requests for the same blob wait for that fetch and are then served
//!   from the store. The fetch runs on its own task: a client that goes away does not stop it.
//! - **Upstream down, 429, or refusing the credentials:** a cached tag is served; an uncached
//!   one fails with `UNAVAILABLE` (or `TOOMANYREQUESTS`) naming the cause. An upstream 404 is a
//!   404.
//! - **Referrers** are asked of the upstream (its referrers API, or the tag schema); the cached
//!   ones answer when it cannot.
//! - **Writes** (uploads, mounts, manifest pushes) into a proxy project are refused; quota
//!   applies to what the cache stores.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot, watch};

use crate::distribution::{BlobRead, RangeSpec};
use crate::error::{Error, Result};
use crate::meta::StoredManifest;
use crate::oci::manifest::{self, ManifestKind, RefKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;
use crate::replication::upstream::{Upstream, UpstreamError};

/// The project metadata key naming a proxy-cache project's registry endpoint.
pub(crate) const REGISTRY_ID_KEY: &str = "registry_id";

/// Chunks buffered between the upstream fetch and the first client.
const TEE_CHUNKS: usize = 16;

/// How long the background completion of an image waits before fetching what the client has
/// not, so that the client's own requests lead the fetches and stream through.
const COMPLETE_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// The proxy's process-wide state: upstream clients and fetches in flight.
pub(crate) struct ProxyState {
    /// (registry id, its update time) → client.
    upstreams: moka::future::Cache<(i64, i64), Arc<Upstream>>,
    /// (repository, digest) → the outcome of the fetch in flight (`None` while running).
    inflight: std::sync::Mutex<HashMap<(String, String), Flight>>,
    /// Upstream blob fetches started, for tests and metrics.
    blob_fetches: AtomicU64,
    /// (project id, its limit) → the permits of `max_upstream_conn`.
    conns: std::sync::Mutex<HashMap<(i64, u32), Arc<tokio::sync::Semaphore>>>,
}

type FetchOutcome = std::result::Result<u64, String>;

/// A fetch in flight: its outcome once it ends.
type Flight = watch::Receiver<Option<FetchOutcome>>;

impl ProxyState {
    pub(crate) fn new() -> Self {
        Self {
            upstreams: moka::future::Cache::builder().max_capacity(1_000).build(),
            inflight: std::sync::Mutex::new(HashMap::new()),
            blob_fetches: AtomicU64::new(0),
            conns: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn client(&self, key: (i64, i64)) -> Option<Arc<Upstream>> {
        self.upstreams.get(&key).await
    }

    pub(crate) async fn keep_client(&self, key: (i64, i64), up: Arc<Upstream>) {
        self.upstreams.insert(key, up).await;
    }
}

/// The path of `repo` upstream: the repository name without its project.
fn upstream_path(repo: &RepoName) -> &str {
    repo.as_str()
        .split_once('/')
        .map_or(repo.as_str(), |(_, rest)| rest)
}

fn unavailable(repo: &RepoName, what: &str, e: UpstreamError) -> Error {
    match e {
        UpstreamError::NotFound => Error::ManifestUnknown {
            reference: what.to_owned(),
        },
        UpstreamError::RateLimited => Error::TooManyRequests,
        other => Error::Unavailable {
            reason: format!("{repo}:{what} is not cached and {other}"),
        },
    }
}

impl Registry {
    /// The registry endpoint a proxy-cache project pulls from, if `repo`'s project is one.
    pub(crate) async fn proxy_of(&self, repo: &RepoName) -> Result<Option<i64>> {
        Ok(self
            .project_settings(repo)
            .await?
            .and_then(|(_, s)| s.proxy))
    }

    /// The id and settings of `repo`'s project, `None` when there is no such project. Both
    /// lookups are cached: a pull of a plain project costs no statement here.
    async fn project_settings(
        &self,
        repo: &RepoName,
    ) -> Result<Option<(i64, Arc<crate::policy::trust::ProjectTrust>)>> {
        let Some(access) = self
            .project_access(&crate::auth::Principal::System, repo.project())
            .await?
        else {
            return Ok(None);
        };
        let id = access.project.id;
        Ok(Some((id, self.project_trust(id, false).await?)))
    }

    /// A proxy-cache project's upstream limits: its pace (`proxy_speed_kb`, in bytes per
    /// second, 0 unlimited) and a permit of `max_upstream_conn` (`TOOMANYREQUESTS` when every
    /// one is taken).
    async fn proxy_limits(
        &self,
        repo: &RepoName,
    ) -> Result<(u64, Option<tokio::sync::OwnedSemaphorePermit>)> {
        let Some((id, trust)) = self.project_settings(repo).await? else {
            return Ok((0, None));
        };
        if trust.proxy_conns == 0 {
            return Ok((trust.proxy_speed, None));
        }
        let sem = self
            .proxy
            .conns
            .lock()
            .expect("proxy conns lock")
            .entry((id, trust.proxy_conns))
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(trust.proxy_conns as usize)))
            .clone();
        match sem.try_acquire_owned() {
            Ok(permit) => Ok((trust.proxy_speed, Some(permit))),
            Err(_) => Err(Error::TooManyRequests),
        }
    }

    /// Refuse repositories outside the project's `proxy_repository_filter`, as if they did not
    /// exist (cached or not).
    async fn proxy_allows(&self, repo: &RepoName) -> Result<()> {
        let Some((_, trust)) = self.project_settings(repo).await? else {
            return Ok(());
        };
        match &trust.proxy_filter {
            Some(p) if !p.is_match(upstream_path(repo)) => Err(Error::NameUnknown {
                name: repo.to_string(),
            }),
            _ => Ok(()),
        }
    }

    /// Refuse content written into a proxy-cache project.
    pub(crate) async fn refuse_proxy_write(&self, repo: &RepoName) -> Result<()> {
        if self.proxy_of(repo).await?.is_some() {
            return Err(Error::Denied {
                reason: format!(
                    "project {} is a proxy cache: its content comes from the upstream registry only",
                    repo.project()
                ),
            });
        }
        Ok(())
    }

    /// A new proxy-cache project's retention: keep what was pulled in the last 7 days, run
    /// daily (Harbor's default); the project's admins may change it.
    pub(crate) async fn proxy_retention(&self, project_id: i64) -> Result<()> {
        let policy: crate::model::RetentionPolicy = serde_json::from_value(serde_json::json!({
            "algorithm": "or",
            "rules": [{
                "action": "retain",
                "template": "nDaysSinceLastPull",
                "params": { "nDaysSinceLastPull": 7 },
                "tag_selectors": [{ "kind": "doublestar", "decoration": "matches", "pattern": "**", "extras": "{\"untagged\":true}" }],
                "scope_selectors": { "repository": [{ "kind": "doublestar", "decoration": "repoMatches", "pattern": "**" }] },
            }],
            "trigger": { "kind": "Schedule", "settings": { "cron": "0 0 0 * * *" } },
            "scope": { "level": "project", "ref": project_id },
        }))
        .expect("the default retention policy parses");
        self.create_retention(&crate::auth::Principal::System, policy)
            .await
            .map(drop)
    }

    /// Upstream blob fetches this process started (tests, metrics).
    pub fn proxy_blob_fetches(&self) -> u64 {
        self.proxy.blob_fetches.load(Ordering::Relaxed)
    }

    /// A manifest of a proxy-cache repository (see the module doc).
    pub(crate) async fn proxy_manifest(
        &self,
        registry_id: i64,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Arc<StoredManifest>> {
        self.proxy_allows(repo).await?;
        let path = upstream_path(repo);
        let tag = match reference {
            Reference::Digest(_) => {
                if let Ok(m) = self.get_manifest(repo, reference).await {
                    return Ok(m);
                }
                None
            }
            Reference::Tag(t) => Some(t.clone()),
        };
        let up = self.upstream(registry_id).await?;
        let digest = match (&tag, reference) {
            (Some(t), _) => match up.head_manifest(path, t).await {
                Ok(d) => d,
                Err(UpstreamError::NotFound) => {
                    return Err(Error::ManifestUnknown {
                        reference: t.clone(),
                    });
                }
                Err(e) => {
                    tracing::warn!(repository = %repo, tag = t, error = %e, "upstream unavailable: serving the cached tag");
                    return self
                        .get_manifest(repo, reference)
                        .await
                        .map_err(|_| unavailable(repo, t, e));
                }
            },
            (None, Reference::Digest(d)) => d.clone(),
            (None, Reference::Tag(_)) => unreachable!("a tag reference has a tag"),
        };
        let by_digest = Reference::Digest(digest.clone());
        if let Ok(m) = self.get_manifest(repo, &by_digest).await {
            if let Some(t) = tag {
                self.proxy_retag(repo, &t, &m).await;
            }
            return Ok(m);
        }
        let (body, actual, media_type) = match up.get_manifest(path, &digest.to_string()).await {
            Ok(m) => m,
            Err(e) => {
                // The HEAD answered, the GET did not: a cached tag still serves.
                if tag.is_some()
                    && let Ok(m) = self.get_manifest(repo, reference).await
                {
                    tracing::warn!(repository = %repo, error = %e, "upstream manifest unavailable: serving the cached tag");
                    return Ok(m);
                }
                return Err(unavailable(repo, &digest.to_string(), e));
            }
        };
        if actual != digest {
            return Err(Error::Unavailable {
                reason: format!("the upstream served {actual} for {digest}"),
            });
        }
        let parsed = manifest::parse(&body, Some(&media_type))?;
        let stored = Arc::new(StoredManifest {
            digest: digest.to_string(),
            media_type: parsed.media_type.clone(),
            content: body.clone(),
        });
        let reg = self.clone();
        let repo = repo.clone();
        match parsed.kind {
            ManifestKind::Index => {
                // Stored at once, children optional: a pull then finds the index offline.
                reg.proxy_store_manifest(&repo, &digest, tag, &media_type, body, true)
                    .await;
            }
            ManifestKind::Image => {
                let blobs: Vec<Digest> = parsed
                    .refs
                    .iter()
                    .filter(|r| r.required && r.kind == RefKind::Blob)
                    .map(|r| r.digest.clone())
                    .collect();
                tokio::spawn(async move {
                    tokio::time::sleep(COMPLETE_DELAY).await;
                    for b in &blobs {
                        if reg.stat_blob(&repo, b).await.is_err()
                            && let Err(e) = reg.proxy_fetch_blob(registry_id, &repo, b).await
                        {
                            tracing::warn!(repository = %repo, digest = %b, error = %e, "proxy cache: a blob could not be cached");
                            return;
                        }
                    }
                    reg.proxy_store_manifest(&repo, &digest, tag, &media_type, body, false)
                        .await;
                });
            }
        }
        Ok(stored)
    }

    /// Point the local tag at what the upstream has, when it does not already.
    async fn proxy_retag(&self, repo: &RepoName, tag: &str, m: &StoredManifest) {
        let by_tag = Reference::Tag(tag.to_owned());
        if self
            .get_manifest(repo, &by_tag)
            .await
            .is_ok_and(|local| local.digest == m.digest)
        {
            return;
        }
        if let Err(e) = self
            .put_manifest_with(
                repo,
                &by_tag,
                Some(&m.media_type),
                m.content.clone(),
                &[],
                true,
            )
            .await
        {
            tracing::warn!(repository = %repo, tag, error = %e, "proxy cache: could not move the tag");
        }
    }

    async fn proxy_store_manifest(
        &self,
        repo: &RepoName,
        digest: &Digest,
        tag: Option<String>,
        media_type: &str,
        body: Bytes,
        children_optional: bool,
    ) {
        let reference = tag.map_or_else(|| Reference::Digest(digest.clone()), Reference::Tag);
        match self
            .put_manifest_with(
                repo,
                &reference,
                Some(media_type),
                body,
                &[],
                children_optional,
            )
            .await
        {
            Ok(_) => tracing::info!(repository = %repo, %digest, "proxy cache: manifest stored"),
            Err(e) => {
                tracing::warn!(repository = %repo, %digest, error = %e, "proxy cache: manifest not stored")
            }
        }
    }

    /// The referrers of `subject` in a proxy-cache repository, as the upstream lists them; the
    /// cached ones when the upstream cannot answer.
    pub(crate) async fn proxy_referrers(
        &self,
        registry_id: i64,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<crate::distribution::ReferrersIndex> {
        self.proxy_allows(repo).await?;
        let up = self.upstream(registry_id).await?;
        match up
            .referrers(upstream_path(repo), subject, artifact_type)
            .await
        {
            Ok(body) => Ok(crate::distribution::ReferrersIndex {
                body,
                filtered: artifact_type.is_some(),
            }),
            Err(e) => {
                tracing::warn!(repository = %repo, %subject, error = %e, "upstream referrers unavailable: serving the cached ones");
                self.referrers(repo, subject, artifact_type).await
            }
        }
    }

    /// A blob of a proxy-cache repository: local when cached, else fetched once and streamed.
    pub(crate) async fn proxy_blob(
        &self,
        registry_id: i64,
        repo: &RepoName,
        digest: &Digest,
        range: Option<RangeSpec>,
    ) -> Result<BlobRead> {
        self.proxy_allows(repo).await?;
        if self.stat_blob(repo, digest).await.is_ok() {
            return self.get_blob(repo, digest, range).await;
        }
        let (first, rx) = self.join_fetch(registry_id, repo, digest).await?;
        if let Some(first) = first
            && range.is_none()
        {
            return Ok(first);
        }
        wait_fetch(rx, digest).await?;
        self.get_blob(repo, digest, range).await
    }

    /// Fetch a blob into the cache (joining a fetch in flight) and wait for it.
    pub(crate) async fn proxy_fetch_blob(
        &self,
        registry_id: i64,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<u64> {
        self.proxy_allows(repo).await?;
        let (first, rx) = self.join_fetch(registry_id, repo, digest).await?;
        drop(first);
        wait_fetch(rx, digest).await
    }

    /// Join the fetch of (`repo`, `digest`), starting it when none runs. The starter gets the
    /// stream of the bytes as they arrive (when the upstream gave their length).
    async fn join_fetch(
        &self,
        registry_id: i64,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<(Option<BlobRead>, Flight)> {
        let key = (repo.to_string(), digest.to_string());
        let done_tx = {
            let mut inflight = self.proxy.inflight.lock().expect("proxy inflight lock");
            if let Some(rx) = inflight.get(&key) {
                return Ok((None, rx.clone()));
            }
            let (tx, rx) = watch::channel(None);
            inflight.insert(key.clone(), rx);
            tx
        };
        let (speed, permit) = match self.proxy_limits(repo).await {
            Ok(limits) => limits,
            Err(e) => {
                self.proxy
                    .inflight
                    .lock()
                    .expect("proxy inflight lock")
                    .remove(&key);
                let _ = done_tx.send(Some(Err(e.to_string())));
                return Err(e);
            }
        };
        let done_rx = done_tx.subscribe();
        let up = match self.upstream(registry_id).await {
            Ok(up) => up,
            Err(e) => {
                self.proxy
                    .inflight
                    .lock()
                    .expect("proxy inflight lock")
                    .remove(&key);
                let _ = done_tx.send(Some(Err(e.to_string())));
                return Err(e);
            }
        };
        self.proxy.blob_fetches.fetch_add(1, Ordering::Relaxed);
        let (len_tx, len_rx) =
            oneshot::channel::<std::result::Result<Option<u64>, UpstreamError>>();
        let (tee_tx, tee_rx) = mpsc::channel::<Result<Bytes>>(TEE_CHUNKS);
        let reg = self.clone();
        let (repo_c, digest_c) = (repo.clone(), digest.clone());
        tokio::spawn(async move {
            // Held until the fetch ends: max_upstream_conn counts fetches, not clients.
            let _permit = permit;
            let outcome = async {
                let (stream, len) = match up.get_blob(upstream_path(&repo_c), &digest_c).await {
                    Ok(s) => s,
                    Err(e) => {
                        let msg = e.to_string();
                        let _ = len_tx.send(Err(e));
                        return Err(msg);
                    }
                };
                let _ = len_tx.send(Ok(len));
                let tee = tee_tx.clone();
                let body = crate::replication::upstream::pace(stream, speed)
                    .then(move |chunk| {
                        let tee = tee.clone();
                        async move {
                            if let Ok(b) = &chunk {
                                // A client gone away stops nothing: the fetch goes on.
                                let _ = tee.send(Ok(b.clone())).await;
                            }
                            chunk
                        }
                    })
                    .boxed();
                reg.push_blob(&repo_c, &digest_c, body, len)
                    .await
                    .map_err(|e| e.to_string())
            }
            .await;
            if let Err(e) = &outcome {
                tracing::warn!(repository = %repo_c, digest = %digest_c, error = %e, "proxy cache: blob fetch failed");
                let _ = tee_tx
                    .send(Err(Error::Unavailable {
                        reason: format!("fetching {digest_c} from the upstream registry: {e}"),
                    }))
                    .await;
            }
            reg.proxy
                .inflight
                .lock()
                .expect("proxy inflight lock")
                .remove(&(repo_c.to_string(), digest_c.to_string()));
            let _ = done_tx.send(Some(outcome));
        });
        let first = match len_rx.await {
            Ok(Ok(Some(len))) => Some(BlobRead {
                size: len,
                range: 0..len,
                body: tokio_stream_of(tee_rx),
            }),
            Ok(Ok(None)) => None,
            Ok(Err(UpstreamError::NotFound)) => {
                return Err(Error::BlobUnknown {
                    digest: digest.to_string(),
                });
            }
            Ok(Err(UpstreamError::RateLimited)) => return Err(Error::TooManyRequests),
            Ok(Err(e)) => {
                return Err(Error::Unavailable {
                    reason: format!("{digest} is not cached and {e}"),
                });
            }
            Err(_) => None,
        };
        Ok((first, done_rx))
    }
}

/// A receiver as a byte stream.
fn tokio_stream_of(mut rx: mpsc::Receiver<Result<Bytes>>) -> crate::blob::ByteStream {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

async fn wait_fetch(mut rx: Flight, digest: &Digest) -> Result<u64> {
    let outcome = rx
        .wait_for(Option::is_some)
        .await
        .map_err(|_| Error::internal("a proxy fetch ended without an outcome"))?
        .clone()
        .expect("waited for Some");
    outcome.map_err(|e| Error::Unavailable {
        reason: format!("{digest} could not be fetched from the upstream registry: {e}"),
    })
}
