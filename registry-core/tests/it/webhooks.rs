//! Webhooks delivered to a real HTTP receiver on loopback, on SQLite and PostgreSQL: payload
//! formats, retries, restarts between recording and delivery, and two nodes dispatching at once.
//!
//! Delivery is at-least-once: a node that dies after its POST reached the receiver but before it
//! recorded the outcome lets another node send it again, with the same event id. The restart
//! scenarios here (crash before dispatch, after dispatch, during a delivery that had not sent
//! yet) must deliver exactly once, and these tests assert exactly once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use registry_core::clock::{FakeClock, SystemClock};
use registry_core::events::{Actor, with_actor};
use registry_core::oci::Reference;
use registry_core::webhook::{Execution, WebhookPolicyReq, WebhookTarget};
use registry_core::{ErrorCode, ListQuery, Principal, Registry};

use crate::audit::{create_project, metadata_uris, open, pull, push};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    headers: HeaderMap,
    body: serde_json::Value,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A tiny HTTP server on loopback that records every POST to `/hook` and answers the scripted
/// statuses in turn (then 200).
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (h, s) = (hits.clone(), script.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (hits, script) = (h.clone(), s.clone());
                async move {
                    let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    hits.lock().unwrap().push(Hit { headers, body });
                    let code = script.lock().unwrap().pop_front().unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url: format!("http://{addr}/hook"),
            hits,
            task,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn target(url: &str, format: &str, auth: &str) -> WebhookTarget {
    WebhookTarget {
        kind: "http".into(),
        address: url.into(),
        auth_header: auth.into(),
        skip_cert_verify: false,
        payload_format: format.into(),
    }
}

async fn policy(reg: &Registry, project: &str, t: WebhookTarget, events: &[&str]) -> i64 {
    let req = WebhookPolicyReq {
        name: format!("hook-{}", uuid::Uuid::new_v4().simple()),
        targets: vec![t],
        event_types: events.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    reg.create_webhook_policy(&Principal::System, project, true, req)
        .await
        .unwrap()
        .id
}

fn finished(e: &Execution) -> bool {
    matches!(e.status.as_str(), "Success" | "Error" | "Stopped")
}

/// Dispatch and run jobs until the policy has `n` finished deliveries (retries wait for their
/// backoff in real time).
async fn settle(reg: &Registry, project: &str, policy: i64, n: usize) -> Vec<Execution> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        reg.dispatch_pending_events().await.unwrap();
        reg.run_jobs_until_idle().await.unwrap();
        let page = reg
            .webhook_executions(
                &Principal::System,
                project,
                true,
                policy,
                &ListQuery::new().page(1, 100),
            )
            .await
            .unwrap();
        if page.items.len() >= n && page.items.iter().all(finished) {
            return page.items;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries did not finish: {:?}",
            page.items
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A registry on SQLite with project `hooks` whose policy sends `events` to a receiver that
/// accepts everything.
async fn hooked(events: &[&str]) -> (tempfile::TempDir, Registry, Receiver, i64) {
    let dir = tempfile::tempdir().unwrap();
    let reg = open(
        &format!("sqlite://{}", dir.path().join("berth.db").display()),
        dir.path(),
        Arc::new(SystemClock),
        false,
    )
    .await;
    let rx = Receiver::start(&[]).await;
    create_project(&reg, "hooks").await;
    let p = policy(&reg, "hooks", target(&rx.url, "Default", ""), events).await;
    (dir, reg, rx, p)
}

#[tokio::test]
async fn signatures_reach_the_receiver_with_their_subject() {
    let (_dir, reg, rx, p) = hooked(&["PUSH_ARTIFACT"]).await;
    let image = push(&reg, "hooks/app:v1", "alice", 1).await;
    let (key, _) = registry_core::policy::trust::generate_signing_key().unwrap();
    let repo = registry_core::oci::RepoName::parse("hooks/app").unwrap();
    let sig = with_actor(
        Actor::new("alice", "10.0.0.9"),
        reg.sign(&repo, &Reference::Tag("v1".into()), &key),
    )
    .await
    .unwrap();
    settle(&reg, "hooks", p, 2).await;
    let hits = rx.hits();
    let signed = hits
        .iter()
        .map(|h| &h.body["event_data"]["resources"][0])
        .find(|r| r["digest"] == sig.to_string())
        .expect("the signature's push is delivered");
    assert_eq!(signed["accessory"]["type"], "signature.cosign", "{signed}");
    assert_eq!(signed["accessory"]["subject"], image.digest.to_string());
    assert!(signed.get("sbom_overview").is_none());
}

#[tokio::test]
async fn scans_reach_the_receiver_with_their_overview() {
    let (_dir, reg, rx, p) = hooked(&["SCANNING_COMPLETED"]).await;
    let image = registry_core::image::ImageRef::parse("hooks/app:v1").unwrap();
    let layer = crate::scan::tgz(&[(
        "var/lib/dpkg/status",
        b"Package: a\nStatus: install ok installed\nVersion: 1\n\n",
    )]);
    reg.push_image(
        &image,
        registry_core::image::NewImage {
            layers: vec![registry_core::image::NewLayer {
                content: registry_core::image::Content::Bytes(layer),
                media_type: None,
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let scanned = with_actor(
        Actor::new("alice", "10.0.0.9"),
        reg.scan(&Principal::System, &image),
    )
    .await
    .unwrap();
    settle(&reg, "hooks", p, 1).await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].body["type"], "SCANNING_COMPLETED");
    let r = &hits[0].body["event_data"]["resources"][0];
    assert_eq!(r["digest"], scanned.digest);
    let overview = &r["scan_overview"][registry_core::scan::report::VULN_REPORT];
    assert_eq!(overview["scan_status"], "Success", "{r}");
    assert_eq!(overview["severity"], "None");
    assert_eq!(overview["report_id"], scanned.overview.report_id);
}

#[tokio::test]
async fn pushes_and_deletes_reach_the_receiver_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let reg = open(&uri, sub.path(), Arc::new(SystemClock), true).await;
        let rx = Receiver::start(&[]).await;
        let pid = create_project(&reg, "hooks").await;
        let plain = policy(
            &reg,
            "hooks",
            target(&rx.url, "Default", "Bearer tok-123"),
            &["PUSH_ARTIFACT", "PULL_ARTIFACT"],
        )
        .await;
        let image = push(&reg, "hooks/app:v1", "alice", 1).await;
        pull(&reg, "hooks/app:v1", "bob").await;
        reg.flush_pulls().await.unwrap();
        let done = settle(&reg, "hooks", plain, 2).await;
        assert!(
            done.iter().all(|e| e.status == "Success"),
            "{uri}: {done:?}"
        );

        let hits = rx.hits();
        assert_eq!(hits.len(), 2, "{uri}: {hits:?}");
        let pushed = hits
            .iter()
            .find(|h| h.body["type"] == "PUSH_ARTIFACT")
            .expect("a push delivery");
        assert_eq!(pushed.header("authorization"), "Bearer tok-123");
        assert_eq!(pushed.header("content-type"), "application/json");
        assert!(!pushed.header("x-berth-event-id").is_empty());
        let b = &pushed.body;
        assert_eq!(b["operator"], "alice");
        assert!(b["occur_at"].as_i64().unwrap() > 1_700_000_000);
        let res = &b["event_data"]["resources"][0];
        assert_eq!(res["digest"], image.digest.to_string());
        assert_eq!(res["tag"], "v1");
        assert_eq!(res["resource_url"], "reg.test:5000/hooks/app:v1");
        let repo = &b["event_data"]["repository"];
        assert_eq!(repo["name"], "app");
        assert_eq!(repo["namespace"], "hooks");
        assert_eq!(repo["repo_full_name"], "hooks/app");
        assert_eq!(repo["repo_type"], "private");
        assert!(repo["date_created"].as_i64().is_some(), "{repo}");
        let pulled = hits
            .iter()
            .find(|h| h.body["type"] == "PULL_ARTIFACT")
            .unwrap();
        assert_eq!(pulled.body["operator"], "bob");

        // The delivery history: one task per target, its log, and the last trigger times.
        let e = &done[0];
        let tasks = reg
            .webhook_execution_tasks(
                &Principal::System,
                "hooks",
                true,
                plain,
                e.id,
                &ListQuery::new(),
            )
            .await
            .unwrap();
        assert_eq!(tasks.total, 1);
        assert_eq!(tasks.items[0].extra_attrs["status_code"], 200);
        let log = reg
            .webhook_task_log(
                &Principal::System,
                "hooks",
                true,
                plain,
                e.id,
                tasks.items[0].id,
            )
            .await
            .unwrap();
        assert!(log.contains("answered 200 OK"), "{log}");
        assert!(
            !log.contains("tok-123"),
            "the secret stays out of logs: {log}"
        );
        let last = reg
            .webhook_last_triggers(&Principal::System, "hooks", true)
            .await
            .unwrap();
        let mut types: Vec<&str> = last.iter().map(|t| t.event_type.as_str()).collect();
        types.sort();
        assert_eq!(types, vec!["PULL_ARTIFACT", "PUSH_ARTIFACT"]);
        // Another policy's execution is not this one's.
        let e404 = reg
            .webhook_execution_tasks(
                &Principal::System,
                "hooks",
                true,
                plain + 1000,
                e.id,
                &ListQuery::new(),
            )
            .await
            .unwrap_err();
        assert_eq!(e404.code(), ErrorCode::NotFound);

        // CloudEvents, for a delete.
        let cloud = policy(
            &reg,
            "hooks",
            target(&rx.url, "CloudEvents", ""),
            &["DELETE_ARTIFACT"],
        )
        .await;
        with_actor(
            Actor::new("carol", "10.1.1.1"),
            reg.delete_manifest(&image.repo, &Reference::Digest(image.digest.clone())),
        )
        .await
        .unwrap();
        settle(&reg, "hooks", cloud, 1).await;
        let hits = rx.hits();
        assert_eq!(hits.len(), 3, "the Default policy does not take deletes");
        let ce = &hits[2];
        assert_eq!(ce.header("content-type"), "application/cloudevents+json");
        assert_eq!(ce.header("authorization"), "");
        assert_eq!(ce.body["specversion"], "1.0");
        assert_eq!(ce.body["type"], "harbor.artifact.deleted");
        assert_eq!(ce.body["id"], ce.header("x-berth-event-id"));
        assert_eq!(
            ce.body["source"],
            format!("/projects/{pid}/webhook/policies/{cloud}")
        );
        assert_eq!(ce.body["operator"], "carol");
        assert_eq!(ce.body["datacontenttype"], "application/json");
        assert_eq!(
            ce.body["data"]["resources"][0]["digest"],
            image.digest.to_string()
        );
        assert!(ce.body["time"].as_str().unwrap().ends_with('Z'));

        // A disabled policy is not notified.
        let mut off = reg
            .webhook_policy(&Principal::System, "hooks", true, plain)
            .await
            .unwrap();
        off.enabled = false;
        let req = WebhookPolicyReq {
            name: off.name,
            description: off.description,
            targets: off.targets,
            event_types: off.event_types,
            enabled: Some(false),
        };
        reg.update_webhook_policy(&Principal::System, "hooks", true, plain, req)
            .await
            .unwrap();
        push(&reg, "hooks/app:v2", "alice", 2).await;
        assert_eq!(reg.dispatch_pending_events().await.unwrap(), 0);
        assert_eq!(rx.hits().len(), 3);
    }
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_the_third_attempt() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let reg = open(&uri, sub.path(), Arc::new(SystemClock), true).await;
        let rx = Receiver::start(&[500, 500, 200]).await;
        create_project(&reg, "retry").await;
        let id = policy(
            &reg,
            "retry",
            target(&rx.url, "Default", "Basic eDp5"),
            &["PUSH_ARTIFACT"],
        )
        .await;
        push(&reg, "retry/app:v1", "alice", 7).await;
        let done = settle(&reg, "retry", id, 1).await;
        assert_eq!(done[0].status, "Success", "{uri}: {done:?}");
        let hits = rx.hits();
        assert_eq!(hits.len(), 3, "{uri}");
        let ids: Vec<&str> = hits.iter().map(|h| h.header("x-berth-event-id")).collect();
        assert!(
            ids.iter().all(|i| *i == ids[0]),
            "one event, sent three times: {ids:?}"
        );
        assert!(
            hits.iter()
                .all(|h| h.header("authorization") == "Basic eDp5")
        );
        let tasks = reg
            .webhook_execution_tasks(
                &Principal::System,
                "retry",
                true,
                id,
                done[0].id,
                &ListQuery::new(),
            )
            .await
            .unwrap();
        let t = &tasks.items[0];
        assert_eq!((t.run_count, t.status.as_str()), (3, "Success"));
        let log = reg
            .webhook_task_log(&Principal::System, "retry", true, id, done[0].id, t.id)
            .await
            .unwrap();
        assert_eq!(
            log.matches("answered 500 Internal Server Error").count(),
            4,
            "{log}"
        );
        assert!(log.contains("attempt 3 of 3"), "{log}");
    }
}

#[tokio::test]
async fn a_receiver_that_never_accepts_leaves_an_error_after_three_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open(
        &format!("sqlite://{}", dir.path().join("e.db").display()),
        dir.path(),
        Arc::new(SystemClock),
        true,
    )
    .await;
    let rx = Receiver::start(&[503, 503, 503, 503]).await;
    create_project(&reg, "down").await;
    let id = policy(
        &reg,
        "down",
        target(&rx.url, "Default", ""),
        &["PUSH_ARTIFACT"],
    )
    .await;
    push(&reg, "down/app:v1", "alice", 8).await;
    let done = settle(&reg, "down", id, 1).await;
    assert_eq!(done[0].status, "Error");
    assert!(done[0].status_message.contains("503"), "{:?}", done[0]);
    assert_eq!(rx.hits().len(), 3);
}

#[tokio::test]
async fn restarts_between_recording_and_delivery_deliver_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let rx = Receiver::start(&[]).await;
        let node = |clock: Arc<dyn registry_core::clock::Clock>| {
            let (uri, path) = (uri.clone(), sub.path().to_owned());
            async move { open(&uri, &path, clock, true).await }
        };

        // 1. Crash after the push committed, before the notifier ran.
        let reg = node(Arc::new(SystemClock)).await;
        create_project(&reg, "crash").await;
        let id = policy(
            &reg,
            "crash",
            target(&rx.url, "Default", ""),
            &["PUSH_ARTIFACT"],
        )
        .await;
        push(&reg, "crash/app:v1", "alice", 9).await;
        drop(reg);
        let reg = node(Arc::new(SystemClock)).await;
        settle(&reg, "crash", id, 1).await;
        assert_eq!(rx.hits().len(), 1, "{uri}");
        assert_eq!(rx.hits()[0].body["event_data"]["resources"][0]["tag"], "v1");

        // 2. Crash after dispatch, before any worker ran: the delivery waits in the queue.
        push(&reg, "crash/app:v2", "alice", 10).await;
        assert_eq!(reg.dispatch_pending_events().await.unwrap(), 1);
        drop(reg);
        let reg = node(Arc::new(SystemClock)).await;
        assert_eq!(
            reg.dispatch_pending_events().await.unwrap(),
            0,
            "never enqueued twice"
        );
        settle(&reg, "crash", id, 2).await;
        assert_eq!(rx.hits().len(), 2, "{uri}");
        assert_eq!(rx.hits()[1].body["event_data"]["resources"][0]["tag"], "v2");

        // 3. A node claims the delivery and dies before sending: once its lease runs out,
        //    another node delivers it (its second attempt).
        push(&reg, "crash/app:v3", "alice", 11).await;
        assert_eq!(reg.dispatch_pending_events().await.unwrap(), 1);
        let now = chrono::Utc::now().timestamp_millis();
        let claimed = reg
            .metadata_store()
            .claim_task(
                "dead-node",
                now,
                registry_core::jobs::LEASE.as_millis() as i64,
            )
            .await
            .unwrap()
            .expect("the delivery task");
        drop(reg);
        let reg = node(Arc::new(SystemClock)).await;
        assert_eq!(
            reg.run_jobs_until_idle().await.unwrap(),
            0,
            "{uri}: the lease still holds it"
        );
        assert_eq!(rx.hits().len(), 2);
        drop(reg);
        let lease = registry_core::jobs::LEASE.as_millis() as i64;
        let reg = node(Arc::new(FakeClock::new(now + lease + 1_000))).await;
        assert_eq!(reg.run_jobs_until_idle().await.unwrap(), 1, "{uri}");
        let hits = rx.hits();
        assert_eq!(hits.len(), 3, "{uri}");
        assert_eq!(hits[2].body["event_data"]["resources"][0]["tag"], "v3");
        let task = reg.task(claimed.id).await.unwrap();
        assert_eq!(
            (task.status.as_str(), task.attempts),
            ("Success", 2),
            "{uri}"
        );
        let ids: std::collections::BTreeSet<&str> =
            hits.iter().map(|h| h.header("x-berth-event-id")).collect();
        assert_eq!(ids.len(), 3, "three events, one delivery each");
    }
}

