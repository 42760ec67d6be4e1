//! SQLite metadata store (`sqlite://path/to/berth.db`), the embedded default. WAL journal,
//! `synchronous=NORMAL`, foreign keys on; write transactions take the lock up front
//! (`BEGIN IMMEDIATE`) so concurrent writers queue on the busy timeout instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;

use sqlx::{Sqlite, SqlitePool};

use super::sql::{Exclusive, WriteConn, WriteTx};

use super::{ManifestRecord, Referrer, StoredManifest, UploadSession};
use crate::error::{Error, Result};
use crate::oci::{Digest, RefKind, Reference, RepoName};

type Db = Sqlite;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Metadata in one SQLite file.
///
/// SQLite has one writer at a time, so the store has one writer connection: every write and
/// write transaction queues for it (in order), instead of meeting the others in SQLite's busy
/// handler, whose sleeps grow to 100 ms per retry. Its page cache stays warm, since no other
/// connection writes. It sits behind a mutex rather than in a pool of one: a pool checks a
/// connection it gets back with a round trip to the connection's thread, from a task of its
/// own, before the next writer may have it, and that wait was part of every write.
///
/// Reads use a pool of their own connections, which WAL mode lets run beside the writer. One
/// process owns the file (several nodes use PostgreSQL); the busy timeout still covers anything
/// else that opens it.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    /// For `memory://`: a connection that is never used, so the in-memory database lives as long
    /// as the store even when the pool replaces its connection (a query cancelled mid-flight
    /// closes it, and the last connection closing would drop the database).
    _anchor: Option<Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>>,
}

/// The writer connection: its own (a file), or the one pooled connection (`memory://`).
///
/// Unlike a pool, the mutex does not replace a connection whose thread died (a panic inside
/// sqlx): writes would then fail until the process restarts. Checking for that on every write
/// is the round trip this avoids.
#[derive(Debug, Clone)]
enum Writer {
    Own(Arc<tokio::sync::Mutex<Exclusive<sqlx::SqliteConnection>>>),
    Pool(SqlitePool),
}

/// How long a write waits for the writer connection; a long garbage collection pass may keep
/// one waiting a while.
const WRITER_WAIT: Duration = Duration::from_secs(120);

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite://…` or a plain path) and run
    /// the embedded migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let opts = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(db_err)?
        } else {
            SqliteConnectOptions::new().filename(url)
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true);
        if let Some(parent) = opts.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::Metadata {
                backend: "sqlite",
                source: format!("creating {}: {e}", parent.display()).into(),
            })?;
        }
        // A local file does not hang up: pinging on every acquire would add a round trip to
        // the connection's worker thread to every query.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await
            .map_err(db_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| Error::Metadata {
            backend: "sqlite",
            source: Box::new(e),
        })?;
        let writer = sqlx::ConnectOptions::connect(&opts).await.map_err(db_err)?;
        Ok(Self {
            pool,
            writer: Writer::Own(Arc::new(tokio::sync::Mutex::new(Exclusive {
                conn: writer,
                unfinished: false,
            }))),
            _anchor: None,
        })
    }

    /// The writer connection, for writes outside transactions too; held until dropped.
    async fn write_conn(&self) -> Result<WriteConn<Db>> {
        match &self.writer {
            Writer::Own(conn) => {
                let conn = tokio::time::timeout(WRITER_WAIT, conn.clone().lock_owned())
                    .await
                    .map_err(|_| db_err(sqlx::Error::PoolTimedOut))?;
                Ok(WriteConn::own(conn).await)
            }
            Writer::Pool(pool) => Ok(WriteConn::Pool(pool.acquire().await.map_err(db_err)?)),
        }
    }

    async fn begin_write(&self) -> Result<WriteTx<Db>> {
        let conn = self.write_conn().await?;
        WriteTx::begin(conn, Some("BEGIN IMMEDIATE"))
            .await
            .map_err(db_err)
    }

    /// A transaction whose statements all go through batches: its `BEGIN` and `COMMIT` go out
    /// with the first and the last ([`WriteTx::begin_batched`]).
    async fn begin_batched(&self) -> Result<WriteTx<Db>> {
        let conn = self.write_conn().await?;
        WriteTx::begin_batched(conn, Some("BEGIN IMMEDIATE"))
            .await
            .map_err(db_err)
    }
}

/// Row locking for job claims: one writer needs none.
const SKIP_LOCKED: &str = "";

/// One writer holds the whole database: where a transaction takes the quota row only decides
/// its round trips, and row locks are not taken at all ("Lock order" in `sql.rs`).
const QUOTA_LAST: bool = false;
const FOR_KEY_SHARE: &str = "";
const FOR_UPDATE: &str = "";

/// How an artifact listing starts from the digests a tag filter selected, a CTE `mt(d)` of
/// distinct digests (see `list_artifacts`). SQLite keeps a `CROSS JOIN`'s order: it looks up
/// those digests instead of walking every manifest of the repository in sort order.
const FROM_TAGGED: (&str, &str) = (
    "FROM mt CROSS JOIN manifests m WHERE m.repo_id = ",
    " AND m.digest = mt.d",
);

/// Repository search walks the names in order (no index finds a substring on SQLite).
const SEARCH_CANDIDATES: Option<i64> = None;

super::governance_sql::sql_governance_store!(SqliteStore);
super::audit_sql::sql_audit_store!(SqliteStore);
super::identity_sql::sql_identity_store!(SqliteStore);
super::policy_sql::sql_policy_store!(SqliteStore);
super::scan_sql::sql_scan_store!(SqliteStore);
super::replication_sql::sql_replication_store!(SqliteStore);
super::sql::sql_metadata_store!(SqliteStore, "sqlite");

