//! The audit log: who did what, from the `events` table (the one record of changes; see
//! [`crate::events`]), with Harbor's two views (`/audit-logs`, `/auditlog-exts`), a streamed
//! export (CSV or JSON, a Berth extension), and the purge job (`PURGE_AUDIT_LOG`).
//!
//! * **Pulls** are recorded without a database write per pull (Harbor pain point #8): each
//!   manifest GET goes into an in-memory batch that is written at most a second later, or at
//!   once when it holds [`PULL_BATCH`] pulls, as one multi-row insert (plus the pull time and
//!   count updates). A crash loses at most that second of pull records; pushes and deletes are
//!   written in their own transactions and never lost. [`AuditSettings::pull_audit`] turns
//!   pull records off (pull times and counts are still kept).
//! * **Visibility**: system administrators (and robots granted `audit-log:list`) see every
//!   entry; other callers see the entries of the projects where they hold `log:list` (project
//!   admins).
//! * **Purge** deletes entries older than the retention, optionally only some types, never
//!   one the webhook notifier has not handled yet (it would lose a notification); those are
//!   reported as kept.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::auth::rbac::{Action, ProjectResource, SystemResource};
use crate::error::{Error, Result};
use crate::events::{Actor, NewEvent, PULL_ARTIFACT, current_actor};
use crate::jobs::{JobHandler, TaskContext, exec_history};
use crate::meta::audit::PurgeFilter;
use crate::meta::governance::{EventRow, ExecutionRow};
use crate::model::{ExecHistory, JobSchedule, time};
use crate::oci::{Reference, RepoName};
use crate::query::{Field, Kind, ListQuery, ListSpec, Page, field};
use crate::registry::Registry;

/// Vendor type of audit purge executions (Harbor's job name).
pub const PURGE_AUDIT_JOB: &str = "PURGE_AUDIT_LOG";

/// Pulls written together at most. Each flush has fixed costs (the pull counts, a project
/// lookup, the webhook notifier's pass), so a busy registry should flush rarely: at 24,000
/// manifest GETs per second, batches of 256 meant 94 flushes a second and a fifth of the
/// server's CPU; 4096 pulls are about 1 MB of memory.
pub const PULL_BATCH: usize = 4096;

/// Longest time a pull waits in memory before it is written.
pub const PULL_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Largest retention Harbor accepts, in hours.
pub const MAX_RETENTION_HOURS: i64 = 240_000;

/// Rows per export page and per purge statement.
const BATCH: i64 = 1000;

/// Audit event types as Harbor lists them (`<operation>_<resource_type>`), plus Berth's own.
pub const AUDIT_EVENT_TYPES: &[&str] = &[
    "create_artifact",
    "delete_artifact",
    "pull_artifact",
    "delete_tag",
    "create_project",
    "update_project",
    "delete_project",
    "delete_repository",
    "create_user",
    "update_user",
    "delete_user",
    "create_robot",
    "update_robot",
    "delete_robot",
    "create_member",
    "update_member",
    "delete_member",
    "update_configuration",
    "update_quota",
    "warning_quota",
    "exceed_quota",
];

/// Audit and notification settings of a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// Record `PULL_ARTIFACT` entries (Harbor's `PULL_AUDIT_LOG_DISABLE` inverted). Default on.
    pub pull_audit: bool,
    /// `host[:port]` clients pull from, for the `resource_url` of webhook payloads.
    pub registry_host: String,
    /// Timeout of one webhook delivery attempt (Harbor's default: 3 s).
    pub webhook_timeout: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            pull_audit: true,
            registry_host: "localhost:5000".to_owned(),
            webhook_timeout: Duration::from_secs(3),
        }
    }
}

/// One pull waiting to be written.
struct Pull {
    repo: String,
    digest: String,
    reference: String,
    at: i64,
    actor: Actor,
}

/// The audit log's in-process state.
pub(crate) struct AuditState {
    pub(crate) settings: AuditSettings,
    pulls: Mutex<Vec<Pull>>,
    /// Webhook HTTP clients: verifying certificates, and not.
    pub(crate) http: OnceLock<(reqwest::Client, reqwest::Client)>,
}

