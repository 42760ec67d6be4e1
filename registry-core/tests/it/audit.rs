//! The audit log on SQLite and PostgreSQL: filters, paging, visibility, exports, pull records
//! and the purge job (retention, types, dry runs, entries webhooks have not handled yet).

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use registry_core::audit::{AuditLogExt, AuditSettings, ExportFormat, PurgeOptions};
use registry_core::clock::{Clock, FakeClock};
use registry_core::events::{Actor, with_actor};
use registry_core::model::{MemberReq, MemberUser, ProjectReq};
use registry_core::{
    Content, ErrorCode, ImageRef, ListQuery, NewImage, NewLayer, Principal, PushedImage, Registry,
};

use registry_core::testkit::parse_csv;

use crate::access::user;
use crate::backends::fresh_pg_database;

/// 2024-01-01 00:00:00 UTC.
pub const T0: i64 = 1_704_067_200_000;
const HOUR: i64 = 3_600_000;

/// Metadata URIs a scenario runs on: a SQLite file in `dir`, and a fresh PostgreSQL database
/// when the test cluster is there (required under `BERTH_TEST_REQUIRE_ALL=1`).
pub async fn metadata_uris(dir: &Path) -> Vec<String> {
    let mut uris = vec![format!("sqlite://{}", dir.join("berth.db").display())];
    if let Some(admin) = crate::optional_service_url("BERTH_TEST_PG_URL") {
        uris.push(fresh_pg_database(&admin).await);
    }
    uris
}

/// A registry on `meta_uri` with its blobs under `dir`.
pub async fn open(meta_uri: &str, dir: &Path, clock: Arc<dyn Clock>, pull_audit: bool) -> Registry {
    let meta = registry_core::registry::open_metadata(meta_uri)
        .await
        .unwrap();
    let blobs = Arc::new(registry_core::blob::fs::FsBlobStore::open(dir.join("blobs")).unwrap());
    Registry::builder()
        .meta(meta)
        .blobs(blobs)
        .clock(clock)
        .audit_settings(AuditSettings {
            pull_audit,
            registry_host: "reg.test:5000".into(),
            ..AuditSettings::default()
        })
        .build()
        .unwrap()
}

