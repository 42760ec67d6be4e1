//! Fault injection on the blob store: every failure is a clear server error (`UNKNOWN`, 500,
//! "internal server error" to clients), nothing half-done is linked or charged, and the registry
//! works again as soon as the store does, without anyone's help.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use registry_core::blob::fs::FsBlobStore;
use registry_core::clock::FakeClock;
use registry_core::gc::GcOptions;
use registry_core::oci::{Digest, RepoName};
use registry_core::testkit::faults::{FaultyBlobStore, ops};
use registry_core::{ErrorCode, Registry};

async fn setup() -> (
    Registry,
    Arc<FaultyBlobStore>,
    Arc<FakeClock>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap());
    let faulty = Arc::new(FaultyBlobStore::new(fs));
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let meta = registry_core::registry::open_metadata(&format!(
        "sqlite://{}",
        dir.path().join("berth.db").display()
    ))
    .await
    .unwrap();
    let reg = Registry::builder()
        .blobs(faulty.clone())
        .meta(meta)
        .clock(clock.clone())
        .build()
        .unwrap();
    registry_core::testkit::registry_projects(&reg, &["f"]).await;
    (reg, faulty, clock, dir)
}

fn internal(e: registry_core::Error) {
    assert_eq!(e.code(), ErrorCode::Internal, "{e}");
    assert_eq!(e.code().http_status(), 500);
    assert_eq!(
        e.public_message(),
        "internal server error",
        "no details leak"
    );
}

async fn exact(reg: &Registry) {
    for a in reg.verify_quotas().await.unwrap() {
        assert_eq!(
            a.stored, a.recount,
            "project {} usage drifted",
            a.project_id
        );
    }
}

#[tokio::test]
async fn a_failing_store_gives_server_errors_and_recovers_by_itself() {
    let (reg, store, _clock, _dir) = setup().await;
    let repo = RepoName::parse("f/app").unwrap();
    let data = Bytes::from(registry_core::testkit::data(1, 300_000));
    let digest = Digest::sha256_of(&data);

    // Publishing fails: nothing is linked or charged.
    store.fail(ops::COMMIT);
    internal(reg.push_blob_bytes(&repo, data.clone()).await.unwrap_err());
    assert_eq!(
        reg.stat_blob(&repo, &digest).await.unwrap_err().code(),
        ErrorCode::BlobUnknown
    );
    exact(&reg).await;

    // Staging fails in the middle of a chunked upload: the session stays where it was, and the
    // client continues from there once the store is back.
    store.fail(0);
    let s = reg.start_upload(&repo).await.unwrap();
    let first = data.slice(..100_000);
    let body = futures::stream::once(async move { Ok(first) }).boxed();
    assert_eq!(
        reg.append_upload(&repo, &s.id, Some(0), body, Some(100_000))
            .await
            .unwrap(),
        100_000
    );
    store.fail(ops::APPEND);
    let second = data.slice(100_000..);
    let body = futures::stream::once({
        let second = second.clone();
        async move { Ok(second) }
    })
    .boxed();
    internal(
        reg.append_upload(&repo, &s.id, Some(100_000), body, Some(200_000))
            .await
            .unwrap_err(),
    );
    assert_eq!(reg.upload_status(&repo, &s.id).await.unwrap().size, 100_000);
    store.fail(0);
    let body = futures::stream::once(async move { Ok(second) }).boxed();
    reg.finish_upload(
        &repo,
        &s.id,
        &digest,
        Some(100_000),
        Some(body),
        Some(200_000),
    )
    .await
    .unwrap();
    assert_eq!(reg.stat_blob(&repo, &digest).await.unwrap(), 300_000);
    exact(&reg).await;

    // Reads fail, then work.
    store.fail(ops::GET);
    match reg.get_blob(&repo, &digest, None).await {
        Err(e) => internal(e),
        Ok(_) => panic!("a failing store served a blob"),
    }
    store.fail(0);
    let back = registry_core::blob::collect(
        reg.get_blob(&repo, &digest, None).await.unwrap().body,
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(back, data);

    // Slow storage: concurrent pushes all land.
    store.latency(Duration::from_millis(20));
    let pushes: Vec<_> = (0..6)
        .map(|i| {
            let reg = reg.clone();
            let repo = repo.clone();
            tokio::spawn(async move {
                reg.push_blob_bytes(
                    &repo,
                    Bytes::from(registry_core::testkit::data(10 + i, 5000)),
                )
                .await
            })
        })
        .collect();
    for p in pushes {
        p.await.unwrap().unwrap();
    }
    store.latency(Duration::ZERO);
    exact(&reg).await;
    assert!(store.injected() >= 3);
}

#[tokio::test]
async fn deletes_that_fail_during_gc_are_retried_and_the_digest_can_be_pushed_again() {
    let (reg, store, clock, _dir) = setup().await;
    let repo = RepoName::parse("f/gc").unwrap();
    let data = Bytes::from(registry_core::testkit::data(2, 40_000));
    let digest = reg.push_blob_bytes(&repo, data.clone()).await.unwrap();
    reg.delete_blob(&repo, &digest).await.unwrap();
    let opts = GcOptions {
        grace_ms: 0,
        ..Default::default()
    };
    clock.advance(1_000);
    store.fail(ops::DELETE);
    let report = reg.collect_garbage(&opts, &|_, _| true).await.unwrap();
    assert!(report.failed_blobs >= 1, "{report:?}");
    store.fail(0);
    // The digest is pushed again while GC has not yet retried: it must land.
    let again = tokio::time::timeout(
        Duration::from_secs(20),
        reg.push_blob_bytes(&repo, data.clone()),
    )
    .await
    .expect("a push of a digest GC failed to delete does not hang")
    .unwrap();
    assert_eq!(again, digest);
    assert_eq!(reg.stat_blob(&repo, &digest).await.unwrap(), 40_000);
    // The next collection (with the usual grace period: the re-pushed blob is fresh) neither
    // fails nor takes the blob.
    clock.advance(1_000);
    let report = reg
        .collect_garbage(&GcOptions::default(), &|_, _| true)
        .await
        .unwrap();
    assert_eq!(report.failed_blobs, 0, "{report:?}");
    assert_eq!(
        reg.stat_blob(&repo, &digest).await.unwrap(),
        40_000,
        "the re-pushed blob survives the next collection"
    );
    let back = registry_core::blob::collect(
        reg.get_blob(&repo, &digest, None).await.unwrap().body,
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(back, data, "its bytes are intact");
    exact(&reg).await;
}
