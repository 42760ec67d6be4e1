//! The SQL of [`super::policy::PolicyStore`], shared by SQLite and PostgreSQL like
//! [`super::identity_sql`] (and expanded next to it: it uses that module's `list_page`).

macro_rules! sql_policy_store {
    ($store:ty) => {
        use $crate::meta::policy::*;

        const IMMUTABLE_COLS: &str = "id, project_id, priority, disabled, selectors, fingerprint, created_at, updated_at";
        const RETENTION_COLS: &str = "id, project_id, policy, created_at, updated_at";
        const RETENTION_TASK_COLS: &str = "id, execution_id, repository, status, total, retained, start_time, end_time";

        fn duplicate_rule(e: sqlx::Error) -> Error {
            match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::AlreadyExists { what: "an immutable rule with the same selectors".into() }
                }
                _ => db_err(e),
            }
        }

        #[async_trait::async_trait]
        impl $crate::meta::policy::PolicyStore for $store {
            async fn create_immutable_rule(&self, r: &ImmutableRuleRow, max: i64) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM immutable_rules WHERE project_id = $1")
                    .bind(r.project_id).fetch_one(&mut *tx).await.map_err(db_err)?;
                if n >= max {
                    return Err(Error::BadRequest { reason: format!("a project has at most {max} immutable rules") });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO immutable_rules (project_id, priority, disabled, selectors, fingerprint, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(r.project_id).bind(r.priority).bind(r.disabled).bind(r.selectors.clone()).bind(r.fingerprint.clone()).bind(r.created_at)
                .fetch_one(&mut *tx).await.map_err(duplicate_rule)?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn update_immutable_rule(&self, r: &ImmutableRuleRow) -> Result<bool> {
                let q = sqlx::query(
                    "UPDATE immutable_rules SET priority = $3, disabled = $4, selectors = $5, fingerprint = $6, updated_at = $7
                     WHERE id = $1 AND project_id = $2",
                )
                .bind(r.id).bind(r.project_id).bind(r.priority).bind(r.disabled).bind(r.selectors.clone()).bind(r.fingerprint.clone()).bind(r.updated_at);
                Ok(q.execute(&mut *self.write_conn().await?).await.map_err(duplicate_rule)?.rows_affected() > 0)
            }

            async fn delete_immutable_rule(&self, project_id: i64, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM immutable_rules WHERE id = $1 AND project_id = $2").bind(id).bind(project_id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn immutable_rule(&self, project_id: i64, id: i64) -> Result<Option<ImmutableRuleRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {IMMUTABLE_COLS} FROM immutable_rules WHERE id = $1 AND project_id = $2")))
                    .bind(id).bind(project_id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_immutable_rules(&self, project_id: i64, spec: &ListSpec) -> Result<(Vec<ImmutableRuleRow>, u64)> {
                self.list_page(IMMUTABLE_COLS, |qb| {
                    qb.push("FROM immutable_rules WHERE project_id = ").push_bind(project_id);
                }, spec, "id").await
            }

            async fn immutable_rules_of(&self, project: &str) -> Result<Option<(i64, Vec<ImmutableRuleRow>)>> {
                #[derive(sqlx::FromRow)]
                struct Row {
                    pid: i64,
                    id: Option<i64>,
                    priority: Option<i64>,
                    disabled: Option<bool>,
                    selectors: Option<String>,
                    fingerprint: Option<String>,
                    created_at: Option<i64>,
                    updated_at: Option<i64>,
                }
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT p.id AS pid, r.id, r.priority, r.disabled, r.selectors, r.fingerprint, r.created_at, r.updated_at
                     FROM projects p LEFT JOIN immutable_rules r ON r.project_id = p.id WHERE p.name = $1 ORDER BY r.id",
                )
                .bind(project).fetch_all(&self.pool).await.map_err(db_err)?;
                let Some(pid) = rows.first().map(|r| r.pid) else { return Ok(None) };
                let rules = rows
                    .into_iter()
                    .filter_map(|r| {
                        Some(ImmutableRuleRow {
                            id: r.id?,
                            project_id: r.pid,
                            priority: r.priority?,
                            disabled: r.disabled?,
                            selectors: r.selectors?,
                            fingerprint: r.fingerprint?,
                            created_at: r.created_at?,
                            updated_at: r.updated_at?,
                        })
                    })
                    .collect();
                Ok(Some((pid, rules)))
            }

            async fn create_retention_policy(&self, project_id: i64, policy: &str, now: i64) -> Result<i64> {
                let mut tx = self.begin_write().await?;
                let existing: Option<(i64,)> = sqlx::query_as("SELECT id FROM retention_policies WHERE project_id = $1")
                    .bind(project_id).fetch_optional(&mut *tx).await.map_err(db_err)?;
                if let Some((id,)) = existing {
                    return Err(Error::BadRequest { reason: format!("project {project_id} already has retention policy {id}; update it instead") });
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO retention_policies (project_id, policy, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
                )
                .bind(project_id).bind(policy).bind(now).fetch_one(&mut *tx).await.map_err(db_err)?;
                sqlx::query("INSERT INTO project_metadata (project_id, key, value) VALUES ($1, 'retention_id', $2)
                             ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value")
                    .bind(project_id).bind(id.to_string()).execute(&mut *tx).await.map_err(db_err)?;
                commit_tx(tx).await?;
                Ok(id)
            }

            async fn update_retention_policy(&self, id: i64, policy: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE retention_policies SET policy = $2, updated_at = $3 WHERE id = $1")
                    .bind(id).bind(policy.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_retention_policy(&self, id: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let Some((project_id,)): Option<(i64,)> = sqlx::query_as("DELETE FROM retention_policies WHERE id = $1 RETURNING project_id")
                    .bind(id).fetch_optional(&mut *tx).await.map_err(db_err)? else { return Ok(false) };
                sqlx::query("DELETE FROM project_metadata WHERE project_id = $1 AND key = 'retention_id'")
                    .bind(project_id).execute(&mut *tx).await.map_err(db_err)?;
                commit_tx(tx).await?;
                Ok(true)
            }

            async fn retention_policy(&self, id: i64) -> Result<Option<RetentionPolicyRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RETENTION_COLS} FROM retention_policies WHERE id = $1")))
                    .bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn add_retention_task(&self, t: &RetentionTaskRow) -> Result<i64> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO retention_tasks (execution_id, repository, status, total, retained, start_time, end_time, log)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(t.execution_id).bind(t.repository.clone()).bind(t.status.clone()).bind(t.total).bind(t.retained)
                .bind(t.start_time).bind(t.end_time).bind(t.log.clone());
                let (id,) = q.fetch_one(&mut *self.write_conn().await?).await.map_err(db_err)?;
                Ok(id)
            }

            async fn list_retention_tasks(&self, execution_id: i64, spec: &ListSpec) -> Result<(Vec<RetentionTaskRow>, u64)> {
                let cols = format!("{RETENTION_TASK_COLS}, '' AS log");
                self.list_page(&cols, |qb| {
                    qb.push("FROM retention_tasks WHERE execution_id = ").push_bind(execution_id);
                }, spec, "id").await
            }

            async fn retention_task(&self, execution_id: i64, id: i64) -> Result<Option<RetentionTaskRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {RETENTION_TASK_COLS}, log FROM retention_tasks WHERE execution_id = $1 AND id = $2")))
                    .bind(execution_id).bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn project_repositories(&self, project_id: i64) -> Result<Vec<ProjectRepo>> {
                sqlx::query_as("SELECT id, name FROM repositories WHERE project_id = $1 ORDER BY name")
                    .bind(project_id).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn create_trust_key(&self, k: &TrustKeyRow) -> Result<i64> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO trust_keys (project_id, name, kind, algorithm, pem, fingerprint, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(k.project_id).bind(&k.name).bind(&k.kind).bind(&k.algorithm).bind(&k.pem).bind(&k.fingerprint).bind(k.created_at)
                .fetch_one(&mut *self.write_conn().await?)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(d) if d.is_unique_violation() => Error::AlreadyExists { what: "this key in the project".into() },
                    _ => db_err(e),
                })?;
                Ok(id)
            }

            async fn trust_keys(&self, project_id: i64) -> Result<Vec<TrustKeyRow>> {
                sqlx::query_as(
                    "SELECT id, project_id, name, kind, algorithm, pem, fingerprint, created_at FROM trust_keys WHERE project_id = $1 ORDER BY id",
                )
                .bind(project_id).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn delete_trust_key(&self, project_id: i64, id: i64) -> Result<bool> {
                Ok(sqlx::query("DELETE FROM trust_keys WHERE project_id = $1 AND id = $2")
                    .bind(project_id).bind(id).execute(&mut *self.write_conn().await?).await.map_err(db_err)?.rows_affected() > 0)
            }

            async fn repo_inventory(&self, repo_id: i64) -> Result<RepoInventory> {
                // One snapshot: a push between the reads cannot pair a tag with a missing manifest.
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let manifests = sqlx::query_as(
                    // An accessory's subject is the manifest's own, or the one its cosign tag names:
                    // retention treats both as dependents of that subject.
                    "SELECT m.digest, m.created_at AS push_time, m.pulled_at AS pull_time, COALESCE(a.subject, m.subject) AS subject,
                     a.digest IS NOT NULL AS accessory
                     FROM manifests m LEFT JOIN accessories a ON a.repo_id = m.repo_id AND a.digest = m.digest
                     WHERE m.repo_id = $1 ORDER BY m.digest",
                )
                .bind(repo_id).fetch_all(&mut *tx).await.map_err(db_err)?;
                let tags = sqlx::query_as("SELECT digest, name FROM tags WHERE repo_id = $1 ORDER BY name")
                    .bind(repo_id).fetch_all(&mut *tx).await.map_err(db_err)?;
                let labels = sqlx::query_as(
                    "SELECT al.digest, l.name FROM artifact_labels al JOIN labels l ON l.id = al.label_id WHERE al.repo_id = $1",
                )
                .bind(repo_id).fetch_all(&mut *tx).await.map_err(db_err)?;
                let children = sqlx::query_as(
                    "SELECT manifest_digest, child_digest FROM manifest_refs WHERE repo_id = $1 AND kind = 'manifest'",
                )
                .bind(repo_id).fetch_all(&mut *tx).await.map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(RepoInventory { manifests, tags, labels, children })
            }
        }
    };
}

pub(crate) use sql_policy_store;
