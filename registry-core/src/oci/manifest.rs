//! Manifest and index parsing, validation and reference walking.
//!
//! Manifests are stored and served as the exact bytes received; this module only parses them to
//! validate and to index what they point at (config, layers, child manifests, subject).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::oci::digest::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// The empty config descriptor media type used by artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Largest manifest accepted, in bytes (the spec asks registries to accept at least 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// What a manifest document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An image (or artifact) manifest: config + layers.
    Image,
    /// An index / manifest list: child manifests.
    Index,
}

/// An OCI descriptor, as far as Berth needs it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub artifact_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<serde_json::Value>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// A reference from a manifest to another piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRef {
    pub digest: Digest,
    pub size: i64,
    /// A blob (config, layer) or a child manifest.
    pub kind: RefKind,
    /// Whether the registry must already hold it. Layers that live elsewhere (non-distributable
    /// layers with `urls`) are recorded but not required.
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Blob,
    Manifest,
}

impl RefKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Blob => "blob",
            Self::Manifest => "manifest",
        }
    }
}

/// The validated, indexed view of a manifest.
#[derive(Debug, Clone)]
pub struct ParsedManifest {
    pub kind: ManifestKind,
    /// The media type it is stored and served with.
    pub media_type: String,
    /// `artifactType`, or for image manifests without one, the config media type.
    pub artifact_type: Option<String>,
    pub subject: Option<Digest>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub refs: Vec<ContentRef>,
}

fn kind_of_media_type(mt: &str) -> Option<ManifestKind> {
    match mt {
        OCI_MANIFEST | DOCKER_MANIFEST => Some(ManifestKind::Image),
        OCI_INDEX | DOCKER_LIST => Some(ManifestKind::Index),
        _ => None,
    }
}

/// True for the media types a manifest endpoint can store.
pub fn is_manifest_media_type(mt: &str) -> bool {
    kind_of_media_type(mt).is_some()
}

fn descriptor_ref(d: &Descriptor, kind: RefKind, what: &str) -> Result<ContentRef> {
    let digest = Digest::parse(&d.digest)
        .map_err(|e| Error::manifest_invalid(format!("{what} has an invalid digest: {e}")))?;
    if d.size < 0 {
        return Err(Error::manifest_invalid(format!(
            "{what} has a negative size"
        )));
    }
    if d.media_type.is_empty() {
        return Err(Error::manifest_invalid(format!("{what} has no mediaType")));
    }
    let external = d.urls.as_ref().is_some_and(|u| !u.is_empty());
    Ok(ContentRef {
        digest,
        size: d.size,
        kind,
        required: !external,
    })
}

/// The layer descriptors of a stored image manifest (empty for an index), or `None` when the
/// bytes are not a manifest of that shape. For manifests [`parse`] has already accepted.
pub fn layers(bytes: &[u8]) -> Option<Vec<Descriptor>> {
    #[derive(Deserialize)]
    struct Layers {
        #[serde(default)]
        layers: Vec<Descriptor>,
    }
    serde_json::from_slice::<Layers>(bytes)
        .ok()
        .map(|l| l.layers)
}

