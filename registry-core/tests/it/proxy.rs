//! Proxy-cache projects against an upstream that misbehaves on demand.
//!
//! The upstream here is a small in-process registry, not a real one: Distribution cannot be
//! made to answer 429 or to serve bytes that do not match their digest. The happy paths against
//! the real Distribution 2.8 are in tests/e2e/proxy.sh.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::TryStreamExt;
use registry_core::distribution::access::Caller;
use registry_core::model::ProjectReq;
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::replication::{RegistryCredential, RegistryReq};
use registry_core::{ErrorCode, Principal, Registry};

const SYS: &Principal = &Principal::System;
const NORMAL: u8 = 0;
const RATE_LIMITED: u8 = 1;
const GONE: u8 = 2;

struct Upstream {
    mode: AtomicU8,
    manifest: Bytes,
    blobs: Vec<(Digest, Bytes)>,
    /// Served under this digest, with other bytes.
    corrupt: Digest,
    blob_gets: AtomicUsize,
    manifest_gets: AtomicUsize,
    /// Pushes into this upstream: the upload in progress, and what was stored by path.
    upload: std::sync::Mutex<Vec<u8>>,
    stored: std::sync::Mutex<std::collections::HashMap<String, Bytes>>,
    /// PATCHes that fail (500) before the next one is taken.
    failing_patches: AtomicUsize,
    patches: AtomicUsize,
}

async fn serve(
    State(up): State<Arc<Upstream>>,
    method: Method,
    Path(path): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = take_push(&up, &method, &path, query.as_deref(), body) {
        return r;
    }
    match up.mode.load(Ordering::SeqCst) {
        RATE_LIMITED => return (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response(),
        GONE => {
            return (
                StatusCode::NOT_FOUND,
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone"}]}"#,
            )
                .into_response();
        }
        _ => {}
    }
    let mut headers = HeaderMap::new();
    if path.is_empty() {
        return StatusCode::OK.into_response();
    }
    if path == "_catalog" {
        return axum::Json(serde_json::json!({ "repositories": ["lib/app"] })).into_response();
    }
    if path == "lib/app/tags/list" {
        return axum::Json(serde_json::json!({ "name": "lib/app", "tags": ["v1"] }))
            .into_response();
    }
    let huge = Bytes::from(vec![b' '; 5 << 20]);
    let d = Digest::sha256_of(&huge).to_string();
    if path == "lib/app/manifests/huge" || path == format!("lib/app/manifests/{d}") {
        // More than the 4 MiB a manifest may have: refused before it is buffered.
        headers.insert("docker-content-digest", HeaderValue::from_str(&d).unwrap());
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
        );
        return (headers, huge).into_response();
    }
    if path.starts_with("lib/app/manifests/") {
        let d = Digest::sha256_of(&up.manifest).to_string();
        headers.insert("docker-content-digest", HeaderValue::from_str(&d).unwrap());
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
        );
        if method == Method::GET {
            up.manifest_gets.fetch_add(1, Ordering::SeqCst);
        }
        return (headers, up.manifest.clone()).into_response();
    }
    if let Some((_, d)) = path.split_once("/blobs/") {
        up.blob_gets.fetch_add(1, Ordering::SeqCst);
        if d == up.corrupt.to_string() {
            return Bytes::from_static(b"not what the digest says").into_response();
        }
        if let Some((_, b)) = up.blobs.iter().find(|(x, _)| x.to_string() == d) {
            // Slow enough that concurrent requests overlap the fetch.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            return b.clone().into_response();
        }
    }
    (
        StatusCode::NOT_FOUND,
        r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}"#,
    )
        .into_response()
}

