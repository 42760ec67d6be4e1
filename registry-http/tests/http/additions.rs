//! Artifact additions over HTTP: an image's build history, a Helm chart's README.md, values.yaml
//! and dependencies, the bounds on what is read, and who may read them.

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::json;

use super::{MT, Res, app_mem, call, manifest, push_blob};

const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
const HELM_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// GET the addition `name` of `<project>/<repository>:<reference>`, as the admin unless
/// `headers` say otherwise.
async fn addition(app: &Router, image: &str, name: &str, headers: &[(&str, &str)]) -> Res {
    let (project, rest) = image.split_once('/').unwrap();
    let (repo, reference) = rest.rsplit_once(':').unwrap();
    // Harbor's clients encode a repository's slashes twice.
    let repo = repo.replace('/', "%252F");
    let uri = format!(
        "/api/v2.0/projects/{project}/repositories/{repo}/artifacts/{reference}/additions/{name}"
    );
    call(app, Method::GET, &uri, headers, vec![]).await
}

/// A 200 whose content type is `content_type` (with or without parameters).
fn served_as(r: &Res, content_type: &str) {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    let got = r.header("content-type").unwrap();
    assert!(got.starts_with(content_type), "{got}");
}

/// Push an image whose config is `config` as `<repo>:<tag>`.
async fn push_image(app: &Router, repo: &str, tag: &str, config: &serde_json::Value) {
    let config = serde_json::to_vec(config).unwrap();
    let c = push_blob(app, repo, &config).await;
    let layer = b"not really a layer".to_vec();
    let l = push_blob(app, repo, &layer).await;
    let r = call(
        app,
        Method::PUT,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[MT],
        manifest(&c, config.len(), &[(&l, layer.len())]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
}

/// A gzip'd tar of `(path, size, content)` entries, streamed from their readers.
fn tgz_of(entries: Vec<(String, u64, Box<dyn std::io::Read>)>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, size, content) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(size);
        h.set_mode(0o644);
        b.append_data(&mut h, path, content).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// A chart archive as `helm package` writes it: `<name>/<file>` entries in a gzip'd tar.
fn chart_tgz(name: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    tgz_of(
        files
            .iter()
            .map(|(path, content)| {
                let reader: Box<dyn std::io::Read> =
                    Box::new(std::io::Cursor::new(content.to_vec()));
                (format!("{name}/{path}"), content.len() as u64, reader)
            })
            .collect(),
    )
}

/// Push a chart archive as the OCI artifact `helm push` makes, tagged `<repo>:<tag>`.
async fn push_chart(app: &Router, repo: &str, tag: &str, tgz: &[u8]) {
    let config = br#"{"name":"app","version":"1.2.3","apiVersion":"v2"}"#;
    let c = push_blob(app, repo, config).await;
    let l = push_blob(app, repo, tgz).await;
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": HELM_CONFIG, "digest": c, "size": config.len()},
        "layers": [{"mediaType": HELM_CONTENT, "digest": l, "size": tgz.len()}]
    }))
    .unwrap();
    let r = call(
        app,
        Method::PUT,
        &format!("/v2/{repo}/manifests/{tag}"),
        &[MT],
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
}

const CHART_YAML: &[u8] = b"apiVersion: v2
name: app
version: 1.2.3
description: A chart with two dependencies
dependencies:
  - name: redis
    version: 17.11.3
    repository: https://charts.bitnami.com/bitnami
    condition: redis.enabled
  - name: common
    version: 2.x.x
    repository: oci://registry.example.com/charts
";
const VALUES: &[u8] = b"replicaCount: 2\nimage:\n  repository: nginx\n  tag: \"1.25\"\n";
const README: &[u8] = b"# app\n\nDeploys the app.\n";

