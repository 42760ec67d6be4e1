//! The audit log, audit purge and webhook policy APIs over HTTP.

use axum::Router;
use axum::http::{Method, StatusCode};
use registry_core::{Principal, Registry};
use registry_http::{AppOptions, app};

use super::{ADMIN_PASSWORD, MT, Res, call, manifest, push_blob};

async fn app_with_registry() -> (Router, Registry) {
    let reg = Registry::open("memory://").await.unwrap();
    reg.bootstrap(Some(ADMIN_PASSWORD)).await.unwrap();
    for name in ["p", "q"] {
        let req = registry_core::model::ProjectReq {
            project_name: name.into(),
            ..Default::default()
        };
        reg.create_project(&Principal::System, req).await.unwrap();
    }
    (app(reg.clone(), AppOptions::default()), reg)
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn json_call(app: &Router, method: Method, uri: &str, body: serde_json::Value) -> Res {
    call(
        app,
        method,
        uri,
        &[("content-type", "application/json")],
        serde_json::to_vec(&body).unwrap(),
    )
    .await
}

fn policy_body(name: &str, address: &str, kind: &str, events: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "description": "ci",
        "targets": [{"type": kind, "address": address, "auth_header": "Bearer t0k", "skip_cert_verify": false}],
        "event_types": events,
        "enabled": true,
    })
}

