-- Identity and access: projects, users, groups, members, robots, labels, settings.
-- Booleans are 0/1; timestamps are unix milliseconds.

CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    username         TEXT NOT NULL UNIQUE,
    email            TEXT NOT NULL DEFAULT '',
    realname         TEXT NOT NULL DEFAULT '',
    comment          TEXT NOT NULL DEFAULT '',
    -- argon2id PHC string; NULL for users whose password lives elsewhere (LDAP, OIDC).
    password_hash    TEXT,
    sysadmin         BOOLEAN NOT NULL DEFAULT FALSE,
    -- local | ldap | oidc
    source           TEXT NOT NULL DEFAULT 'local',
    -- LDAP DN or OIDC "issuer|subject".
    external_id      TEXT,
    -- argon2id hash of the OIDC CLI secret.
    cli_secret_hash  TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_external ON users(source, external_id) WHERE external_id IS NOT NULL;

-- group_type: 1 LDAP, 2 HTTP, 3 OIDC (Harbor's numbers).
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    group_type  INTEGER NOT NULL,
    ldap_dn     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX user_groups_identity ON user_groups(group_type, name, ldap_dn);

-- Group memberships as last seen at login from the external identity provider.
CREATE TABLE user_group_links (
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id  BIGINT NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    owner_id    BIGINT REFERENCES users(id) ON DELETE SET NULL,
    public      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Harbor's project metadata keys, all string values (`public` is mirrored in projects.public).
CREATE TABLE project_metadata (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (project_id, key)
);

-- entity_type: 'u' user, 'g' group. role: 1 projectAdmin, 2 developer, 3 guest, 4 maintainer,
-- 5 limitedGuest.
CREATE TABLE project_members (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    entity_type  TEXT NOT NULL,
    entity_id    BIGINT NOT NULL,
    role         INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (project_id, entity_type, entity_id)
);
CREATE INDEX project_members_entity ON project_members(entity_type, entity_id);

-- Robot accounts. name is the stored name: `name` (system) or `project+name` (project level).
-- permissions is JSON: [{kind, namespace, access: [{resource, action, effect}]}].
CREATE TABLE robots (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL DEFAULT '',
    level         TEXT NOT NULL,
    project_id    BIGINT REFERENCES projects(id) ON DELETE CASCADE,
    secret_hash   TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    duration      BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    creator_type  TEXT NOT NULL,
    creator_ref   TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- scope: 'g' global (project_id 0) or 'p' project.
CREATE TABLE labels (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    color        TEXT NOT NULL DEFAULT '',
    scope        TEXT NOT NULL,
    project_id   BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (scope, project_id, name)
);

CREATE TABLE artifact_labels (
    label_id    BIGINT NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    repo_id     BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (label_id, repo_id, digest),
    FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE
);
CREATE INDEX artifact_labels_artifact ON artifact_labels(repo_id, digest);

-- Server-wide settings and secrets Berth generates (the token signing key).
CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- Every repository belongs to the project named by its first path segment.
ALTER TABLE repositories ADD COLUMN project_id BIGINT REFERENCES projects(id);
ALTER TABLE repositories ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE repositories ADD COLUMN pull_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE manifests ADD COLUMN pulled_at BIGINT;

-- Repositories pushed before projects existed get a private project each.
INSERT INTO projects (name, public, created_at, updated_at)
SELECT DISTINCT substr(name, 1, instr(name || '/', '/') - 1), FALSE, MIN(created_at), MIN(created_at)
FROM repositories GROUP BY substr(name, 1, instr(name || '/', '/') - 1);
UPDATE repositories SET project_id =
    (SELECT p.id FROM projects p WHERE p.name = substr(repositories.name, 1, instr(repositories.name || '/', '/') - 1));
CREATE INDEX repositories_project ON repositories(project_id);