impl AuditState {
    pub(crate) fn new(settings: AuditSettings) -> Self {
        Self {
            settings,
            pulls: Mutex::new(Vec::new()),
            http: OnceLock::new(),
        }
    }
}

/// `GET /audit-logs`: Harbor's legacy audit entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLog {
    pub id: i64,
    pub username: String,
    pub resource: String,
    pub resource_type: String,
    pub operation: String,
    pub op_time: DateTime<Utc>,
}

/// `GET /auditlog-exts`: Harbor's extended audit entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogExt {
    pub id: i64,
    pub username: String,
    pub resource: String,
    pub resource_type: String,
    pub operation: String,
    pub operation_description: String,
    /// Whether the operation succeeded.
    pub operation_result: bool,
    pub op_time: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<i64>,
}

/// `GET /auditlog-exts/events`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditLogEventType {
    pub event_type: String,
}

impl From<EventRow> for AuditLog {
    fn from(e: EventRow) -> Self {
        Self {
            id: e.id,
            username: e.operator,
            resource: e.resource,
            resource_type: e.resource_type,
            operation: e.operation,
            op_time: time(e.created_at),
        }
    }
}

impl From<EventRow> for AuditLogExt {
    fn from(e: EventRow) -> Self {
        let operation_description = describe(&e);
        Self {
            id: e.id,
            username: e.operator,
            operation_description,
            resource: e.resource,
            resource_type: e.resource_type,
            operation: e.operation,
            operation_result: e.success,
            op_time: time(e.created_at),
            project_id: e.project_id,
        }
    }
}

/// A sentence for an entry: `create artifact p/app:v1`, plus the payload's details if any.
fn describe(e: &EventRow) -> String {
    let mut s = format!("{} {} {}", e.operation, e.resource_type, e.resource);
    let details = serde_json::from_str::<serde_json::Value>(&e.payload)
        .ok()
        .and_then(|p| {
            p["custom_attributes"]["Details"]
                .as_str()
                .map(str::to_owned)
        });
    if let Some(d) = details {
        s.push_str(": ");
        s.push_str(&d);
    }
    s
}

/// Keys of `q=` and `sort=` on audit listings.
const AUDIT_FIELDS: &[Field] = &[
    field("id", "id", Kind::Int),
    field("username", "operator", Kind::Text),
    field("resource", "resource", Kind::Text),
    field("resource_type", "resource_type", Kind::Text),
    field("operation", "operation", Kind::Text),
    field("op_time", "created_at", Kind::Time),
    field("event_type", "event_type", Kind::Text),
    field("project_id", "project_id", Kind::Int),
    field(
        "operation_result",
        "CASE WHEN success THEN 1 ELSE 0 END",
        Kind::Bool,
    ),
];

const NEWEST_FIRST: &[(&str, bool)] = &[("created_at", true)];

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(Error::BadRequest {
                reason: format!("export format {other:?}: use csv or json"),
            }),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

const CSV_HEADER: &str = "id,username,resource,resource_type,operation,operation_description,operation_result,op_time,project_id\r\n";

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with
/// quotes doubled.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_row(e: &AuditLogExt) -> String {
    let fields = [
        e.id.to_string(),
        csv_field(&e.username),
        csv_field(&e.resource),
        csv_field(&e.resource_type),
        csv_field(&e.operation),
        csv_field(&e.operation_description),
        e.operation_result.to_string(),
        e.op_time.to_rfc3339(),
        e.project_id.map(|p| p.to_string()).unwrap_or_default(),
    ];
    let mut line = fields.join(",");
    line.push_str("\r\n");
    line
}

/// What a purge run does (Harbor's `/system/purgeaudit` parameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PurgeOptions {
    /// Entries older than this many hours go; 0 or -1 keep everything (Harbor's no-op).
    pub audit_retention_hour: i64,
    /// Comma-separated audit event types (`create_artifact,pull_artifact`) or event names
    /// (`PUSH_ARTIFACT`); empty means every type.
    pub include_event_types: String,
    pub dry_run: bool,
}