pub async fn create_project(reg: &Registry, name: &str) -> i64 {
    reg.create_project(
        &Principal::System,
        ProjectReq {
            project_name: name.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .project_id
}

/// Push a one-layer image as `who`.
pub async fn push(reg: &Registry, image: &str, who: &str, seed: u8) -> PushedImage {
    let img = NewImage {
        layers: vec![NewLayer {
            content: Content::Bytes(Bytes::from(vec![seed; 64 + seed as usize])),
            media_type: None,
        }],
        ..Default::default()
    };
    with_actor(
        Actor::new(who, "10.0.0.9"),
        reg.push_image(&ImageRef::parse(image).unwrap(), img),
    )
    .await
    .unwrap()
}

/// Pull a manifest as `who` the way the HTTP layer does (GET, then the batched record).
pub async fn pull(reg: &Registry, image: &str, who: &str) {
    let r = ImageRef::parse(image).unwrap();
    let m = reg.get_manifest(&r.repo, &r.reference).await.unwrap();
    with_actor(Actor::new(who, "10.0.0.8"), async {
        reg.record_pull(&r.repo, &r.reference, &m.digest)
    })
    .await;
}

fn q(q: &str) -> ListQuery {
    ListQuery::new().q(q).page(1, 100)
}

async fn exts(reg: &Registry, p: &Principal, query: ListQuery) -> Vec<AuditLogExt> {
    reg.audit_log_exts(p, &query).await.unwrap().items
}

#[tokio::test]
async fn audit_queries_filter_page_and_scope() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(T0));
        let reg = open(&uri, sub.path(), clock.clone(), true).await;
        let sys = Principal::System;
        let a = create_project(&reg, "audit-a").await;
        let b = create_project(&reg, "audit-b").await;
        let alice = user(&reg, "alice").await;
        let req = MemberReq {
            role_id: 1,
            member_user: Some(MemberUser {
                username: Some("alice".into()),
                ..Default::default()
            }),
            member_group: None,
        };
        reg.add_member(&sys, "audit-a", true, req).await.unwrap();
        clock.advance(HOUR);
        let app = push(&reg, "audit-a/app:v1", "alice", 1).await;
        clock.advance(HOUR);
        push(&reg, "audit-b/web:v2", "bob", 2).await;
        clock.advance(HOUR);
        pull(&reg, "audit-a/app:v1", "carol").await;
        pull(&reg, &format!("audit-a/app@{}", app.digest), "carol").await;
        reg.flush_pulls().await.unwrap();

        // Who and what.
        let by_alice = exts(&reg, &sys, q("username=alice")).await;
        assert_eq!(by_alice.len(), 1, "{uri}: {by_alice:?}");
        assert_eq!(
            (
                by_alice[0].resource.as_str(),
                by_alice[0].operation.as_str()
            ),
            ("audit-a/app:v1", "create")
        );
        assert_eq!(by_alice[0].project_id, Some(a));
        assert!(by_alice[0].operation_result);
        assert_eq!(by_alice[0].op_time.timestamp_millis(), T0 + HOUR);
        let pulls = exts(&reg, &sys, q("operation=pull")).await;
        assert_eq!(pulls.len(), 2, "{uri}");
        assert!(
            pulls
                .iter()
                .all(|e| e.username == "carol" && e.project_id == Some(a))
        );
        let resources: Vec<&str> = pulls.iter().map(|e| e.resource.as_str()).collect();
        assert!(resources.contains(&"audit-a/app:v1"), "{resources:?}");
        assert!(resources.contains(&format!("audit-a/app@{}", app.digest).as_str()));
        assert_eq!(
            exts(&reg, &sys, q("resource_type=artifact,resource=~web"))
                .await
                .len(),
            1
        );
        assert_eq!(exts(&reg, &sys, q("resource_type=project")).await.len(), 2);
        assert_eq!(
            exts(&reg, &sys, q("operation={create pull},username=carol"))
                .await
                .len(),
            2
        );
        // A time range: [T0+1h, T0+2h] holds the two pushes.
        let range = q("op_time=[\"2024-01-01 01:00:00\"~\"2024-01-01 02:00:00\"]");
        let pushes = exts(&reg, &sys, range).await;
        assert_eq!(pushes.len(), 2, "{uri}: {pushes:?}");
        // Newest first by default; `sort=op_time` reverses it.
        let newest = exts(&reg, &sys, ListQuery::new().page(1, 100)).await;
        assert!(newest.windows(2).all(|w| w[0].op_time >= w[1].op_time));
        let oldest = exts(&reg, &sys, ListQuery::new().sort("op_time").page(1, 100)).await;
        assert_eq!(oldest.first().unwrap().resource, "audit-a");
        // Paging.
        let total = newest.len() as u64;
        let page = reg
            .audit_logs(&sys, &ListQuery::new().page(2, 3))
            .await
            .unwrap();
        assert_eq!((page.total, page.items.len()), (total, 3));
        assert_eq!(page.items[0].id, newest[3].id);
        // Unknown keys are refused, never ignored.
        let e = reg.audit_logs(&sys, &q("who=alice")).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest);

        // A project admin sees her project's entries only; anonymous callers nothing.
        let mine = exts(&reg, &alice, ListQuery::new().page(1, 100)).await;
        assert!(
            !mine.is_empty() && mine.iter().all(|e| e.project_id == Some(a)),
            "{mine:?}"
        );
        let project_logs = reg
            .project_audit_logs(&alice, "audit-a", &ListQuery::new().page(1, 100))
            .await
            .unwrap();
        assert_eq!(project_logs.total, mine.len() as u64);
        let e = reg
            .project_audit_log_exts(&alice, "audit-b", &ListQuery::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        let all_b = reg
            .project_audit_log_exts(&sys, "audit-b", &ListQuery::new())
            .await
            .unwrap();
        assert!(all_b.items.iter().all(|e| e.project_id == Some(b)) && all_b.total == 2);
        let e = reg
            .audit_logs(&Principal::Anonymous, &ListQuery::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Unauthorized);

        // Management changes are in the trail too, with their author.
        let members = exts(&reg, &sys, q("resource_type=member")).await;
        assert_eq!(members.len(), 1);
        assert_eq!(
            (members[0].resource.as_str(), members[0].operation.as_str()),
            ("alice", "create")
        );
        assert_eq!(
            exts(&reg, &sys, q("resource_type=user,operation=create"))
                .await
                .len(),
            1
        );

        // Exports hold what the listing holds, in both formats.
        let csv = collect(&reg, &sys, ListQuery::new(), ExportFormat::Csv).await;
        let rows = parse_csv(&csv);
        assert_eq!(rows[0][0], "id");
        assert_eq!(rows.len() - 1, newest.len(), "{uri}");
        for (row, entry) in rows[1..].iter().zip(&newest) {
            assert_eq!(row[0], entry.id.to_string());
            assert_eq!(row[1], entry.username);
            assert_eq!(row[2], entry.resource);
            assert_eq!(row[5], entry.operation_description);
        }
        let json = collect(&reg, &alice, q("operation=pull"), ExportFormat::Json).await;
        let parsed: Vec<AuditLogExt> = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed, pulls);
        let e = reg
            .export_audit_logs(&sys, &ListQuery::new().sort("username"), ExportFormat::Csv)
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), ErrorCode::BadRequest);
    }
}

