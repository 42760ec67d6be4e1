//! The security hub and CVE export: every finding of every scanned artifact, counted,
//! filtered and exported as CSV.
//!
//! - Findings are rows written with each report ([`crate::meta::scan::FindingRow`]), so the
//!   hub's counts and filters are SQL over an index, not a walk over report documents.
//! - The hub (Harbor's `/vul/summary` and `/vuls`) is for system administrators, as in Harbor
//!   (`security-hub`); it reads the reports of the system's default scanner.
//! - A CVE export (Harbor's `/export/cve`) is a `CVE_EXPORT` job over the projects the caller
//!   may export (`export-cve` create on each), narrowed by repository and tag globs and a CVE
//!   list. Its CSV (at most 64 MiB) is kept for a day and only its owner, or a system
//!   administrator, can read or download it. Cells that a spreadsheet would run as a formula
//!   are prefixed with `'`.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::identity::rbac::{Action, ProjectResource as R, SystemResource};
use crate::jobs::{JobHandler, MANUAL, TaskContext};
use crate::meta::scan::{DangerousArtifact, FindingFilter, PlacedFinding};
use crate::policy::selector::{DOUBLESTAR, Pattern, repo_in_project};
use crate::query::{ListQuery, Page};
use crate::registry::Registry;

/// Vendor type of a CVE export.
pub const CVE_EXPORT_JOB: &str = "CVE_EXPORT";
/// The largest CSV an export writes.
const MAX_EXPORT_BYTES: usize = 64 << 20;
/// How long an export's CSV is kept.
const EXPORT_TTL_MS: i64 = 24 * 3600 * 1000;
/// Findings read per page by an export.
const EXPORT_PAGE: i64 = 1000;
/// The most dangerous CVEs and artifacts the summary lists.
const DANGEROUS: i64 = 5;

/// Harbor's `SecuritySummary`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SecuritySummary {
    pub critical_cnt: i64,
    pub high_cnt: i64,
    pub medium_cnt: i64,
    pub low_cnt: i64,
    pub none_cnt: i64,
    pub unknown_cnt: i64,
    pub total_vuls: i64,
    pub scanned_cnt: i64,
    pub total_artifact: i64,
    pub fixable_cnt: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerous_cves: Option<Vec<DangerousCve>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dangerous_artifacts: Option<Vec<DangerousArtifact>>,
}

/// Harbor's `DangerousCVE`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DangerousCve {
    pub cve_id: String,
    pub severity: String,
    pub cvss_score_v3: Option<f64>,
    pub desc: String,
    pub package: String,
    pub version: String,
}

/// Harbor's `VulnerabilityItem`: one finding in one artifact.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VulnerabilityItem {
    pub project_id: i64,
    pub repository_name: String,
    pub digest: String,
    pub tags: Vec<String>,
    pub cve_id: String,
    pub severity: String,
    /// `fixable` when a fixed version is known, else empty.
    pub status: String,
    pub cvss_v3_score: Option<f64>,
    pub package: String,
    pub version: String,
    pub fixed_version: String,
    pub desc: String,
    pub links: Vec<String>,
}

/// Harbor's `ScanDataExportRequest`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CveExportReq {
    #[serde(default)]
    pub job_name: Option<String>,
    /// Project ids; at least one.
    #[serde(default)]
    pub projects: Vec<i64>,
    /// Label ids (not supported: must be empty).
    #[serde(default)]
    pub labels: Vec<i64>,
    /// A doublestar glob on the repository name within its project (`**`: all).
    #[serde(default)]
    pub repositories: Option<String>,
    /// A doublestar glob on tags (`**`: all, untagged included).
    #[serde(default)]
    pub tags: Option<String>,
    /// Comma-separated CVE ids.
    #[serde(default, rename = "cveIds")]
    pub cve_ids: Option<String>,
}

/// Harbor's `ScanDataExportExecution`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveExportExecution {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub job_name: String,
    pub status: String,
    pub trigger: String,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
    pub status_text: String,
    pub file_present: bool,
}

/// What a CVE export's job is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ExportParams {
    owner: String,
    job_name: String,
    projects: Vec<i64>,
    repositories: Option<String>,
    tags: Option<String>,
    cve_ids: Option<Vec<String>>,
}

/// The vendor id of a caller's exports: a user's id, a robot's id negated, 0 for the system.
fn owner_id(p: &Principal) -> i64 {
    match p {
        Principal::User(u) => u.id,
        Principal::Robot(r) => -r.id,
        _ => 0,
    }
}

