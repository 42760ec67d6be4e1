//! Metadata for scanning: the vulnerability database (OSV records), scan reports and CVE
//! allowlists.
//!
//! Implemented by both SQL stores from one text ([`super::scan_sql`]).

use async_trait::async_trait;

use crate::error::Result;

/// One affected package of an advisory, as stored (`record` is [`crate::scan::vulndb`]'s JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct VulnRow {
    pub ecosystem: String,
    pub package: String,
    pub id: String,
    pub seq: i64,
    pub modified: i64,
    pub record: String,
}

/// A stored scan report (see the migration `0009_scanning.sql`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScanReportRow {
    pub digest: String,
    pub registration: String,
    pub mime_type: String,
    pub report_id: String,
    pub status: String,
    pub severity: String,
    pub summary: String,
    pub report: Option<String>,
    pub start_time: i64,
    pub end_time: Option<i64>,
}

/// One finding of a report, as the security hub reads it (see the migration
/// `0012_scan_jobs.sql`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FindingRow {
    pub digest: String,
    pub registration: String,
    pub cve_id: String,
    pub package: String,
    pub version: String,
    pub fix_version: String,
    pub severity: String,
    /// The severity's place in [`crate::scan::vulndb::Severity`]'s order (0 None … 6 Critical).
    pub severity_rank: i64,
    pub score_v3: Option<f64>,
    pub description: String,
    /// JSON array of URLs.
    pub links: String,
}

/// A finding where it is: the artifact's project and repository (an artifact in several
/// repositories is listed once per repository).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PlacedFinding {
    pub project_id: i64,
    pub repository_id: i64,
    pub repository_name: String,
    #[sqlx(flatten)]
    pub finding: FindingRow,
}

/// Filters of the security hub's vulnerability list and of CVE exports. Every field narrows;
/// `registration` is the scanner whose reports are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingFilter {
    pub registration: String,
    pub cve_id: Option<String>,
    /// Exact severity name.
    pub severity: Option<String>,
    pub score_min: Option<f64>,
    pub score_max: Option<f64>,
    pub project_ids: Option<Vec<i64>>,
    pub repository_name: Option<String>,
    pub package: Option<String>,
    pub digest: Option<String>,
    pub tag: Option<String>,
    pub cve_ids: Option<Vec<String>>,
}

/// The security hub's counts over the reports of one registration, per artifact (an image in
/// two repositories counts twice, as the hub lists it twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubCounts {
    /// Severity name → findings.
    pub by_severity: Vec<(String, i64)>,
    pub fixable: i64,
    pub total: i64,
    /// Artifacts with a successful report.
    pub scanned: i64,
    /// Artifacts stored (accessories aside).
    pub artifacts: i64,
}

/// An artifact's worst findings: the security hub's "dangerous artifacts" (Harbor's
/// `DangerousArtifact`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DangerousArtifact {
    pub project_id: i64,
    pub repository_name: String,
    pub digest: String,
    pub critical_cnt: i64,
    pub high_cnt: i64,
    pub medium_cnt: i64,
}

/// A scanner registration (see the migration `0011_scanners.sql`); `access_credential` is
/// sealed ([`crate::registry::secrets`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScannerRow {
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub url: String,
    pub auth: String,
    pub access_credential: String,
    pub skip_cert_verify: bool,
    pub use_internal_addr: bool,
    pub disabled: bool,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A project's CVE allowlist.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AllowlistRow {
    pub project_id: i64,
    pub expires_at: Option<i64>,
    pub items: String,
    pub updated_at: i64,
}

#[async_trait]
pub trait ScanStore: Send + Sync {
    /// Replace the stored rows of each advisory in `ids` by `rows` (all of them, in one
    /// transaction). An id with no rows (withdrawn, or nothing affected) is removed.
    async fn replace_vulns(&self, ids: &[String], rows: &[VulnRow]) -> Result<()>;

