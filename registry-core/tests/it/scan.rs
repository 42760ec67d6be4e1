//! SBOMs built from image layers (whiteouts applied in order) and stored as accessories.

use std::sync::Arc;

use bytes::Bytes;
use registry_core::image::{Content, ImageRef, NewImage, NewLayer};
use registry_core::model::ProjectReq;
use registry_core::{ErrorCode, ListQuery, Principal, Registry};

const SYS: &Principal = &Principal::System;

fn tgz(entries: &[(&str, &[u8])]) -> Bytes {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, content) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path, *content).unwrap();
    }
    Bytes::from(b.into_inner().unwrap().finish().unwrap())
}

fn status(pkgs: &[(&str, &str)]) -> Vec<u8> {
    pkgs.iter()
        .map(|(n, v)| {
            format!(
                "Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn sbom_follows_the_layers_and_is_the_images_accessory() {
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        )
        .build()
        .unwrap();
    reg.create_project(
        SYS,
        ProjectReq {
            project_name: "scan".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let base_status = status(&[("libc6", "2.36-9+deb12u10"), ("old-tool", "1.0-1")]);
    let base = tgz(&[
        (
            "etc/os-release",
            b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        ("var/lib/dpkg/status", &base_status),
        ("var/lib/dpkg/status.d/gone", b"Package: gone\nVersion: 1\n"),
    ]);
    // The second layer installs a package over the status file, and whites out status.d/.
    let top_status = status(&[
        ("libc6", "2.36-9+deb12u10"),
        ("old-tool", "1.0-1"),
        ("curl", "7.88.1-10+deb12u12"),
    ]);
    let top = tgz(&[
        ("var/lib/dpkg/status", &top_status),
        ("var/lib/dpkg/.wh.status.d", b""),
        ("usr/bin/curl", b"\x7fELF"),
    ]);
    let layer = |b: Bytes| NewLayer {
        content: Content::Bytes(b),
        media_type: None,
    };
    let image = ImageRef::parse("scan/deb:12").unwrap();
    let pushed = reg
        .push_image(
            &image,
            NewImage {
                layers: vec![layer(base), layer(top)],
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let sbom = reg.generate_sbom(SYS, &image).await.unwrap();
    assert_eq!(sbom.subject, pushed.digest.to_string());
    assert_eq!(sbom.distro.as_deref(), Some("debian 12"));
    let names: Vec<(String, String)> = sbom
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("curl".to_owned(), "7.88.1-10+deb12u12".to_owned()),
            ("libc6".into(), "2.36-9+deb12u10".into()),
            ("old-tool".into(), "1.0-1".into()),
        ],
        "the top layer's status, and nothing of the whited-out status.d"
    );
    assert_eq!(sbom.spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(sbom.spdx["packages"].as_array().unwrap().len(), 3);
    assert_eq!(
        sbom.spdx["packages"][0]["externalRefs"][0]["referenceLocator"],
        "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u12?arch=amd64"
    );
    assert_eq!(sbom.cyclonedx["specVersion"], "1.5");
    assert_eq!(sbom.cyclonedx["components"].as_array().unwrap().len(), 3);

    // Stored as the image's sbom.harbor accessory, not as an artifact of its own.
    let listed = reg
        .artifacts(SYS, "scan", "deb", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    let acc = &listed.items[0].accessories;
    assert_eq!(acc.len(), 1);
    assert_eq!(
        (acc[0].kind.as_str(), acc[0].digest.as_str()),
        ("sbom.harbor", sbom.digest.as_str())
    );
    // Its first layer is the SPDX document, byte for byte what was returned.
    let m = reg
        .get_manifest(
            &image.repo,
            &registry_core::oci::Reference::Digest(
                registry_core::oci::Digest::parse(&sbom.digest).unwrap(),
            ),
        )
        .await
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&m.content).unwrap();
    assert_eq!(manifest["layers"][0]["mediaType"], "application/spdx+json");
    let spdx = reg
        .read_blob(
            &image.repo,
            &registry_core::oci::Digest::parse(manifest["layers"][0]["digest"].as_str().unwrap())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&spdx).unwrap(),
        sbom.spdx
    );

    // A guest may not write an SBOM; an unknown image is MANIFEST_UNKNOWN.
    assert_eq!(
        reg.generate_sbom(&Principal::Anonymous, &image)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    assert_eq!(
        reg.generate_sbom(SYS, &ImageRef::parse("scan/deb:nope").unwrap())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::ManifestUnknown
    );
}
