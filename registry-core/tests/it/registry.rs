//! Scenarios on the `Registry` facade: the product rules of uploads and manifests.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use registry_core::oci::{Algorithm, Digest, Hasher, Reference, RepoName};
use registry_core::testkit::data;
use registry_core::{ErrorCode, Registry};

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap()
}

fn body(bytes: &[u8]) -> BoxStream<'static, registry_core::Result<Bytes>> {
    let parts: Vec<_> = bytes
        .chunks(4096)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts).boxed()
}

fn sha512(bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(Algorithm::Sha512);
    h.update(bytes);
    h.finish()
}

async fn read(reg: &Registry, r: &RepoName, d: &Digest) -> Vec<u8> {
    let b = reg.get_blob(r, d, None).await.unwrap();
    registry_core::blob::collect(b.body, usize::MAX)
        .await
        .unwrap()
}

fn image_manifest(config: &Digest, config_len: usize, layers: &[(Digest, usize)]) -> Bytes {
    let layers: Vec<_> = layers
        .iter()
        .map(|(d, n)| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.to_string(), "size": n}))
        .collect();
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": config_len},
        "layers": layers,
    });
    Bytes::from(serde_json::to_vec_pretty(&m).unwrap())
}

#[tokio::test]
async fn chunked_upload_continues_on_another_node() {
    let dir = tempfile::tempdir().unwrap();
    let node_a = Registry::open(dir.path().to_str().unwrap()).await.unwrap();
    registry_core::testkit::registry_projects(&node_a, &["cache", "no", "p", "team", "x"]).await;
    let node_b = Registry::open(dir.path().to_str().unwrap()).await.unwrap();
    registry_core::testkit::registry_projects(&node_b, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("team/app");
    let bytes = data(1, 300_000);
    let d = Digest::sha256_of(&bytes);
    let s = node_a.start_upload(&r).await.unwrap();
    let n = node_a
        .append_upload(&r, &s.id, Some(0), body(&bytes[..100_000]), None)
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    // A chunk at the wrong offset is refused and changes nothing.
    let e = node_b
        .append_upload(&r, &s.id, Some(5), body(b"zzz"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::RangeInvalid);
    let n = node_b
        .append_upload(
            &r,
            &s.id,
            Some(100_000),
            body(&bytes[100_000..200_000]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 200_000);
    assert_eq!(node_a.upload_status(&r, &s.id).await.unwrap().size, 200_000);
    // A final chunk at the wrong offset is refused too, and the session survives it.
    let e = node_a
        .finish_upload(&r, &s.id, &d, Some(0), Some(body(&bytes[200_000..])), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::RangeInvalid);
    assert_eq!(node_b.upload_status(&r, &s.id).await.unwrap().size, 200_000);
    node_a
        .finish_upload(
            &r,
            &s.id,
            &d,
            Some(200_000),
            Some(body(&bytes[200_000..])),
            None,
        )
        .await
        .unwrap();
    assert!(read(&node_b, &r, &d).await == bytes, "content differs");
    assert_eq!(
        node_b.upload_status(&r, &s.id).await.unwrap_err().code(),
        ErrorCode::BlobUploadUnknown
    );
}

#[tokio::test]
async fn sha512_uploads_chunked_and_monolithic() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("x/y");
    let bytes = data(2, 50_000);
    let d = sha512(&bytes);
    // Chunks hashed as sha256 on the way, then the digest names sha512.
    let s = reg.start_upload(&r).await.unwrap();
    reg.append_upload(&r, &s.id, None, body(&bytes[..20_000]), None)
        .await
        .unwrap();
    reg.finish_upload(&r, &s.id, &d, None, Some(body(&bytes[20_000..])), None)
        .await
        .unwrap();
    assert!(read(&reg, &r, &d).await == bytes);
    // Monolithic: hashed with sha512 directly.
    let other = data(3, 1000);
    let d2 = sha512(&other);
    reg.push_blob(&r, &d2, body(&other), Some(1000))
        .await
        .unwrap();
    assert_eq!(reg.stat_blob(&r, &d2).await.unwrap(), 1000);
}

#[tokio::test]
async fn digest_mismatch_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().to_str().unwrap()).await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("x/y");
    let bytes = data(4, 10_000);
    let wrong = Digest::sha256_of(b"something else");
    let e = reg
        .push_blob(&r, &wrong, body(&bytes), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DigestInvalid);
    assert_eq!(
        reg.stat_blob(&r, &wrong).await.unwrap_err().code(),
        ErrorCode::BlobUnknown
    );
    let right = Digest::sha256_of(&bytes);
    assert_eq!(
        reg.stat_blob(&r, &right).await.unwrap_err().code(),
        ErrorCode::BlobUnknown
    );
    assert_eq!(
        reg.blob_store().stat(&right).await.unwrap(),
        None,
        "no bytes published"
    );
    assert!(
        reg.blob_store().list_uploads().await.unwrap().is_empty(),
        "staging dropped"
    );
    // A declared length that does not match the body is refused too.
    let e = reg
        .push_blob(&r, &right, body(&bytes), Some(5))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SizeInvalid);
    assert_eq!(
        reg.stat_blob(&r, &right).await.unwrap_err().code(),
        ErrorCode::BlobUnknown
    );
}

