//! The SQL shared by the SQLite and PostgreSQL stores.
//!
//! Both dialects accept `$n` placeholders, `ON CONFLICT … DO NOTHING/UPDATE` and `RETURNING`, so
//! one text serves both; the schema (DDL) is per backend under `migrations/`. The implementation
//! is generated for each backend's pool type by [`sql_metadata_store!`]; each backend supplies
//! `write_conn()` and `begin_write()` (SQLite writes through its one writer connection and takes
//! the write lock up front with `BEGIN IMMEDIATE`).
//!
//! # Lock order
//!
//! On PostgreSQL, writers lock rows, and two transactions that take the same locks in different
//! orders deadlock (PostgreSQL then aborts one after a second). Every transaction that writes
//! content or a project's holdings takes its locks in this order, each level's rows sorted:
//!
//! 1. the repository's row: pushes read it `FOR KEY SHARE` (and bump its time of update at most
//!    once a second); deleting the repository locks it first, `FOR UPDATE`;
//! 2. `blobs` rows, by digest;
//! 3. the repository's blob links (`repo_blobs`), by digest;
//! 4. its manifests, tags and references: a push reads the manifests it lists `FOR KEY SHARE`
//!    and inserts its own rows; a deletion locks the manifest `FOR UPDATE` after its links;
//! 5. the project's quota row, last, just before COMMIT;
//! 6. the project's holds (`project_blobs`), only while holding 5.
//!
//! The quota row used to come first, which made it the one lock every push into a project
//! waited for, held across the whole transaction (about 400 small images a second into one
//! project). Taken last it is held for the last few statements only. Usage stays exact: a hold
//! is inserted or released, and usage changed, only under the quota row's lock, and a release
//! checks for remaining links and manifests in a statement after it took that lock, so it sees
//! every push that took the lock before it as committed.
//!
//! SQLite has one writer, which holds the whole database: there the order only decides the
//! round trips (the quota row goes out with the checks), and the locking reads are plain reads.

/// Rows or values per set-based statement (well under SQLite's 32,766 bound parameters).
pub(crate) const SQL_BATCH: usize = 500;

/// A push bumps its repository's time of update only when it is older than this: the bump
/// locks the row, which a push into the same repository then waits for.
pub(crate) const REPO_TOUCH_MS: i64 = 1000;

/// An untagged manifest `m` that garbage collection may delete: no tag points at it, no index
/// of its repository lists it, and, for a referrer, its subject is gone.
pub(crate) const MANIFEST_COLLECTABLE: &str = "NOT EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest)
    AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.repo_id = m.repo_id AND mr.child_digest = m.digest)
    AND (m.subject IS NULL OR NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repo_id = m.repo_id AND s.digest = m.subject))";

/// The one SQLite writer connection, and whether a transaction begun on it inside a batch may
/// still be open.
#[derive(Debug)]
pub(crate) struct Exclusive<C> {
    pub(crate) conn: C,
    /// A transaction whose `BEGIN` went out inside a batch ([`WriteTx::batch`]) did not commit:
    /// the next holder rolls it back before anything else ([`WriteConn::own`]).
    pub(crate) unfinished: bool,
}

/// A connection for writes outside transactions: from a pool, or the one SQLite writer
/// connection, held until dropped.
pub(crate) enum WriteConn<DB: sqlx::Database> {
    Pool(sqlx::pool::PoolConnection<DB>),
    Own(tokio::sync::OwnedMutexGuard<Exclusive<DB::Connection>>),
}

impl<DB: sqlx::Database> WriteConn<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    /// The writer connection, once any transaction a previous holder left unfinished is rolled
    /// back. A failed `ROLLBACK` (there was nothing to roll back: the `BEGIN` never went out, or
    /// the database ended the transaction itself) is not an error; should one really be left
    /// open, the next `BEGIN` fails and leaves the mark for the next holder again.
    pub(crate) async fn own(
        mut conn: tokio::sync::OwnedMutexGuard<Exclusive<DB::Connection>>,
    ) -> Self {
        if conn.unfinished {
            if let Err(e) = sqlx::raw_sql("ROLLBACK").execute(&mut conn.conn).await {
                tracing::debug!(error = %e, "rolling back a transaction left unfinished");
            }
            conn.unfinished = false;
        }
        Self::Own(conn)
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteConn<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        match self {
            Self::Pool(c) => c,
            Self::Own(c) => &c.conn,
        }
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteConn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Self::Pool(c) => c,
            Self::Own(c) => &mut c.conn,
        }
    }
}

/// A write transaction (on SQLite, on the one writer connection, which it holds until it ends).
///
/// Begun with [`WriteTx::begin`], the transaction is begun and ended as `sqlx::Transaction`
/// does it: one dropped unfinished (an error, or a cancelled request) has its `ROLLBACK`
/// queued on the connection before the next holder's first statement.
///
/// Begun with [`WriteTx::begin_batched`] on the SQLite writer connection, its `BEGIN` goes out
/// with the first batch ([`WriteTx::batch`]) and its `COMMIT` with the last
/// ([`WriteTx::commit_with`]): two round trips fewer. One that does not commit leaves the
/// connection marked, and the next holder rolls it back ([`WriteConn::own`]). Elsewhere (a
/// pool) it is begun as with `begin`.
pub(crate) struct WriteTx<DB: sqlx::Database> {
    conn: WriteConn<DB>,
    /// `BEGIN` was sent through sqlx and no `COMMIT` acknowledged.
    open: bool,
    /// The `BEGIN` statement of a batched transaction, until a batch takes it.
    deferred: Option<&'static str>,
    /// The transaction's `BEGIN` goes or went out inside a batch.
    batched: bool,
}

