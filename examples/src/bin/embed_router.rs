//! Embedding Berth's HTTP router inside another axum application: the registry's `/v2` API and
//! health route sit next to the host app's own routes on one listener. Pushes an image through
//! the engine, then reads it back over HTTP through the combined app, and calls the app's own
//! route, then stops.
//!
//! Run: `cargo run -p berth-examples --bin embed_router`

use axum::Router;
use axum::routing::get;
use registry_core::model::ProjectReq;
use registry_core::{Content, ImageRef, NewImage, NewLayer, Principal, Registry};
use registry_http::AppOptions;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::open("memory://").await?;
    // A public project: anonymous clients of the host app may pull from it (and only pull).
    let metadata = Some(
        [("public".to_owned(), "true".to_owned())]
            .into_iter()
            .collect(),
    );
    registry
        .create_project(
            &Principal::System,
            ProjectReq {
                project_name: "demo".into(),
                metadata,
                ..Default::default()
            },
        )
        .await?;
    let image = ImageRef::parse("demo/hello:v1")?;
    let layer = NewLayer {
        content: Content::Bytes("hello from the host app".into()),
        media_type: None,
    };
    let pushed = registry
        .push_image(
            &image,
            NewImage {
                layers: vec![layer],
                ..Default::default()
            },
        )
        .await?;

    // The host application: its own routes, plus the registry's router merged at the root
    // (OCI clients expect `/v2/` at the root of the registry host).
    let app = Router::new()
        .route(
            "/",
            get(|| async { "host app: the registry lives under /v2/" }),
        )
        .route(
            "/api/host/status",
            get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
        )
        .merge(registry_http::app(registry.clone(), AppOptions::default()));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    println!("host app with an embedded registry on {base}");

    let client = reqwest::Client::new();
    let status: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/api/host/status"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    assert_eq!(status, serde_json::json!({"ok": true}));
    let tags: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/v2/demo/hello/tags/list"))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
    let res = client
        .get(format!("{base}/v2/demo/hello/manifests/v1"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await?;
    let digest = res
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        digest,
        pushed.digest.to_string(),
        "the embedded router serves what the engine stored"
    );
    let layer_url = format!("{base}/v2/demo/hello/blobs/{}", pushed.layers[0]);
    assert_eq!(
        client.get(layer_url).send().await?.bytes().await?.as_ref(),
        b"hello from the host app"
    );
    assert_eq!(
        client.get(format!("{base}/health")).send().await?.status(),
        200
    );
    // Writes need credentials.
    let push = client
        .post(format!("{base}/v2/demo/hello/blobs/uploads/"))
        .send()
        .await?;
    assert_eq!(push.status(), 401);

    let _ = stop_tx.send(());
    server.await??;
    println!("ok: host route, embedded /v2 API and health on one listener; graceful stop");
    Ok(())
}
