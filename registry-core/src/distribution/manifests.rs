//! Manifests, tags, the catalog and referrers.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::events::{DELETE_ARTIFACT, PUSH_ARTIFACT};
use crate::meta::governance::NewEvent;
use crate::meta::{ManifestRecord, StoredManifest};
use crate::oci::manifest::{self, OCI_INDEX};
use crate::oci::{Digest, Hasher, Reference, RepoName, validate_tag};
use std::sync::Arc;

use super::{PutManifestOutcome, ReferrersIndex};
use crate::registry::{MAX_PAGE, Registry};

impl Registry {
    // ---- manifests ---------------------------------------------------------------------------

    /// Validate and store a manifest under `reference` (a tag, or the digest it must have), also
    /// tagging it with `extra_tags`.
    pub async fn put_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
    ) -> Result<PutManifestOutcome> {
        self.put_manifest_with(repo, reference, content_type, body, extra_tags, false)
            .await
    }

    /// [`Self::put_manifest`]; with `children_optional`, an index is stored without its child
    /// manifests present (a proxy cache keeps the index of platforms it never pulled).
    pub(crate) async fn put_manifest_with(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[String],
        children_optional: bool,
    ) -> Result<PutManifestOutcome> {
        self.check_writable().await?;
        let mut parsed = manifest::parse(&body, content_type)?;
        if children_optional {
            for r in &mut parsed.refs {
                if r.kind == crate::oci::manifest::RefKind::Manifest {
                    r.required = false;
                }
            }
        }
        let digest = match reference {
            Reference::Digest(expected) => {
                let mut h = Hasher::new(expected.algorithm());
                h.update(&body);
                let actual = h.finish();
                if &actual != expected {
                    return Err(Error::DigestInvalid {
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    });
                }
                actual
            }
            Reference::Tag(_) => Digest::sha256_of(&body),
        };
        let mut tags = Vec::with_capacity(extra_tags.len() + 1);
        if let Reference::Tag(t) = reference {
            tags.push(t.clone());
        }
        for t in extra_tags {
            validate_tag(t)?;
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let accessory = crate::content::accessory::recognize(&parsed, &body, &tags);
        let annotations = parsed
            .annotations
            .as_ref()
            .map(|a| serde_json::to_string(a).expect("a string map serializes"));
        let record = ManifestRecord {
            digest: digest.clone(),
            media_type: parsed.media_type,
            artifact_type: parsed.artifact_type,
            subject: parsed.subject.clone(),
            annotations,
            content: body,
            refs: parsed.refs,
            immutable_tags: self.immutable_tags(repo, &tags).await?,
            accessory,
        };
        let size = record.content.len();
        let resource = |t: Option<&String>| match t {
            Some(t) => format!("{repo}:{t}"),
            None => format!("{repo}@{digest}"),
        };
        let mut payload = serde_json::json!({
            "repository": repo.as_str(), "digest": digest.to_string(), "tags": tags,
            "media_type": record.media_type, "size": size,
        });
        if let Some(link) = &record.accessory {
            // Signing shows in the audit log as the push of a signature of its subject.
            payload["accessory"] =
                serde_json::json!({ "type": link.kind, "subject": link.subject.to_string() });
        }
        let event = NewEvent::new(PUSH_ARTIFACT, "artifact", resource(tags.first()), "create")
            .payload(payload);
        let stored = self
            .meta
            .put_manifest(
                repo,
                &record,
                &tags,
                self.now(),
                std::slice::from_ref(&event),
            )
            .await;
        if let Err(e) = &stored {
            self.quota_refused(e).await;
        }
        stored?;
        self.manifests_changed(repo);
        Ok(PutManifestOutcome {
            digest,
            subject: parsed.subject,
            tags,
        })
    }

    /// Fetch a manifest by tag or digest.
    pub async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<Arc<StoredManifest>> {
        let unknown = || Error::ManifestUnknown {
            reference: reference.to_string(),
        };
        let Some(cache) = &self.manifests else {
            return self
                .meta
                .get_manifest(repo, reference)
                .await?
                .map(Arc::new)
                .ok_or_else(unknown);
        };
        let key = cache.key(repo, reference);
        if let Some(hit) = cache.entries.get(&key).await {
            return Ok(hit);
        }
        let found = Arc::new(
            self.meta
                .get_manifest(repo, reference)
                .await?
                .ok_or_else(unknown)?,
        );
        cache.entries.insert(key, found.clone()).await;
        Ok(found)
    }

    pub(crate) fn manifests_changed(&self, repo: &RepoName) {
        if let Some(cache) = &self.manifests {
            cache.invalidate(repo);
        }
    }

    /// Delete a manifest by digest (with every tag pointing at it), or just a tag.
    pub async fn delete_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<()> {
        self.check_writable().await?;
        self.check_deletable(repo, reference).await?;
        let found = match reference {
            Reference::Digest(d) => self.delete_digest(repo, d, false).await?,
            Reference::Tag(t) => {
                let event = NewEvent::new("DELETE_TAG", "tag", format!("{repo}:{t}"), "delete")
                    .payload(serde_json::json!({ "repository": repo.as_str(), "tag": t }));
                self.with_events(vec![event], self.meta.delete_tag(repo, t))
                    .await?
            }
        };
        self.manifests_changed(repo);
        if found {
            Ok(())
        } else {
            Err(Error::ManifestUnknown {
                reference: reference.to_string(),
            })
        }
    }

    /// Garbage collection's delete of an untagged artifact and its hard accessories: nothing
    /// happens (`false`) when a push tagged it, or an index took it in, since it was listed.
    pub(crate) async fn delete_collectable(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<bool> {
        self.check_writable().await?;
        let done = self.delete_digest(repo, digest, true).await?;
        self.manifests_changed(repo);
        Ok(done)
    }

    /// Delete the manifest `d` and its hard accessories (signatures, SBOMs, and theirs). A plain
    /// delete takes the accessories first, so a failure half-way leaves the subject and the
    /// delete can be repeated; a collectable one (`only_collectable`) takes the subject first,
    /// because its recheck decides whether anything goes at all.
    async fn delete_digest(
        &self,
        repo: &RepoName,
        d: &Digest,
        only_collectable: bool,
    ) -> Result<bool> {
        let accessories = self.hard_accessories(repo, d).await?;
        let delete_accessories = async {
            for (a, kind, subject) in accessories.into_iter().rev() {
                let event =
                    NewEvent::new(DELETE_ARTIFACT, "artifact", format!("{repo}@{a}"), "delete")
                        .payload(serde_json::json!({
                            "repository": repo.as_str(), "digest": a.to_string(),
                            "accessory": { "type": kind, "subject": subject },
                        }));
                self.meta
                    .delete_manifest(repo, &a, false, self.now(), std::slice::from_ref(&event))
                    .await?;
            }
            Ok::<(), Error>(())
        };
        let event = NewEvent::new(DELETE_ARTIFACT, "artifact", format!("{repo}@{d}"), "delete")
            .payload(serde_json::json!({ "repository": repo.as_str(), "digest": d.to_string() }));
        let subject = self.meta.delete_manifest(
            repo,
            d,
            only_collectable,
            self.now(),
            std::slice::from_ref(&event),
        );
        if only_collectable {
            if !subject.await? {
                return Ok(false);
            }
            delete_accessories.await?;
            Ok(true)
        } else {
            delete_accessories.await?;
            subject.await
        }
    }

    /// The hard accessories of `subject` and, transitively, theirs (a signature of an SBOM),
    /// nearest first: (digest, type, subject).
    async fn hard_accessories(
        &self,
        repo: &RepoName,
        subject: &Digest,
    ) -> Result<Vec<(Digest, String, String)>> {
        let mut found: Vec<(Digest, String, String)> = Vec::new();
        let mut frontier = vec![subject.to_string()];
        // Bounded: a chain of accessories is short; a cycle (possible only by tag scheme) ends
        // when nothing new turns up.
        for _ in 0..8 {
            if frontier.is_empty() {
                break;
            }
            let rows = self
                .meta
                .accessories_by_kind(repo.as_str(), &frontier, None)
                .await?;
            frontier.clear();
            for r in rows {
                if !crate::content::accessory::is_hard(&r.kind)
                    || r.digest == subject.to_string()
                    || found.iter().any(|(d, _, _)| d.to_string() == r.digest)
                {
                    continue;
                }
                frontier.push(r.digest.clone());
                found.push((Digest::parse(&r.digest)?, r.kind, r.subject));
            }
        }
        Ok(found)
    }

    /// Tags in lexical order after `last`, at most `n` (default and cap [`MAX_PAGE`]).
    pub async fn list_tags(
        &self,
        repo: &RepoName,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<Vec<String>> {
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        self.meta
            .list_tags(repo, limit, last)
            .await?
            .ok_or_else(|| Error::NameUnknown {
                name: repo.to_string(),
            })
    }

    /// Repository names in lexical order after `last`, at most `n` (default and cap [`MAX_PAGE`]).
    pub async fn catalog(&self, n: Option<u32>, last: Option<&str>) -> Result<Vec<String>> {
        self.meta
            .catalog(n.unwrap_or(MAX_PAGE).min(MAX_PAGE), last)
            .await
    }

    /// The referrers of `subject` as an OCI image index, optionally only those of one
    /// `artifact_type`.
    pub async fn referrers(
        &self,
        repo: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ReferrersIndex> {
        let all = self.meta.referrers(repo, subject).await?;
        let manifests: Vec<serde_json::Value> = all
            .into_iter()
            .filter(|r| artifact_type.is_none_or(|t| r.artifact_type.as_deref() == Some(t)))
            .map(|r| {
                let mut d = serde_json::json!({ "mediaType": r.media_type, "digest": r.digest, "size": r.size });
                if let Some(t) = r.artifact_type {
                    d["artifactType"] = t.into();
                }
                if let Some(a) = r.annotations.and_then(|a| serde_json::from_str::<serde_json::Value>(&a).ok()) {
                    d["annotations"] = a;
                }
                d
            })
            .collect();
        let index = serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests });
        Ok(ReferrersIndex {
            body: Bytes::from(serde_json::to_vec(&index).expect("json serializes")),
            filtered: artifact_type.is_some(),
        })
    }
}
