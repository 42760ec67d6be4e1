//! Replication executions: a policy run on the job service, one task per repository.
//!
//! Starting a run lists the source (this registry's repositories, or the remote's catalog),
//! applies the name and tag filters and plans one task per repository with its tags. A task
//! copies each tag's artifact:
//! - the destination's digest for the tag is compared first: the same digest is skipped, a
//!   different one is overwritten only with `override`;
//! - an index's child manifests are copied before the index, and an image's blobs before its
//!   manifest;
//! - a blob already at the destination is not copied again: a `HEAD` remotely, a link or a
//!   mount from another repository locally. That check is what makes a task resumable: when a
//!   node dies, its task's lease runs out, another node runs it again, and what was finished is
//!   found at the destination, not copied twice;
//! - each blob is retried 5 times with backoff from 2 s, and the job service retries the task
//!   (3 attempts);
//! - signatures and other accessories of a copied artifact follow it (the referrers of a local
//!   source, cosign's `sha256-<hex>.sig|.att|.sbom` tags on either side);
//! - `speed` (KB/s) paces each task's blob bytes; `copy_by_chunk` uploads remote blobs in 4 MiB
//!   `PATCH`es instead of one `PUT`, each chunk retried 5 times (the upload's status tells whether a
//!   failed one landed after all).
//!
//! Stopping an execution stops its pending tasks and makes running ones stop between blobs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::policy::{
    Filters, REPLICATION_JOB, REPLICATION_SCHEDULE_JOB, ReplicationFilter, TRIGGER_EVENT, dest_name,
};
use super::upstream::{Upstream, UpstreamError};
use crate::auth::{Action, Principal, SystemResource};
use crate::error::{Error, Result};
use crate::jobs::{JobHandler, TaskContext};
use crate::meta::governance::{ExecutionRow, TaskRow};
use crate::meta::replication::PolicyRow;
use crate::model::{ProjectReq, time};
use crate::oci::manifest::{self, ManifestKind, RefKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::query::{ListQuery, Page};
use crate::registry::Registry;

/// The settings key of the last event the event-based trigger looked at.
const EVENT_CURSOR: &str = "replication_event_cursor";
/// Events read per call of [`Registry::replicate_pending_events`].
const EVENT_BATCH: i64 = 500;

/// Attempts per blob, and the first wait between them.
const BLOB_ATTEMPTS: u32 = 5;
const BLOB_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);

/// A replication run as the API shows it (Harbor's `ReplicationExecution`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationExecution {
    pub id: i64,
    pub policy_id: i64,
    /// InProgress, Succeed, Failed or Stopped.
    pub status: String,
    pub trigger: String,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub status_text: String,
    pub total: i64,
    pub failed: i64,
    pub succeed: i64,
    pub in_progress: i64,
    pub stopped: i64,
}

/// One repository of a run (Harbor's `ReplicationTask`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationTask {
    pub id: i64,
    pub execution_id: i64,
    pub status: String,
    pub job_id: String,
    pub operation: String,
    pub resource_type: String,
    pub src_resource: String,
    pub dst_resource: String,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// `POST /replication/executions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StartReplication {
    pub policy_id: i64,
}

/// What one task copies.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskSpec {
    policy_id: i64,
    src: String,
    dst: String,
    tags: Vec<String>,
    /// A deletion to replicate (`replicate_deletion`): the tag or digest deleted at the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delete: Option<String>,
}

fn harbor_status(s: &str) -> &'static str {
    match s {
        "Success" => "Succeed",
        "Error" => "Failed",
        "Stopped" => "Stopped",
        _ => "InProgress",
    }
}

fn task_view(t: TaskRow) -> ReplicationTask {
    let spec: Option<TaskSpec> = serde_json::from_str(&t.params).ok();
    let (src, dst) = spec
        .map(|s| {
            let tags = s.tags.join(",");
            (format!("{}:[{tags}]", s.src), format!("{}:[{tags}]", s.dst))
        })
        .unwrap_or_default();
    ReplicationTask {
        id: t.id,
        execution_id: t.execution_id,
        status: harbor_status(&t.status).into(),
        job_id: t.id.to_string(),
        operation: "copy".into(),
        resource_type: "artifact".into(),
        src_resource: src,
        dst_resource: dst,
        start_time: t.start_time.map(time),
        end_time: t.end_time.map(time),
    }
}

/// A side of a copy: this registry, or a remote one.
#[derive(Clone)]
enum Side {
    Local,
    Remote(Arc<Upstream>),
}

struct Copier<'a> {
    reg: &'a Registry,
    src: Side,
    dst: Side,
    override_existing: bool,
    chunked: bool,
    /// Bytes per second, 0 for unlimited.
    speed: u64,
    stop: Arc<AtomicBool>,
    copied_blobs: u64,
    skipped_blobs: u64,
}

fn local_repo(name: &str) -> Result<RepoName> {
    RepoName::parse(name)
}

fn reference(r: &str) -> Result<Reference> {
    Reference::parse(r)
}

