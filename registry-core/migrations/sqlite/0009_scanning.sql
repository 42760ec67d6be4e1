-- Vulnerability scanning (scan/): the operator's vulnerability database, scan reports and CVE
-- allowlists.

-- One row per affected package of an imported OSV advisory (scan/vulndb.rs). `ecosystem` is
-- OSV's name ("Debian:12", "Alpine:v3.19", "PyPI"); `record` is the compact JSON the matcher
-- reads (ranges, versions, severity worked out at import time, summary, links). Re-importing an
-- advisory replaces its rows; a withdrawn advisory has none.
CREATE TABLE vuln_records (
    ecosystem  TEXT NOT NULL,
    package    TEXT NOT NULL,
    id         TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    modified   BIGINT NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (ecosystem, package, id, seq)
);
CREATE INDEX vuln_records_id ON vuln_records(id);

-- A scan's outcome per (artifact digest, scanner registration, report MIME type), as Harbor
-- keeps them. `summary` is the JSON of the overview's summary; `report` the full report.
CREATE TABLE scan_reports (
    digest        TEXT NOT NULL,
    registration  TEXT NOT NULL,
    mime_type     TEXT NOT NULL,
    report_id     TEXT NOT NULL,
    status        TEXT NOT NULL,
    severity      TEXT NOT NULL,
    summary       TEXT NOT NULL,
    report        TEXT,
    start_time    BIGINT NOT NULL,
    end_time      BIGINT,
    PRIMARY KEY (digest, registration, mime_type)
);

-- A project's CVE allowlist (policy/vulnerability.rs); the system's is the setting
-- `cve_allowlist`. `items` is a JSON array of CVE ids; `expires_at` in Unix seconds.
CREATE TABLE cve_allowlists (
    project_id  BIGINT NOT NULL PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    expires_at  BIGINT,
    items       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
