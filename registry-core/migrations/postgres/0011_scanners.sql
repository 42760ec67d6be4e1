-- Scanner registrations (scan/scanner.rs): the pluggable-scanner adapters (Harbor's Scanner
-- Adapter API v1.2) this registry can scan with, beside its built-in scanner (registration
-- `builtin`, which has no row). `access_credential` is sealed under the operator's secret key
-- (registry/secrets.rs). At most one row has `is_default`; with none, the built-in scanner is the
-- default. A project's own choice is its metadata key `projectScanner` (Harbor's).
CREATE TABLE scanner_registrations (
    uuid               TEXT NOT NULL PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    description        TEXT NOT NULL,
    url                TEXT NOT NULL,
    auth               TEXT NOT NULL,
    access_credential  TEXT NOT NULL,
    skip_cert_verify   BOOLEAN NOT NULL,
    use_internal_addr  BOOLEAN NOT NULL,
    disabled           BOOLEAN NOT NULL,
    is_default         BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
