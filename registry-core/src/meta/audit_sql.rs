//! The SQL of [`super::audit::AuditStore`], shared by SQLite and PostgreSQL like
//! [`super::governance_sql`] (whose `EVENT_COLS`, `insert_execution` and `SKIP_LOCKED` it uses,
//! as it uses the listing helpers of [`super::identity_sql`]).

macro_rules! sql_audit_store {
    ($store:ty) => {
        const WEBHOOK_COLS: &str = "id, project_id, name, description, targets, event_types, creator, enabled, created_at, updated_at";

        /// `AND project_id IN (…)` when the listing is limited to some projects.
        fn push_scope(qb: &mut sqlx::QueryBuilder<Db>, projects: Option<&[i64]>) {
            if let Some(ids) = projects {
                qb.push(" AND project_id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                qb.push(")");
            }
        }

        /// `WHERE` of a purge: old enough, handled by the notifier, of the chosen types.
        fn push_purge_filter(qb: &mut sqlx::QueryBuilder<Db>, f: &$crate::meta::audit::PurgeFilter) {
            qb.push(" WHERE created_at < ").push_bind(f.before);
            if !f.types.is_empty() {
                qb.push(" AND ((operation || '_' || resource_type) IN (");
                let mut list = qb.separated(", ");
                for t in &f.types {
                    list.push_bind(t.to_ascii_lowercase());
                }
                qb.push(") OR event_type IN (");
                let mut list = qb.separated(", ");
                for t in &f.types {
                    list.push_bind(t.to_ascii_uppercase());
                }
                qb.push("))");
            }
        }

        #[async_trait::async_trait]
        impl $crate::meta::audit::AuditStore for $store {
            async fn list_events(&self, projects: Option<&[i64]>, spec: &ListSpec) -> Result<(Vec<EventRow>, u64)> {
                if projects.is_some_and(|p| p.is_empty()) {
                    return Ok((Vec::new(), 0));
                }
                self.list_page(EVENT_COLS, |qb| {
                    qb.push("FROM events WHERE 1 = 1");
                    push_scope(qb, projects);
                }, spec, "id DESC").await
            }

            async fn scan_events(
                &self,
                projects: Option<&[i64]>,
                filters: &[$crate::query::Filter],
                after: Option<i64>,
                desc: bool,
                limit: i64,
            ) -> Result<Vec<EventRow>> {
                if projects.is_some_and(|p| p.is_empty()) {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(EVENT_COLS).push(" FROM events WHERE 1 = 1");
                push_scope(&mut qb, projects);
                push_filters(&mut qb, filters);
                if let Some(after) = after {
                    qb.push(if desc { " AND id < " } else { " AND id > " }).push_bind(after);
                }
                qb.push(if desc { " ORDER BY id DESC LIMIT " } else { " ORDER BY id LIMIT " }).push_bind(limit);
                qb.build_query_as().fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn count_purgeable(&self, f: &$crate::meta::audit::PurgeFilter) -> Result<$crate::meta::audit::PurgeCount> {
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN notify_pending THEN 0 ELSE 1 END), 0) AS BIGINT),
                     CAST(COALESCE(SUM(CASE WHEN notify_pending THEN 1 ELSE 0 END), 0) AS BIGINT) FROM events",
                );
                push_purge_filter(&mut qb, f);
                let (purgeable, pending): (i64, i64) = qb.build_query_as().fetch_one(&self.pool).await.map_err(db_err)?;
                Ok($crate::meta::audit::PurgeCount { purgeable: purgeable as u64, pending: pending as u64 })
            }

            async fn purge_events(&self, f: &$crate::meta::audit::PurgeFilter, limit: i64) -> Result<u64> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM events WHERE id IN (SELECT id FROM events");
                push_purge_filter(&mut qb, f);
                qb.push(" AND NOT notify_pending ORDER BY id LIMIT ").push_bind(limit).push(")");
                let mut tx = self.begin_write().await?;
                let n = qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                commit_tx(tx).await?;
                Ok(n)
            }

            async fn create_webhook_policy(&self, p: &$crate::meta::audit::WebhookPolicyRow) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO webhook_policies (project_id, name, description, targets, event_types, creator, enabled, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(p.project_id)
                .bind(&p.name)
                .bind(&p.description)
                .bind(&p.targets)
                .bind(&p.event_types)
                .bind(&p.creator)
                .bind(p.enabled)
                .bind(p.created_at)
                .bind(p.updated_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(already(format!("webhook policy {:?}", p.name)))?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn webhook_policy(&self, id: i64) -> Result<Option<$crate::meta::audit::WebhookPolicyRow>> {
                let sql = format!("SELECT {WEBHOOK_COLS} FROM webhook_policies WHERE id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_webhook_policies(&self, project_id: i64, spec: &ListSpec) -> Result<(Vec<$crate::meta::audit::WebhookPolicyRow>, u64)> {
                self.list_page(WEBHOOK_COLS, |qb| {
                    qb.push("FROM webhook_policies WHERE project_id = ").push_bind(project_id);
                }, spec, "id").await
            }

            async fn all_webhook_policies(&self) -> Result<Vec<$crate::meta::audit::WebhookPolicyRow>> {
                let sql = format!("SELECT {WEBHOOK_COLS} FROM webhook_policies ORDER BY id");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn enabled_webhook_policies(&self, project_ids: &[i64]) -> Result<Vec<$crate::meta::audit::WebhookPolicyRow>> {
                if project_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(WEBHOOK_COLS).push(" FROM webhook_policies WHERE enabled = TRUE");
                push_scope(&mut qb, Some(project_ids));
                qb.push(" ORDER BY id");
                qb.build_query_as().fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn update_webhook_policy(&self, p: &$crate::meta::audit::WebhookPolicyRow) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE webhook_policies SET name = $3, description = $4, targets = $5, event_types = $6, enabled = $7, updated_at = $8
                     WHERE id = $1 AND project_id = $2",
                )
                .bind(p.id)
                .bind(p.project_id)
                .bind(&p.name)
                .bind(&p.description)
                .bind(&p.targets)
                .bind(&p.event_types)
                .bind(p.enabled)
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(already(format!("webhook policy {:?}", p.name)))?
                .rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn delete_webhook_policy(&self, project_id: i64, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM webhook_policies WHERE id = $1 AND project_id = $2").bind(id).bind(project_id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn webhook_last_triggers(&self, project_id: i64) -> Result<Vec<$crate::meta::audit::LastTriggerRow>> {
                sqlx::query_as(
                    "SELECT p.id AS policy_id, p.name AS policy_name, p.enabled, p.created_at, t.event_type, t.last_trigger
                     FROM webhook_triggers t JOIN webhook_policies p ON p.id = t.policy_id
                     WHERE p.project_id = $1 ORDER BY p.id, t.event_type",
                )
                .bind(project_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn claim_events(&self, claims: &[$crate::meta::audit::EventClaim], now: i64) -> Result<Vec<i64>> {
                if claims.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                // The claim: clear the pending flag of rows still pending. On PostgreSQL a row
                // another node is claiming is locked and skipped (it stays with that node, or is
                // pending again if that node rolls back); SQLite has one writer.
                let sql = format!(
                    "UPDATE events SET notify_pending = FALSE WHERE id IN
                     (SELECT id FROM events WHERE notify_pending AND id IN ({}) ORDER BY id{SKIP_LOCKED}) RETURNING id",
                    (1..=claims.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
                );
                let mut q = sqlx::query_as::<Db, (i64,)>(sqlx::AssertSqlSafe(sql));
                for c in claims {
                    q = q.bind(c.event_id);
                }
                let mut claimed: Vec<i64> = q.fetch_all(&mut *tx).await.map_err(db_err)?.into_iter().map(|(id,)| id).collect();
                claimed.sort_unstable();
                for c in claims.iter().filter(|c| claimed.binary_search(&c.event_id).is_ok()) {
                    for d in &c.deliveries {
                        insert_execution(&mut tx, &d.execution, now).await?;
                        sqlx::query(
                            "INSERT INTO webhook_triggers (policy_id, event_type, last_trigger) VALUES ($1, $2, $3)
                             ON CONFLICT (policy_id, event_type) DO UPDATE SET last_trigger = excluded.last_trigger",
                        )
                        .bind(d.policy_id)
                        .bind(&d.event_type)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    }
                }
                commit_tx(tx).await?;
                Ok(claimed)
            }
        }
    };
}

pub(crate) use sql_audit_store;