/// Parse and validate a manifest body.
///
/// `content_type` is the request's `Content-Type`, if any. When the body carries a `mediaType`
/// it must agree with the header.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedManifest> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(Error::manifest_invalid(format!(
            "manifest is {} bytes, the limit is {MAX_MANIFEST_BYTES}",
            bytes.len()
        )));
    }
    let raw: RawManifest = serde_json::from_slice(bytes)
        .map_err(|e| Error::manifest_invalid(format!("malformed manifest JSON: {e}")))?;
    let content_type = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty());
    if let (Some(body), Some(header)) = (raw.media_type.as_deref(), content_type)
        && body != header
    {
        return Err(Error::manifest_invalid(format!(
            "mediaType {body:?} does not match Content-Type {header:?}"
        )));
    }
    if let Some(mt) = content_type.or(raw.media_type.as_deref())
        && matches!(mt, DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED)
    {
        return Err(Error::manifest_invalid(
            "Docker schema 1 manifests are not supported",
        ));
    }
    let declared = raw.media_type.as_deref().or(content_type);
    let kind = match declared.and_then(kind_of_media_type) {
        Some(k) => k,
        None if declared.is_some() => {
            return Err(Error::manifest_invalid(format!(
                "unsupported manifest media type {:?}",
                declared.unwrap_or_default()
            )));
        }
        None if raw.manifests.is_some() => ManifestKind::Index,
        None if raw.config.is_some() => ManifestKind::Image,
        None => {
            return Err(Error::manifest_invalid(
                "cannot tell the manifest kind: no mediaType",
            ));
        }
    };
    let media_type = declared.map(str::to_owned).unwrap_or_else(|| match kind {
        ManifestKind::Image => OCI_MANIFEST.to_owned(),
        ManifestKind::Index => OCI_INDEX.to_owned(),
    });
    match raw.schema_version.as_ref().and_then(|v| v.as_i64()) {
        Some(2) => {}
        _ => return Err(Error::manifest_invalid("schemaVersion must be 2")),
    }

    let mut refs = Vec::new();
    let mut artifact_type = raw.artifact_type.clone();
    match kind {
        ManifestKind::Image => {
            if raw.manifests.is_some() {
                return Err(Error::manifest_invalid(
                    "an image manifest cannot have manifests",
                ));
            }
            let config = raw
                .config
                .as_ref()
                .ok_or_else(|| Error::manifest_invalid("image manifest without config"))?;
            let layers = raw
                .layers
                .as_ref()
                .ok_or_else(|| Error::manifest_invalid("image manifest without layers"))?;
            let mut c = descriptor_ref(config, RefKind::Blob, "config")?;
            c.required = true;
            refs.push(c);
            for (i, l) in layers.iter().enumerate() {
                refs.push(descriptor_ref(l, RefKind::Blob, &format!("layer {i}"))?);
            }
            if artifact_type.is_none() {
                artifact_type = Some(config.media_type.clone());
            }
        }
        ManifestKind::Index => {
            if raw.config.is_some() || raw.layers.is_some() {
                return Err(Error::manifest_invalid(
                    "an index cannot have config or layers",
                ));
            }
            let children = raw
                .manifests
                .as_ref()
                .ok_or_else(|| Error::manifest_invalid("index without manifests"))?;
            for (i, m) in children.iter().enumerate() {
                refs.push(descriptor_ref(
                    m,
                    RefKind::Manifest,
                    &format!("manifest {i}"),
                )?);
            }
        }
    }
    let subject = match &raw.subject {
        Some(s) => Some(descriptor_ref(s, RefKind::Manifest, "subject")?.digest),
        None => None,
    };
    Ok(ParsedManifest {
        kind,
        media_type,
        artifact_type,
        subject,
        annotations: raw.annotations,
        refs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(data: &[u8]) -> String {
        Digest::sha256_of(data).to_string()
    }

    #[test]
    fn image_manifest_refs_and_artifact_type() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}",
            "config":{{"mediaType":"application/x.cfg","digest":"{}","size":2}},
            "layers":[{{"mediaType":"application/x.l","digest":"{}","size":1}},
                      {{"mediaType":"application/x.nd","digest":"{}","size":1,"urls":["https://x"]}}],
            "subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":3}}}}"#,
            d(b"c"),
            d(b"l"),
            d(b"n"),
            d(b"s")
        );
        let p = parse(body.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(p.kind, ManifestKind::Image);
        assert_eq!(p.artifact_type.as_deref(), Some("application/x.cfg"));
        assert_eq!(p.refs.len(), 3);
        assert!(p.refs[1].required && !p.refs[2].required);
        assert_eq!(p.subject.unwrap().to_string(), d(b"s"));
    }

    #[test]
    fn rejects_bad_manifests() {
        let cases: &[(&str, Option<&str>)] = &[
            ("not json", None),
            ("{}", Some(OCI_MANIFEST)),
            (
                r#"{"schemaVersion":1,"config":{"mediaType":"a","digest":"sha256:00","size":1},"layers":[]}"#,
                None,
            ),
            (
                &format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#),
                Some(OCI_MANIFEST),
            ),
            (
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:zz","size":1},"layers":[]}"#,
                None,
            ),
        ];
        for (body, ct) in cases {
            let e = parse(body.as_bytes(), *ct).unwrap_err();
            assert_eq!(e.code().as_str(), "MANIFEST_INVALID", "{body}");
        }
        let big = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert_eq!(
            parse(&big, None).unwrap_err().code().as_str(),
            "MANIFEST_INVALID"
        );
    }

    #[test]
    fn index_without_media_type_is_inferred() {
        let body = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5}}]}}"#,
            d(b"m")
        );
        let p = parse(body.as_bytes(), None).unwrap();
        assert_eq!(p.kind, ManifestKind::Index);
        assert_eq!(p.media_type, OCI_INDEX);
        assert_eq!(p.refs[0].kind, RefKind::Manifest);
    }
}
