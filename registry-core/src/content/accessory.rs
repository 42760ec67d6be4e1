//! Accessories: signatures, attestations, SBOMs and other artifacts that belong to a subject
//! artifact in the same repository.
//!
//! A manifest is an accessory when it carries an OCI 1.1 `subject`, or when it is pushed under
//! cosign's tag scheme, `sha256-<hex>.sig`, `.att` or `.sbom`, which names the subject's digest.
//! [`recognize`] decides that at push time and the link is stored with the manifest, in its
//! transaction. The subject need not exist yet: an accessory pushed first is listed as an
//! artifact of its own until its subject arrives, and from then on under it.
//!
//! Types follow Harbor: `signature.cosign` (cosign signatures and sigstore bundles),
//! `signature.notation`, `sbom.harbor` (Harbor's SBOMs and the SPDX / CycloneDX documents
//! cosign attaches), `accelerator.nydus`, and `subject.accessory` for any other referrer. All but
//! nydus are hard references: they are deleted with their subject.
//!
//! Accessories are not listed as artifacts of their repository; artifact views carry them in
//! `accessories`, and `GET …/artifacts/{ref}/accessories` pages through them. Retention moves
//! them with their subject (policy/retention.rs), and garbage collection frees their blobs once
//! the subject's deletion has taken them along. Copying an artifact
//! ([`Registry::copy_artifact`]) brings its accessories along.

use crate::auth::{Action, Principal, ProjectResource as R};
use crate::error::{Error, Result};
use crate::meta::AccessoryLink;
use crate::meta::identity::AccessoryRow;
use crate::model::{Accessory, time};
use crate::oci::manifest::ParsedManifest;
use crate::oci::{Digest, RepoName};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

pub const SIGNATURE_COSIGN: &str = "signature.cosign";
pub const SIGNATURE_NOTATION: &str = "signature.notation";
pub const SBOM_HARBOR: &str = "sbom.harbor";
pub const ACCELERATOR_NYDUS: &str = "accelerator.nydus";
pub const SUBJECT_ACCESSORY: &str = "subject.accessory";

/// Every accessory type, for validating `q=type=…`.
pub const TYPES: &[&str] = &[
    SIGNATURE_COSIGN,
    SIGNATURE_NOTATION,
    SBOM_HARBOR,
    ACCELERATOR_NYDUS,
    SUBJECT_ACCESSORY,
];

/// Artifact types of cosign signatures: the OCI 1.1 referrer cosign pushes, and sigstore bundles.
const COSIGN_TYPES: &[&str] = &["application/vnd.dev.cosign.artifact.sig.v1+json"];
const SIGSTORE_BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// Notation's signature artifact type.
pub const NOTATION_TYPE: &str = "application/vnd.cncf.notary.signature";
/// SBOM artifact types: Harbor's own, cosign's referrer, and the SPDX / CycloneDX / Syft
/// documents `cosign attach sbom` stores.
const SBOM_TYPES: &[&str] = &[
    "application/vnd.goharbor.harbor.sbom.v1",
    "application/vnd.dev.cosign.artifact.sbom.v1+json",
    "text/spdx",
    "text/spdx+json",
    "text/spdx+xml",
    "application/spdx+json",
    "application/vnd.cyclonedx",
    "application/vnd.cyclonedx+json",
    "application/vnd.cyclonedx+xml",
    "application/vnd.syft+json",
];
/// The layer annotation that marks a nydus bootstrap layer.
const NYDUS_BOOTSTRAP: &str = "containerd.io/snapshot/nydus-bootstrap";

const VIA_SUBJECT: &str = "subject";
const VIA_TAG: &str = "tag";

/// The cosign tag suffix of a tag-scheme accessory of `kind`.
fn tag_suffix(kind: &str) -> &'static str {
    match kind {
        SIGNATURE_COSIGN => "sig",
        SBOM_HARBOR => "sbom",
        _ => "att",
    }
}

