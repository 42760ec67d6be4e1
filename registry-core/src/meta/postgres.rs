//! PostgreSQL metadata store (`postgres://…`), for several Berth nodes sharing one database.
//! Migrations take PostgreSQL's advisory lock, so nodes starting together are safe.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::sql::{WriteConn, WriteTx};

use super::{ManifestRecord, Referrer, StoredManifest, UploadSession};
use crate::error::{Error, Result};
use crate::oci::{Digest, RefKind, Reference, RepoName};

type Db = Postgres;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Metadata in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    /// Reads, and single-statement writes.
    pool: PgPool,
    /// Write transactions. Their own pool: transactions wait on each other's row locks, and
    /// on a shared pool a burst of pushes into one project held every connection while it
    /// waited, so pulls waited too (500 clients: pulls p50 1 s).
    writer: PgPool,
}

/// Connections for reads per node, and for write transactions (see [`PostgresStore::writer`]).
const READ_CONNECTIONS: u32 = 16;
const WRITE_CONNECTIONS: u32 = 8;

impl PostgresStore {
    /// Connect to `url` (`postgres://user@host:port/db`) and run the embedded migrations.
    pub async fn open(url: &str) -> Result<Self> {
        // Errors name the database by its redacted URI, never with the password.
        let context = |e: sqlx::Error| Error::Metadata {
            backend: "postgres",
            source: format!("{}: {e}", crate::units::redact_uri(url)).into(),
        };
        let opts = PgConnectOptions::from_str(url).map_err(context)?;
        let pool_options = || {
            PgPoolOptions::new()
                // No JIT compilation: Berth's statements are short, and PostgreSQL decides to
                // compile from cost estimates, which a scan under a LIMIT inflates. A repository
                // search over 100,000 names spent 15 ms compiling to run for 14 ms.
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, "SET jit = off")
                            .await
                            .map(drop)
                    })
                })
        };
        let pool = pool_options()
            .max_connections(READ_CONNECTIONS)
            // While the database is away, requests wait this long, then answer 503.
            .acquire_timeout(std::time::Duration::from_secs(8))
            .connect_with(opts.clone())
            .await
            .map_err(context)?;
        MIGRATOR.run(&pool).await.map_err(|e| Error::Metadata {
            backend: "postgres",
            source: Box::new(e),
        })?;
        // Writers also queue behind each other here, so they may wait longer than readers.
        let writer = pool_options()
            .max_connections(WRITE_CONNECTIONS)
            .acquire_timeout(std::time::Duration::from_secs(20))
            .connect_lazy_with(opts);
        Ok(Self { pool, writer })
    }

    /// PostgreSQL takes row locks itself; there is no process-wide writer lock.
    /// Writes outside transactions: any write connection (row locks order concurrent writers).
    async fn write_conn(&self) -> Result<WriteConn<Db>> {
        Ok(WriteConn::Pool(
            self.writer.acquire().await.map_err(db_err)?,
        ))
    }

    async fn begin_write(&self) -> Result<WriteTx<Db>> {
        let conn = self.write_conn().await?;
        WriteTx::begin(conn, None).await.map_err(db_err)
    }

    async fn begin_batched(&self) -> Result<WriteTx<Db>> {
        let conn = self.write_conn().await?;
        WriteTx::begin_batched(conn, None).await.map_err(db_err)
    }
}

/// Row locking for job claims: nodes skip rows another node holds.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// Writers lock rows, so a transaction that changes a project's holdings takes the project's
/// quota row last, and every writer takes its row locks in one order ("Lock order" in `sql.rs`).
const QUOTA_LAST: bool = true;
/// A read that keeps rows from being deleted (or their keys changed) until the transaction ends.
const FOR_KEY_SHARE: &str = " FOR KEY SHARE";
/// A read that locks rows until the transaction ends, as a delete would.
const FOR_UPDATE: &str = " FOR UPDATE";

/// How an artifact listing starts from the digests a tag filter selected, a CTE `mt(d)` (see
/// `list_artifacts`). PostgreSQL hashes them as a semi-join (planned as a join, it hashed all
/// of the repository's manifests instead, twice).
const FROM_TAGGED: (&str, &str) = (
    "FROM manifests m WHERE m.repo_id = ",
    " AND m.digest IN (SELECT d FROM mt)",
);

/// Repository search collects at most this many matches per row asked for, in any order, before
/// it sorts them (see `search_repositories`): PostgreSQL otherwise walks the name index in order
/// when it expects many matches, and reads most names when they sit late in that order.
const SEARCH_CANDIDATES: Option<i64> = Some(20);

super::governance_sql::sql_governance_store!(PostgresStore);
super::audit_sql::sql_audit_store!(PostgresStore);
super::identity_sql::sql_identity_store!(PostgresStore);
super::policy_sql::sql_policy_store!(PostgresStore);
super::scan_sql::sql_scan_store!(PostgresStore);
super::replication_sql::sql_replication_store!(PostgresStore);
super::sql::sql_metadata_store!(PostgresStore, "postgres");
