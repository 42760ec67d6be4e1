//! Scans as job-service tasks: a manual scan, scan on push and scan all, each stoppable, safe
//! with several nodes (a task runs on one node at a time; see [`crate::jobs`]).
//!
//! - A vulnerability scan of one artifact is an `IMAGE_SCAN` execution, an SBOM build an
//!   `SBOM_GENERATION` one; both are keyed by the artifact's digest (the vendor id is 60 bits
//!   of it), so a second scan of an artifact whose scan is pending or running is refused, and
//!   a stop finds the running one.
//! - The report row shows the scan's state as it goes: `Pending` once queued, `Running`, then
//!   `Success`, `Error` or `Stopped`. A report that was there stays readable while a new scan
//!   runs, but only a `Success` report lets a pull through a `prevent_vul` project.
//! - Every scan ends with one event: `SCANNING_COMPLETED`, `SCANNING_FAILED` (naming the
//!   error) or `SCANNING_STOPPED`, for the audit log and webhooks.
//! - Scan all (`SCAN_ALL`, system-wide, manual or on a cron schedule) walks every artifact
//!   except accessories and the children of indexes (scanned through their index) in
//!   (repository, digest) order, one at a time, and stops between artifacts or mid-scan.
//!   Its metrics are read from the report rows the run wrote, so any node can answer.
//! - An embedding program that runs no job workers still gets scan on push: the same work
//!   runs in the background of the pushing process instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::report::{ScanResult, VULN_REPORT};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::identity::rbac::{Action, ProjectResource as R, SystemResource};
use crate::image::ImageRef;
use crate::jobs::{JobHandler, MANUAL, TaskContext};
use crate::meta::scan::ScanReportRow;
use crate::model::JobSchedule;
use crate::oci::manifest::{self, ManifestKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;

/// Vendor type of a vulnerability scan of one artifact.
pub const SCAN_JOB: &str = "IMAGE_SCAN";
/// Vendor type of an SBOM build of one artifact.
pub const SBOM_JOB: &str = "SBOM_GENERATION";
/// Vendor type of scan all.
pub const SCAN_ALL_JOB: &str = "SCAN_ALL";
/// Artifacts scan all reads per page.
const SCAN_ALL_PAGE: i64 = 200;
/// How often a running scan looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

/// What a scan produces (Harbor's `scan_type`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScanType {
    /// A vulnerability report (the default).
    #[default]
    Vulnerability,
    /// An SBOM accessory.
    Sbom,
}

impl ScanType {
    /// Harbor's names; absent means `vulnerability`.
    pub fn parse(s: Option<&str>) -> Result<ScanType> {
        match s.unwrap_or("vulnerability") {
            "vulnerability" => Ok(ScanType::Vulnerability),
            "sbom" => Ok(ScanType::Sbom),
            other => Err(Error::BadRequest {
                reason: format!("scan_type {other:?}: vulnerability or sbom"),
            }),
        }
    }

    fn vendor_type(self) -> &'static str {
        match self {
            ScanType::Vulnerability => SCAN_JOB,
            ScanType::Sbom => SBOM_JOB,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ScanType::Vulnerability => "vulnerability",
            ScanType::Sbom => "sbom",
        }
    }
}

/// The parameters of one artifact's scan task.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScanParams {
    repository: String,
    digest: String,
    scan_type: ScanType,
    operator: String,
}

/// The vendor id of an artifact's scan executions: the first 60 bits of its digest.
pub(crate) fn artifact_vendor_id(digest: &str) -> i64 {
    let hex = digest.rsplit(':').next().unwrap_or_default();
    i64::from_str_radix(hex.get(..15).unwrap_or(hex), 16).unwrap_or(0)
}

/// The state of `digest`'s report by `registration` (only status and times are written over an
/// existing report: [`crate::meta::scan::ScanStore::set_scan_status`]).
fn state_row(
    registration: &str,
    digest: &str,
    status: &str,
    start: i64,
    end: Option<i64>,
) -> ScanReportRow {
    ScanReportRow {
        digest: digest.to_owned(),
        registration: registration.to_owned(),
        mime_type: VULN_REPORT.into(),
        report_id: uuid::Uuid::new_v4().to_string(),
        status: status.to_owned(),
        severity: "None".into(),
        summary: "{}".into(),
        report: None,
        start_time: start,
        end_time: end,
    }
}

