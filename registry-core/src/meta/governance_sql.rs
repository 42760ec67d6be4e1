//! The SQL of [`super::governance::GovernanceStore`], shared by SQLite and PostgreSQL like
//! [`super::sql`]. Each backend defines `SKIP_LOCKED` (PostgreSQL: ` FOR UPDATE SKIP LOCKED`;
//! SQLite, which has one writer, nothing).
//!
//! Quota accounting lives here too, as free functions the other store macros call inside their
//! transactions: a transaction that changes what a project holds locks the project's quota row
//! ([`lock_quota`]) before it changes the project's holds or usage, last of its locks ("Lock
//! order" in `sql.rs`), so those changes are serialized and the stored usage always equals a
//! recount.

macro_rules! sql_governance_store {
    ($store:ty) => {
        use $crate::meta::governance::*;
        use $crate::meta::sql::Batch;

        const QUOTA_COLS: &str = "q.id, q.project_id, p.name AS project_name, q.hard, q.used, q.created_at, q.updated_at";
        const EXECUTION_COLS: &str = "id, vendor_type, vendor_id, trigger_kind, params, status, status_message, extra_attrs,
            start_time, update_time, end_time";
        const TASK_COLS: &str = "id, execution_id, vendor_type, params, status, status_message, attempts, max_attempts, run_at,
            lease_owner, lease_until, stop_requested, extra_attrs, log, creation_time, start_time, update_time, end_time";
        const EVENT_COLS: &str = "id, event_type, resource_type, resource, operation, project_id, operator, remote_addr,
            success, payload, created_at";
        /// Ten values a row: 1,000 rows stay well under either backend's bound-parameter limit
        /// (SQLite 32,766; PostgreSQL 65,535).
        const EVENTS_PER_STATEMENT: usize = 1000;
        /// A blob is referenced while a repository links it or a manifest lists it.
        const BLOB_UNREFERENCED: &str = "NOT EXISTS (SELECT 1 FROM repo_blobs rb WHERE rb.digest = b.digest)
            AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.child_digest = b.digest)";

        /// The project's quota as `(hard, used)`, row-locked until the transaction ends (an
        /// `UPDATE` takes the lock on PostgreSQL; SQLite's writer holds the whole database).
        /// A project without a quota row gets an unlimited one.
        pub(crate) async fn lock_quota(conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, now: i64) -> Result<(i64, i64)> {
            let row: Option<(i64, i64)> = sqlx::query_as("UPDATE quotas SET hard = hard WHERE project_id = $1 RETURNING hard, used")
                .bind(project_id)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            if let Some(r) = row {
                return Ok(r);
            }
            sqlx::query("INSERT INTO quotas (project_id, hard, used, created_at, updated_at) VALUES ($1, -1, 0, $2, $2) ON CONFLICT (project_id) DO NOTHING")
                .bind(project_id)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let (hard, used): (i64, i64) = sqlx::query_as("UPDATE quotas SET hard = hard WHERE project_id = $1 RETURNING hard, used")
                .bind(project_id)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok((hard, used))
        }

        /// The project of `repo` (by its first segment) and its quota, locked as [`lock_quota`]
        /// does: one statement when the quota row exists, as it does once the project has held
        /// anything. `NameUnknown` when there is no such project.
        pub(crate) async fn lock_project_quota(conn: &mut <Db as sqlx::Database>::Connection, repo: &RepoName, now: i64) -> Result<(i64, (i64, i64))> {
            let mut b = Batch::new();
            push_lock_project_quota(&mut b, repo);
            let done = b.run(&mut *conn).await.map_err(db_err)?;
            if let Some(locked) = locked_quota(&done[0])? {
                return Ok(locked);
            }
            let project_id = project_of(&mut *conn, repo).await?.ok_or_else(|| $crate::meta::no_project(repo))?;
            Ok((project_id, lock_quota(conn, project_id, now).await?))
        }

        /// [`lock_project_quota`]'s statement, first in a batch: read its result with
        /// [`locked_quota`].
        pub(crate) fn push_lock_project_quota(b: &mut Batch<Db>, repo: &RepoName) {
            b.push("UPDATE quotas SET hard = hard WHERE project_id = (SELECT id FROM projects WHERE name = ")
                .push_bind(repo.project())
                .push(") RETURNING project_id, hard, used");
        }

        /// The project and its locked quota `(hard, used)`, or `None` when the project or its
        /// quota row does not exist ([`lock_project_quota`] tells which, and creates the row).
        pub(crate) fn locked_quota(done: &$crate::meta::sql::Done<Db>) -> Result<Option<(i64, (i64, i64))>> {
            use sqlx::Row as _;
            let Some(row) = done.rows.first() else { return Ok(None) };
            let get = |i: usize| row.try_get::<i64, _>(i).map_err(db_err);
            Ok(Some((get(0)?, (get(1)?, get(2)?))))
        }

        /// Record that the project holds `digest`; the bytes added to its usage (0 if it held it).
        pub(crate) async fn hold_digest(conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, digest: &str, size: i64, now: i64) -> Result<i64> {
            let mut b = Batch::new();
            push_hold(&mut b, project_id, digest, size, now);
            let done = b.run(conn).await.map_err(db_err)?;
            Ok(if done[0].affected > 0 { size } else { 0 })
        }

        /// [`hold_digest`] of `digests` (digest, size) for the project of `repo` (by its first
        /// segment), as the next statement of a batch: one row returned per digest the project
        /// did not hold yet (`digest, size`), none when there is no such project.
        pub(crate) fn push_hold_in(b: &mut Batch<Db>, repo: &RepoName, digests: &[(&str, i64)], now: i64) {
            let q = b.push("INSERT INTO project_blobs (project_id, digest, size, created_at) ");
            for (k, (digest, size)) in digests.iter().enumerate() {
                q.push(if k == 0 { "SELECT id, " } else { " UNION ALL SELECT id, " });
                q.push_bind(*digest).push(", ").push_bind(*size).push(", ").push_bind(now);
                q.push(" FROM projects WHERE name = ").push_bind(repo.project());
            }
            q.push(" ON CONFLICT DO NOTHING RETURNING digest, size");
        }

        /// [`hold_digest`] as the next statement of a batch: it changed a row if the project did
        /// not hold the digest yet.
        pub(crate) fn push_hold(b: &mut Batch<Db>, project_id: i64, digest: &str, size: i64, now: i64) {
            let q = b.push("INSERT INTO project_blobs (project_id, digest, size, created_at) VALUES (");
            q.push_bind(project_id).push(", ").push_bind(digest).push(", ").push_bind(size).push(", ").push_bind(now);
            q.push(") ON CONFLICT DO NOTHING");
        }

        /// Forget the project's hold on those of `digests` none of its repositories links or
        /// stores as a manifest any more; the bytes released.
        pub(crate) async fn release_digests(conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, digests: &[String]) -> Result<i64> {
            let mut released = 0;
            for chunk in digests.chunks(SQL_BATCH) {
                let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM project_blobs WHERE project_id = ");
                qb.push_bind(project_id).push(" AND digest IN ");
                push_list(&mut qb, chunk);
                // From the digest's few links and manifests to their repositories' project
                // (CROSS JOIN fixes SQLite's join order): the other way round probes every
                // repository of the project, twice per digest (1,000 repositories: 50,000
                // dropped links took a minute).
                qb.push(" AND NOT EXISTS (SELECT 1 FROM repo_blobs rb CROSS JOIN repositories r
                          WHERE rb.digest = project_blobs.digest AND r.id = rb.repo_id AND r.project_id = project_blobs.project_id)
                          AND NOT EXISTS (SELECT 1 FROM manifests m CROSS JOIN repositories r
                          WHERE m.digest = project_blobs.digest AND r.id = m.repo_id AND r.project_id = project_blobs.project_id)
                          RETURNING size");
                let rows: Vec<(i64,)> = qb.build_query_as().fetch_all(&mut *conn).await.map_err(db_err)?;
                released += rows.iter().map(|(s,)| s).sum::<i64>();
            }
            Ok(released)
        }

        /// Add `delta` bytes to the project's usage.
        pub(crate) async fn adjust_quota(conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, delta: i64, now: i64) -> Result<()> {
            if delta != 0 {
                sqlx::query("UPDATE quotas SET used = used + $2, updated_at = $3 WHERE project_id = $1")
                    .bind(project_id)
                    .bind(delta)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        }

        /// The project a repository name belongs to (by its first segment).
        pub(crate) async fn project_of(conn: &mut <Db as sqlx::Database>::Connection, repo: &RepoName) -> Result<Option<i64>> {
            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM projects WHERE name = $1")
                .bind(repo.project())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(row.map(|(id,)| id))
        }

        pub(crate) async fn insert_events_in(conn: &mut <Db as sqlx::Database>::Connection, events: &[NewEvent], project_id: Option<i64>, now: i64) -> Result<()> {
            // A query per chunk, each of a size from a short fixed list
            // ([`crate::meta::sql::statement_sizes`]): every statement is prepared once and
            // cached, where one query per count of events would be cached anew for each count
            // (flushes of pull entries, up to 4,096 each, held tens of megabytes that way).
            let mut rest = events;
            for n in $crate::meta::sql::statement_sizes(events.len(), EVENTS_PER_STATEMENT) {
                let (chunk, after) = rest.split_at(n);
                rest = after;
                let mut b = Batch::new();
                push_events(&mut b, chunk, project_id, now);
                b.run(&mut *conn).await.map_err(db_err)?;
            }
            Ok(())
        }

        /// [`insert_events_in`] as the next statements of a batch (none for no events), for
        /// the few events of one change.
        pub(crate) fn push_events(b: &mut Batch<Db>, events: &[NewEvent], project_id: Option<i64>, now: i64) {
            for chunk in events.chunks(EVENTS_PER_STATEMENT) {
                let q = b.push(
                    "INSERT INTO events (event_type, resource_type, resource, operation, project_id, operator, remote_addr, success, payload, created_at) ",
                );
                q.push_values(chunk, |mut row, e| {
                    row.push_bind(e.event_type.clone())
                        .push_bind(e.resource_type.clone())
                        .push_bind(e.resource.clone())
                        .push_bind(e.operation.clone())
                        .push_bind(e.project_id.or(project_id))
                        .push_bind(e.operator.clone())
                        .push_bind(e.remote_addr.clone())
                        .push_bind(e.success)
                        .push_bind(e.payload.clone())
                        .push_bind(now);
                });
            }
        }

        /// Charge `added` bytes to a project whose quota row [`lock_quota`] returned as
        /// `(hard, used)`: refuse with `QuotaExceeded` past the limit (the caller's transaction
        /// then rolls back), and record `QUOTA_WARNING` when usage crosses 85 % of it.
        pub(crate) async fn charge(conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, quota: (i64, i64), added: i64, now: i64) -> Result<()> {
            let mut b = Batch::new();
            charge_in(&mut b, conn, project_id, quota, added, now).await?;
            if !b.is_empty() {
                b.run(conn).await.map_err(db_err)?;
            }
            Ok(())
        }

        /// [`charge`] with its writes added to a batch, which the caller runs: the refusal is
        /// decided here, before anything is sent.
        pub(crate) async fn charge_in(b: &mut Batch<Db>, conn: &mut <Db as sqlx::Database>::Connection, project_id: i64, quota: (i64, i64), added: i64, now: i64) -> Result<()> {
            let (hard, used) = quota;
            if added <= 0 {
                return Ok(());
            }
            if hard >= 0 && used + added > hard {
                let (project,): (String,) = sqlx::query_as("SELECT name FROM projects WHERE id = $1")
                    .bind(project_id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
                return Err(Error::QuotaExceeded { project, hard, used, adding: added });
            }
            b.push("UPDATE quotas SET used = used + ").push_bind(added).push(", updated_at = ").push_bind(now)
                .push(" WHERE project_id = ").push_bind(project_id);
            if $crate::meta::governance::crosses_warning(hard, used, used + added) {
                let e = $crate::meta::governance::warning_event(project_id, hard, used + added);
                push_events(b, &[e], Some(project_id), now);
            }
            Ok(())
        }

        /// Insert an execution with its tasks (status `Pending`, or `Success` without tasks).
        pub(crate) async fn insert_execution(conn: &mut <Db as sqlx::Database>::Connection, e: &NewExecution, now: i64) -> Result<i64> {
            let status = if e.tasks.is_empty() { "Success" } else { "Pending" };
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO executions (vendor_type, vendor_id, trigger_kind, params, status, start_time, update_time, end_time)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
            )
            .bind(&e.vendor_type)
            .bind(e.vendor_id)
            .bind(&e.trigger)
            .bind(&e.params)
            .bind(status)
            .bind(now)
            .bind(e.tasks.is_empty().then_some(now))
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
            for chunk in e.tasks.chunks(SQL_BATCH / 8) {
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO tasks (execution_id, vendor_type, params, status, max_attempts, run_at, creation_time, update_time) ",
                );
                qb.push_values(chunk, |mut row, t| {
                    row.push_bind(id)
                        .push_bind(e.vendor_type.clone())
                        .push_bind(t.params.clone())
                        .push_bind("Pending")
                        .push_bind(t.max_attempts)
                        .push_bind(t.run_at)
                        .push_bind(now)
                        .push_bind(now);
                });
                qb.build().execute(&mut *conn).await.map_err(db_err)?;
            }
            Ok(id)
        }

        /// Merge the keys of JSON object `add` into JSON object `base`.
        fn merge_json(base: &str, add: &str) -> String {
            let mut b: serde_json::Map<String, serde_json::Value> = serde_json::from_str(base).unwrap_or_default();
            if let Ok(serde_json::Value::Object(a)) = serde_json::from_str::<serde_json::Value>(add) {
                b.extend(a);
            }
            serde_json::Value::Object(b).to_string()
        }

        #[async_trait::async_trait]
        impl $crate::meta::governance::GovernanceStore for $store {
            async fn quota_by_project(&self, project_id: i64) -> Result<Option<QuotaRow>> {
                let sql = format!("SELECT {QUOTA_COLS} FROM quotas q JOIN projects p ON p.id = q.project_id WHERE q.project_id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(project_id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn quota_by_id(&self, id: i64) -> Result<Option<QuotaRow>> {
                let sql = format!("SELECT {QUOTA_COLS} FROM quotas q JOIN projects p ON p.id = q.project_id WHERE q.id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_quotas(&self, project_ids: Option<&[i64]>, spec: &ListSpec) -> Result<(Vec<QuotaRow>, u64)> {
                if project_ids.is_some_and(|ids| ids.is_empty()) {
                    return Ok((Vec::new(), 0));
                }
                self.list_page(QUOTA_COLS, |qb| {
                    qb.push("FROM quotas q JOIN projects p ON p.id = q.project_id WHERE 1 = 1");
                    if let Some(ids) = project_ids {
                        qb.push(" AND q.project_id IN (");
                        let mut list = qb.separated(", ");
                        for id in ids {
                            list.push_bind(*id);
                        }
                        qb.push(")");
                    }
                }, spec, "q.id").await
            }

            async fn set_quota_hard(&self, id: i64, hard: i64, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE quotas SET hard = $2, updated_at = $3 WHERE id = $1").bind(id).bind(hard).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn quota_check(&self) -> Result<Vec<QuotaAudit>> {
                let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT q.project_id, q.used, CAST(COALESCE((SELECT SUM(d.size) FROM (
                         SELECT rb.digest, MAX(b.size) AS size FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id
                           JOIN blobs b ON b.digest = rb.digest WHERE r.project_id = q.project_id GROUP BY rb.digest
                         UNION
                         SELECT m.digest, MAX(m.size) AS size FROM manifests m JOIN repositories r ON r.id = m.repo_id
                           WHERE r.project_id = q.project_id GROUP BY m.digest) d), 0) AS BIGINT)
                     FROM quotas q ORDER BY q.project_id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows.into_iter().map(|(project_id, stored, recount)| QuotaAudit { project_id, stored, recount }).collect())
            }

            async fn insert_events(&self, events: &[NewEvent], now: i64) -> Result<()> {
                if events.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                insert_events_in(&mut tx, events, None, now).await?;
                commit_tx(tx).await
            }

            async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>> {
                let sql = format!("SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn pending_notifications(&self, limit: i64) -> Result<Vec<EventRow>> {
                let sql = format!("SELECT {EVENT_COLS} FROM events WHERE notify_pending ORDER BY id LIMIT $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(limit).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn settle_unwatched_notifications(&self) -> Result<u64> {
                let q = sqlx::query(
                    "UPDATE events SET notify_pending = FALSE WHERE notify_pending AND NOT EXISTS
                     (SELECT 1 FROM webhook_policies w WHERE w.enabled AND w.project_id = events.project_id)",
                );
                Ok(q.execute(&mut *self.write_conn().await?).await.map_err(db_err)?.rows_affected())
            }

            async fn mark_notified(&self, ids: &[i64]) -> Result<()> {
                for chunk in ids.chunks(SQL_BATCH) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new("UPDATE events SET notify_pending = FALSE WHERE id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *self.write_conn().await?).await.map_err(db_err)?;
                }
                Ok(())
            }

            async fn create_execution(&self, e: &NewExecution, now: i64) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let id = insert_execution(&mut tx, e, now).await?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn claim_task(&self, owner: &str, now: i64, lease_ms: i64) -> Result<Option<TaskRow>> {
                let sql = format!(
                    "UPDATE tasks SET status = 'Running', lease_owner = $1, lease_until = $2, attempts = attempts + 1,
                         start_time = COALESCE(start_time, $3), update_time = $3
                     WHERE id = (SELECT id FROM tasks
                         WHERE (status = 'Pending' AND run_at <= $3) OR (status = 'Running' AND lease_until < $3)
                         ORDER BY run_at, id LIMIT 1{SKIP_LOCKED})
                     RETURNING {TASK_COLS}"
                );
                let mut tx = self.begin_write().await?;
                let task: Option<TaskRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(owner)
                    .bind(now + lease_ms)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if let Some(t) = &task {
                    sqlx::query("UPDATE executions SET status = 'Running', update_time = $2 WHERE id = $1 AND status = 'Pending'")
                        .bind(t.execution_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                commit_tx(tx).await?;
                Ok(task)
            }

            async fn renew_task(&self, id: i64, owner: &str, until: i64, log: &str, now: i64) -> Result<Option<bool>> {
                let row: Option<(bool,)> = sqlx::query_as(
                    "UPDATE tasks SET lease_until = $3, log = $4, update_time = $5
                     WHERE id = $1 AND lease_owner = $2 AND status = 'Running' RETURNING stop_requested",
                )
                .bind(id)
                .bind(owner)
                .bind(until)
                .bind(log)
                .bind(now)
                .fetch_optional(&mut *self.write_conn().await?)
                .await
                .map_err(db_err)?;
                Ok(row.map(|(s,)| s))
            }

            async fn finish_task(&self, id: i64, owner: &str, o: &TaskOutcome, now: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let done = matches!(o.status.as_str(), "Success" | "Error" | "Stopped");
                let row: Option<(i64,)> = sqlx::query_as(
                    "UPDATE tasks SET status = $3, status_message = $4, log = $5, extra_attrs = $6, run_at = COALESCE($7, run_at),
                         lease_owner = NULL, lease_until = NULL, update_time = $8, end_time = $9
                     WHERE id = $1 AND lease_owner = $2 AND status = 'Running' RETURNING execution_id",
                )
                .bind(id)
                .bind(owner)
                .bind(&o.status)
                .bind(&o.message)
                .bind(&o.log)
                .bind(&o.extra_attrs)
                .bind(o.retry_at)
                .bind(now)
                .bind(done.then_some(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                let Some((execution_id,)) = row else { return Ok(false) };
                let counts: Vec<(String, i64)> = sqlx::query_as("SELECT status, COUNT(*) FROM tasks WHERE execution_id = $1 GROUP BY status")
                    .bind(execution_id)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let has = |s: &str| counts.iter().any(|(k, n)| k == s && *n > 0);
                let status = if has("Pending") || has("Running") {
                    "Running"
                } else if has("Error") {
                    "Error"
                } else if has("Stopped") {
                    "Stopped"
                } else {
                    "Success"
                };
                let final_state = status != "Running";
                let (attrs, message): (String, String) = sqlx::query_as("SELECT extra_attrs, status_message FROM executions WHERE id = $1")
                    .bind(execution_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let attrs = match &o.execution_attrs {
                    Some(add) => merge_json(&attrs, add),
                    None => attrs,
                };
                let message = if o.status == "Error" && message.is_empty() { o.message.clone() } else { message };
                sqlx::query(
                    "UPDATE executions SET status = $2, extra_attrs = $3, status_message = $4, update_time = $5, end_time = $6 WHERE id = $1",
                )
                .bind(execution_id)
                .bind(status)
                .bind(attrs)
                .bind(message)
                .bind(now)
                .bind(final_state.then_some(now))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                commit_tx(tx).await?;
                Ok(true)
            }

            async fn execution(&self, id: i64) -> Result<Option<ExecutionRow>> {
                let sql = format!("SELECT {EXECUTION_COLS} FROM executions WHERE id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_executions(&self, vendor_type: &str, vendor_id: Option<i64>, spec: &ListSpec) -> Result<(Vec<ExecutionRow>, u64)> {
                self.list_page(EXECUTION_COLS, |qb| {
                    qb.push("FROM executions WHERE vendor_type = ").push_bind(vendor_type.to_owned());
                    if let Some(v) = vendor_id {
                        qb.push(" AND vendor_id = ").push_bind(v);
                    }
                }, spec, "id").await
            }

            async fn list_tasks(&self, execution_id: i64) -> Result<Vec<TaskRow>> {
                let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE execution_id = $1 ORDER BY id");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(execution_id).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn task(&self, id: i64) -> Result<Option<TaskRow>> {
                let sql = format!("SELECT {TASK_COLS} FROM tasks WHERE id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn stop_execution(&self, id: i64, now: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let active: Option<(String,)> = sqlx::query_as(
                    "UPDATE executions SET update_time = $2 WHERE id = $1 AND status IN ('Pending', 'Running') RETURNING status",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                if active.is_none() {
                    return Ok(false);
                }
                sqlx::query("UPDATE tasks SET status = 'Stopped', end_time = $2, update_time = $2 WHERE execution_id = $1 AND status = 'Pending'")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let (running,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM tasks WHERE execution_id = $1 AND status = 'Running'",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE tasks SET stop_requested = TRUE WHERE execution_id = $1 AND status = 'Running'")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                if running == 0 {
                    sqlx::query("UPDATE executions SET status = 'Stopped', end_time = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                commit_tx(tx).await?;
                Ok(true)
            }

            async fn active_execution(&self, vendor_type: &str, vendor_id: i64) -> Result<Option<i64>> {
                let row: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM executions WHERE vendor_type = $1 AND vendor_id = $2 AND status IN ('Pending', 'Running') ORDER BY id LIMIT 1",
                )
                .bind(vendor_type)
                .bind(vendor_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(row.map(|(id,)| id))
            }

            async fn trim_executions(&self, vendor_type: &str, keep: i64) -> Result<u64> {
                let q = sqlx::query(
                    "DELETE FROM executions WHERE vendor_type = $1 AND status NOT IN ('Pending', 'Running') AND id NOT IN
                     (SELECT id FROM executions WHERE vendor_type = $1 ORDER BY id DESC LIMIT $2)",
                )
                .bind(vendor_type)
                .bind(keep);
                self.write_one(q).await
            }

            async fn upsert_schedule(&self, s: &ScheduleRow) -> Result<()> {
                let q = sqlx::query(
                    "INSERT INTO schedules (vendor_type, vendor_id, cron, params, next_fire, creation_time, update_time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (vendor_type, vendor_id) DO UPDATE SET cron = excluded.cron, params = excluded.params,
                         next_fire = excluded.next_fire, update_time = excluded.update_time",
                )
                .bind(&s.vendor_type)
                .bind(s.vendor_id)
                .bind(&s.cron)
                .bind(&s.params)
                .bind(s.next_fire)
                .bind(s.creation_time)
                .bind(s.update_time);
                self.write_one(q).await.map(drop)
            }

            async fn delete_schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM schedules WHERE vendor_type = $1 AND vendor_id = $2").bind(vendor_type.to_owned()).bind(vendor_id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<Option<ScheduleRow>> {
                sqlx::query_as(
                    "SELECT id, vendor_type, vendor_id, cron, params, next_fire, creation_time, update_time
                     FROM schedules WHERE vendor_type = $1 AND vendor_id = $2",
                )
                .bind(vendor_type)
                .bind(vendor_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn due_schedules(&self, now: i64) -> Result<Vec<ScheduleRow>> {
                sqlx::query_as(
                    "SELECT id, vendor_type, vendor_id, cron, params, next_fire, creation_time, update_time
                     FROM schedules WHERE next_fire <= $1 ORDER BY next_fire",
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn advance_schedule(&self, id: i64, from: i64, to: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE schedules SET next_fire = $3 WHERE id = $1 AND next_fire = $2").bind(id).bind(from).bind(to);
                Ok(self.write_one(q).await? == 1)
            }

            async fn gc_untagged(&self, after: Option<(String, String)>, limit: i64) -> Result<Vec<(String, String)>> {
                let (after_repo, after_digest) = after.unwrap_or_default();
                let sql = format!(
                    "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id
                     WHERE (r.name, m.digest) > ($1, $2) AND {}
                     ORDER BY r.name, m.digest LIMIT $3",
                    $crate::meta::sql::MANIFEST_COLLECTABLE
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(after_repo)
                .bind(after_digest)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn gc_orphan_links(&self, after: Option<&LinkKey>, cutoff: i64, limit: i64) -> Result<Vec<LinkKey>> {
                let (repo_id, digest) = after.map(|k| (k.repo_id, k.digest.clone())).unwrap_or((i64::MIN, String::new()));
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT rb.repo_id, rb.digest FROM repo_blobs rb
                     WHERE (rb.repo_id, rb.digest) > ($1, $2) AND rb.last_touched < $3
                       AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.repo_id = rb.repo_id AND mr.child_digest = rb.digest
                                       AND (mr.repo_id, mr.child_digest) > ($1, $2))
                     ORDER BY rb.repo_id, rb.digest LIMIT $4",
                )
                .bind(repo_id)
                .bind(digest)
                .bind(cutoff)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows.into_iter().map(|(repo_id, digest)| LinkKey { repo_id, digest }).collect())
            }

            async fn gc_drop_links(&self, links: &[LinkKey], cutoff: i64, now: i64) -> Result<u64> {
                if links.is_empty() {
                    return Ok(0);
                }
                let mut repo_ids: Vec<i64> = links.iter().map(|k| k.repo_id).collect();
                repo_ids.sort_unstable();
                repo_ids.dedup();
                // One transaction for the page, a few statements per project: a transaction per
                // repository made 50,000 commits of 100,000 repositories' leftovers. Locks in
                // "Lock order" (`sql.rs`): the repositories, the links in key order, then the
                // quota rows in project order.
                let mut tx = self.begin_write().await?;
                let mut project_of = std::collections::HashMap::new();
                for chunk in repo_ids.chunks(SQL_BATCH) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT id, project_id FROM repositories WHERE project_id IS NOT NULL AND id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    qb.push(")").push(FOR_KEY_SHARE);
                    let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db_err)?;
                    project_of.extend(rows);
                }
                let mut keys: Vec<&LinkKey> = links.iter().filter(|k| project_of.contains_key(&k.repo_id)).collect();
                keys.sort_unstable_by(|a, b| (a.repo_id, &a.digest).cmp(&(b.repo_id, &b.digest)));
                keys.dedup_by(|a, b| (a.repo_id, &a.digest) == (b.repo_id, &b.digest));
                // `(repo_id = … AND digest = …) OR …`: one primary-key lookup per link on both
                // backends (SQLite scans the table for `(repo_id, digest) IN (VALUES …)`).
                let push_keys = |qb: &mut sqlx::QueryBuilder<Db>, chunk: &[&LinkKey]| {
                    qb.push(" AND (");
                    let mut list = qb.separated(" OR ");
                    for k in chunk {
                        list.push("(repo_id = ").push_bind_unseparated(k.repo_id).push_unseparated(" AND digest = ")
                            .push_bind_unseparated(k.digest.as_str()).push_unseparated(")");
                    }
                    qb.push(")");
                };
                let mut gone: std::collections::BTreeMap<i64, Vec<String>> = std::collections::BTreeMap::new();
                let mut dropped = 0;
                for chunk in keys.chunks(100) {
                    if !FOR_UPDATE.is_empty() {
                        let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT repo_id FROM repo_blobs WHERE last_touched < ");
                        qb.push_bind(cutoff);
                        push_keys(&mut qb, chunk);
                        qb.push(" ORDER BY repo_id, digest").push(FOR_UPDATE);
                        qb.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                    let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM repo_blobs WHERE last_touched < ");
                    qb.push_bind(cutoff);
                    push_keys(&mut qb, chunk);
                    qb.push(" AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.repo_id = repo_blobs.repo_id
                              AND mr.child_digest = repo_blobs.digest) RETURNING repo_id, digest");
                    let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db_err)?;
                    dropped += rows.len() as u64;
                    for (repo_id, digest) in rows {
                        gone.entry(project_of[&repo_id]).or_default().push(digest);
                    }
                }
                for (project_id, mut digests) in gone {
                    digests.sort_unstable();
                    digests.dedup();
                    lock_quota(&mut tx, project_id, now).await?;
                    let released = release_digests(&mut tx, project_id, &digests).await?;
                    adjust_quota(&mut tx, project_id, -released, now).await?;
                }
                commit_tx(tx).await?;
                Ok(dropped)
            }

            async fn gc_orphan_blobs(&self, after: Option<&str>, cutoff: i64, limit: i64, stale_links: bool) -> Result<Vec<(String, i64)>> {
                // A blob no manifest references has only unreferenced links, which phase 2 drops
                // when they are stale.
                // The subqueries repeat the keyset bound (`> $1`, implied by the join): with it,
                // PostgreSQL's merge anti-joins start each page's index scans where the page
                // starts instead of at the first digest, which made the scan quadratic (the
                // same holds for the links above).
                let unreferenced = if stale_links {
                    "NOT EXISTS (SELECT 1 FROM repo_blobs rb WHERE rb.digest = b.digest AND rb.digest > $1 AND rb.last_touched >= $2)
                     AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.child_digest = b.digest AND mr.child_digest > $1)"
                } else {
                    "NOT EXISTS (SELECT 1 FROM repo_blobs rb WHERE rb.digest = b.digest AND rb.digest > $1)
                     AND NOT EXISTS (SELECT 1 FROM manifest_refs mr WHERE mr.child_digest = b.digest AND mr.child_digest > $1)"
                };
                let sql = format!(
                    "SELECT b.digest, b.size FROM blobs b WHERE b.digest > $1 AND b.state <> 'deleting' AND b.last_touched < $2
                       AND {unreferenced} ORDER BY b.digest LIMIT $3"
                );
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(after.unwrap_or(""))
                    .bind(cutoff)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)
            }

            async fn gc_claim_blobs(&self, digests: &[String], cutoff: i64) -> Result<Vec<(String, i64)>> {
                let mut claimed = Vec::new();
                for chunk in digests.chunks(SQL_BATCH) {
                    let mut tx = self.begin_write().await?;
                    let mut qb = sqlx::QueryBuilder::<Db>::new("UPDATE blobs AS b SET state = 'deleting' WHERE b.state <> 'deleting' AND b.last_touched < ");
                    qb.push_bind(cutoff).push(" AND b.digest IN ");
                    push_list(&mut qb, chunk);
                    qb.push(" AND ").push(BLOB_UNREFERENCED).push(" RETURNING digest, size");
                    let mut rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *tx).await.map_err(db_err)?;
                    commit_tx(tx).await?;
                    // A link that committed while the claim waited for its row lock is not in
                    // the claim's snapshot (PostgreSQL rechecks only the row itself); a new
                    // statement sees it, and gives such blobs back before anything is deleted.
                    // Links after the claim see `deleting` and are refused.
                    if !rows.is_empty() {
                        let digests: Vec<String> = rows.iter().map(|(d, _)| d.clone()).collect();
                        let mut qb = sqlx::QueryBuilder::<Db>::new("UPDATE blobs AS b SET state = 'live' WHERE b.state = 'deleting' AND b.digest IN ");
                        push_list(&mut qb, &digests);
                        qb.push(" AND NOT (").push(BLOB_UNREFERENCED).push(") RETURNING digest");
                        let back: Vec<(String,)> = qb.build_query_as().fetch_all(&mut *self.write_conn().await?).await.map_err(db_err)?;
                        if !back.is_empty() {
                            tracing::info!(blobs = back.len(), "garbage collection gave back blobs linked while it claimed them");
                            rows.retain(|(d, _)| !back.iter().any(|(b,)| b == d));
                        }
                    }
                    claimed.extend(rows);
                }
                Ok(claimed)
            }

            async fn gc_forget_blobs(&self, digests: &[String]) -> Result<()> {
                for chunk in digests.chunks(SQL_BATCH) {
                    let mut tx = self.begin_write().await?;
                    let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM blobs WHERE state = 'deleting' AND digest IN ");
                    push_list(&mut qb, chunk);
                    qb.build().execute(&mut *tx).await.map_err(db_err)?;
                    commit_tx(tx).await?;
                }
                Ok(())
            }

            async fn gc_unclaim_blob(&self, digest: &str) -> Result<()> {
                let q = sqlx::query("UPDATE blobs SET state = 'live' WHERE digest = $1 AND state = 'deleting'").bind(digest.to_owned());
                self.write_one(q).await.map(drop)
            }

            async fn claim_blob(&self, digest: &str, size: i64, now: i64) -> Result<bool> {
                let q = sqlx::query(
                    "INSERT INTO blobs (digest, size, state, created_at, last_touched) VALUES ($1, $2, 'live', $3, $3)
                     ON CONFLICT (digest) DO UPDATE SET state = 'live', last_touched = excluded.last_touched
                     WHERE blobs.state <> 'deleting'",
                )
                .bind(digest.to_owned())
                .bind(size)
                .bind(now);
                Ok(self.write_one(q).await? == 1)
            }

            async fn touch_link(&self, repo: &str, digest: &str, stale: i64, now: i64) -> Result<()> {
                let q = sqlx::query(
                    "UPDATE repo_blobs SET last_touched = $4 WHERE digest = $2 AND last_touched < $3
                     AND repo_id = (SELECT id FROM repositories WHERE name = $1)",
                )
                .bind(repo.to_owned())
                .bind(digest.to_owned())
                .bind(stale)
                .bind(now);
                self.write_one(q).await.map(drop)
            }
        }
    };
}

pub(crate) use sql_governance_store;