impl SqliteStore {
    /// A private in-memory database (`memory://`). One connection that never closes, since
    /// every SQLite connection to `:memory:` is its own database.
    pub async fn open_memory() -> Result<Self> {
        // sqlx names each `sqlite::memory:` database uniquely and opens it in shared-cache mode,
        // so every connection with these options reaches the same database.
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db_err)?
            .foreign_keys(true);
        let anchor = sqlx::ConnectOptions::connect(&opts).await.map_err(db_err)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        MIGRATOR.run(&pool).await.map_err(|e| Error::Metadata {
            backend: "sqlite",
            source: Box::new(e),
        })?;
        // One connection reads and writes.
        Ok(Self {
            writer: Writer::Pool(pool.clone()),
            pool,
            _anchor: Some(Arc::new(tokio::sync::Mutex::new(anchor))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt as _;
    use sqlx_core::transaction::TransactionManager as _;

    async fn settings(store: &SqliteStore) -> Vec<String> {
        sqlx::query_scalar("SELECT key FROM settings WHERE key LIKE 'wtx-%' ORDER BY key")
            .fetch_all(&store.pool)
            .await
            .unwrap()
    }

    async fn write(store: &SqliteStore, key: String) -> Result<()> {
        let mut tx = store.begin_write().await?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, 'x')")
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    /// Two rows in a batched transaction: `BEGIN` with the first, `COMMIT` with the second.
    async fn write_batched(store: &SqliteStore, key: String) -> Result<()> {
        let mut tx = store.begin_batched().await?;
        let mut first = tx.batch();
        first
            .push("INSERT INTO settings (key, value) VALUES (")
            .push_bind(key.clone())
            .push(", 'x')");
        first.run(&mut tx).await.map_err(db_err)?;
        let mut last = super::super::sql::Batch::new();
        last.push("INSERT INTO settings (key, value) VALUES (")
            .push_bind(format!("{key}-2"))
            .push(", 'x')");
        tx.commit_with(last).await.map_err(db_err)
    }

    /// The writer connection outlives every transaction on it: one dropped unfinished, or
    /// cancelled at any await, leaves nothing behind and the connection ready for the next.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unfinished_write_transactions_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("t.db").to_str().unwrap())
            .await
            .unwrap();

        let mut tx = store.begin_write().await.unwrap();
        sqlx::query("INSERT INTO settings (key, value) VALUES ('wtx-dropped', 'x')")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx);
        write(&store, "wtx-a".into()).await.unwrap();
        assert_eq!(settings(&store).await, ["wtx-a"]);

        // A batched one dropped after its first batch: the next holder rolls it back.
        let mut tx = store.begin_batched().await.unwrap();
        let mut b = tx.batch();
        b.push("INSERT INTO settings (key, value) VALUES ('wtx-dropped-b', 'x')");
        b.run(&mut tx).await.unwrap();
        drop(tx);
        write(&store, "wtx-b".into()).await.unwrap();
        assert_eq!(settings(&store).await, ["wtx-a", "wtx-b"]);

        // Cancelled after 0, 1, 2… polls: before BEGIN, between statements, around COMMIT;
        // either kind of transaction.
        let mut committed = Vec::new();
        for batched in [false, true] {
            for polls in 0..16 {
                let key = format!("wtx-c{}{polls:02}", u8::from(batched));
                let mut fut = if batched {
                    write_batched(&store, key.clone()).boxed()
                } else {
                    write(&store, key.clone()).boxed()
                };
                let mut done = None;
                for _ in 0..polls {
                    match futures::poll!(fut.as_mut()) {
                        std::task::Poll::Ready(r) => {
                            done = Some(r);
                            break;
                        }
                        // Time for the connection's thread to answer between polls.
                        std::task::Poll::Pending => {
                            tokio::time::sleep(std::time::Duration::from_micros(100)).await;
                        }
                    }
                }
                if let Some(r) = done {
                    r.unwrap();
                    committed.push(key);
                }
            }
        }
        write(&store, "wtx-z".into()).await.unwrap();
        let keys = settings(&store).await;
        // Each cancelled one either committed whole (its COMMIT had been sent) or left nothing.
        for key in &committed {
            assert!(keys.contains(key), "{key} committed but missing: {keys:?}");
        }
        assert!(keys.contains(&"wtx-z".to_owned()) && !keys.contains(&"wtx-dropped".to_owned()));
        // A batched one: both rows or neither.
        for key in keys
            .iter()
            .filter(|k| k.starts_with("wtx-c1") && !k.ends_with("-2"))
        {
            assert!(
                keys.contains(&format!("{key}-2")),
                "{key} without its second row: {keys:?}"
            );
        }
        // One left to finish (however slow the machine) commits both rows.
        write_batched(&store, "wtx-full".into()).await.unwrap();
        let keys = settings(&store).await;
        assert!(keys.contains(&"wtx-full".to_owned()) && keys.contains(&"wtx-full-2".to_owned()));
        let mut conn = store.write_conn().await.unwrap();
        let depth = <Db as sqlx::Database>::TransactionManager::get_transaction_depth(&conn);
        assert_eq!(depth, 0, "no transaction left open on the writer");
        // Nor one begun inside a batch: BEGIN would fail inside a transaction.
        sqlx::raw_sql("BEGIN IMMEDIATE; ROLLBACK")
            .execute(&mut *conn)
            .await
            .expect("no transaction left open on the writer");
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM settings WHERE key = 'wtx-z'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