/// Run `fut` until it ends (`Some`) or `stop` is set (`None`; `fut` is dropped, which rolls
/// back a transaction it had open).
async fn until_stopped<T>(
    stop: &AtomicBool,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    if stop.load(Ordering::Relaxed) {
        return None;
    }
    tokio::pin!(fut);
    loop {
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep(STOP_POLL) => {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
            }
        }
    }
}

/// Scan all's progress (Harbor's `Stats`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanAllStats {
    /// Artifacts the run covers.
    pub total: i64,
    /// Artifacts it has finished.
    pub completed: i64,
    /// Finished artifacts by status (`Success`, `Error`, `Stopped`).
    pub metrics: BTreeMap<String, i64>,
    pub ongoing: bool,
    /// `MANUAL` or `SCHEDULE`; empty when scan all never ran.
    pub trigger: String,
}

impl Registry {
    /// Queue a scan of an artifact (Harbor's `POST …/artifacts/{reference}/scan`); returns the
    /// execution's id. A vulnerability scan needs the project's `scan` permission, an SBOM
    /// push on the repository (it adds an accessory). Refused while a scan of the same kind of
    /// the same artifact is pending or running.
    pub async fn start_scan(&self, p: &Principal, image: &ImageRef, kind: ScanType) -> Result<i64> {
        match kind {
            ScanType::Vulnerability => {
                self.require_project(p, image.repo.project(), true, R::Scan, Action::Create)
                    .await?;
            }
            ScanType::Sbom => {
                self.authorize_repo(p, None, &image.repo, crate::access::RepoAction::Push)
                    .await?;
            }
        }
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        if kind == ScanType::Sbom
            && manifest::parse(&m.content, Some(&m.media_type))?.kind == ManifestKind::Index
        {
            return Err(Error::Unsupported {
                reason: "an SBOM is built for an image; this is an index (pick a platform's image)"
                    .into(),
            });
        }
        let vendor_id = artifact_vendor_id(&m.digest);
        if let Some(id) = self
            .meta
            .active_execution(kind.vendor_type(), vendor_id)
            .await?
        {
            return Err(Error::Conflict {
                reason: format!(
                    "a {} scan of {}@{} is already queued or running (execution {id})",
                    kind.as_str(),
                    image.repo,
                    m.digest
                ),
            });
        }
        let params = ScanParams {
            repository: image.repo.as_str().to_owned(),
            digest: m.digest.clone(),
            scan_type: kind,
            operator: p.name().to_owned(),
        };
        if kind == ScanType::Vulnerability {
            self.set_scan_state(&image.repo, &m.digest, "Pending", self.now_ms(), None)
                .await?;
        }
        let params = serde_json::to_value(&params).expect("scan params serialize");
        self.start_execution(kind.vendor_type(), vendor_id, MANUAL, params)
            .await
    }

