-- Audit log and webhooks. The audit trail itself is the `events` table (0003); this adds the
-- per-project webhook policies and when each of them last fired, by event type.

-- targets: JSON array of {type, address, auth_header, skip_cert_verify, payload_format};
-- event_types: JSON array of Harbor event type names.
CREATE TABLE webhook_policies (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    targets      TEXT NOT NULL DEFAULT '[]',
    event_types  TEXT NOT NULL DEFAULT '[]',
    creator      TEXT NOT NULL DEFAULT '',
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Written by the dispatcher in the transaction that enqueues the deliveries.
CREATE TABLE webhook_triggers (
    policy_id     BIGINT NOT NULL REFERENCES webhook_policies(id) ON DELETE CASCADE,
    event_type    TEXT NOT NULL,
    last_trigger  BIGINT NOT NULL,
    PRIMARY KEY (policy_id, event_type)
);

-- Audit listings filter by who and what, newest first.
CREATE INDEX events_operator ON events(operator, id);
CREATE INDEX events_resource_type ON events(resource_type, id);