fn bad(reason: impl Into<String>) -> Error {
    Error::BadRequest {
        reason: reason.into(),
    }
}

/// Harbor's `q` of `/vuls`: `key=value` terms separated by commas; keys `cve_id`, `severity`,
/// `cvss_score_v3` (a number or `[min~max]`), `project_id`, `repository_name`, `package`,
/// `tag`, `digest`.
pub fn parse_hub_query(q: Option<&str>, registration: &str) -> Result<FindingFilter> {
    let mut f = FindingFilter {
        registration: registration.to_owned(),
        ..FindingFilter::default()
    };
    for term in q
        .unwrap_or_default()
        .split(',')
        .filter(|t| !t.trim().is_empty())
    {
        let (k, v) = term
            .split_once('=')
            .ok_or_else(|| bad(format!("query term {term:?} is not key=value")))?;
        let (k, v) = (k.trim(), v.trim().to_owned());
        match k {
            "cve_id" => f.cve_id = Some(v),
            "severity" => {
                let s = crate::scan::vulndb::Severity::parse(&v).ok_or_else(|| {
                    bad(format!(
                        "severity {v:?}: Critical, High, Medium, Low, Negligible, Unknown or None"
                    ))
                })?;
                f.severity = Some(s.as_str().to_owned());
            }
            "cvss_score_v3" => {
                let num = |s: &str| -> Result<Option<f64>> {
                    let s = s.trim();
                    if s.is_empty() {
                        return Ok(None);
                    }
                    s.parse::<f64>()
                        .map(Some)
                        .map_err(|_| bad(format!("cvss_score_v3: {s:?} is not a number")))
                };
                match v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                    Some(range) => {
                        let (lo, hi) = range
                            .split_once('~')
                            .ok_or_else(|| bad("cvss_score_v3 range is [min~max]"))?;
                        f.score_min = num(lo)?;
                        f.score_max = num(hi)?;
                    }
                    None => {
                        f.score_min = num(&v)?;
                        f.score_max = f.score_min;
                    }
                }
            }
            "project_id" => {
                f.project_ids =
                    Some(vec![v.parse().map_err(|_| {
                        bad(format!("project_id {v:?} is not a number"))
                    })?])
            }
            "repository_name" => f.repository_name = Some(v),
            "package" => f.package = Some(v),
            "tag" => f.tag = Some(v),
            "digest" => f.digest = Some(v),
            other => {
                return Err(bad(format!(
                    "unknown query key {other:?}; /vuls accepts cve_id, severity, cvss_score_v3, project_id, repository_name, package, tag, digest"
                )));
            }
        }
    }
    Ok(f)
}

/// One CSV cell: quoted as RFC 4180 wants, and prefixed with `'` when a spreadsheet would read
/// it as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        crate::audit::csv_field(&format!("'{s}"))
    } else {
        crate::audit::csv_field(s)
    }
}

const EXPORT_HEADER: &str = "Project,Repository,Digest,Tags,CVE,Package,Version,Fix Version,Severity,CVSS3 Score,Description,Links\r\n";

impl Registry {
    /// Tags of the artifacts of `rows`, keyed by (repository id, digest).
    async fn finding_tags(
        &self,
        rows: &[PlacedFinding],
    ) -> Result<HashMap<(i64, String), Vec<String>>> {
        let mut by_repo: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for r in rows {
            let digests = by_repo.entry(r.repository_id).or_default();
            if !digests.contains(&r.finding.digest) {
                digests.push(r.finding.digest.clone());
            }
        }
        let mut out: HashMap<(i64, String), Vec<String>> = HashMap::new();
        for (repo_id, digests) in by_repo {
            for t in self.meta.artifact_tags(repo_id, &digests).await? {
                out.entry((repo_id, t.digest)).or_default().push(t.name);
            }
        }
        Ok(out)
    }