#[tokio::test]
async fn build_history_is_the_image_configs_history() {
    let app = app_mem().await;
    let history = json!([
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
        {"created": "2024-01-01T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true},
        {"created": "2024-01-02T00:00:00Z", "created_by": "RUN apk add curl", "author": "ops@example.com", "comment": "buildkit.dockerfile.v0"}
    ]);
    push_image(
        &app,
        "p/img",
        "v1",
        &json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "history": history}),
    )
    .await;
    let r = addition(&app, "p/img:v1", "build_history", &[]).await;
    served_as(&r, "application/json");
    assert_eq!(r.json(), history);
    let art = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/p/repositories/img/artifacts/v1",
        &[],
        vec![],
    )
    .await
    .json();
    let href = art["addition_links"]["build_history"]["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        call(&app, Method::GET, href, &[], vec![]).await.json(),
        history
    );
    // Harbor upper-cases the name, so any case is the same addition.
    let r = addition(&app, "p/img:v1", "BUILD_HISTORY", &[]).await;
    assert_eq!(r.json(), history);

    // No history: an empty list.
    push_image(&app, "p/img", "bare", &json!({"os": "linux"})).await;
    let r = addition(&app, "p/img:bare", "build_history", &[]).await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!([])));

    // What images do not have is Harbor's 400, an artifact that is not there a 404.
    for name in ["readme.md", "values.yaml", "dependencies", "nope"] {
        let r = addition(&app, "p/img:v1", name, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}");
        let message = r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains("isn't supported for IMAGE"), "{message}");
    }
    let r = addition(&app, "p/img:v9", "build_history", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = addition(&app, "p/nothing:v1", "build_history", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_index_has_no_additions() {
    let app = app_mem().await;
    push_image(
        &app,
        "p/multi",
        "amd64",
        &json!({"os": "linux", "history": []}),
    )
    .await;
    let child = call(
        &app,
        Method::GET,
        "/v2/p/multi/manifests/amd64",
        &[("accept", MT.1)],
        vec![],
    )
    .await;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": MT.1, "digest": child.header("docker-content-digest").unwrap(), "size": child.body.len(), "platform": {"os": "linux", "architecture": "amd64"}}]
    }))
    .unwrap();
    let r = call(
        &app,
        Method::PUT,
        "/v2/p/multi/manifests/all",
        &[("content-type", "application/vnd.oci.image.index.v1+json")],
        index,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    let r = addition(&app, "p/multi:all", "build_history", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json());
}

