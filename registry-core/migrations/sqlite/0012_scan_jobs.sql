-- Scan jobs (scan/jobs.rs), the security hub and CVE export (scan/hub.rs).

-- The findings of each report, one row per (CVE, package, version), written with the report in
-- one transaction, so the security hub filters and counts them in SQL. `severity_rank` orders
-- severities as scan/vulndb.rs's `Severity` does: 0 None, 1 Unknown, 2 Negligible … 6 Critical.
CREATE TABLE scan_findings (
    digest        TEXT NOT NULL,
    registration  TEXT NOT NULL,
    cve_id        TEXT NOT NULL,
    package       TEXT NOT NULL,
    version       TEXT NOT NULL,
    fix_version   TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    score_v3      DOUBLE PRECISION,
    description   TEXT NOT NULL,
    links         TEXT NOT NULL,
    PRIMARY KEY (digest, registration, cve_id, package, version)
);
CREATE INDEX scan_findings_cve ON scan_findings(cve_id);
CREATE INDEX scan_findings_rank ON scan_findings(registration, severity_rank);

-- A finished CVE export (the job's output), downloadable by the user who asked for it until it
-- is a day old.
CREATE TABLE cve_exports (
    execution_id  BIGINT NOT NULL PRIMARY KEY,
    owner         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    csv           TEXT NOT NULL
);