async fn collect(reg: &Registry, p: &Principal, q: ListQuery, f: ExportFormat) -> String {
    let chunks: Vec<Bytes> = reg
        .export_audit_logs(p, &q, f)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    String::from_utf8(chunks.concat()).unwrap()
}

#[tokio::test]
async fn csv_export_escapes_what_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open(
        &format!("sqlite://{}", dir.path().join("b.db").display()),
        dir.path(),
        Arc::new(FakeClock::new(T0)),
        true,
    )
    .await;
    create_project(&reg, "esc").await;
    // A tag cannot hold a comma or a quote, but a quota message can: exceed a 1-byte quota.
    let quota = reg
        .project_quota(
            reg.project(&Principal::System, "esc", true)
                .await
                .unwrap()
                .project_id,
        )
        .await
        .unwrap()
        .unwrap();
    reg.set_quota(&Principal::System, quota.id, 1)
        .await
        .unwrap();
    let img = NewImage {
        layers: vec![NewLayer {
            content: Content::Bytes(Bytes::from_static(b"0123456789")),
            media_type: None,
        }],
        ..Default::default()
    };
    with_actor(
        Actor::new("o\"brien,jr", "1.2.3.4"),
        reg.push_image(&ImageRef::parse("esc/app:v1").unwrap(), img),
    )
    .await
    .unwrap_err();
    let csv = collect(
        &reg,
        &Principal::System,
        q("operation=exceed"),
        ExportFormat::Csv,
    )
    .await;
    assert!(csv.contains("\"o\"\"brien,jr\""), "{csv}");
    let rows = parse_csv(&csv);
    assert_eq!(rows.len(), 2, "{csv}");
    assert_eq!(rows[1][1], "o\"brien,jr");
    assert_eq!(rows[1][6], "false", "a refused push is a failed operation");
    assert!(rows[1][5].contains("quota"), "{:?}", rows[1]);
}