impl PurgeOptions {
    pub fn validate(&self) -> Result<()> {
        if !(-1..=MAX_RETENTION_HOURS).contains(&self.audit_retention_hour) {
            return Err(Error::BadRequest {
                reason: format!(
                    "audit_retention_hour must be between 1 and {MAX_RETENTION_HOURS} (0 or -1: keep everything), not {}",
                    self.audit_retention_hour
                ),
            });
        }
        for t in self.types() {
            let lower = t
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-');
            let upper = t.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
            if !(lower || upper) || !t.contains('_') {
                return Err(Error::BadRequest {
                    reason: format!(
                        "event type {t:?} is neither an audit event type like create_artifact nor an event name like PUSH_ARTIFACT"
                    ),
                });
            }
        }
        Ok(())
    }

    fn types(&self) -> Vec<String> {
        self.include_event_types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// What a purge run did (or, dry, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PurgeReport {
    pub dry_run: bool,
    /// Entries deleted (dry: that would be).
    pub purged: u64,
    /// Matching entries kept because the webhook notifier has not handled them yet.
    pub kept_pending: u64,
}

impl Registry {
    /// Note a manifest pull by `reference` (batched: see the module documentation).
    pub fn record_pull(&self, repo: &RepoName, reference: &Reference, digest: &str) {
        let pull = Pull {
            repo: repo.to_string(),
            digest: digest.to_owned(),
            reference: reference.to_string(),
            at: self.now_ms(),
            actor: current_actor(),
        };
        let (flush_now, first) = {
            let mut pulls = self.audit.pulls.lock().expect("pull batch lock");
            pulls.push(pull);
            (pulls.len() >= PULL_BATCH, pulls.len() == 1)
        };
        if flush_now || first {
            let reg = self.clone();
            let wait = (!flush_now).then(|| self.clock.sleep(PULL_FLUSH_INTERVAL));
            tokio::spawn(async move {
                if let Some(wait) = wait {
                    wait.await;
                }
                if let Err(e) = reg.flush_pulls().await {
                    tracing::warn!(error = %e, "recording pulls failed");
                }
            });
        }
    }

    /// Write the pulls waiting in memory now (tests, shutdown).
    pub async fn flush_pulls(&self) -> Result<()> {
        let batch = std::mem::take(&mut *self.audit.pulls.lock().expect("pull batch lock"));
        if batch.is_empty() {
            return Ok(());
        }
        let times: Vec<(String, String, i64)> = batch
            .iter()
            .map(|p| (p.repo.clone(), p.digest.clone(), p.at))
            .collect();
        // The audit entries first: once the pull counts show a pull, its entry is there too.
        let events_written = if self.audit.settings.pull_audit {
            self.write_pull_events(batch).await
        } else {
            Ok(())
        };
        let times_written = self.meta.record_pulls(&times).await;
        events_written.and(times_written)
    }

    async fn write_pull_events(&self, batch: Vec<Pull>) -> Result<()> {
        let mut projects: HashMap<String, Option<i64>> = HashMap::new();
        let mut events = Vec::with_capacity(batch.len());
        for p in batch {
            let project = p.repo.split('/').next().unwrap_or_default().to_owned();
            if !projects.contains_key(&project) {
                let id = self.meta.project_by_name(&project).await?.map(|r| r.id);
                projects.insert(project.clone(), id);
            }
            let (resource, tags) =
                if p.reference.starts_with("sha256:") || p.reference.starts_with("sha512:") {
                    (format!("{}@{}", p.repo, p.reference), Vec::new())
                } else {
                    (format!("{}:{}", p.repo, p.reference), vec![p.reference])
                };
            events.push(NewEvent {
                project_id: projects[&project],
                operator: p.actor.name,
                remote_addr: p.actor.remote_addr,
                ..NewEvent::new(PULL_ARTIFACT, "artifact", resource, "pull").payload(
                    serde_json::json!({ "repository": p.repo, "digest": p.digest, "tags": tags }),
                )
            });
        }
        self.meta.insert_events(&events, self.now_ms()).await
    }

    /// Which projects' entries the caller may read: `None` for all.
    async fn audit_scope(&self, p: &Principal) -> Result<Option<Vec<i64>>> {
        if self.system_allows(p, SystemResource::AuditLog, Action::List) {
            return Ok(None);
        }
        if p.is_anonymous() {
            return Err(crate::access::refuse(p));
        }
        self.projects_allowing(p, ProjectResource::Log, Action::List)
            .await
            .map(Some)
    }

