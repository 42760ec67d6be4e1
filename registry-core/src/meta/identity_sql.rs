//! The SQL of [`super::identity::IdentityStore`], shared by SQLite and PostgreSQL like
//! [`super::sql`]. Listings are built with `QueryBuilder`: only whitelisted column expressions
//! (from [`crate::query::Field`]) are interpolated; every value is bound.

macro_rules! sql_identity_store {
    ($store:ty) => {
        use $crate::meta::identity::*;
        use $crate::query::{Filter, ListSpec, Match, Value};

        const PROJECT_COLS: &str = "p.id, p.name, p.owner_id, u.username AS owner_name, p.public,
            (SELECT COUNT(*) FROM repositories r WHERE r.project_id = p.id) AS repo_count, p.created_at, p.updated_at";
        const PROJECT_FROM: &str = "FROM projects p LEFT JOIN users u ON u.id = p.owner_id WHERE 1 = 1";
        const USER_COLS: &str = "id, username, email, realname, comment, password_hash, sysadmin, source, external_id,
            cli_secret_hash, created_at, updated_at";
        const GROUP_COLS: &str = "id, name, group_type, ldap_dn, created_at, updated_at";
        const MEMBER_COLS: &str = "m.id, m.project_id, m.entity_type, m.entity_id,
            COALESCE(u.username, g.name, '') AS entity_name, m.role, m.created_at, m.updated_at";
        const MEMBER_FROM: &str = "FROM project_members m
            LEFT JOIN users u ON m.entity_type = 'u' AND u.id = m.entity_id
            LEFT JOIN user_groups g ON m.entity_type = 'g' AND g.id = m.entity_id WHERE m.project_id = ";
        const ROBOT_COLS: &str = "id, name, description, level, project_id, secret_hash, disabled, duration, expires_at,
            creator_type, creator_ref, permissions, created_at, updated_at";
        const LABEL_COLS: &str = "id, name, description, color, scope, project_id, created_at, updated_at";
        const REPO_COLS: &str = "r.id, r.project_id, r.name, r.description,
            (SELECT COUNT(*) FROM manifests m WHERE m.repo_id = r.id) AS artifact_count, r.pull_count, r.created_at, r.updated_at";
        /// `REPO_COLS` without the artifact count.
        const REPO_UNCOUNTED_COLS: &str = "r.id, r.project_id, r.name, r.description, r.pull_count, r.created_at, r.updated_at";
        const ARTIFACT_COLS: &str = "m.repo_id, m.digest, m.media_type, m.artifact_type,
            m.size + m.blob_size AS size,
            m.created_at AS push_time, m.pulled_at AS pull_time, m.annotations";

        const ACCESSORY_COLS: &str = "SELECT a.digest, a.subject, a.kind, a.via, m.size + m.blob_size AS size, a.created_at
            FROM accessories a JOIN manifests m ON m.repo_id = a.repo_id AND m.digest = a.digest";

        fn already(what: String) -> impl FnOnce(sqlx::Error) -> Error {
            move |e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => Error::AlreadyExists { what },
                _ => db_err(e),
            }
        }

        fn push_value(qb: &mut sqlx::QueryBuilder<Db>, v: &Value) {
            match v {
                Value::Text(s) => qb.push_bind(s.clone()),
                Value::Int(n) => qb.push_bind(*n),
            };
        }

        fn push_filters(qb: &mut sqlx::QueryBuilder<Db>, filters: &[Filter]) {
            for f in filters {
                match &f.matcher {
                    Match::Exact(v) => {
                        qb.push(format_args!(" AND {} = ", f.column));
                        push_value(qb, v);
                    }
                    Match::Fuzzy(s) => {
                        let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                        qb.push(format_args!(" AND {} LIKE ", f.column));
                        qb.push_bind(format!("%{escaped}%"));
                        qb.push(" ESCAPE '\\'");
                    }
                    Match::Range(lo, hi) => {
                        if let Some(lo) = lo {
                            qb.push(format_args!(" AND {} >= ", f.column));
                            push_value(qb, lo);
                        }
                        if let Some(hi) = hi {
                            qb.push(format_args!(" AND {} <= ", f.column));
                            push_value(qb, hi);
                        }
                    }
                    Match::AnyOf(vs) => {
                        qb.push(format_args!(" AND {} IN (", f.column));
                        for (i, v) in vs.iter().enumerate() {
                            if i > 0 {
                                qb.push(", ");
                            }
                            push_value(qb, v);
                        }
                        qb.push(")");
                    }
                    Match::AllOf(vs) => {
                        for v in vs {
                            qb.push(format_args!(" AND {} = ", f.column));
                            push_value(qb, v);
                        }
                    }
                }
            }
        }

        fn push_order<C: std::fmt::Display>(qb: &mut sqlx::QueryBuilder<Db>, sort: impl IntoIterator<Item = (C, bool)>, tiebreak: &str) {
            qb.push(" ORDER BY ");
            for (col, desc) in sort {
                qb.push(format_args!("{col}{}, ", if desc { " DESC" } else { "" }));
            }
            qb.push(tiebreak);
        }

        /// `AND (<visibility>)` over the project id expression `col`.
        fn push_visibility(qb: &mut sqlx::QueryBuilder<Db>, vis: &Visibility, col: &str) {
            if vis.all {
                return;
            }
            qb.push(" AND (1 = 0");
            if vis.public {
                qb.push(format_args!(" OR EXISTS (SELECT 1 FROM projects pv WHERE pv.id = {col} AND pv.public = TRUE)"));
            }
            if let Some((user, groups)) = &vis.member {
                qb.push(format_args!(" OR EXISTS (SELECT 1 FROM project_members pm WHERE pm.project_id = {col} AND ((pm.entity_type = 'u' AND pm.entity_id = "));
                qb.push_bind(*user);
                qb.push(")");
                if !groups.is_empty() {
                    qb.push(" OR (pm.entity_type = 'g' AND pm.entity_id IN (");
                    let mut list = qb.separated(", ");
                    for g in groups {
                        list.push_bind(*g);
                    }
                    qb.push("))");
                }
                qb.push("))");
            }
            if !vis.projects.is_empty() {
                qb.push(format_args!(" OR {col} IN ("));
                let mut list = qb.separated(", ");
                for p in &vis.projects {
                    list.push_bind(*p);
                }
                qb.push(")");
            }
            qb.push(")");
        }

        impl $store {
            /// Count then fetch one page. `from` pushes `FROM … WHERE …` (without filters).
            ///
            /// Listings are not prepared statements (`persistent(false)`): PostgreSQL then plans
            /// each with its values. A cached generic plan is made for the average repository
            /// or filter, and one made for a repository of 5 artifacts took a second on one of
            /// 10,000 (docs/benchmarks.md, "Metadata at size").
            async fn list_page<T>(
                &self,
                cols: &str,
                from: impl Fn(&mut sqlx::QueryBuilder<Db>),
                spec: &ListSpec,
                tiebreak: &str,
            ) -> Result<(Vec<T>, u64)>
            where
                T: for<'r> sqlx::FromRow<'r, <Db as sqlx::Database>::Row> + Send + Unpin,
            {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*) ");
                from(&mut qb);
                push_filters(&mut qb, &spec.filters);
                let (total,): (i64,) = qb.build_query_as().persistent(false).fetch_one(&self.pool).await.map_err(db_err)?;
                if total == 0 {
                    return Ok((Vec::new(), 0));
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(cols).push(" ");
                from(&mut qb);
                push_filters(&mut qb, &spec.filters);
                push_order(&mut qb, spec.sort.iter().copied(), tiebreak);
                qb.push(" LIMIT ").push_bind(spec.limit()).push(" OFFSET ").push_bind(spec.offset());
                let rows = qb.build_query_as::<T>().persistent(false).fetch_all(&self.pool).await.map_err(db_err)?;
                Ok((rows, total as u64))
            }

            async fn project_where(&self, cond: &str, v: Value) -> Result<Option<ProjectRow>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(PROJECT_COLS).push(" ").push(PROJECT_FROM).push(" AND ").push(cond);
                push_value(&mut qb, &v);
                qb.build_query_as().fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn user_where(&self, cond: &str, v: Value) -> Result<Option<UserRow>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(USER_COLS).push(" FROM users WHERE ").push(cond);
                push_value(&mut qb, &v);
                qb.build_query_as().fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn robot_where(&self, cond: &str, v: Value) -> Result<Option<RobotRow>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(ROBOT_COLS).push(" FROM robots WHERE ").push(cond);
                push_value(&mut qb, &v);
                qb.build_query_as().fetch_optional(&self.pool).await.map_err(db_err)
            }
        }

        #[async_trait::async_trait]
        impl $crate::meta::identity::IdentityStore for $store {
            async fn get_setting(&self, key: &str) -> Result<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(row.map(|(v,)| v))
            }

            async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
                let q = sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                    .bind(key.to_owned())
                    .bind(value.to_owned());
                self.write_one(q).await.map(drop)
            }

            async fn init_setting(&self, key: &str, value: &str) -> Result<String> {
                let q = sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(key)
                    .bind(value);
                self.write_one(q).await?;
                self.get_setting(key).await?.ok_or_else(|| Error::internal(format!("setting {key} vanished")))
            }

            async fn login_failures(&self, keys: &[String]) -> Result<Vec<(String, i64, i64)>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT subject, failures, last_failure FROM login_failures WHERE subject IN (");
                let mut list = qb.separated(", ");
                for k in keys {
                    list.push_bind(k.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn record_login_failure(&self, keys: &[String], now: i64, since: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for k in keys {
                    sqlx::query(
                        "INSERT INTO login_failures (subject, failures, last_failure) VALUES ($1, 1, $2)
                         ON CONFLICT (subject) DO UPDATE SET
                           failures = CASE WHEN login_failures.last_failure < $3 THEN 1 ELSE login_failures.failures + 1 END,
                           last_failure = $2",
                    )
                    .bind(k)
                    .bind(now)
                    .bind(since)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                sqlx::query("DELETE FROM login_failures WHERE last_failure < $1")
                    .bind(now - 86_400_000)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                commit_tx(tx).await
            }

            async fn clear_login_failures(&self, key: &str) -> Result<()> {
                let q = sqlx::query("DELETE FROM login_failures WHERE subject = $1").bind(key.to_owned());
                self.write_one(q).await.map(drop)
            }

            async fn create_session(&self, s: &SessionRow, now: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM sessions WHERE expires_at < $1").bind(now).execute(&mut *tx).await.map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO sessions (id_hash, user_id, csrf, client, created_at, expires_at, max_until)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.id_hash)
                .bind(s.user_id)
                .bind(&s.csrf)
                .bind(&s.client)
                .bind(s.created_at)
                .bind(s.expires_at)
                .bind(s.max_until)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                commit_tx(tx).await
            }

            async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
                sqlx::query_as(
                    "SELECT id_hash, user_id, csrf, client, created_at, expires_at, max_until FROM sessions WHERE id_hash = $1",
                )
                .bind(id_hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)
            }

            async fn extend_session(&self, id_hash: &str, expires_at: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE sessions SET expires_at = $2 WHERE id_hash = $1").bind(id_hash.to_owned()).bind(expires_at);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_session(&self, id_hash: &str) -> Result<bool> {
                let q = sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash.to_owned());
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_user_sessions(&self, user_id: i64) -> Result<u64> {
                let q = sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id);
                self.write_one(q).await
            }

            async fn create_project(&self, name: &str, owner_id: Option<i64>, public: bool, metadata: &[(String, String)], storage_limit: i64, now: i64) -> Result<ProjectRow> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO projects (name, owner_id, public, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(name)
                .bind(owner_id)
                .bind(public)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(already(format!("project {name}")))?;
                for (k, v) in metadata {
                    sqlx::query("INSERT INTO project_metadata (project_id, key, value) VALUES ($1, $2, $3)")
                        .bind(id).bind(k).bind(v).execute(&mut *tx).await.map_err(db_err)?;
                }
                sqlx::query("INSERT INTO quotas (project_id, hard, used, created_at, updated_at) VALUES ($1, $2, 0, $3, $3)")
                    .bind(id).bind(storage_limit).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                if let Some(owner) = owner_id {
                    sqlx::query("INSERT INTO project_members (project_id, entity_type, entity_id, role, created_at, updated_at) VALUES ($1, 'u', $2, 1, $3, $3)")
                        .bind(id).bind(owner).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                }
                $crate::meta::outbox::adopt_project(id);
                commit_tx(tx).await?;
                self.project_by_id(id).await?.ok_or_else(|| Error::internal("created project vanished"))
            }

            async fn project_by_name(&self, name: &str) -> Result<Option<ProjectRow>> {
                self.project_where("p.name = ", Value::Text(name.to_owned())).await
            }

            async fn project_by_id(&self, id: i64) -> Result<Option<ProjectRow>> {
                self.project_where("p.id = ", Value::Int(id)).await
            }

            async fn list_projects(&self, vis: &Visibility, spec: &ListSpec) -> Result<(Vec<ProjectRow>, u64)> {
                self.list_page(PROJECT_COLS, |qb| {
                    qb.push(PROJECT_FROM);
                    push_visibility(qb, vis, "p.id");
                }, spec, "p.id").await
            }

            async fn set_project_metadata(&self, id: i64, metadata: &[(String, String)], now: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for (k, v) in metadata {
                    sqlx::query("INSERT INTO project_metadata (project_id, key, value) VALUES ($1, $2, $3)
                                 ON CONFLICT (project_id, key) DO UPDATE SET value = excluded.value")
                        .bind(id).bind(k).bind(v).execute(&mut *tx).await.map_err(db_err)?;
                    if k == "public" {
                        sqlx::query("UPDATE projects SET public = $2 WHERE id = $1")
                            .bind(id).bind(v == "true").execute(&mut *tx).await.map_err(db_err)?;
                    }
                }
                sqlx::query("UPDATE projects SET updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut *tx).await.map_err(db_err)?;
                commit_tx(tx).await
            }

            async fn project_metadata(&self, id: i64) -> Result<Vec<(String, String)>> {
                sqlx::query_as("SELECT key, value FROM project_metadata WHERE project_id = $1 ORDER BY key")
                    .bind(id).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn delete_project_metadata(&self, id: i64, key: &str) -> Result<bool> {
                let q = sqlx::query("DELETE FROM project_metadata WHERE project_id = $1 AND key = $2").bind(id).bind(key.to_owned());
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_project(&self, id: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                let (repos,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM repositories WHERE project_id = $1")
                    .bind(id).fetch_one(&mut *tx).await.map_err(db_err)?;
                if repos > 0 {
                    return Err(Error::PreconditionFailed {
                        reason: format!("the project still has {repos} repositories; delete them first"),
                    });
                }
                sqlx::query("DELETE FROM labels WHERE scope = 'p' AND project_id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                let n = sqlx::query("DELETE FROM projects WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn create_user(&self, u: &NewUser, now: i64) -> Result<UserRow> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO users (username, email, realname, comment, password_hash, sysadmin, source, external_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(u.username.clone())
                .bind(u.email.clone())
                .bind(u.realname.clone())
                .bind(u.comment.clone())
                .bind(u.password_hash.clone())
                .bind(u.sysadmin)
                .bind(u.source.clone())
                .bind(u.external_id.clone())
                .bind(now);
                let id = self.insert_returning_id(q, already(format!("user {}", u.username))).await?;
                self.user_by_id(id).await?.ok_or_else(|| Error::internal("created user vanished"))
            }

            async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
                self.user_where("username = ", Value::Text(username.to_owned())).await
            }

            async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>> {
                self.user_where("id = ", Value::Int(id)).await
            }

            async fn user_by_external(&self, source: &str, external_id: &str) -> Result<Option<UserRow>> {
                let row = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {USER_COLS} FROM users WHERE source = $1 AND external_id = $2")))
                    .bind(source).bind(external_id).fetch_optional(&self.pool).await.map_err(db_err)?;
                Ok(row)
            }

            async fn list_users(&self, spec: &ListSpec) -> Result<(Vec<UserRow>, u64)> {
                self.list_page(USER_COLS, |qb| { qb.push("FROM users WHERE 1 = 1"); }, spec, "id").await
            }

            async fn update_user_profile(&self, id: i64, email: &str, realname: &str, comment: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE users SET email = $2, realname = $3, comment = $4, updated_at = $5 WHERE id = $1")
                    .bind(id).bind(email.to_owned()).bind(realname.to_owned()).bind(comment.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn set_password(&self, id: i64, hash: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1").bind(id).bind(hash.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn set_sysadmin(&self, id: i64, sysadmin: bool, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE users SET sysadmin = $2, updated_at = $3 WHERE id = $1").bind(id).bind(sysadmin).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn set_cli_secret(&self, id: i64, hash: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE users SET cli_secret_hash = $2, updated_at = $3 WHERE id = $1").bind(id).bind(hash.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_user(&self, id: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM project_members WHERE entity_type = 'u' AND entity_id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                let n = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn set_user_groups(&self, user_id: i64, groups: &[(i64, String, String)], now: i64) -> Result<Vec<i64>> {
                let mut tx = self.begin_write().await?;
                let mut ids = Vec::with_capacity(groups.len());
                // A group is the same group when its DN matches (case-insensitively, as LDAP
                // compares DNs), or, for groups without a DN, its name: an administrator may have
                // added it as a project member before anyone in it signed in.
                const FIND: &str = "SELECT id FROM user_groups WHERE group_type = $1
                    AND ((ldap_dn <> '' AND lower(ldap_dn) = lower($3)) OR (ldap_dn = '' AND $3 = '' AND name = $2))
                    ORDER BY id LIMIT 1";
                for (kind, name, dn) in groups {
                    let found: Option<(i64,)> = sqlx::query_as(FIND).bind(*kind).bind(name).bind(dn).fetch_optional(&mut *tx).await.map_err(db_err)?;
                    let id = match found {
                        Some((id,)) => id,
                        None => {
                            let (id,): (i64,) = sqlx::query_as(
                                "INSERT INTO user_groups (name, group_type, ldap_dn, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id")
                                .bind(name).bind(*kind).bind(dn).bind(now).fetch_one(&mut *tx).await.map_err(db_err)?;
                            id
                        }
                    };
                    ids.push(id);
                }
                sqlx::query("DELETE FROM user_group_links WHERE user_id = $1").bind(user_id).execute(&mut *tx).await.map_err(db_err)?;
                for id in &ids {
                    sqlx::query("INSERT INTO user_group_links (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(user_id).bind(*id).execute(&mut *tx).await.map_err(db_err)?;
                }
                commit_tx(tx).await?;
                Ok(ids)
            }

            async fn user_group_ids(&self, user_id: i64) -> Result<Vec<i64>> {
                let rows: Vec<(i64,)> = sqlx::query_as("SELECT group_id FROM user_group_links WHERE user_id = $1 ORDER BY group_id")
                    .bind(user_id).fetch_all(&self.pool).await.map_err(db_err)?;
                Ok(rows.into_iter().map(|(g,)| g).collect())
            }

            async fn create_group(&self, name: &str, group_type: i64, ldap_dn: &str, now: i64) -> Result<GroupRow> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO user_groups (name, group_type, ldap_dn, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                )
                .bind(name.to_owned()).bind(group_type).bind(ldap_dn.to_owned()).bind(now);
                let (id,) = {
                    q.fetch_one(&mut *self.write_conn().await?).await.map_err(already(format!("group {name}")))?
                };
                self.group_by_id(id).await?.ok_or_else(|| Error::internal("created group vanished"))
            }

            async fn group_by_id(&self, id: i64) -> Result<Option<GroupRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM user_groups WHERE id = $1")))
                    .bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn find_group(&self, group_type: i64, name: &str, ldap_dn: &str) -> Result<Option<GroupRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {GROUP_COLS} FROM user_groups WHERE group_type = $1
                    AND (($3 <> '' AND lower(ldap_dn) = lower($3)) OR ($3 = '' AND name = $2)) ORDER BY id LIMIT 1")))
                    .bind(group_type).bind(name).bind(ldap_dn).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_groups(&self, spec: &ListSpec) -> Result<(Vec<GroupRow>, u64)> {
                self.list_page(GROUP_COLS, |qb| { qb.push("FROM user_groups WHERE 1 = 1"); }, spec, "id").await
            }

            async fn rename_group(&self, id: i64, name: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE user_groups SET name = $2, updated_at = $3 WHERE id = $1").bind(id).bind(name.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_group(&self, id: i64) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM project_members WHERE entity_type = 'g' AND entity_id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?;
                let n = sqlx::query("DELETE FROM user_groups WHERE id = $1").bind(id).execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                commit_tx(tx).await?;
                Ok(n > 0)
            }

            async fn add_member(&self, project_id: i64, entity_type: &str, entity_id: i64, role: i64, now: i64) -> Result<i64> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO project_members (project_id, entity_type, entity_id, role, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(project_id).bind(entity_type.to_owned()).bind(entity_id).bind(role).bind(now);
                self.insert_returning_id(q, already("the member".to_owned())).await
            }

            async fn get_member(&self, project_id: i64, member_id: i64) -> Result<Option<MemberRow>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(MEMBER_COLS).push(" ").push(MEMBER_FROM).push_bind(project_id).push(" AND m.id = ").push_bind(member_id);
                qb.build_query_as().fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_members(&self, project_id: i64, spec: &ListSpec) -> Result<(Vec<MemberRow>, u64)> {
                self.list_page(MEMBER_COLS, |qb| {
                    qb.push(MEMBER_FROM).push_bind(project_id);
                }, spec, "m.id").await
            }

            async fn update_member(&self, project_id: i64, member_id: i64, role: i64, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE project_members SET role = $3, updated_at = $4 WHERE project_id = $1 AND id = $2")
                    .bind(project_id).bind(member_id).bind(role).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_member(&self, project_id: i64, member_id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND id = $2").bind(project_id).bind(member_id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn member_roles(&self, project_id: i64, user_id: i64, group_ids: &[i64]) -> Result<Vec<i64>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT role FROM project_members WHERE project_id = ");
                qb.push_bind(project_id).push(" AND ((entity_type = 'u' AND entity_id = ").push_bind(user_id).push(")");
                if !group_ids.is_empty() {
                    qb.push(" OR (entity_type = 'g' AND entity_id IN (");
                    let mut list = qb.separated(", ");
                    for g in group_ids {
                        list.push_bind(*g);
                    }
                    qb.push("))");
                }
                qb.push(")");
                let rows: Vec<(i64,)> = qb.build_query_as().fetch_all(&self.pool).await.map_err(db_err)?;
                Ok(rows.into_iter().map(|(r,)| r).collect())
            }

            async fn member_counts(&self, project_id: i64) -> Result<Vec<(i64, i64)>> {
                sqlx::query_as("SELECT role, COUNT(*) FROM project_members WHERE project_id = $1 GROUP BY role ORDER BY role")
                    .bind(project_id).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn create_robot(&self, r: &RobotRow) -> Result<i64> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO robots (name, description, level, project_id, secret_hash, disabled, duration, expires_at,
                     creator_type, creator_ref, permissions, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                )
                .bind(r.name.clone()).bind(r.description.clone()).bind(r.level.clone()).bind(r.project_id)
                .bind(r.secret_hash.clone()).bind(r.disabled).bind(r.duration).bind(r.expires_at)
                .bind(r.creator_type.clone()).bind(r.creator_ref.clone()).bind(r.permissions.clone()).bind(r.created_at);
                self.insert_returning_id(q, already(format!("robot {}", r.name))).await
            }

            async fn robot_by_id(&self, id: i64) -> Result<Option<RobotRow>> {
                self.robot_where("id = ", Value::Int(id)).await
            }

            async fn robot_by_name(&self, name: &str) -> Result<Option<RobotRow>> {
                self.robot_where("name = ", Value::Text(name.to_owned())).await
            }

            async fn list_robots(&self, project_id: Option<i64>, spec: &ListSpec) -> Result<(Vec<RobotRow>, u64)> {
                self.list_page(ROBOT_COLS, |qb| {
                    qb.push("FROM robots WHERE 1 = 1");
                    match project_id {
                        Some(0) => { qb.push(" AND level = 'system'"); }
                        Some(p) => { qb.push(" AND project_id = ").push_bind(p); }
                        None => {}
                    }
                }, spec, "id").await
            }

            async fn update_robot(&self, r: &RobotRow) -> Result<bool> {
                let q = sqlx::query("UPDATE robots SET description = $2, disabled = $3, duration = $4, expires_at = $5,
                                     permissions = $6, updated_at = $7 WHERE id = $1")
                    .bind(r.id).bind(r.description.clone()).bind(r.disabled).bind(r.duration).bind(r.expires_at)
                    .bind(r.permissions.clone()).bind(r.updated_at);
                Ok(self.write_one(q).await? > 0)
            }

            async fn set_robot_secret(&self, id: i64, hash: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE robots SET secret_hash = $2, updated_at = $3 WHERE id = $1").bind(id).bind(hash.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_robot(&self, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM robots WHERE id = $1").bind(id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn create_label(&self, l: &LabelRow) -> Result<i64> {
                let q = sqlx::query_as::<_, (i64,)>(
                    "INSERT INTO labels (name, description, color, scope, project_id, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(l.name.clone()).bind(l.description.clone()).bind(l.color.clone()).bind(l.scope.clone())
                .bind(l.project_id).bind(l.created_at);
                let (id,) = q.fetch_one(&mut *self.write_conn().await?).await.map_err(already(format!("label {}", l.name)))?;
                Ok(id)
            }

            async fn label_by_id(&self, id: i64) -> Result<Option<LabelRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {LABEL_COLS} FROM labels WHERE id = $1")))
                    .bind(id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn list_labels(&self, scope: &str, project_id: i64, spec: &ListSpec) -> Result<(Vec<LabelRow>, u64)> {
                self.list_page(LABEL_COLS, |qb| {
                    qb.push("FROM labels WHERE scope = ").push_bind(scope.to_owned());
                    qb.push(" AND project_id = ").push_bind(project_id);
                }, spec, "id").await
            }

            async fn update_label(&self, l: &LabelRow) -> Result<bool> {
                let q = sqlx::query("UPDATE labels SET name = $2, description = $3, color = $4, updated_at = $5 WHERE id = $1")
                    .bind(l.id).bind(l.name.clone()).bind(l.description.clone()).bind(l.color.clone()).bind(l.updated_at);
                let n = q.execute(&mut *self.write_conn().await?).await.map_err(already(format!("label {}", l.name)))?.rows_affected();
                Ok(n > 0)
            }

            async fn delete_label(&self, id: i64) -> Result<bool> {
                let q = sqlx::query("DELETE FROM labels WHERE id = $1").bind(id);
                Ok(self.write_one(q).await? > 0)
            }

            async fn attach_label(&self, label_id: i64, repo_id: i64, digest: &str, now: i64) -> Result<()> {
                let q = sqlx::query("INSERT INTO artifact_labels (label_id, repo_id, digest, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(label_id).bind(repo_id).bind(digest.to_owned()).bind(now);
                q.execute(&mut *self.write_conn().await?).await.map_err(already("the label on this artifact".to_owned()))?;
                Ok(())
            }

            async fn detach_label(&self, label_id: i64, repo_id: i64, digest: &str) -> Result<bool> {
                let q = sqlx::query("DELETE FROM artifact_labels WHERE label_id = $1 AND repo_id = $2 AND digest = $3")
                    .bind(label_id).bind(repo_id).bind(digest.to_owned());
                Ok(self.write_one(q).await? > 0)
            }

            async fn artifact_labels(&self, repo_id: i64, digests: &[String]) -> Result<Vec<(String, LabelRow)>> {
                if digests.is_empty() {
                    return Ok(Vec::new());
                }
                #[derive(sqlx::FromRow)]
                struct Row {
                    artifact: String,
                    #[sqlx(flatten)]
                    label: LabelRow,
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "SELECT al.digest AS artifact, l.id, l.name, l.description, l.color, l.scope, l.project_id, l.created_at, l.updated_at
                     FROM artifact_labels al JOIN labels l ON l.id = al.label_id WHERE al.repo_id = ");
                qb.push_bind(repo_id).push(" AND al.digest IN ");
                push_list(&mut qb, digests);
                qb.push(" ORDER BY l.id");
                // Not prepared: see `artifact_tags`.
                let rows: Vec<Row> = qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)?;
                Ok(rows.into_iter().map(|r| (r.artifact, r.label)).collect())
            }

            async fn list_repositories(&self, vis: &Visibility, project_id: Option<i64>, spec: &ListSpec) -> Result<(Vec<RepositoryRow>, u64)> {
                self.list_page(REPO_COLS, |qb| {
                    qb.push("FROM repositories r WHERE r.project_id IS NOT NULL");
                    if let Some(p) = project_id {
                        qb.push(" AND r.project_id = ").push_bind(p);
                    }
                    push_visibility(qb, vis, "r.project_id");
                }, spec, "r.id").await
            }

            async fn search_repositories(&self, vis: &Visibility, part: &str, limit: i64) -> Result<Vec<RepoSearchRow>> {
                // With `SEARCH_CANDIDATES` (PostgreSQL), the matches are first collected in any
                // order, at most that many per row asked for, and sorted: the trigram index finds
                // a selective pattern's few matches wherever they sit in the name order. Only
                // when there are more (a broad pattern, whose matches are dense) does the search
                // walk the names in order below. Either way the answer is the first `limit`
                // matches by name.
                if let Some(per_row) = SEARCH_CANDIDATES {
                    let cap = limit.max(1).saturating_mul(per_row);
                    // The candidates carry their columns: joined back to `repositories` by id,
                    // PostgreSQL merged them with a walk of the whole primary key.
                    let mut qb = sqlx::QueryBuilder::<Db>::new("WITH c AS MATERIALIZED (SELECT r.id, r.project_id, r.name, r.description, r.pull_count, r.created_at, r.updated_at
                        FROM repositories r WHERE r.project_id IS NOT NULL");
                    push_filters(&mut qb, &[Filter { key: "name", column: "r.name", matcher: Match::Fuzzy(part.to_owned()) }]);
                    push_visibility(&mut qb, vis, "r.project_id");
                    qb.push(" LIMIT ").push_bind(cap).push(") SELECT ");
                    qb.push(REPO_COLS).push(", p.name AS project_name, p.public AS project_public, (SELECT COUNT(*) FROM c) AS candidates
                        FROM c r JOIN projects p ON p.id = r.project_id ORDER BY r.name LIMIT ").push_bind(limit);
                    let rows: Vec<CountedSearchRow> = qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)?;
                    if rows.first().is_none_or(|r| r.candidates < cap) {
                        return Ok(rows.into_iter().map(|r| r.row).collect());
                    }
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT ");
                qb.push(REPO_COLS).push(", p.name AS project_name, p.public AS project_public
                    FROM repositories r JOIN projects p ON p.id = r.project_id WHERE 1 = 1");
                push_filters(&mut qb, &[Filter { key: "name", column: "r.name", matcher: Match::Fuzzy(part.to_owned()) }]);
                push_visibility(&mut qb, vis, "r.project_id");
                qb.push(" ORDER BY r.name LIMIT ").push_bind(limit);
                qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn repository(&self, name: &str) -> Result<Option<RepositoryRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {REPO_UNCOUNTED_COLS} FROM repositories r WHERE r.name = $1")))
                    .bind(name).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn repository_counted(&self, name: &str) -> Result<Option<RepositoryRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {REPO_COLS} FROM repositories r WHERE r.name = $1")))
                    .bind(name).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn set_repository_description(&self, name: &str, description: &str, now: i64) -> Result<bool> {
                let q = sqlx::query("UPDATE repositories SET description = $2, updated_at = $3 WHERE name = $1")
                    .bind(name.to_owned()).bind(description.to_owned()).bind(now);
                Ok(self.write_one(q).await? > 0)
            }

            async fn delete_repository(&self, name: &str, now: i64, events: &[NewEvent]) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                // The repository's row first ("Lock order" in `sql.rs`): pushes into it hold it
                // `FOR KEY SHARE` until they commit, and new ones wait for this.
                let sql = format!("SELECT id, project_id FROM repositories WHERE name = $1{FOR_UPDATE}");
                let Some((id, project_id)): Option<(i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(name).fetch_optional(&mut *tx).await.map_err(db_err)? else { return Ok(false) };
                let held: Vec<(String,)> = sqlx::query_as("SELECT digest FROM repo_blobs WHERE repo_id = $1 UNION SELECT digest FROM manifests WHERE repo_id = $1")
                    .bind(id).fetch_all(&mut *tx).await.map_err(db_err)?;
                // Children first: tags and labels point at manifests, manifests at the repository.
                for sql in [
                    "DELETE FROM tags WHERE repo_id = $1",
                    "DELETE FROM artifact_labels WHERE repo_id = $1",
                    "DELETE FROM manifest_refs WHERE repo_id = $1",
                    "DELETE FROM manifests WHERE repo_id = $1",
                    "DELETE FROM repo_blobs WHERE repo_id = $1",
                    "DELETE FROM repositories WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await.map_err(db_err)?;
                }
                if let Some(project_id) = project_id {
                    // The quota row last, then the holds.
                    lock_quota(&mut tx, project_id, now).await?;
                    let held: Vec<String> = held.into_iter().map(|(d,)| d).collect();
                    let released = release_digests(&mut tx, project_id, &held).await?;
                    adjust_quota(&mut tx, project_id, -released, now).await?;
                    insert_events_in(&mut tx, events, Some(project_id), now).await?;
                }
                commit_tx(tx).await?;
                Ok(true)
            }

            async fn list_artifacts(&self, repo_id: i64, tags: Option<&str>, labels: &[i64], spec: &ListSpec) -> Result<(Vec<ArtifactRow>, u64)> {
                // Not prepared, as in `list_page`. Label filters and `tags=nil` are semi-joins on the
                // repository's labels and tags (`IN`, not a correlated `EXISTS` per manifest: SQLite
                // runs those one by one).
                //
                // A filter that selects tagged artifacts (a pattern, a name, or any tag) is evaluated
                // once per statement, into `mt`, and the listing starts from its digests (each
                // backend's `FROM_TAGGED`). A pattern is matched against every tag of the
                // repository: as a semi-join in two statements it was matched twice, once for the
                // count and once for the page.
                // (condition on `t.name`, its value, what follows the value)
                let tagged: Option<Option<(&str, String, &str)>> = match tags {
                    None | Some("nil") => None,
                    Some("*") => Some(None),
                    Some(t) => Some(Some(match t.strip_prefix('~') {
                        Some(part) => {
                            let escaped = part.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                            (" AND t.name LIKE ", format!("%{escaped}%"), " ESCAPE '\\'")
                        }
                        None => (" AND t.name = ", t.to_owned(), ""),
                    })),
                };
                let with = |qb: &mut sqlx::QueryBuilder<Db>| {
                    if let Some(name) = &tagged {
                        qb.push("WITH mt(d) AS MATERIALIZED (SELECT DISTINCT t.digest FROM tags t WHERE t.repo_id = ").push_bind(repo_id);
                        if let Some((cond, value, then)) = name {
                            qb.push(*cond).push_bind(value.clone()).push(*then);
                        }
                        qb.push(") ");
                    }
                };
                let from = |qb: &mut sqlx::QueryBuilder<Db>| {
                    if tagged.is_some() {
                        let (head, tail) = FROM_TAGGED;
                        qb.push(head).push_bind(repo_id).push(tail);
                    } else {
                        qb.push("FROM manifests m WHERE m.repo_id = ").push_bind(repo_id);
                    }
                    // Accessories are listed under their subject, not beside it (while the subject
                    // is missing, an accessory is listed on its own).
                    qb.push(" AND m.digest NOT IN (SELECT a.digest FROM accessories a JOIN manifests s ON s.repo_id = a.repo_id AND s.digest = a.subject WHERE a.repo_id = ")
                        .push_bind(repo_id).push(")");
                    if tags == Some("nil") {
                        qb.push(" AND m.digest NOT IN (SELECT t.digest FROM tags t WHERE t.repo_id = ").push_bind(repo_id).push(")");
                    }
                    for l in labels {
                        qb.push(" AND m.digest IN (SELECT al.digest FROM artifact_labels al WHERE al.label_id = ").push_bind(*l)
                            .push(" AND al.repo_id = ").push_bind(repo_id).push(")");
                    }
                    push_filters(qb, &spec.filters);
                };
                // One statement: the page's digests first, from the index (for the default
                // newest-first sort), then the page's rows, each with the total (an uncorrelated
                // subquery, counted once). Ties go the way of the last sort key, so newest first
                // is one backward walk of manifests_pushed (an ascending tiebreak made both
                // backends sort each run of the index again).
                let dir = if spec.sort.last().is_some_and(|(_, desc)| *desc) { " DESC" } else { "" };
                let mut qb = sqlx::QueryBuilder::<Db>::new("");
                with(&mut qb);
                if tagged.is_some() {
                    // The tagged artifacts are found once, into `f`: their digests and sort keys
                    // (from the indexes), counted and sorted from there. Counting and paging
                    // each from `mt` walked the repository's manifests twice (3 ms each on
                    // PostgreSQL for 10,000 of them).
                    qb.push(", f AS MATERIALIZED (SELECT m.digest");
                    for (i, (col, _)) in spec.sort.iter().enumerate() {
                        qb.push(format_args!(", {col} AS k{i}"));
                    }
                    qb.push(" ");
                    from(&mut qb);
                    qb.push(") SELECT ").push(ARTIFACT_COLS).push(", (SELECT COUNT(*) FROM f) AS total FROM manifests m JOIN (SELECT * FROM f");
                    let keys = |at: &'static str| spec.sort.iter().enumerate().map(move |(i, (_, desc))| (format!("{at}.k{i}"), *desc));
                    push_order(&mut qb, keys("f"), &format!("f.digest{dir}"));
                    qb.push(" LIMIT ").push_bind(spec.limit()).push(" OFFSET ").push_bind(spec.offset());
                    qb.push(") page ON page.digest = m.digest WHERE m.repo_id = ").push_bind(repo_id);
                    push_order(&mut qb, keys("page"), &format!("page.digest{dir}"));
                } else {
                    let tiebreak = format!("m.digest{dir}");
                    qb.push("SELECT ").push(ARTIFACT_COLS).push(", (SELECT COUNT(*) ");
                    from(&mut qb);
                    qb.push(") AS total FROM manifests m JOIN (SELECT m.digest ");
                    from(&mut qb);
                    push_order(&mut qb, spec.sort.iter().copied(), &tiebreak);
                    qb.push(" LIMIT ").push_bind(spec.limit()).push(" OFFSET ").push_bind(spec.offset());
                    qb.push(") page ON page.digest = m.digest WHERE m.repo_id = ").push_bind(repo_id);
                    push_order(&mut qb, spec.sort.iter().copied(), &tiebreak);
                }
                let rows = qb.build_query_as::<CountedArtifact>().persistent(false).fetch_all(&self.pool).await.map_err(db_err)?;
                let total = match rows.first() {
                    Some(r) => r.total,
                    None if spec.offset() == 0 => 0,
                    // A page past the end still answers the total.
                    None => {
                        let mut qb = sqlx::QueryBuilder::<Db>::new("");
                        with(&mut qb);
                        qb.push("SELECT COUNT(*) ");
                        from(&mut qb);
                        let (total,): (i64,) = qb.build_query_as().persistent(false).fetch_one(&self.pool).await.map_err(db_err)?;
                        total
                    }
                };
                Ok((rows.into_iter().map(|r| r.row).collect(), total as u64))
            }

            async fn artifact(&self, repo_id: i64, digest: &str) -> Result<Option<ArtifactRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ARTIFACT_COLS} FROM manifests m WHERE m.repo_id = $1 AND m.digest = $2")))
                    .bind(repo_id).bind(digest).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn artifact_tags(&self, repo_id: i64, digests: &[String]) -> Result<Vec<TagRow>> {
                if digests.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT digest, name, updated_at AS push_time FROM tags WHERE repo_id = ");
                qb.push_bind(repo_id).push(" AND digest IN ");
                push_list(&mut qb, digests);
                // Not prepared (as listings, `list_page`): PostgreSQL's generic plan for
                // `repo_id = $1 AND digest IN (…)` walked all 20,000 tags of a big repository
                // (60 ms) instead of looking up the page's 100 digests. Sorted here, not in SQL:
                // SQLite took `ORDER BY name` as a reason to walk the primary key (repo_id,
                // name) through the same 20,000 tags (12 ms). Byte order, as both collate names.
                let mut rows: Vec<TagRow> = qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(rows)
            }

            async fn accessories_of(&self, repo_id: i64, subjects: &[String]) -> Result<Vec<AccessoryRow>> {
                if subjects.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new(ACCESSORY_COLS);
                qb.push(" WHERE a.repo_id = ").push_bind(repo_id).push(" AND a.subject IN ");
                push_list(&mut qb, subjects);
                qb.push(" ORDER BY a.created_at, a.digest");
                // Not prepared: see `artifact_tags`.
                qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn artifact_parents(&self, repo_id: i64, digests: &[String]) -> Result<Vec<(String, String)>> {
                if digests.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT child_digest, manifest_digest FROM manifest_refs WHERE kind = 'manifest' AND repo_id = ");
                qb.push_bind(repo_id).push(" AND child_digest IN ");
                push_list(&mut qb, digests);
                // Not prepared: see `artifact_tags`.
                qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn list_accessories(&self, repo_id: i64, subject: &str, spec: &ListSpec) -> Result<(Vec<AccessoryRow>, u64)> {
                let cols = ACCESSORY_COLS.trim_start_matches("SELECT ");
                let (cols, from) = cols.split_once(" FROM ").expect("FROM in ACCESSORY_COLS");
                self.list_page(cols, |qb| {
                    qb.push("FROM ").push(from).push(" WHERE a.repo_id = ").push_bind(repo_id)
                        .push(" AND a.subject = ").push_bind(subject.to_owned());
                }, spec, "a.digest").await
            }

            async fn accessories_by_kind(&self, repo: &str, subjects: &[String], kind: Option<&str>) -> Result<Vec<AccessoryRow>> {
                if subjects.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new(ACCESSORY_COLS);
                qb.push(" JOIN repositories r ON r.id = a.repo_id WHERE r.name = ").push_bind(repo.to_owned());
                if let Some(kind) = kind {
                    qb.push(" AND a.kind = ").push_bind(kind.to_owned());
                }
                qb.push(" AND a.subject IN ");
                push_list(&mut qb, subjects);
                qb.push(" ORDER BY a.created_at, a.digest");
                qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn accessory(&self, repo: &str, digest: &str) -> Result<Option<AccessoryRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{ACCESSORY_COLS} JOIN repositories r ON r.id = a.repo_id WHERE r.name = $1 AND a.digest = $2"
                )))
                .bind(repo).bind(digest).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn artifact_children(&self, repo_id: i64, digests: &[String]) -> Result<Vec<(String, String)>> {
                if digests.is_empty() {
                    return Ok(Vec::new());
                }
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT manifest_digest, child_digest FROM manifest_refs WHERE kind = 'manifest' AND repo_id = ");
                qb.push_bind(repo_id).push(" AND manifest_digest IN ");
                push_list(&mut qb, digests);
                qb.push(" ORDER BY manifest_digest, child_digest");
                // Not prepared: see `artifact_tags`.
                qb.build_query_as().persistent(false).fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn create_tag(&self, repo_id: i64, digest: &str, tag: &str, now: i64) -> Result<()> {
                let mut tx = self.begin_write().await?;
                let (exists,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM manifests WHERE repo_id = $1 AND digest = $2")
                    .bind(repo_id).bind(digest).fetch_one(&mut *tx).await.map_err(db_err)?;
                if exists == 0 {
                    return Err(Error::NotFound { what: format!("artifact {digest}") });
                }
                sqlx::query("INSERT INTO tags (repo_id, name, digest, updated_at) VALUES ($1, $2, $3, $4)")
                    .bind(repo_id).bind(tag).bind(digest).bind(now)
                    .execute(&mut *tx).await.map_err(already(format!("tag {tag}")))?;
                commit_tx(tx).await
            }

            async fn record_pulls(&self, pulls: &[(String, String, i64)]) -> Result<()> {
                // One short statement at a time, no transaction: pull bookkeeping never holds a
                // row lock while waiting for another, so it cannot deadlock with a manifest push
                // (which locks the repository row, then manifests).
                let mut counts: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
                let mut last: std::collections::BTreeMap<(&str, &str), i64> = std::collections::BTreeMap::new();
                for (repo, digest, at) in pulls {
                    *counts.entry(repo.as_str()).or_default() += 1;
                    let t = last.entry((repo.as_str(), digest.as_str())).or_default();
                    *t = (*t).max(*at);
                }
                for (repo, n) in counts {
                    let q = sqlx::query("UPDATE repositories SET pull_count = pull_count + $2 WHERE name = $1").bind(repo.to_owned()).bind(n);
                    self.write_one(q).await?;
                }
                for ((repo, digest), at) in last {
                    let q = sqlx::query("UPDATE manifests SET pulled_at = $3 WHERE digest = $2 AND repo_id = (SELECT id FROM repositories WHERE name = $1)")
                        .bind(repo.to_owned()).bind(digest.to_owned()).bind(at);
                    self.write_one(q).await?;
                }
                Ok(())
            }

            async fn statistics(&self, vis: &Visibility) -> Result<Statistics> {
                // SUM over BIGINT is NUMERIC in PostgreSQL: every sum is cast back.
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "SELECT CAST(COALESCE(SUM(CASE WHEN p.public THEN 0 ELSE 1 END), 0) AS BIGINT),
                     CAST(COALESCE(SUM(CASE WHEN p.public THEN 1 ELSE 0 END), 0) AS BIGINT),
                     CAST(COALESCE(SUM(CASE WHEN p.public THEN 0 ELSE (SELECT COUNT(*) FROM repositories r WHERE r.project_id = p.id) END), 0) AS BIGINT),
                     CAST(COALESCE(SUM(CASE WHEN p.public THEN (SELECT COUNT(*) FROM repositories r WHERE r.project_id = p.id) ELSE 0 END), 0) AS BIGINT)
                     FROM projects p WHERE 1 = 1");
                push_visibility(&mut qb, vis, "p.id");
                let (a, b, c, d): (i64, i64, i64, i64) = qb.build_query_as().fetch_one(&self.pool).await.map_err(db_err)?;
                let (tp, tr, storage): (i64, i64, i64) = sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM projects), (SELECT COUNT(*) FROM repositories),
                     CAST(COALESCE((SELECT SUM(size) FROM blobs), 0) AS BIGINT)")
                    .fetch_one(&self.pool).await.map_err(db_err)?;
                Ok(Statistics {
                    private_project_count: a,
                    public_project_count: b,
                    private_repo_count: c,
                    public_repo_count: d,
                    total_project_count: tp,
                    total_repo_count: tr,
                    total_storage_consumption: storage,
                })
            }
        }
    };
}

pub(crate) use sql_identity_store;
