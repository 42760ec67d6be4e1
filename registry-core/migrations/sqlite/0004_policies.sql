-- Policies: immutable tag rules and tag retention. Timestamps are unix milliseconds.

-- selectors: the rule's JSON ({tag_selectors, scope_selectors}); fingerprint: a digest of its
-- content, so a project cannot hold the same rule twice.
CREATE TABLE immutable_rules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    priority     BIGINT NOT NULL DEFAULT 0,
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    selectors    TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (project_id, fingerprint)
);

-- One retention policy per project; policy is its JSON (algorithm, rules, trigger). The
-- project's metadata key retention_id points here (written in the same transaction).
CREATE TABLE retention_policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    policy      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- What a retention run did per repository: the run is an execution of the job service
-- (vendor_type RETENTION, vendor_id = policy id); each repository it covered gets a row with its
-- counts and its log (the kept/deleted table). Trimmed with the execution.
CREATE TABLE retention_tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    repository    TEXT NOT NULL,
    status        TEXT NOT NULL,
    total         BIGINT NOT NULL,
    retained      BIGINT NOT NULL,
    start_time    BIGINT NOT NULL,
    end_time      BIGINT NOT NULL,
    log           TEXT NOT NULL
);
CREATE INDEX retention_tasks_execution ON retention_tasks(execution_id, id);
