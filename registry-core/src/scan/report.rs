//! Vulnerability scans with the built-in scanner, their reports and overviews.
//!
//! A scan reads an image's package databases from its layers (as the SBOM does), matches them
//! against the imported vulnerability database ([`super::vulndb`]) and stores Harbor's report
//! (`application/vnd.security.vulnerability.report; version=1.1`) per (digest, registration,
//! MIME type); the built-in scanner's registration is `builtin`. An index is scanned through
//! the images it lists (each gets its report) and gets the union of their findings. The store
//! writes the report together with a `SCANNING_COMPLETED` event (audit log and webhooks).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;

use super::jobs::ScanType;
use super::packages;
use super::vulndb::{self, Finding, Severity};
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::identity::rbac::{Action, ProjectResource as R};
use crate::image::ImageRef;
use crate::meta::StoredManifest;
use crate::meta::governance::NewEvent;
use crate::meta::scan::ScanReportRow;
use crate::oci::manifest::{self, ManifestKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;

/// Harbor's native vulnerability report type.
pub const VULN_REPORT: &str = "application/vnd.security.vulnerability.report; version=1.1";
/// The built-in scanner's registration.
pub const BUILTIN: &str = "builtin";
/// Images listed by an index that one scan reads, at most.
const MAX_CHILDREN: usize = 64;

/// The scanner that produced a report.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Scanner {
    pub name: String,
    pub vendor: String,
    pub version: String,
}

