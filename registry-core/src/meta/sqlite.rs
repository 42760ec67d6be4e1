//! SQLite metadata store (`sqlite://path/to/berth.db`), the embedded default. WAL journal,
//! `synchronous=NORMAL`, foreign keys on; write transactions take the lock up front
//! (`BEGIN IMMEDIATE`) so concurrent writers queue on the busy timeout instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::sync::Arc;

use sqlx::{Sqlite, SqlitePool};

use super::sql::WriteTx;

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
/// connection writes. Reads use a pool of their own connections, which WAL mode lets run beside
/// the writer. One process owns the file (several nodes use PostgreSQL); the busy timeout still
/// covers anything else that opens it.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    /// For `memory://`: a connection that is never used, so the in-memory database lives as long
    /// as the store even when the pool replaces its connection (a query cancelled mid-flight
    /// closes it, and the last connection closing would drop the database).
    _anchor: Option<Arc<tokio::sync::Mutex<sqlx::SqliteConnection>>>,
}

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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // Writers queue here; a long garbage collection pass may keep one waiting a while.
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(Self {
            pool,
            writer,
            _anchor: None,
        })
    }

    /// Writes outside transactions go through the writer connection too.
    fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    async fn begin_write(&self) -> Result<WriteTx<Db>> {
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)?;
        Ok(WriteTx::new(tx))
    }
}

/// Row locking for job claims: one writer needs none.
const SKIP_LOCKED: &str = "";

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
            writer: pool.clone(),
            pool,
            _anchor: Some(Arc::new(tokio::sync::Mutex::new(anchor))),
        })
    }
}