    /// Ids of the projects where the caller holds `action` on `resource`.
    pub(crate) async fn projects_allowing(
        &self,
        p: &Principal,
        resource: ProjectResource,
        action: Action,
    ) -> Result<Vec<i64>> {
        let vis = self.visibility(p).await?;
        let mut spec = ListQuery::new().page(1, 100).parse(&[], &[])?;
        let mut ids = Vec::new();
        loop {
            let (rows, total) = self.meta.list_projects(&vis, &spec).await?;
            for row in &rows {
                if let Some(access) = self.project_access(p, &row.name).await?
                    && access.allows(resource, action)
                {
                    ids.push(row.id);
                }
            }
            if spec.page * spec.page_size >= total || rows.is_empty() {
                return Ok(ids);
            }
            spec.page += 1;
        }
    }

    async fn project_log_scope(&self, p: &Principal, project_name: &str) -> Result<Vec<i64>> {
        let access = self
            .require_project(p, project_name, true, ProjectResource::Log, Action::List)
            .await?;
        Ok(vec![access.project.id])
    }

    async fn list_audit(&self, scope: Option<Vec<i64>>, q: &ListQuery) -> Result<Page<EventRow>> {
        let mut spec = q.parse(AUDIT_FIELDS, NEWEST_FIRST)?;
        // Entries of the same millisecond keep their recording order in either direction.
        if let Some(&(col, desc)) = spec.sort.last()
            && col == "created_at"
        {
            spec.sort.push(("id", desc));
        }
        let (rows, total) = self.meta.list_events(scope.as_deref(), &spec).await?;
        Ok(spec.page_of(rows, total))
    }

    /// Harbor's `GET /audit-logs`. `q` keys: username, resource, resource_type, operation,
    /// op_time, event_type, project_id, operation_result, id; newest first by default.
    pub async fn audit_logs(&self, p: &Principal, q: &ListQuery) -> Result<Page<AuditLog>> {
        let scope = self.audit_scope(p).await?;
        Ok(self.list_audit(scope, q).await?.map(AuditLog::from))
    }

    /// Harbor's `GET /auditlog-exts`.
    pub async fn audit_log_exts(&self, p: &Principal, q: &ListQuery) -> Result<Page<AuditLogExt>> {
        let scope = self.audit_scope(p).await?;
        Ok(self.list_audit(scope, q).await?.map(AuditLogExt::from))
    }

    /// Harbor's `GET /projects/{project_name}/logs` (project admins and system administrators).
    pub async fn project_audit_logs(
        &self,
        p: &Principal,
        project_name: &str,
        q: &ListQuery,
    ) -> Result<Page<AuditLog>> {
        let scope = self.project_log_scope(p, project_name).await?;
        Ok(self.list_audit(Some(scope), q).await?.map(AuditLog::from))
    }

    /// Harbor's `GET /projects/{project_name}/auditlog-exts`.
    pub async fn project_audit_log_exts(
        &self,
        p: &Principal,
        project_name: &str,
        q: &ListQuery,
    ) -> Result<Page<AuditLogExt>> {
        let scope = self.project_log_scope(p, project_name).await?;
        Ok(self
            .list_audit(Some(scope), q)
            .await?
            .map(AuditLogExt::from))
    }

    /// The audit event types (`GET /auditlog-exts/events`).
    pub fn audit_event_types(&self) -> Vec<AuditLogEventType> {
        AUDIT_EVENT_TYPES
            .iter()
            .map(|t| AuditLogEventType {
                event_type: (*t).to_owned(),
            })
            .collect()
    }