#[tokio::test]
async fn pull_records_are_batched_and_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    for (audit, uri) in [(true, "a.db"), (false, "b.db")] {
        let clock = Arc::new(FakeClock::new(T0));
        let reg = open(
            &format!("sqlite://{}", dir.path().join(uri).display()),
            dir.path(),
            clock.clone(),
            audit,
        )
        .await;
        create_project(&reg, "pulls").await;
        push(&reg, "pulls/app:v1", "alice", 3).await;
        for _ in 0..5 {
            pull(&reg, "pulls/app:v1", "dave").await;
        }
        // Nothing is written per pull: the batch waits (up to a second) for more.
        assert!(
            exts(&reg, &Principal::System, q("operation=pull"))
                .await
                .is_empty()
        );
        // …and then lands in one write, with the pull count.
        // (The flush interval passes on the registry's clock.)
        clock.advance(registry_core::audit::PULL_FLUSH_INTERVAL.as_millis() as i64);
        let mut pulls = Vec::new();
        for _ in 0..500 {
            let repo = reg
                .repository(&Principal::System, "pulls", "app")
                .await
                .unwrap();
            if repo.pull_count == 5 {
                pulls = exts(&reg, &Principal::System, q("operation=pull")).await;
                break;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        assert_eq!(pulls.len(), if audit { 5 } else { 0 });
        let repo = reg
            .repository(&Principal::System, "pulls", "app")
            .await
            .unwrap();
        assert_eq!(repo.pull_count, 5, "pull counts are kept either way");
        assert_eq!(
            repo.artifact_count, 1,
            "the repository view counts its artifacts"
        );
    }
}

/// A flush of more pulls than one statement takes is split into statements of a few fixed
/// sizes (1,000, then powers of two, then the rest); every pull is written, once.
#[tokio::test]
async fn a_large_pull_flush_writes_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let reg = open(&uri, sub.path(), Arc::new(FakeClock::new(T0)), true).await;
        create_project(&reg, "many").await;
        push(&reg, "many/app:v1", "alice", 7).await;
        // 1,000 + 64 + 32 + 16 + 5: one statement of each size.
        let n = 1117;
        for _ in 0..n {
            pull(&reg, "many/app:v1", "dave").await;
        }
        reg.flush_pulls().await.unwrap();
        let logged = reg
            .audit_logs(&Principal::System, &q("operation=pull"))
            .await
            .unwrap()
            .total;
        assert_eq!(logged, n as u64, "{uri}");
        let repo = reg
            .repository(&Principal::System, "many", "app")
            .await
            .unwrap();
        assert_eq!(repo.pull_count, n as i64, "{uri}");
    }
}

#[tokio::test]
async fn purge_keeps_recent_unselected_and_unnotified_entries() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let clock = Arc::new(FakeClock::new(T0));
        let reg = open(&uri, sub.path(), clock.clone(), true).await;
        let sys = Principal::System;
        create_project(&reg, "purge").await;
        push(&reg, "purge/app:v1", "alice", 4).await;
        pull(&reg, "purge/app:v1", "bob").await;
        reg.flush_pulls().await.unwrap();
        // The notifier handles those three entries (project, push, pull)…
        reg.dispatch_pending_events().await.unwrap();
        // …but not this one, recorded as old.
        push(&reg, "purge/app:v2", "alice", 5).await;
        clock.advance(48 * HOUR);
        push(&reg, "purge/app:v3", "alice", 6).await;
        let count = |reg: Registry| async move {
            reg.audit_logs(&Principal::System, &ListQuery::new())
                .await
                .unwrap()
                .total
        };
        assert_eq!(count(reg.clone()).await, 5);

        let opts = |types: &str, dry_run: bool| PurgeOptions {
            audit_retention_hour: 24,
            include_event_types: types.into(),
            dry_run,
        };
        let never = || false;
        let r = reg
            .purge_audit_logs(&opts("pull_artifact", true), &never)
            .await
            .unwrap();
        assert_eq!((r.purged, r.kept_pending), (1, 0), "{uri}");
        let r = reg.purge_audit_logs(&opts("", true), &never).await.unwrap();
        assert_eq!((r.purged, r.kept_pending), (3, 1), "{uri}");
        let r = reg
            .purge_audit_logs(&opts("PUSH_ARTIFACT", true), &never)
            .await
            .unwrap();
        assert_eq!((r.purged, r.kept_pending), (1, 1), "{uri}");
        let mut longer = opts("", true);
        longer.audit_retention_hour = 49;
        assert_eq!(
            reg.purge_audit_logs(&longer, &never).await.unwrap().purged,
            0
        );
        assert_eq!(count(reg.clone()).await, 5, "dry runs change nothing");

        // A manual run through the job service deletes old, handled entries only.
        let id = reg.start_audit_purge(&sys, &opts("", false)).await.unwrap();
        assert_eq!(reg.run_jobs_until_idle().await.unwrap(), 1);
        let run = reg.audit_purge(&sys, id).await.unwrap();
        assert_eq!(run.job_status, "Success", "{uri}");
        assert_eq!(run.job_kind, "MANUAL");
        let log = reg.audit_purge_log(&sys, id).await.unwrap();
        assert!(log.contains("deleted 3 entries; kept 1"), "{log}");
        let left: Vec<String> = exts(&reg, &sys, ListQuery::new().page(1, 100))
            .await
            .into_iter()
            .map(|e| e.resource)
            .collect();
        assert_eq!(left, vec!["purge/app:v3", "purge/app:v2"], "{uri}");
        // Once notified, the old one goes too.
        reg.dispatch_pending_events().await.unwrap();
        let r = reg
            .purge_audit_logs(&opts("", false), &never)
            .await
            .unwrap();
        assert_eq!((r.purged, r.kept_pending), (1, 0));
        assert_eq!(count(reg.clone()).await, 1);
        // Retention 0 keeps everything; out-of-range values are refused.
        let mut keep = opts("", false);
        keep.audit_retention_hour = 0;
        clock.advance(1000 * HOUR);
        assert_eq!(reg.purge_audit_logs(&keep, &never).await.unwrap().purged, 0);
        keep.audit_retention_hour = 240_001;
        let e = reg.start_audit_purge(&sys, &keep).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest);
        let history = reg
            .audit_purge_history(&sys, &ListQuery::new())
            .await
            .unwrap();
        assert_eq!(history.total, 1);
    }
}

