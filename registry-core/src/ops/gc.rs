//! Online garbage collection: the registry stays writable while it runs.
//!
//! GC is precise: what is referenced is read from the database's links, never guessed from a
//! time window. A run has four phases, each a keyset scan in pages of [`PAGE`] rows (so memory
//! stays bounded whatever the store's size):
//!
//! 1. *untagged* (option `delete_untagged`): delete manifests with no tag that no index of their
//!    repository lists (and referrers whose subject is gone), through the normal delete path
//!    (events, quota release).
//! 2. *links*: drop repository → blob links that no manifest of the repository references and
//!    that were not touched (uploaded, mounted, or answered "exists" to a HEAD) within the grace
//!    period; projects' usage is released in the same transactions.
//! 3. *blobs*: blobs nothing links or references and untouched within the grace period move to
//!    `deleting` in one compare-and-set statement that rechecks all of that; only then are their
//!    bytes deleted (by `workers` in parallel), then their rows. A manifest push or mount that
//!    arrives first rescues the blob (its transaction updates the row, which the statement then
//!    no longer matches); one that arrives after sees `deleting` and answers
//!    `MANIFEST_BLOB_UNKNOWN`/uploads again; an upload of the same digest waits for the row to
//!    go. The database decides every race, and each has one winner.
//! 4. *uploads*: upload sessions abandoned for longer than the upload age are dropped with their
//!    staged bytes.
//!
//! The grace period exists only for blobs uploaded but not yet referenced by a manifest: the
//! distribution protocol has no transaction between pushing layers and pushing the manifest.
//!
//! A dry run changes nothing and reports what a run started now would delete: untagged
//! artifacts, and blobs whose every link is stale and unreferenced (exactly the blobs phases 2
//! and 3 would remove, given no concurrent writes).

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::auth::rbac::{Action, SystemResource};
use crate::error::{Error, Result};
use crate::events::{Actor, with_actor};
use crate::jobs::{JobHandler, TaskContext, exec_history};
use crate::meta::governance::LinkKey;
use crate::model::{ExecHistory, JobSchedule};
use crate::oci::{Digest, RepoName};
use crate::query::{ListQuery, Page};
use crate::registry::Registry;

/// Vendor type of garbage-collection executions (Harbor's job name).
pub const GC_JOB: &str = "GARBAGE_COLLECTION";

/// Rows per scan page.
pub const PAGE: i64 = 1000;

/// Default grace for unreferenced blobs and links: 2 hours, as Harbor's time window.
pub const DEFAULT_GRACE_MS: i64 = 2 * 3600 * 1000;

/// Default age after which an untouched upload session is abandoned: 24 hours.
pub const DEFAULT_UPLOAD_MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// What a run does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GcOptions {
    pub dry_run: bool,
    pub delete_untagged: bool,
    /// Parallel byte deletions, 1..=10.
    pub workers: usize,
    /// Unreferenced blobs and links younger than this stay (ms).
    pub grace_ms: i64,
    /// Upload sessions untouched for longer than this are dropped (ms).
    pub upload_max_age_ms: i64,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            delete_untagged: false,
            workers: 1,
            grace_ms: DEFAULT_GRACE_MS,
            upload_max_age_ms: DEFAULT_UPLOAD_MAX_AGE_MS,
        }
    }
}

impl GcOptions {
    pub fn validate(&self) -> Result<()> {
        if !(1..=10).contains(&self.workers) {
            return Err(Error::BadRequest {
                reason: format!("workers must be between 1 and 10, not {}", self.workers),
            });
        }
        if self.grace_ms < 0 || self.upload_max_age_ms < 0 {
            return Err(Error::BadRequest {
                reason: "grace and upload age cannot be negative".into(),
            });
        }
        Ok(())
    }
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    pub dry_run: bool,
    /// Untagged artifacts deleted.
    pub purged_manifests: u64,
    /// Repository → blob links dropped.
    pub dropped_links: u64,
    /// Blobs whose bytes were deleted.
    pub purged_blobs: u64,
    /// Bytes of those blobs.
    pub freed_space: u64,
    /// Abandoned upload sessions dropped.
    pub purged_uploads: u64,
    /// Blobs whose bytes could not be deleted (left for the next run).
    pub failed_blobs: u64,
}

/// Progress of a run, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GcPhase {
    Untagged,
    Links,
    Blobs,
    Uploads,
    Done,
}

/// Called as a run progresses with the phase and the report so far; returning `false` stops
/// the run at the end of the current page.
pub type GcProgress<'a> = &'a (dyn Fn(GcPhase, &GcReport) -> bool + Send + Sync);