/// The push side of the fake upstream, for paths outside `lib/app`: monolithic and chunked
/// uploads (PATCHes fail while `failing_patches` counts down), upload status, blob HEADs and
/// manifest PUTs.
fn take_push(
    up: &Upstream,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Option<Response> {
    if path.starts_with("lib/app/") || path.is_empty() || path == "_catalog" {
        return None;
    }
    let location = |n: usize| {
        let mut h = HeaderMap::new();
        let repo = path.split("/blobs/").next().unwrap_or_default();
        h.insert(
            "location",
            HeaderValue::from_str(&format!("/v2/{repo}/blobs/uploads/u1")).unwrap(),
        );
        if n > 0 {
            h.insert(
                "range",
                HeaderValue::from_str(&format!("0-{}", n - 1)).unwrap(),
            );
        }
        h
    };
    if path.ends_with("/blobs/uploads/") && method == Method::POST {
        up.upload.lock().unwrap().clear();
        return Some((StatusCode::ACCEPTED, location(0)).into_response());
    }
    if path.ends_with("/blobs/uploads/u1") {
        let mut data = up.upload.lock().unwrap();
        match *method {
            Method::PATCH => {
                up.patches.fetch_add(1, Ordering::SeqCst);
                if up.failing_patches.load(Ordering::SeqCst) > 0 {
                    up.failing_patches.fetch_sub(1, Ordering::SeqCst);
                    return Some(StatusCode::INTERNAL_SERVER_ERROR.into_response());
                }
                data.extend_from_slice(&body);
                return Some((StatusCode::ACCEPTED, location(data.len())).into_response());
            }
            Method::GET => {
                return Some((StatusCode::NO_CONTENT, location(data.len())).into_response());
            }
            Method::PUT => {
                data.extend_from_slice(&body);
                let want = query
                    .unwrap_or_default()
                    .split("digest=")
                    .nth(1)
                    .unwrap_or_default()
                    .replace("%3A", ":");
                if Digest::sha256_of(&data).to_string() != want {
                    return Some(StatusCode::BAD_REQUEST.into_response());
                }
                let repo = path.split("/blobs/").next().unwrap_or_default();
                up.stored
                    .lock()
                    .unwrap()
                    .insert(format!("{repo}/blobs/{want}"), Bytes::from(data.clone()));
                return Some(StatusCode::CREATED.into_response());
            }
            _ => {}
        }
    }
    if method == Method::PUT && path.contains("/manifests/") {
        up.stored.lock().unwrap().insert(path.to_owned(), body);
        return Some(StatusCode::CREATED.into_response());
    }
    let found = up.stored.lock().unwrap().get(path).cloned();
    Some(match found {
        Some(b) if path.contains("/manifests/") => {
            let mut h = HeaderMap::new();
            h.insert(
                "docker-content-digest",
                HeaderValue::from_str(&Digest::sha256_of(&b).to_string()).unwrap(),
            );
            h.insert(
                "content-type",
                HeaderValue::from_static("application/vnd.oci.image.manifest.v1+json"),
            );
            (h, b).into_response()
        }
        Some(b) => b.into_response(),
        // Blobs not pushed here: the read side answers (any repository path).
        None if path.contains("/blobs/") => return None,
        None => (
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}"#,
        )
            .into_response(),
    })
}

async fn start_upstream() -> (Arc<Upstream>, String) {
    let config = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let layer = Bytes::from(vec![7u8; 300_000]);
    let blobs = vec![
        (Digest::sha256_of(&config), config.clone()),
        (Digest::sha256_of(&layer), layer.clone()),
    ];
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blobs[0].0.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blobs[1].0.to_string(), "size": layer.len()}],
    });
    let up = Arc::new(Upstream {
        mode: AtomicU8::new(NORMAL),
        manifest: Bytes::from(serde_json::to_vec(&manifest).unwrap()),
        blobs,
        corrupt: Digest::sha256_of(b"the real bytes"),
        blob_gets: AtomicUsize::new(0),
        manifest_gets: AtomicUsize::new(0),
        upload: std::sync::Mutex::new(Vec::new()),
        stored: std::sync::Mutex::new(std::collections::HashMap::new()),
        failing_patches: AtomicUsize::new(0),
        patches: AtomicUsize::new(0),
    });
    let app = axum::Router::new()
        .route("/v2/", axum::routing::any(|| async { StatusCode::OK }))
        .route("/v2/{*path}", axum::routing::any(serve))
        .with_state(up.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (up, format!("http://{addr}"))
}

