//! The SQL of [`super::replication::ReplicationStore`], shared by SQLite and PostgreSQL like
//! [`super::policy_sql`].

macro_rules! sql_replication_store {
    ($store:ty) => {
        const REGISTRY_COLS: &str = "id, name, url, type, credential_type, access_key, access_secret, insecure, ca_certificate, description, status, created_at, updated_at";

        const POLICY_COLS: &str = "id, name, description, src_registry_id, dest_registry_id, dest_namespace, dest_namespace_replace_count, trigger_spec, filters, replicate_deletion, override_existing, enabled, speed, copy_by_chunk, single_active_replication, creator, created_at, updated_at";

        #[async_trait::async_trait]
        impl $crate::meta::replication::ReplicationStore for $store {
            async fn create_registry(&self, r: &$crate::meta::replication::RegistryRow) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO registries (name, url, type, credential_type, access_key, access_secret, insecure, ca_certificate, description, status, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(&r.name).bind(&r.url).bind(&r.kind).bind(&r.credential_type).bind(&r.access_key)
                .bind(&r.access_secret).bind(r.insecure).bind(&r.ca_certificate).bind(&r.description)
                .bind(&r.status).bind(r.created_at).bind(r.updated_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(already(format!("registry {:?}", r.name)))?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn registry_endpoint(&self, id: i64) -> Result<Option<$crate::meta::replication::RegistryRow>> {
                let sql = format!("SELECT {REGISTRY_COLS} FROM registries WHERE id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_registries(&self, spec: &ListSpec) -> Result<(Vec<$crate::meta::replication::RegistryRow>, u64)> {
                self.list_page(REGISTRY_COLS, |qb| {
                    qb.push("FROM registries WHERE 1 = 1");
                }, spec, "id").await
            }

            async fn all_registries(&self) -> Result<Vec<$crate::meta::replication::RegistryRow>> {
                let sql = format!("SELECT {REGISTRY_COLS} FROM registries ORDER BY id");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn update_registry(&self, r: &$crate::meta::replication::RegistryRow) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE registries SET name = $2, url = $3, type = $4, credential_type = $5, access_key = $6, access_secret = $7,
                       insecure = $8, ca_certificate = $9, description = $10, status = $11, updated_at = $12
                     WHERE id = $1",
                )
                .bind(r.id).bind(&r.name).bind(&r.url).bind(&r.kind).bind(&r.credential_type).bind(&r.access_key)
                .bind(&r.access_secret).bind(r.insecure).bind(&r.ca_certificate).bind(&r.description)
                .bind(&r.status).bind(r.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(already(format!("registry {:?}", r.name)))?
                .rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn set_registry_status(&self, id: i64, status: &str) -> Result<()> {
                let q = sqlx::query("UPDATE registries SET status = $2 WHERE id = $1 AND status <> $2").bind(id).bind(status.to_owned());
                self.write_one(q).await.map(drop)
            }

            async fn delete_registry(&self, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM registries WHERE id = $1").bind(id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn registry_users(&self, id: i64) -> Result<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT 'project ' || p.name FROM project_metadata m JOIN projects p ON p.id = m.project_id
                     WHERE m.key = 'registry_id' AND m.value = $1
                     UNION ALL
                     SELECT 'policy ' || name FROM replication_policies WHERE src_registry_id = $2 OR dest_registry_id = $2
                     ORDER BY 1",
                )
                .bind(id.to_string())
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(rows.into_iter().map(|(n,)| n).collect())
            }

            async fn create_replication_policy(&self, p: &$crate::meta::replication::PolicyRow) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO replication_policies (name, description, src_registry_id, dest_registry_id, dest_namespace,
                       dest_namespace_replace_count, trigger_spec, filters, replicate_deletion, override_existing, enabled, speed,
                       copy_by_chunk, single_active_replication, creator, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                )
                .bind(&p.name).bind(&p.description).bind(p.src_registry_id).bind(p.dest_registry_id).bind(&p.dest_namespace)
                .bind(p.dest_namespace_replace_count).bind(&p.trigger_spec).bind(&p.filters).bind(p.replicate_deletion)
                .bind(p.override_existing).bind(p.enabled).bind(p.speed).bind(p.copy_by_chunk).bind(p.single_active_replication)
                .bind(&p.creator).bind(p.created_at).bind(p.updated_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(already(format!("replication policy {:?}", p.name)))?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn replication_policy(&self, id: i64) -> Result<Option<$crate::meta::replication::PolicyRow>> {
                let sql = format!("SELECT {POLICY_COLS} FROM replication_policies WHERE id = $1");
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_replication_policies(&self, spec: &ListSpec) -> Result<(Vec<$crate::meta::replication::PolicyRow>, u64)> {
                self.list_page(POLICY_COLS, |qb| {
                    qb.push("FROM replication_policies WHERE 1 = 1");
                }, spec, "id").await
            }

            async fn replication_policies_triggered_by(&self, kind: &str) -> Result<Vec<$crate::meta::replication::PolicyRow>> {
                let sql = format!("SELECT {POLICY_COLS} FROM replication_policies WHERE enabled = TRUE ORDER BY id");
                let all: Vec<$crate::meta::replication::PolicyRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(db_err)?;
                // The trigger kind is inside JSON: filtered here, the table is small.
                Ok(all
                    .into_iter()
                    .filter(|p| {
                        serde_json::from_str::<serde_json::Value>(&p.trigger_spec)
                            .ok()
                            .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(|t| t == kind))
                            .unwrap_or(false)
                    })
                    .collect())
            }

            async fn update_replication_policy(&self, p: &$crate::meta::replication::PolicyRow) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE replication_policies SET name = $2, description = $3, src_registry_id = $4, dest_registry_id = $5,
                       dest_namespace = $6, dest_namespace_replace_count = $7, trigger_spec = $8, filters = $9,
                       replicate_deletion = $10, override_existing = $11, enabled = $12, speed = $13, copy_by_chunk = $14,
                       single_active_replication = $15, updated_at = $16
                     WHERE id = $1",
                )
                .bind(p.id).bind(&p.name).bind(&p.description).bind(p.src_registry_id).bind(p.dest_registry_id)
                .bind(&p.dest_namespace).bind(p.dest_namespace_replace_count).bind(&p.trigger_spec).bind(&p.filters)
                .bind(p.replicate_deletion).bind(p.override_existing).bind(p.enabled).bind(p.speed).bind(p.copy_by_chunk)
                .bind(p.single_active_replication).bind(p.updated_at)
                .execute(&mut *tx)
                .await
                .map_err(already(format!("replication policy {:?}", p.name)))?
                .rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn last_event_id(&self) -> Result<i64> {
                let (id,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM events")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(id)
            }

            async fn swap_setting(&self, key: &str, from: &str, to: &str) -> Result<bool> {
                let q = sqlx::query("UPDATE settings SET value = $3 WHERE key = $1 AND value = $2")
                    .bind(key.to_owned())
                    .bind(from.to_owned())
                    .bind(to.to_owned());
                Ok(self.write_one(q).await? == 1)
            }

            async fn delete_replication_policy(&self, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM replication_policies WHERE id = $1").bind(id);
                Ok(self.write_one(q).await? > 0)
            }
        }
    };
}

pub(crate) use sql_replication_store;
