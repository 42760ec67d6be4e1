//! SBOM documents (SPDX 2.3 JSON, CycloneDX 1.5 JSON) and their storage as an accessory.

use serde::Serialize;

use super::packages::{self, Package};
use crate::access::RepoAction;
use crate::auth::Principal;
use crate::error::{Error, Result};
use crate::image::ImageRef;
use crate::oci::manifest::{self, ManifestKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;

/// The artifact type of Harbor's SBOM accessory.
pub const SBOM_ARTIFACT_TYPE: &str = "application/vnd.goharbor.harbor.sbom.v1";
pub const SPDX_JSON: &str = "application/spdx+json";
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";

/// What [`Registry::generate_sbom`] stored.
#[derive(Debug, Clone, Serialize)]
pub struct Sbom {
    /// The SBOM accessory's manifest digest.
    pub digest: String,
    /// The image it describes.
    pub subject: String,
    /// The distribution (`debian 12`, `alpine 3.19`), when os-release names one.
    pub distro: Option<String>,
    pub packages: Vec<Package>,
    pub spdx: serde_json::Value,
    pub cyclonedx: serde_json::Value,
}

fn spdx_id(p: &Package, i: usize) -> String {
    let safe: String = p
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-Package-{}-{safe}-{i}", p.ecosystem)
}

/// SPDX 2.3 JSON of `packages` found in `name@digest`.
pub fn spdx(
    name: &str,
    digest: &str,
    distro: &str,
    packages: &[Package],
    created: &str,
) -> serde_json::Value {
    let pkgs: Vec<serde_json::Value> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = serde_json::json!({
                "name": p.name,
                "SPDXID": spdx_id(p, i),
                "versionInfo": p.version,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": false,
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "externalRefs": [{
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": p.purl(distro),
                }],
            });
            if let Some(s) = &p.source {
                v["sourceInfo"] = format!("built package from: {s}").into();
            }
            v
        })
        .collect();
    let relationships: Vec<serde_json::Value> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relationshipType": "DESCRIBES",
                "relatedSpdxElement": spdx_id(p, i),
            })
        })
        .collect();
    serde_json::json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{name}@{digest}"),
        "documentNamespace": format!("https://berth.dev/spdx/{name}/{digest}"),
        "creationInfo": {
            "created": created,
            "creators": [format!("Tool: berth-{}", env!("CARGO_PKG_VERSION"))],
        },
        "packages": pkgs,
        "relationships": relationships,
    })
}

/// CycloneDX 1.5 JSON of `packages` found in `name@digest`.
pub fn cyclonedx(
    name: &str,
    digest: &str,
    distro: &str,
    packages: &[Package],
    created: &str,
) -> serde_json::Value {
    let components: Vec<serde_json::Value> = packages
        .iter()
        .map(|p| {
            serde_json::json!({
                "type": "library",
                "bom-ref": p.purl(distro),
                "name": p.name,
                "version": p.version,
                "purl": p.purl(distro),
            })
        })
        .collect();
    serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "timestamp": created,
            "tools": { "components": [{ "type": "application", "name": "berth", "version": env!("CARGO_PKG_VERSION") }] },
            "component": { "type": "container", "name": name, "version": digest },
        },
        "components": components,
    })
}

impl Registry {
    /// Build the SBOM of an image from its layers and store it as its `sbom.harbor` accessory
    /// (an OCI 1.1 referrer holding the SPDX 2.3 and CycloneDX 1.5 documents). Needs push on the
    /// repository (it writes there). Images only; an index is `UNSUPPORTED` for now.
    pub async fn generate_sbom(&self, p: &Principal, image: &ImageRef) -> Result<Sbom> {
        self.authorize_repo(p, None, &image.repo, RepoAction::Push)
            .await?;
        let m = self.get_manifest(&image.repo, &image.reference).await?;
        self.build_sbom(&image.repo, &m).await
    }

    /// Build and store the SBOM of `m` in `repo` (no authorization: callers decide).
    pub(crate) async fn build_sbom(
        &self,
        repo: &RepoName,
        m: &crate::meta::StoredManifest,
    ) -> Result<Sbom> {
        let parsed = manifest::parse(&m.content, Some(&m.media_type))?;
        if parsed.kind == ManifestKind::Index {
            return Err(Error::Unsupported {
                reason: "an SBOM is built for an image; this is an index (pick a platform's image)"
                    .into(),
            });
        }
        let layers: Vec<(Digest, String)> = manifest::layers(&m.content)
            .ok_or_else(|| Error::manifest_invalid("its layers do not parse"))?
            .into_iter()
            .map(|d| Ok((Digest::parse(&d.digest)?, d.media_type)))
            .collect::<Result<_>>()?;
        let files = self
            .image_files(&layers, std::sync::Arc::new(packages::PackageFiles))
            .await?;
        let found = packages::packages(&files);
        let release = packages::os_release(&files);
        let distro = release
            .as_ref()
            .map_or("unknown", |(id, _)| id.as_str())
            .to_owned();
        let created =
            crate::model::time(self.now_ms()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let name = repo.as_str();
        let spdx_doc = spdx(name, &m.digest, &distro, &found, &created);
        let cdx_doc = cyclonedx(name, &m.digest, &distro, &found, &created);
        let sbom_digest = self.store_sbom(repo, m, &spdx_doc, &cdx_doc).await?;
        Ok(Sbom {
            digest: sbom_digest.to_string(),
            subject: m.digest.clone(),
            distro: release.map(|(id, v)| match v {
                Some(v) => format!("{id} {v}"),
                None => id,
            }),
            packages: found,
            spdx: spdx_doc,
            cyclonedx: cdx_doc,
        })
    }

    async fn store_sbom(
        &self,
        repo: &RepoName,
        subject: &crate::meta::StoredManifest,
        spdx_doc: &serde_json::Value,
        cdx_doc: &serde_json::Value,
    ) -> Result<Digest> {
        let mut layers = Vec::new();
        for (doc, media_type) in [(spdx_doc, SPDX_JSON), (cdx_doc, CYCLONEDX_JSON)] {
            let bytes = serde_json::to_vec(doc).expect("json serializes");
            let size = bytes.len();
            let digest = self.push_blob_bytes(repo, bytes.into()).await?;
            layers.push(serde_json::json!({
                "mediaType": media_type, "digest": digest.to_string(), "size": size,
            }));
        }
        let empty = self
            .push_blob_bytes(repo, bytes::Bytes::from_static(b"{}"))
            .await?;
        let body = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest::OCI_MANIFEST,
            "artifactType": SBOM_ARTIFACT_TYPE,
            "config": { "mediaType": manifest::OCI_EMPTY, "digest": empty.to_string(), "size": 2 },
            "layers": layers,
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest,
                "size": subject.content.len(),
            },
            "annotations": {
                "org.opencontainers.image.created": crate::model::time(self.now_ms()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "created-by": "berth",
            },
        }))
        .expect("json serializes");
        let digest = Digest::sha256_of(&body);
        self.put_manifest(
            repo,
            &Reference::Digest(digest.clone()),
            Some(manifest::OCI_MANIFEST),
            body.into(),
            &[],
        )
        .await?;
        Ok(digest)
    }
}