impl<DB: sqlx::Database> WriteTx<DB>
where
    DB::QueryResult: RowsAffected,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    /// Begin a transaction on `conn` with `statement` (`None`: the backend's plain `BEGIN`).
    pub(crate) async fn begin(
        conn: WriteConn<DB>,
        statement: Option<&'static str>,
    ) -> Result<Self, sqlx::Error> {
        use sqlx_core::transaction::TransactionManager as _;
        let mut tx = Self {
            conn,
            open: true,
            deferred: None,
            batched: false,
        };
        // Open before the await: a BEGIN sent and then cancelled is still rolled back on drop
        // (a rollback outside a transaction does nothing).
        <DB::TransactionManager>::begin(&mut tx.conn, statement.map(sqlx::SqlStr::from_static))
            .await?;
        Ok(tx)
    }

    /// A transaction whose statements all go through batches: on the SQLite writer connection,
    /// `statement` goes out with the first one ([`WriteTx::batch`]).
    pub(crate) async fn begin_batched(
        conn: WriteConn<DB>,
        statement: Option<&'static str>,
    ) -> Result<Self, sqlx::Error> {
        match conn {
            WriteConn::Own(_) => Ok(Self {
                conn,
                open: false,
                deferred: Some(statement.unwrap_or("BEGIN")),
                batched: true,
            }),
            WriteConn::Pool(_) => Self::begin(conn, statement).await,
        }
    }

    /// A batch for this transaction; the first of a batched transaction also begins it.
    pub(crate) fn batch(&mut self) -> Batch<DB> {
        let mut b = Batch::new();
        if let Some(begin) = self.deferred.take() {
            // Marked before it can go out: a cancelled or failed batch leaves it to roll back.
            if let WriteConn::Own(c) = &mut self.conn {
                c.unfinished = true;
            }
            b.push(begin);
            b.hidden = 1;
        }
        b
    }

    /// Run `last` (the transaction's last statements) and commit: on the SQLite writer
    /// connection in a batched transaction, `COMMIT` goes out with them.
    pub(crate) async fn commit_with(mut self, last: Batch<DB>) -> Result<(), sqlx::Error> {
        if !self.batched {
            if !last.is_empty() {
                last.run(&mut self.conn).await?;
            }
            return self.commit().await;
        }
        let mut last = match self.deferred {
            // Nothing went out yet: this batch begins the transaction too.
            Some(_) => self.batch().append(last),
            None => last,
        };
        last.push("COMMIT");
        last.run(&mut self.conn).await?;
        if let WriteConn::Own(c) = &mut self.conn {
            c.unfinished = false;
        }
        Ok(())
    }

    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        use sqlx_core::transaction::TransactionManager as _;
        <DB::TransactionManager>::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}

impl<DB: sqlx::Database> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        if self.open {
            use sqlx_core::transaction::TransactionManager as _;
            <DB::TransactionManager>::start_rollback(&mut self.conn);
        }
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        debug_assert!(
            self.deferred.is_none(),
            "a statement before the batch that begins the transaction"
        );
        &mut self.conn
    }
}

/// How to split `n` rows into multi-row statements of at most `max` rows so that the
/// statements take few distinct shapes: full statements of `max` rows, then one power of two
/// at a time down to 16 rows, then the rest (at most 16) in one. A prepared statement is cached
/// per shape on each connection (sqlx keeps 100), and one of a thousand rows holds about a
/// megabyte in SQLite, so a size per count of rows would fill the cache with large ones.
pub(crate) fn statement_sizes(n: usize, max: usize) -> Vec<usize> {
    const SMALL: usize = 16;
    let mut sizes = vec![max; n / max];
    let mut rest = n % max;
    while rest > SMALL {
        let p = 1 << rest.ilog2();
        sizes.push(p);
        rest -= p;
    }
    if rest > 0 {
        sizes.push(rest);
    }
    sizes
}

/// Statements sent together. On SQLite they go as one query of several statements: one round
/// trip to the connection's thread instead of one per statement. A round trip costs about 40 µs
/// on a 2-core machine (two thread wake-ups), and the writer's round trips are what serializes
/// concurrent pushes. PostgreSQL's extended protocol takes one statement per query, so there
/// they run one after another, with the same results.
///
/// Bind values only through the builder (`push_bind`, `push_values`): SQLite numbers the `?`
/// placeholders across the statements of one query, which a literal `$n` would break.
///
/// A statement that fails stops the batch; the ones before it have run, so batches belong
/// inside a transaction that the error then rolls back.
///
/// This relies on sqlx's SQLite driver preparing every statement of a query and binding the
/// arguments across them (it does so for migrations). sqlx deprecated `Query::fetch_many` for
/// that use (launchbadge/sqlx#3108); `run` calls `Executor::fetch_many`, and should a later
/// sqlx stop running the statements after the first, `run` fails on the count of results and
/// the store tests and `sql_counts` fail with it.
pub(crate) struct Batch<DB: sqlx::Database> {
    queries: Vec<sqlx::QueryBuilder<DB>>,
    one_query: bool,
    statements: usize,
    /// Leading statements whose results are not returned (a transaction's `BEGIN`).
    hidden: usize,
}

/// What one statement of a [`Batch`] returned.
pub(crate) struct Done<DB: sqlx::Database> {
    pub(crate) rows: Vec<DB::Row>,
    pub(crate) affected: u64,
}

/// Rows a statement changed, for either backend's query result.
pub(crate) trait RowsAffected {
    fn rows(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows(&self) -> u64 {
        self.rows_affected()
    }
}

impl<DB: sqlx::Database> Batch<DB>
where
    DB::QueryResult: RowsAffected,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    pub(crate) fn new() -> Self {
        Self {
            queries: Vec::new(),
            one_query: DB::NAME == "SQLite",
            statements: 0,
            hidden: 0,
        }
    }

    /// This batch, then the statements of `rest` (which has no hidden ones), as a query of
    /// their own: query builders do not merge.
    fn append(mut self, rest: Self) -> Self {
        self.queries.extend(rest.queries);
        self.statements += rest.statements;
        self
    }

    /// Start the next statement with `sql`; continue it on the builder returned. Its result is
    /// at this position in what [`Batch::run`] returns.
    pub(crate) fn push(&mut self, sql: &str) -> &mut sqlx::QueryBuilder<DB> {
        self.statements += 1;
        match self.queries.last_mut() {
            Some(q) if self.one_query => {
                q.push(";\n").push(sql);
            }
            _ => self.queries.push(sqlx::QueryBuilder::new(sql)),
        }
        let last = self.queries.len() - 1;
        &mut self.queries[last]
    }