async fn proxy_registry(url: &str) -> Registry {
    let reg = Registry::open("memory://").await.unwrap();
    let endpoint = reg
        .create_registry_endpoint(
            SYS,
            RegistryReq {
                name: "up".into(),
                url: url.into(),
                kind: "docker-registry".into(),
                credential: Some(RegistryCredential::default()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    reg.create_project(
        SYS,
        ProjectReq {
            project_name: "hub".into(),
            registry_id: Some(endpoint.id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    reg
}

async fn read_all(
    reg: &Registry,
    caller: &Caller,
    repo: &RepoName,
    d: &Digest,
) -> Result<Bytes, registry_core::Error> {
    let read = reg.v2(caller).get_blob(repo, d, None).await?;
    let chunks: Vec<Bytes> = read.body.try_collect().await?;
    Ok(chunks.concat().into())
}

#[tokio::test]
async fn a_proxy_project_pulls_through_once_and_serves_the_cache_when_upstream_fails() {
    let (up, url) = start_upstream().await;
    let reg = proxy_registry(&url).await;
    let caller = Caller::system();
    let repo = RepoName::parse("hub/lib/app").unwrap();
    let v1 = Reference::Tag("v1".into());

    let m = reg.v2(&caller).get_manifest(&repo, &v1).await.unwrap();
    assert_eq!(m.content, up.manifest);

    // The project keeps what was pulled in the last 7 days (Harbor's default), daily.
    let hub = reg.project(SYS, "hub", true).await.unwrap();
    let retention: i64 = hub.metadata["retention_id"].parse().unwrap();
    let policy = reg.retention(SYS, retention).await.unwrap();
    assert_eq!(policy.rules[0].template, "nDaysSinceLastPull");
    assert_eq!(policy.rules[0].params["nDaysSinceLastPull"], 7);
    // proxy_speed_kb must be a number.
    let mut bad = std::collections::BTreeMap::new();
    bad.insert("proxy_speed_kb".to_owned(), "fast".to_owned());
    let e = reg.update_project(SYS, "hub", true, bad).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadRequest);

    // Ten concurrent reads of a blob not cached yet: one upstream fetch, all get the bytes.
    let (layer_digest, layer) = up.blobs[1].clone();
    let reads = (0..10).map(|_| read_all(&reg, &caller, &repo, &layer_digest));
    for got in futures::future::join_all(reads).await {
        assert_eq!(got.unwrap(), layer);
    }
    assert_eq!(
        up.blob_gets.load(Ordering::SeqCst),
        1,
        "one upstream fetch for ten readers"
    );

    // The manifest is stored once its blobs are (the config is fetched in the background).
    let by_digest = Reference::Digest(Digest::parse(&m.digest).unwrap());
    let mut stored = false;
    for _ in 0..100 {
        if reg.get_manifest(&repo, &v1).await.is_ok() {
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stored, "the cache stores the manifest under its tag");
    assert_eq!(
        up.blob_gets.load(Ordering::SeqCst),
        2,
        "the config was fetched once"
    );

    // Rate limited: the cached tag answers; an uncached one says why it cannot.
    up.mode.store(RATE_LIMITED, Ordering::SeqCst);
    let m2 = reg.v2(&caller).get_manifest(&repo, &v1).await.unwrap();
    assert_eq!(m2.content, up.manifest);
    let e = reg
        .v2(&caller)
        .get_manifest(&repo, &Reference::Tag("v2".into()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooManyRequests, "{e}");
    // A digest present locally never goes upstream.
    let gets = up.manifest_gets.load(Ordering::SeqCst);
    reg.v2(&caller)
        .get_manifest(&repo, &by_digest)
        .await
        .unwrap();
    assert_eq!(
        read_all(&reg, &caller, &repo, &layer_digest).await.unwrap(),
        layer
    );
    assert_eq!(up.manifest_gets.load(Ordering::SeqCst), gets);

    // The upstream says the tag is gone: so does the proxy.
    up.mode.store(GONE, Ordering::SeqCst);
    let e = reg.v2(&caller).get_manifest(&repo, &v1).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestUnknown, "{e}");

    // A repository filter hides what it does not match, cached or not.
    let filter = |v: &str| {
        let mut m = std::collections::BTreeMap::new();
        m.insert("proxy_repository_filter".to_owned(), v.to_owned());
        m
    };
    let e = reg
        .update_project(SYS, "hub", true, filter("[oops"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadRequest, "{e}");
    reg.update_project(SYS, "hub", true, filter("other/**"))
        .await
        .unwrap();
    let e = reg
        .v2(&caller)
        .get_manifest(&repo, &by_digest)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NameUnknown, "{e}");
    let e = read_all(&reg, &caller, &repo, &layer_digest)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NameUnknown, "{e}");
    reg.update_project(SYS, "hub", true, filter("lib/**"))
        .await
        .unwrap();
    reg.v2(&caller)
        .get_manifest(&repo, &by_digest)
        .await
        .unwrap();
}

#[tokio::test]
async fn bytes_that_do_not_match_their_digest_are_never_cached_and_writes_are_refused() {
    let (up, url) = start_upstream().await;
    let reg = proxy_registry(&url).await;
    let caller = Caller::system();
    let repo = RepoName::parse("hub/lib/app").unwrap();

    let corrupt = up.corrupt.clone();
    let e = read_all(&reg, &caller, &repo, &corrupt).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(
        reg.stat_blob(&repo, &corrupt).await.is_err(),
        "nothing stored"
    );
    let e = reg
        .v2(&caller)
        .head_blob(&repo, &corrupt)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");

    // max_upstream_conn: one fetch at a time; a second blob meanwhile is a 429.
    let mut one = std::collections::BTreeMap::new();
    one.insert("max_upstream_conn".to_owned(), "1".to_owned());
    reg.update_project(SYS, "hub", true, one).await.unwrap();
    let (config_digest, config) = up.blobs[0].clone();
    let (layer_digest, layer) = up.blobs[1].clone();
    let (reg2, caller2, repo2, d2) = (
        reg.clone(),
        caller.clone(),
        repo.clone(),
        layer_digest.clone(),
    );
    let first = tokio::spawn(async move { read_all(&reg2, &caller2, &repo2, &d2).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let e = read_all(&reg, &caller, &repo, &config_digest)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TooManyRequests, "{e}");
    assert_eq!(first.await.unwrap().unwrap(), layer);
    assert_eq!(
        read_all(&reg, &caller, &repo, &config_digest)
            .await
            .unwrap(),
        config
    );
    // Cached blobs need no upstream connection.
    assert_eq!(
        read_all(&reg, &caller, &repo, &layer_digest).await.unwrap(),
        layer
    );

    // proxy_speed_kb paces the upstream fetch (a lower bound: it cannot be faster).
    let mut slow = std::collections::BTreeMap::new();
    slow.insert("proxy_speed_kb".to_owned(), "200".to_owned());
    reg.update_project(SYS, "hub", true, slow).await.unwrap();
    let paced = RepoName::parse("hub/paced/app").unwrap();
    let started = std::time::Instant::now();
    assert_eq!(
        read_all(&reg, &caller, &paced, &layer_digest)
            .await
            .unwrap(),
        layer
    );
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_millis(1200),
        "300 KB at 200 KB/s took {took:?}"
    );

    // Quota applies to what the cache stores: a blob over the limit is not kept.
    let endpoint = reg.project(SYS, "hub", true).await.unwrap().registry_id;
    reg.create_project(
        SYS,
        ProjectReq {
            project_name: "tiny".into(),
            registry_id: Some(endpoint),
            storage_limit: Some(1000),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let tiny = RepoName::parse("tiny/lib/app").unwrap();
    let e = read_all(&reg, &caller, &tiny, &layer_digest)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("quota"), "{e}");
    assert!(
        reg.stat_blob(&tiny, &layer_digest).await.is_err(),
        "nothing stored"
    );

    let e = reg
        .v2(&caller)
        .get_manifest(&repo, &Reference::Tag("huge".into()))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unavailable, "{e}");
    assert!(e.to_string().contains("more than"), "{e}");

    let e = reg.v2(&caller).start_upload(&repo).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied, "{e}");
    let e = reg
        .v2(&caller)
        .put_manifest(
            &repo,
            &Reference::Tag("mine".into()),
            None,
            up.manifest.clone(),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied, "{e}");
    // The embedding program may still write through the engine directly.
    assert!(
        reg.push_blob_bytes(&repo, Bytes::from_static(b"own"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn registry_endpoint_secrets_are_sealed_masked_and_kept_or_dropped_on_update() {
    let reg = Registry::open("memory://").await.unwrap();
    let e = reg
        .create_registry_endpoint(
            SYS,
            RegistryReq {
                name: "hub".into(),
                url: "https://registry-1.docker.io".into(),
                kind: "docker-hub".into(),
                credential: Some(RegistryCredential {
                    kind: "basic".into(),
                    access_key: "me".into(),
                    access_secret: "s3cret-value".into(),
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(e.credential.access_secret, "*****");
    let row = reg
        .metadata_store()
        .registry_endpoint(e.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !row.access_secret.contains("s3cret-value"),
        "sealed at rest"
    );
    let sealed = row.access_secret.clone();

    // The mask (or nothing) keeps the stored secret.
    let upd = |f: fn(&mut registry_core::replication::RegistryUpdate)| {
        let mut u = registry_core::replication::RegistryUpdate::default();
        f(&mut u);
        u
    };
    reg.update_registry_endpoint(
        SYS,
        e.id,
        upd(|u| {
            u.description = Some("d".into());
            u.access_secret = Some("*****".into());
        }),
    )
    .await
    .unwrap();
    let row = reg
        .metadata_store()
        .registry_endpoint(e.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.access_secret, sealed);
    // A new URL without a new secret drops it: it never goes to a host it was not given for.
    reg.update_registry_endpoint(
        SYS,
        e.id,
        upd(|u| u.url = Some("https://elsewhere.example".into())),
    )
    .await
    .unwrap();
    let row = reg
        .metadata_store()
        .registry_endpoint(e.id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.access_secret.is_empty());

    // Users without the system permission see nothing.
    let anon = reg
        .registry_endpoints(&Principal::Anonymous, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(anon.code(), ErrorCode::Unauthorized);
}

/// A registry on a fake clock, with endpoint "up" (`url`) and project `src` holding one image.
async fn replication_registry(url: &str) -> (Registry, Arc<registry_core::clock::FakeClock>, i64) {
    let clock = Arc::new(registry_core::clock::FakeClock::new(1_700_000_000_000));
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    let up = reg
        .create_registry_endpoint(
            SYS,
            RegistryReq {
                name: "up".into(),
                url: url.into(),
                kind: "docker-registry".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    reg.create_project(
        SYS,
        ProjectReq {
            project_name: "src".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    (reg, clock, up.id)
}

async fn push_image(reg: &Registry, repo: &str, tag: &str) {
    let image = registry_core::image::NewImage {
        config: Some(Bytes::from(format!(
            r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#
        ))),
        layers: vec![registry_core::image::NewLayer {
            content: registry_core::image::Content::Bytes(Bytes::from(vec![1u8; 100])),
            media_type: None,
        }],
        ..Default::default()
    };
    reg.push_image(
        &registry_core::image::ImageRef::parse(&format!("{repo}:{tag}")).unwrap(),
        image,
    )
    .await
    .unwrap();
}

fn policy_req(
    name: &str,
    dest: i64,
    trigger: serde_json::Value,
) -> registry_core::replication::ReplicationPolicyReq {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "dest_registry": {"id": dest},
        "dest_namespace": "mirror",
        "dest_namespace_replace_count": 1,
        "filters": [{"type": "name", "value": "src/**"}, {"type": "tag", "value": "v*"}],
        "trigger": trigger,
    }))
    .unwrap()
}

#[tokio::test]
async fn event_based_policies_start_on_a_matching_push_once_and_scheduled_ones_on_their_cron() {
    let (_up, url) = start_upstream().await;
    let (reg, clock, up) = replication_registry(&url).await;
    // Events before the first look are history: only later pushes trigger.
    push_image(&reg, "src/app", "v0").await;
    assert_eq!(reg.replicate_pending_events().await.unwrap(), 0);
    let p = reg
        .create_replication_policy(
            SYS,
            policy_req("on-push", up, serde_json::json!({"type": "event_based"})),
        )
        .await
        .unwrap();
    push_image(&reg, "src/app", "v1").await;
    push_image(&reg, "src/app", "latest").await; // the tag filter leaves it out
    push_image(&reg, "src/other", "x1").await; // nor this one
    assert_eq!(
        reg.replicate_pending_events().await.unwrap(),
        1,
        "one push matches"
    );
    assert_eq!(
        reg.replicate_pending_events().await.unwrap(),
        0,
        "each event counts once"
    );
    let runs = reg
        .replication_executions(SYS, Some(p.id), &Default::default())
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    assert_eq!(runs.items[0].trigger, "event");
    let tasks = reg.replication_tasks(SYS, runs.items[0].id).await.unwrap();
    assert_eq!(
        (
            tasks[0].src_resource.as_str(),
            tasks[0].dst_resource.as_str()
        ),
        ("src/app:[v1]", "mirror/app:[v1]")
    );

    // Stopped before it ran: its task never runs.
    reg.stop_replication(SYS, runs.items[0].id).await.unwrap();
    let stopped = reg
        .replication_execution(SYS, runs.items[0].id)
        .await
        .unwrap();
    assert_eq!((stopped.status.as_str(), stopped.stopped), ("Stopped", 1));

    // A label filter (local sources): only the labelled artifact goes.
    let label: registry_core::model::Label =
        serde_json::from_value(serde_json::json!({"name": "release", "scope": "g"})).unwrap();
    let label = reg.create_label(SYS, label).await.unwrap();
    reg.attach_label(SYS, "src", "app", "v1", label.id)
        .await
        .unwrap();
    let mut labelled = policy_req("labelled", up, serde_json::json!({"type": "manual"}));
    labelled.filters.push(
        serde_json::from_value(serde_json::json!({"type": "label", "value": ["release"]})).unwrap(),
    );
    let lp = reg.create_replication_policy(SYS, labelled).await.unwrap();
    let run = reg.start_replication(SYS, lp.id).await.unwrap();
    let tasks = reg.replication_tasks(SYS, run).await.unwrap();
    assert_eq!(tasks[0].src_resource, "src/app:[v1]");
    reg.stop_replication(SYS, run).await.unwrap();
    reg.delete_replication_policy(SYS, lp.id).await.unwrap();

    // A disabled event policy starts nothing.
    let mut off = policy_req("on-push", up, serde_json::json!({"type": "event_based"}));
    off.enabled = Some(false);
    reg.update_replication_policy(SYS, p.id, off).await.unwrap();
    push_image(&reg, "src/app", "v2").await;
    assert_eq!(reg.replicate_pending_events().await.unwrap(), 0);

    // Scheduled: nothing before the cron comes round, one planned run after.
    let s = reg
        .create_replication_policy(
            SYS,
            policy_req("nightly", up, serde_json::json!({"type": "scheduled", "trigger_settings": {"cron": "0 0 3 * * *"}})),
        )
        .await
        .unwrap();
    assert_eq!(reg.fire_due_schedules().await.unwrap(), 0);
    clock.advance(24 * 3600 * 1000);
    assert_eq!(reg.fire_due_schedules().await.unwrap(), 1);
    // The schedule's own job (the one task pending) plans the run.
    assert!(reg.run_next_task().await.unwrap());
    let runs = reg
        .replication_executions(SYS, Some(s.id), &Default::default())
        .await
        .unwrap();
    assert_eq!(runs.items.len(), 1);
    assert_eq!(runs.items[0].trigger, "schedule");
    assert_eq!(runs.items[0].total, 1, "src/app, with v0 v1 v2");

    // Bad policies store nothing.
    for bad in [
        serde_json::json!({"type": "scheduled", "trigger_settings": {"cron": "not a cron"}}),
        serde_json::json!({"type": "sometimes"}),
    ] {
        let e = reg
            .create_replication_policy(SYS, policy_req("bad", up, bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::BadRequest, "{e}");
    }
    let mut pull_event: registry_core::replication::ReplicationPolicyReq =
        policy_req("bad", up, serde_json::json!({"type": "event_based"}));
    pull_event.src_registry = pull_event.dest_registry.take();
    let e = reg
        .create_replication_policy(SYS, pull_event)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BadRequest, "{e}");
    assert_eq!(
        reg.replication_policies(SYS, &Default::default())
            .await
            .unwrap()
            .total,
        2
    );
    let anon = reg
        .replication_policies(&Principal::Anonymous, &Default::default())
        .await
        .unwrap_err();
    assert_eq!(anon.code(), ErrorCode::Unauthorized);
}

#[tokio::test]
async fn a_pull_based_policy_copies_into_a_new_project_and_records_a_replication_event() {
    let (up, url) = start_upstream().await;
    let (reg, _clock, endpoint) = replication_registry(&url).await;
    let policy: registry_core::replication::ReplicationPolicyReq =
        serde_json::from_value(serde_json::json!({
            "name": "in",
            "src_registry": {"id": endpoint},
            "dest_namespace": "mirror",
            "dest_namespace_replace_count": 1,
            "filters": [{"type": "name", "value": "lib/**"}],
        }))
        .unwrap();
    let p = reg.create_replication_policy(SYS, policy).await.unwrap();
    let id = reg.start_replication(SYS, p.id).await.unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    let run = reg.replication_execution(SYS, id).await.unwrap();
    assert_eq!(
        (run.status.as_str(), run.total, run.succeed),
        ("Succeed", 1, 1),
        "{run:?}"
    );
    let repo = RepoName::parse("mirror/app").unwrap();
    let m = reg
        .get_manifest(&repo, &Reference::Tag("v1".into()))
        .await
        .unwrap();
    assert_eq!(m.content, up.manifest, "the digest is kept");
    let tasks = reg.replication_tasks(SYS, id).await.unwrap();
    let log = reg
        .replication_task_log(SYS, id, tasks[0].id)
        .await
        .unwrap();
    assert!(log.contains("copied to mirror/app:v1"), "{log}");

    let mirror = reg.project(SYS, "mirror", true).await.unwrap();
    let events = reg.metadata_store().events_after(0, 1000).await.unwrap();
    let e = events
        .iter()
        .find(|e| e.event_type == "REPLICATION")
        .expect("a REPLICATION event");
    assert_eq!(
        e.project_id,
        Some(mirror.project_id),
        "the local side's project gets the webhook"
    );
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
    let r = &payload["replication"];
    assert_eq!(r["job_status"], "Success");
    assert_eq!(
        r["successful_artifact"][0]["name_tag"],
        "app [1 item(s) in total]"
    );
    assert_eq!(r["src_resource"]["registry_type"], "docker-registry");
    assert_eq!(r["dest_resource"]["namespace"], "mirror");
}

#[tokio::test]
async fn a_chunked_copy_retries_the_chunk_that_failed_not_the_blob() {
    let (up, url) = start_upstream().await;
    let (reg, _clock, endpoint) = replication_registry(&url).await;
    push_image(&reg, "src/app", "v1").await;
    let mut req = policy_req("chunked", endpoint, serde_json::json!({"type": "manual"}));
    req.copy_by_chunk = true;
    let p = reg.create_replication_policy(SYS, req).await.unwrap();
    up.failing_patches.store(1, Ordering::SeqCst);
    let id = reg.start_replication(SYS, p.id).await.unwrap();
    reg.run_jobs_until_idle().await.unwrap();
    let run = reg.replication_execution(SYS, id).await.unwrap();
    assert_eq!(
        (run.status.as_str(), run.succeed),
        ("Succeed", 1),
        "{run:?}"
    );
    // Two blobs of one chunk each, one PATCH failed once and was sent again: 3 PATCHes.
    assert_eq!(up.patches.load(Ordering::SeqCst), 3);
    let stored = up.stored.lock().unwrap();
    assert!(
        stored.contains_key("mirror/app/manifests/v1"),
        "{:?}",
        stored.keys().collect::<Vec<_>>()
    );
    assert_eq!(stored.keys().filter(|k| k.contains("/blobs/")).count(), 2);
}
