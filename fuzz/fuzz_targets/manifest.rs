//! The manifest and index parser (`registry_core::oci::manifest::parse`). Input: an optional
//! first line with the request's `Content-Type` (any input that does not start with `{` and has
//! a newline), then the body. Whatever it accepts must parse again, identically, with the media
//! type it chose, since that is how stored manifests are read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_core::oci::manifest::{
    self, DOCKER_LIST, DOCKER_MANIFEST, MAX_MANIFEST_BYTES, OCI_INDEX, OCI_MANIFEST,
};
use registry_core::oci::{ManifestKind, RefKind};

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) if data.first() != Some(&b'{') => (
            Some(String::from_utf8_lossy(&data[..i]).into_owned()),
            &data[i + 1..],
        ),
        _ => (None, data),
    };
    let parsed = match manifest::parse(body, content_type.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(e.code().as_str(), "MANIFEST_INVALID", "{e}");
            return;
        }
    };
    assert!(body.len() <= MAX_MANIFEST_BYTES);
    assert!(manifest::is_manifest_media_type(&parsed.media_type));
    match parsed.kind {
        ManifestKind::Image => {
            assert!(matches!(
                parsed.media_type.as_str(),
                OCI_MANIFEST | DOCKER_MANIFEST
            ));
            // The config comes first and is always required.
            assert!(parsed.refs.first().is_some_and(|c| c.required));
            assert!(parsed.refs.iter().all(|r| r.kind == RefKind::Blob));
            assert!(parsed.artifact_type.is_some());
        }
        ManifestKind::Index => {
            assert!(matches!(
                parsed.media_type.as_str(),
                OCI_INDEX | DOCKER_LIST
            ));
            assert!(parsed.refs.iter().all(|r| r.kind == RefKind::Manifest));
        }
    }
    assert!(parsed.refs.iter().all(|r| r.size >= 0));
    for r in &parsed.refs {
        assert_eq!(
            registry_core::oci::Digest::parse(&r.digest.to_string()).ok(),
            Some(r.digest.clone())
        );
    }

    // Read back with the stored media type, as GC and the referrers API do.
    let again = manifest::parse(body, Some(&parsed.media_type))
        .unwrap_or_else(|e| panic!("accepted once, refused with its own media type: {e}"));
    assert_eq!(again.kind, parsed.kind);
    assert_eq!(again.media_type, parsed.media_type);
    assert_eq!(again.artifact_type, parsed.artifact_type);
    assert_eq!(again.subject, parsed.subject);
    assert_eq!(again.annotations, parsed.annotations);
    assert_eq!(again.refs, parsed.refs);
});
