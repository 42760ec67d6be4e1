//! Governance on every backend pair (SQLite + filesystem, PostgreSQL + S3): quotas exact under
//! concurrency, garbage collection precise and safe under load, the job service.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use registry_core::clock::{Clock, FakeClock, SystemClock};
use registry_core::events::{QUOTA_EXCEED, QUOTA_WARNING};
use registry_core::gc::{GcOptions, GcReport};
use registry_core::jobs::{JobHandler, TaskContext};
use registry_core::model::ProjectReq;
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::testkit::data;
use registry_core::{Content, ErrorCode, ImageRef, NewImage, NewLayer, Principal, Registry};

use crate::backends::fresh_pg_database;
use crate::service_url;

/// A registry on one backend pair, with the directory that holds its files.
struct Env {
    reg: Registry,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite_fs(clock: Arc<dyn Clock>) -> Env {
    sqlite_fs_with(clock, |b| b).await
}

/// SQLite + filesystem, with more builder settings.
async fn sqlite_fs_with(
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(
        registry_core::registry::RegistryBuilder,
    ) -> registry_core::registry::RegistryBuilder,
) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let meta = registry_core::registry::open_metadata(&format!(
        "sqlite://{}",
        dir.path().join("b.db").display()
    ))
    .await
    .unwrap();
    let blobs =
        registry_core::registry::open_blobs(&dir.path().join("blobs").display().to_string())
            .await
            .unwrap();
    let reg = configure(Registry::builder().meta(meta).blobs(blobs).clock(clock))
        .build()
        .unwrap();
    Env {
        reg,
        _dir: Some(dir),
    }
}

/// PostgreSQL + S3, when the test services are there (`tests/run.sh` starts them).
async fn pg_s3(clock: Arc<dyn Clock>) -> Option<Env> {
    let admin = service_url("BERTH_TEST_PG_URL")?;
    let s3 = service_url("BERTH_TEST_S3_URL")?;
    let url = fresh_pg_database(&admin).await;
    Some(Env {
        reg: pg_s3_at(&url, &s3, clock).await,
        _dir: None,
    })
}

async fn pg_s3_at(pg: &str, s3: &str, clock: Arc<dyn Clock>) -> Registry {
    let mut u = url::Url::parse(s3).unwrap();
    u.set_path(&format!("/gov-{}", uuid::Uuid::new_v4().simple()));
    let meta = registry_core::registry::open_metadata(pg).await.unwrap();
    let blobs = registry_core::registry::open_blobs(u.as_str())
        .await
        .unwrap();
    Registry::builder()
        .meta(meta)
        .blobs(blobs)
        .clock(clock)
        .build()
        .unwrap()
}

async fn project(reg: &Registry, name: &str, limit: i64) {
    let req = ProjectReq {
        project_name: name.into(),
        storage_limit: Some(limit),
        ..Default::default()
    };
    reg.create_project(&Principal::System, req).await.unwrap();
}