impl Registry {
    /// Run garbage collection now, in this task. See the module documentation.
    pub async fn collect_garbage(
        &self,
        opts: &GcOptions,
        progress: GcProgress<'_>,
    ) -> Result<GcReport> {
        opts.validate()?;
        let mut report = GcReport {
            dry_run: opts.dry_run,
            ..GcReport::default()
        };
        let cutoff = self.now_ms() - opts.grace_ms;
        // A HEAD re-touches a link only once it is `link_touch_ms` old: links get that much
        // more (up to the grace itself, so no grace stays no grace), and a HEAD protects its
        // link for the whole grace period.
        let link_cutoff = cutoff - self.link_touch_ms.min(opts.grace_ms);
        if opts.delete_untagged {
            progress(GcPhase::Untagged, &report);
            self.gc_untagged(opts.dry_run, &mut report, progress)
                .await?;
        }
        progress(GcPhase::Links, &report);
        if !opts.dry_run {
            let mut after: Option<LinkKey> = None;
            loop {
                let page = self
                    .meta
                    .gc_orphan_links(after.as_ref(), link_cutoff, PAGE)
                    .await?;
                let Some(last) = page.last().cloned() else {
                    break;
                };
                report.dropped_links += self
                    .meta
                    .gc_drop_links(&page, link_cutoff, self.now_ms())
                    .await?;
                progress(GcPhase::Links, &report);
                after = Some(last);
            }
        }
        progress(GcPhase::Blobs, &report);
        self.gc_blobs(opts, cutoff, &mut report, progress).await?;
        progress(GcPhase::Uploads, &report);
        if !opts.dry_run {
            report.purged_uploads = self.purge_uploads(opts.upload_max_age_ms).await? as u64;
        }
        progress(GcPhase::Done, &report);
        tracing::info!(?report, "garbage collection finished");
        Ok(report)
    }

    async fn gc_untagged(
        &self,
        dry_run: bool,
        report: &mut GcReport,
        progress: GcProgress<'_>,
    ) -> Result<()> {
        let mut after = None;
        loop {
            let page = self.meta.gc_untagged(after.clone(), PAGE).await?;
            let Some(last) = page.last().cloned() else {
                return Ok(());
            };
            for (repo, digest) in &page {
                if dry_run {
                    report.purged_manifests += 1;
                    continue;
                }
                let (name, d) = (RepoName::parse(repo)?, Digest::parse(digest)?);
                // Rechecked as it is deleted: a push may have tagged it since this page.
                match self.delete_collectable(&name, &d).await {
                    Ok(true) => report.purged_manifests += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(repo, digest, error = %e, "could not delete untagged artifact")
                    }
                }
            }
            if !progress(GcPhase::Untagged, report) {
                return Err(Error::Unavailable {
                    reason: "garbage collection was stopped".into(),
                });
            }
            after = Some(last);
        }
    }

    async fn gc_blobs(
        &self,
        opts: &GcOptions,
        cutoff: i64,
        report: &mut GcReport,
        progress: GcProgress<'_>,
    ) -> Result<()> {
        let mut after: Option<String> = None;
        loop {
            let page = self
                .meta
                .gc_orphan_blobs(after.as_deref(), cutoff, PAGE, opts.dry_run)
                .await?;
            let Some((last, _)) = page.last().cloned() else {
                return Ok(());
            };
            after = Some(last);
            if opts.dry_run {
                report.purged_blobs += page.len() as u64;
                report.freed_space += page.iter().map(|(_, s)| *s as u64).sum::<u64>();
                if !progress(GcPhase::Blobs, report) {
                    return Err(Error::Unavailable {
                        reason: "garbage collection was stopped".into(),
                    });
                }
                continue;
            }
            let digests: Vec<String> = page.into_iter().map(|(d, _)| d).collect();
            let claimed = self.meta.gc_claim_blobs(&digests, cutoff).await?;
            let results: Vec<(String, i64, Result<()>)> = futures::stream::iter(claimed)
                .map(|(digest, size)| async move {
                    let r = match Digest::parse(&digest) {
                        Ok(d) => self.blobs.delete(&d).await.map(drop),
                        Err(e) => Err(e),
                    };
                    (digest, size, r)
                })
                .buffer_unordered(opts.workers)
                .collect()
                .await;
            let mut gone = Vec::with_capacity(results.len());
            for (digest, size, r) in results {
                match r {
                    Ok(()) => {
                        report.purged_blobs += 1;
                        report.freed_space += size as u64;
                        gone.push(digest);
                    }
                    Err(e) => {
                        tracing::warn!(digest, error = %e, "could not delete blob bytes; leaving it for the next run");
                        report.failed_blobs += 1;
                        self.meta.gc_unclaim_blob(&digest).await?;
                    }
                }
            }
            self.meta.gc_forget_blobs(&gone).await?;
            if !progress(GcPhase::Blobs, report) {
                return Err(Error::Unavailable {
                    reason: "garbage collection was stopped".into(),
                });
            }
        }
    }

    /// Start a garbage collection as a job execution (Harbor's `Manual` schedule); refused
    /// while another one is pending or running.
    pub async fn start_gc(&self, opts: &GcOptions, trigger: &str) -> Result<i64> {
        opts.validate()?;
        if let Some(id) = self.meta.active_execution(GC_JOB, 0).await? {
            return Err(Error::Conflict {
                reason: format!("garbage collection {id} is still running"),
            });
        }
        let params = serde_json::to_value(opts).map_err(|e| Error::internal(e.to_string()))?;
        self.start_execution(GC_JOB, 0, trigger, params).await
    }
}