#[tokio::test]
async fn two_nodes_never_dispatch_the_same_event() {
    let dir = tempfile::tempdir().unwrap();
    for uri in metadata_uris(dir.path()).await {
        let sub = tempfile::tempdir().unwrap();
        let a = open(&uri, sub.path(), Arc::new(SystemClock), true).await;
        let b = open(&uri, sub.path(), Arc::new(SystemClock), true).await;
        create_project(&a, "race").await;
        let id = policy(
            &a,
            "race",
            target("http://127.0.0.1:9/hook", "Default", ""),
            &["PUSH_ARTIFACT"],
        )
        .await;
        for i in 0..30u8 {
            push(&a, &format!("race/app:t{i}"), "alice", 20 + i).await;
        }
        let (na, nb) = tokio::join!(a.dispatch_pending_events(), b.dispatch_pending_events());
        let (na, nb) = (na.unwrap(), nb.unwrap());
        assert_eq!(na + nb, 30, "{uri}: a {na}, b {nb}");
        let page = a
            .webhook_executions(
                &Principal::System,
                "race",
                true,
                id,
                &ListQuery::new().page(1, 100),
            )
            .await
            .unwrap();
        assert_eq!(page.total, 30, "{uri}");
        assert_eq!(a.dispatch_pending_events().await.unwrap(), 0);
        assert_eq!(b.dispatch_pending_events().await.unwrap(), 0);
    }
}
