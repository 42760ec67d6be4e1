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
