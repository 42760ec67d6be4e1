//! The shared suites (`registry_core::testkit`) on every blob and metadata backend.

use std::sync::Arc;

use registry_core::blob::BlobStore;
use registry_core::blob::fs::FsBlobStore;
use registry_core::blob::memory::MemoryBlobStore;
use registry_core::meta::MetadataStore;
use registry_core::meta::postgres::PostgresStore;
use registry_core::meta::sqlite::SqliteStore;
use registry_core::testkit;

use crate::service_url;

#[tokio::test]
async fn blob_suite_memory() {
    testkit::blob::run_all(&MemoryBlobStore::new()).await;
}

#[tokio::test]
async fn blob_suite_fs() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).unwrap();
    testkit::blob::run_all(&store).await;
    // Through the trait object too, as the registry uses it.
    let dynamic: Arc<dyn BlobStore> = Arc::new(store);
    testkit::blob::chunked_upload_in_order(dynamic.as_ref()).await;
}

/// The object-store backend over object_store's in-memory store: its chunk and publish logic
/// without a server (the S3 run below covers the real protocol).
#[tokio::test]
async fn blob_suite_object_store_in_memory() {
    let inner = Arc::new(object_store::memory::InMemory::new());
    let store = registry_core::blob::object::ObjectBlobStore::new(inner, "prefix", "memory");
    testkit::blob::run_all(&store).await;
}

#[tokio::test]
#[ignore = "needs an S3 server (BERTH_TEST_S3_URL); tests/run.sh starts it and runs ignored tests"]
async fn blob_suite_s3() {
    let Some(base) = service_url("BERTH_TEST_S3_URL") else {
        return;
    };
    // A fresh prefix per run: s3://bucket/<prefix>?endpoint=…
    let mut url = url::Url::parse(&base).unwrap();
    url.set_path(&format!("/suite-{}", uuid::Uuid::new_v4().simple()));
    let store = registry_core::blob::object::ObjectBlobStore::open_s3(&url).unwrap();
    testkit::blob::run_all(&store).await;
}