fn image(layers: &[Vec<u8>], note: &str) -> NewImage {
    NewImage {
        config: Some(Bytes::from(format!("{{\"note\":\"{note}\"}}"))),
        layers: layers
            .iter()
            .map(|l| NewLayer {
                content: Content::Bytes(Bytes::from(l.clone())),
                media_type: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn iref(s: &str) -> ImageRef {
    ImageRef::parse(s).unwrap()
}

async fn used(reg: &Registry, project: &str) -> i64 {
    let id = reg
        .metadata_store()
        .project_by_name(project)
        .await
        .unwrap()
        .unwrap()
        .id;
    reg.project_quota(id).await.unwrap().unwrap().used
}

async fn assert_quotas_exact(reg: &Registry) {
    let audit = reg.verify_quotas().await.unwrap();
    assert!(!audit.is_empty());
    for a in audit {
        assert_eq!(
            a.stored, a.recount,
            "project {}: stored usage differs from a recount",
            a.project_id
        );
    }
}

async fn event_types(reg: &Registry) -> Vec<String> {
    reg.metadata_store()
        .events_after(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// Races the protocol allows: content collected or deleted under a client.
fn allowed_race(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ManifestBlobUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown
            | ErrorCode::NotFound
            | ErrorCode::Unavailable
            | ErrorCode::BlobUnknown
    )
}

fn no_progress() -> impl Fn(registry_core::gc::GcPhase, &GcReport) -> bool + Send + Sync {
    |_, _| true
}

// ---- quotas ------------------------------------------------------------------------------------

async fn quota_scenario(reg: &Registry, clock: &FakeClock) {
    project(reg, "qa", 20_000).await;
    project(reg, "qb", -1).await;
    let shared = data(1, 4000);
    let a = reg
        .push_image(
            &iref("qa/one:v1"),
            image(std::slice::from_ref(&shared), "one"),
        )
        .await
        .unwrap();
    let after_one = used(reg, "qa").await;
    let manifest_one = reg
        .get_manifest(&a.repo, &Reference::Digest(a.digest.clone()))
        .await
        .unwrap()
        .content
        .len() as i64;
    let config_one = 14; // {"note":"one"}
    assert_eq!(
        after_one,
        4000 + config_one + manifest_one,
        "layer, config and manifest are charged"
    );

    // The same layer in a second repository of the project is charged once.
    let b = reg
        .push_image(
            &iref("qa/two:v1"),
            image(std::slice::from_ref(&shared), "two"),
        )
        .await
        .unwrap();
    let manifest_two = reg
        .get_manifest(&b.repo, &Reference::Digest(b.digest.clone()))
        .await
        .unwrap()
        .content
        .len() as i64;
    assert_eq!(
        used(reg, "qa").await,
        after_one + 14 + manifest_two,
        "only the new config and manifest"
    );

    // In another project it is charged again.
    let x = RepoName::parse("qb/x").unwrap();
    let layer = Digest::sha256_of(&shared);
    assert_eq!(reg.mount_blob(&x, &layer, None).await.unwrap(), Some(4000));
    assert_eq!(used(reg, "qb").await, 4000);

    // Over the limit: refused with a message naming project, limit and usage; nothing linked.
    let before = used(reg, "qa").await;
    let big = Bytes::from(data(2, 17_000));
    let r = RepoName::parse("qa/one").unwrap();
    let e = reg.push_blob_bytes(&r, big.clone()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied);
    let msg = e.to_string();
    assert!(
        msg.contains("qa") && msg.contains("limit") && msg.contains("usage"),
        "{msg}"
    );
    assert_eq!(used(reg, "qa").await, before);
    assert!(
        reg.stat_blob(&r, &Digest::sha256_of(&big)).await.is_err(),
        "a refused blob is not linked"
    );
    assert!(event_types(reg).await.iter().any(|t| t == QUOTA_EXCEED));

    // Crossing 85 % of the limit raises one warning.
    assert!(!event_types(reg).await.iter().any(|t| t == QUOTA_WARNING));
    let fill = (20_000 * 86 / 100 - before).max(1) as usize;
    reg.push_blob_bytes(&r, Bytes::from(data(3, fill)))
        .await
        .unwrap();
    assert_eq!(
        event_types(reg)
            .await
            .iter()
            .filter(|t| *t == QUOTA_WARNING)
            .count(),
        1
    );

    // Deleting an artifact releases at once what no other artifact of the project references:
    // its manifest and its own config. The shared layer stays (qa/one uses it), and so does the
    // filler blob, uploaded and not yet referenced (a push in flight), until GC's grace period.
    let with_fill = used(reg, "qa").await;
    reg.delete_manifest(&b.repo, &Reference::Digest(b.digest.clone()))
        .await
        .unwrap();
    assert_eq!(used(reg, "qa").await, with_fill - manifest_two - 14);
    assert_quotas_exact(reg).await;
    // Deleting the last artifact that uses the layer releases it too.
    let with_one = used(reg, "qa").await;
    reg.delete_manifest(&a.repo, &Reference::Digest(a.digest.clone()))
        .await
        .unwrap();
    assert_eq!(
        used(reg, "qa").await,
        with_one - manifest_one - config_one - 4000
    );
    assert_quotas_exact(reg).await;
    clock.advance(3 * 3600 * 1000);
    let report = reg
        .collect_garbage(&GcOptions::default(), &no_progress())
        .await
        .unwrap();
    assert!(report.dropped_links >= 1, "{report:?}");
    // The filler blob (referenced by nothing) goes with garbage collection.
    assert_eq!(used(reg, "qa").await, 0);
    assert_quotas_exact(reg).await;

    // The limit can be changed by an administrator; a user cannot.
    let q = reg
        .quotas(
            &Principal::System,
            Some("project"),
            None,
            &Default::default(),
        )
        .await
        .unwrap();
    let qa = q.items.iter().find(|q| q.r#ref.name == "qa").unwrap();
    assert_eq!(qa.hard.storage, 20_000);
    reg.set_quota(&Principal::System, qa.id, -1).await.unwrap();
    assert_eq!(
        reg.quota(&Principal::System, qa.id)
            .await
            .unwrap()
            .hard
            .storage,
        -1
    );
    assert_eq!(
        reg.set_quota(&Principal::System, qa.id, -5)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::BadRequest
    );
    assert_eq!(
        reg.set_quota(&Principal::Anonymous, qa.id, 5)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn quotas_sqlite_fs() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let env = sqlite_fs(clock.clone()).await;
    quota_scenario(&env.reg, &clock).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn quotas_postgres_s3() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let Some(env) = pg_s3(clock.clone()).await else {
        return;
    };
    quota_scenario(&env.reg, &clock).await;
}

/// Random concurrent pushes, mounts, deletes and GC runs across projects, some with limits;
/// afterwards every project's stored usage equals a recount from its links.
async fn quota_exactness(reg: Registry) {
    let projects = ["ra", "rb", "rc"];
    project(&reg, "ra", -1).await;
    project(&reg, "rb", 12_000).await;
    project(&reg, "rc", -1).await;
    let pool: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..10)
            .map(|i| data(100 + i, 1000 + 700 * i as usize))
            .collect(),
    );
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..6u64 {
        let (reg, pool, refused) = (reg.clone(), pool.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let mut x = w.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = |n: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % n
            };
            for i in 0..30 {
                let project = projects[next(3) as usize];
                let repo = format!("{project}/r{}", next(3));
                let result = match next(10) {
                    0..=4 => {
                        let layers: Vec<Vec<u8>> = (0..1 + next(3))
                            .map(|_| pool[next(pool.len() as u64) as usize].clone())
                            .collect();
                        reg.push_image(
                            &iref(&format!("{repo}:t{}", next(4))),
                            image(&layers, &format!("{w}-{i}")),
                        )
                        .await
                        .map(drop)
                    }
                    5 | 6 => {
                        let d = Digest::sha256_of(&pool[next(pool.len() as u64) as usize]);
                        reg.mount_blob(&RepoName::parse(&repo).unwrap(), &d, None)
                            .await
                            .map(drop)
                    }
                    7 => match reg
                        .list_tags(&RepoName::parse(&repo).unwrap(), Some(1), None)
                        .await
                    {
                        Ok(tags) if !tags.is_empty() => {
                            let r = RepoName::parse(&repo).unwrap();
                            match reg.get_manifest(&r, &Reference::Tag(tags[0].clone())).await {
                                Ok(m) => {
                                    reg.delete_manifest(
                                        &r,
                                        &Reference::Digest(Digest::parse(&m.digest).unwrap()),
                                    )
                                    .await
                                }
                                Err(e) => Err(e),
                            }
                        }
                        other => other.map(drop),
                    },
                    8 => {
                        let name = repo.split_once('/').unwrap().1.to_owned();
                        reg.delete_repository(&Principal::System, project, &name)
                            .await
                    }
                    _ => {
                        let opts = GcOptions {
                            grace_ms: 0,
                            delete_untagged: next(2) == 0,
                            ..Default::default()
                        };
                        reg.collect_garbage(&opts, &|_, _| true).await.map(drop)
                    }
                };
                match result {
                    Ok(()) => {}
                    Err(e) if e.code() == ErrorCode::Denied => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) if allowed_race(e.code()) => {}
                    Err(e) => panic!("worker {w} op {i}: {e}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_quotas_exact(&reg).await;
    reg.collect_garbage(
        &GcOptions {
            grace_ms: 0,
            delete_untagged: true,
            ..Default::default()
        },
        &no_progress(),
    )
    .await
    .unwrap();
    assert_quotas_exact(&reg).await;
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the limited project refused something"
    );
    eprintln!(
        "quota exactness: {} refusals over the limit",
        refused.load(Ordering::Relaxed)
    );
}

/// Many blobs pushed at once into one project, whose links are written together (group
/// commit): every push gets its own answer, exactly the blobs that fit under the limit are
/// linked, and the stored usage equals a recount.
async fn concurrent_blob_pushes(reg: Registry) {
    project(&reg, "many", 20 * 1000).await;
    let repo = RepoName::parse("many/app").unwrap();
    let mut tasks = Vec::new();
    // Two pushes of each of 16 blobs of 1,000 bytes, then 16 more: 32 for room for 20.
    for i in 0..48u64 {
        let seed = if i < 32 { i % 16 } else { i };
        let (reg, repo) = (reg.clone(), repo.clone());
        tasks.push(tokio::spawn(async move {
            let bytes = Bytes::from(data(9_000 + seed, 1000));
            (seed, reg.push_blob_bytes(&repo, bytes).await)
        }));
    }
    let (mut linked, mut refused) = (BTreeMap::new(), BTreeMap::new());
    for t in tasks {
        let (seed, r) = t.await.unwrap();
        let d = Digest::sha256_of(&data(9_000 + seed, 1000));
        match r {
            Ok(pushed) => {
                assert_eq!(pushed, d);
                linked.insert(seed, d);
            }
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Denied, "blob {seed}: {e}");
                refused.insert(seed, d);
            }
        }
    }
    let store = reg.metadata_store();
    for d in linked.values() {
        assert_eq!(store.repo_blob(&repo, d).await.unwrap(), Some(1000));
    }
    for (seed, d) in &refused {
        assert!(
            !linked.contains_key(seed),
            "blob {seed} both linked and refused"
        );
        assert_eq!(store.repo_blob(&repo, d).await.unwrap(), None);
    }
    assert_eq!(linked.len(), 20, "exactly the blobs that fit: {linked:?}");
    assert_eq!(used(&reg, "many").await, 20 * 1000);
    assert_quotas_exact(&reg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_blob_pushes_sqlite_fs() {
    let env = sqlite_fs(Arc::new(SystemClock)).await;
    concurrent_blob_pushes(env.reg.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn concurrent_blob_pushes_postgres_s3() {
    let Some(env) = pg_s3(Arc::new(SystemClock)).await else {
        return;
    };
    concurrent_blob_pushes(env.reg.clone()).await;
}

/// Eight clients on one repository and its neighbour: the same layers and often the same
/// manifests pushed again, tags moved between them, indexes over them (in the neighbour),
/// manifests and tags deleted, blobs mounted, the neighbour deleted, and garbage collection of
/// untagged manifests. On PostgreSQL these take
/// row locks in one order ("Lock order" in `meta/sql.rs`); two that took them in different
/// orders would deadlock, which fails an operation with an internal error. Afterwards every tag
/// pulls back and usage equals a recount.
async fn one_repository_contended(reg: Registry) {
    project(&reg, "hot", -1).await;
    let pool: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..4)
            .map(|i| data(500 + i, 800 + 300 * i as usize))
            .collect(),
    );
    let mut tasks = Vec::new();
    for w in 0..8u64 {
        let (reg, pool) = (reg.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut x = w.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
            let mut next = |n: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % n
            };
            let mut done = 0;
            for i in 0..40 {
                let repo = if next(4) == 0 { "hot/b" } else { "hot/a" };
                let r = RepoName::parse(repo).unwrap();
                let result = match next(11) {
                    0..=4 => {
                        // Few distinct images: most pushes repeat another client's manifest.
                        let first = next(3) as usize;
                        let layers: Vec<Vec<u8>> = pool[first..=first + next(2) as usize].to_vec();
                        let tag = format!("{repo}:t{}", next(3));
                        reg.push_image(&iref(&tag), image(&layers, &format!("n{}", next(2))))
                            .await
                            .map(drop)
                    }
                    // A manifest deleted in hot/a; in hot/b, where indexes are pushed, only a
                    // tag (so only garbage collection deletes manifests there).
                    5 | 6 => {
                        let tag = Reference::Tag(format!("t{}", next(3)));
                        match reg.get_manifest(&r, &tag).await {
                            Ok(m) if repo == "hot/a" => {
                                let d = Digest::parse(&m.digest).unwrap();
                                reg.delete_manifest(&r, &Reference::Digest(d)).await
                            }
                            Ok(_) => reg.delete_manifest(&r, &tag).await,
                            Err(e) => Err(e),
                        }
                    }
                    7 => {
                        let d = Digest::sha256_of(&pool[next(4) as usize]);
                        let from = RepoName::parse("hot/a").unwrap();
                        reg.mount_blob(&RepoName::parse("hot/b").unwrap(), &d, Some(&from))
                            .await
                            .map(drop)
                    }
                    8 if next(3) == 0 => {
                        reg.delete_repository(&Principal::System, "hot", "b").await
                    }
                    9 => {
                        // An index over a tagged manifest of hot/b, which collection of that
                        // manifest must wait for or see.
                        let r = RepoName::parse("hot/b").unwrap();
                        match reg
                            .get_manifest(&r, &Reference::Tag(format!("t{}", next(3))))
                            .await
                        {
                            Ok(m) => {
                                let child = serde_json::json!({
                                    "mediaType": m.media_type,
                                    "digest": m.digest,
                                    "size": m.content.len(),
                                });
                                let index = serde_json::json!({
                                    "schemaVersion": 2,
                                    "mediaType": OCI_INDEX,
                                    "manifests": [child],
                                });
                                let body = Bytes::from(index.to_string());
                                let tag = Reference::Tag("idx".into());
                                reg.put_manifest(&r, &tag, Some(OCI_INDEX), body, &[])
                                    .await
                                    .map(drop)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    _ => {
                        let opts = GcOptions {
                            grace_ms: 0,
                            delete_untagged: true,
                            ..Default::default()
                        };
                        reg.collect_garbage(&opts, &|_, _| true).await.map(drop)
                    }
                };
                match result {
                    Ok(()) => done += 1,
                    Err(e) if allowed_race(e.code()) => {}
                    Err(e) => panic!("client {w} operation {i} on {repo}: {e}"),
                }
            }
            done
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap();
    }
    assert!(done > 8 * 40 / 2, "most operations succeed: {done} of 320");
    for repo in ["hot/a", "hot/b"] {
        let r = RepoName::parse(repo).unwrap();
        for tag in reg.list_tags(&r, None, None).await.unwrap_or_default() {
            let img = format!("{repo}:{tag}");
            let m = reg
                .get_manifest(&r, &Reference::Tag(tag.clone()))
                .await
                .unwrap();
            if m.media_type != OCI_INDEX {
                reg.pull_image(&iref(&img))
                    .await
                    .unwrap_or_else(|e| panic!("pull {img}: {e}"));
                continue;
            }
            // Only collection deletes manifests in hot/b: none an index lists.
            let index: serde_json::Value = serde_json::from_slice(&m.content).unwrap();
            for child in index["manifests"].as_array().unwrap() {
                let d = Digest::parse(child["digest"].as_str().unwrap()).unwrap();
                reg.get_manifest(&r, &Reference::Digest(d.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("{img} lists {d}, which is gone: {e}"));
            }
        }
    }
    assert_quotas_exact(&reg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_repository_contended_sqlite_fs() {
    let env = sqlite_fs(Arc::new(SystemClock)).await;
    one_repository_contended(env.reg.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn one_repository_contended_postgres_s3() {
    let Some(env) = pg_s3(Arc::new(SystemClock)).await else {
        return;
    };
    one_repository_contended(env.reg.clone()).await;
}

/// On PostgreSQL, wait until `n` backends of the database wait for a lock.
async fn lock_waiters(observer: &mut sqlx::PgConnection, n: i64) {
    for _ in 0..500 {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *observer)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} transactions never came to wait for a lock");
}

/// A push of an index keeps garbage collection from deleting a manifest it lists until it
/// commits, though it takes the quota row last (PostgreSQL). The push is held at that lock by
/// another connection; collection's deletion of the listed, untagged manifest, started then,
/// waits for the push and then finds the manifest listed. Without the push's `FOR KEY SHARE`
/// read of the manifests it lists, the deletion goes through and the index lists a manifest
/// that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn collection_waits_for_an_index_push_postgres_s3() {
    use sqlx::Connection;
    let (Some(admin), Some(s3)) = (
        service_url("BERTH_TEST_PG_URL"),
        service_url("BERTH_TEST_S3_URL"),
    ) else {
        return;
    };
    let url = fresh_pg_database(&admin).await;
    let reg = pg_s3_at(&url, &s3, Arc::new(SystemClock)).await;
    project(&reg, "lk", -1).await;
    let r = RepoName::parse("lk/app").unwrap();
    let pushed = reg
        .push_image(&iref("lk/app:t"), image(&[data(61, 700)], "lk"))
        .await
        .unwrap();
    let m = reg
        .get_manifest(&r, &Reference::Tag("t".into()))
        .await
        .unwrap();
    // Untagged: the collector may delete it, unless something lists it.
    reg.delete_manifest(&r, &Reference::Tag("t".into()))
        .await
        .unwrap();

    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut observer = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("UPDATE quotas SET hard = hard WHERE project_id = (SELECT id FROM projects WHERE name = 'lk')")
        .execute(&mut holder)
        .await
        .unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": m.media_type, "digest": m.digest, "size": m.content.len()}],
    });
    let push = {
        let (reg, r) = (reg.clone(), r.clone());
        tokio::spawn(async move {
            let body = Bytes::from(index.to_string());
            reg.put_manifest(
                &r,
                &Reference::Tag("idx".into()),
                Some(OCI_INDEX),
                body,
                &[],
            )
            .await
        })
    };
    lock_waiters(&mut observer, 1).await;
    let collect = {
        let (meta, r, d) = (
            reg.metadata_store().clone(),
            r.clone(),
            pushed.digest.clone(),
        );
        tokio::spawn(async move {
            meta.delete_manifest(&r, &d, true, SystemClock.now_ms(), &[])
                .await
        })
    };
    // Both wait now: the collector for the push (on the manifest's row), or, had it deleted
    // the manifest, for the quota row.
    lock_waiters(&mut observer, 2).await;
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    push.await.unwrap().unwrap();
    let deleted = collect.await.unwrap().unwrap();
    assert!(!deleted, "collection deleted a manifest the index lists");
    reg.get_manifest(&r, &Reference::Digest(pushed.digest.clone()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exactness_sqlite_fs() {
    let env = sqlite_fs(Arc::new(SystemClock)).await;
    quota_exactness(env.reg.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn quota_exactness_postgres_s3() {
    let Some(env) = pg_s3(Arc::new(SystemClock)).await else {
        return;
    };
    quota_exactness(env.reg.clone()).await;
}

// ---- garbage collection ------------------------------------------------------------------------

async fn gc_scenario(reg: &Registry, clock: &FakeClock) {
    project(reg, "gc", -1).await;
    let keep = reg
        .push_image(
            &iref("gc/app:keep"),
            image(&[data(10, 3000), data(11, 2000)], "keep"),
        )
        .await
        .unwrap();
    let gone = reg
        .push_image(
            &iref("gc/app:gone"),
            image(&[data(11, 2000), data(12, 1500)], "gone"),
        )
        .await
        .unwrap();
    let r = RepoName::parse("gc/app").unwrap();
    let orphan = reg
        .push_blob_bytes(&r, Bytes::from(data(13, 700)))
        .await
        .unwrap();
    reg.delete_manifest(&r, &Reference::Tag("gone".into()))
        .await
        .unwrap(); // now untagged

    // Within the grace period nothing unreferenced goes, untagged artifacts aside.
    let fresh = reg
        .collect_garbage(&GcOptions::default(), &no_progress())
        .await
        .unwrap();
    assert_eq!(
        (fresh.purged_blobs, fresh.dropped_links),
        (0, 0),
        "{fresh:?}"
    );
    assert!(reg.blob_store().stat(&orphan).await.unwrap().is_some());

    clock.advance(3 * 3600 * 1000);
    let opts = GcOptions {
        delete_untagged: true,
        ..Default::default()
    };
    let dry = reg
        .collect_garbage(
            &GcOptions {
                dry_run: true,
                ..opts.clone()
            },
            &no_progress(),
        )
        .await
        .unwrap();
    assert_eq!(dry.purged_manifests, 1, "{dry:?}");
    // Stale orphan blob only: the untagged manifest still references its layers during the dry
    // run (a real run deletes it first, which makes its own blobs collectable the next run).
    assert_eq!(dry.purged_blobs, 1, "{dry:?}");
    assert_eq!(dry.freed_space, 700);
    assert!(
        reg.blob_store().stat(&orphan).await.unwrap().is_some(),
        "a dry run changes nothing"
    );

    let real = reg.collect_garbage(&opts, &no_progress()).await.unwrap();
    assert_eq!(real.purged_manifests, 1);
    assert!(reg.blob_store().stat(&orphan).await.unwrap().is_none());
    // The untagged artifact's unique layer and config are unlinked now (stale links), so they go.
    let unique = Digest::sha256_of(&data(12, 1500));
    assert!(
        reg.blob_store().stat(&unique).await.unwrap().is_none(),
        "{real:?}"
    );
    assert!(
        reg.metadata_store()
            .blob_size(&unique)
            .await
            .unwrap()
            .is_none()
    );
    // What is still referenced survives, byte for byte.
    let pulled = reg.pull_image(&iref("gc/app:keep")).await.unwrap();
    assert_eq!(pulled.digest, keep.digest);
    let bytes: Vec<Vec<u8>> = pulled.layers.iter().map(|l| l.data.to_vec()).collect();
    assert_eq!(bytes, vec![data(10, 3000), data(11, 2000)]);
    assert!(
        reg.get_manifest(&r, &Reference::Digest(gone.digest))
            .await
            .is_err()
    );
    assert_quotas_exact(reg).await;

    // A second run finds nothing; the dry run agrees.
    let again = reg
        .collect_garbage(
            &GcOptions {
                dry_run: true,
                ..opts.clone()
            },
            &no_progress(),
        )
        .await
        .unwrap();
    assert_eq!(
        (again.purged_manifests, again.purged_blobs),
        (0, 0),
        "{again:?}"
    );

    // A HEAD that answers "exists" counts as a use: the client may push the manifest next.
    let headed = reg
        .push_blob_bytes(&r, Bytes::from(data(14, 321)))
        .await
        .unwrap();
    clock.advance(3 * 3600 * 1000);
    assert_eq!(reg.head_blob(&r, &headed).await.unwrap(), 321);
    let kept = reg
        .collect_garbage(&GcOptions::default(), &no_progress())
        .await
        .unwrap();
    assert_eq!((kept.dropped_links, kept.purged_blobs), (0, 0), "{kept:?}");
    assert_eq!(reg.stat_blob(&r, &headed).await.unwrap(), 321);
    clock.advance(3 * 3600 * 1000);
    let gone = reg
        .collect_garbage(&GcOptions::default(), &no_progress())
        .await
        .unwrap();
    assert_eq!((gone.dropped_links, gone.purged_blobs), (1, 1), "{gone:?}");
    assert!(reg.blob_store().stat(&headed).await.unwrap().is_none());
}

/// With a grace period shorter than the minute a link goes untouched between HEADs, a HEAD
/// answered "exists" still protects its link for the whole grace period.
#[tokio::test]
async fn a_head_protects_its_link_through_a_short_grace_period() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let grace = Duration::from_secs(10);
    let env = sqlite_fs_with(clock.clone(), |b| b.gc_grace(grace)).await;
    let reg = env.reg.clone();
    project(&reg, "short", -1).await;
    let r = RepoName::parse("short/app").unwrap();
    let opts = GcOptions {
        grace_ms: grace.as_millis() as i64,
        ..GcOptions::default()
    };
    let headed = reg
        .push_blob_bytes(&r, Bytes::from(data(21, 123)))
        .await
        .unwrap();
    clock.advance(12_000);
    assert_eq!(reg.head_blob(&r, &headed).await.unwrap(), 123);
    clock.advance(9_000);
    let kept = reg.collect_garbage(&opts, &no_progress()).await.unwrap();
    assert_eq!((kept.dropped_links, kept.purged_blobs), (0, 0), "{kept:?}");
    assert_eq!(reg.stat_blob(&r, &headed).await.unwrap(), 123);
    // Without another HEAD, the link goes once the grace period (and the touch interval) ends.
    clock.advance(10_000);
    let gone = reg.collect_garbage(&opts, &no_progress()).await.unwrap();
    assert_eq!((gone.dropped_links, gone.purged_blobs), (1, 1), "{gone:?}");
}

#[tokio::test]
async fn gc_sqlite_fs() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let env = sqlite_fs(clock.clone()).await;
    gc_scenario(&env.reg, &clock).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn gc_postgres_s3() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let Some(env) = pg_s3(clock.clone()).await else {
        return;
    };
    gc_scenario(&env.reg, &clock).await;
}

/// Clients push (and untag) continuously while GC runs every 200 ms; afterwards every image
/// whose push succeeded pulls back byte-exact, and every unreferenced blob older than the last
/// run is gone from the database and the store.
async fn gc_under_load(reg: Registry) {
    project(&reg, "load", -1).await;
    let grace = Duration::from_millis(800);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Pushes that landed: the collector keeps running until enough did, however fast or slow
    // this machine is (no deadline on the wall clock decides what the test saw).
    let landed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut pushers = Vec::new();
    for w in 0..3u64 {
        let (reg, stop, landed) = (reg.clone(), stop.clone(), landed.clone());
        pushers.push(tokio::spawn(async move {
            let mut ok: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // One layer shared by every pusher, one shared with this pusher's previous image,
                // one new.
                let layers = vec![
                    data(7, 1500),
                    data(w * 1000 + i / 2, 1200),
                    data(w * 1_000_000 + i, 900),
                ];
                let tag = format!("load/p{w}:i{i}");
                match reg.push_image(&iref(&tag), image(&layers, &tag)).await {
                    Ok(_) => {
                        ok.push((tag, layers));
                        landed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e)
                        if matches!(
                            e.code(),
                            ErrorCode::ManifestBlobUnknown | ErrorCode::Unavailable
                        ) => {}
                    Err(e) => panic!("push {tag}: {e}"),
                }
                // Every other image is untagged again: garbage for the collector.
                if i.is_multiple_of(2)
                    && let Some((old, _)) = ok.pop()
                {
                    let r = iref(&old);
                    reg.delete_manifest(&r.repo, &r.reference).await.unwrap();
                }
            }
            ok
        }));
    }
    let mut runs = 0;
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    while runs < 5 || landed.load(Ordering::Relaxed) < 12 {
        assert!(
            std::time::Instant::now() < give_up,
            "pushes stalled: {} landed after {runs} collections",
            landed.load(Ordering::Relaxed)
        );
        let opts = GcOptions {
            grace_ms: grace.as_millis() as i64,
            delete_untagged: true,
            workers: 4,
            ..Default::default()
        };
        reg.collect_garbage(&opts, &no_progress()).await.unwrap();
        runs += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut pushed = Vec::new();
    for p in pushers {
        pushed.extend(p.await.unwrap());
    }
    assert!(
        pushed.len() >= 3 && runs >= 5,
        "{} images, {runs} runs",
        pushed.len()
    );
    for (tag, layers) in &pushed {
        let img = reg
            .pull_image(&iref(tag))
            .await
            .unwrap_or_else(|e| panic!("pull {tag}: {e}"));
        let got: Vec<Vec<u8>> = img.layers.iter().map(|l| l.data.to_vec()).collect();
        assert_eq!(&got, layers, "{tag} pulls back byte-exact");
    }
    // Everything unreferenced and older than the grace period before the final run goes (links
    // get the grace twice: a run adds the interval a HEAD leaves a link untouched, up to the
    // grace itself).
    tokio::time::sleep(2 * grace + Duration::from_millis(50)).await;
    let cutoff = chrono::Utc::now().timestamp_millis() - 2 * grace.as_millis() as i64;
    let doomed = reg
        .metadata_store()
        .gc_orphan_blobs(None, cutoff, 1_000_000, true)
        .await
        .unwrap();
    let opts = GcOptions {
        grace_ms: grace.as_millis() as i64,
        delete_untagged: true,
        ..Default::default()
    };
    reg.collect_garbage(&opts, &no_progress()).await.unwrap();
    for (digest, _) in &doomed {
        let d = Digest::parse(digest).unwrap();
        assert!(
            reg.blob_store().stat(&d).await.unwrap().is_none(),
            "{digest} bytes are gone"
        );
        assert!(
            reg.metadata_store().blob_size(&d).await.unwrap().is_none(),
            "{digest} row is gone"
        );
    }
    assert!(
        reg.metadata_store()
            .gc_orphan_blobs(None, cutoff, 10, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_quotas_exact(&reg).await;
    eprintln!(
        "gc under load: {} images kept, {runs} runs, {} blobs collected at the end",
        pushed.len(),
        doomed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gc_under_load_sqlite_fs() {
    let env = sqlite_fs(Arc::new(SystemClock)).await;
    gc_under_load(env.reg.clone()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL and S3 (BERTH_TEST_PG_URL, BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn gc_under_load_postgres_s3() {
    let Some(env) = pg_s3(Arc::new(SystemClock)).await else {
        return;
    };
    gc_under_load(env.reg.clone()).await;
}

// ---- job service -------------------------------------------------------------------------------

/// Fails its first `fail` attempts, counting runs.
struct Flaky {
    runs: Arc<AtomicUsize>,
    fail: usize,
}

#[async_trait::async_trait]
impl JobHandler for Flaky {
    fn max_attempts(&self) -> i64 {
        3
    }

    async fn run(&self, _reg: &Registry, task: &mut TaskContext) -> registry_core::Result<()> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        task.log(format_args!("run {n}"));
        task.set("run", n as i64);
        if n < self.fail {
            Err(registry_core::Error::Unavailable {
                reason: format!("failure {n}"),
            })
        } else {
            Ok(())
        }
    }
}

/// Waits until its execution is stopped, then gives up with an error, as a copy between two
/// blobs does.
struct GivesUpWhenStopped;

#[async_trait::async_trait]
impl JobHandler for GivesUpWhenStopped {
    async fn run(&self, _reg: &Registry, task: &mut TaskContext) -> registry_core::Result<()> {
        for _ in 0..600 {
            if task.stopped() {
                return Err(registry_core::Error::Conflict {
                    reason: "the execution was stopped".into(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_task_that_gives_up_on_a_stop_ends_stopped_not_failed() {
    let env = sqlite_fs(Arc::new(registry_core::clock::SystemClock)).await;
    let reg = env.reg.clone();
    reg.register_job("GIVES_UP", Arc::new(GivesUpWhenStopped));
    let id = reg
        .start_execution("GIVES_UP", 1, "MANUAL", serde_json::json!({}))
        .await
        .unwrap();
    let worker = {
        let reg = reg.clone();
        tokio::spawn(async move { reg.run_jobs_until_idle().await })
    };
    while reg.execution(id).await.unwrap().status != "Running" {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    reg.stop_execution(id).await.unwrap();
    // The running task learns of the stop at its next lease renewal (a third of the lease).
    assert_eq!(worker.await.unwrap().unwrap(), 1);
    assert_eq!(reg.execution(id).await.unwrap().status, "Stopped");
    let task = &reg.execution_tasks(id).await.unwrap()[0];
    assert_eq!(task.status, "Stopped");
    assert!(task.log.contains("stopped on request"), "{}", task.log);
}

async fn jobs_scenario(a: &Registry, b: &Registry, clock: &FakeClock) {
    // Retries with backoff.
    let runs = Arc::new(AtomicUsize::new(0));
    a.register_job(
        "FLAKY",
        Arc::new(Flaky {
            runs: runs.clone(),
            fail: 2,
        }),
    );
    let id = a
        .start_execution("FLAKY", 7, "MANUAL", serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(a.run_jobs_until_idle().await.unwrap(), 1);
    assert_eq!(
        a.execution(id).await.unwrap().status,
        "Running",
        "waiting for its retry"
    );
    assert_eq!(
        a.run_jobs_until_idle().await.unwrap(),
        0,
        "not before the backoff"
    );
    clock.advance(1_000);
    assert_eq!(a.run_jobs_until_idle().await.unwrap(), 1);
    clock.advance(2_000);
    assert_eq!(a.run_jobs_until_idle().await.unwrap(), 1);
    let e = a.execution(id).await.unwrap();
    assert_eq!(e.status, "Success");
    let tasks = a.execution_tasks(id).await.unwrap();
    assert_eq!(tasks[0].attempts, 3);
    assert!(
        tasks[0].log.contains("retrying") && tasks[0].log.contains("run 2"),
        "{}",
        tasks[0].log
    );

    // A schedule fires once across two nodes, and its task runs once.
    let count = Arc::new(AtomicUsize::new(0));
    for reg in [a, b] {
        reg.register_job(
            "TICK",
            Arc::new(Flaky {
                runs: count.clone(),
                fail: 0,
            }),
        );
    }
    a.set_schedule("TICK", 0, "0 * * * * *", serde_json::json!({"k": 1}))
        .await
        .unwrap();
    assert_eq!(
        a.fire_due_schedules().await.unwrap() + b.fire_due_schedules().await.unwrap(),
        0,
        "not due yet"
    );
    clock.advance(61_000);
    let (fa, fb) = tokio::join!(a.fire_due_schedules(), b.fire_due_schedules());
    assert_eq!(
        fa.unwrap() + fb.unwrap(),
        1,
        "one occurrence, one execution"
    );
    let (ra, rb) = tokio::join!(a.run_jobs_until_idle(), b.run_jobs_until_idle());
    assert_eq!(ra.unwrap() + rb.unwrap(), 1);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let page = a
        .executions("TICK", Some(0), &Default::default())
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.items[0].trigger_kind.as_str()),
        (1, "SCHEDULE")
    );

    // A task whose node died is taken over once its lease runs out.
    let id = a
        .start_execution("TICK", 1, "MANUAL", serde_json::json!({}))
        .await
        .unwrap();
    let claimed = a
        .metadata_store()
        .claim_task("dead-node", clock.now_ms(), 30_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.execution_id, id);
    assert_eq!(
        b.run_jobs_until_idle().await.unwrap(),
        0,
        "leased to the dead node"
    );
    clock.advance(31_000);
    assert_eq!(b.run_jobs_until_idle().await.unwrap(), 1);
    assert_eq!(b.execution(id).await.unwrap().status, "Success");

    // Stopping stops pending tasks.
    let id = a
        .start_execution("TICK", 2, "MANUAL", serde_json::json!({}))
        .await
        .unwrap();
    a.stop_execution(id).await.unwrap();
    assert_eq!(a.execution(id).await.unwrap().status, "Stopped");
    assert_eq!(a.run_jobs_until_idle().await.unwrap(), 0);
    assert_eq!(
        a.stop_execution(id).await.unwrap_err().code(),
        ErrorCode::PreconditionFailed
    );

    // GC as a job: history, parameters and results.
    let gc = a
        .start_gc(
            &GcOptions {
                dry_run: true,
                ..Default::default()
            },
            "MANUAL",
        )
        .await
        .unwrap();
    assert_eq!(
        a.start_gc(&GcOptions::default(), "MANUAL")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Conflict
    );
    a.run_jobs_until_idle().await.unwrap();
    let run = a.gc_run(&Principal::System, gc).await.unwrap();
    assert_eq!(run.job_status, "Success");
    let params: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&run.job_parameters).unwrap();
    assert_eq!(params["dry_run"], true);
    assert!(params.contains_key("freed_space"));
    assert!(
        a.gc_log(&Principal::System, gc)
            .await
            .unwrap()
            .contains("would delete")
    );
    assert_eq!(
        a.gc_history(&Principal::Anonymous, &Default::default())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
}

#[tokio::test]
async fn jobs_sqlite() {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("j.db").display());
    let open = || async {
        let meta = registry_core::registry::open_metadata(&db).await.unwrap();
        let blobs = registry_core::registry::open_blobs("memory://")
            .await
            .unwrap();
        Registry::builder()
            .meta(meta)
            .blobs(blobs)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (open().await, open().await);
    jobs_scenario(&a, &b, &clock).await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL (BERTH_TEST_PG_URL); tests/run.sh starts it and runs ignored tests"]
async fn jobs_postgres_two_nodes() {
    let Some(admin) = service_url("BERTH_TEST_PG_URL") else {
        return;
    };
    let s3 = service_url("BERTH_TEST_S3_URL").unwrap();
    let url = fresh_pg_database(&admin).await;
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let a = pg_s3_at(&url, &s3, clock.clone()).await;
    let b = pg_s3_at(&url, &s3, clock.clone()).await;
    jobs_scenario(&a, &b, &clock).await;
}
