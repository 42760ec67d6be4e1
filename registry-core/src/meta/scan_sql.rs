//! The SQL of [`super::scan::ScanStore`], shared by SQLite and PostgreSQL like
//! [`super::policy_sql`].

macro_rules! sql_scan_store {
    ($store:ty) => {
        use $crate::meta::scan::*;

        /// Rows per INSERT and values per IN list: under SQLite's and PostgreSQL's bind limits.
        const VULN_CHUNK: usize = 500;

        const SCANNER_COLS: &str = "uuid, name, description, url, auth, access_credential, skip_cert_verify, use_internal_addr, disabled, is_default, created_at, updated_at";

        #[async_trait::async_trait]
        impl $crate::meta::scan::ScanStore for $store {
            async fn replace_vulns(&self, ids: &[String], rows: &[VulnRow]) -> Result<()> {
                let mut tx = self.begin_write().await?;
                for chunk in ids.chunks(VULN_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new("DELETE FROM vuln_records WHERE id IN (");
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push_bind(id.clone());
                    }
                    qb.push(")");
                    qb.build().execute(&mut *tx).await.map_err(db_err)?;
                }
                // The same row twice in one statement is an error on PostgreSQL
                // (ON CONFLICT cannot update a row twice): the later one wins here.
                let mut unique: std::collections::BTreeMap<(&str, &str, &str, i64), &VulnRow> =
                    std::collections::BTreeMap::new();
                for r in rows {
                    unique.insert((&r.ecosystem, &r.package, &r.id, r.seq), r);
                }
                let rows: Vec<&VulnRow> = unique.into_values().collect();
                for chunk in rows.chunks(VULN_CHUNK / 6) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO vuln_records (ecosystem, package, id, seq, modified, record) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.ecosystem.clone())
                            .push_bind(r.package.clone())
                            .push_bind(r.id.clone())
                            .push_bind(r.seq)
                            .push_bind(r.modified)
                            .push_bind(r.record.clone());
                    });
                    qb.push(" ON CONFLICT (ecosystem, package, id, seq) DO UPDATE SET modified = excluded.modified, record = excluded.record");
                    qb.build().execute(&mut *tx).await.map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)
            }

            async fn vulns_for(&self, ecosystems: &[String], packages: &[String]) -> Result<Vec<VulnRow>> {
                let mut out = Vec::new();
                if ecosystems.is_empty() {
                    return Ok(out);
                }
                for chunk in packages.chunks(VULN_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new(
                        "SELECT ecosystem, package, id, seq, modified, record FROM vuln_records WHERE ecosystem IN (",
                    );
                    let mut list = qb.separated(", ");
                    for e in ecosystems {
                        list.push_bind(e.clone());
                    }
                    qb.push(") AND package IN (");
                    let mut list = qb.separated(", ");
                    for p in chunk {
                        list.push_bind(p.clone());
                    }
                    qb.push(") ORDER BY package, id, seq");
                    out.extend(qb.build_query_as::<VulnRow>().fetch_all(&self.pool).await.map_err(db_err)?);
                }
                Ok(out)
            }

            async fn vuln_counts(&self) -> Result<(i64, i64)> {
                sqlx::query_as("SELECT COUNT(DISTINCT id), COUNT(*) FROM vuln_records")
                    .fetch_one(&self.pool).await.map_err(db_err)
            }

            async fn put_scan_report(&self, r: &ScanReportRow) -> Result<()> {
                // write_one: the scan's event (SCANNING_COMPLETED) commits with the report.
                let q = sqlx::query(
                    "INSERT INTO scan_reports (digest, registration, mime_type, report_id, status, severity, summary, report, start_time, end_time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (digest, registration, mime_type) DO UPDATE SET report_id = excluded.report_id,
                       status = excluded.status, severity = excluded.severity, summary = excluded.summary,
                       report = excluded.report, start_time = excluded.start_time, end_time = excluded.end_time",
                )
                .bind(r.digest.clone()).bind(r.registration.clone()).bind(r.mime_type.clone()).bind(r.report_id.clone()).bind(r.status.clone())
                .bind(r.severity.clone()).bind(r.summary.clone()).bind(r.report.clone()).bind(r.start_time).bind(r.end_time);
                self.write_one(q).await.map(drop)
            }

            async fn scan_reports(&self, digests: &[String]) -> Result<Vec<ScanReportRow>> {
                let mut out = Vec::new();
                for chunk in digests.chunks(VULN_CHUNK) {
                    let mut qb = sqlx::QueryBuilder::<Db>::new(
                        "SELECT digest, registration, mime_type, report_id, status, severity, summary, report, start_time, end_time
                         FROM scan_reports WHERE digest IN (",
                    );
                    let mut list = qb.separated(", ");
                    for d in chunk {
                        list.push_bind(d.clone());
                    }
                    qb.push(") ORDER BY digest, registration, mime_type");
                    out.extend(qb.build_query_as::<ScanReportRow>().fetch_all(&self.pool).await.map_err(db_err)?);
                }
                Ok(out)
            }

            async fn cve_allowlist(&self, project_id: i64) -> Result<Option<AllowlistRow>> {
                sqlx::query_as("SELECT project_id, expires_at, items, updated_at FROM cve_allowlists WHERE project_id = $1")
                    .bind(project_id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn set_cve_allowlist(&self, a: &AllowlistRow) -> Result<()> {
                sqlx::query(
                    "INSERT INTO cve_allowlists (project_id, expires_at, items, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (project_id) DO UPDATE SET expires_at = excluded.expires_at, items = excluded.items, updated_at = excluded.updated_at",
                )
                .bind(a.project_id).bind(a.expires_at).bind(&a.items).bind(a.updated_at)
                .execute(self.write_pool()).await.map_err(db_err)?;
                Ok(())
            }

            async fn create_scanner(&self, r: &ScannerRow) -> Result<()> {
                let q = sqlx::query(
                    "INSERT INTO scanner_registrations (uuid, name, description, url, auth, access_credential, skip_cert_verify, use_internal_addr, disabled, is_default, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(r.uuid.clone()).bind(r.name.clone()).bind(r.description.clone()).bind(r.url.clone()).bind(r.auth.clone())
                .bind(r.access_credential.clone()).bind(r.skip_cert_verify).bind(r.use_internal_addr).bind(r.disabled)
                .bind(r.is_default).bind(r.created_at).bind(r.updated_at);
                q.execute(self.write_pool()).await.map_err(already(format!("scanner {:?}", r.name)))?;
                Ok(())
            }

            async fn scanner(&self, uuid: &str) -> Result<Option<ScannerRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SCANNER_COLS} FROM scanner_registrations WHERE uuid = $1")))
                    .bind(uuid.to_owned()).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn scanners(&self) -> Result<Vec<ScannerRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SCANNER_COLS} FROM scanner_registrations ORDER BY name")))
                    .fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn update_scanner(&self, r: &ScannerRow) -> Result<bool> {
                let n = sqlx::query(
                    "UPDATE scanner_registrations SET name = $2, description = $3, url = $4, auth = $5, access_credential = $6,
                       skip_cert_verify = $7, use_internal_addr = $8, disabled = $9, updated_at = $10 WHERE uuid = $1",
                )
                .bind(r.uuid.clone()).bind(r.name.clone()).bind(r.description.clone()).bind(r.url.clone()).bind(r.auth.clone())
                .bind(r.access_credential.clone()).bind(r.skip_cert_verify).bind(r.use_internal_addr).bind(r.disabled)
                .bind(r.updated_at)
                .execute(self.write_pool()).await.map_err(already(format!("scanner {:?}", r.name)))?
                .rows_affected();
                Ok(n > 0)
            }

            async fn delete_scanner(&self, uuid: &str) -> Result<bool> {
                let n = sqlx::query("DELETE FROM scanner_registrations WHERE uuid = $1")
                    .bind(uuid.to_owned()).execute(self.write_pool()).await.map_err(db_err)?.rows_affected();
                Ok(n > 0)
            }

            async fn set_default_scanner(&self, uuid: Option<&str>) -> Result<bool> {
                let mut tx = self.begin_write().await?;
                if let Some(u) = uuid {
                    let found: Option<(String,)> = sqlx::query_as("SELECT uuid FROM scanner_registrations WHERE uuid = $1")
                        .bind(u.to_owned()).fetch_optional(&mut *tx).await.map_err(db_err)?;
                    if found.is_none() {
                        return Ok(false);
                    }
                }
                sqlx::query("UPDATE scanner_registrations SET is_default = (uuid = $1)")
                    .bind(uuid.unwrap_or_default().to_owned()).execute(&mut *tx).await.map_err(db_err)?;
                commit_tx(tx).await?;
                Ok(true)
            }
        }
    };
}

pub(crate) use sql_scan_store;