    /// Statements so far: the position of the next one's result.
    pub(crate) fn len(&self) -> usize {
        self.statements - self.hidden
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Run the statements in order: each one's rows and the number of rows it changed.
    pub(crate) async fn run(self, conn: &mut DB::Connection) -> Result<Vec<Done<DB>>, sqlx::Error> {
        use futures::TryStreamExt as _;
        let mut out = Vec::with_capacity(self.statements);
        let mut rows = Vec::new();
        for mut q in self.queries {
            let mut steps = sqlx::Executor::fetch_many(&mut *conn, q.build());
            while let Some(step) = steps.try_next().await? {
                match step {
                    sqlx::Either::Left(r) => out.push(Done {
                        rows: std::mem::take(&mut rows),
                        affected: r.rows(),
                    }),
                    sqlx::Either::Right(row) => rows.push(row),
                }
            }
        }
        if out.len() != self.statements {
            return Err(sqlx::Error::Protocol(format!(
                "a batch of {} statements returned {} results",
                self.statements,
                out.len()
            )));
        }
        out.drain(..self.hidden);
        Ok(out)
    }
}

/// Implement [`super::MetadataStore`] for a struct with a `pool` field (reads), a
/// `write_conn()` (writes outside transactions), a `begin_write()` and a `begin_batched()`
/// (a transaction whose statements all go through [`Batch`]es).
macro_rules! sql_metadata_store {
    ($store:ty, $name:literal) => {
        use $crate::meta::sql::SQL_BATCH;

        #[async_trait::async_trait]
        impl $crate::meta::MetadataStore for $store {
            fn name(&self) -> &'static str {
                $name
            }

            async fn link_new_blob(&self, repo: &RepoName, digest: &Digest, size: u64, now: i64) -> Result<()> {
                // The batched form first: two round trips instead of eight. When it cannot link
                // the blob, this transaction finds out why.
                let link = $crate::meta::NewBlobLink { repo: repo.clone(), digest: digest.clone(), size };
                if self.link_new_blobs(std::slice::from_ref(&link), now).await? {
                    return Ok(());
                }
                // Repository, blob, link, and the project's quota row last (see "Lock order").
                let mut tx = self.begin_write().await?;
                let repo_id = ensure_repo(&mut *tx, repo, now).await?;
                // The row was claimed before the bytes were published (`claim_blob`); if it is gone
                // or being deleted now, garbage collection took the bytes in between.
                let claimed = sqlx::query("UPDATE blobs SET state = 'live', last_touched = $2 WHERE digest = $1 AND state <> 'deleting'")
                    .bind(digest.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if claimed == 0 {
                    return Err(Error::Unavailable { reason: format!("blob {digest} was garbage collected while it was published; upload it again") });
                }
                link_repo_blob(&mut *tx, repo_id, digest, now).await?;
                let (project_id, quota) = lock_project_quota(&mut tx, repo, now).await?;
                let added = hold_digest(&mut tx, project_id, &digest.to_string(), size as i64, now).await?;
                charge(&mut tx, project_id, quota, added, now).await?;
                commit_tx(tx).await
            }

            async fn link_new_blobs(&self, links: &[$crate::meta::NewBlobLink], now: i64) -> Result<bool> {
                use std::collections::{BTreeMap, BTreeSet};
                let Some(first) = links.first() else { return Ok(true) };
                if links.len() > SQL_BATCH / 4 || links.iter().any(|l| l.repo.project() != first.repo.project()) {
                    return Ok(false);
                }
                use sqlx::Row as _;
                // Two round trips to the SQLite writer: BEGIN with the checks and the locks, the
                // links with the charge and COMMIT. On PostgreSQL the locks come after the links.
                let mut tx = self.begin_batched().await?;
                let mut checks = tx.batch();
                let repos: BTreeSet<&RepoName> = links.iter().map(|l| &l.repo).collect();
                for repo in &repos {
                    push_repo_id(&mut checks, repo);
                }
                // Each digest once: one statement must not touch a row twice.
                let sizes: BTreeMap<String, i64> = links.iter().map(|l| (l.digest.to_string(), l.size as i64)).collect();
                let digests: Vec<String> = sizes.keys().cloned().collect();
                push_touch_blobs(&mut checks, &digests, now);
                let mut staged = Staged::new(checks);
                push_lock_project_quota(staged.locks(), &first.repo);
                let holds: Vec<(&str, i64)> = sizes.iter().map(|(d, s)| (d.as_str(), *s)).collect();
                push_hold_in(staged.locks(), &first.repo, &holds, now);
                let (done, locks) = staged.run(&mut tx).await?;
                // A blob garbage collection took meanwhile: each link alone, with its own answer.
                if done[repos.len()].affected != digests.len() as u64 {
                    return Ok(false);
                }
                let mut repo_ids: BTreeMap<&str, i64> = BTreeMap::new();
                for (k, repo) in repos.iter().enumerate() {
                    let Some(row) = done[k].rows.first() else {
                        // A new repository: made on its own (with the project's quota row), then
                        // again. Links into existing repositories need no insert.
                        drop(tx);
                        self.ensure_holder(repo, now).await?;
                        return self.link_new_blobs(links, now).await;
                    };
                    repo_ids.insert(repo.as_str(), row.try_get(0).map_err(db_err)?);
                }
                let pairs: BTreeSet<(i64, String)> = links.iter().map(|l| (repo_ids[l.repo.as_str()], l.digest.to_string())).collect();
                let mut last = $crate::meta::sql::Batch::<Db>::new();
                let q = last.push("INSERT INTO repo_blobs (repo_id, digest, created_at, last_touched) ");
                q.push_values(&pairs, |mut row, (repo_id, digest)| {
                    row.push_bind(*repo_id).push_bind(digest.as_str()).push_bind(now).push_bind(now);
                });
                q.push(" ON CONFLICT (repo_id, digest) DO UPDATE SET last_touched = excluded.last_touched");
                let (locked, _, mut last) = run_locks(&mut tx, last, locks).await?;
                // No quota row yet (link_new_blob makes it): each link alone.
                let Some((project_id, quota)) = locked_quota(&locked[0])? else { return Ok(false) };
                let added: i64 = locked[1].rows.iter().map(|r| r.try_get::<i64, _>(1)).sum::<std::result::Result<_, _>>().map_err(db_err)?;
                // Past the limit: nothing is linked, and each link gets its own answer alone.
                match charge_in(&mut last, &mut tx, project_id, quota, added, now).await {
                    Err(Error::QuotaExceeded { .. }) => return Ok(false),
                    other => other?,
                }
                commit_with(tx, last).await?;
                Ok(true)
            }

            async fn mount_blob(&self, repo: &RepoName, digest: &Digest, from: Option<&RepoName>, now: i64) -> Result<Option<u64>> {
                let mut tx = self.begin_write().await?;
                let size: Option<(i64,)> = match from {
                    Some(from) => sqlx::query_as(
                        "SELECT b.size FROM blobs b JOIN repo_blobs rb ON rb.digest = b.digest
                         JOIN repositories r ON r.id = rb.repo_id
                         WHERE r.name = $1 AND b.digest = $2 AND b.state <> 'deleting'",
                    )
                    .bind(from.as_str())
                    .bind(digest.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?,
                    None => sqlx::query_as("SELECT size FROM blobs WHERE digest = $1 AND state <> 'deleting'")
                        .bind(digest.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?,
                };
                let Some((size,)) = size else { return Ok(None) };
                let repo_id = ensure_repo(&mut *tx, repo, now).await?;
                let rescued = sqlx::query("UPDATE blobs SET state = 'live', last_touched = $2 WHERE digest = $1 AND state <> 'deleting'")
                    .bind(digest.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                if rescued == 0 {
                    return Ok(None);
                }
                link_repo_blob(&mut *tx, repo_id, digest, now).await?;
                let (project_id, quota) = lock_project_quota(&mut tx, repo, now).await?;
                let added = hold_digest(&mut tx, project_id, &digest.to_string(), size, now).await?;
                charge(&mut tx, project_id, quota, added, now).await?;
                commit_tx(tx).await?;
                Ok(Some(size as u64))
            }

            async fn repos_linking(&self, digest: &Digest, limit: u32) -> Result<Vec<RepoName>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT r.name FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id
                     WHERE rb.digest = $1 ORDER BY r.name LIMIT $2",
                )
                .bind(digest.to_string())
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows.into_iter().filter_map(|(n,)| RepoName::parse(&n).ok()).collect())
            }

            async fn repo_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT b.size FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id
                     JOIN blobs b ON b.digest = rb.digest
                     WHERE r.name = $1 AND rb.digest = $2 AND b.state <> 'deleting'",
                )
                .bind(repo.as_str())
                .bind(digest.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(row.map(|(s,)| s as u64))
            }

            async fn unlink_blob(&self, repo: &RepoName, digest: &Digest, now: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let Some((repo_id, Some(project_id))) = repo_ids(&mut tx, repo).await? else { return Ok(false) };
                let n = sqlx::query("DELETE FROM repo_blobs WHERE repo_id = $1 AND digest = $2")
                    .bind(repo_id)
                    .bind(digest.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected();
                lock_quota(&mut tx, project_id, now).await?;
                let released = release_digests(&mut tx, project_id, &[digest.to_string()]).await?;
                adjust_quota(&mut tx, project_id, -released, now).await?;
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT size FROM blobs WHERE digest = $1 AND state <> 'deleting'")
                    .bind(digest.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|(s,)| s as u64))
            }

            async fn create_upload(&self, s: &UploadSession) -> Result<()> {
                let q = sqlx::query(
                    "INSERT INTO uploads (id, repo, size_bytes, hash_state, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&s.id)
                .bind(&s.repo)
                .bind(s.size as i64)
                .bind(&s.hash_state)
                .bind(s.started_at)
                .bind(s.updated_at);
                self.write_one(q).await.map(drop)
            }

            async fn get_upload(&self, id: &str) -> Result<Option<UploadSession>> {
                let row: Option<UploadRow> = sqlx::query_as(
                    "SELECT id, repo, size_bytes, hash_state, started_at, updated_at FROM uploads WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(row.map(UploadRow::into_session))
            }

            async fn advance_upload(&self, id: &str, from_size: u64, size: u64, hash_state: &[u8], now: i64) -> Result<bool> {
                let q = sqlx::query(
                    "UPDATE uploads SET size_bytes = $3, hash_state = $4, updated_at = $5 WHERE id = $1 AND size_bytes = $2",
                )
                .bind(id)
                .bind(from_size as i64)
                .bind(size as i64)
                .bind(hash_state)
                .bind(now);
                Ok(self.write_one(q).await? == 1)
            }

            async fn delete_upload(&self, id: &str) -> Result<bool> {
                Ok(self.write_one(sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id)).await? > 0)
            }

            async fn stale_uploads(&self, before: i64) -> Result<Vec<UploadSession>> {
                let rows: Vec<UploadRow> = sqlx::query_as(
                    "SELECT id, repo, size_bytes, hash_state, started_at, updated_at FROM uploads WHERE updated_at < $1",
                )
                .bind(before)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows.into_iter().map(UploadRow::into_session).collect())
            }

            async fn put_manifest(&self, repo: &RepoName, m: &ManifestRecord, tags: &[String], now: i64, events: &[NewEvent]) -> Result<()> {
                use sqlx::Row as _;
                // Two round trips to the SQLite writer however many references and tags it has:
                // BEGIN with the checks, the rows with COMMIT.
                let mut tx = self.begin_batched().await?;
                let required = |kind: RefKind| -> Vec<String> {
                    let set: std::collections::BTreeSet<String> =
                        m.refs.iter().filter(|r| r.required && r.kind == kind).map(|r| r.digest.to_string()).collect();
                    set.into_iter().collect()
                };
                let (blobs, manifests) = (required(RefKind::Blob), required(RefKind::Manifest));
                let digest = m.digest.to_string();
                // The checks, in "Lock order": the repository's time of update (at most once a
                // second), its id, then what the manifest requires. Blobs must be
                // linked to the repository. Updating the blobs rescues any that collection marked
                // but has not started deleting; touching the links locks them against garbage
                // collection dropping them before this commits.
                let mut checks = tx.batch();
                let q = checks.push("UPDATE repositories SET updated_at = ");
                q.push_bind(now).push(" WHERE name = ").push_bind(repo.as_str()).push(" AND updated_at < ").push_bind(now - $crate::meta::sql::REPO_TOUCH_MS);
                push_repo_id(&mut checks, repo);
                for chunk in blobs.chunks(SQL_BATCH) {
                    push_touch_blobs(&mut checks, chunk, now).push(" RETURNING digest");
                }
                for chunk in blobs.chunks(SQL_BATCH) {
                    let q = checks.push("UPDATE repo_blobs SET last_touched = ");
                    q.push_bind(now).push(" WHERE repo_id = (SELECT id FROM repositories WHERE name = ").push_bind(repo.as_str())
                        .push(") AND digest IN (SELECT digest FROM repo_blobs WHERE repo_id = (SELECT id FROM repositories WHERE name = ")
                        .push_bind(repo.as_str()).push(") AND digest IN ");
                    push_list(q, chunk);
                    q.push(" ORDER BY digest").push(FOR_UPDATE).push(") RETURNING digest");
                }
                // The manifests it lists, and itself if stored already: kept from deletion until
                // this commits (a deletion of this manifest would otherwise take it from under the
                // references and tags written below).
                let mut listed: Vec<String> = manifests.iter().cloned().chain([digest.clone()]).collect();
                listed.sort_unstable();
                listed.dedup();
                for chunk in listed.chunks(SQL_BATCH) {
                    let q = checks.push("SELECT digest FROM manifests WHERE repo_id = (SELECT id FROM repositories WHERE name = ");
                    q.push_bind(repo.as_str()).push(") AND digest IN ");
                    push_list(q, chunk);
                    q.push(" ORDER BY digest").push(FOR_KEY_SHARE);
                }
                // Last, the quota row and the project's hold on the manifest, which decides the
                // charge.
                let mut staged = Staged::new(checks);
                push_lock_project_quota(staged.locks(), repo);
                push_hold_in(staged.locks(), repo, &[(digest.as_str(), m.content.len() as i64)], now);
                let (done, locks) = staged.run(&mut tx).await?;
                let Some(repo_id) = done[1].rows.first().map(|r| r.try_get::<i64, _>(0)).transpose().map_err(db_err)? else {
                    // A new repository: made on its own (with the project's quota row), then again.
                    drop(tx);
                    self.ensure_holder(repo, now).await?;
                    return self.put_manifest(repo, m, tags, now, events).await;
                };
                let found = |i: usize| -> Result<Vec<(String,)>> {
                    done[i].rows.iter().map(|r| r.try_get(0).map(|d| (d,))).collect::<std::result::Result<_, _>>().map_err(db_err)
                };
                let mut i = 2;
                for chunk in blobs.chunks(SQL_BATCH).chain(blobs.chunks(SQL_BATCH)) {
                    missing_ref(chunk, &found(i)?)?;
                    i += 1;
                }
                let mut stored = Vec::new();
                for _ in listed.chunks(SQL_BATCH) {
                    stored.extend(found(i)?.into_iter().filter(|(d,)| *d != digest));
                    i += 1;
                }
                missing_ref(&manifests, &stored)?;

                // The rows.
                let mut rows = $crate::meta::sql::Batch::<Db>::new();
                let mut children: Vec<(String, &'static str)> =
                    m.refs.iter().map(|r| (r.digest.to_string(), r.kind.as_str())).collect();
                children.sort();
                children.dedup_by(|a, b| a.0 == b.0);
                // The sizes of the blobs it references go with the manifest row (listings show and
                // sort by the artifact's size): summed in the same statement, or, for a manifest
                // of more blobs than one statement binds, by an update once its references are in.
                let blob_children: Vec<String> =
                    children.iter().filter(|(_, k)| *k == RefKind::Blob.as_str()).map(|(d, _)| d.clone()).collect();
                let summed_inline = blob_children.len() <= SQL_BATCH;
                let q = rows.push(
                    "INSERT INTO manifests (repo_id, digest, media_type, artifact_type, subject, annotations, size, content, created_at, blob_size) VALUES (",
                );
                q.push_bind(repo_id).push(", ")
                    .push_bind(digest.as_str()).push(", ")
                    .push_bind(m.media_type.as_str()).push(", ")
                    .push_bind(m.artifact_type.as_deref()).push(", ")
                    .push_bind(m.subject.as_ref().map(ToString::to_string)).push(", ")
                    .push_bind(m.annotations.as_deref()).push(", ")
                    .push_bind(m.content.len() as i64).push(", ")
                    .push_bind(m.content.as_ref()).push(", ")
                    .push_bind(now).push(", ");
                if summed_inline && !blob_children.is_empty() {
                    q.push("(SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs WHERE digest IN ");
                    push_list(q, &blob_children);
                    q.push(")");
                } else {
                    q.push("0");
                }
                q.push(") ON CONFLICT (repo_id, digest) DO NOTHING");
                for chunk in children.chunks(SQL_BATCH) {
                    let q = rows.push("INSERT INTO manifest_refs (repo_id, manifest_digest, child_digest, kind) ");
                    q.push_values(chunk, |mut row, (child, kind)| {
                        row.push_bind(repo_id).push_bind(digest.as_str()).push_bind(child.as_str()).push_bind(*kind);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                }
                if !summed_inline {
                    rows.push(
                        "UPDATE manifests SET blob_size = (SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT)
                         FROM manifest_refs mr JOIN blobs b ON b.digest = mr.child_digest
                         WHERE mr.repo_id = manifests.repo_id AND mr.manifest_digest = manifests.digest AND mr.kind = 'blob')
                         WHERE repo_id = ",
                    )
                    .push_bind(repo_id).push(" AND digest = ").push_bind(digest.as_str());
                }
                // A protected tag is only ever created, never moved: on PostgreSQL a concurrent
                // first push waits here for the other and then finds its row.
                let first_protected = rows.len();
                for (tag, _) in &m.immutable_tags {
                    let q = rows.push("INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (");
                    q.push_bind(repo_id).push(", ").push_bind(tag.as_str()).push(", ").push_bind(digest.as_str()).push(", ").push_bind(now);
                    q.push(") ON CONFLICT (repo_id, name) DO NOTHING");
                }
                // In name order: two pushes moving the same tags lock them in one order.
                let mut moved: Vec<&String> = tags.iter().filter(|t| !m.immutable_tags.iter().any(|(p, _)| p == *t)).collect();
                moved.sort_unstable();
                moved.dedup();
                for chunk in moved.chunks(SQL_BATCH) {
                    let q = rows.push("INSERT INTO tags (repo_id, name, digest, updated_at) ");
                    q.push_values(chunk, |mut row, tag| {
                        row.push_bind(repo_id).push_bind(tag.as_str()).push_bind(digest.as_str()).push_bind(now);
                    });
                    q.push(" ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at");
                }
                if let Some(link) = &m.accessory {
                    let q = rows.push("INSERT INTO accessories (repo_id, digest, subject, kind, via, created_at) VALUES (");
                    q.push_bind(repo_id).push(", ").push_bind(digest.as_str()).push(", ").push_bind(link.subject.to_string()).push(", ")
                        .push_bind(link.kind).push(", ").push_bind(link.via).push(", ").push_bind(now);
                    q.push(") ON CONFLICT (repo_id, digest) DO NOTHING");
                }
                // On PostgreSQL the rows go out now and the locks after them; then the charge,
                // refused before anything more is sent if over the quota, and the events; with the
                // commit, unless a protected tag must be seen created first.
                let protected = |done: &[$crate::meta::sql::Done<Db>]| -> Result<()> {
                    for (k, (_, refusal)) in m.immutable_tags.iter().enumerate() {
                        if done[first_protected + k].affected == 0 {
                            return Err(Error::PreconditionFailed { reason: refusal.clone() });
                        }
                    }
                    Ok(())
                };
                let (locked, written, mut rows) = run_locks(&mut tx, rows, locks).await?;
                if let Some(done) = &written {
                    protected(done)?;
                }
                let Some((project_id, quota)) = locked_quota(&locked[0])? else {
                    // No quota row (every project gets one when it is created): made on its own,
                    // then again.
                    drop(tx);
                    self.ensure_holder(repo, now).await?;
                    return self.put_manifest(repo, m, tags, now, events).await;
                };
                let added = if locked[1].affected > 0 { m.content.len() as i64 } else { 0 };
                charge_in(&mut rows, &mut tx, project_id, quota, added, now).await?;
                push_events(&mut rows, events, Some(project_id), now);
                if m.immutable_tags.is_empty() || written.is_some() {
                    return commit_with(tx, rows).await;
                }
                protected(&rows.run(&mut tx).await.map_err(db_err)?)?;
                commit_tx(tx).await
            }

            async fn get_manifest(&self, repo: &RepoName, reference: &Reference) -> Result<Option<StoredManifest>> {
                let row: Option<(String, String, Vec<u8>)> = match reference {
                    Reference::Digest(d) => sqlx::query_as(
                        "SELECT m.digest, m.media_type, m.content FROM manifests m JOIN repositories r ON r.id = m.repo_id
                         WHERE r.name = $1 AND m.digest = $2",
                    )
                    .bind(repo.as_str())
                    .bind(d.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?,
                    Reference::Tag(t) => sqlx::query_as(
                        "SELECT m.digest, m.media_type, m.content FROM tags t JOIN repositories r ON r.id = t.repo_id
                         JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest
                         WHERE r.name = $1 AND t.name = $2",
                    )
                    .bind(repo.as_str())
                    .bind(t)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?,
                };
                Ok(row.map(|(digest, media_type, content)| StoredManifest { digest, media_type, content: content.into() }))
            }

            async fn delete_manifest(&self, repo: &RepoName, digest: &Digest, only_collectable: bool, now: i64, events: &[NewEvent]) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let Some((repo_id, project_id)) = repo_ids(&mut tx, repo).await? else { return Ok(false) };
                // The blobs this manifest references: those no other manifest of the repository
                // references lose their link below, and the project's hold on them is released
                // unless another artifact of the project still needs them. (Blobs uploaded for a
                // push in flight were never referenced: they keep their links and charge.)
                let children: Vec<(String,)> = sqlx::query_as(
                    "SELECT child_digest FROM manifest_refs WHERE repo_id = $1 AND manifest_digest = $2 AND kind = 'blob' ORDER BY child_digest",
                )
                .bind(repo_id)
                .bind(digest.to_string())
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
                let mut gone: Vec<String> = children.into_iter().map(|(d,)| d).collect();
                if !FOR_UPDATE.is_empty() {
                    // Those links, then the manifest, locked in "Lock order" before anything that
                    // decides is read: a push of this manifest, or of an index that lists it,
                    // holds them until it commits, and what this reads next sees it committed.
                    for chunk in gone.chunks(SQL_BATCH) {
                        let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT digest FROM repo_blobs WHERE repo_id = ");
                        qb.push_bind(repo_id).push(" AND digest IN ");
                        push_list(&mut qb, chunk);
                        qb.push(" ORDER BY digest").push(FOR_UPDATE);
                        qb.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                    let sql = format!("SELECT 1 FROM manifests WHERE repo_id = $1 AND digest = $2{FOR_UPDATE}");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(digest.to_string()).execute(&mut *tx).await.map_err(db_err)?;
                }
                if only_collectable {
                    let sql = format!(
                        "SELECT 1 FROM manifests m WHERE m.repo_id = $1 AND m.digest = $2 AND {}",
                        $crate::meta::sql::MANIFEST_COLLECTABLE
                    );
                    let still: Option<(i32,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                        .bind(repo_id)
                        .bind(digest.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    if still.is_none() {
                        return Ok(false);
                    }
                }
                for table in [
                    "DELETE FROM tags WHERE repo_id = $1 AND digest = $2",
                    "DELETE FROM manifest_refs WHERE repo_id = $1 AND manifest_digest = $2",
                ] {
                    sqlx::query(table).bind(repo_id).bind(digest.to_string()).execute(&mut *tx).await.map_err(db_err)?;
                }
                // Its accessory row goes by the foreign key's cascade.
                let done = sqlx::query("DELETE FROM manifests WHERE repo_id = $1 AND digest = $2")
                    .bind(repo_id)
                    .bind(digest.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .rows_affected()
                    > 0;
                if done && !gone.is_empty() {
                    for chunk in gone.chunks(SQL_BATCH) {
                        let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM repo_blobs WHERE repo_id = ");
                        qb.push_bind(repo_id).push(" AND digest IN ");
                        push_list(&mut qb, chunk);
                        qb.push(" AND NOT EXISTS (SELECT 1 FROM manifest_refs mr
                                  WHERE mr.repo_id = repo_blobs.repo_id AND mr.child_digest = repo_blobs.digest)");
                        qb.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                }
                if done && let Some(project_id) = project_id {
                    // The quota row last: then the holds.
                    lock_quota(&mut tx, project_id, now).await?;
                    gone.push(digest.to_string());
                    let released = release_digests(&mut tx, project_id, &gone).await?;
                    adjust_quota(&mut tx, project_id, -released, now).await?;
                    insert_events_in(&mut tx, events, Some(project_id), now).await?;
                }
                commit_tx(tx).await?;
                Ok(done)
            }

            async fn delete_tag(&self, repo: &RepoName, tag: &str) -> Result<bool> {
                let q = sqlx::query(
                    "DELETE FROM tags WHERE name = $2 AND repo_id = (SELECT id FROM repositories WHERE name = $1)",
                )
                .bind(repo.as_str())
                .bind(tag);
                Ok(self.write_one(q).await? > 0)
            }

            async fn list_tags(&self, repo: &RepoName, limit: u32, last: Option<&str>) -> Result<Option<Vec<String>>> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                let Some(repo_id) = repo_id(&mut *conn, repo).await? else { return Ok(None) };
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT name FROM tags WHERE repo_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                )
                .bind(repo_id)
                .bind(last.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
                Ok(Some(rows.into_iter().map(|(n,)| n).collect()))
            }

            async fn referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>> {
                let rows: Vec<(String, String, i64, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations
                     FROM manifests m JOIN repositories r ON r.id = m.repo_id
                     WHERE r.name = $1 AND m.subject = $2 ORDER BY m.digest",
                )
                .bind(repo.as_str())
                .bind(subject.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows
                    .into_iter()
                    .map(|(digest, media_type, size, artifact_type, annotations)| Referrer {
                        digest,
                        media_type,
                        size,
                        artifact_type,
                        annotations,
                    })
                    .collect())
            }

            async fn catalog(&self, limit: u32, last: Option<&str>) -> Result<Vec<String>> {
                let rows: Vec<(String,)> =
                    sqlx::query_as("SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2")
                        .bind(last.unwrap_or(""))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_err)?;
                Ok(rows.into_iter().map(|(n,)| n).collect())
            }

            async fn repo_exists(&self, repo: &RepoName) -> Result<bool> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                Ok(repo_id(&mut *conn, repo).await?.is_some())
            }
        }

        impl $store {
            /// A repository's row and its project's quota row, each made if missing, in a
            /// transaction of their own, in "Lock order"; a push's transaction then finds both.
            /// `NameUnknown` when the project does not exist.
            async fn ensure_holder(&self, repo: &RepoName, now: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                ensure_repo(&mut tx, repo, now).await?;
                lock_project_quota(&mut tx, repo, now).await?;
                commit_tx(tx).await
            }

            /// Run one `INSERT … RETURNING id` on its own, like [`Self::write_one`] (with the
            /// task's pending events in its transaction).
            async fn insert_returning_id<'q>(
                &self,
                q: sqlx::query::QueryAs<'q, Db, (i64,), <Db as sqlx::Database>::Arguments>,
                on_err: impl FnOnce(sqlx::Error) -> Error,
            ) -> Result<i64> {
                if $crate::meta::outbox::pending() {
                    let mut tx = self.begin_write().await?;
                    let (id,) = q.fetch_one(&mut *tx).await.map_err(on_err)?;
                    commit_tx(tx).await?;
                    return Ok(id);
                }
                let (id,) = q.fetch_one(&mut *self.write_conn().await?).await.map_err(on_err)?;
                Ok(id)
            }

            /// Run one write statement on its own (it is atomic by itself), under the
            /// backend's writer lock if it has one; returns rows affected.
            async fn write_one<'q>(
                &self,
                q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
            ) -> Result<u64> {
                if $crate::meta::outbox::pending() {
                    // Events ride along: statement and events in one transaction, and only
                    // when the statement changed something.
                    let mut tx = self.begin_write().await?;
                    let n = q.execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                    if n > 0 {
                        commit_tx(tx).await?;
                    }
                    return Ok(n);
                }
                Ok(q.execute(&mut *self.write_conn().await?).await.map_err(db_err)?.rows_affected())
            }
        }

        #[derive(sqlx::FromRow)]
        struct UploadRow {
            id: String,
            repo: String,
            size_bytes: i64,
            hash_state: Vec<u8>,
            started_at: i64,
            updated_at: i64,
        }

        impl UploadRow {
            fn into_session(self) -> UploadSession {
                UploadSession {
                    id: self.id,
                    repo: self.repo,
                    size: self.size_bytes as u64,
                    hash_state: self.hash_state,
                    started_at: self.started_at,
                    updated_at: self.updated_at,
                }
            }
        }

        /// Append `($1, $2, …)` binding each of `items`.
        fn push_list(qb: &mut sqlx::QueryBuilder<Db>, items: &[String]) {
            qb.push("(");
            let mut list = qb.separated(", ");
            for item in items {
                list.push_bind(item.as_str());
            }
            qb.push(")");
        }

        /// Fail with `ManifestBlobUnknown` naming the first of `wanted` not in `found`.
        fn missing_ref(wanted: &[String], found: &[(String,)]) -> Result<()> {
            if found.len() == wanted.len() {
                return Ok(());
            }
            let found: std::collections::HashSet<&str> = found.iter().map(|(d,)| d.as_str()).collect();
            let first = wanted.iter().find(|d| !found.contains(d.as_str())).cloned().unwrap_or_default();
            Err(Error::ManifestBlobUnknown { digest: first })
        }

        /// Commit a write transaction, inserting first the events pending in this task
        /// ([`$crate::meta::outbox`]).
        async fn commit_tx(tx: $crate::meta::sql::WriteTx<Db>) -> Result<()> {
            commit_with(tx, $crate::meta::sql::Batch::new()).await
        }

        /// Run a transaction's last statements (with the events pending in this task) in one
        /// batch, and commit.
        async fn commit_with(tx: $crate::meta::sql::WriteTx<Db>, mut last: $crate::meta::sql::Batch<Db>) -> Result<()> {
            if let Some((events, now)) = $crate::meta::outbox::take() {
                push_events(&mut last, &events, None, now);
            }
            tx.commit_with(last).await.map_err(db_err)
        }

        /// A transaction's checks, and its locks: the project's quota row, then its holds. Where
        /// one writer holds the whole database, the locks go out with the checks, in the first
        /// round trip; where rows are locked (`QUOTA_LAST`), they wait until the transaction's
        /// rows are written ([`run_locks`]; see "Lock order" in `sql.rs`).
        struct Staged {
            checks: $crate::meta::sql::Batch<Db>,
            locks: $crate::meta::sql::Batch<Db>,
            /// The position of the first lock among the checks, when they go out together.
            split: Option<usize>,
        }

        /// What a transaction's locks returned, or the locks still to run.
        enum Locks {
            Done(Vec<$crate::meta::sql::Done<Db>>),
            Pending($crate::meta::sql::Batch<Db>),
        }

        impl Staged {
            fn new(checks: $crate::meta::sql::Batch<Db>) -> Self {
                Self { checks, locks: $crate::meta::sql::Batch::new(), split: None }
            }

            /// The batch the next lock goes into; every check goes in before the first lock.
            fn locks(&mut self) -> &mut $crate::meta::sql::Batch<Db> {
                if QUOTA_LAST {
                    return &mut self.locks;
                }
                let at = self.checks.len();
                self.split.get_or_insert(at);
                &mut self.checks
            }

            /// Run the checks (and the locks, if they go with them): the checks' results.
            async fn run(self, tx: &mut $crate::meta::sql::WriteTx<Db>) -> Result<(Vec<$crate::meta::sql::Done<Db>>, Locks)> {
                let mut done = self.checks.run(tx).await.map_err(db_err)?;
                if QUOTA_LAST {
                    return Ok((done, Locks::Pending(self.locks)));
                }
                let locked = done.split_off(self.split.unwrap_or(done.len()));
                Ok((done, Locks::Done(locked)))
            }
        }

        /// The locks' results; the results of `rows` if they went out here; and what is left to
        /// send with the commit. Locks that ran with the checks leave `rows` for the commit;
        /// otherwise `rows` go out now, the locks after them, and nothing is left.
        async fn run_locks(
            tx: &mut $crate::meta::sql::WriteTx<Db>,
            rows: $crate::meta::sql::Batch<Db>,
            locks: Locks,
        ) -> Result<(Vec<$crate::meta::sql::Done<Db>>, Option<Vec<$crate::meta::sql::Done<Db>>>, $crate::meta::sql::Batch<Db>)> {
            match locks {
                Locks::Done(locked) => Ok((locked, None, rows)),
                Locks::Pending(locks) => {
                    let written = if rows.is_empty() { Vec::new() } else { rows.run(tx).await.map_err(db_err)? };
                    let locked = locks.run(tx).await.map_err(db_err)?;
                    Ok((locked, Some(written), $crate::meta::sql::Batch::new()))
                }
            }
        }

        /// A database that cannot be reached is `UNAVAILABLE` (503: clients retry); anything
        /// else is an internal error whose details go to the log only.
        fn db_err(e: sqlx::Error) -> Error {
            match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    tracing::warn!(backend = $name, error = %e, "metadata database unavailable");
                    Error::Unavailable { reason: "the metadata database is unavailable; try again".into() }
                }
                e => Error::Metadata { backend: $name, source: Box::new(e) },
            }
        }

        /// [`ensure_repo`]'s two statements, next in a batch; read the id from the second with
        /// [`ensured_repo`].
        fn push_ensure_repo(b: &mut $crate::meta::sql::Batch<Db>, repo: &RepoName, now: i64) {
            // The repository joins the project named by its first segment, which must exist:
            // a project deleted concurrently leaves no row to insert from, never an orphan.
            // `DO NOTHING` leaves an existing row unlocked: PostgreSQL keeps the row an
            // `ON CONFLICT DO UPDATE` touched locked until COMMIT, which made every push into
            // one repository wait for the one before it.
            let q = b.push("INSERT INTO repositories (name, project_id, created_at, updated_at) SELECT ");
            q.push_bind(repo.as_str()).push(", p.id, ").push_bind(now).push(", ").push_bind(now)
                .push(" FROM projects p WHERE p.name = ").push_bind(repo.project())
                .push(" ON CONFLICT (name) DO NOTHING");
            push_repo_id(b, repo);
        }

        /// The repository's id as the next statement of a batch, read with [`ensured_repo`]:
        /// no row when it does not exist. The row is kept from deletion until the transaction
        /// ends (level 1 of "Lock order").
        fn push_repo_id(b: &mut $crate::meta::sql::Batch<Db>, repo: &RepoName) {
            b.push("SELECT id FROM repositories WHERE name = ").push_bind(repo.as_str()).push(FOR_KEY_SHARE);
        }

        /// Mark `digests` live (rescuing any that garbage collection marked but has not started
        /// deleting) as the next statement of a batch: the rows changed are the blobs that
        /// exist. Locked in digest order (level 2 of "Lock order").
        fn push_touch_blobs<'b>(b: &'b mut $crate::meta::sql::Batch<Db>, digests: &[String], now: i64) -> &'b mut sqlx::QueryBuilder<Db> {
            let q = b.push("UPDATE blobs SET state = 'live', last_touched = ");
            q.push_bind(now).push(" WHERE digest IN (SELECT digest FROM blobs WHERE state <> 'deleting' AND digest IN ");
            push_list(q, digests);
            q.push(" ORDER BY digest").push(FOR_UPDATE).push(")")
        }

        /// The id [`push_repo_id`]'s statement returned; `NameUnknown` when there is none (after
        /// [`push_ensure_repo`]: the project does not exist).
        fn ensured_repo(done: &$crate::meta::sql::Done<Db>, repo: &RepoName) -> Result<i64> {
            use sqlx::Row as _;
            let row = done.rows.first().ok_or_else(|| $crate::meta::no_project(repo))?;
            row.try_get(0).map_err(db_err)
        }

        /// The repository's id, its row created if new (see [`push_ensure_repo`]).
        async fn ensure_repo(conn: &mut <Db as sqlx::Database>::Connection, repo: &RepoName, now: i64) -> Result<i64> {
            // A second time when the first found no row: a repository being deleted kept the
            // insert from happening, then went (the read waited for that deletion to commit).
            let mut attempts = 0;
            loop {
                let mut b = $crate::meta::sql::Batch::new();
                push_ensure_repo(&mut b, repo, now);
                let done = b.run(&mut *conn).await.map_err(db_err)?;
                attempts += 1;
                if attempts == 2 || !done[1].rows.is_empty() {
                    return ensured_repo(&done[1], repo);
                }
            }
        }

        async fn link_repo_blob<'c, E>(conn: E, repo_id: i64, digest: &Digest, now: i64) -> Result<()>
        where
            E: sqlx::Executor<'c, Database = Db>,
        {
            sqlx::query(
                "INSERT INTO repo_blobs (repo_id, digest, created_at, last_touched) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (repo_id, digest) DO UPDATE SET last_touched = excluded.last_touched",
            )
                .bind(repo_id)
                .bind(digest.to_string())
                .bind(now)
                .execute(conn)
                .await
                .map_err(db_err)?;
            Ok(())
        }

        /// A repository's id and project id, its row kept from deletion until the transaction
        /// ends (level 1 of "Lock order").
        async fn repo_ids(conn: &mut <Db as sqlx::Database>::Connection, repo: &RepoName) -> Result<Option<(i64, Option<i64>)>> {
            let sql = format!("SELECT id, project_id FROM repositories WHERE name = $1{FOR_KEY_SHARE}");
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(repo.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)
        }

        async fn repo_id<'c, E>(conn: E, repo: &RepoName) -> Result<Option<i64>>
        where
            E: sqlx::Executor<'c, Database = Db>,
        {
            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM repositories WHERE name = $1")
                .bind(repo.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)?;
            Ok(row.map(|(id,)| id))
        }
    };
}

pub(crate) use sql_metadata_store;

#[cfg(test)]
mod tests {
    use super::statement_sizes;

    #[test]
    fn statement_sizes_cover_every_row_in_few_shapes() {
        assert_eq!(statement_sizes(0, 1000), Vec::<usize>::new());
        assert_eq!(statement_sizes(3, 1000), vec![3]);
        assert_eq!(statement_sizes(16, 1000), vec![16]);
        assert_eq!(statement_sizes(17, 1000), vec![16, 1]);
        assert_eq!(statement_sizes(2000, 1000), vec![1000, 1000]);
        assert_eq!(
            statement_sizes(4096, 1000),
            vec![1000, 1000, 1000, 1000, 64, 32]
        );
        let mut shapes = std::collections::BTreeSet::new();
        for n in 0..=5000 {
            let sizes = statement_sizes(n, 1000);
            assert_eq!(sizes.iter().sum::<usize>(), n, "{n}");
            assert!(sizes.iter().all(|&s| s > 0 && s <= 1000), "{n}: {sizes:?}");
            shapes.extend(sizes);
        }
        // 1000, 512, 256, 128, 64, 32, 16 and 1 to 15.
        assert_eq!(shapes.len(), 22, "{shapes:?}");
    }
}