    /// Harbor's `GET /vul/summary`: counts over every scanned artifact, with the most
    /// dangerous CVEs and artifacts when asked. System administrators.
    pub async fn security_summary(
        &self,
        p: &Principal,
        with_cves: bool,
        with_artifacts: bool,
    ) -> Result<SecuritySummary> {
        self.require_system(p, SystemResource::SecurityHub, Action::Read)?;
        let registration = self.default_registration_id().await?;
        let c = self.meta.hub_counts(&registration).await?;
        let count = |name: &str| {
            c.by_severity
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n)
        };
        let mut out = SecuritySummary {
            critical_cnt: count("Critical"),
            high_cnt: count("High"),
            medium_cnt: count("Medium"),
            low_cnt: count("Low") + count("Negligible"),
            none_cnt: count("None"),
            unknown_cnt: count("Unknown"),
            total_vuls: c.total,
            scanned_cnt: c.scanned,
            total_artifact: c.artifacts,
            fixable_cnt: c.fixable,
            dangerous_cves: None,
            dangerous_artifacts: None,
        };
        if with_cves {
            // Most severe first; one entry per CVE.
            let rows = self
                .meta
                .hub_findings(&parse_hub_query(None, &registration)?, 0, 50 * DANGEROUS)
                .await?;
            let mut cves: Vec<DangerousCve> = Vec::new();
            for r in rows.into_iter().map(|r| r.finding) {
                if cves.len() as i64 >= DANGEROUS {
                    break;
                }
                if r.severity_rank < crate::scan::vulndb::Severity::Medium as i64
                    || cves.iter().any(|c| c.cve_id == r.cve_id)
                {
                    continue;
                }
                cves.push(DangerousCve {
                    cve_id: r.cve_id,
                    severity: r.severity,
                    cvss_score_v3: r.score_v3,
                    desc: r.description,
                    package: r.package,
                    version: r.version,
                });
            }
            out.dangerous_cves = Some(cves);
        }
        if with_artifacts {
            out.dangerous_artifacts = Some(
                self.meta
                    .dangerous_artifacts(&registration, DANGEROUS)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Harbor's `GET /vuls`: findings across artifacts, most severe first, filtered by `q`
    /// ([`parse_hub_query`]) and paged. System administrators.
    pub async fn security_vulnerabilities(
        &self,
        p: &Principal,
        q: &ListQuery,
    ) -> Result<Page<VulnerabilityItem>> {
        self.require_system(p, SystemResource::SecurityHub, Action::List)?;
        let registration = self.default_registration_id().await?;
        let filter = parse_hub_query(q.q.as_deref(), &registration)?;
        let spec = ListQuery {
            q: None,
            sort: None,
            ..q.clone()
        }
        .parse(&[], &[])?;
        if q.sort.is_some() {
            return Err(bad("/vuls is sorted by severity; sort is not accepted"));
        }
        let rows = self
            .meta
            .hub_findings(&filter, spec.offset(), spec.limit())
            .await?;
        let total = self.meta.hub_findings_count(&filter).await?;
        let tags = self.finding_tags(&rows).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let f = r.finding;
                VulnerabilityItem {
                    project_id: r.project_id,
                    tags: tags
                        .get(&(r.repository_id, f.digest.clone()))
                        .cloned()
                        .unwrap_or_default(),
                    repository_name: r.repository_name,
                    digest: f.digest,
                    cve_id: f.cve_id,
                    severity: f.severity,
                    status: if f.fix_version.is_empty() {
                        String::new()
                    } else {
                        "fixable".into()
                    },
                    cvss_v3_score: f.score_v3,
                    package: f.package,
                    version: f.version,
                    fixed_version: f.fix_version,
                    desc: f.description,
                    links: serde_json::from_str(&f.links).unwrap_or_default(),
                }
            })
            .collect();
        Ok(spec.page_of(items, total as u64))
    }