impl Registry {
    /// GC runs, newest first (system administrators).
    pub async fn gc_history(&self, p: &Principal, q: &ListQuery) -> Result<Page<ExecHistory>> {
        self.require_system(p, SystemResource::GarbageCollection, Action::List)?;
        Ok(self.executions(GC_JOB, Some(0), q).await?.map(exec_history))
    }

    pub async fn gc_run(&self, p: &Principal, id: i64) -> Result<ExecHistory> {
        self.require_system(p, SystemResource::GarbageCollection, Action::Read)?;
        Ok(exec_history(self.gc_execution(id).await?))
    }

    async fn gc_execution(&self, id: i64) -> Result<crate::meta::governance::ExecutionRow> {
        self.execution_of(GC_JOB, id, "GC run").await
    }

    /// The log of a GC run.
    pub async fn gc_log(&self, p: &Principal, id: i64) -> Result<String> {
        self.require_system(p, SystemResource::GarbageCollection, Action::Read)?;
        self.gc_execution(id).await?;
        self.execution_log(id).await
    }

    /// Stop a running GC (it stops between pages).
    pub async fn stop_gc(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::GarbageCollection, Action::Stop)?;
        self.gc_execution(id).await?;
        self.stop_execution(id).await
    }

    pub async fn gc_schedule(&self, p: &Principal) -> Result<JobSchedule> {
        self.require_system(p, SystemResource::GarbageCollection, Action::Read)?;
        self.system_job_schedule(GC_JOB).await
    }

    /// Harbor's `POST/PUT /system/gc/schedule`: `Manual` runs now (the new run's id),
    /// `None` unschedules, other types set the cron. Parameters: `delete_untagged`, `dry_run`,
    /// `workers` (1–10); the grace period and upload age come from `defaults`.
    pub async fn set_gc_schedule(
        &self,
        p: &Principal,
        req: &JobSchedule,
        defaults: &GcOptions,
    ) -> Result<Option<i64>> {
        self.require_system(p, SystemResource::GarbageCollection, Action::Create)?;
        let mut opts = defaults.clone();
        for (k, v) in &req.parameters {
            let bad = || Error::BadRequest {
                reason: format!("GC parameter {k} has the wrong type: {v}"),
            };
            match k.as_str() {
                "delete_untagged" => opts.delete_untagged = v.as_bool().ok_or_else(bad)?,
                "dry_run" => opts.dry_run = v.as_bool().ok_or_else(bad)?,
                "workers" => opts.workers = v.as_u64().ok_or_else(bad)? as usize,
                _ => {
                    return Err(Error::BadRequest {
                        reason: format!(
                            "unknown GC parameter {k:?} (delete_untagged, dry_run, workers)"
                        ),
                    });
                }
            }
        }
        opts.validate()?;
        let params = serde_json::to_value(&opts).map_err(|e| Error::internal(e.to_string()))?;
        self.apply_system_schedule(GC_JOB, req, params, |_| {
            self.start_gc(&opts, crate::jobs::MANUAL)
        })
        .await
    }
}

/// The job handler running garbage collection executions.
pub(crate) struct GcJob;

#[async_trait]
impl JobHandler for GcJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let opts: GcOptions =
            serde_json::from_value(task.params.clone()).map_err(|e| Error::BadRequest {
                reason: format!("GC parameters: {e}"),
            })?;
        task.log(format_args!(
            "garbage collection: dry_run={} delete_untagged={} workers={} grace={} s",
            opts.dry_run,
            opts.delete_untagged,
            opts.workers,
            opts.grace_ms / 1000
        ));
        let stop = task.stop_flag();
        let log = move |phase: GcPhase, r: &GcReport| {
            tracing::debug!(?phase, ?r, "gc progress");
            !stop.load(std::sync::atomic::Ordering::Relaxed)
        };
        let report = with_actor(Actor::new("system", ""), reg.collect_garbage(&opts, &log)).await?;
        task.log(format_args!(
            "{} {} untagged artifacts, dropped {} unreferenced links, {} {} blobs ({} bytes), dropped {} abandoned uploads{}",
            if opts.dry_run { "would delete" } else { "deleted" },
            report.purged_manifests,
            report.dropped_links,
            if opts.dry_run { "would free" } else { "freed" },
            report.purged_blobs,
            report.freed_space,
            report.purged_uploads,
            if report.failed_blobs > 0 { format!("; {} blobs failed and stay for the next run", report.failed_blobs) } else { String::new() }
        ));
        for (k, v) in serde_json::to_value(&report)
            .map_err(|e| Error::internal(e.to_string()))?
            .as_object()
            .into_iter()
            .flatten()
        {
            task.set_execution(k, v.clone());
            task.set(k, v.clone());
        }
        Ok(())
    }
}

/// Register the built-in job handlers.
pub(crate) fn register_builtin(reg: &Registry) {
    reg.register_job(GC_JOB, Arc::new(GcJob));
}
