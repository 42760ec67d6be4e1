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
}