    /// Harbor's `POST /export/cve`: queue an export of the findings in `req.projects`; returns
    /// the execution's id. Needs `export-cve` on every project listed.
    pub async fn start_cve_export(&self, p: &Principal, req: CveExportReq) -> Result<i64> {
        if p.is_anonymous() {
            return Err(Error::Unauthorized);
        }
        if req.projects.is_empty() {
            return Err(bad("projects: name at least one project id"));
        }
        if !req.labels.is_empty() {
            return Err(bad(
                "labels: filtering an export by label is not supported; leave it empty",
            ));
        }
        for pattern in [&req.repositories, &req.tags].into_iter().flatten() {
            Pattern::compile(DOUBLESTAR, pattern)?;
        }
        let mut projects = req.projects.clone();
        projects.sort_unstable();
        projects.dedup();
        for id in &projects {
            self.require_project(p, &id.to_string(), false, R::ExportCve, Action::Create)
                .await?;
        }
        let cve_ids = req.cve_ids.as_deref().map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        });
        let params = ExportParams {
            owner: p.name().to_owned(),
            job_name: req.job_name.unwrap_or_default(),
            projects,
            repositories: req.repositories,
            tags: req.tags,
            cve_ids: cve_ids.filter(|c| !c.is_empty()),
        };
        let params = serde_json::to_value(&params).expect("export params serialize");
        self.start_execution(CVE_EXPORT_JOB, owner_id(p), MANUAL, params)
            .await
    }

    /// An export the caller may see: its own, or any for a system administrator; others are
    /// not found.
    async fn own_export(
        &self,
        p: &Principal,
        id: i64,
    ) -> Result<(crate::meta::governance::ExecutionRow, ExportParams)> {
        let row = self.execution_of(CVE_EXPORT_JOB, id, "CVE export").await?;
        let params: ExportParams = serde_json::from_str(&row.params)
            .map_err(|e| Error::internal(format!("CVE export {id} parameters: {e}")))?;
        if !p.is_sysadmin() && (p.is_anonymous() || params.owner != p.name()) {
            return Err(Error::NotFound {
                what: format!("CVE export {id}"),
            });
        }
        Ok((row, params))
    }

    async fn export_view(
        &self,
        row: crate::meta::governance::ExecutionRow,
        params: ExportParams,
    ) -> Result<CveExportExecution> {
        let file_present = row.status == "Success"
            && self
                .meta
                .cve_export(row.id)
                .await?
                .is_some_and(|(_, at, _)| at >= self.now_ms() - EXPORT_TTL_MS);
        Ok(CveExportExecution {
            id: row.id,
            user_id: row.vendor_id,
            user_name: params.owner,
            job_name: params.job_name,
            status: row.status,
            trigger: row.trigger_kind,
            start_time: crate::model::time(row.start_time),
            end_time: row.end_time.map(crate::model::time),
            status_text: row.status_message,
            file_present,
        })
    }

    /// Harbor's `GET /export/cve/execution/{id}`.
    pub async fn cve_export_execution(&self, p: &Principal, id: i64) -> Result<CveExportExecution> {
        let (row, params) = self.own_export(p, id).await?;
        self.export_view(row, params).await
    }

    /// Harbor's `GET /export/cve/executions`: the caller's exports, newest first.
    pub async fn cve_export_executions(&self, p: &Principal) -> Result<Vec<CveExportExecution>> {
        if p.is_anonymous() {
            return Err(Error::Unauthorized);
        }
        let q = ListQuery::new().page(1, crate::query::MAX_PAGE_SIZE);
        let rows = self
            .executions(CVE_EXPORT_JOB, Some(owner_id(p)), &q)
            .await?
            .items;
        let mut out = Vec::new();
        for row in rows {
            let id = row.id;
            match serde_json::from_str::<ExportParams>(&row.params) {
                Ok(params) if params.owner == p.name() => {
                    out.push(self.export_view(row, params).await?)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(execution = id, error = %e, "unreadable CVE export"),
            }
        }
        Ok(out)
    }

    /// Harbor's `GET /export/cve/download/{id}`: (file name, CSV).
    pub async fn cve_export_download(&self, p: &Principal, id: i64) -> Result<(String, String)> {
        let (_, params) = self.own_export(p, id).await?;
        let (_, at, csv) = self
            .meta
            .cve_export(id)
            .await?
            .filter(|(_, at, _)| *at >= self.now_ms() - EXPORT_TTL_MS)
            .ok_or_else(|| Error::NotFound {
                what: format!(
                    "the file of CVE export {id} (not finished, failed, or older than a day)"
                ),
            })?;
        let name: String = params
            .job_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect();
        let name = if name.is_empty() {
            format!("cve-export-{id}-{at}.csv")
        } else {
            format!("{name}.csv")
        };
        Ok((name, csv))
    }

    /// Build an export's CSV.
    async fn export_csv(&self, params: &ExportParams, task: &TaskContext) -> Result<(String, u64)> {
        let repos = params
            .repositories
            .as_deref()
            .map(|p| Pattern::compile(DOUBLESTAR, p))
            .transpose()?;
        let tags = params
            .tags
            .as_deref()
            .filter(|t| *t != "**")
            .map(|p| Pattern::compile(DOUBLESTAR, p))
            .transpose()?;
        let mut filter = parse_hub_query(None, &self.default_registration_id().await?)?;
        filter.project_ids = Some(params.projects.clone());
        filter.cve_ids = params.cve_ids.clone();
        let names: HashMap<i64, String> = {
            let mut m = HashMap::new();
            for id in &params.projects {
                if let Some(p) = self.meta.project_by_id(*id).await? {
                    m.insert(*id, p.name);
                }
            }
            m
        };
        let mut csv = String::from(EXPORT_HEADER);
        let (mut offset, mut rows_out) = (0i64, 0u64);
        loop {
            if task.stopped() {
                return Err(Error::Conflict {
                    reason: "the export was stopped".into(),
                });
            }
            let rows = self.meta.hub_findings(&filter, offset, EXPORT_PAGE).await?;
            if rows.is_empty() {
                break;
            }
            offset += rows.len() as i64;
            let tag_map = self.finding_tags(&rows).await?;
            for r in rows {
                if let Some(re) = &repos
                    && !re.is_match(repo_in_project(&r.repository_name))
                {
                    continue;
                }
                let artifact_tags = tag_map
                    .get(&(r.repository_id, r.finding.digest.clone()))
                    .cloned()
                    .unwrap_or_default();
                if let Some(t) = &tags
                    && !artifact_tags.iter().any(|name| t.is_match(name))
                {
                    continue;
                }
                let f = r.finding;
                let links: Vec<String> = serde_json::from_str(&f.links).unwrap_or_default();
                let line = [
                    cell(names.get(&r.project_id).map_or("", String::as_str)),
                    cell(&r.repository_name),
                    cell(&f.digest),
                    cell(&artifact_tags.join(" ")),
                    cell(&f.cve_id),
                    cell(&f.package),
                    cell(&f.version),
                    cell(&f.fix_version),
                    cell(&f.severity),
                    f.score_v3.map(|s| format!("{s:.1}")).unwrap_or_default(),
                    cell(&f.description),
                    cell(&links.join(" ")),
                ]
                .join(",");
                if csv.len() + line.len() + 2 > MAX_EXPORT_BYTES {
                    return Err(Error::PayloadTooLarge {
                        what: "CVE export (narrow it by project, repository, tag or CVE)".into(),
                        limit: MAX_EXPORT_BYTES as u64,
                    });
                }
                csv.push_str(&line);
                csv.push_str("\r\n");
                rows_out += 1;
            }
        }
        Ok((csv, rows_out))
    }
}