#[tokio::test]
async fn meta_suite_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    // The parent directory does not exist yet: opening creates it.
    let url = format!("sqlite://{}", dir.path().join("nested/dir/t.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    testkit::meta::run_all(&store).await;
    // Reopening runs migrations again harmlessly and keeps the data.
    let again = SqliteStore::open(&url).await.unwrap();
    let r = registry_core::oci::RepoName::parse("tags/app").unwrap();
    assert!(again.repo_exists(&r).await.unwrap());
}

#[tokio::test]
async fn meta_suite_sqlite_memory() {
    testkit::meta::run_all(&SqliteStore::open_memory().await.unwrap()).await;
}

/// A throw-away database on the test cluster.
pub async fn fresh_pg_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("berth_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let mut url = url::Url::parse(admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

#[tokio::test]
#[ignore = "needs PostgreSQL (BERTH_TEST_PG_URL); tests/run.sh starts it and runs ignored tests"]
async fn meta_suite_postgres() {
    let Some(admin) = service_url("BERTH_TEST_PG_URL") else {
        return;
    };
    let url = fresh_pg_database(&admin).await;
    let store = PostgresStore::open(&url).await.unwrap();
    testkit::meta::run_all(&store).await;
    let dynamic: Arc<dyn MetadataStore> = Arc::new(PostgresStore::open(&url).await.unwrap());
    testkit::meta::upload_sessions(dynamic.as_ref()).await;
}

/// An object store that records the requests made to it, over object_store's in-memory store.
#[derive(Debug, Default)]
struct Recording {
    inner: object_store::memory::InMemory,
    requests: std::sync::Mutex<Vec<&'static str>>,
}

impl Recording {
    fn record(&self, what: &'static str) {
        self.requests.lock().unwrap().push(what);
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

impl std::fmt::Display for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recording({})", self.inner)
    }
}

#[async_trait::async_trait]
impl object_store::ObjectStore for Recording {
    async fn put_opts(
        &self,
        location: &object_store::path::Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.record("PUT");
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &object_store::path::Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.record("multipart");
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &object_store::path::Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.record(if options.head { "HEAD" } else { "GET" });
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<
            'static,
            object_store::Result<object_store::path::Path>,
        >,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::path::Path>> {
        self.record("DELETE");
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.record("LIST");
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&object_store::path::Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.record("LIST");
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &object_store::path::Path,
        to: &object_store::path::Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.record("COPY");
        self.inner.copy_opts(from, to, options).await
    }
}

/// The object-store requests behind one blob, asserted exactly like the SQL statement counts:
/// on S3 each is a round trip, so an added one shows up here.
#[tokio::test]
async fn object_store_requests_per_blob() {
    use registry_core::oci::{Algorithm, Digest, Hasher};
    let recording = Arc::new(Recording::default());
    let store = registry_core::blob::object::ObjectBlobStore::new(recording.clone(), "", "memory");
    let small = testkit::data(1, 5_000);
    let d = Digest::sha256_of(&small);
    let chunks = || futures::stream::iter(testkit::chunks(&small, 1_000));

    // A whole small blob in one stream (monolithic POST ?digest=): held in memory, one PUT.
    let (whole, hasher) = store
        .stage_whole("w1", &mut chunks(), Hasher::new(Algorithm::Sha256))
        .await
        .unwrap();
    assert_eq!(hasher.finish(), d);
    store.commit_whole("w1", whole, &d).await.unwrap();
    assert_eq!(recording.take(), ["PUT"], "monolithic small blob");

    // A session (POST, PATCH, PUT): the PATCH lists what is staged and writes a chunk; the PUT
    // lists once, copies the single chunk into place and deletes it.
    store.append("s1", 0, &mut chunks()).await.unwrap();
    store.commit("s1", small.len() as u64, &d).await.unwrap();
    assert_eq!(
        recording.take(),
        ["LIST", "PUT", "LIST", "COPY", "DELETE"],
        "session upload of a small blob"
    );

    // A whole blob past one multipart part streams into one staged object, copied once the
    // blob is known to be missing.
    let large = testkit::data(2, 9 * 1024 * 1024);
    let dl = Digest::sha256_of(&large);
    let mut s = futures::stream::iter(testkit::chunks(&large, 256 * 1024));
    let (whole, _) = store
        .stage_whole("w2", &mut s, Hasher::new(Algorithm::Sha256))
        .await
        .unwrap();
    assert_eq!(whole.size, large.len() as u64);
    store.commit_whole("w2", whole, &dl).await.unwrap();
    assert_eq!(
        recording.take(),
        ["multipart", "LIST", "HEAD", "COPY", "DELETE"],
        "monolithic large blob"
    );
    assert_eq!(store.stat(&dl).await.unwrap(), Some(large.len() as u64));
    assert!(
        store.list_uploads().await.unwrap().is_empty(),
        "nothing left staged"
    );
}

const MIB: usize = 1 << 20;

/// A client's body: `data` in 256 KiB chunks, each after a yield so concurrent uploads
/// interleave, then (with `stall`) no end: the client stops sending but keeps the connection.
fn client_body(
    data: &[u8],
    stall: bool,
) -> impl futures::Stream<Item = registry_core::Result<bytes::Bytes>> + Send + Unpin + use<> {
    use futures::StreamExt;
    let sent = futures::stream::iter(testkit::chunks(data, 256 * 1024)).then(|c| async {
        tokio::task::yield_now().await;
        c
    });
    let tail = if stall {
        futures::stream::pending().left_stream()
    } else {
        futures::stream::empty().right_stream()
    };
    Box::pin(sent.chain(tail))
}

async fn staged_bytes(
    store: &registry_core::blob::object::ObjectBlobStore,
    id: &str,
    size: u64,
) -> Vec<u8> {
    use futures::StreamExt;
    let mut s = store.read_staged(id, size).await.unwrap();
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

/// A store over object_store's in-memory store with a budget of `budget` bytes, and the inner
/// store (to count what is staged).
fn budgeted_store(
    budget: usize,
) -> (
    Arc<object_store::memory::InMemory>,
    Arc<registry_core::blob::object::ObjectBlobStore>,
) {
    let inner = Arc::new(object_store::memory::InMemory::new());
    let store = Arc::new(
        registry_core::blob::object::ObjectBlobStore::new(inner.clone(), "", "memory")
            .with_buffer_budget(budget),
    );
    (inner, store)
}

/// A client that appends `data` to upload `id` and then stops sending without ending its body.
fn spawn_stalled(
    store: &Arc<registry_core::blob::object::ObjectBlobStore>,
    id: String,
    data: Vec<u8>,
) -> tokio::task::JoinHandle<registry_core::Result<u64>> {
    let client = store.clone();
    tokio::spawn(async move { client.append(&id, 0, &mut client_body(&data, true)).await })
}

/// Objects staged under one upload.
async fn pieces(inner: &object_store::memory::InMemory, id: &str) -> usize {
    use futures::StreamExt;
    let prefix = object_store::path::Path::from(format!("uploads/{id}"));
    object_store::ObjectStore::list(inner, Some(&prefix))
        .count()
        .await
}

/// Twelve concurrent 5 MiB uploads (sessions and whole blobs) through a 16 MiB budget: they
/// wait, or write what they hold as separate pieces, never deadlock, and stage and publish every
/// byte in order; nothing stays counted afterwards. (Whether one is split depends on timing;
/// the tests below split them deterministically.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_budget_bounds_concurrent_uploads() {
    use registry_core::oci::{Algorithm, Digest, Hasher};
    let (inner, store) = budgeted_store(16 * MIB);
    let mut tasks = Vec::new();
    for i in 0..12u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let data = testkit::data(100 + i, 5 * MIB + i as usize);
            let d = Digest::sha256_of(&data);
            let id = format!("u{i}");
            if i % 2 == 0 {
                let end = store
                    .append(&id, 0, &mut client_body(&data, false))
                    .await
                    .unwrap();
                assert_eq!(end, data.len() as u64);
                assert!(
                    staged_bytes(&store, &id, end).await == data,
                    "{id}: staged bytes differ"
                );
                store.commit(&id, end, &d).await.unwrap();
            } else {
                let (whole, hasher) = store
                    .stage_whole(
                        &id,
                        &mut client_body(&data, false),
                        Hasher::new(Algorithm::Sha256),
                    )
                    .await
                    .unwrap();
                assert_eq!(hasher.finish(), d, "{id}: hashed in order");
                assert_eq!(whole.size, data.len() as u64);
                store.commit_whole(&id, whole, &d).await.unwrap();
            }
            (i, data, d)
        }));
    }
    let mut cleaned = 0;
    for t in tasks {
        let (i, data, d) = tokio::time::timeout(std::time::Duration::from_secs(60), t)
            .await
            .expect("uploads deadlocked on the budget")
            .unwrap();
        let back = registry_core::blob::collect(store.get(&d, None).await.unwrap(), 6 * MIB)
            .await
            .unwrap();
        assert!(back == data, "u{i}: published bytes differ");
        cleaned += usize::from(pieces(&inner, &format!("u{i}")).await == 0);
    }
    assert_eq!(
        cleaned, 12,
        "every upload's pieces were dropped once published"
    );
    assert_eq!(store.buffered(), 0, "nothing stays counted");
    assert!(store.list_uploads().await.unwrap().is_empty());
}