    /// Stop the pending or running scan of an artifact (Harbor's `POST …/scan/stop`). Needs
    /// the project's `scan` stop permission.
    pub async fn stop_scan(&self, p: &Principal, image: &ImageRef, kind: ScanType) -> Result<()> {
        self.require_project(p, image.repo.project(), true, R::Scan, Action::Stop)
            .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        let id = self
            .meta
            .active_execution(kind.vendor_type(), artifact_vendor_id(&m.digest))
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!(
                    "a running {} scan of {}@{}",
                    kind.as_str(),
                    image.repo,
                    m.digest
                ),
            })?;
        self.stop_execution(id).await?;
        // A scan stopped before a worker took it never runs: its end is recorded here. One
        // that runs records it when it sees the stop.
        if kind == ScanType::Vulnerability && self.execution(id).await?.status == "Stopped" {
            let start = self.now_ms();
            self.scan_ended(&image.repo, &m.digest, start, "Stopped", None, p.name())
                .await?;
        }
        Ok(())
    }

    /// The log of the artifact's latest scan (Harbor's `GET …/scan/{report_id}/log`): what the
    /// job did, and why it failed. The log names nodes and adapter URLs, so it needs the right
    /// to start a scan (developers and up), not only to read one (anyone, in a public project).
    pub async fn scan_log(&self, p: &Principal, image: &ImageRef) -> Result<String> {
        self.require_project(p, image.repo.project(), true, R::Scan, Action::Create)
            .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        let q = crate::query::ListQuery::new().page(1, 1);
        let run = self
            .executions(SCAN_JOB, Some(artifact_vendor_id(&m.digest)), &q)
            .await?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| Error::NotFound {
                what: format!("a scan of {}@{}", image.repo, m.digest),
            })?;
        self.execution_log(run.id).await
    }

    /// Scan an artifact now, in this call, with the built-in scanner, and store its report
    /// (bindings and tests: "scan and tell me"). Needs the project's `scan` permission.
    pub async fn scan(&self, p: &Principal, image: &ImageRef) -> Result<ScanResult> {
        self.require_project(p, image.repo.project(), true, R::Scan, Action::Create)
            .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        let digest = Digest::parse(&m.digest)?;
        self.run_scan(&image.repo, &digest, p.name(), &AtomicBool::new(false))
            .await?
            .ok_or_else(|| Error::internal("a scan without a stop request stopped"))
    }

    /// Scan one artifact, recording its state, the report and the event that ends it.
    /// `None` when `stop` was set first.
    pub(crate) async fn run_scan(
        &self,
        repo: &RepoName,
        digest: &Digest,
        operator: &str,
        stop: &AtomicBool,
    ) -> Result<Option<ScanResult>> {
        let start = self.now_ms();
        let m = match self
            .get_manifest(repo, &Reference::Digest(digest.clone()))
            .await
        {
            Ok(m) => m,
            Err(e) => {
                self.scan_ended(
                    repo,
                    &digest.to_string(),
                    start,
                    "Error",
                    Some(&e),
                    operator,
                )
                .await?;
                return Err(e);
            }
        };
        self.set_scan_state(repo, &m.digest, "Running", start, None)
            .await?;
        match until_stopped(stop, self.scan_manifest(repo, &m, operator)).await {
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(e)) => {
                self.scan_ended(repo, &m.digest, start, "Error", Some(&e), operator)
                    .await?;
                Err(e)
            }
            None => {
                self.scan_ended(repo, &m.digest, start, "Stopped", None, operator)
                    .await?;
                Ok(None)
            }
        }
    }

    /// Set the state of `digest`'s report (by the scanner `repo`'s project scans with),
    /// keeping what it holds.
    async fn set_scan_state(
        &self,
        repo: &RepoName,
        digest: &str,
        status: &str,
        start: i64,
        end: Option<i64>,
    ) -> Result<()> {
        let registration = self.registration_id_for(repo).await?;
        self.meta
            .set_scan_status(&state_row(&registration, digest, status, start, end))
            .await?;
        self.trust
            .reports
            .invalidate(&(registration, digest.to_owned()))
            .await;
        Ok(())
    }

    /// Record a scan that ended without a report: `Error` (with `SCANNING_FAILED`) or
    /// `Stopped` (with `SCANNING_STOPPED`).
    async fn scan_ended(
        &self,
        repo: &RepoName,
        digest: &str,
        start: i64,
        status: &str,
        error: Option<&Error>,
        operator: &str,
    ) -> Result<()> {
        let end = self.now_ms();
        let kind = if status == "Stopped" {
            "SCANNING_STOPPED"
        } else {
            "SCANNING_FAILED"
        };
        let registration = self.registration_id_for(repo).await?;
        let row = state_row(&registration, digest, status, start, Some(end));
        let mut payload = serde_json::json!({
            "repository": repo.as_str(),
            "digest": digest,
            "scan_status": status,
        });
        if let Some(e) = error {
            payload["message"] = e.to_string().into();
        }
        let event = self
            .scan_event(kind, repo, digest, operator, payload)
            .await?;
        self.with_events(vec![event], self.meta.set_scan_status(&row))
            .await?;
        self.trust
            .reports
            .invalidate(&(registration, digest.to_owned()))
            .await;
        tracing::info!(repository = %repo, digest, status, error = error.map(|e| e.to_string()), "scan ended without a report");
        Ok(())
    }

    /// Run one artifact's scan task: a vulnerability scan or an SBOM build.
    async fn run_scan_params(
        &self,
        params: &ScanParams,
        stop: &AtomicBool,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let repo = RepoName::parse(&params.repository)?;
        let digest = Digest::parse(&params.digest)?;
        let mut out = serde_json::Map::new();
        match params.scan_type {
            ScanType::Vulnerability => {
                if let Some(r) = self
                    .run_scan(&repo, &digest, &params.operator, stop)
                    .await?
                {
                    out.insert("severity".into(), r.overview.severity.into());
                    out.insert("total".into(), r.overview.summary.total.into());
                }
            }
            ScanType::Sbom => {
                let m = self.get_manifest(&repo, &Reference::Digest(digest)).await?;
                if let Some(sbom) = until_stopped(stop, self.build_sbom(&repo, &m)).await {
                    out.insert("sbom_digest".into(), sbom?.digest.into());
                }
            }
        }
        Ok(out)
    }

    /// Scan (or build the SBOM of) a pushed artifact in the background: as a job when this
    /// process runs job workers, else on a task of its own. Failures are recorded and logged;
    /// the push has succeeded already.
    pub(crate) async fn queue_push_scan(&self, repo: &RepoName, digest: &Digest, kind: ScanType) {
        let params = ScanParams {
            repository: repo.as_str().to_owned(),
            digest: digest.to_string(),
            scan_type: kind,
            operator: "auto-scan".into(),
        };
        if self.runs_job_workers() {
            let queued = async {
                if kind == ScanType::Vulnerability {
                    self.set_scan_state(repo, &digest.to_string(), "Pending", self.now_ms(), None)
                        .await?;
                }
                let value = serde_json::to_value(&params).expect("scan params serialize");
                self.start_execution(
                    kind.vendor_type(),
                    artifact_vendor_id(&digest.to_string()),
                    crate::jobs::EVENT,
                    value,
                )
                .await
            }
            .await;
            if let Err(e) = queued {
                tracing::warn!(repository = %repo, error = %e, "could not queue the scan on push");
            }
            return;
        }
        let reg = self.clone();
        tokio::spawn(async move {
            if let Err(e) = reg.run_scan_params(&params, &AtomicBool::new(false)).await {
                tracing::warn!(repository = %params.repository, error = %e, "scan on push failed");
            }
        });
    }

    /// Start scan all now; refused while one is pending or running.
    async fn start_scan_all(&self, trigger: &str) -> Result<i64> {
        if let Some(id) = self.meta.active_execution(SCAN_ALL_JOB, 0).await? {
            return Err(Error::Conflict {
                reason: format!("scan all {id} is still running"),
            });
        }
        self.start_execution(SCAN_ALL_JOB, 0, trigger, serde_json::json!({}))
            .await
    }

    /// Harbor's `GET /system/scanAll/schedule`.
    pub async fn scan_all_schedule(&self, p: &Principal) -> Result<JobSchedule> {
        self.require_system(p, SystemResource::ScanAll, Action::Read)?;
        self.system_job_schedule(SCAN_ALL_JOB).await
    }

    /// Harbor's `POST/PUT /system/scanAll/schedule`: `Manual` scans everything now (the run's
    /// id), `None` unschedules, other types set the cron. System administrators.
    pub async fn set_scan_all_schedule(
        &self,
        p: &Principal,
        req: &JobSchedule,
    ) -> Result<Option<i64>> {
        self.require_system(p, SystemResource::ScanAll, Action::Create)?;
        if let Some(k) = req.parameters.keys().next() {
            return Err(Error::BadRequest {
                reason: format!("scan all takes no parameters ({k:?})"),
            });
        }
        self.apply_system_schedule(SCAN_ALL_JOB, req, serde_json::json!({}), |_| {
            self.start_scan_all(MANUAL)
        })
        .await
    }

    /// Harbor's `POST /system/scanAll/stop`.
    pub async fn stop_scan_all(&self, p: &Principal) -> Result<()> {
        self.require_system(p, SystemResource::ScanAll, Action::Stop)?;
        let id = self
            .meta
            .active_execution(SCAN_ALL_JOB, 0)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: "a running scan all".into(),
            })?;
        self.stop_execution(id).await
    }

    /// Harbor's `/scans/all/metrics` (the latest run) and `/scans/schedule/metrics` (the
    /// latest scheduled run).
    pub async fn scan_all_metrics(&self, p: &Principal, scheduled: bool) -> Result<ScanAllStats> {
        self.require_system(p, SystemResource::ScanAll, Action::Read)?;
        let mut q = crate::query::ListQuery::new().page(1, 1);
        if scheduled {
            q = q.q(format!("trigger={}", crate::jobs::SCHEDULE));
        }
        let Some(run) = self
            .executions(SCAN_ALL_JOB, Some(0), &q)
            .await?
            .items
            .into_iter()
            .next()
        else {
            return Ok(ScanAllStats::default());
        };
        let ongoing = matches!(run.status.as_str(), "Pending" | "Running");
        let metrics: BTreeMap<String, i64> = self
            .meta
            .scan_status_counts(run.start_time, run.end_time)
            .await?
            .into_iter()
            .filter(|(s, _)| matches!(s.as_str(), "Success" | "Error" | "Stopped"))
            .collect();
        let completed = metrics.values().sum();
        let total = if ongoing {
            self.meta.scan_target_count().await?.max(completed)
        } else {
            completed
        };
        Ok(ScanAllStats {
            total,
            completed,
            metrics,
            ongoing,
            trigger: run.trigger_kind,
        })
    }
}