    /// Every entry the caller may read that matches `q`, as CSV or a JSON array, streamed in
    /// pages of 1000 rows by id (so memory stays bounded however many match). `sort` may be
    /// `id`/`op_time` (oldest first) or `-id`/`-op_time` (newest first, the default); paging
    /// parameters are ignored. Permissions and `q` are checked before the first byte.
    pub async fn export_audit_logs(
        &self,
        p: &Principal,
        q: &ListQuery,
        format: ExportFormat,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let scope = self.audit_scope(p).await?;
        let unpaged = ListQuery {
            page: None,
            page_size: None,
            ..q.clone()
        };
        let spec: ListSpec = unpaged.parse(AUDIT_FIELDS, NEWEST_FIRST)?;
        let desc = match spec.sort.as_slice() {
            [] => true,
            [(col, desc)] if *col == "id" || *col == "created_at" => *desc,
            _ => {
                return Err(Error::BadRequest {
                    reason: "exports are in entry order: sort by id, -id, op_time or -op_time"
                        .into(),
                });
            }
        };
        struct State {
            reg: Registry,
            scope: Option<Vec<i64>>,
            spec: ListSpec,
            after: Option<i64>,
            started: bool,
            done: bool,
        }
        let state = State {
            reg: self.clone(),
            scope,
            spec,
            after: None,
            started: false,
            done: false,
        };
        let stream = futures::stream::try_unfold(state, move |mut s| async move {
            if s.done {
                return Ok(None);
            }
            let rows = s
                .reg
                .meta
                .scan_events(s.scope.as_deref(), &s.spec.filters, s.after, desc, BATCH)
                .await?;
            let last_page = (rows.len() as i64) < BATCH;
            s.after = rows.last().map(|r| r.id).or(s.after);
            let mut out = String::new();
            match format {
                ExportFormat::Csv if !s.started => out.push_str(CSV_HEADER),
                ExportFormat::Json if !s.started => out.push('['),
                _ => {}
            }
            for (i, row) in rows.into_iter().enumerate() {
                let entry = AuditLogExt::from(row);
                match format {
                    ExportFormat::Csv => out.push_str(&csv_row(&entry)),
                    ExportFormat::Json => {
                        if s.started || i > 0 {
                            out.push(',');
                        }
                        out.push_str(
                            &serde_json::to_string(&entry)
                                .map_err(|e| Error::internal(e.to_string()))?,
                        );
                    }
                }
            }
            s.started = true;
            if last_page {
                if format == ExportFormat::Json {
                    out.push(']');
                }
                s.done = true;
            }
            Ok(Some((Bytes::from(out), s)))
        });
        Ok(stream.boxed())
    }

    // ---- purge -----------------------------------------------------------------------------

    /// Start a purge now (Harbor's `Manual` schedule); refused while one is running.
    pub async fn start_audit_purge(&self, p: &Principal, opts: &PurgeOptions) -> Result<i64> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Create)?;
        opts.validate()?;
        if let Some(id) = self.meta.active_execution(PURGE_AUDIT_JOB, 0).await? {
            return Err(Error::Conflict {
                reason: format!("audit log purge {id} is still running"),
            });
        }
        let params = serde_json::to_value(opts).map_err(|e| Error::internal(e.to_string()))?;
        self.start_execution(PURGE_AUDIT_JOB, 0, crate::jobs::MANUAL, params)
            .await
    }

    /// Purge entries now, in this task (what the job runs).
    pub async fn purge_audit_logs(
        &self,
        opts: &PurgeOptions,
        stopped: &(dyn Fn() -> bool + Send + Sync),
    ) -> Result<PurgeReport> {
        opts.validate()?;
        let mut report = PurgeReport {
            dry_run: opts.dry_run,
            ..PurgeReport::default()
        };
        if opts.audit_retention_hour <= 0 {
            return Ok(report);
        }
        let f = PurgeFilter {
            before: self.now_ms() - opts.audit_retention_hour * 3_600_000,
            types: opts.types(),
        };
        let count = self.meta.count_purgeable(&f).await?;
        report.kept_pending = count.pending;
        if opts.dry_run {
            report.purged = count.purgeable;
            return Ok(report);
        }
        while !stopped() {
            let n = self.meta.purge_events(&f, BATCH).await?;
            report.purged += n;
            if n < BATCH as u64 {
                break;
            }
        }
        Ok(report)
    }

    /// The purge schedule (`GET /system/purgeaudit/schedule`); type `None` when there is none.
    pub async fn audit_purge_schedule(&self, p: &Principal) -> Result<JobSchedule> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Read)?;
        self.system_job_schedule(PURGE_AUDIT_JOB).await
    }

    /// Set the purge schedule (`POST`/`PUT /system/purgeaudit/schedule`): `Manual` runs a
    /// purge now and returns its execution id; `None` removes the schedule; the others set it.
    pub async fn set_audit_purge_schedule(
        &self,
        p: &Principal,
        req: &JobSchedule,
    ) -> Result<Option<i64>> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Update)?;
        let params = serde_json::Value::Object(req.parameters.clone().into_iter().collect());
        let opts: PurgeOptions = serde_json::from_value(params).map_err(|e| Error::BadRequest {
            reason: format!("purge parameters: {e}"),
        })?;
        opts.validate()?;
        let params = serde_json::to_value(&opts).map_err(|e| Error::internal(e.to_string()))?;
        self.apply_system_schedule(PURGE_AUDIT_JOB, req, params, |_| {
            self.start_audit_purge(p, &opts)
        })
        .await
    }

    /// Purge runs, newest first (`GET /system/purgeaudit`).
    pub async fn audit_purge_history(
        &self,
        p: &Principal,
        q: &ListQuery,
    ) -> Result<Page<ExecHistory>> {
        self.require_system(p, SystemResource::PurgeAudit, Action::List)?;
        Ok(self
            .executions(PURGE_AUDIT_JOB, None, q)
            .await?
            .map(exec_history))
    }

    async fn purge_execution(&self, id: i64) -> Result<ExecutionRow> {
        self.execution_of(PURGE_AUDIT_JOB, id, "audit log purge")
            .await
    }

    /// One purge run (`GET /system/purgeaudit/{id}`).
    pub async fn audit_purge(&self, p: &Principal, id: i64) -> Result<ExecHistory> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Read)?;
        Ok(exec_history(self.purge_execution(id).await?))
    }

    /// A purge run's log (`GET /system/purgeaudit/{id}/log`).
    pub async fn audit_purge_log(&self, p: &Principal, id: i64) -> Result<String> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Read)?;
        self.purge_execution(id).await?;
        self.execution_log(id).await
    }

    /// Stop a purge run (`PUT /system/purgeaudit/{id}`).
    pub async fn stop_audit_purge(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::PurgeAudit, Action::Stop)?;
        self.purge_execution(id).await?;
        self.stop_execution(id).await
    }
}