/// Clients that send some content and then stop sending (a slow or hostile client) keep none
/// of the budget after [`HOLD_MAX`]: what they sent is written out, the budget is free, and a
/// new upload goes through while they still hang.
#[tokio::test(start_paused = true)]
async fn object_store_stalled_clients_keep_no_budget() {
    let (_, store) = budgeted_store(16 * MIB);
    // One client past a part (its multipart upload holds a part), four with smaller heads.
    let sizes = [10 * MIB, 2 * MIB, 2 * MIB, 3 * MIB, 2 * MIB];
    let mut stalled = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let data = testkit::data(300 + i as u64, len);
        stalled.push(spawn_stalled(&store, format!("st{i}"), data));
        if i == 0 {
            // Alone, the first one gets past its first part before the others start.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert!(store.buffered() > 8 * MIB, "{}", store.buffered());
        }
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        store.buffered() > 0,
        "the stalled clients' content is still held"
    );
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    assert_eq!(store.buffered(), 0, "stalled clients still hold budget");
    for (i, &len) in sizes.iter().enumerate() {
        let data = testkit::data(300 + i as u64, len);
        assert!(
            staged_bytes(&store, &format!("st{i}"), len as u64).await == data,
            "st{i}: what the client sent was not written out"
        );
    }
    // A new upload needs the whole budget's worth in turn and gets it.
    let data = testkit::data(400, 12 * MIB);
    let end = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.append("fresh", 0, &mut client_body(&data, false)),
    )
    .await
    .expect("a new upload waited on budget held by stalled clients")
    .unwrap();
    assert_eq!(end, data.len() as u64);
    assert!(staged_bytes(&store, "fresh", end).await == data);
    assert!(
        stalled.iter().all(|t| !t.is_finished()),
        "the stalled clients still hang"
    );
    for t in stalled {
        t.abort();
    }
}

