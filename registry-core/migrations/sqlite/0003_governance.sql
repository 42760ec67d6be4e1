-- Governance: storage quotas, the job service, the event outbox. Timestamps are unix ms.

-- When a repository's link to a blob was last used (created, re-uploaded, mounted, or answered
-- "exists" to a HEAD): garbage collection only drops unreferenced links untouched for its grace.
ALTER TABLE repo_blobs ADD COLUMN last_touched BIGINT NOT NULL DEFAULT 0;
UPDATE repo_blobs SET last_touched = created_at;
CREATE INDEX manifests_digest ON manifests(digest);
-- "Does any manifest of this repository reference this blob?" (GC, manifest push).
CREATE INDEX manifest_refs_repo_child ON manifest_refs(repo_id, child_digest);

-- What a project is charged for: every blob a repository of the project links and every
-- manifest stored in it, once per project whatever the number of repositories.
CREATE TABLE project_blobs (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    digest      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (project_id, digest)
);

-- One quota per project: hard = -1 is unlimited; used = SUM(project_blobs.size), kept in the
-- same transaction as every change to project_blobs.
CREATE TABLE quotas (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
    hard        BIGINT NOT NULL DEFAULT -1,
    used        BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

INSERT INTO project_blobs (project_id, digest, size, created_at)
SELECT r.project_id, rb.digest, MAX(b.size), MIN(rb.created_at)
FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id JOIN blobs b ON b.digest = rb.digest
WHERE r.project_id IS NOT NULL GROUP BY r.project_id, rb.digest;
INSERT INTO project_blobs (project_id, digest, size, created_at)
SELECT r.project_id, m.digest, MAX(m.size), MIN(m.created_at)
FROM manifests m JOIN repositories r ON r.id = m.repo_id
WHERE r.project_id IS NOT NULL GROUP BY r.project_id, m.digest
ON CONFLICT DO NOTHING;
INSERT INTO quotas (project_id, hard, used, created_at, updated_at)
SELECT p.id, -1, COALESCE((SELECT SUM(pb.size) FROM project_blobs pb WHERE pb.project_id = p.id), 0), p.created_at, p.created_at
FROM projects p;

-- Job service. An execution is one run of something (a GC, a retention run, a webhook
-- delivery); its tasks are the units workers claim. Status: Pending, Running, Success, Error,
-- Stopped.
CREATE TABLE executions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type     TEXT NOT NULL,
    vendor_id       BIGINT NOT NULL DEFAULT 0,
    trigger_kind    TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL,
    status_message  TEXT NOT NULL DEFAULT '',
    extra_attrs     TEXT NOT NULL DEFAULT '{}',
    start_time      BIGINT NOT NULL,
    update_time     BIGINT NOT NULL,
    end_time        BIGINT
);
CREATE INDEX executions_vendor ON executions(vendor_type, vendor_id, id);

-- A task runs on one node at a time: claiming sets a lease that the worker renews; a lease that
-- runs out (the node died) lets another node take the task again.
CREATE TABLE tasks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id    BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    vendor_type     TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL,
    status_message  TEXT NOT NULL DEFAULT '',
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL DEFAULT 1,
    run_at          BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    stop_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    extra_attrs     TEXT NOT NULL DEFAULT '{}',
    log             TEXT NOT NULL DEFAULT '',
    creation_time   BIGINT NOT NULL,
    start_time      BIGINT,
    update_time     BIGINT NOT NULL,
    end_time        BIGINT
);
CREATE INDEX tasks_execution ON tasks(execution_id);
CREATE INDEX tasks_queue ON tasks(status, run_at);

-- Cron schedules (croner syntax, 5 or 6 fields). A node fires a schedule by moving next_fire
-- forward with a compare-and-set, so each occurrence fires once across nodes.
CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor_type    TEXT NOT NULL,
    vendor_id      BIGINT NOT NULL DEFAULT 0,
    cron           TEXT NOT NULL,
    params         TEXT NOT NULL DEFAULT '{}',
    next_fire      BIGINT NOT NULL,
    creation_time  BIGINT NOT NULL,
    update_time    BIGINT NOT NULL,
    UNIQUE (vendor_type, vendor_id)
);

-- The event outbox and audit trail: written in the transaction of the change it records, so a
-- crash cannot lose it; consumers (webhooks, …) clear their pending flag once they have handled
-- it. operation: create, delete, pull, update, …; resource: repo:tag, repo@digest, a name.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type      TEXT NOT NULL,
    resource_type   TEXT NOT NULL,
    resource        TEXT NOT NULL,
    operation       TEXT NOT NULL,
    project_id      BIGINT,
    operator        TEXT NOT NULL DEFAULT '',
    remote_addr     TEXT NOT NULL DEFAULT '',
    success         BOOLEAN NOT NULL DEFAULT TRUE,
    payload         TEXT NOT NULL DEFAULT '{}',
    notify_pending  BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_time ON events(created_at);
CREATE INDEX events_project ON events(project_id, id);
CREATE INDEX events_notify ON events(id) WHERE notify_pending;
