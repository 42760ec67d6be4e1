-- Listings at size (docs/benchmarks.md, "Metadata at size": 100,000 repositories, 1,000,000
-- tags, repositories of 20,000 tags).

-- The tags of given manifests: the artifact list's tags=… filters and each listed artifact's
-- tags, manifest delete, and the foreign key from tags to manifests, which without this index
-- scans all of the repository's tags for every manifest deleted. With the name in it, the
-- tags=~x filter reads the index alone.
CREATE INDEX tags_digest ON tags(repo_id, digest, name);

-- Artifact lists newest first (Harbor's default and the UI's sort=-push_time) walk this index,
-- digests included, instead of sorting all of the repository's manifests.
CREATE INDEX manifests_pushed ON manifests(repo_id, created_at, digest);

-- The bytes of the blobs a manifest references (its config and layers, as stored when it was
-- pushed): an artifact's size is its manifest's size plus this. Listings used to sum it over
-- the manifest's references for every row they showed or sorted.
ALTER TABLE manifests ADD COLUMN blob_size BIGINT NOT NULL DEFAULT 0;
UPDATE manifests SET blob_size = COALESCE((SELECT SUM(b.size) FROM manifest_refs mr JOIN blobs b ON b.digest = mr.child_digest
    WHERE mr.repo_id = manifests.repo_id AND mr.manifest_digest = manifests.digest AND mr.kind = 'blob'), 0);
