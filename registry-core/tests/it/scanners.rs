//! Scanner registrations (`/scanners`, a project's scanner) and the robots Berth makes for a
//! pluggable scanner's pull.

use std::sync::Arc;

use registry_core::auth::RobotIdentity;
use registry_core::auth::rbac::{Access, Action, Effect, RobotPermission};
use registry_core::distribution::Caller;
use registry_core::image::{Content, ImageRef, NewImage, NewLayer};
use registry_core::model::{ProjectReq, RobotReq};
use registry_core::scan::scanner::{ProjectScanner, ScannerRegistrationReq};
use registry_core::{ErrorCode, Principal, Registry};

const SYS: &Principal = &Principal::System;

async fn registry() -> (Registry, Arc<dyn registry_core::meta::MetadataStore>) {
    let meta = registry_core::registry::open_metadata("memory://")
        .await
        .unwrap();
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(meta.clone())
        .build()
        .unwrap();
    for name in ["team", "other"] {
        reg.create_project(
            SYS,
            ProjectReq {
                project_name: name.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    (reg, meta)
}

fn req(name: &str, url: &str, auth: &str, credential: Option<&str>) -> ScannerRegistrationReq {
    ScannerRegistrationReq {
        name: name.into(),
        url: url.into(),
        auth: auth.into(),
        access_credential: credential.map(str::to_owned),
        use_internal_addr: true,
        ..Default::default()
    }
}

/// A robot principal (ids differ: permission answers are cached per robot id).
fn robot(id: i64, permissions: Vec<RobotPermission>) -> Principal {
    Principal::Robot(RobotIdentity {
        id,
        name: "robot$team+someone".into(),
        level: "project".into(),
        permissions,
    })
}

fn pull_permission(project: &str, action: Action, repository: Option<&str>) -> RobotPermission {
    RobotPermission {
        kind: "project".into(),
        namespace: project.into(),
        access: vec![Access {
            resource: "repository".into(),
            action,
            effect: Effect::Allow,
        }],
        repository: repository.map(str::to_owned),
    }
}

#[tokio::test]
async fn registrations_crud_masking_sealing_defaults_and_who_may() {
    let (reg, meta) = registry().await;
    let admin = crate::access::user(&reg, "padmin").await;
    let dev = crate::access::user(&reg, "dev").await;
    crate::access::member(&reg, "team", "padmin", 1).await; // project admin
    crate::access::member(&reg, "team", "dev", 2).await; // developer
    let pull_robot = robot(4240, vec![pull_permission("team", Action::Pull, None)]);
    let secret = "scanner:Hunter2-secret";
    let new = || req("trivy", "http://127.0.0.1:8081/", "Basic", Some(secret));

    // Least-privileged callers manage nothing.
    for (who, code) in [
        (&Principal::Anonymous, ErrorCode::Unauthorized),
        (&admin, ErrorCode::Denied),
        (&dev, ErrorCode::Denied),
        (&pull_robot, ErrorCode::Denied),
    ] {
        let name = who.name().to_owned();
        let e = reg
            .create_scanner_registration(who, new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{name} creates");
        let e = reg.scanner_registrations(who).await.unwrap_err();
        assert_eq!(e.code(), code, "{name} lists");
        let e = reg
            .set_default_scanner(who, "builtin", true)
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{name} sets the default");
        let e = reg
            .delete_scanner_registration(who, "builtin")
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{name} deletes");
    }

    // Create: the credential is masked in every view and sealed at rest.
    let created = reg.create_scanner_registration(SYS, new()).await.unwrap();
    assert_eq!(created.url, "http://127.0.0.1:8081");
    assert_eq!(created.access_credential, "*****");
    let stored = meta.scanner(&created.uuid).await.unwrap().unwrap();
    assert!(
        !stored.access_credential.contains("Hunter2")
            && stored.access_credential.starts_with("enc:v1:"),
        "sealed: {}",
        stored.access_credential
    );
    let e = reg
        .create_scanner_registration(SYS, new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AlreadyExists, "a name is taken once");
    for bad in [
        req("x", "ftp://host", "", None),
        req("x", "http://u:p@host", "", None),
        req("x", "http://host", "Digest", Some("a")),
        req("x", "http://host", "Bearer", None),
        req("x", "http://host", "Basic", Some("no-colon")),
        req("builtin", "http://host", "", None),
    ] {
        assert!(
            reg.create_scanner_registration(SYS, bad.clone())
                .await
                .is_err(),
            "{bad:?}"
        );
    }

    // The built-in scanner is listed first and is the default until another is set.
    let list = reg.scanner_registrations(SYS).await.unwrap();
    let defaults = |l: &[registry_core::scan::scanner::ScannerRegistration]| {
        l.iter()
            .map(|r| (r.uuid.clone(), r.is_default))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        defaults(&list),
        [("builtin".into(), true), (created.uuid.clone(), false)]
    );
    assert!(list.iter().all(|r| !format!("{r:?}").contains("Hunter2")));
    reg.set_default_scanner(SYS, &created.uuid, true)
        .await
        .unwrap();
    assert_eq!(
        defaults(&reg.scanner_registrations(SYS).await.unwrap()),
        [("builtin".into(), false), (created.uuid.clone(), true)]
    );
    let e = reg
        .delete_scanner_registration(SYS, &created.uuid)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PreconditionFailed, "the default stays");
    let mut disable = new();
    disable.disabled = true;
    disable.access_credential = Some("*****".into());
    assert!(
        reg.update_scanner_registration(SYS, &created.uuid, disable)
            .await
            .is_err(),
        "the default cannot be disabled"
    );
    reg.set_default_scanner(SYS, "builtin", true).await.unwrap();
    assert!(
        reg.scanner_registration(SYS, "builtin")
            .await
            .unwrap()
            .is_default
    );

    // Update: the mask keeps the stored credential; a new URL without one drops it.
    let mut keep = new();
    keep.access_credential = Some("*****".into());
    keep.description = "changed".into();
    reg.update_scanner_registration(SYS, &created.uuid, keep)
        .await
        .unwrap();
    let again = meta.scanner(&created.uuid).await.unwrap().unwrap();
    assert_eq!(again.access_credential, stored.access_credential);
    assert_eq!(again.description, "changed");
    let moved = req("trivy", "http://elsewhere:8081", "Basic", None);
    let e = reg
        .update_scanner_registration(SYS, &created.uuid, moved)
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::BadRequest,
        "Basic without a credential at a new URL: the old one is not sent there"
    );
    let moved = req("trivy", "http://elsewhere:8081", "", None);
    let view = reg
        .update_scanner_registration(SYS, &created.uuid, moved)
        .await
        .unwrap();
    assert_eq!(view.access_credential, "");
    assert_eq!(
        meta.scanner(&created.uuid)
            .await
            .unwrap()
            .unwrap()
            .access_credential,
        ""
    );

    // The built-in scanner cannot be changed or deleted.
    assert_eq!(
        reg.delete_scanner_registration(SYS, "builtin")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::PreconditionFailed
    );
    assert!(
        reg.update_scanner_registration(SYS, "builtin", new())
            .await
            .is_err()
    );

    // A project's scanner: its admin chooses (a developer may not), members read it.
    let choose = || ProjectScanner {
        uuid: created.uuid.clone(),
    };
    assert_eq!(
        reg.set_project_scanner(&dev, "team", true, choose())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    assert!(
        reg.set_project_scanner(&admin, "other", true, choose())
            .await
            .is_err(),
        "not a member of other"
    );
    reg.set_project_scanner(&admin, "team", true, choose())
        .await
        .unwrap();
    assert_eq!(
        reg.project_scanner(&dev, "team", true).await.unwrap().uuid,
        created.uuid
    );
    assert_eq!(
        reg.project_scanner(SYS, "other", true).await.unwrap().uuid,
        "builtin"
    );
    let candidates = reg
        .project_scanner_candidates(&admin, "team", true)
        .await
        .unwrap();
    assert_eq!(candidates.len(), 2);
    // Disabled, the choice falls back to the default.
    let mut off = req("trivy", "http://elsewhere:8081", "", None);
    off.disabled = true;
    reg.update_scanner_registration(SYS, &created.uuid, off)
        .await
        .unwrap();
    assert_eq!(
        reg.project_scanner(&dev, "team", true).await.unwrap().uuid,
        "builtin"
    );
    reg.delete_scanner_registration(SYS, &created.uuid)
        .await
        .unwrap();
    assert_eq!(reg.scanner_registrations(SYS).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_scanner_robot_pulls_one_repository_past_prevent_vul_a_pull_robot_does_not() {
    let (reg, _) = registry().await;
    let layer = crate::scan::tgz(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        (
            "var/lib/dpkg/status",
            b"Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\n\n",
        ),
    ]);
    let mut pushed = Vec::new();
    for name in ["team/app:1", "team/other:1"] {
        let image = ImageRef::parse(name).unwrap();
        reg.push_image(
            &image,
            NewImage {
                layers: vec![NewLayer {
                    content: Content::Bytes(layer.clone()),
                    media_type: None,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        pushed.push(image);
    }
    // Scanned and not clean: prevent_vul (any severity) refuses it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.json"),
        serde_json::to_vec(&serde_json::json!({
            "id": "DEBIAN-CVE-2022-1664", "modified": "2024-05-01T00:00:00Z",
            "aliases": ["CVE-2022-1664"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "dpkg"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.21.23"}]}]}],
        }))
        .unwrap(),
    )
    .unwrap();
    reg.import_vulndb(dir.path()).await.unwrap();
    reg.scan(SYS, &pushed[0]).await.unwrap();
    let set = |k: &str, v: &str| [(k.to_owned(), v.to_owned())].into_iter().collect();
    reg.update_project(SYS, "team", true, set("prevent_vul", "true"))
        .await
        .unwrap();
    let pull = |p: Principal, image: &ImageRef| {
        let (reg, image) = (reg.clone(), image.clone());
        async move {
            reg.v2(&Caller::new(p))
                .get_manifest(&image.repo, &image.reference)
                .await
                .map(|m| m.digest.clone())
        }
    };

    // A robot that holds pull is held to the policy.
    let pull_robot = robot(4241, vec![pull_permission("team", Action::Pull, None)]);
    assert_eq!(
        pull(pull_robot, &pushed[0]).await.unwrap_err().code(),
        ErrorCode::ProjectPolicyViolation
    );
    // scanner-pull without a repository grants nothing (and bypasses nothing).
    let loose = robot(
        4242,
        vec![pull_permission("team", Action::ScannerPull, None)],
    );
    assert!(pull(loose, &pushed[0]).await.is_err());
    // The scanner's robot pulls its repository, past the policy, and nothing else.
    let scanner = robot(
        4243,
        vec![pull_permission(
            "team",
            Action::ScannerPull,
            Some("team/app"),
        )],
    );
    assert!(pull(scanner.clone(), &pushed[0]).await.is_ok());
    assert_eq!(
        pull(scanner.clone(), &pushed[1]).await.unwrap_err().code(),
        ErrorCode::Denied
    );
    // Its token grants pull on that repository only.
    let token = reg
        .issue_token(
            &scanner,
            None,
            &[
                "repository:team/app:pull".into(),
                "repository:team/other:pull".into(),
            ],
        )
        .await
        .unwrap();
    let granted: Vec<(String, Vec<String>)> = token
        .access
        .iter()
        .map(|a| (a.name.clone(), a.actions.clone()))
        .collect();
    assert_eq!(
        granted,
        [
            ("team/app".to_owned(), vec!["pull".to_owned()]),
            ("team/other".to_owned(), vec![])
        ]
    );
    // Nobody grants such a permission through the API.
    let e = reg
        .create_robot(
            SYS,
            RobotReq {
                name: "sneaky".into(),
                level: "project".into(),
                duration: 1,
                permissions: vec![pull_permission(
                    "team",
                    Action::ScannerPull,
                    Some("team/app"),
                )],
                description: String::new(),
                disable: false,
                secret: None,
                id: None,
                editable: None,
                expires_at: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadRequest);
}