/// The job handler of purge executions.
struct PurgeJob;

#[async_trait]
impl JobHandler for PurgeJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let opts: PurgeOptions =
            serde_json::from_value(task.params.clone()).map_err(|e| Error::BadRequest {
                reason: format!("purge parameters: {e}"),
            })?;
        task.log(format_args!(
            "audit log purge: retention {} h, types {:?}, dry_run={}",
            opts.audit_retention_hour,
            if opts.include_event_types.is_empty() {
                "all"
            } else {
                opts.include_event_types.as_str()
            },
            opts.dry_run
        ));
        if opts.audit_retention_hour <= 0 {
            task.log("retention is 0 or -1: nothing to purge");
        }
        let report = {
            let ctx: &TaskContext = task;
            reg.purge_audit_logs(&opts, &|| ctx.stopped()).await?
        };
        task.log(format_args!(
            "{} {} entries; kept {} that webhooks have not handled yet",
            if report.dry_run {
                "would delete"
            } else {
                "deleted"
            },
            report.purged,
            report.kept_pending
        ));
        for (k, v) in [
            ("purged", report.purged),
            ("kept_pending", report.kept_pending),
        ] {
            task.set_execution(k, v);
            task.set(k, v);
        }
        Ok(())
    }
}

/// Register the audit and webhook job handlers.
pub(crate) fn register_jobs(reg: &Registry) {
    reg.register_job(PURGE_AUDIT_JOB, std::sync::Arc::new(PurgeJob));
    crate::webhook::register_jobs(reg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_escaped() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn purge_options_are_checked() {
        let o = |h: i64, t: &str| PurgeOptions {
            audit_retention_hour: h,
            include_event_types: t.into(),
            dry_run: false,
        };
        assert!(o(24, "create_artifact, PULL_ARTIFACT").validate().is_ok());
        assert!(o(0, "").validate().is_ok() && o(-1, "").validate().is_ok());
        assert!(o(-2, "").validate().is_err());
        assert!(o(MAX_RETENTION_HOURS + 1, "").validate().is_err());
        assert!(o(24, "drop table").validate().is_err());
        assert!(o(24, "Create_Artifact").validate().is_err());
        assert_eq!(o(1, " a_b ,, c_d").types(), vec!["a_b", "c_d"]);
    }
}