/// Whether an accessory of `kind` goes with its subject when the subject is deleted.
pub fn is_hard(kind: &str) -> bool {
    kind != ACCELERATOR_NYDUS
}

/// The accessory link of a manifest being pushed with `tags`, if it is one.
pub fn recognize(parsed: &ParsedManifest, body: &[u8], tags: &[String]) -> Option<AccessoryLink> {
    if let Some(subject) = &parsed.subject {
        return Some(AccessoryLink {
            subject: subject.clone(),
            kind: referrer_kind(parsed, body),
            via: VIA_SUBJECT,
        });
    }
    tags.iter().find_map(|t| {
        cosign_tag(t).map(|(subject, kind)| AccessoryLink {
            subject,
            kind,
            via: VIA_TAG,
        })
    })
}

/// The subject and type named by a cosign tag: `sha256-<hex>.sig` (a signature), `.att` (an
/// attestation) or `.sbom`.
pub fn cosign_tag(tag: &str) -> Option<(Digest, &'static str)> {
    let (hex, suffix) = tag.strip_prefix("sha256-")?.split_once('.')?;
    let kind = match suffix {
        "sig" => SIGNATURE_COSIGN,
        "sbom" => SBOM_HARBOR,
        "att" => SUBJECT_ACCESSORY,
        _ => return None,
    };
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    Some((Digest::parse(&format!("sha256:{hex}")).ok()?, kind))
}

fn referrer_kind(parsed: &ParsedManifest, body: &[u8]) -> &'static str {
    let t = parsed.artifact_type.as_deref().unwrap_or_default();
    if COSIGN_TYPES.contains(&t) || t.starts_with(SIGSTORE_BUNDLE_PREFIX) {
        SIGNATURE_COSIGN
    } else if t == NOTATION_TYPE {
        SIGNATURE_NOTATION
    } else if SBOM_TYPES.contains(&t) {
        SBOM_HARBOR
    } else if has_nydus_bootstrap(body) {
        ACCELERATOR_NYDUS
    } else {
        SUBJECT_ACCESSORY
    }
}

fn has_nydus_bootstrap(body: &[u8]) -> bool {
    crate::oci::manifest::layers(body).is_some_and(|layers| {
        layers.iter().any(|l| {
            l.annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(NYDUS_BOOTSTRAP))
        })
    })
}

const ACCESSORY_FIELDS: &[Field] = &[
    field("type", "a.kind", Kind::Text),
    field("digest", "a.digest", Kind::Text),
    field("creation_time", "a.created_at", Kind::Time),
];

/// How deep a copy follows index children and accessories of accessories.
const MAX_COPY_DEPTH: usize = 4;

impl Registry {
    /// Harbor's `POST …/artifacts?from=<project>/<repo>:<tag>|@<digest>`: copy an artifact into
    /// `project/repo` with its index children and its accessories (signatures, SBOMs), linking
    /// blobs instead of copying bytes, and tagging it with the source tag when `from` names one.
    /// Needs pull on the source and push on the destination; the destination project's quota is
    /// charged as for a push. Returns the copied artifact's digest.
    pub async fn copy_artifact(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        from: &str,
    ) -> Result<Digest> {
        let dst = RepoName::parse(&format!("{project}/{repo}"))?;
        let src = crate::image::ImageRef::parse(from).map_err(|e| Error::BadRequest {
            reason: format!("from must be <project>/<repository>:<tag> or @<digest>: {e}"),
        })?;
        self.authorize_repo(p, None, &src.repo, crate::access::RepoAction::Pull)
            .await?;
        self.authorize_repo(p, None, &dst, crate::access::RepoAction::Push)
            .await?;
        let root = self.get_manifest(&src.repo, &src.reference).await?;
        let digest = Digest::parse(&root.digest)?;
        self.copy_tree(&src.repo, &dst, &digest, None, 0).await?;
        if let crate::oci::Reference::Tag(tag) = &src.reference {
            self.put_manifest(
                &dst,
                &crate::oci::Reference::Tag(tag.clone()),
                Some(&root.media_type),
                root.content.clone(),
                &[],
            )
            .await?;
        }
        Ok(digest)
    }