#[tokio::test]
async fn a_helm_charts_readme_values_and_dependencies() {
    let app = app_mem().await;
    let tgz = chart_tgz(
        "app",
        &[
            ("Chart.yaml", CHART_YAML),
            ("values.yaml", VALUES),
            ("templates/deployment.yaml", b"kind: Deployment\n"),
            // A subchart's README is not the chart's.
            ("charts/redis/README.md", b"# redis\n"),
            ("README.md", README),
        ],
    );
    push_chart(&app, "p/charts/app", "1.2.3", &tgz).await;

    let r = addition(&app, "p/charts/app:1.2.3", "readme.md", &[]).await;
    served_as(&r, "text/markdown");
    assert_eq!(r.body, README);

    let r = addition(&app, "p/charts/app:1.2.3", "values.yaml", &[]).await;
    served_as(&r, "text/plain");
    assert_eq!(r.body, VALUES);

    let r = addition(&app, "p/charts/app:1.2.3", "dependencies", &[]).await;
    served_as(&r, "application/json");
    assert_eq!(
        r.json(),
        json!([
            {"name": "redis", "version": "17.11.3", "repository": "https://charts.bitnami.com/bitnami", "condition": "redis.enabled"},
            {"name": "common", "version": "2.x.x", "repository": "oci://registry.example.com/charts"}
        ])
    );

    // The artifact links its additions as Harbor does, and every link answers.
    let art = call(
        &app,
        Method::GET,
        "/api/v2.0/projects/p/repositories/charts%252Fapp/artifacts/1.2.3",
        &[],
        vec![],
    )
    .await
    .json();
    let links = art["addition_links"].as_object().unwrap();
    assert_eq!(
        links.keys().collect::<Vec<_>>(),
        ["dependencies", "readme.md", "values.yaml"]
    );
    for link in links.values() {
        assert_eq!(link["absolute"], false);
        let href = link["href"].as_str().unwrap();
        assert!(
            href.starts_with("/api/v2.0/projects/p/repositories/charts%252Fapp/artifacts/sha256:"),
            "{href}"
        );
        let r = call(&app, Method::GET, href, &[], vec![]).await;
        assert_eq!(r.status, StatusCode::OK, "{href}");
    }

    // A chart has no build history.
    let r = addition(&app, "p/charts/app:1.2.3", "build_history", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_chart_without_the_file_is_404() {
    let app = app_mem().await;
    let tgz = chart_tgz(
        "bare",
        &[(
            "Chart.yaml",
            b"apiVersion: v2\nname: bare\nversion: 0.1.0\n",
        )],
    );
    push_chart(&app, "p/bare", "0.1.0", &tgz).await;
    for name in ["readme.md", "values.yaml"] {
        let r = addition(&app, "p/bare:0.1.0", name, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}");
        assert_eq!(r.json()["errors"][0]["code"], "NOT_FOUND", "{:?}", r.json());
    }
    // No dependencies: an empty list.
    let r = addition(&app, "p/bare:0.1.0", "dependencies", &[]).await;
    assert_eq!((r.status, r.json()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn chart_reads_are_bounded() {
    let app = app_mem().await;
    // A gzip bomb: 80 MiB of zeros (about 80 KiB packed) before the README.
    let bomb = tgz_of(vec![
        (
            "bomb/zeros".into(),
            80 << 20,
            Box::new(std::io::Read::take(std::io::repeat(0), 80 << 20)),
        ),
        (
            "bomb/README.md".into(),
            README.len() as u64,
            Box::new(README),
        ),
    ]);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    push_chart(&app, "p/bomb", "1", &bomb).await;
    let r = addition(&app, "p/bomb:1", "readme.md", &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.json());
    let message = r.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("unpacked content"), "{message}");

    // A README above the per-file cap is refused before it is read.
    let big = vec![b'#'; (1 << 20) + 1];
    let tgz = chart_tgz("big", &[("Chart.yaml", CHART_YAML), ("README.md", &big)]);
    push_chart(&app, "p/big", "1", &tgz).await;
    let r = addition(&app, "p/big:1", "readme.md", &[]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", r.json());

    // Not a gzip'd tar at all: a clean client-visible error, not a 500.
    push_chart(&app, "p/junk", "1", b"definitely not gzip").await;
    let r = addition(&app, "p/junk:1", "readme.md", &[]).await;
    assert!(r.status.is_client_error(), "{} {:?}", r.status, r.json());
}

#[tokio::test]
async fn additions_need_read_access_to_the_project() {
    let app = app_mem().await;
    let tgz = chart_tgz("app", &[("Chart.yaml", CHART_YAML), ("README.md", README)]);
    push_chart(&app, "p/app", "1", &tgz).await;
    push_image(
        &app,
        "p/img",
        "1",
        &json!({"history": [{"created_by": "x"}]}),
    )
    .await;

    // A private project, anonymously: refused exactly as the vulnerabilities addition is.
    let anon = [("authorization", "")];
    let vulns = addition(&app, "p/img:1", "vulnerabilities", &anon).await;
    // (…/additions/vulnerabilities stays its own route: the admin gets its empty report map.)
    let own = addition(&app, "p/img:1", "vulnerabilities", &[]).await;
    assert_eq!((own.status, own.json()), (StatusCode::OK, json!({})));
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::NOT_FOUND].contains(&vulns.status),
        "{}",
        vulns.status
    );
    for (repo, name) in [
        ("app", "readme.md"),
        ("img", "build_history"),
        ("img", "nope"),
    ] {
        let r = addition(&app, &format!("p/{repo}:1"), name, &anon).await;
        assert_eq!(r.status, vulns.status, "{repo} {name}");
        assert!(r.body.len() < 1000 && !r.body.windows(5).any(|w| w == b"# app"));
    }

    // A public project: anyone reads its additions.
    let r = call(
        &app,
        Method::POST,
        "/api/v2.0/projects",
        &[("content-type", "application/json")],
        br#"{"project_name":"open","metadata":{"public":"true"}}"#.to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    push_chart(&app, "open/app", "1", &tgz).await;
    let r = addition(&app, "open/app:1", "readme.md", &anon).await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, README));
}