/// The job handler of CVE exports.
pub(crate) struct CveExportJob;

#[async_trait]
impl JobHandler for CveExportJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let params: ExportParams = serde_json::from_value(task.params.clone())
            .map_err(|e| bad(format!("CVE export parameters: {e}")))?;
        let now = reg.now_ms();
        if let Err(e) = reg.meta.trim_cve_exports(now - EXPORT_TTL_MS).await {
            tracing::warn!(error = %e, "could not drop old CVE exports");
        }
        let (csv, rows) = reg.export_csv(&params, task).await?;
        reg.meta
            .put_cve_export(task.execution_id, &params.owner, now, &csv)
            .await?;
        task.log(format_args!("{rows} findings, {} bytes", csv.len()));
        task.set("rows", rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_queries_parse_harbor_terms() {
        let f = parse_hub_query(
            Some("cve_id=CVE-2024-1,severity=critical,cvss_score_v3=[7.0~9.5],project_id=3,tag=v1"),
            "builtin",
        )
        .unwrap();
        assert_eq!(f.cve_id.as_deref(), Some("CVE-2024-1"));
        assert_eq!(f.severity.as_deref(), Some("Critical"));
        assert_eq!((f.score_min, f.score_max), (Some(7.0), Some(9.5)));
        assert_eq!(f.project_ids, Some(vec![3]));
        assert_eq!(f.tag.as_deref(), Some("v1"));
        let open = parse_hub_query(Some("cvss_score_v3=[8~]"), "builtin").unwrap();
        assert_eq!((open.score_min, open.score_max), (Some(8.0), None));
        for bad in [
            "color=red",
            "severity=awful",
            "cvss_score_v3=[x~1]",
            "project_id=a",
            "cve_id",
        ] {
            assert_eq!(
                parse_hub_query(Some(bad), "builtin").unwrap_err().code(),
                crate::error::ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn cells_do_not_become_formulas() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("openssl"), "openssl");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }
}