/// The job handler of one artifact's scan (vulnerabilities or SBOM).
struct ScanJob;

#[async_trait]
impl JobHandler for ScanJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let params: ScanParams =
            serde_json::from_value(task.params.clone()).map_err(|e| Error::BadRequest {
                reason: format!("scan task parameters: {e}"),
            })?;
        task.log(format_args!(
            "{} scan of {}@{}",
            params.scan_type.as_str(),
            params.repository,
            params.digest
        ));
        let stop = task.stop_flag();
        for (k, v) in reg.run_scan_params(&params, &stop).await? {
            task.log(format_args!("{k}: {v}"));
            task.set(&k, v);
        }
        Ok(())
    }
}

/// The job handler of scan all.
struct ScanAllJob;

#[async_trait]
impl JobHandler for ScanAllJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let stop = task.stop_flag();
        let (mut scanned, mut failed, mut skipped) = (0u64, 0u64, 0u64);
        let mut after: Option<(String, String)> = None;
        'walk: loop {
            let page = reg
                .meta
                .scan_targets(
                    after.as_ref().map(|(r, d)| (r.as_str(), d.as_str())),
                    SCAN_ALL_PAGE,
                )
                .await?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            for (repo, digest) in page {
                if stop.load(Ordering::Relaxed) {
                    break 'walk;
                }
                let (Ok(repo), Ok(digest)) = (RepoName::parse(&repo), Digest::parse(&digest))
                else {
                    skipped += 1;
                    continue;
                };
                let runnable = match reg
                    .get_manifest(&repo, &Reference::Digest(digest.clone()))
                    .await
                {
                    Ok(m) => crate::policy::trust::is_runnable(&m),
                    // Deleted since the page was read.
                    Err(_) => false,
                };
                if !runnable {
                    skipped += 1;
                    continue;
                }
                match reg.run_scan(&repo, &digest, "scan-all", &stop).await {
                    Ok(Some(_)) => scanned += 1,
                    Ok(None) => break 'walk,
                    Err(e) => {
                        failed += 1;
                        task.log(format_args!("{repo}@{digest}: {e}"));
                    }
                }
            }
            after = Some(last);
        }
        task.log(format_args!(
            "scanned {scanned}, failed {failed}, skipped {skipped} (not images)"
        ));
        task.set_execution("scanned", scanned);
        task.set_execution("failed", failed);
        task.set_execution("skipped", skipped);
        Ok(())
    }
}

