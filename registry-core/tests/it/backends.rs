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
        ["multipart", "HEAD", "COPY", "DELETE"],
        "monolithic large blob"
    );
    assert_eq!(store.stat(&dl).await.unwrap(), Some(large.len() as u64));
    assert!(
        store.list_uploads().await.unwrap().is_empty(),
        "nothing left staged"
    );
}