    /// The rows of `packages` in any of `ecosystems`.
    async fn vulns_for(&self, ecosystems: &[String], packages: &[String]) -> Result<Vec<VulnRow>>;

    /// How many advisories and affected-package rows the database holds.
    async fn vuln_counts(&self) -> Result<(i64, i64)>;

    /// Insert or replace a report and, when `findings` is given, replace the findings of its
    /// (digest, registration) by them: one transaction, with the pending events.
    async fn put_scan_report(
        &self,
        r: &ScanReportRow,
        findings: Option<&[FindingRow]>,
    ) -> Result<()>;

    /// Set the status (and times) of the reports of (digest, registration), every report type
    /// (the state is the scan's), inserting a report-less row of `r.mime_type` when there is
    /// none; existing reports' content and findings stay (with the pending events).
    async fn set_scan_status(&self, r: &ScanReportRow) -> Result<()>;

    /// Up to `limit` artifacts after `after` (repository name, digest), in that order: the scan
    /// all job's walk. Accessories (manifests with a subject) and the children of indexes in the
    /// same repository are left out: they are scanned through what they belong to.
    async fn scan_targets(
        &self,
        after: Option<(&str, &str)>,
        limit: i64,
    ) -> Result<Vec<(String, String)>>;

    /// How many artifacts [`ScanStore::scan_targets`] walks.
    async fn scan_target_count(&self) -> Result<i64>;

    /// Reports (of any registration) by status, among those started at or after `since` (and,
    /// with `until`, at or before it).
    async fn scan_status_counts(
        &self,
        since: i64,
        until: Option<i64>,
    ) -> Result<Vec<(String, i64)>>;

    /// The security hub's counts.
    async fn hub_counts(&self, registration: &str) -> Result<HubCounts>;

    /// Findings matching `f`, most severe first, then by CVE, repository and digest.
    async fn hub_findings(
        &self,
        f: &FindingFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<PlacedFinding>>;

    /// How many findings match `f`.
    async fn hub_findings_count(&self, f: &FindingFilter) -> Result<i64>;

    /// The artifacts with the most critical, then high, then medium findings.
    async fn dangerous_artifacts(
        &self,
        registration: &str,
        limit: i64,
    ) -> Result<Vec<DangerousArtifact>>;

    /// Store a CVE export's CSV.
    async fn put_cve_export(
        &self,
        execution_id: i64,
        owner: &str,
        created_at: i64,
        csv: &str,
    ) -> Result<()>;

    /// A CVE export: (owner, created_at, csv).
    async fn cve_export(&self, execution_id: i64) -> Result<Option<(String, i64, String)>>;

    /// Drop exports created before `before`; returns how many.
    async fn trim_cve_exports(&self, before: i64) -> Result<u64>;

    /// The reports of `digests`, every registration and MIME type.
    async fn scan_reports(&self, digests: &[String]) -> Result<Vec<ScanReportRow>>;

    async fn cve_allowlist(&self, project_id: i64) -> Result<Option<AllowlistRow>>;

    async fn set_cve_allowlist(&self, a: &AllowlistRow) -> Result<()>;

    /// Insert a scanner registration; a name or uuid taken is `ALREADY_EXISTS`.
    async fn create_scanner(&self, r: &ScannerRow) -> Result<()>;
    async fn scanner(&self, uuid: &str) -> Result<Option<ScannerRow>>;
    /// Every registration, by name.
    async fn scanners(&self) -> Result<Vec<ScannerRow>>;
    /// Replace every column but `uuid`, `is_default` and `created_at`; false when missing.
    async fn update_scanner(&self, r: &ScannerRow) -> Result<bool>;
    async fn delete_scanner(&self, uuid: &str) -> Result<bool>;
    /// Make `uuid` the only default registration (`None`: no row is, so the built-in scanner
    /// is), in one statement; false when `uuid` does not exist (nothing changes then).
    async fn set_default_scanner(&self, uuid: Option<&str>) -> Result<bool>;
}