pub(crate) fn register_jobs(reg: &Registry) {
    reg.register_job(SCAN_JOB, Arc::new(ScanJob));
    reg.register_job(SBOM_JOB, Arc::new(ScanJob));
    reg.register_job(SCAN_ALL_JOB, Arc::new(ScanAllJob));
    reg.register_job(
        super::hub::CVE_EXPORT_JOB,
        Arc::new(super::hub::CveExportJob),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_ids_come_from_the_digest() {
        let d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(artifact_vendor_id(d), 0x0123456789abcde);
        assert!(artifact_vendor_id("sha256:ffffffffffffffffffff") > 0);
        assert_eq!(artifact_vendor_id("nonsense"), 0);
    }

    #[test]
    fn scan_types_parse_as_harbor_names_them() {
        assert_eq!(ScanType::parse(None).unwrap(), ScanType::Vulnerability);
        assert_eq!(ScanType::parse(Some("sbom")).unwrap(), ScanType::Sbom);
        assert_eq!(
            ScanType::parse(Some("license")).unwrap_err().code(),
            crate::error::ErrorCode::BadRequest
        );
    }

    #[tokio::test]
    async fn a_stop_drops_the_work() {
        let stop = AtomicBool::new(false);
        assert_eq!(until_stopped(&stop, async { 7 }).await, Some(7));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, Ordering::Relaxed);
        });
        let never = std::future::pending::<()>();
        assert_eq!(until_stopped(&stop, never).await, None);
    }
}