/// A change and its audit entry are one write: when the entry cannot be written (here a trigger
/// refuses every insert into `events`), the change does not happen either; once entries can be
/// written again, the same change lands with its entry.
#[tokio::test]
async fn changes_and_their_events_commit_together() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("berth.db");
    let uri = format!("sqlite://{}", db.display());
    let clock: Arc<dyn Clock> = Arc::new(FakeClock::new(T0));
    let reg = open(&uri, dir.path(), clock, true).await;
    let mut conn = sqlx::SqliteConnection::connect(&uri).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events refused'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let req = || registry_core::model::UserCreate {
        username: "atomic".into(),
        password: "Passw0rd-x".into(),
        ..Default::default()
    };
    assert!(reg.create_user(&Principal::System, req()).await.is_err());
    assert!(reg.set_read_only(&Principal::System, true).await.is_err());
    assert!(
        reg.create_project(
            &Principal::System,
            ProjectReq {
                project_name: "atomic".into(),
                ..Default::default()
            }
        )
        .await
        .is_err()
    );
    let users = reg
        .users(&Principal::System, &ListQuery::new().q("username=atomic"))
        .await
        .unwrap();
    assert_eq!(users.total, 0, "no user without its CREATE_USER entry");
    assert!(!reg.is_read_only().await.unwrap());
    assert!(
        reg.project(&Principal::System, "atomic", true)
            .await
            .is_err()
    );
    sqlx::query("DROP TRIGGER refuse_events")
        .execute(&mut conn)
        .await
        .unwrap();
    reg.create_user(&Principal::System, req()).await.unwrap();
    reg.create_project(
        &Principal::System,
        ProjectReq {
            project_name: "atomic".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let logs = reg
        .audit_log_exts(&Principal::System, &ListQuery::new())
        .await
        .unwrap();
    let ops: Vec<(String, String)> = logs
        .items
        .iter()
        .map(|l| (l.operation.clone(), l.resource.clone()))
        .collect();
    assert!(ops.contains(&("create".into(), "atomic".into())), "{ops:?}");
    let project = logs
        .items
        .iter()
        .find(|l| l.resource_type == "project")
        .expect("the CREATE_PROJECT entry");
    assert!(project.project_id.is_some_and(|id| id > 0), "{project:?}");
}
