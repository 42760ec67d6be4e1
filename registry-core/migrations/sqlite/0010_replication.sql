-- Registry endpoints (replication/): the remote registries replication policies and proxy-cache
-- projects talk to. `access_secret` is sealed under the operator's secret key
-- (registry/secrets.rs) and never leaves the server; `ca_certificate` is a PEM bundle trusted in
-- addition to the system roots.
CREATE TABLE registries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    url             TEXT NOT NULL,
    type            TEXT NOT NULL,
    credential_type TEXT NOT NULL,
    access_key      TEXT NOT NULL,
    access_secret   TEXT NOT NULL,
    insecure        BOOLEAN NOT NULL,
    ca_certificate  TEXT NOT NULL,
    description     TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Replication policies. Exactly one of src_registry_id / dest_registry_id is set; the other
-- side is this registry. `trigger_spec` and `filters` are Harbor's JSON shapes. Executions and tasks
-- live in the job service's tables (vendor type REPLICATION, vendor id = policy id).
CREATE TABLE replication_policies (
    id                           INTEGER PRIMARY KEY AUTOINCREMENT,
    name                         TEXT NOT NULL UNIQUE,
    description                  TEXT NOT NULL,
    src_registry_id              BIGINT REFERENCES registries(id),
    dest_registry_id             BIGINT REFERENCES registries(id),
    dest_namespace               TEXT NOT NULL,
    dest_namespace_replace_count BIGINT NOT NULL,
    trigger_spec                 TEXT NOT NULL,
    filters                      TEXT NOT NULL,
    replicate_deletion           BOOLEAN NOT NULL,
    override_existing            BOOLEAN NOT NULL,
    enabled                      BOOLEAN NOT NULL,
    speed                        BIGINT NOT NULL,
    copy_by_chunk                BOOLEAN NOT NULL,
    single_active_replication    BOOLEAN NOT NULL,
    creator                      TEXT NOT NULL,
    created_at                   BIGINT NOT NULL,
    updated_at                   BIGINT NOT NULL
);