    /// Copy one manifest (children and blobs first, then accessories after it), under `tag`
    /// when given (a cosign tag of an accessory).
    fn copy_tree<'a>(
        &'a self,
        src: &'a RepoName,
        dst: &'a RepoName,
        digest: &'a Digest,
        tag: Option<String>,
        depth: usize,
    ) -> futures::future::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if depth > MAX_COPY_DEPTH {
                return Err(Error::BadRequest {
                    reason: format!("{digest} nests deeper than {MAX_COPY_DEPTH} levels"),
                });
            }
            let m = self
                .get_manifest(src, &crate::oci::Reference::Digest(digest.clone()))
                .await?;
            let parsed = crate::oci::manifest::parse(&m.content, Some(&m.media_type))?;
            for r in parsed.refs.iter().filter(|r| r.required) {
                match r.kind {
                    crate::oci::RefKind::Blob => {
                        if self.mount_blob(dst, &r.digest, Some(src)).await?.is_none() {
                            return Err(Error::BlobUnknown {
                                digest: r.digest.to_string(),
                            });
                        }
                    }
                    crate::oci::RefKind::Manifest => {
                        self.copy_tree(src, dst, &r.digest, None, depth + 1).await?;
                    }
                }
            }
            let reference = match tag {
                Some(t) => crate::oci::Reference::Tag(t),
                None => crate::oci::Reference::Digest(digest.clone()),
            };
            self.put_manifest(dst, &reference, Some(&m.media_type), m.content.clone(), &[])
                .await?;
            let accessories = self
                .meta
                .accessories_by_kind(src.as_str(), &[digest.to_string()], None)
                .await?;
            for a in accessories {
                let tag = (a.via == VIA_TAG).then(|| {
                    format!(
                        "{}.{}",
                        digest.to_string().replacen(':', "-", 1),
                        tag_suffix(&a.kind)
                    )
                });
                self.copy_tree(src, dst, &Digest::parse(&a.digest)?, tag, depth + 1)
                    .await?;
            }
            Ok(())
        })
    }

    pub(crate) fn accessory_view(&self, repo: &RepoName, row: AccessoryRow) -> Accessory {
        Accessory {
            digest: row.digest,
            kind: row.kind,
            size: row.size,
            subject_artifact_digest: row.subject,
            subject_artifact_repo: repo.to_string(),
            creation_time: time(row.created_at),
            icon: String::new(),
            verification: None,
        }
    }

    /// The accessories of an artifact, paged; `q` takes `type=…` (`signature.cosign`, …).
    pub async fn accessories(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
        q: &ListQuery,
    ) -> Result<Page<Accessory>> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Artifact, Action::Read)
            .await?;
        let spec = q.parse(ACCESSORY_FIELDS, &[("a.created_at", false)])?;
        for f in &spec.filters {
            if f.column == "a.kind"
                && let crate::query::Match::Exact(crate::query::Value::Text(t)) = &f.matcher
                && !TYPES.contains(&t.as_str())
            {
                return Err(Error::BadRequest {
                    reason: format!("unknown accessory type {t:?}; known: {}", TYPES.join(", ")),
                });
            }
        }
        let subject = self.artifact_row(&row, reference).await?;
        let name = RepoName::parse(&row.name)?;
        let (rows, total) = self
            .meta
            .list_accessories(row.id, &subject.digest, &spec)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in rows {
            let mut view = self.accessory_view(&name, r);
            view.verification = self.signature_status(&name, row.project_id, &view).await?;
            items.push(view);
        }
        Ok(spec.page_of(items, total))
    }
}