#[tokio::test]
async fn manifests_validate_references_and_serve_exact_bytes() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("team/app");
    let cfg = Bytes::from_static(b"{\"architecture\":\"amd64\"}");
    let layer = Bytes::from(data(5, 3000));
    let cfg_d = reg.push_blob_bytes(&r, cfg.clone()).await.unwrap();
    let missing = Digest::sha256_of(b"never pushed");
    let bad = image_manifest(&cfg_d, cfg.len(), &[(missing.clone(), 3)]);
    let e = reg
        .put_manifest(&r, &Reference::Tag("v1".into()), None, bad, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestBlobUnknown);
    assert_eq!(
        reg.list_tags(&r, None, None).await.unwrap(),
        Vec::<String>::new()
    );

    let layer_d = reg.push_blob_bytes(&r, layer.clone()).await.unwrap();
    let good = image_manifest(&cfg_d, cfg.len(), &[(layer_d, layer.len())]);
    let out = reg
        .put_manifest(
            &r,
            &Reference::Tag("v1".into()),
            Some("application/vnd.oci.image.manifest.v1+json"),
            good.clone(),
            &["extra".into()],
        )
        .await
        .unwrap();
    assert_eq!(out.digest, Digest::sha256_of(&good));
    assert_eq!(out.tags, vec!["v1".to_string(), "extra".to_string()]);
    let got = reg
        .get_manifest(&r, &Reference::Tag("extra".into()))
        .await
        .unwrap();
    assert_eq!(
        got.content, good,
        "served byte-exact (pretty-printed JSON kept)"
    );
    // A manifest pushed by a digest it does not have is refused.
    let e = reg
        .put_manifest(&r, &Reference::Digest(missing), None, good.clone(), &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DigestInvalid);
    // Malformed JSON and bad extra tags.
    let e = reg
        .put_manifest(
            &r,
            &Reference::Tag("v2".into()),
            None,
            Bytes::from_static(b"{nope"),
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestInvalid);
    let e = reg
        .put_manifest(
            &r,
            &Reference::Tag("v2".into()),
            None,
            good,
            &["-bad".into()],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TagInvalid);
    assert!(
        reg.get_manifest(&r, &Reference::Tag("v2".into()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn referrers_index_and_filter() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("team/app");
    let empty = reg
        .push_blob_bytes(&r, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let subject = Digest::sha256_of(b"subject that was never pushed");
    for (i, t) in ["application/x.sig", "application/x.sbom"]
        .iter()
        .enumerate()
    {
        let m = serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": t,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2},
            "layers": [], "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject.to_string(), "size": 10},
            "annotations": {"n": i.to_string()}
        });
        let out = reg
            .put_manifest(
                &r,
                &Reference::Tag(format!("a{i}")),
                None,
                Bytes::from(m.to_string()),
                &[],
            )
            .await
            .unwrap();
        assert_eq!(out.subject.as_ref(), Some(&subject));
    }
    let all: serde_json::Value =
        serde_json::from_slice(&reg.referrers(&r, &subject, None).await.unwrap().body).unwrap();
    assert_eq!(all["manifests"].as_array().unwrap().len(), 2);
    let only = reg
        .referrers(&r, &subject, Some("application/x.sbom"))
        .await
        .unwrap();
    assert!(only.filtered);
    let only: serde_json::Value = serde_json::from_slice(&only.body).unwrap();
    assert_eq!(only["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(only["manifests"][0]["artifactType"], "application/x.sbom");
    assert_eq!(only["manifests"][0]["annotations"]["n"], "1");
    // Unknown repository: an empty index, not an error.
    let none: serde_json::Value = serde_json::from_slice(
        &reg.referrers(&repo("no/such"), &subject, None)
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(none["manifests"], serde_json::json!([]));
}

#[tokio::test]
async fn mounts_and_purge() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let (a, b) = (repo("p/a"), repo("p/b"));
    let d = reg
        .push_blob_bytes(&a, Bytes::from_static(b"shared"))
        .await
        .unwrap();
    assert_eq!(reg.mount_blob(&b, &d, Some(&a)).await.unwrap(), Some(6));
    assert_eq!(
        reg.mount_blob(&b, &Digest::sha256_of(b"nope"), Some(&a))
            .await
            .unwrap(),
        None
    );
    reg.delete_blob(&a, &d).await.unwrap();
    assert_eq!(
        reg.stat_blob(&a, &d).await.unwrap_err().code(),
        ErrorCode::BlobUnknown
    );
    assert_eq!(reg.stat_blob(&b, &d).await.unwrap(), 6);
    // Abandoned sessions are purged with their staged bytes.
    let s = reg.start_upload(&a).await.unwrap();
    reg.append_upload(&a, &s.id, None, body(b"partial"), None)
        .await
        .unwrap();
    assert_eq!(
        reg.purge_uploads(60_000).await.unwrap(),
        0,
        "fresh session kept"
    );
    assert_eq!(reg.purge_uploads(-1).await.unwrap(), 1);
    assert!(reg.blob_store().list_uploads().await.unwrap().is_empty());
    assert_eq!(
        reg.upload_status(&a, &s.id).await.unwrap_err().code(),
        ErrorCode::BlobUploadUnknown
    );
}

#[tokio::test]
async fn purge_drops_monolithic_staging_left_by_a_crash() {
    use registry_core::clock::FakeClock;
    use std::sync::Arc;
    let clock = Arc::new(FakeClock::new(1_000_000));
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
    registry_core::testkit::registry_projects(&reg, &["p"]).await;
    // What a process killed in the middle of a monolithic POST leaves behind.
    let orphan = format!(
        "{}{}-{}",
        registry_core::registry::MONOLITHIC_PREFIX,
        1_000_000,
        "abc"
    );
    let mut s = stream::iter(vec![Ok(Bytes::from_static(b"partial"))]);
    reg.blob_store().append(&orphan, 0, &mut s).await.unwrap();
    assert_eq!(
        reg.purge_uploads(60_000).await.unwrap(),
        0,
        "too fresh to purge"
    );
    clock.advance(120_000);
    assert_eq!(reg.purge_uploads(60_000).await.unwrap(), 1);
    assert!(reg.blob_store().list_uploads().await.unwrap().is_empty());
    // A successful monolithic push leaves no staging and no session behind.
    let d = reg
        .push_blob_bytes(&repo("p/a"), Bytes::from_static(b"whole"))
        .await
        .unwrap();
    assert_eq!(reg.stat_blob(&repo("p/a"), &d).await.unwrap(), 5);
    assert!(reg.blob_store().list_uploads().await.unwrap().is_empty());
}

#[tokio::test]
async fn uploads_are_scoped_to_their_repository() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let s = reg.start_upload(&repo("p/a")).await.unwrap();
    let e = reg
        .append_upload(&repo("p/b"), &s.id, None, body(b"x"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::BlobUploadUnknown);
    reg.cancel_upload(&repo("p/a"), &s.id).await.unwrap();
    assert_eq!(
        reg.cancel_upload(&repo("p/a"), &s.id)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::BlobUploadUnknown
    );
}

#[tokio::test]
async fn manifest_cache_never_serves_stale_local_state() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["cache", "no", "p", "team", "x"]).await;
    let r = repo("cache/app");
    let cfg = reg
        .push_blob_bytes(&r, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let put = |layers: usize| {
        let reg = reg.clone();
        let r = r.clone();
        let cfg = cfg.clone();
        async move {
            let mut ls = Vec::new();
            for i in 0..layers {
                let d = reg
                    .push_blob_bytes(&r, Bytes::from(format!("layer {i}")))
                    .await
                    .unwrap();
                ls.push((d, 7));
            }
            let m = image_manifest(&cfg, 2, &ls);
            reg.put_manifest(&r, &Reference::Tag("latest".into()), None, m, &[])
                .await
                .unwrap()
                .digest
        }
    };
    let first = put(1).await;
    let tag = Reference::Tag("latest".into());
    assert_eq!(
        reg.get_manifest(&r, &tag).await.unwrap().digest,
        first.to_string()
    );
    assert_eq!(
        reg.get_manifest(&r, &tag).await.unwrap().digest,
        first.to_string(),
        "served twice (cached)"
    );
    // Moving the tag is visible at once.
    let second = put(2).await;
    assert_eq!(
        reg.get_manifest(&r, &tag).await.unwrap().digest,
        second.to_string()
    );
    // Deleting is visible at once, by digest and by tag.
    reg.get_manifest(&r, &Reference::Digest(second.clone()))
        .await
        .unwrap();
    reg.delete_manifest(&r, &Reference::Digest(second.clone()))
        .await
        .unwrap();
    assert_eq!(
        reg.get_manifest(&r, &Reference::Digest(second))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::ManifestUnknown
    );
    assert_eq!(
        reg.get_manifest(&r, &tag).await.unwrap_err().code(),
        ErrorCode::ManifestUnknown
    );
}

/// A `memory://` registry keeps its data when calls are cancelled mid-query (an HTTP client
/// hanging up, an aborted task): the pool may replace its connection, the database stays.
#[tokio::test]
async fn memory_store_survives_cancelled_calls() {
    let reg = Registry::open("memory://").await.unwrap();
    registry_core::testkit::registry_projects(&reg, &["x"]).await;
    let r = repo("x/keep");
    let d = reg
        .push_blob_bytes(&r, Bytes::from_static(b"kept"))
        .await
        .unwrap();
    for i in 0..200u64 {
        let reg2 = reg.clone();
        let task = tokio::spawn(async move {
            let r = RepoName::parse("x/churn").unwrap();
            loop {
                let _ = reg2
                    .push_blob_bytes(&r, Bytes::from(i.to_le_bytes().to_vec()))
                    .await;
                let _ = reg2.catalog(Some(100), None).await;
            }
        });
        tokio::time::sleep(std::time::Duration::from_micros(50 * (i % 7))).await;
        task.abort();
        let _ = task.await;
    }
    assert_eq!(reg.stat_blob(&r, &d).await.unwrap(), 4);
    assert!(
        reg.catalog(None, None)
            .await
            .unwrap()
            .contains(&"x/keep".to_owned())
    );
}
