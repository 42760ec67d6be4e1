//! HTTP tests on the router (no socket): status codes, headers and the OCI error envelope for the
//! write-path safety rules, pagination and the Link header.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use registry_core::Registry;
use registry_http::{AppOptions, app};
use sha2::{Digest as _, Sha256};
use tower::ServiceExt;

#[path = "http/additions.rs"]
mod additions;
#[path = "http/audit.rs"]
mod audit;
#[path = "http/sessions.rs"]
mod sessions;

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Res {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The first error code of an OCI error envelope.
    fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or("<no envelope>")
            .to_owned()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

const ADMIN_PASSWORD: &str = "Admin-Pass-1";
/// `Authorization` for admin:Admin-Pass-1.
const ADMIN_AUTH: &str = "Basic YWRtaW46QWRtaW4tUGFzcy0x";

async fn app_mem() -> Router {
    app_and_registry().await.0
}

/// The app and a handle on its registry (to run jobs, say).
async fn app_and_registry() -> (Router, Registry) {
    let reg = Registry::open("memory://").await.unwrap();
    reg.bootstrap(Some(ADMIN_PASSWORD)).await.unwrap();
    for name in ["p", "q", "t"] {
        let req = registry_core::model::ProjectReq {
            project_name: name.into(),
            ..Default::default()
        };
        reg.create_project(&registry_core::Principal::System, req)
            .await
            .unwrap();
    }
    (app(reg.clone(), AppOptions::default()), reg)
}

/// Send a request as the admin, unless `headers` carries its own `authorization` (an empty one
/// means anonymous).
async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Res {
    let mut req = Request::builder().method(method).uri(uri);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        req = req.header("authorization", ADMIN_AUTH);
    }
    for (k, v) in headers
        .iter()
        .filter(|(k, v)| !(k.eq_ignore_ascii_case("authorization") && v.is_empty()))
    {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Res {
        status,
        headers,
        body,
    }
}

fn sha256(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

async fn push_blob(app: &Router, repo: &str, data: &[u8]) -> String {
    let d = sha256(data);
    let r = call(
        app,
        Method::POST,
        &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
        &[],
        data.to_vec(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    d
}

fn manifest(config: &str, config_len: usize, layers: &[(&str, usize)]) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|(d, n)| serde_json::json!({"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":d,"size":n}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType":"application/vnd.oci.image.config.v1+json","digest":config,"size":config_len},
        "layers": layers
    }))
    .unwrap()
}

const MT: (&str, &str) = ("content-type", "application/vnd.oci.image.manifest.v1+json");

#[tokio::test]
async fn invalid_names_are_name_invalid() {
    let app = app_mem().await;
    let long = format!("{}/x", "a".repeat(260));
    for name in [
        "Upper/case",
        "a/../b",
        "a//b",
        "-a/b",
        "a/b_",
        long.as_str(),
        "a/%2e%2e/b",
    ] {
        let r = call(
            &app,
            Method::GET,
            &format!("/v2/{name}/tags/list"),
            &[],
            vec![],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(r.code(), "NAME_INVALID", "{name}");
        let r = call(
            &app,
            Method::POST,
            &format!("/v2/{name}/blobs/uploads/"),
            &[],
            vec![],
        )
        .await;
        assert_eq!(r.code(), "NAME_INVALID", "{name}");
    }
    let r = call(&app, Method::GET, "/v2/_catalog", &[], vec![]).await;
    assert_eq!(
        r.json()["repositories"],
        serde_json::json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn digest_mismatch_is_digest_invalid_and_stores_nothing() {
    let app = app_mem().await;
    let wrong = sha256(b"other");
    let r = call(
        &app,
        Method::POST,
        &format!("/v2/t/a/blobs/uploads/?digest={wrong}"),
        &[],
        b"payload".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "DIGEST_INVALID");
    for d in [wrong, sha256(b"payload")] {
        let r = call(
            &app,
            Method::HEAD,
            &format!("/v2/t/a/blobs/{d}"),
            &[],
            vec![],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
    // Chunked flavour: PATCH then a PUT with the wrong digest.
    let r = call(&app, Method::POST, "/v2/t/a/blobs/uploads/", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("range"), Some("0-0"));
    let loc = r.header("location").unwrap().to_owned();
    let r = call(
        &app,
        Method::PATCH,
        &loc,
        &[("content-range", "0-4")],
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("range"), Some("0-4"));
    let r = call(
        &app,
        Method::PATCH,
        &loc,
        &[("content-range", "0-4")],
        b"hello".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.code(), "RANGE_INVALID");
    let r = call(&app, Method::GET, &loc, &[], vec![]).await;
    assert_eq!(
        (r.status, r.header("range")),
        (StatusCode::NO_CONTENT, Some("0-4")),
        "416 left the session intact"
    );
    let r = call(
        &app,
        Method::PUT,
        &format!("{loc}?digest={}", sha256(b"hellX")),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.code(), "DIGEST_INVALID");
    let r = call(&app, Method::GET, &loc, &[], vec![]).await;
    assert_eq!(
        r.code(),
        "BLOB_UPLOAD_UNKNOWN",
        "a failed finish drops the session"
    );
    let r = call(
        &app,
        Method::HEAD,
        &format!("/v2/t/a/blobs/{}", sha256(b"hello")),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Malformed digests.
    let r = call(
        &app,
        Method::POST,
        "/v2/t/a/blobs/uploads/?digest=sha256:xyz",
        &[],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.code(), "DIGEST_INVALID");
}

#[tokio::test]
async fn manifest_rules() {
    let app = app_mem().await;
    let cfg = push_blob(&app, "t/a", b"{}").await;
    let missing = sha256(b"never uploaded");
    let m = manifest(&cfg, 2, &[(&missing, 5)]);
    let r = call(&app, Method::PUT, "/v2/t/a/manifests/v1", &[MT], m).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "MANIFEST_BLOB_UNKNOWN");
    let r = call(&app, Method::GET, "/v2/t/a/manifests/v1", &[], vec![]).await;
    assert_eq!(r.code(), "MANIFEST_UNKNOWN", "nothing stored");

    let r = call(
        &app,
        Method::PUT,
        "/v2/t/a/manifests/v1",
        &[MT],
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(r.code(), "MANIFEST_INVALID");
    let r = call(
        &app,
        Method::PUT,
        "/v2/t/a/manifests/v1",
        &[("content-type", "application/vnd.oci.image.index.v1+json")],
        manifest(&cfg, 2, &[]),
    )
    .await;
    assert_eq!(
        r.code(),
        "MANIFEST_INVALID",
        "mediaType and Content-Type disagree"
    );

    let layer = push_blob(&app, "t/a", b"layer-bytes").await;
    let good = manifest(&cfg, 2, &[(&layer, 11)]);
    let r = call(
        &app,
        Method::PUT,
        "/v2/t/a/manifests/v1?tag=v1.0&tag=stable",
        &[MT],
        good.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let d = sha256(&good);
    assert_eq!(r.header("docker-content-digest"), Some(d.as_str()));
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/t/a/manifests/{d}").as_str())
    );
    let tags: Vec<_> = r
        .headers
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(tags, vec!["v1", "v1.0", "stable"]);
    for reference in ["stable", d.as_str()] {
        let r = call(
            &app,
            Method::GET,
            &format!("/v2/t/a/manifests/{reference}"),
            &[],
            vec![],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, good);
        assert_eq!(r.header("content-type"), Some(MT.1));
        assert_eq!(r.header("docker-content-digest"), Some(d.as_str()));
    }
    // Wrong digest in the URL.
    let r = call(
        &app,
        Method::PUT,
        &format!("/v2/t/a/manifests/{}", sha256(b"x")),
        &[MT],
        good.clone(),
    )
    .await;
    assert_eq!(r.code(), "DIGEST_INVALID");
    // Over the size limit.
    let big = vec![b' '; 4 * 1024 * 1024 + 10];
    let r = call(&app, Method::PUT, "/v2/t/a/manifests/big", &[MT], big).await;
    assert_eq!(r.code(), "MANIFEST_INVALID");
    // Delete by tag keeps the manifest; by digest removes it.
    let r = call(
        &app,
        Method::DELETE,
        "/v2/t/a/manifests/stable",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = call(
        &app,
        Method::DELETE,
        &format!("/v2/t/a/manifests/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = call(&app, Method::GET, "/v2/t/a/manifests/v1", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn large_manifest_close_to_the_limit_is_accepted() {
    let app = app_mem().await;
    let cfg = push_blob(&app, "t/a", b"{}").await;
    let pad = "x".repeat(4 * 1024 * 1024 - 1024);
    let body = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": MT.1,
        "config": {"mediaType":"application/vnd.oci.image.config.v1+json","digest":cfg,"size":2},
        "layers": [], "annotations": {"pad": pad}
    }))
    .unwrap();
    assert!(body.len() > 4_000_000);
    let r = call(
        &app,
        Method::PUT,
        "/v2/t/a/manifests/big",
        &[MT],
        body.clone(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let r = call(&app, Method::GET, "/v2/t/a/manifests/big", &[], vec![]).await;
    assert!(r.body == body);
}

#[tokio::test]
async fn tags_and_catalog_paginate_with_link() {
    let app = app_mem().await;
    let cfg = push_blob(&app, "p/r", b"{}").await;
    let m = manifest(&cfg, 2, &[]);
    for t in ["c", "a", "e", "b", "d"] {
        let r = call(
            &app,
            Method::PUT,
            &format!("/v2/p/r/manifests/{t}"),
            &[MT],
            m.clone(),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = call(&app, Method::GET, "/v2/p/r/tags/list?n=2", &[], vec![]).await;
    assert_eq!(r.json()["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(
        r.header("link"),
        Some("</v2/p/r/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let r = call(
        &app,
        Method::GET,
        "/v2/p/r/tags/list?n=2&last=d",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.json()["tags"], serde_json::json!(["e"]));
    assert_eq!(r.header("link"), None, "last page has no Link");
    let r = call(&app, Method::GET, "/v2/p/r/tags/list?n=0", &[], vec![]).await;
    assert_eq!(r.json()["tags"], serde_json::json!([]));
    let r = call(&app, Method::GET, "/v2/p/r/tags/list?n=x", &[], vec![]).await;
    assert_eq!(r.code(), "PAGINATION_NUMBER_INVALID");
    let r = call(&app, Method::GET, "/v2/p/none/tags/list", &[], vec![]).await;
    assert_eq!(r.code(), "NAME_UNKNOWN");

    push_blob(&app, "p/s", b"x").await;
    push_blob(&app, "q/t", b"y").await;
    let r = call(&app, Method::GET, "/v2/_catalog?n=2", &[], vec![]).await;
    assert_eq!(r.json()["repositories"], serde_json::json!(["p/r", "p/s"]));
    assert_eq!(
        r.header("link"),
        Some("</v2/_catalog?n=2&last=p%2Fs>; rel=\"next\"")
    );
    let r = call(
        &app,
        Method::GET,
        "/v2/_catalog?n=2&last=p%2Fs",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.json()["repositories"], serde_json::json!(["q/t"]));
}

#[tokio::test]
async fn unsupported_methods_and_unknown_routes_use_the_envelope() {
    let app = app_mem().await;
    let r = call(&app, Method::POST, "/v2/t/a/manifests/v1", &[], vec![]).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED")
    );
    let r = call(&app, Method::GET, "/v2/t/a/nonsense/x", &[], vec![]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&app, Method::GET, "/v2/", &[], vec![]).await;
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    let r = call(&app, Method::GET, "/health", &[], vec![]).await;
    assert_eq!(r.json()["status"], "healthy");
}

#[tokio::test]
async fn blob_ranges_and_delete() {
    let app = app_mem().await;
    let data: Vec<u8> = (0..2048u32).map(|i| (i % 251) as u8).collect();
    let d = push_blob(&app, "t/a", &data).await;
    let r = call(
        &app,
        Method::GET,
        &format!("/v2/t/a/blobs/{d}"),
        &[("range", "bytes=-500")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header("content-range"), Some("bytes 1548-2047/2048"));
    assert!(r.body == data[1548..]);
    let r = call(
        &app,
        Method::GET,
        &format!("/v2/t/a/blobs/{d}"),
        &[("range", "bytes=5000-")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), Some("bytes */2048"));
    let r = call(
        &app,
        Method::HEAD,
        &format!("/v2/t/a/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.header("content-length"), Some("2048"));
    let r = call(
        &app,
        Method::DELETE,
        &format!("/v2/t/a/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = call(
        &app,
        Method::GET,
        &format!("/v2/t/a/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "BLOB_UNKNOWN")
    );
}

#[tokio::test]
async fn anonymous_callers_are_challenged_towards_the_token_service() {
    let app = app_mem().await;
    let anon = [("authorization", ""), ("host", "reg.example:5000")];
    let r = call(&app, Method::GET, "/v2/t/a/tags/list", &anon, vec![]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            "Bearer realm=\"http://reg.example:5000/service/token\",service=\"harbor-registry\",scope=\"repository:t/a:pull\""
        )
    );
    let r = call(&app, Method::POST, "/v2/t/a/blobs/uploads/", &anon, vec![]).await;
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with("scope=\"repository:t/a:pull,push\"")
    );
    // Wrong credentials are refused, never treated as anonymous.
    let r = call(
        &app,
        Method::GET,
        "/v2/",
        &[("authorization", "Basic YWRtaW46bm9wZQ==")],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".to_owned())
    );
    // A token for the admin grants what was asked; the token then works on /v2.
    let r = call(
        &app,
        Method::GET,
        "/service/token?service=harbor-registry&scope=repository:t/a:pull,push",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let data = b"via token".to_vec();
    let d = sha256(&data);
    let r = call(
        &app,
        Method::POST,
        &format!("/v2/t/a/blobs/uploads/?digest={d}"),
        &[("authorization", &bearer)],
        data,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // The token does not reach another repository, even for the admin: the client is sent for a
    // token with that scope.
    let r = call(
        &app,
        Method::GET,
        &format!("/v2/p/x/blobs/{d}"),
        &[("authorization", &bearer)],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .ends_with("scope=\"repository:p/x:pull\"")
    );
    // Anonymous tokens carry no actions on a private project.
    let r = call(
        &app,
        Method::GET,
        "/service/token?service=harbor-registry&scope=repository:t/a:pull",
        &anon,
        vec![],
    )
    .await;
    let payload = r.json()["token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["access"][0]["actions"], serde_json::json!([]));
    let r = call(
        &app,
        Method::GET,
        "/service/token?service=other&scope=repository:t/a:pull",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pushes_need_an_existing_project() {
    let app = app_mem().await;
    let r = call(
        &app,
        Method::POST,
        "/v2/nowhere/app/blobs/uploads/",
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "DENIED".to_owned())
    );
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"nowhere\" does not exist")
    );
    // A name without a project segment cannot take content, even where a project of that name exists.
    let r = call(&app, Method::POST, "/v2/t/blobs/uploads/", &[], vec![]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "NAME_INVALID".to_owned())
    );
}

#[tokio::test]
async fn management_api_conventions() {
    let app = app_mem().await;
    let json = [("content-type", "application/json")];
    for i in 0..12 {
        let body = serde_json::to_vec(&serde_json::json!({"project_name": format!("team{i:02}")}))
            .unwrap();
        let r = call(&app, Method::POST, "/api/v2.0/projects", &json, body).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert!(
            r.header("location")
                .unwrap()
                .starts_with("/api/v2.0/projects/")
        );
    }
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/projects?q=name%3D~team&sort=-name&page=2&page_size=5",
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.header("x-total-count"), Some("12"));
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["team06", "team05", "team04", "team03", "team02"]);
    let link = r.header("link").unwrap();
    assert!(
        link.contains("page=1")
            && link.contains("rel=\"prev\"")
            && link.contains("page=3")
            && link.contains("rel=\"next\""),
        "{link}"
    );
    for bad in [
        "/api/v2.0/projects?q=owner%3Dx",
        "/api/v2.0/projects?page_size=101",
        "/api/v2.0/projects?sort=nope",
        "/api/v2.0/projects?q=name%3D%7Ba",
    ] {
        let r = call(&app, Method::GET, bad, &[], vec![]).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST".to_owned()),
            "{bad}"
        );
    }
    for body in [
        &b"{not json"[..],
        br#"{"project_name": 5}"#,
        br#"{"project_name": "x", "unknown": 1}"#,
    ] {
        let r = call(
            &app,
            Method::POST,
            "/api/v2.0/projects",
            &json,
            body.to_vec(),
        )
        .await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST".to_owned())
        );
    }
    let long = serde_json::to_vec(&serde_json::json!({"project_name": "a".repeat(256)})).unwrap();
    assert_eq!(
        call(&app, Method::POST, "/api/v2.0/projects", &json, long)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let dup = serde_json::to_vec(&serde_json::json!({"project_name": "team00"})).unwrap();
    assert_eq!(
        call(&app, Method::POST, "/api/v2.0/projects", &json, dup)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Repository names in paths are URL-encoded twice.
    push_blob(&app, "t/sub/app", b"nested").await;
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/t/repositories/sub%252Fapp",
        &[("x-is-resource-name", "true")],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.json()["name"].as_str()),
        (StatusCode::OK, Some("t/sub/app"))
    );
    let r = call(
        &app,
        Method::DELETE,
        "/api/v2.0/projects/t",
        &[("x-is-resource-name", "true")],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::PRECONDITION_FAILED, "PRECONDITION".to_owned())
    );
    // The OpenAPI document describes the routes.
    let r = call(&app, Method::GET, "/api-docs/openapi.json", &[], vec![]).await;
    let doc = r.json();
    for (path, method) in [
        ("/projects", "post"),
        ("/robots/{id}", "patch"),
        ("/projects/{project}/repositories/{repo}/artifacts", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    assert!(
        r.header("x-request-id").is_some_and(|v| v.len() >= 32),
        "every response carries a request id"
    );
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/ping",
        &[("x-request-id", "abc-123")],
        vec![],
    )
    .await;
    assert_eq!(
        (r.header("x-request-id"), r.body.as_slice()),
        (Some("abc-123"), &b"Pong"[..])
    );
    // Password hashes never leave the server.
    let r = call(&app, Method::GET, "/api/v2.0/users", &[], vec![]).await;
    assert!(!String::from_utf8_lossy(&r.body).contains("argon2"));
}

#[tokio::test]
async fn quotas_gc_and_read_only_over_http() {
    let app = app_mem().await;
    let json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    let ct = [("content-type", "application/json")];

    // storage_limit at creation; the quota API shows hard and used.
    let r = call(
        &app,
        Method::POST,
        "/api/v2.0/projects",
        &ct,
        json(serde_json::json!({"project_name": "lim", "storage_limit": 3000})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let pid = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/lim",
        &[("x-is-resource-name", "true")],
        vec![],
    )
    .await
    .json()["project_id"]
        .as_i64()
        .unwrap();
    let quotas = call(
        &app,
        Method::GET,
        &format!("/api/v2.0/quotas?reference=project&reference_id={pid}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(quotas.status, StatusCode::OK);
    assert_eq!(quotas.header("x-total-count"), Some("1"));
    let q = &quotas.json()[0];
    assert_eq!(
        (q["hard"]["storage"].as_i64(), q["used"]["storage"].as_i64()),
        (Some(3000), Some(0))
    );
    assert_eq!(q["ref"]["name"], "lim");
    let qid = q["id"].as_i64().unwrap();

    // Over the limit: 403 DENIED naming the project; nothing stored.
    push_blob(&app, "lim/app", &[7u8; 1000]).await;
    let big = vec![9u8; 2500];
    let d = sha256(&big);
    let r = call(
        &app,
        Method::POST,
        &format!("/v2/lim/app/blobs/uploads/?digest={d}"),
        &[],
        big.clone(),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "DENIED")
    );
    let msg = r.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains("quota exceeded in project lim") && msg.contains("limit of"),
        "{msg}"
    );
    let head = call(
        &app,
        Method::HEAD,
        &format!("/v2/lim/app/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    let used = call(
        &app,
        Method::GET,
        &format!("/api/v2.0/quotas/{qid}"),
        &[],
        vec![],
    )
    .await
    .json()["used"]["storage"]
        .as_i64();
    assert_eq!(used, Some(1000));

    // Raising the limit lets it in.
    let bad = call(
        &app,
        Method::PUT,
        &format!("/api/v2.0/quotas/{qid}"),
        &ct,
        json(serde_json::json!({"hard": {"storage": -7}})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v2.0/quotas/{qid}"),
        &ct,
        json(serde_json::json!({"hard": {"storage": 10_000}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    push_blob(&app, "lim/app", &big).await;

    // GC: Manual runs now; history, run and log; bad parameters are refused.
    let bad = call(
        &app,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        &ct,
        json(serde_json::json!({"schedule": {"type": "Manual"}, "parameters": {"workers": 11}})),
    )
    .await;
    assert_eq!(
        bad.status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&bad.body)
    );
    let bad = call(
        &app,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        &ct,
        json(serde_json::json!({"schedule": {"type": "Sometimes"}})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let r = call(&app, Method::POST, "/api/v2.0/system/gc/schedule", &ct, json(serde_json::json!({"schedule": {"type": "Manual"}, "parameters": {"delete_untagged": true, "dry_run": true, "workers": 2}}))).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let location = r.header("location").unwrap().to_owned();
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    // `serve` runs job workers; the bare router does not, so the run stays queued here.
    let history = call(&app, Method::GET, "/api/v2.0/system/gc", &[], vec![]).await;
    assert_eq!(history.status, StatusCode::OK);
    assert_eq!(history.json()[0]["id"].as_i64(), Some(id));
    assert_eq!(history.json()[0]["job_name"], "GARBAGE_COLLECTION");
    assert_eq!(history.json()[0]["job_kind"], "MANUAL");
    assert_eq!(history.json()[0]["job_status"], "Pending");
    let params: serde_json::Value =
        serde_json::from_str(history.json()[0]["job_parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        (params["dry_run"].as_bool(), params["workers"].as_u64()),
        (Some(true), Some(2))
    );
    let again = call(
        &app,
        Method::POST,
        "/api/v2.0/system/gc/schedule",
        &ct,
        json(serde_json::json!({"schedule": {"type": "Manual"}})),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "one GC at a time");
    let r = call(
        &app,
        Method::PUT,
        "/api/v2.0/system/gc/schedule",
        &ct,
        json(serde_json::json!({"schedule": {"type": "Custom", "cron": "0 0 3 * * *"}})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let s = call(
        &app,
        Method::GET,
        "/api/v2.0/system/gc/schedule",
        &[],
        vec![],
    )
    .await
    .json();
    assert_eq!(
        (
            s["schedule"]["type"].as_str(),
            s["schedule"]["cron"].as_str()
        ),
        (Some("Custom"), Some("0 0 3 * * *"))
    );
    assert!(s["schedule"]["next_scheduled_time"].is_string());
    let anon = call(
        &app,
        Method::GET,
        "/api/v2.0/system/gc",
        &[("authorization", "")],
        vec![],
    )
    .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    let missing = call(
        &app,
        Method::GET,
        "/api/v2.0/system/gc/999999/log",
        &[],
        vec![],
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Read-only: pulls work, pushes and API changes are refused, turning it off works.
    let r = call(
        &app,
        Method::PUT,
        "/api/v2.0/configurations",
        &ct,
        json(serde_json::json!({"auth_mode": "ldap_auth"})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "not editable at run time"
    );
    let r = call(
        &app,
        Method::PUT,
        "/api/v2.0/configurations",
        &ct,
        json(serde_json::json!({"read_only": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let info = call(&app, Method::GET, "/api/v2.0/systeminfo", &[], vec![])
        .await
        .json();
    assert_eq!(info["read_only"], true);
    assert_eq!(
        call(&app, Method::GET, "/api/v2.0/configurations", &[], vec![])
            .await
            .json()["read_only"]["value"],
        true
    );
    let r = call(
        &app,
        Method::GET,
        &format!("/v2/lim/app/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "pulls work");
    let r = call(
        &app,
        Method::POST,
        "/v2/lim/app/blobs/uploads/",
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "DENIED")
    );
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    let r = call(
        &app,
        Method::POST,
        "/api/v2.0/projects",
        &ct,
        json(serde_json::json!({"project_name": "nope"})),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "DENIED")
    );
    let r = call(
        &app,
        Method::DELETE,
        &format!("/v2/lim/app/blobs/{d}"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &app,
        Method::PUT,
        "/api/v2.0/configurations",
        &ct,
        json(serde_json::json!({"read_only": false})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    push_blob(&app, "lim/app", &[3u8; 10]).await;
}

// ---- policies: immutable tag rules and retention ---------------------------------------------

const JSON: (&str, &str) = ("content-type", "application/json");

/// Push a one-layer image whose content depends on `seed` under `reference`.
async fn push_image(app: &Router, repo: &str, reference: &str, seed: &str) -> Res {
    let config = format!("{{\"seed\":\"{seed}\"}}");
    let c = push_blob(app, repo, config.as_bytes()).await;
    let l = push_blob(app, repo, seed.as_bytes()).await;
    let body = manifest(&c, config.len(), &[(&l, seed.len())]);
    call(
        app,
        Method::PUT,
        &format!("/v2/{repo}/manifests/{reference}"),
        &[MT],
        body,
    )
    .await
}

fn imm_rule(kind: &str, pattern: &str, disabled: bool) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "disabled": disabled, "action": "immutable", "template": "immutable_template",
        "tag_selectors": [{"kind": kind, "decoration": "matches", "pattern": pattern}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}
    }))
    .unwrap()
}

#[tokio::test]
async fn immutable_tags_over_http() {
    let app = app_mem().await;
    let rules = "/api/v2.0/projects/t/immutabletagrules";
    let r = call(
        &app,
        Method::POST,
        rules,
        &[JSON],
        imm_rule("doublestar", "1.*", false),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let loc = r.header("location").unwrap().to_owned();
    assert!(
        loc.starts_with("/api/v2.0/projects/t/immutabletagrules/"),
        "{loc}"
    );
    let rule_id = loc.rsplit('/').next().unwrap().to_owned();

    // First push allowed; overwriting refused with 412 and a message naming the tag.
    assert_eq!(
        push_image(&app, "t/app", "1.0", "a").await.status,
        StatusCode::CREATED
    );
    let r = push_image(&app, "t/app", "1.0", "b").await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.code(), "PRECONDITION");
    let msg = r.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        msg.contains(&format!("\"t/app:1.0\" is immutable (rule {rule_id})")),
        "{msg}"
    );
    let digest = call(&app, Method::HEAD, "/v2/t/app/manifests/1.0", &[], vec![])
        .await
        .header("docker-content-digest")
        .unwrap()
        .to_owned();
    // Tag delete (both APIs) and artifact delete (both APIs) are refused too.
    let art = "/api/v2.0/projects/t/repositories/app/artifacts";
    for uri in [
        "/v2/t/app/manifests/1.0".to_owned(),
        format!("{art}/1.0/tags/1.0"),
        format!("{art}/{digest}"),
        format!("/v2/t/app/manifests/{digest}"),
    ] {
        let r = call(&app, Method::DELETE, &uri, &[], vec![]).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::PRECONDITION_FAILED, "PRECONDITION"),
            "{uri}"
        );
    }
    let r = call(
        &app,
        Method::GET,
        &format!("{art}?with_immutable_status=true"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(r.json()[0]["tags"][0]["immutable"], true, "{}", r.json());

    // A disabled rule is ignored.
    let r = call(
        &app,
        Method::PUT,
        &loc,
        &[JSON],
        imm_rule("doublestar", "1.*", true),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        push_image(&app, "t/app", "1.0", "c").await.status,
        StatusCode::CREATED
    );

    // A regex rule matches whole tags.
    let r = call(
        &app,
        Method::POST,
        rules,
        &[JSON],
        imm_rule("regex", r"v\d+\.\d+", false),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(
        push_image(&app, "t/app", "v1.2", "d").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        push_image(&app, "t/app", "v1.2", "e").await.status,
        StatusCode::PRECONDITION_FAILED
    );
    assert_eq!(
        push_image(&app, "t/app", "v1.2-rc", "f").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        push_image(&app, "t/app", "v1.2-rc", "g").await.status,
        StatusCode::CREATED
    );

    // Bad input: 400 naming the pattern, 409 for a duplicate, 400 past 15 rules; nothing stored.
    let r = call(
        &app,
        Method::POST,
        rules,
        &[JSON],
        imm_rule("regex", "v(1", false),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "BAD_REQUEST")
    );
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"v(1\""),
        "{}",
        r.json()
    );
    let r = call(
        &app,
        Method::POST,
        rules,
        &[JSON],
        imm_rule("regex", r"v\d+\.\d+", false),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "CONFLICT")
    );
    for i in 3..=15 {
        let r = call(
            &app,
            Method::POST,
            rules,
            &[JSON],
            imm_rule("doublestar", &format!("x{i}"), false),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = call(
        &app,
        Method::POST,
        rules,
        &[JSON],
        imm_rule("doublestar", "x16", false),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(
        &app,
        Method::GET,
        &format!("{rules}?page_size=5"),
        &[],
        vec![],
    )
    .await;
    assert_eq!(
        (
            r.header("x-total-count"),
            r.json().as_array().unwrap().len()
        ),
        (Some("15"), 5)
    );
    assert!(r.header("link").unwrap().contains("rel=\"next\""));
    let r = call(&app, Method::DELETE, &loc, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn retention_over_http() {
    let (app, reg) = app_and_registry().await;
    let r = call(
        &app,
        Method::GET,
        "/api/v2.0/retentions/metadatas",
        &[],
        vec![],
    )
    .await;
    let meta = r.json();
    let templates: Vec<&str> = meta["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rule_template"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "latestPushedK",
            "latestPulledN",
            "nDaysSinceLastPush",
            "nDaysSinceLastPull",
            "always"
        ]
    );
    assert!(
        meta["tag_selectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "regex")
    );
    for (i, tag) in ["v1", "v2", "v3"].iter().enumerate() {
        assert_eq!(
            push_image(&app, "t/app", tag, &format!("r{i}"))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    let pid = call(&app, Method::GET, "/api/v2.0/projects/t", &[], vec![])
        .await
        .json()["project_id"]
        .as_i64()
        .unwrap();
    let policy = |template: &str, params: serde_json::Value| {
        serde_json::to_vec(&serde_json::json!({
            "algorithm": "or",
            "rules": [{"disabled": false, "action": "retain", "template": template, "params": params,
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**", "extras": "{\"untagged\":true}"}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}],
            "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": pid}
        }))
        .unwrap()
    };
    // Bad input is 400 and stores nothing.
    for (template, params) in [
        ("keepSome", serde_json::json!({})),
        ("latestPushedK", serde_json::json!({"latestPushedK": -2})),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/api/v2.0/retentions",
            &[JSON],
            policy(template, params),
        )
        .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            "{template}"
        );
    }
    let r = call(
        &app,
        Method::POST,
        "/api/v2.0/retentions",
        &[JSON],
        policy("latestPushedK", serde_json::json!({"latestPushedK": 1})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let loc = r.header("location").unwrap().to_owned();
    let id = loc.rsplit('/').next().unwrap().to_owned();
    let r = call(&app, Method::GET, "/api/v2.0/projects/t", &[], vec![]).await;
    assert_eq!(r.json()["metadata"]["retention_id"], id.as_str());
    let r = call(&app, Method::GET, &loc, &[], vec![]).await;
    assert_eq!(
        (
            r.json()["rules"][0]["params"]["latestPushedK"].as_i64(),
            r.json()["scope"]["ref"].as_i64()
        ),
        (Some(1), Some(pid))
    );

    // A dry run: 201 with a Location, then one task with counts and a text log; nothing deleted.
    let r = call(
        &app,
        Method::POST,
        &format!("{loc}/executions"),
        &[JSON],
        br#"{"dry_run":true}"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let exec = r.header("location").unwrap().to_owned();
    reg.run_jobs_until_idle().await.unwrap();
    let r = call(&app, Method::GET, &format!("{loc}/executions"), &[], vec![]).await;
    assert_eq!(r.header("x-total-count"), Some("1"));
    assert_eq!(
        (
            r.json()[0]["status"].as_str(),
            r.json()[0]["dry_run"].as_bool()
        ),
        (Some("Success"), Some(true)),
        "{}",
        r.json()
    );
    let r = call(&app, Method::GET, &format!("{exec}/tasks"), &[], vec![]).await;
    let task = &r.json()[0];
    assert_eq!(
        (
            task["repository"].as_str(),
            task["total"].as_i64(),
            task["retained"].as_i64()
        ),
        (Some("t/app"), Some(3), Some(1))
    );
    let r = call(
        &app,
        Method::GET,
        &format!("{exec}/tasks/{}", task["id"]),
        &[],
        vec![],
    )
    .await;
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let log = String::from_utf8(r.body).unwrap();
    assert_eq!(log.matches("| DEL").count(), 2, "{log}");
    let r = call(&app, Method::GET, "/v2/t/app/tags/list", &[], vec![]).await;
    assert_eq!(r.json()["tags"].as_array().unwrap().len(), 3);
    let r = call(
        &app,
        Method::PATCH,
        &exec,
        &[JSON],
        br#"{"action":"stop"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::PRECONDITION_FAILED,
        "a finished run cannot be stopped"
    );

    // The real run deletes what the dry run listed.
    let r = call(
        &app,
        Method::POST,
        &format!("{loc}/executions"),
        &[JSON],
        br#"{"dry_run":false}"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    reg.run_jobs_until_idle().await.unwrap();
    let r = call(&app, Method::GET, "/v2/t/app/tags/list", &[], vec![]).await;
    assert_eq!(r.json()["tags"].as_array().unwrap().len(), 1);
    let r = call(&app, Method::DELETE, &loc, &[], vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        call(&app, Method::GET, &loc, &[], vec![]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn scanner_adapter_server_and_scanner_routes() {
    let (api, reg) = app_and_registry().await;
    let adapter = registry_core::scan::adapter::ScanAdapter::new(
        reg.clone(),
        Some("k3y".into()),
        "Bearer",
        None,
    )
    .unwrap();
    let app = registry_http::scanner::app(std::sync::Arc::new(adapter));
    let key = [("authorization", "Bearer k3y")];
    let r = call(
        &app,
        Method::GET,
        "/api/v1/metadata",
        &[("authorization", "Bearer nope")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.json()["error"]["message"].is_string(), "an ErrorResponse");
    let r = call(&app, Method::GET, "/api/v1/metadata", &key, vec![]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.scanner.adapter.metadata+json; version=1.1")
    );
    assert_eq!(
        r.json()["properties"]["harbor.scanner-adapter/registry-authorization-type"],
        "Bearer"
    );
    let r = call(
        &app,
        Method::POST,
        "/api/v1/scan",
        &key,
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.scanner.adapter.error+json; version=1.0")
    );
    let big = vec![b' '; (1 << 20) + 1];
    let r = call(&app, Method::POST, "/api/v1/scan", &key, big).await;
    assert!(r.status.is_client_error(), "bounded: {}", r.status);
    let unsupported = serde_json::json!({
        "registry": {"url": "http://127.0.0.1:1"},
        "artifact": {"repository": "p/a", "digest": format!("sha256:{}", "0".repeat(64)),
                     "mime_type": "application/vnd.oci.image.index.v1+json"},
    });
    let r = call(
        &app,
        Method::POST,
        "/api/v1/scan",
        &key,
        serde_json::to_vec(&unsupported).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(&app, Method::GET, "/api/v1/scan/nope/report", &key, vec![]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The management routes are in the OpenAPI document; the built-in scanner is listed.
    let r = call(&api, Method::GET, "/api-docs/openapi.json", &[], vec![]).await;
    let doc = r.json();
    for (path, method) in [
        ("/scanners", "post"),
        ("/scanners/{id}", "patch"),
        ("/scanners/ping", "post"),
        ("/projects/{project}/scanner", "put"),
        ("/projects/{project}/scanner/candidates", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    let r = call(&api, Method::GET, "/api/v2.0/scanners", &[], vec![]).await;
    assert_eq!(r.json()[0]["uuid"], "builtin");
    let r = call(
        &api,
        Method::GET,
        "/api/v2.0/scanners",
        &[("authorization", "")],
        vec![],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
