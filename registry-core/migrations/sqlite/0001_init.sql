-- Berth metadata schema (SQLite). Timestamps are unix milliseconds.
CREATE TABLE repositories (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Every published blob, once, whatever repositories link it.
-- state: live | doomed | deleting (garbage collection).
CREATE TABLE blobs (
    digest        TEXT PRIMARY KEY,
    size          BIGINT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'live',
    created_at    BIGINT NOT NULL,
    last_touched  BIGINT NOT NULL
);

CREATE TABLE repo_blobs (
    repo_id     BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest      TEXT NOT NULL REFERENCES blobs(digest),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (repo_id, digest)
);
CREATE INDEX repo_blobs_digest ON repo_blobs(digest);

-- Manifest bytes are stored exactly as received and served from here.
CREATE TABLE manifests (
    repo_id        BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    subject        TEXT,
    annotations    TEXT,
    size           BIGINT NOT NULL,
    content        BLOB NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (repo_id, digest)
);
CREATE INDEX manifests_subject ON manifests(repo_id, subject) WHERE subject IS NOT NULL;

-- What each manifest points at: kind is 'blob' (config, layers) or 'manifest' (index children).
CREATE TABLE manifest_refs (
    repo_id          BIGINT NOT NULL,
    manifest_digest  TEXT NOT NULL,
    child_digest     TEXT NOT NULL,
    kind             TEXT NOT NULL,
    PRIMARY KEY (repo_id, manifest_digest, child_digest),
    FOREIGN KEY (repo_id, manifest_digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_refs_child ON manifest_refs(child_digest);

CREATE TABLE tags (
    repo_id     BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (repo_id, name),
    FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE
);

-- Resumable upload sessions: the running hash state lets any node continue an upload.
CREATE TABLE uploads (
    id          TEXT PRIMARY KEY,
    repo        TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    hash_state  BLOB NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
