//! SBOMs built from image layers (whiteouts applied in order) and stored as accessories.

use std::sync::Arc;

use bytes::Bytes;
use registry_core::image::{Content, ImageRef, NewImage, NewLayer};
use registry_core::model::ProjectReq;
use registry_core::{ErrorCode, ListQuery, Principal, Registry};

const SYS: &Principal = &Principal::System;

pub(crate) fn tgz(entries: &[(&str, &[u8])]) -> Bytes {
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

pub(crate) fn status(pkgs: &[(&str, &str)]) -> Vec<u8> {
    pkgs.iter()
        .map(|(n, v)| {
            format!(
                "Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// An in-memory registry with one project.
pub(crate) async fn registry_with(project: &str) -> Registry {
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
            project_name: project.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    reg
}

#[tokio::test]
async fn sbom_follows_the_layers_and_is_the_images_accessory() {
    let reg = registry_with("scan").await;
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

pub(crate) fn osv(
    id: &str,
    package: &str,
    events: serde_json::Value,
    extra: serde_json::Value,
) -> Vec<u8> {
    let mut v = serde_json::json!({
        "id": id, "modified": "2024-05-01T00:00:00Z", "aliases": [id.replace("DEBIAN-", "")],
        "summary": format!("{id} in {package}"),
        "affected": [{"package": {"ecosystem": "Debian:12", "name": package},
                      "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::to_vec(&v).unwrap()
}

pub(crate) const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
pub(crate) const HIGH: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";

#[tokio::test]
async fn vulnerability_scan_matches_osv_and_prevent_vul_blocks_pulls() {
    use registry_core::distribution::Caller;
    let reg = registry_with("vul").await;
    // libc6 and libc-bin are built from glibc; the advisories name the source package.
    let st =
        b"Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u3\n\n\
Package: libc-bin\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u3\n\n\
Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\n\n\
Package: zlib1g\nStatus: install ok installed\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n\n";
    let layer = tgz(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/dpkg/status", st),
    ]);
    let image = ImageRef::parse("vul/app:1").unwrap();
    let pushed = reg
        .push_image(
            &image,
            NewImage {
                layers: vec![NewLayer {
                    content: Content::Bytes(layer),
                    media_type: None,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let files = [
        // Fixed in a later point release (u10 > u3 in dpkg's order, not in a string's).
        osv(
            "DEBIAN-CVE-2023-4911",
            "glibc",
            serde_json::json!([{"introduced": "0"}, {"fixed": "2.36-9+deb12u10"}]),
            serde_json::json!({"severity": [{"type": "CVSS_V3", "score": HIGH}]}),
        ),
        // Fixed before the installed version.
        osv(
            "DEBIAN-CVE-2022-1664",
            "dpkg",
            serde_json::json!([{"introduced": "0"}, {"fixed": "1.21.8"}]),
            serde_json::json!({"severity": [{"type": "CVSS_V3", "score": CRITICAL}]}),
        ),
        // Debian's "not affected".
        osv(
            "DEBIAN-CVE-2023-45853",
            "zlib",
            serde_json::json!([{"introduced": "0"}, {"fixed": "0"}]),
            serde_json::json!({}),
        ),
    ];
    for (i, f) in files.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.json")), f).unwrap();
    }
    std::fs::write(dir.path().join("junk.json"), b"{\"not\": \"osv\"}").unwrap();
    let stats = reg.import_vulndb(dir.path()).await.unwrap();
    assert_eq!(
        (
            stats.advisories,
            stats.rows,
            stats.skipped,
            stats.total_advisories
        ),
        (3, 3, 1, 3)
    );
    assert!(reg.vulndb_updated_at().await.unwrap().is_some());

    let result = reg.scan(SYS, &image).await.unwrap();
    assert_eq!(result.digest, pushed.digest.to_string());
    let found: Vec<(String, String, String, String)> = result.report["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["package"].as_str().unwrap().to_owned(),
                v["severity"].as_str().unwrap().to_owned(),
                v["fix_version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let high = |p: &str| {
        (
            "DEBIAN-CVE-2023-4911".to_owned(),
            p.to_owned(),
            "High".to_owned(),
            "2.36-9+deb12u10".to_owned(),
        )
    };
    assert_eq!(found, [high("libc-bin"), high("libc6")]);
    assert_eq!(result.overview.severity, "High");
    assert_eq!(
        (
            result.overview.summary.total,
            result.overview.summary.fixable
        ),
        (2, 2)
    );
    // The overview is on the artifact; the report at …/additions/vulnerabilities.
    let art = reg.artifact(SYS, "vul", "app", "1").await.unwrap();
    let ov = &art.scan_overview[registry_core::scan::report::VULN_REPORT];
    assert_eq!(
        (ov.scan_status.as_str(), ov.severity.as_str()),
        ("Success", "High")
    );
    let reports = reg.vulnerabilities(SYS, &image).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert!(art.sbom_overview.is_none());
    let sbom = reg.generate_sbom(SYS, &image).await.unwrap();
    let art = reg.artifact(SYS, "vul", "app", "1").await.unwrap();
    assert_eq!(
        art.sbom_overview.map(|o| o.sbom_digest),
        Some(sbom.digest),
        "sbom_overview names the SBOM accessory"
    );

    // Re-importing an advisory replaces it: now the dpkg one covers the installed version.
    std::fs::write(
        dir.path().join("1.json"),
        osv(
            "DEBIAN-CVE-2022-1664",
            "dpkg",
            serde_json::json!([{"introduced": "0"}, {"fixed": "1.21.23"}]),
            serde_json::json!({"severity": [{"type": "CVSS_V3", "score": CRITICAL}]}),
        ),
    )
    .unwrap();
    reg.import_vulndb(&dir.path().join("1.json")).await.unwrap();
    let again = reg.scan(SYS, &image).await.unwrap();
    assert_eq!(again.overview.severity, "Critical");
    assert_eq!(again.overview.summary.total, 3);

    // prevent_vul: a guest's pull is refused, naming the CVE; an allowlist lets it through
    // until it expires.
    let guest = crate::access::user(&reg, "guest").await;
    crate::access::member(&reg, "vul", "guest", 3).await; // 3: guest
    let set = |k: &str, v: &str| [(k.to_owned(), v.to_owned())].into_iter().collect();
    reg.update_project(SYS, "vul", true, set("prevent_vul", "true"))
        .await
        .unwrap();
    reg.update_project(SYS, "vul", true, set("severity", "critical"))
        .await
        .unwrap();
    let pull = || async {
        reg.v2(&Caller::new(guest.clone()))
            .get_manifest(&image.repo, &image.reference)
            .await
            .map(|m| m.digest.clone())
    };
    let err = pull().await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ProjectPolicyViolation);
    assert!(err.to_string().contains("CVE-2022-1664"), "{err}");
    assert!(
        !err.to_string().contains("CVE-2023-4911"),
        "High is below the threshold: {err}"
    );
    let allow = |expires_at: Option<i64>| registry_core::policy::vulnerability::CveAllowlist {
        expires_at,
        items: vec![registry_core::policy::vulnerability::CveAllowlistItem {
            cve_id: "CVE-2022-1664".into(),
        }],
        ..Default::default()
    };
    reg.set_project_cve_allowlist(SYS, "vul", true, allow(None))
        .await
        .unwrap();
    assert_eq!(pull().await.unwrap(), pushed.digest.to_string());
    // The project's answer carries the list (Harbor's `cve_allowlist`), for a guest too.
    let shown = reg.project(&guest, "vul", true).await.unwrap();
    let list = shown
        .cve_allowlist
        .expect("one project's answer has its allowlist");
    assert_eq!(
        list.items
            .iter()
            .map(|i| i.cve_id.as_str())
            .collect::<Vec<_>>(),
        ["CVE-2022-1664"]
    );
    assert!(
        reg.projects(SYS, &Default::default())
            .await
            .unwrap()
            .items
            .iter()
            .all(|p| p.cve_allowlist.is_none()),
        "lists leave it out"
    );
    reg.set_project_cve_allowlist(SYS, "vul", true, allow(Some(1)))
        .await
        .unwrap();
    assert_eq!(
        pull().await.unwrap_err().code(),
        ErrorCode::ProjectPolicyViolation,
        "an expired allowlist counts for nothing"
    );
    // The system allowlist applies when the project reuses it.
    reg.update_project(SYS, "vul", true, set("reuse_sys_cve_allowlist", "true"))
        .await
        .unwrap();
    reg.set_system_cve_allowlist(SYS, allow(None))
        .await
        .unwrap();
    assert_eq!(pull().await.unwrap(), pushed.digest.to_string());
    // Only system administrators change it; a guest may not scan.
    assert_eq!(
        reg.set_system_cve_allowlist(&guest, allow(None))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    assert_eq!(
        reg.scan(&guest, &image).await.unwrap_err().code(),
        ErrorCode::Denied
    );
    assert_eq!(
        reg.set_project_cve_allowlist(SYS, "vul", true, {
            let mut a = allow(None);
            a.items[0].cve_id = "not a cve".into();
            a
        })
        .await
        .unwrap_err()
        .code(),
        ErrorCode::BadRequest
    );
}
