//! Scans as jobs (queue, run, fail, stop, and the event each ends with), scan all with its
//! metrics, the security hub, CVE export and vulnerability database uploads.

use bytes::Bytes;
use registry_core::image::{Content, ImageRef, NewImage, NewLayer};
use registry_core::model::{JobSchedule, ScheduleObj};
use registry_core::scan::hub::CveExportReq;
use registry_core::scan::jobs::ScanType;
use registry_core::scan::report::VULN_REPORT;
use registry_core::{ErrorCode, ListQuery, Principal, Registry};

use crate::scan::{CRITICAL, osv, registry_with, status, tgz};

const SYS: &Principal = &Principal::System;

/// A Debian image whose dpkg 1.21.22 the imported advisory covers (Critical).
async fn vulnerable(reg: &Registry, image: &str) -> ImageRef {
    vulnerable_with(reg, image, "5.2.15-2+b2").await
}

/// The same with another bash version: another digest.
async fn vulnerable_with(reg: &Registry, image: &str, bash: &str) -> ImageRef {
    let st = status(&[("dpkg", "1.21.22"), ("bash", bash)]);
    let layer = tgz(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/dpkg/status", &st),
    ]);
    let image = ImageRef::parse(image).unwrap();
    reg.push_image(
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
    image
}

async fn import(reg: &Registry) {
    let record = osv(
        "DEBIAN-CVE-2022-1664",
        "dpkg",
        serde_json::json!([{"introduced": "0"}, {"fixed": "1.21.23"}]),
        serde_json::json!({"severity": [{"type": "CVSS_V3", "score": CRITICAL}]}),
    );
    let mut body = futures::stream::iter([Ok(Bytes::from(record))]);
    reg.import_vulndb_upload(SYS, &mut body, 1 << 20)
        .await
        .unwrap();
}

async fn overview(reg: &Registry, project: &str, repo: &str, reference: &str) -> (String, String) {
    let a = reg.artifact(SYS, project, repo, reference).await.unwrap();
    let o = &a.scan_overview[VULN_REPORT];
    (o.scan_status.clone(), o.severity.clone())
}