/// A small whole blob held in memory counts against the budget until it is published.
#[tokio::test]
async fn object_store_held_whole_blob_counts_until_published() {
    use registry_core::oci::{Algorithm, Digest, Hasher};
    let inner = Arc::new(object_store::memory::InMemory::new());
    let store = registry_core::blob::object::ObjectBlobStore::new(inner, "", "memory");
    let small = testkit::data(5, 5_000);
    let d = Digest::sha256_of(&small);
    let (whole, _) = store
        .stage_whole(
            "h1",
            &mut client_body(&small, false),
            Hasher::new(Algorithm::Sha256),
        )
        .await
        .unwrap();
    assert!(whole.held.is_some());
    assert_eq!(store.buffered(), 5_000);
    store.commit_whole("h1", whole, &d).await.unwrap();
    assert_eq!(store.buffered(), 0);
}

/// `buffer_mib=` in an `s3://` URL sets the budget; anything but a size is refused.
#[test]
fn object_store_buffer_budget_from_the_url() {
    let ok =
        url::Url::parse("s3://b/p?endpoint=http://127.0.0.1:9/&region=x&buffer_mib=32").unwrap();
    let store = registry_core::blob::object::ObjectBlobStore::open_s3(&ok).unwrap();
    assert_eq!(store.buffered(), 0);
    for bad in ["abc", "-1", "99999999999999999999"] {
        let url = url::Url::parse(&format!(
            "s3://b/p?endpoint=http://127.0.0.1:9/&buffer_mib={bad}"
        ))
        .unwrap();
        let err = registry_core::blob::object::ObjectBlobStore::open_s3(&url).unwrap_err();
        assert!(err.to_string().contains("buffer_mib"), "{bad}: {err}");
    }
}

