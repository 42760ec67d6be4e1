-- Accessories: signatures, attestations, SBOMs and other artifacts that belong to a subject
-- artifact of the same repository (content/accessory.rs). A row is written with its manifest,
-- in the same transaction; the subject need not exist yet (an accessory may be pushed first).
-- kind: signature.cosign | signature.notation | sbom.harbor | accelerator.nydus | subject.accessory
-- via: 'subject' (the manifest's OCI 1.1 subject) or 'tag' (cosign's sha256-<hex>.sig|.att|.sbom tag).
CREATE TABLE accessories (
    repo_id     BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    via         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (repo_id, digest),
    FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE
);
CREATE INDEX accessories_subject ON accessories(repo_id, subject, kind);

-- What was pushed before accessories were recognised.
INSERT INTO accessories (repo_id, digest, subject, kind, via, created_at)
SELECT repo_id, digest, subject,
       CASE
         WHEN artifact_type IN ('application/vnd.dev.cosign.artifact.sig.v1+json',
                                'application/vnd.dev.sigstore.bundle.v0.3+json',
                                'application/vnd.dev.sigstore.bundle+json;version=0.3') THEN 'signature.cosign'
         WHEN artifact_type = 'application/vnd.cncf.notary.signature' THEN 'signature.notation'
         WHEN artifact_type IN ('application/vnd.goharbor.harbor.sbom.v1', 'application/vnd.dev.cosign.artifact.sbom.v1+json',
                                'text/spdx', 'text/spdx+json', 'application/spdx+json',
                                'application/vnd.cyclonedx', 'application/vnd.cyclonedx+json',
                                'application/vnd.cyclonedx+xml', 'application/vnd.syft+json') THEN 'sbom.harbor'
         ELSE 'subject.accessory'
       END,
       'subject', created_at
FROM manifests WHERE subject IS NOT NULL;

INSERT INTO accessories (repo_id, digest, subject, kind, via, created_at)
SELECT repo_id, digest, 'sha256:' || substr(name, 8, 64),
       CASE WHEN name LIKE '%.sig' THEN 'signature.cosign'
            WHEN name LIKE '%.sbom' THEN 'sbom.harbor'
            ELSE 'subject.accessory' END,
       'tag', updated_at
FROM tags
WHERE (name LIKE 'sha256-%.sig' OR name LIKE 'sha256-%.att' OR name LIKE 'sha256-%.sbom')
  AND length(name) IN (75, 76)
ON CONFLICT DO NOTHING;

-- Keys a project trusts for content trust verification (policy/trust.rs): cosign public keys
-- (PEM SubjectPublicKeyInfo) and notation X.509 root certificates (PEM). Public material only.
CREATE TABLE trust_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id   BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    algorithm    TEXT NOT NULL,
    pem          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (project_id, fingerprint)
);
CREATE INDEX trust_keys_project ON trust_keys(project_id);
