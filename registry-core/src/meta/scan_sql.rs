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

            async fn put_scan_report(&self, r: &ScanReportRow, findings: Option<&[FindingRow]>) -> Result<()> {
                // The scan's event (SCANNING_COMPLETED) commits with the report and findings.
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO scan_reports (digest, registration, mime_type, report_id, status, severity, summary, report, start_time, end_time)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT (digest, registration, mime_type) DO UPDATE SET report_id = excluded.report_id,
                       status = excluded.status, severity = excluded.severity, summary = excluded.summary,
                       report = excluded.report, start_time = excluded.start_time, end_time = excluded.end_time",
                )
                .bind(r.digest.clone()).bind(r.registration.clone()).bind(r.mime_type.clone()).bind(r.report_id.clone()).bind(r.status.clone())
                .bind(r.severity.clone()).bind(r.summary.clone()).bind(r.report.clone()).bind(r.start_time).bind(r.end_time)
                .execute(&mut *tx).await.map_err(db_err)?;
                if let Some(findings) = findings {
                    sqlx::query("DELETE FROM scan_findings WHERE digest = $1 AND registration = $2")
                        .bind(&r.digest).bind(&r.registration)
                        .execute(&mut *tx).await.map_err(db_err)?;
                    // One row per (CVE, package, version): a report that lists one twice keeps
                    // the later.
                    let mut unique: std::collections::BTreeMap<(&str, &str, &str), &FindingRow> =
                        std::collections::BTreeMap::new();
                    for f in findings {
                        unique.insert((&f.cve_id, &f.package, &f.version), f);
                    }
                    let rows: Vec<&FindingRow> = unique.into_values().collect();
                    for chunk in rows.chunks(VULN_CHUNK / 11) {
                        let mut qb = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO scan_findings (digest, registration, cve_id, package, version, fix_version, severity, severity_rank, score_v3, description, links) ",
                        );
                        qb.push_values(chunk, |mut b, f| {
                            b.push_bind(&r.digest).push_bind(&r.registration).push_bind(&f.cve_id).push_bind(&f.package)
                                .push_bind(&f.version).push_bind(&f.fix_version).push_bind(&f.severity).push_bind(f.severity_rank)
                                .push_bind(f.score_v3).push_bind(&f.description).push_bind(&f.links);
                        });
                        qb.build().execute(&mut *tx).await.map_err(db_err)?;
                    }
                }
                commit_tx(tx).await
            }

            async fn set_scan_status(&self, r: &ScanReportRow) -> Result<()> {
                // The state is the scan's: every report type of (digest, registration) shows it.
                let mut tx = self.begin_write().await?;
                let n = sqlx::query(
                    "UPDATE scan_reports SET report_id = $3, status = $4, start_time = $5, end_time = $6
                     WHERE digest = $1 AND registration = $2",
                )
                .bind(&r.digest).bind(&r.registration).bind(&r.report_id).bind(&r.status).bind(r.start_time).bind(r.end_time)
                .execute(&mut *tx).await.map_err(db_err)?.rows_affected();
                if n == 0 {
                    sqlx::query(
                        "INSERT INTO scan_reports (digest, registration, mime_type, report_id, status, severity, summary, report, start_time, end_time)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
                    )
                    .bind(&r.digest).bind(&r.registration).bind(&r.mime_type).bind(&r.report_id)
                    .bind(&r.status).bind(&r.severity).bind(&r.summary).bind(r.start_time).bind(r.end_time)
                    .execute(&mut *tx).await.map_err(db_err)?;
                }
                commit_tx(tx).await
            }

            async fn scan_targets(&self, after: Option<(&str, &str)>, limit: i64) -> Result<Vec<(String, String)>> {
                let (repo, digest) = after.unwrap_or(("", ""));
                sqlx::query_as(
                    "SELECT r.name, m.digest FROM manifests m JOIN repositories r ON r.id = m.repo_id
                     WHERE (r.name > $1 OR (r.name = $1 AND m.digest > $2)) AND m.subject IS NULL
                       AND NOT EXISTS (SELECT 1 FROM manifest_refs x WHERE x.repo_id = m.repo_id AND x.child_digest = m.digest AND x.kind = 'manifest')
                     ORDER BY r.name, m.digest LIMIT $3",
                )
                .bind(repo).bind(digest).bind(limit)
                .fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn scan_target_count(&self) -> Result<i64> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM manifests m WHERE m.subject IS NULL
                       AND NOT EXISTS (SELECT 1 FROM manifest_refs x WHERE x.repo_id = m.repo_id AND x.child_digest = m.digest AND x.kind = 'manifest')",
                )
                .fetch_one(&self.pool).await.map_err(db_err)?;
                Ok(n)
            }

            async fn scan_status_counts(&self, since: i64, until: Option<i64>) -> Result<Vec<(String, i64)>> {
                sqlx::query_as(
                    "SELECT status, COUNT(*) FROM scan_reports WHERE start_time >= $1 AND start_time <= $2
                     GROUP BY status ORDER BY status",
                )
                .bind(since).bind(until.unwrap_or(i64::MAX))
                .fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn hub_counts(&self, registration: &str) -> Result<HubCounts> {
                // Per artifact (repository and digest), as /vuls lists them.
                let by_severity: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT f.severity, COUNT(*) FROM scan_findings f JOIN manifests m ON m.digest = f.digest
                     WHERE f.registration = $1 AND m.subject IS NULL GROUP BY f.severity ORDER BY f.severity",
                )
                .bind(registration).fetch_all(&self.pool).await.map_err(db_err)?;
                let (fixable,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM scan_findings f JOIN manifests m ON m.digest = f.digest
                     WHERE f.registration = $1 AND m.subject IS NULL AND f.fix_version <> ''",
                )
                .bind(registration).fetch_one(&self.pool).await.map_err(db_err)?;
                let (scanned,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM scan_reports s JOIN manifests m ON m.digest = s.digest
                     WHERE s.registration = $1 AND s.status = 'Success' AND m.subject IS NULL",
                )
                .bind(registration).fetch_one(&self.pool).await.map_err(db_err)?;
                let (artifacts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM manifests WHERE subject IS NULL")
                    .fetch_one(&self.pool).await.map_err(db_err)?;
                let total = by_severity.iter().map(|(_, n)| n).sum();
                Ok(HubCounts { by_severity, fixable, total, scanned, artifacts })
            }

            async fn hub_findings(&self, f: &FindingFilter, offset: i64, limit: i64) -> Result<Vec<PlacedFinding>> {
                let mut qb = sqlx::QueryBuilder::<Db>::new(
                    "SELECT COALESCE(r.project_id, 0) AS project_id, r.id AS repository_id, r.name AS repository_name, f.digest, f.registration, f.cve_id, f.package, f.version,
                       f.fix_version, f.severity, f.severity_rank, f.score_v3, f.description, f.links ",
                );
                push_finding_filter(&mut qb, f);
                qb.push(" ORDER BY f.severity_rank DESC, f.cve_id, r.name, f.digest, f.package, f.version LIMIT ");
                qb.push_bind(limit);
                qb.push(" OFFSET ");
                qb.push_bind(offset);
                qb.build_query_as::<PlacedFinding>().fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn hub_findings_count(&self, f: &FindingFilter) -> Result<i64> {
                let mut qb = sqlx::QueryBuilder::<Db>::new("SELECT COUNT(*) ");
                push_finding_filter(&mut qb, f);
                let (n,): (i64,) = qb.build_query_as().fetch_one(&self.pool).await.map_err(db_err)?;
                Ok(n)
            }

            async fn dangerous_artifacts(&self, registration: &str, limit: i64) -> Result<Vec<DangerousArtifact>> {
                sqlx::query_as(
                    "SELECT COALESCE(r.project_id, 0) AS project_id, r.name AS repository_name, c.digest, c.critical_cnt, c.high_cnt, c.medium_cnt
                     FROM (SELECT f.digest,
                             SUM(CASE WHEN f.severity = 'Critical' THEN 1 ELSE 0 END) AS critical_cnt,
                             SUM(CASE WHEN f.severity = 'High' THEN 1 ELSE 0 END) AS high_cnt,
                             SUM(CASE WHEN f.severity = 'Medium' THEN 1 ELSE 0 END) AS medium_cnt
                           FROM scan_findings f WHERE f.registration = $1 GROUP BY f.digest) c
                     JOIN manifests m ON m.digest = c.digest JOIN repositories r ON r.id = m.repo_id
                     WHERE c.critical_cnt + c.high_cnt + c.medium_cnt > 0
                     ORDER BY c.critical_cnt DESC, c.high_cnt DESC, c.medium_cnt DESC, r.name, c.digest LIMIT $2",
                )
                .bind(registration).bind(limit)
                .fetch_all(&self.pool).await.map_err(db_err)
            }

            async fn put_cve_export(&self, execution_id: i64, owner: &str, created_at: i64, csv: &str) -> Result<()> {
                let q = sqlx::query(
                    "INSERT INTO cve_exports (execution_id, owner, created_at, csv) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (execution_id) DO UPDATE SET owner = excluded.owner, created_at = excluded.created_at, csv = excluded.csv",
                )
                .bind(execution_id).bind(owner).bind(created_at).bind(csv);
                self.write_one(q).await.map(drop)
            }

            async fn cve_export(&self, execution_id: i64) -> Result<Option<(String, i64, String)>> {
                sqlx::query_as("SELECT owner, created_at, csv FROM cve_exports WHERE execution_id = $1")
                    .bind(execution_id).fetch_optional(&self.pool).await.map_err(db_err)
            }

            async fn trim_cve_exports(&self, before: i64) -> Result<u64> {
                self.write_one(sqlx::query("DELETE FROM cve_exports WHERE created_at < $1").bind(before)).await
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
                .execute(&mut *self.write_conn().await?).await.map_err(db_err)?;
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
                q.execute(&mut *self.write_conn().await?).await.map_err(already(format!("scanner {:?}", r.name)))?;
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
                .execute(&mut *self.write_conn().await?).await.map_err(already(format!("scanner {:?}", r.name)))?
                .rows_affected();
                Ok(n > 0)
            }

            async fn delete_scanner(&self, uuid: &str) -> Result<bool> {
                let n = sqlx::query("DELETE FROM scanner_registrations WHERE uuid = $1")
                    .bind(uuid.to_owned()).execute(&mut *self.write_conn().await?).await.map_err(db_err)?.rows_affected();
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

        /// `FROM … WHERE …` of the security hub's finding queries.
        fn push_finding_filter(qb: &mut sqlx::QueryBuilder<Db>, f: &FindingFilter) {
            qb.push(
                "FROM scan_findings f JOIN manifests m ON m.digest = f.digest JOIN repositories r ON r.id = m.repo_id
                 WHERE m.subject IS NULL AND f.registration = ",
            );
            qb.push_bind(&f.registration);
            if let Some(v) = &f.cve_id {
                qb.push(" AND f.cve_id = ").push_bind(v);
            }
            if let Some(v) = &f.severity {
                qb.push(" AND f.severity = ").push_bind(v);
            }
            if let Some(v) = f.score_min {
                qb.push(" AND f.score_v3 >= ").push_bind(v);
            }
            if let Some(v) = f.score_max {
                qb.push(" AND f.score_v3 <= ").push_bind(v);
            }
            if let Some(ids) = &f.project_ids {
                qb.push(" AND r.project_id IN (");
                if ids.is_empty() {
                    qb.push("NULL");
                }
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                qb.push(")");
            }
            if let Some(v) = &f.repository_name {
                qb.push(" AND r.name = ").push_bind(v);
            }
            if let Some(v) = &f.package {
                qb.push(" AND f.package = ").push_bind(v);
            }
            if let Some(v) = &f.digest {
                qb.push(" AND f.digest = ").push_bind(v);
            }
            if let Some(v) = &f.tag {
                qb.push(" AND EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest AND t.name = ")
                    .push_bind(v)
                    .push(")");
            }
            if let Some(ids) = &f.cve_ids {
                qb.push(" AND f.cve_id IN (");
                if ids.is_empty() {
                    qb.push("NULL");
                }
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
                qb.push(")");
            }
        }
    };
}

pub(crate) use sql_scan_store;