/// The audit entries of one event type.
async fn events(reg: &Registry, kind: &str) -> Vec<String> {
    reg.audit_log_exts(SYS, &ListQuery::new().q(format!("event_type={kind}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.resource)
        .collect()
}

fn manual() -> JobSchedule {
    JobSchedule {
        schedule: Some(ScheduleObj {
            kind: "Manual".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_scan_is_a_job_that_ends_with_one_event() {
    let reg = registry_with("jobs").await;
    import(&reg).await;
    let image = vulnerable(&reg, "jobs/app:1").await;
    let guest = crate::access::user(&reg, "jobs-guest").await;
    crate::access::member(&reg, "jobs", "jobs-guest", 3).await;

    reg.start_scan(SYS, &image, ScanType::Vulnerability)
        .await
        .unwrap();
    assert_eq!(
        overview(&reg, "jobs", "app", "1").await.0,
        "Pending",
        "queued: the overview says so at once"
    );
    assert_eq!(
        reg.start_scan(SYS, &image, ScanType::Vulnerability)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Conflict,
        "one scan of an artifact at a time"
    );
    assert!(reg.run_jobs_until_idle().await.unwrap() >= 1);
    assert_eq!(
        overview(&reg, "jobs", "app", "1").await,
        ("Success".to_owned(), "Critical".to_owned())
    );
    assert_eq!(events(&reg, "SCANNING_COMPLETED").await.len(), 1);

    // A scan that fails records Error and SCANNING_FAILED, naming the cause in the task.
    let broken = ImageRef::parse("jobs/zstd:1").unwrap();
    reg.push_image(
        &broken,
        NewImage {
            layers: vec![NewLayer {
                content: Content::Bytes(Bytes::from_static(b"(not really zstd)")),
                media_type: Some("application/vnd.oci.image.layer.v1.tar+zstd".into()),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let id = reg
        .start_scan(SYS, &broken, ScanType::Vulnerability)
        .await
        .unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    assert_eq!(overview(&reg, "jobs", "zstd", "1").await.0, "Error");
    assert_eq!(reg.execution(id).await.unwrap().status, "Error");
    assert!(
        reg.execution_log(id).await.unwrap().contains("zstd"),
        "{}",
        reg.execution_log(id).await.unwrap()
    );
    assert!(reg.scan_log(SYS, &broken).await.unwrap().contains("zstd"));
    assert_eq!(
        reg.scan_log(&guest, &broken).await.unwrap_err().code(),
        ErrorCode::Denied,
        "a scan's log (node names, adapter URLs) is for those who may scan"
    );
    let failed = events(&reg, "SCANNING_FAILED").await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0].starts_with("jobs/zstd@sha256:"), "{failed:?}");

    // A stop before a worker takes the scan: Stopped, SCANNING_STOPPED, nothing runs.
    assert_eq!(
        reg.stop_scan(SYS, &image, ScanType::Vulnerability)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound,
        "nothing to stop"
    );
    let id = reg
        .start_scan(SYS, &image, ScanType::Vulnerability)
        .await
        .unwrap();
    assert_eq!(
        reg.stop_scan(&guest, &image, ScanType::Vulnerability)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied,
        "a guest may not stop a scan"
    );
    reg.stop_scan(SYS, &image, ScanType::Vulnerability)
        .await
        .unwrap();
    assert_eq!(reg.execution(id).await.unwrap().status, "Stopped");
    reg.run_jobs_until_idle().await.unwrap();
    assert_eq!(overview(&reg, "jobs", "app", "1").await.0, "Stopped");
    assert_eq!(events(&reg, "SCANNING_STOPPED").await.len(), 1);
    assert_eq!(events(&reg, "SCANNING_COMPLETED").await.len(), 1);

    // Who may: a guest may neither scan nor build an SBOM.
    for kind in [ScanType::Vulnerability, ScanType::Sbom] {
        assert_eq!(
            reg.start_scan(&guest, &image, kind)
                .await
                .unwrap_err()
                .code(),
            ErrorCode::Denied
        );
    }
    // An SBOM is a job too, and becomes the artifact's accessory.
    reg.start_scan(SYS, &image, ScanType::Sbom).await.unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    let a = reg.artifact(SYS, "jobs", "app", "1").await.unwrap();
    assert!(
        a.sbom_overview.is_some(),
        "the SBOM job stored the accessory"
    );
}

#[tokio::test]
async fn scan_all_walks_every_image_and_reports_its_progress() {
    let reg = registry_with("all").await;
    import(&reg).await;
    vulnerable(&reg, "all/one:1").await;
    vulnerable_with(&reg, "all/two:1", "5.2.15-2+b3").await;
    let stats = reg.scan_all_metrics(SYS, false).await.unwrap();
    assert_eq!((stats.total, stats.trigger.as_str()), (0, ""), "never ran");

    let id = reg
        .set_scan_all_schedule(SYS, &manual())
        .await
        .unwrap()
        .expect("a manual run starts one");
    assert_eq!(
        reg.set_scan_all_schedule(SYS, &manual())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Conflict
    );
    let stats = reg.scan_all_metrics(SYS, false).await.unwrap();
    assert!(stats.ongoing);
    assert_eq!(stats.total, 2);
    reg.run_jobs_until_idle().await.unwrap();
    let stats = reg.scan_all_metrics(SYS, false).await.unwrap();
    assert_eq!(
        (
            stats.total,
            stats.completed,
            stats.ongoing,
            stats.trigger.as_str()
        ),
        (2, 2, false, "MANUAL")
    );
    assert_eq!(stats.metrics.get("Success"), Some(&2));
    assert_eq!(reg.execution(id).await.unwrap().status, "Success");
    assert_eq!(overview(&reg, "all", "two", "1").await.1, "Critical");
    assert_eq!(
        reg.scan_all_metrics(SYS, true).await.unwrap().total,
        0,
        "no scheduled run yet"
    );

    // A cron schedule is stored and shown; None removes it.
    let mut daily = manual();
    daily.schedule.as_mut().unwrap().kind = "Custom".into();
    daily.schedule.as_mut().unwrap().cron = "0 0 3 * * *".into();
    assert_eq!(reg.set_scan_all_schedule(SYS, &daily).await.unwrap(), None);
    let shown = reg.scan_all_schedule(SYS).await.unwrap();
    assert_eq!(shown.schedule.unwrap().cron, "0 0 3 * * *");
    let mut none = manual();
    none.schedule.as_mut().unwrap().kind = "None".into();
    reg.set_scan_all_schedule(SYS, &none).await.unwrap();
    assert_eq!(
        reg.scan_all_schedule(SYS)
            .await
            .unwrap()
            .schedule
            .unwrap()
            .kind,
        "None"
    );

    // A stop ends the run; only administrators may do any of it.
    assert_eq!(
        reg.stop_scan_all(SYS).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    reg.set_scan_all_schedule(SYS, &manual()).await.unwrap();
    reg.stop_scan_all(SYS).await.unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    assert!(!reg.scan_all_metrics(SYS, false).await.unwrap().ongoing);
    let alice = crate::access::user(&reg, "all-alice").await;
    crate::access::member(&reg, "all", "all-alice", 1).await;
    assert_eq!(
        reg.set_scan_all_schedule(&alice, &manual())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied,
        "a project admin is not a system admin"
    );
    assert_eq!(
        reg.scan_all_metrics(&alice, false)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    let mut params = manual();
    params.parameters.insert("x".into(), 1.into());
    assert_eq!(
        reg.set_scan_all_schedule(SYS, &params)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::BadRequest
    );
}

#[tokio::test]
async fn the_security_hub_and_cve_exports_follow_permissions() {
    let reg = registry_with("hub").await;
    reg.create_project(
        SYS,
        registry_core::model::ProjectReq {
            project_name: "secret".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    import(&reg).await;
    let image = vulnerable(&reg, "hub/app:1").await;
    reg.scan(SYS, &image).await.unwrap();
    let hidden = vulnerable(&reg, "secret/app:1").await;
    reg.scan(SYS, &hidden).await.unwrap();

    let summary = reg.security_summary(SYS, true, true).await.unwrap();
    assert_eq!(
        (
            summary.critical_cnt,
            summary.total_vuls,
            summary.scanned_cnt,
            summary.fixable_cnt
        ),
        (2, 2, 2, 2),
        "one image (one digest) in two repositories: two artifacts"
    );
    let cves = summary.dangerous_cves.unwrap();
    assert_eq!(
        cves.iter().map(|c| c.cve_id.as_str()).collect::<Vec<_>>(),
        ["DEBIAN-CVE-2022-1664"]
    );
    assert_eq!(summary.dangerous_artifacts.unwrap().len(), 2);
    let page = reg
        .security_vulnerabilities(
            SYS,
            &ListQuery::new().q("severity=critical,repository_name=hub/app,cvss_score_v3=[9~10]"),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let item = &page.items[0];
    assert_eq!(
        (
            item.package.as_str(),
            item.fixed_version.as_str(),
            item.tags.clone(),
            item.status.as_str()
        ),
        ("dpkg", "1.21.23", vec!["1".to_owned()], "fixable")
    );
    assert_eq!(
        reg.security_vulnerabilities(SYS, &ListQuery::new().q("owner=x"))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::BadRequest
    );

    // Developers export their own project; not the hub, not other projects.
    let dev = crate::access::user(&reg, "hub-dev").await;
    crate::access::member(&reg, "hub", "hub-dev", 2).await;
    let guest = crate::access::user(&reg, "hub-guest").await;
    crate::access::member(&reg, "hub", "hub-guest", 3).await;
    assert_eq!(
        reg.security_summary(&dev, false, false)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    let hub_id = reg.project(SYS, "hub", true).await.unwrap().project_id;
    let secret_id = reg.project(SYS, "secret", true).await.unwrap().project_id;
    let req = |projects: Vec<i64>| CveExportReq {
        job_name: Some("weekly report".into()),
        projects,
        repositories: Some("**".into()),
        tags: Some("**".into()),
        ..Default::default()
    };
    for (who, projects) in [(&dev, vec![hub_id, secret_id]), (&guest, vec![hub_id])] {
        assert!(
            matches!(
                reg.start_cve_export(who, req(projects))
                    .await
                    .unwrap_err()
                    .code(),
                ErrorCode::Denied | ErrorCode::NotFound
            ),
            "a guest, or another project's export, is refused"
        );
    }
    assert_eq!(
        reg.start_cve_export(&Principal::Anonymous, req(vec![hub_id]))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    let bad = CveExportReq {
        labels: vec![1],
        ..req(vec![hub_id])
    };
    assert_eq!(
        reg.start_cve_export(&dev, bad).await.unwrap_err().code(),
        ErrorCode::BadRequest
    );
    let id = reg.start_cve_export(&dev, req(vec![hub_id])).await.unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    let exec = reg.cve_export_execution(&dev, id).await.unwrap();
    assert_eq!((exec.status.as_str(), exec.file_present), ("Success", true));
    assert_eq!(
        reg.cve_export_executions(&dev)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<_>>(),
        [id]
    );
    let (name, csv) = reg.cve_export_download(&dev, id).await.unwrap();
    assert_eq!(name, "weeklyreport.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("Project,Repository,Digest,Tags,CVE"));
    assert!(
        lines[1].starts_with("hub,hub/app,sha256:")
            && lines[1].contains(",DEBIAN-CVE-2022-1664,dpkg,1.21.22,1.21.23,Critical,9.8,"),
        "{}",
        lines[1]
    );
    // Someone else's export is not found; an administrator sees it.
    assert_eq!(
        reg.cve_export_download(&guest, id)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
    assert!(reg.cve_export_download(SYS, id).await.is_ok());
    assert!(reg.cve_export_executions(&guest).await.unwrap().is_empty());
    // A tag glob that matches nothing exports the header only.
    let id = reg
        .start_cve_export(
            &dev,
            CveExportReq {
                tags: Some("release-*".into()),
                ..req(vec![hub_id])
            },
        )
        .await
        .unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    assert_eq!(
        reg.cve_export_download(&dev, id)
            .await
            .unwrap()
            .1
            .lines()
            .count(),
        1
    );
}

#[tokio::test]
async fn vulnerability_uploads_are_bounded_and_for_administrators() {
    let reg = registry_with("upload").await;
    let alice = crate::access::user(&reg, "upload-alice").await;
    let record = Bytes::from(osv(
        "DEBIAN-CVE-2024-1",
        "bash",
        serde_json::json!([{"introduced": "0"}]),
        serde_json::json!({}),
    ));
    let body = |b: Bytes| futures::stream::iter([Ok(b.slice(..10)), Ok(b.slice(10..))]);
    assert_eq!(
        reg.import_vulndb_upload(&alice, &mut body(record.clone()), 1 << 20)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    assert_eq!(
        reg.import_vulndb_upload(SYS, &mut body(record.clone()), 64)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::PayloadTooLarge
    );
    assert_eq!(
        reg.import_vulndb_upload(
            SYS,
            &mut body(Bytes::from_static(b"{\"not\": \"osv at all\"}")),
            1 << 20
        )
        .await
        .unwrap_err()
        .code(),
        ErrorCode::BadRequest
    );
    let status = reg.vulndb_status(SYS).await.unwrap();
    assert_eq!(
        (status.updated_at, status.advisories),
        (None, 0),
        "nothing was stored by the refused uploads"
    );
    let stats = reg
        .import_vulndb_upload(SYS, &mut body(record), 1 << 20)
        .await
        .unwrap();
    assert_eq!(stats.advisories, 1);
    let status = reg.vulndb_status(SYS).await.unwrap();
    assert_eq!(status.advisories, 1);
    assert!(status.updated_at.is_some());
    assert_eq!(
        reg.vulndb_status(&alice).await.unwrap_err().code(),
        ErrorCode::Denied
    );
}
