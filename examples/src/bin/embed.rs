//! Embedding Berth in a Rust program: open a registry in memory, push an image through the
//! engine directly, then serve the same registry over HTTP inside this process and read it back
//! as a client would.
//!
//! Run: `cargo run -p berth-examples --bin embed`

use std::time::Duration;

use bytes::Bytes;
use registry_core::model::ProjectReq;
use registry_core::oci::{Reference, RepoName};
use registry_core::{Principal, Registry};
use registry_http::AppOptions;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::open("memory://").await?;
    // Content lives in projects. The embedding program acts as `Principal::System`, which may do
    // everything; HTTP clients get their own principals from credentials.
    let admin_password = registry
        .bootstrap(None)
        .await?
        .expect("a fresh registry generates the admin password");
    let project = ProjectReq {
        project_name: "demo".into(),
        ..Default::default()
    };
    registry.create_project(&Principal::System, project).await?;
    let repo = RepoName::parse("demo/hello")?;

    // Push an image straight into the engine: a config blob, one layer, a manifest.
    let config = registry
        .push_blob_bytes(
            &repo,
            Bytes::from_static(b"{\"architecture\":\"amd64\",\"os\":\"linux\"}"),
        )
        .await?;
    let layer = registry
        .push_blob_bytes(
            &repo,
            Bytes::from_static(b"hello from an embedded registry"),
        )
        .await?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 37},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": 31}]
    });
    let pushed = registry
        .put_manifest(
            &repo,
            &Reference::Tag("v1".into()),
            None,
            Bytes::from(manifest.to_string()),
            &[],
        )
        .await?;
    println!("pushed demo/hello:v1 as {}", pushed.digest);

    // Serve the same registry on a free loopback port.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = registry_http::serve(
        registry.clone(),
        "127.0.0.1:0".parse()?,
        AppOptions::default(),
        Duration::from_secs(3600),
        async {
            let _ = stop_rx.await;
        },
    )
    .await?;
    let base = format!("http://{}", server.addr);
    println!("serving on {base}");

    let client = reqwest::Client::new();
    // The project is private: anonymous clients are asked for credentials.
    let anonymous = client
        .get(format!("{base}/v2/demo/hello/tags/list"))
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    let tags: serde_json::Value = serde_json::from_slice(
        &client
            .get(format!("{base}/v2/demo/hello/tags/list"))
            .basic_auth("admin", Some(&admin_password))
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    println!("tags over HTTP: {}", tags["tags"]);
    let res = client
        .get(format!("{base}/v2/demo/hello/manifests/v1"))
        .basic_auth("admin", Some(&admin_password))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await?;
    let digest = res
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(
        digest,
        pushed.digest.to_string(),
        "HTTP serves what the engine stored"
    );
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));

    let _ = stop_tx.send(());
    server.wait().await?;
    println!("ok: embedded push, HTTP pull, graceful stop");
    Ok(())
}