#[tokio::test]
async fn webhook_policies_crud_validation_and_rbac() {
    let (app, reg) = app_with_registry().await;
    let base = "/api/v2.0/projects/p/webhook/policies";
    let r = json_call(
        &app,
        Method::POST,
        base,
        policy_body("ci", "https://hooks.example/x", "http", &["PUSH_ARTIFACT"]),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let location = r.header("location").unwrap().to_owned();
    assert!(location.starts_with(&format!("{base}/")), "{location}");
    let r = call(&app, Method::GET, &location, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    let p = r.json();
    assert_eq!(p["name"], "ci");
    assert_eq!(p["creator"], "admin");
    assert_eq!(p["enabled"], true);
    assert_eq!(p["targets"][0]["payload_format"], "Default");
    assert_eq!(
        p["targets"][0]["auth_header"], "***",
        "the header is never shown back (Harbor shows it)"
    );
    // At rest it is sealed; sending the mask back in an update keeps it.
    let id = p["id"].as_i64().unwrap();
    let raw = || async {
        reg.metadata_store()
            .webhook_policy(id)
            .await
            .unwrap()
            .unwrap()
            .targets
    };
    let stored = raw().await;
    assert!(
        stored.contains("enc:v1:") && !stored.contains("t0k"),
        "{stored}"
    );
    let mut again = p.clone();
    again["description"] = "changed".into();
    let put = json_call(&app, Method::PUT, &location, again).await;
    assert_eq!(
        put.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&put.body)
    );
    assert_eq!(raw().await, stored, "the mask kept the stored header");
    assert_eq!(p["event_types"], serde_json::json!(["PUSH_ARTIFACT"]));
    // By id too, and the project by id.
    let pid = r.json()["project_id"].as_i64().unwrap();
    let by_id = location.replace("/projects/p/", &format!("/projects/{pid}/"));
    assert_eq!(
        call(&app, Method::GET, &by_id, &[], vec![]).await.status,
        StatusCode::OK
    );

    // Bad input is a 400 in Harbor's envelope, and stores nothing.
    for (body, what) in [
        (
            policy_body("b1", "not a url", "http", &["PUSH_ARTIFACT"]),
            "URL",
        ),
        (
            policy_body("b2", "https://h/x", "http", &["PUSH_IMAGE"]),
            "event type",
        ),
        (
            policy_body("b3", "https://h/x", "email", &["PUSH_ARTIFACT"]),
            "target type",
        ),
        (
            policy_body("", "https://h/x", "http", &["PUSH_ARTIFACT"]),
            "name",
        ),
        (serde_json::json!({"name": "b4", "targets": "x"}), "shape"),
    ] {
        let r = json_call(&app, Method::POST, base, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(r.code(), "BAD_REQUEST", "{what}");
    }
    let r = json_call(
        &app,
        Method::POST,
        base,
        policy_body("ci", "https://h/y", "http", &["PULL_ARTIFACT"]),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "names are unique per project"
    );
    let r = call(&app, Method::GET, base, &[], vec![]).await;
    assert_eq!(r.header("x-total-count"), Some("1"));

    // Update.
    let mut changed = policy_body(
        "ci-2",
        "https://hooks.example/y",
        "slack",
        &["DELETE_ARTIFACT", "QUOTA_EXCEED"],
    );
    changed["enabled"] = false.into();
    let r = json_call(&app, Method::PUT, &location, changed).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let p = call(&app, Method::GET, &location, &[], vec![]).await.json();
    assert_eq!(
        (p["name"].as_str(), p["enabled"].as_bool()),
        (Some("ci-2"), Some(false))
    );
    assert_eq!(p["targets"][0]["type"], "slack");
    let mut cloud_slack = policy_body("ci-2", "https://h/z", "slack", &["PUSH_ARTIFACT"]);
    cloud_slack["targets"][0]["payload_format"] = "CloudEvents".into();
    assert_eq!(
        json_call(&app, Method::PUT, &location, cloud_slack)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    // What policies may use; when they fired; their (empty) history.
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/p/webhook/events",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let ev = r.json();
    assert!(
        ev["event_type"]
            .as_array()
            .unwrap()
            .contains(&"PUSH_ARTIFACT".into())
    );
    assert_eq!(ev["notify_type"], serde_json::json!(["http", "slack"]));
    assert_eq!(
        ev["payload_formats"][0]["formats"],
        serde_json::json!(["Default", "CloudEvents"])
    );
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/p/webhook/lasttrigger",
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (StatusCode::OK, serde_json::json!([]))
    );
    let r = call(
        &app,
        Method::GET,
        &format!("{location}/executions"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.header("x-total-count")),
        (StatusCode::OK, Some("0"))
    );
    let r = call(
        &app,
        Method::GET,
        &format!("{location}/executions/1/tasks"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A policy of project p is not reachable through project q.
    let other = location.replace("/projects/p/", "/projects/q/");
    assert_eq!(
        call(&app, Method::GET, &other, &[], vec![]).await.status,
        StatusCode::NOT_FOUND
    );

    // Developers can neither read nor write policies; project admins can.
    let user = serde_json::json!({"username": "dev1", "password": "Passw0rd-x", "email": "d@x", "realname": "d"});
    assert_eq!(
        json_call(&app, Method::POST, "/api/v2.0/users", user)
            .await
            .status,
        StatusCode::CREATED
    );
    let member = serde_json::json!({"role_id": 2, "member_user": {"username": "dev1"}});
    let r = json_call(&app, Method::POST, "/api/v2.0/projects/p/members", member).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let dev = basic("dev1", "Passw0rd-x");
    let as_dev = [
        ("authorization", dev.as_str()),
        ("content-type", "application/json"),
    ];
    let body =
        serde_json::to_vec(&policy_body("d", "https://h/x", "http", &["PUSH_ARTIFACT"])).unwrap();
    assert_eq!(
        call(&app, Method::POST, base, &as_dev, body).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&app, Method::GET, base, &as_dev, vec![]).await.status,
        StatusCode::FORBIDDEN
    );
    // Anonymous callers cannot even see the private project.
    assert_eq!(
        call(&app, Method::GET, base, &[("authorization", "")], vec![])
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Delete.
    assert_eq!(
        call(&app, Method::DELETE, &location, &[], vec![])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, Method::GET, &location, &[], vec![]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn audit_logs_filter_page_and_export() {
    let (app, reg) = app_with_registry().await;
    // Push p/app:v1 and pull it, as admin.
    let config = push_blob(&app, "p/app", b"{}").await;
    let layer = push_blob(&app, "p/app", b"layer-bytes").await;
    let m = manifest(&config, 2, &[(&layer, 11)]);
    let r = call(&app, Method::PUT, "/v2/p/app/manifests/v1", &[MT], m).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = call(&app, Method::GET, "/v2/p/app/manifests/v1", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&app, Method::HEAD, "/v2/p/app/manifests/v1", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    reg.flush_pulls().await.unwrap();

    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/audit-logs?q=resource_type%3Dartifact&sort=op_time",
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.header("x-total-count"),
        Some("2"),
        "a push and one GET (HEADs are not pulls)"
    );
    let items = r.json();
    assert_eq!(items[0]["operation"], "create");
    assert_eq!(items[0]["resource"], "p/app:v1");
    assert_eq!(items[0]["username"], "admin");
    assert_eq!(items[1]["operation"], "pull");
    assert!(items[0]["op_time"].as_str().is_some());
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/auditlog-exts?q=operation%3Dpull",
        &[],
        vec![],
    )
    .await;
    let e = &r.json()[0];
    assert_eq!(
        (e["operation_result"].as_bool(), e["resource"].as_str()),
        (Some(true), Some("p/app:v1"))
    );
    assert!(
        e["operation_description"]
            .as_str()
            .unwrap()
            .contains("pull artifact p/app:v1")
    );
    // Paging headers.
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/auditlog-exts?page_size=1&q=username%3Dadmin",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert!(r.header("link").unwrap().contains("rel=\"next\""));
    // Unknown keys and bad times are refused.
    for bad in [
        "q=nope%3D1",
        "q=op_time%3D%5Byesterday~%5D",
        "sort=password",
    ] {
        let r = call(
            &app,
            Method::GET,
            &format!("/api/v2.0/audit-logs?{bad}"),
            &[],
            vec![],
        )
        .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            "{bad}"
        );
    }
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/audit-logs",
        &[("authorization", "")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/auditlog-exts/events",
        &[],
        vec![],
    )
    .await;
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"event_type": "pull_artifact"}))
    );
    let r = call(&app, Method::GET, "/api/v2.0/projects/p/logs", &[], vec![]).await;
    assert_eq!(
        r.header("x-total-count"),
        Some("3"),
        "create_project, push, pull"
    );
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/q/auditlog-exts",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.header("x-total-count"), Some("1"));

    // CSV export, parsed back.
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/audit-logs/export?format=csv&q=resource_type%3Dartifact&sort=id",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("audit-logs.csv")
    );
    let rows = registry_core::testkit::parse_csv(std::str::from_utf8(&r.body).unwrap());
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0][..4],
        ["id", "username", "resource", "resource_type"]
    );
    assert_eq!(
        (
            rows[1][1].as_str(),
            rows[1][2].as_str(),
            rows[1][4].as_str()
        ),
        ("admin", "p/app:v1", "create")
    );
    assert_eq!(rows[2][4], "pull");
    assert_eq!(rows[1][6], "true");
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/audit-logs/export?format=json&q=resource_type%3Dartifact&sort=-id",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let json = r.json();
    assert_eq!(json[0]["id"].to_string(), rows[2][0]);
    assert_eq!(json[1]["id"].to_string(), rows[1][0]);
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/audit-logs/export?format=xml",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn audit_purge_schedule_and_manual_run() {
    let (app, reg) = app_with_registry().await;
    let sched = "/api/v2.0/system/purgeaudit/schedule";
    let r = call(&app, Method::GET, sched, &[], vec![]).await;
    assert_eq!(
        (r.status, r.json()["schedule"]["type"].as_str()),
        (StatusCode::OK, Some("None"))
    );
    let daily = serde_json::json!({"schedule": {"type": "Daily"}, "parameters": {"audit_retention_hour": 168, "include_event_types": "pull_artifact,create_artifact", "dry_run": false}});
    let r = json_call(&app, Method::POST, sched, daily).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let got = call(&app, Method::GET, sched, &[], vec![]).await.json();
    assert_eq!(got["schedule"]["type"], "Daily");
    assert_eq!(got["schedule"]["cron"], "0 0 0 * * *");
    assert!(got["schedule"]["next_scheduled_time"].as_str().is_some());
    assert_eq!(got["parameters"]["audit_retention_hour"], 168);
    let bad = serde_json::json!({"schedule": {"type": "Custom", "cron": "nope"}, "parameters": {"audit_retention_hour": 1}});
    assert_eq!(
        json_call(&app, Method::PUT, sched, bad).await.status,
        StatusCode::BAD_REQUEST
    );
    let bad = serde_json::json!({"schedule": {"type": "Daily"}, "parameters": {"audit_retention_hour": 300000}});
    assert_eq!(
        json_call(&app, Method::PUT, sched, bad).await.status,
        StatusCode::BAD_REQUEST
    );

    // Manual: a dry run now, visible in the history with its log.
    let manual = serde_json::json!({"schedule": {"type": "Manual"}, "parameters": {"audit_retention_hour": 1, "dry_run": true}});
    let r = json_call(&app, Method::POST, sched, manual).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let run = r.header("location").unwrap().to_owned();
    assert!(run.starts_with("/api/v2.0/system/purgeaudit/"), "{run}");
    assert_eq!(reg.run_jobs_until_idle().await.unwrap(), 1);
    let r = call(&app, Method::GET, &run, &[], vec![]).await;
    let h = r.json();
    assert_eq!(
        (
            h["job_name"].as_str(),
            h["job_status"].as_str(),
            h["job_kind"].as_str()
        ),
        (Some("PURGE_AUDIT_LOG"), Some("Success"), Some("MANUAL"))
    );
    assert!(
        h["job_parameters"]
            .as_str()
            .unwrap()
            .contains("\"dry_run\":true")
    );
    let r = call(&app, Method::GET, &format!("{run}/log"), &[], vec![]).await;
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(String::from_utf8_lossy(&r.body).contains("would delete 0 entries"));
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/system/purgeaudit",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.header("x-total-count"), Some("1"));
    // A finished run cannot be stopped; an unknown one is not found.
    assert_eq!(
        call(&app, Method::PUT, &run, &[], vec![]).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/v2.0/system/purgeaudit/9999",
            &[],
            vec![]
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // None removes the schedule; only administrators manage any of it.
    let none = serde_json::json!({"schedule": {"type": "None"}});
    assert_eq!(
        json_call(&app, Method::PUT, sched, none).await.status,
        StatusCode::OK
    );
    let r = call(&app, Method::GET, sched, &[], vec![]).await;
    assert_eq!(r.json()["schedule"]["type"], "None");
    let user = serde_json::json!({"username": "u2", "password": "Passw0rd-x", "email": "u@x", "realname": "u"});
    json_call(&app, Method::POST, "/api/v2.0/users", user).await;
    let u = basic("u2", "Passw0rd-x");
    assert_eq!(
        call(
            &app,
            Method::GET,
            sched,
            &[("authorization", u.as_str())],
            vec![]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}