/// Two clients send `hold` bytes each through a 16 MiB budget and stall; then one upload of
/// `len` bytes goes through beside them: the number of objects it was staged as (its bytes are
/// checked, in order).
async fn staged_beside_two_stalled(seed: u64, hold: usize, len: usize) -> usize {
    let (inner, store) = budgeted_store(16 * MIB);
    let mut stalled = Vec::new();
    for i in 0..2u64 {
        let data = testkit::data(seed + i, hold);
        stalled.push(spawn_stalled(&store, format!("hold{i}"), data));
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(store.buffered(), 2 * hold);
    let data = testkit::data(seed + 10, len);
    let end = store
        .append("up", 0, &mut client_body(&data, false))
        .await
        .unwrap();
    assert_eq!(end, data.len() as u64);
    assert!(staged_bytes(&store, "up", end).await == data);
    for t in stalled {
        t.abort();
    }
    pieces(&inner, "up").await
}

/// An upload that cannot hold a whole 8 MiB part (two stalled clients hold 10 of the 16 MiB)
/// but holds 5 MiB or more streams into one multipart upload with parts of what it holds: one
/// staged object, nothing to concatenate later.
#[tokio::test(start_paused = true)]
async fn object_store_short_budget_streams_smaller_parts() {
    let staged = staged_beside_two_stalled(500, 5 * MIB, 20 * MIB).await;
    assert_eq!(staged, 1, "staged as one object");
}

/// Clients past a part that then stop sending give back their admission too, once their
/// multipart uploads are closed: four of them (all the admissions a 16 MiB budget has) do not
/// keep a new upload out.
#[tokio::test(start_paused = true)]
async fn object_store_stalled_clients_keep_no_admission() {
    let (_, store) = budgeted_store(16 * MIB);
    let mut stalled = Vec::new();
    for i in 0..4u64 {
        let data = testkit::data(600 + i, 10 * MIB);
        stalled.push(spawn_stalled(&store, format!("past{i}"), data));
        // One at a time, so each has the budget to get past its first part.
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    }
    assert_eq!(store.buffered(), 0);
    for i in 0..4u64 {
        let data = testkit::data(600 + i, 10 * MIB);
        assert!(staged_bytes(&store, &format!("past{i}"), data.len() as u64).await == data);
    }
    let data = testkit::data(610, 3 * MIB);
    let end = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        store.append("after", 0, &mut client_body(&data, false)),
    )
    .await
    .expect("a new upload waited on admissions held by stalled clients")
    .unwrap();
    assert_eq!(end, data.len() as u64);
    assert!(stalled.iter().all(|t| !t.is_finished()));
    for t in stalled {
        t.abort();
    }
}

/// An upload that finds the budget spent for 250 ms while it holds less than 5 MiB writes what
/// it holds as a piece of its own and goes on (two stalled clients hold 14 of the 16 MiB).
#[tokio::test(start_paused = true)]
async fn object_store_short_budget_writes_pieces() {
    let staged = staged_beside_two_stalled(700, 7 * MIB, 4 * MIB).await;
    assert!(staged >= 2, "written in pieces");
}

/// On a slow bucket (every part takes 3 s, longer than [`HOLD_MAX`]) an upload that waits for
/// its own parts in flight is not mistaken for a stalled client: a client that keeps sending
/// is staged as one multipart object, not closed into pieces after each wait.
#[tokio::test(start_paused = true)]
async fn object_store_slow_bucket_keeps_one_multipart_upload() {
    use object_store::throttle::{ThrottleConfig, ThrottledStore};
    let inner = Arc::new(object_store::memory::InMemory::new());
    let slow = ThrottledStore::new(
        inner.clone(),
        ThrottleConfig {
            wait_put_per_call: std::time::Duration::from_secs(3),
            ..Default::default()
        },
    );
    let store = registry_core::blob::object::ObjectBlobStore::new(Arc::new(slow), "", "slow")
        .with_buffer_budget(32 * MIB);
    let data = testkit::data(800, 60 * MIB);
    let end = store
        .append("slow", 0, &mut client_body(&data, false))
        .await
        .unwrap();
    assert_eq!(end, data.len() as u64);
    assert_eq!(pieces(&inner, "slow").await, 1, "staged as one object");
    assert!(staged_bytes(&store, "slow", end).await == data);
    assert_eq!(store.buffered(), 0);
}
