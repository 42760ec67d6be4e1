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

    /// Insert or replace a report (with the pending events, in one transaction).
    async fn put_scan_report(&self, r: &ScanReportRow) -> Result<()>;

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