impl Copier<'_> {
    fn stopped(&self) -> Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            Err(Error::Conflict {
                reason: "the execution was stopped".into(),
            })
        } else {
            Ok(())
        }
    }

    async fn manifest(
        &self,
        side: &Side,
        repo: &str,
        r: &str,
    ) -> Result<Option<(Bytes, Digest, String)>> {
        match side {
            Side::Local => match self
                .reg
                .get_manifest(&local_repo(repo)?, &reference(r)?)
                .await
            {
                Ok(m) => Ok(Some((
                    m.content.clone(),
                    Digest::parse(&m.digest)?,
                    m.media_type.clone(),
                ))),
                Err(Error::ManifestUnknown { .. } | Error::NameUnknown { .. }) => Ok(None),
                Err(e) => Err(e),
            },
            Side::Remote(up) => match up.get_manifest(repo, r).await {
                Ok(m) => Ok(Some(m)),
                Err(UpstreamError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn manifest_digest(&self, side: &Side, repo: &str, r: &str) -> Result<Option<Digest>> {
        match side {
            Side::Local => Ok(self.manifest(side, repo, r).await?.map(|m| m.1)),
            Side::Remote(up) => match up.head_manifest(repo, r).await {
                Ok(d) => Ok(Some(d)),
                Err(UpstreamError::NotFound) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    async fn has_blob(&self, repo: &str, digest: &Digest) -> Result<bool> {
        match &self.dst {
            Side::Local => {
                let repo = local_repo(repo)?;
                if self.reg.stat_blob(&repo, digest).await.is_ok() {
                    return Ok(true);
                }
                // Stored elsewhere in this registry: a link, no bytes.
                Ok(self.reg.mount_blob(&repo, digest, None).await?.is_some())
            }
            Side::Remote(up) => Ok(up.blob_exists(repo, digest).await?),
        }
    }

    async fn copy_blob_once(
        &self,
        src_repo: &str,
        dst_repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<()> {
        let (body, len) = match &self.src {
            Side::Local => {
                let read = self
                    .reg
                    .get_blob(&local_repo(src_repo)?, digest, None)
                    .await?;
                (read.body, Some(read.size))
            }
            Side::Remote(up) => up.get_blob(src_repo, digest).await?,
        };
        let size = len.unwrap_or(size);
        let body = super::upstream::pace(body, self.speed);
        match &self.dst {
            Side::Local => {
                self.reg
                    .push_blob(&local_repo(dst_repo)?, digest, body, Some(size))
                    .await?;
            }
            Side::Remote(up) => {
                up.push_blob(dst_repo, digest, body, size, self.chunked)
                    .await?
            }
        }
        Ok(())
    }

    async fn copy_blob(
        &mut self,
        log: &(dyn Fn(String) + Sync),
        src_repo: &str,
        dst_repo: &str,
        digest: &Digest,
        size: u64,
    ) -> Result<()> {
        self.stopped()?;
        if self.has_blob(dst_repo, digest).await? {
            self.skipped_blobs += 1;
            log(format!("blob {digest} is at the destination: skipped"));
            return Ok(());
        }
        let mut wait = BLOB_BACKOFF;
        for attempt in 1..=BLOB_ATTEMPTS {
            match self.copy_blob_once(src_repo, dst_repo, digest, size).await {
                Ok(()) => {
                    self.copied_blobs += 1;
                    log(format!("blob {digest} copied ({size} bytes)"));
                    return Ok(());
                }
                Err(e) if attempt < BLOB_ATTEMPTS && !matches!(e, Error::DigestInvalid { .. }) => {
                    log(format!(
                        "blob {digest}: attempt {attempt} failed: {e}; retrying in {}s",
                        wait.as_secs()
                    ));
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    self.stopped()?;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last attempt returns")
    }

    async fn put_manifest(&self, repo: &str, r: &str, media_type: &str, body: Bytes) -> Result<()> {
        match &self.dst {
            Side::Local => {
                self.reg
                    .put_manifest(
                        &local_repo(repo)?,
                        &reference(r)?,
                        Some(media_type),
                        body,
                        &[],
                    )
                    .await?;
            }
            Side::Remote(up) => up.push_manifest(repo, r, media_type, body).await?,
        }
        Ok(())
    }

    /// Copy an image manifest (its blobs first) or an index (its children first), under `r`.
    async fn copy_manifest(
        &mut self,
        log: &(dyn Fn(String) + Sync),
        src_repo: &str,
        dst_repo: &str,
        (body, digest, media_type): (Bytes, Digest, String),
        r: &str,
    ) -> Result<()> {
        let parsed = manifest::parse(&body, Some(&media_type))?;
        if parsed.kind == ManifestKind::Index {
            for child in parsed.refs.iter().filter(|c| c.kind == RefKind::Manifest) {
                let d = child.digest.to_string();
                if self
                    .manifest_digest(&self.dst.clone(), dst_repo, &d)
                    .await?
                    .is_some()
                {
                    continue;
                }
                let Some(m) = self.manifest(&self.src.clone(), src_repo, &d).await? else {
                    log(format!(
                        "index {digest}: child {d} is not at the source: skipped"
                    ));
                    continue;
                };
                let cp = manifest::parse(&m.0, Some(&m.2))?;
                for b in cp
                    .refs
                    .iter()
                    .filter(|b| b.kind == RefKind::Blob && b.required)
                {
                    self.copy_blob(log, src_repo, dst_repo, &b.digest, b.size.max(0) as u64)
                        .await?;
                }
                self.put_manifest(dst_repo, &d, &m.2, m.0).await?;
            }
        } else {
            for b in parsed
                .refs
                .iter()
                .filter(|b| b.kind == RefKind::Blob && b.required)
            {
                self.copy_blob(log, src_repo, dst_repo, &b.digest, b.size.max(0) as u64)
                    .await?;
            }
        }
        self.put_manifest(dst_repo, r, &media_type, body).await
    }

    /// Copy one tag's artifact and its accessories. Returns whether anything was copied.
    async fn copy_tag(
        &mut self,
        log: &(dyn Fn(String) + Sync),
        src_repo: &str,
        dst_repo: &str,
        tag: &str,
    ) -> Result<bool> {
        self.stopped()?;
        let src = self.src.clone();
        let Some(m) = self.manifest(&src, src_repo, tag).await? else {
            log(format!("{src_repo}:{tag} is gone from the source: skipped"));
            return Ok(false);
        };
        let digest = m.1.clone();
        match self
            .manifest_digest(&self.dst.clone(), dst_repo, tag)
            .await?
        {
            Some(d) if d == digest => {
                log(format!("{dst_repo}:{tag} is already {digest}: skipped"));
                return Ok(false);
            }
            Some(d) if !self.override_existing => {
                log(format!(
                    "{dst_repo}:{tag} is {d}, not {digest}, and override is off: skipped"
                ));
                return Ok(false);
            }
            _ => {}
        }
        self.copy_manifest(log, src_repo, dst_repo, m, tag).await?;
        log(format!(
            "{src_repo}:{tag} ({digest}) copied to {dst_repo}:{tag}"
        ));
        self.copy_accessories(log, src_repo, dst_repo, &digest)
            .await?;
        Ok(true)
    }

    async fn copy_accessories(
        &mut self,
        log: &(dyn Fn(String) + Sync),
        src_repo: &str,
        dst_repo: &str,
        subject: &Digest,
    ) -> Result<()> {
        let src = self.src.clone();
        if matches!(src, Side::Local) {
            let referrers = self
                .reg
                .meta
                .referrers(&local_repo(src_repo)?, subject)
                .await?;
            for r in referrers {
                let d = r.digest.clone();
                if self
                    .manifest_digest(&self.dst.clone(), dst_repo, &d)
                    .await?
                    .is_some()
                {
                    continue;
                }
                if let Some(m) = self.manifest(&src, src_repo, &d).await? {
                    self.copy_manifest(log, src_repo, dst_repo, m, &d).await?;
                    log(format!("accessory {d} of {subject} copied"));
                }
            }
        }
        if matches!(&src, Side::Remote(up) if up.kind() == "docker-hub") {
            return Ok(());
        }
        let hex = subject.to_string().replace(':', "-");
        for suffix in ["sig", "att", "sbom"] {
            let tag = format!("{hex}.{suffix}");
            let Some(m) = self.manifest(&src, src_repo, &tag).await? else {
                continue;
            };
            if self
                .manifest_digest(&self.dst.clone(), dst_repo, &tag)
                .await?
                .as_ref()
                == Some(&m.1)
            {
                continue;
            }
            self.copy_manifest(log, src_repo, dst_repo, m, &tag).await?;
            log(format!("cosign {suffix} of {subject} copied"));
        }
        Ok(())
    }
}

struct ReplicationJob;

#[async_trait]
impl JobHandler for ReplicationJob {
    fn plan(&self, params: &serde_json::Value) -> Result<Vec<serde_json::Value>> {
        Ok(params
            .get("tasks")
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default())
    }

    fn max_attempts(&self) -> i64 {
        3
    }

    async fn run(&self, reg: &Registry, ctx: &mut TaskContext) -> Result<()> {
        reg.run_replication_task(ctx).await
    }
}

struct ScheduleJob;

#[async_trait]
impl JobHandler for ScheduleJob {
    async fn run(&self, reg: &Registry, ctx: &mut TaskContext) -> Result<()> {
        let id = ctx
            .params
            .get("policy_id")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        match reg.run_replication(id, crate::jobs::SCHEDULE).await? {
            Some(e) => ctx.log(format!("policy {id}: execution {e} started")),
            None => ctx.log(format!(
                "policy {id}: nothing started (disabled, or a run is active)"
            )),
        }
        Ok(())
    }
}

pub(crate) fn register_jobs(reg: &Registry) {
    reg.register_job(REPLICATION_JOB, Arc::new(ReplicationJob));
    reg.register_job(REPLICATION_SCHEDULE_JOB, Arc::new(ScheduleJob));
}

impl Registry {
    /// Run a policy now (`POST /replication/executions`); the execution's id.
    pub async fn start_replication(&self, p: &Principal, policy_id: i64) -> Result<i64> {
        self.require_system(p, SystemResource::Replication, Action::Create)?;
        self.policy_row(policy_id).await?;
        self.run_replication(policy_id, crate::jobs::MANUAL)
            .await?
            .ok_or_else(|| Error::PreconditionFailed {
                reason: format!("policy {policy_id} allows one active execution, and one runs"),
            })
    }

    /// Plan and start an execution of `policy_id`: `None` when a scheduled or event run finds
    /// the policy disabled, or when `single_active_replication` finds a run in progress.
    pub(crate) async fn run_replication(
        &self,
        policy_id: i64,
        trigger: &str,
    ) -> Result<Option<i64>> {
        self.check_writable().await?;
        let policy = self.policy_row(policy_id).await?;
        if !self.may_start(&policy, trigger).await? {
            return Ok(None);
        }
        let raw: Vec<ReplicationFilter> = serde_json::from_str(&policy.filters).unwrap_or_default();
        let filters = Filters::compile(&raw)?;
        let src = match policy.src_registry_id {
            Some(id) => Side::Remote(self.upstream(id).await?),
            None => Side::Local,
        };
        let repos = match &src {
            Side::Local => {
                let mut all = Vec::new();
                let mut last: Option<String> = None;
                loop {
                    let page = self.catalog(None, last.as_deref()).await?;
                    let done = page.len() < crate::registry::MAX_PAGE as usize;
                    last = page.last().cloned();
                    all.extend(page);
                    if done {
                        break all;
                    }
                }
            }
            Side::Remote(up) => up
                .list_repositories(Filters::namespace_hint(&raw).as_deref())
                .await
                .map_err(Error::from)?,
        };
        let mut tasks = Vec::new();
        for repo in repos.into_iter().filter(|r| filters.repo_selected(r)) {
            let tags = match &src {
                Side::Local => self.list_tags(&local_repo(&repo)?, None, None).await?,
                Side::Remote(up) => up.list_tags(&repo).await.map_err(Error::from)?,
            };
            let mut tags: Vec<String> = tags
                .into_iter()
                .filter(|t| filters.tag_selected(t) && !is_cosign_tag(t))
                .collect();
            if matches!(src, Side::Local) {
                tags = self.label_selected(&filters, &repo, tags).await?;
            }
            if tags.is_empty() {
                continue;
            }
            let dst = dest_name(
                &repo,
                &policy.dest_namespace,
                policy.dest_namespace_replace_count,
            )?;
            tasks.push(
                serde_json::to_value(TaskSpec {
                    policy_id,
                    src: repo,
                    dst,
                    tags,
                    delete: None,
                })
                .expect("a task spec serializes"),
            );
        }
        self.start_planned(policy_id, trigger, tasks)
            .await
            .map(Some)
    }

    /// The tags of local `repo` whose artifacts pass the label filter (`matches`: every label
    /// named is on the artifact; `excludes`: none is).
    async fn label_selected(
        &self,
        filters: &Filters,
        repo: &str,
        tags: Vec<String>,
    ) -> Result<Vec<String>> {
        let Some((names, excludes)) = &filters.labels else {
            return Ok(tags);
        };
        let Some(row) = self.meta.repository(repo).await? else {
            return Ok(Vec::new());
        };
        let local = local_repo(repo)?;
        let mut digests = Vec::with_capacity(tags.len());
        for t in &tags {
            digests.push(
                self.get_manifest(&local, &reference(t)?)
                    .await?
                    .digest
                    .clone(),
            );
        }
        let labels = self.meta.artifact_labels(row.id, &digests).await?;
        Ok(tags
            .into_iter()
            .zip(digests)
            .filter(|(_, d)| {
                let on: Vec<&str> = labels
                    .iter()
                    .filter(|(ld, _)| ld == d)
                    .map(|(_, l)| l.name.as_str())
                    .collect();
                if *excludes {
                    names.iter().all(|n| !on.contains(&n.as_str()))
                } else {
                    names.iter().all(|n| on.contains(&n.as_str()))
                }
            })
            .map(|(t, _)| t)
            .collect())
    }

    async fn may_start(&self, policy: &PolicyRow, trigger: &str) -> Result<bool> {
        if !policy.enabled && trigger != crate::jobs::MANUAL {
            return Ok(false);
        }
        Ok(!(policy.single_active_replication
            && self
                .meta
                .active_execution(REPLICATION_JOB, policy.id)
                .await?
                .is_some()))
    }

    async fn start_planned(
        &self,
        policy_id: i64,
        trigger: &str,
        tasks: Vec<serde_json::Value>,
    ) -> Result<i64> {
        let n = tasks.len();
        let id = self
            .start_execution(
                REPLICATION_JOB,
                policy_id,
                trigger,
                serde_json::json!({ "policy_id": policy_id, "tasks": tasks }),
            )
            .await?;
        tracing::info!(
            policy = policy_id,
            execution = id,
            tasks = n,
            trigger,
            "replication started"
        );
        Ok(id)
    }

    /// Start the event-based policies that pushes since the last call select: one execution
    /// per (policy, pushed repository) with the pushed tags. Run by the notifier every second
    /// on every node; a compare-and-set on the event cursor makes each batch of events one
    /// node's. Returns the executions started.
    pub async fn replicate_pending_events(&self) -> Result<usize> {
        let last = self.meta.last_event_id().await?;
        // Read first: the insert of the first call takes SQLite's write lock.
        let cursor = match self.meta.get_setting(EVENT_CURSOR).await? {
            Some(c) => c,
            None => {
                self.meta
                    .init_setting(EVENT_CURSOR, &last.to_string())
                    .await?
            }
        };
        let from: i64 = cursor.parse().unwrap_or(last);
        if last <= from {
            return Ok(0);
        }
        let policies = self
            .meta
            .replication_policies_triggered_by(TRIGGER_EVENT)
            .await?;
        let events = if policies.is_empty() {
            Vec::new()
        } else {
            self.meta.events_after(from, EVENT_BATCH).await?
        };
        let to = events.last().map_or(last, |e| e.id);
        if !self
            .meta
            .swap_setting(EVENT_CURSOR, &cursor, &to.to_string())
            .await?
        {
            return Ok(0);
        }
        // Each policy's filters, compiled once for the batch (a policy whose filters no longer
        // compile starts nothing).
        let policies: Vec<(&PolicyRow, Filters)> = policies
            .iter()
            .filter_map(|p| {
                let raw: Vec<ReplicationFilter> =
                    serde_json::from_str(&p.filters).unwrap_or_default();
                Some((p, Filters::compile(&raw).ok()?))
            })
            .collect();
        let mut started = 0;
        for e in events.iter().filter(|e| e.success) {
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
            let Some(repo) = payload["repository"].as_str() else {
                continue;
            };
            let deleted = match e.event_type.as_str() {
                crate::events::PUSH_ARTIFACT => None,
                crate::events::DELETE_ARTIFACT => payload["digest"].as_str(),
                "DELETE_TAG" => payload["tag"].as_str(),
                _ => continue,
            };
            if let Some(reference) = deleted {
                started += self.replicate_deletion(&policies, repo, reference).await?;
                continue;
            }
            let tags: Vec<String> = payload["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .filter(|t| !is_cosign_tag(t))
                .collect();
            for (policy, filters) in &policies {
                let tags: Vec<String> = tags
                    .iter()
                    .filter(|t| filters.tag_selected(t))
                    .cloned()
                    .collect();
                let tags = self.label_selected(filters, repo, tags).await?;
                if !filters.repo_selected(repo)
                    || tags.is_empty()
                    || !self.may_start(policy, crate::jobs::EVENT).await?
                {
                    continue;
                }
                self.start_event_task(policy, repo, tags, None).await?;
                started += 1;
            }
        }
        Ok(started)
    }

    /// Start an event-triggered execution of `policy` with one task for `repo`: a copy of
    /// `tags`, or the deletion of `delete`.
    async fn start_event_task(
        &self,
        policy: &PolicyRow,
        repo: &str,
        tags: Vec<String>,
        delete: Option<String>,
    ) -> Result<()> {
        let dst = dest_name(
            repo,
            &policy.dest_namespace,
            policy.dest_namespace_replace_count,
        )?;
        let spec = serde_json::to_value(TaskSpec {
            policy_id: policy.id,
            src: repo.to_owned(),
            dst,
            tags,
            delete,
        })
        .expect("a task spec serializes");
        self.start_planned(policy.id, crate::jobs::EVENT, vec![spec])
            .await
            .map(drop)
    }

    /// Start a deletion task per policy with `replicate_deletion` that selects `repo` (and the
    /// tag, when a tag was deleted).
    async fn replicate_deletion(
        &self,
        policies: &[(&PolicyRow, Filters)],
        repo: &str,
        reference: &str,
    ) -> Result<usize> {
        let mut started = 0;
        let is_tag = !reference.contains(':');
        for (policy, filters) in policies.iter().filter(|(p, _)| p.replicate_deletion) {
            if !filters.repo_selected(repo)
                || (is_tag && !filters.tag_selected(reference))
                || !self.may_start(policy, crate::jobs::EVENT).await?
            {
                continue;
            }
            self.start_event_task(policy, repo, Vec::new(), Some(reference.to_owned()))
                .await?;
            started += 1;
        }
        Ok(started)
    }

    /// Run one task, then record its `REPLICATION` event (audit log, and webhooks of the local
    /// side's project) with Harbor's payload.
    async fn run_replication_task(&self, ctx: &mut TaskContext) -> Result<()> {
        let spec: TaskSpec = serde_json::from_value(ctx.params.clone())
            .map_err(|e| Error::internal(format!("replication task parameters: {e}")))?;
        let policy = self.policy_row(spec.policy_id).await?;
        let started = self.now_ms();
        let outcome = self.copy_task(ctx, &spec, &policy).await;
        let copied = *outcome.as_ref().unwrap_or(&0);
        self.record_replication(&spec, &policy, started, outcome.is_ok(), copied)
            .await;
        outcome.map(drop)
    }

    async fn record_replication(
        &self,
        spec: &TaskSpec,
        policy: &PolicyRow,
        started: i64,
        ok: bool,
        copied: i64,
    ) {
        let side = |registry: Option<i64>, repo: String| async move {
            let namespace = repo.split_once('/').map_or("", |(n, _)| n).to_owned();
            match registry {
                Some(id) => match self.registry_endpoint(&Principal::System, id).await {
                    Ok(r) => serde_json::json!({
                        "registry_name": r.name, "registry_type": r.kind, "endpoint": r.url, "namespace": namespace,
                    }),
                    Err(_) => serde_json::json!({ "namespace": namespace }),
                },
                None => serde_json::json!({
                    "registry_name": "Local", "registry_type": "harbor",
                    "endpoint": self.audit.settings.registry_host, "namespace": namespace,
                }),
            }
        };
        let name = spec.src.rsplit('/').next().unwrap_or(&spec.src);
        let artifacts = serde_json::json!([{
            "type": "image",
            "status": if ok { "Success" } else { "Failure" },
            "name_tag": format!("{name} [{} item(s) in total]", if ok { copied } else { spec.tags.len() as i64 }),
        }]);
        let mut replication = serde_json::json!({
            "harbor_hostname": self.audit.settings.registry_host,
            "job_status": if ok { "Success" } else { "Failure" },
            "description": policy.description,
            "artifact_type": "image",
            "authentication_type": "basic",
            "override_mode": policy.override_existing,
            "trigger_type": serde_json::from_str::<super::policy::ReplicationTrigger>(&policy.trigger_spec).unwrap_or_default().kind,
            "policy_creator": policy.creator,
            "execute_start_time": started / 1000,
            "src_resource": side(policy.src_registry_id, spec.src.clone()).await,
            "dest_resource": side(policy.dest_registry_id, spec.dst.clone()).await,
        });
        replication[if ok {
            "successful_artifact"
        } else {
            "failed_artifact"
        }] = artifacts;
        let local = if policy.src_registry_id.is_none() {
            &spec.src
        } else {
            &spec.dst
        };
        let project = local.split('/').next().unwrap_or_default();
        let mut event = crate::events::NewEvent::new(
            "REPLICATION",
            "replication",
            format!("{} -> {}", spec.src, spec.dst),
            "replicate",
        )
        .payload(serde_json::json!({ "replication": replication }));
        event.operator = policy.creator.clone();
        if !ok {
            event = event.failed();
        }
        event.project_id = self
            .project_access(&Principal::System, project)
            .await
            .ok()
            .flatten()
            .map(|a| a.project.id);
        self.record(event).await;
    }

    /// Copy a task's tags; the number of artifacts copied.
    async fn copy_task(
        &self,
        ctx: &mut TaskContext,
        spec: &TaskSpec,
        policy: &PolicyRow,
    ) -> Result<i64> {
        if let Some(reference) = &spec.delete {
            let Some(id) = policy.dest_registry_id else {
                return Err(Error::BadRequest {
                    reason: "deletions replicate from this registry only".into(),
                });
            };
            let up = self.upstream(id).await?;
            let gone = up
                .delete_manifest(&spec.dst, reference)
                .await
                .map_err(Error::from)?;
            ctx.log(if gone {
                format!("{}:{reference} deleted at the destination", spec.dst)
            } else {
                format!("{}:{reference} was not at the destination", spec.dst)
            });
            return Ok(i64::from(gone));
        }
        let (src, dst) = match (policy.src_registry_id, policy.dest_registry_id) {
            (Some(id), _) => (Side::Remote(self.upstream(id).await?), Side::Local),
            (None, Some(id)) => (Side::Local, Side::Remote(self.upstream(id).await?)),
            (None, None) => return Err(Error::internal("a policy without a remote side")),
        };
        // The destination's namespace: a project here, or on a Harbor (Berth) peer.
        let project = spec.dst.split('/').next().unwrap_or_default().to_owned();
        match &dst {
            Side::Local => {
                if !spec.dst.contains('/') {
                    return Err(Error::BadRequest {
                        reason: format!("{} has no project segment: set dest_namespace", spec.dst),
                    });
                }
                if self
                    .project_access(&Principal::System, &project)
                    .await?
                    .is_none()
                {
                    let req = ProjectReq {
                        project_name: project.clone(),
                        ..Default::default()
                    };
                    match self.create_project(&Principal::System, req).await {
                        Ok(_) | Err(Error::AlreadyExists { .. }) => {
                            ctx.log(format!("project {project} created"))
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Side::Remote(up) if up.kind() == "harbor" => {
                up.ensure_harbor_project(&project)
                    .await
                    .map_err(Error::from)?;
            }
            Side::Remote(_) => {}
        }
        let mut copier = Copier {
            reg: self,
            src,
            dst,
            override_existing: policy.override_existing,
            chunked: policy.copy_by_chunk,
            speed: if policy.speed > 0 {
                policy.speed as u64 * 1024
            } else {
                0
            },
            stop: ctx.stop_flag(),
            copied_blobs: 0,
            skipped_blobs: 0,
        };
        ctx.log(format!(
            "copying {} tag(s) of {} to {} (attempt {})",
            spec.tags.len(),
            spec.src,
            spec.dst,
            ctx.attempt
        ));
        let log = |line: String| ctx.log(line);
        let mut copied: i64 = 0;
        for tag in &spec.tags {
            if copier.copy_tag(&log, &spec.src, &spec.dst, tag).await? {
                copied += 1;
            }
        }
        log(format!(
            "done: {copied} artifact(s) copied, {} blob(s) copied, {} already there",
            copier.copied_blobs, copier.skipped_blobs
        ));
        ctx.set("copied_artifacts", copied);
        ctx.set("copied_blobs", copier.copied_blobs);
        ctx.set("skipped_blobs", copier.skipped_blobs);
        Ok(copied)
    }

    async fn execution_view(&self, e: ExecutionRow) -> Result<ReplicationExecution> {
        let tasks = self.execution_tasks(e.id).await?;
        let count = |s: &str| {
            tasks
                .iter()
                .filter(|t| harbor_status(&t.status) == s)
                .count() as i64
        };
        Ok(ReplicationExecution {
            id: e.id,
            policy_id: e.vendor_id,
            status: harbor_status(&e.status).into(),
            trigger: e.trigger_kind.to_lowercase(),
            start_time: time(e.start_time),
            end_time: e.end_time.map(time),
            status_text: e.status_message,
            total: tasks.len() as i64,
            failed: count("Failed"),
            succeed: count("Succeed"),
            in_progress: count("InProgress"),
            stopped: count("Stopped"),
        })
    }

    async fn replication_execution_row(&self, id: i64) -> Result<ExecutionRow> {
        let e = self.execution(id).await?;
        if e.vendor_type != REPLICATION_JOB {
            return Err(Error::NotFound {
                what: format!("replication execution {id}"),
            });
        }
        Ok(e)
    }

    /// Executions, newest first; `policy_id` narrows to one policy.
    pub async fn replication_executions(
        &self,
        p: &Principal,
        policy_id: Option<i64>,
        q: &ListQuery,
    ) -> Result<Page<ReplicationExecution>> {
        self.require_system(p, SystemResource::Replication, Action::List)?;
        let page = self.executions(REPLICATION_JOB, policy_id, q).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for e in page.items.clone() {
            items.push(self.execution_view(e).await?);
        }
        Ok(Page {
            items,
            total: page.total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    pub async fn replication_execution(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<ReplicationExecution> {
        self.require_system(p, SystemResource::Replication, Action::Read)?;
        let e = self.replication_execution_row(id).await?;
        self.execution_view(e).await
    }

    /// Stop a run: pending tasks at once, running ones between blobs.
    pub async fn stop_replication(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::Replication, Action::Update)?;
        self.replication_execution_row(id).await?;
        self.stop_execution(id).await
    }

    pub async fn replication_tasks(&self, p: &Principal, id: i64) -> Result<Vec<ReplicationTask>> {
        self.require_system(p, SystemResource::Replication, Action::Read)?;
        self.replication_execution_row(id).await?;
        Ok(self
            .execution_tasks(id)
            .await?
            .into_iter()
            .map(task_view)
            .collect())
    }

    pub async fn replication_task_log(
        &self,
        p: &Principal,
        id: i64,
        task_id: i64,
    ) -> Result<String> {
        self.require_system(p, SystemResource::Replication, Action::Read)?;
        self.replication_execution_row(id).await?;
        let t = self.task(task_id).await?;
        if t.execution_id != id {
            return Err(Error::NotFound {
                what: format!("task {task_id} of execution {id}"),
            });
        }
        Ok(t.log)
    }
}

/// cosign's tag-based accessories travel with their subject, not as tags of their own.
fn is_cosign_tag(t: &str) -> bool {
    t.starts_with("sha256-") && (t.ends_with(".sig") || t.ends_with(".att") || t.ends_with(".sbom"))
}

/// [`Registry::replicate`]: copy between a repository of this registry and one at a URL.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CopyRequest {
    /// The remote repository: `http(s)://host[:port]/path/to/repo`.
    pub remote: String,
    /// This registry's repository, `project/name`.
    pub local: String,
    /// Copy this registry's repository to the remote one (default: remote to local).
    #[serde(default)]
    pub push: bool,
    /// Tags to copy; `None`: every tag.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// The remote's adapter type (default `docker-registry`).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub insecure: bool,
}

/// What [`Registry::replicate`] did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CopyReport {
    /// Tags whose artifact was copied.
    pub copied: Vec<String>,
    /// Tags already there (same digest), or left alone.
    pub skipped: Vec<String>,
    pub blobs_copied: u64,
    pub blobs_skipped: u64,
    pub log: Vec<String>,
}

impl Registry {
    /// Copy tags between `req.local` and the repository at `req.remote`, now, in this call: a
    /// test harness mirrors its fixtures with it. Nothing is stored but the copied content; the
    /// credentials are used for this call only. Pulling in needs push on the local repository
    /// (its project is created when missing, which needs the right to create projects);
    /// pushing out needs pull.
    pub async fn replicate(&self, p: &Principal, req: CopyRequest) -> Result<CopyReport> {
        let local = local_repo(&req.local)?;
        crate::registry::require_project_segment(&local)?;
        let action = if req.push {
            crate::access::RepoAction::Pull
        } else {
            crate::access::RepoAction::Push
        };
        if !req.push && self.project_access(p, local.project()).await?.is_none() {
            let create = ProjectReq {
                project_name: local.project().to_owned(),
                ..Default::default()
            };
            match self.create_project(p, create).await {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.authorize_repo(p, None, &local, action).await?;
        let url = url::Url::parse(&req.remote).map_err(|e| Error::BadRequest {
            reason: format!("remote {:?}: {e}", crate::units::redact_uri(&req.remote)),
        })?;
        let path = url.path().trim_matches('/').to_owned();
        if path.is_empty() {
            return Err(Error::BadRequest {
                reason: "the remote names a repository: scheme://host[:port]/path/to/repo".into(),
            });
        }
        let mut base = url.clone();
        base.set_path("/");
        let _ = base.set_username("");
        let _ = base.set_password(None);
        let kind = req.kind.clone().unwrap_or_else(|| "docker-registry".into());
        let row = crate::meta::replication::RegistryRow {
            insecure: req.insecure,
            ..crate::meta::replication::RegistryRow::unsaved(
                base.as_str().trim_end_matches('/').to_owned(),
                &kind,
                "basic",
                req.username.clone().unwrap_or_default(),
            )
        };
        let up = Arc::new(Upstream::new(
            &row,
            req.password.as_deref().unwrap_or_default(),
        )?);
        let remote = Side::Remote(up.clone());
        let (src, dst, src_repo, dst_repo) = if req.push {
            (Side::Local, remote, req.local.clone(), path)
        } else {
            (remote, Side::Local, path, req.local.clone())
        };
        let tags = match req.tags {
            Some(t) => t,
            None => match &src {
                Side::Local => self.list_tags(&local, None, None).await?,
                Side::Remote(up) => up.list_tags(&src_repo).await.map_err(Error::from)?,
            }
            .into_iter()
            .filter(|t| !is_cosign_tag(t))
            .collect(),
        };
        let mut copier = Copier {
            reg: self,
            src,
            dst,
            override_existing: true,
            chunked: false,
            speed: 0,
            stop: Arc::new(AtomicBool::new(false)),
            copied_blobs: 0,
            skipped_blobs: 0,
        };
        let lines = std::sync::Mutex::new(Vec::new());
        let log = |line: String| lines.lock().expect("copy log lock").push(line);
        let mut report = CopyReport::default();
        for tag in tags {
            if copier.copy_tag(&log, &src_repo, &dst_repo, &tag).await? {
                report.copied.push(tag);
            } else {
                report.skipped.push(tag);
            }
        }
        report.blobs_copied = copier.copied_blobs;
        report.blobs_skipped = copier.skipped_blobs;
        report.log = lines.into_inner().expect("copy log lock");
        Ok(report)
    }
}

impl Registry {
    /// Copy the artifact `digest` of `src_repo` at `up` into `dst` of this registry (its blobs
    /// streamed into the blob store, digests verified, what is here already skipped) and return
    /// the stored manifest: the scanner adapter's pull ([`crate::scan::adapter`]).
    pub(crate) async fn pull_artifact(
        &self,
        up: Arc<Upstream>,
        src_repo: &str,
        dst: &RepoName,
        digest: &Digest,
        stop: Arc<AtomicBool>,
    ) -> Result<crate::meta::StoredManifest> {
        let d = digest.to_string();
        // A HEAD first: the client keeps the credentials for the blob reads that follow.
        up.head_manifest(src_repo, &d).await?;
        let m = up.get_manifest(src_repo, &d).await?;
        if m.1 != *digest {
            return Err(Error::DigestInvalid {
                expected: d,
                actual: m.1.to_string(),
            });
        }
        let mut copier = Copier {
            reg: self,
            src: Side::Remote(up.clone()),
            dst: Side::Local,
            override_existing: true,
            chunked: false,
            speed: 0,
            stop,
            copied_blobs: 0,
            skipped_blobs: 0,
        };
        let log = |line: String| tracing::debug!(line, "artifact pull");
        copier
            .copy_manifest(&log, src_repo, dst.as_str(), m, &d)
            .await?;
        tracing::info!(repository = %dst, digest = %digest, blobs = copier.copied_blobs, skipped = copier.skipped_blobs, "artifact pulled");
        self.get_manifest(dst, &Reference::Digest(digest.clone()))
            .await
            .map(|m| (*m).clone())
    }
}