pub fn builtin_scanner() -> Scanner {
    Scanner {
        name: "Berth".into(),
        vendor: "Berth".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Counts of a report (Harbor's `VulnerabilitySummary`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    pub total: u64,
    pub fixable: u64,
    /// Severity → count (only severities that occur).
    pub summary: BTreeMap<String, u64>,
}

/// One entry of an artifact's `scan_overview` (Harbor's `NativeReportSummary`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanOverview {
    pub report_id: String,
    /// `Success`, `Error`, `Running`, `Pending`, `Stopped`.
    pub scan_status: String,
    pub severity: String,
    /// Seconds.
    pub duration: i64,
    pub summary: Summary,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
    pub complete_percent: u8,
    pub scanner: Scanner,
}

/// What the `summary` column holds: the counts and the scanner that produced the report.
#[derive(Serialize, serde::Deserialize)]
struct StoredSummary {
    #[serde(flatten)]
    summary: Summary,
    #[serde(default)]
    scanner: Option<Scanner>,
}

fn overview_of(r: &ScanReportRow) -> ScanOverview {
    let stored: Option<StoredSummary> = serde_json::from_str(&r.summary).ok();
    let scanner = stored.as_ref().and_then(|s| s.scanner.clone());
    ScanOverview {
        report_id: r.report_id.clone(),
        scan_status: r.status.clone(),
        severity: r.severity.clone(),
        duration: r.end_time.map_or(0, |e| (e - r.start_time).max(0) / 1000),
        summary: stored.map(|s| s.summary).unwrap_or_default(),
        start_time: crate::model::time(r.start_time),
        end_time: r.end_time.map(crate::model::time),
        complete_percent: if r.status == "Success" { 100 } else { 0 },
        scanner: scanner.unwrap_or_else(builtin_scanner),
    }
}

/// One vulnerability of a report, as Harbor's report carries it.
fn vulnerability_json(f: &Finding) -> serde_json::Value {
    serde_json::json!({
        "id": f.id,
        "package": f.package,
        "version": f.version,
        "fix_version": f.fix_version.clone().unwrap_or_default(),
        "severity": f.severity.as_str(),
        "description": f.record.summary,
        "links": f.record.links,
        "preferred_cvss": {
            "score_v3": f.record.score_v3,
            "vector_v3": f.record.vector_v3.clone().unwrap_or_default(),
        },
        "cwe_ids": f.record.cwe_ids,
        "vendor_attributes": { "aliases": f.record.aliases, "ecosystem": f.ecosystem },
    })
}

/// The security hub's rows of a Harbor vulnerability report's findings (the built-in
/// scanner's or an adapter's).
fn finding_rows(
    digest: &str,
    registration: &str,
    report: &serde_json::Value,
) -> Vec<crate::meta::scan::FindingRow> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    report["vulnerabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["id"].is_string() && v["package"].is_string())
        .map(|v| {
            let severity = v["severity"]
                .as_str()
                .and_then(Severity::parse)
                .unwrap_or(Severity::Unknown);
            crate::meta::scan::FindingRow {
                digest: digest.to_owned(),
                registration: registration.to_owned(),
                cve_id: text(&v["id"]),
                package: text(&v["package"]),
                version: text(&v["version"]),
                fix_version: text(&v["fix_version"]),
                severity: severity.as_str().to_owned(),
                severity_rank: severity as i64,
                score_v3: v["preferred_cvss"]["score_v3"].as_f64(),
                description: text(&v["description"]),
                links: serde_json::to_string(
                    &v["links"]
                        .as_array()
                        .map(|l| l.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>())
                        .unwrap_or_default(),
                )
                .expect("json serializes"),
            }
        })
        .collect()
}

/// The worst severity and the counts of a Harbor vulnerability report (the built-in
/// scanner's or an adapter's).
fn summarize(report: &serde_json::Value) -> (Severity, Summary) {
    let mut s = Summary::default();
    let mut worst = Severity::None;
    for v in report["vulnerabilities"].as_array().into_iter().flatten() {
        let severity = v["severity"]
            .as_str()
            .and_then(Severity::parse)
            .unwrap_or(Severity::Unknown);
        s.total += 1;
        if v["fix_version"].as_str().is_some_and(|f| !f.is_empty()) {
            s.fixable += 1;
        }
        *s.summary.entry(severity.as_str().to_owned()).or_default() += 1;
        worst = worst.max(severity);
    }
    (worst, s)
}

/// What a caller of [`Registry::scan`] gets: the overview and the findings.
#[derive(Debug, Clone, Serialize)]
pub struct ScanResult {
    pub digest: String,
    pub overview: ScanOverview,
    /// Harbor's report (`vulnerabilities` and the rest).
    pub report: serde_json::Value,
}

impl Registry {
    /// Scan `m` of `repo` (no authorization: callers decide) and store the report.
    pub(crate) async fn scan_manifest(
        &self,
        repo: &RepoName,
        m: &StoredManifest,
        operator: &str,
    ) -> Result<ScanResult> {
        let start = self.now_ms();
        if let Some(registration) = self.registration_for(repo).await? {
            return self
                .scan_through_adapter(&registration, repo, m, start, operator)
                .await;
        }
        let parsed = manifest::parse(&m.content, Some(&m.media_type))?;
        let findings = if parsed.kind == ManifestKind::Index {
            let children: Vec<String> = serde_json::from_slice::<serde_json::Value>(&m.content)
                .ok()
                .and_then(|v| {
                    v["manifests"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|d| d["digest"].as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default();
            let mut all: Vec<Finding> = Vec::new();
            for child in children.iter().take(MAX_CHILDREN) {
                let d = Digest::parse(child)?;
                let cm = self.get_manifest(repo, &Reference::Digest(d)).await?;
                if manifest::parse(&cm.content, Some(&cm.media_type))?.kind == ManifestKind::Index {
                    continue;
                }
                let found = self.image_findings(&cm).await?;
                self.store_report(repo, &cm, &found, self.now_ms(), operator)
                    .await?;
                for f in found {
                    if !all
                        .iter()
                        .any(|x| x.id == f.id && x.package == f.package && x.version == f.version)
                    {
                        all.push(f);
                    }
                }
            }
            all
        } else {
            self.image_findings(m).await?
        };
        self.store_report(repo, m, &findings, start, operator).await
    }

    /// The findings of one image.
    async fn image_findings(&self, m: &StoredManifest) -> Result<Vec<Finding>> {
        let Some(descriptors) = manifest::layers(&m.content) else {
            return Ok(Vec::new());
        };
        let layers: Vec<(Digest, String)> = descriptors
            .into_iter()
            // Only filesystem layers: an artifact's other blobs are not unpacked.
            .filter(|d| {
                d.media_type.starts_with("application/vnd.oci.image.layer.")
                    || d.media_type
                        .starts_with("application/vnd.docker.image.rootfs.")
            })
            .map(|d| Ok((Digest::parse(&d.digest)?, d.media_type)))
            .collect::<Result<_>>()?;
        if layers.is_empty() {
            return Ok(Vec::new());
        }
        let files = self
            .image_files(&layers, std::sync::Arc::new(packages::PackageFiles))
            .await?;
        let found = packages::packages(&files);
        let (distro, version_id) = packages::os_release(&files).unwrap_or_default();
        let mut ecosystems = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for p in &found {
            for e in vulndb::ecosystems_for(p.ecosystem, &distro, version_id.as_deref()) {
                if !ecosystems.contains(&e) {
                    ecosystems.push(e);
                }
            }
            names.push(vulndb::advisory_name(p));
        }
        names.sort();
        names.dedup();
        let rows = self.meta.vulns_for(&ecosystems, &names).await?;
        Ok(vulndb::find(&found, &distro, version_id.as_deref(), &rows))
    }

    async fn store_report(
        &self,
        repo: &RepoName,
        m: &StoredManifest,
        findings: &[Finding],
        start: i64,
        operator: &str,
    ) -> Result<ScanResult> {
        let worst = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or_default();
        let report = serde_json::json!({
            "generated_at": crate::model::time(self.now_ms()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "artifact": { "repository": repo.as_str(), "digest": m.digest, "mime_type": m.media_type },
            "scanner": builtin_scanner(),
            "severity": worst.as_str(),
            "vulnerabilities": findings.iter().map(vulnerability_json).collect::<Vec<_>>(),
        });
        self.put_report(repo, m, (BUILTIN, VULN_REPORT), report, start, operator)
            .await
    }

    /// Store `report` (Harbor's vulnerability report) of `m` as `(registration, MIME type)`,
    /// with its `SCANNING_COMPLETED` event.
    pub(crate) async fn put_report(
        &self,
        repo: &RepoName,
        m: &StoredManifest,
        (registration, mime): (&str, &str),
        mut report: serde_json::Value,
        start: i64,
        operator: &str,
    ) -> Result<ScanResult> {
        let end = self.now_ms();
        let (worst, summary) = summarize(&report);
        if report.get("severity").is_none() {
            report["severity"] = worst.as_str().into();
        }
        let findings = summary.total;
        let stored = StoredSummary {
            summary,
            scanner: serde_json::from_value(report["scanner"].clone()).ok(),
        };
        let row = ScanReportRow {
            digest: m.digest.clone(),
            registration: registration.into(),
            mime_type: mime.into(),
            report_id: uuid::Uuid::new_v4().to_string(),
            status: "Success".into(),
            severity: worst.as_str().into(),
            summary: serde_json::to_string(&stored).expect("json serializes"),
            report: Some(report.to_string()),
            start_time: start,
            end_time: Some(end),
        };
        let overview = overview_of(&row);
        let event = self
            .scan_event(
                "SCANNING_COMPLETED",
                repo,
                &m.digest,
                operator,
                serde_json::json!({
                    "repository": repo.as_str(),
                    "digest": m.digest,
                    "scan_overview": { mime: overview },
                }),
            )
            .await?;
        let rows = finding_rows(&m.digest, registration, &report);
        self.with_events(vec![event], self.meta.put_scan_report(&row, Some(&rows)))
            .await?;
        self.trust
            .reports
            .invalidate(&(row.registration.clone(), row.digest.clone()))
            .await;
        tracing::info!(repository = %repo, digest = %m.digest, scanner = registration, findings, severity = %worst, "scan finished");
        Ok(ScanResult {
            digest: m.digest.clone(),
            overview,
            report,
        })
    }

    /// A scan event (`SCANNING_*`) of `repo@digest`, for the project's webhooks and the audit
    /// log.
    pub(crate) async fn scan_event(
        &self,
        kind: &str,
        repo: &RepoName,
        digest: &str,
        operator: &str,
        payload: serde_json::Value,
    ) -> Result<NewEvent> {
        let mut event =
            NewEvent::new(kind, "artifact", format!("{repo}@{digest}"), "scan").payload(payload);
        event.operator = operator.to_owned();
        // Webhooks are per project: the event names it.
        event.project_id = self
            .project_access(&Principal::System, repo.project())
            .await?
            .map(|a| a.project.id);
        Ok(event)
    }

    /// With the project's `auto_scan` on, scan a pushed image (or index) within seconds of the
    /// push; with `auto_sbom_generation`, build an image's SBOM ([`Registry::queue_push_scan`]).
    pub(crate) async fn scan_on_push(
        &self,
        caller: &crate::distribution::Caller,
        repo: &RepoName,
        digest: &Digest,
    ) {
        let project_id = match self.project_access(&caller.principal, repo.project()).await {
            Ok(Some(a)) => a.project.id,
            _ => return,
        };
        let (scan, sbom) = match self.project_trust(project_id, false).await {
            Ok(t) if t.auto_scan || t.auto_sbom => (t.auto_scan, t.auto_sbom),
            _ => return,
        };
        // Signatures, SBOMs and other artifacts without filesystem layers are left alone.
        let kind = match self
            .get_manifest(repo, &Reference::Digest(digest.clone()))
            .await
        {
            Ok(m) if crate::policy::trust::is_runnable(&m) => {
                match manifest::parse(&m.content, Some(&m.media_type)) {
                    Ok(p) => p.kind,
                    Err(_) => return,
                }
            }
            _ => return,
        };
        if scan {
            self.queue_push_scan(repo, digest, ScanType::Vulnerability)
                .await;
        }
        // An SBOM is built for images; an index's images get theirs as they are pushed.
        if sbom && kind == ManifestKind::Image {
            self.queue_push_scan(repo, digest, ScanType::Sbom).await;
        }
    }

    /// `scan_overview` of each of `digests` (MIME type → overview) by the scanner the project
    /// scans with, for artifact views.
    pub(crate) async fn scan_overviews(
        &self,
        project_id: i64,
        digests: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, ScanOverview>>> {
        let registration = self.registration_id(project_id).await?;
        let mut out: HashMap<String, BTreeMap<String, ScanOverview>> = HashMap::new();
        for r in self.meta.scan_reports(digests).await? {
            if r.registration != registration {
                continue;
            }
            out.entry(r.digest.clone())
                .or_default()
                .insert(r.mime_type.clone(), overview_of(&r));
        }
        Ok(out)
    }

    /// The stored vulnerability report of `digest` by `registration`, if it was scanned.
    pub(crate) async fn stored_report(
        &self,
        registration: &str,
        digest: &str,
    ) -> Result<Option<ScanReportRow>> {
        let mut rows: Vec<ScanReportRow> = self
            .meta
            .scan_reports(&[digest.to_owned()])
            .await?
            .into_iter()
            .filter(|r| r.registration == registration)
            .collect();
        rows.sort_by_key(|r| {
            super::pluggable::REPORT_TYPES
                .iter()
                .position(|t| *t == r.mime_type)
                .unwrap_or(usize::MAX)
        });
        Ok(rows.into_iter().next())
    }

    /// [`Registry::stored_report`] by the scanner project `project_id` scans with, through
    /// the pull-policy cache (a pull under `prevent_vul` reads no row when the report was read
    /// within the cache's lifetime).
    pub(crate) async fn cached_report(
        &self,
        project_id: i64,
        digest: &str,
    ) -> Result<Option<Arc<ScanReportRow>>> {
        let key = (self.registration_id(project_id).await?, digest.to_owned());
        if let Some(hit) = self.trust.reports.get(&key).await {
            return Ok(hit);
        }
        let report = self.stored_report(&key.0, digest).await?.map(Arc::new);
        self.trust.reports.insert(key, report.clone()).await;
        Ok(report)
    }

    /// Harbor's `…/additions/vulnerabilities`: report MIME type → report; empty when the
    /// artifact was never scanned. Needs read on the project's artifacts.
    pub async fn vulnerabilities(
        &self,
        p: &Principal,
        image: &ImageRef,
    ) -> Result<BTreeMap<String, serde_json::Value>> {
        let access = self
            .require_project(p, image.repo.project(), true, R::Artifact, Action::Read)
            .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        let registration = self.registration_id(access.project.id).await?;
        let mut out = BTreeMap::new();
        if let Some(r) = self.stored_report(&registration, &m.digest).await?
            && let Some(report) = r.report
        {
            out.insert(
                r.mime_type,
                serde_json::from_str(&report)
                    .map_err(|e| Error::internal(format!("stored report: {e}")))?,
            );
        }
        Ok(out)
    }
}
