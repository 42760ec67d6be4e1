//! Webhooks: per-project policies that POST Harbor's payloads (Default or CloudEvents, or a
//! Slack message) when events happen.
//!
//! # From event to delivery
//!
//! Every event is a row of the `events` outbox, written with the change it records
//! ([`crate::events`]); it starts with `notify_pending` set. The **notifier**
//! ([`Registry::dispatch_pending_events`], run every second by [`Registry::spawn_notifier`])
//! first marks handled, in one statement and without reading them, the pending rows of projects
//! that have no enabled policy (on a busy registry nearly all of them: every pull is an event).
//! Then it reads the remaining pending rows in id order, matches them against the enabled policies of their project,
//! renders one payload per target, and then, **in one database transaction**, claims the rows
//! and enqueues the deliveries ([`crate::meta::audit::AuditStore::claim_events`]):
//!
//! * the claim is `UPDATE events SET notify_pending = FALSE WHERE id IN (SELECT … WHERE
//!   notify_pending … FOR UPDATE SKIP LOCKED) RETURNING id`: only rows still pending are
//!   claimed, and on PostgreSQL a row another node is claiming at the same moment is skipped
//!   rather than waited for. Deliveries (one `WEBHOOK` execution per (policy, event), one task
//!   per target) are inserted for the claimed rows only, in the same transaction. So two nodes
//!   never both dispatch an event, and a crash before the commit leaves the rows pending (they
//!   are dispatched again), after it leaves the deliveries queued: an event is never lost and
//!   never enqueued twice. SQLite has a single writer, which serializes claims the same way.
//! * deliveries run on the job service ([`crate::jobs`]): an HTTP POST with a timeout
//!   ([`crate::audit::AuditSettings::webhook_timeout`], 3 s), up to [`MAX_ATTEMPTS`] attempts
//!   with the job service's exponential backoff, each attempt in the task's log. A node that
//!   dies during a POST loses its lease and another node runs the task again, so a receiver can
//!   get an event **more than once** (never zero times while it eventually answers 2xx).
//!   Every delivery carries the event id — header `X-Berth-Event-Id`, and the CloudEvents `id`
//!   — for receivers to drop duplicates.
//!
//! The target's `auth_header` is sent verbatim as `Authorization`. It is stored sealed under the
//! registry's secret key ([`crate::registry::secrets`]) and never written to task parameters or
//! logs: a delivery opens it from the policy when it runs. API responses show `***` in its
//! place (unlike Harbor, which shows it back); an update that sends `***` keeps the stored one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::auth::rbac::{Action, ProjectResource as R};
use crate::error::{Error, Result};
use crate::events::{
    DELETE_ARTIFACT, PULL_ARTIFACT, PUSH_ARTIFACT, QUOTA_EXCEED, QUOTA_WARNING, TAG_RETENTION,
};
use crate::jobs::{EVENT, JobHandler, TaskContext};
use crate::meta::audit::{Delivery, EventClaim, WebhookPolicyRow};
use crate::meta::governance::{EventRow, ExecutionRow, NewExecution, NewTask, TaskRow};
use crate::model::time;
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

/// Vendor type of delivery executions (Harbor's job name).
pub const WEBHOOK_JOB: &str = "WEBHOOK";

/// Attempts per delivery (Harbor's `webhook_job_max_retry`).
pub const MAX_ATTEMPTS: i64 = 3;

/// Events the notifier reads per round.
const DISPATCH_BATCH: i64 = 200;

/// How often [`Registry::spawn_notifier`] looks for pending events.
pub const NOTIFY_INTERVAL: Duration = Duration::from_secs(1);

/// Event types a policy may select (Harbor's list; Berth does not emit the scanning and
/// replication ones yet).
pub const EVENT_TYPES: &[&str] = &[
    PUSH_ARTIFACT,
    PULL_ARTIFACT,
    DELETE_ARTIFACT,
    "SCANNING_COMPLETED",
    "SCANNING_FAILED",
    "SCANNING_STOPPED",
    QUOTA_EXCEED,
    QUOTA_WARNING,
    "REPLICATION",
    TAG_RETENTION,
];

pub const NOTIFY_TYPES: &[&str] = &["http", "slack"];
pub const DEFAULT_FORMAT: &str = "Default";
pub const CLOUD_EVENTS: &str = "CloudEvents";

/// The CloudEvents `type` of a Harbor event type.
pub fn cloud_event_type(event_type: &str) -> String {
    match event_type {
        PUSH_ARTIFACT => "harbor.artifact.pushed".into(),
        PULL_ARTIFACT => "harbor.artifact.pulled".into(),
        DELETE_ARTIFACT => "harbor.artifact.deleted".into(),
        QUOTA_EXCEED => "harbor.quota.exceeded".into(),
        QUOTA_WARNING => "harbor.quota.warned".into(),
        TAG_RETENTION => "harbor.tag_retention.finished".into(),
        "SCANNING_COMPLETED" => "harbor.scan.completed".into(),
        "SCANNING_FAILED" => "harbor.scan.failed".into(),
        "SCANNING_STOPPED" => "harbor.scan.stopped".into(),
        "REPLICATION" => "harbor.replication.status.changed".into(),
        other => format!("harbor.{}", other.to_ascii_lowercase()),
    }
}

/// Where a policy sends its events (Harbor's `WebhookTargetObject`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WebhookTarget {
    /// `http` or `slack`.
    #[serde(rename = "type", default)]
    pub kind: String,
    pub address: String,
    /// Sent verbatim as `Authorization`.
    #[serde(default)]
    pub auth_header: String,
    #[serde(default)]
    pub skip_cert_verify: bool,
    /// `Default` or `CloudEvents` (http only).
    #[serde(default)]
    pub payload_format: String,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("type", &self.kind)
            .field("address", &redact_url(&self.address))
            .field(
                "auth_header",
                &if self.auth_header.is_empty() {
                    ""
                } else {
                    "***"
                },
            )
            .field("skip_cert_verify", &self.skip_cert_verify)
            .field("payload_format", &self.payload_format)
            .finish()
    }
}

/// What API responses show instead of a stored `auth_header`; sending it back keeps the stored
/// value.
pub const MASKED_SECRET: &str = "***";

impl WebhookTarget {
    /// The target as API responses show it: the header is never shown back.
    fn masked(mut self) -> Self {
        if !self.auth_header.is_empty() {
            self.auth_header = MASKED_SECRET.to_owned();
        }
        self
    }
}

/// A webhook policy (Harbor's `WebhookPolicy`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookPolicy {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub project_id: i64,
    pub targets: Vec<WebhookTarget>,
    pub event_types: Vec<String>,
    pub creator: String,
    pub enabled: bool,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// A policy as clients send it (`POST`, `PUT`); read-only fields they echo back are ignored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(default)]
pub struct WebhookPolicyReq {
    pub name: String,
    pub description: String,
    pub targets: Vec<WebhookTarget>,
    pub event_types: Vec<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// `GET /projects/{p}/webhook/lasttrigger`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookLastTrigger {
    pub policy_name: String,
    pub event_type: String,
    pub enabled: bool,
    pub creation_time: DateTime<Utc>,
    pub last_trigger_time: DateTime<Utc>,
}

/// The formats one notify type supports.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadFormats {
    pub notify_type: String,
    pub formats: Vec<String>,
}

/// `GET /projects/{p}/webhook/events`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupportedWebhookEventTypes {
    pub event_type: Vec<String>,
    pub notify_type: Vec<String>,
    pub payload_formats: Vec<PayloadFormats>,
}

/// Task counts of an execution.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ExecutionMetrics {
    pub task_count: i64,
    pub success_task_count: i64,
    pub error_task_count: i64,
    pub pending_task_count: i64,
    pub running_task_count: i64,
    pub scheduled_task_count: i64,
    pub stopped_task_count: i64,
}

impl Registry {
    /// Targets as stored: each `auth_header` sealed; the mask sent back keeps the header the
    /// target with the same address and type had in `before`.
    fn sealed_targets(
        &self,
        targets: Vec<WebhookTarget>,
        before: &[WebhookTarget],
    ) -> Result<String> {
        let sealed: Vec<WebhookTarget> = targets
            .into_iter()
            .map(|mut t| {
                t.auth_header = if t.auth_header == MASKED_SECRET {
                    before
                        .iter()
                        .find(|b| b.address == t.address && b.kind == t.kind)
                        .map(|b| b.auth_header.clone())
                        .unwrap_or_default()
                } else if t.auth_header.is_empty() {
                    String::new()
                } else {
                    self.secrets.seal(&t.auth_header)
                };
                t
            })
            .collect();
        serde_json::to_string(&sealed).map_err(|e| Error::internal(e.to_string()))
    }

    /// Seal webhook headers stored in plain text or under a previous key; how many policies
    /// changed.
    pub(crate) async fn reseal_webhook_secrets(&self) -> Result<usize> {
        let mut changed = 0;
        for mut row in self.meta.all_webhook_policies().await? {
            let Ok(mut targets) = serde_json::from_str::<Vec<WebhookTarget>>(&row.targets) else {
                continue;
            };
            let mut dirty = false;
            for t in &mut targets {
                if !t.auth_header.is_empty() && self.secrets.needs_reseal(&t.auth_header) {
                    t.auth_header = self.secrets.seal(&self.secrets.open(&t.auth_header)?);
                    dirty = true;
                }
            }
            if dirty {
                row.targets =
                    serde_json::to_string(&targets).map_err(|e| Error::internal(e.to_string()))?;
                self.meta.update_webhook_policy(&row).await?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

/// Harbor's `Execution` (a delivery of one event to one policy's targets).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub id: i64,
    pub vendor_type: String,
    pub vendor_id: i64,
    /// Pending, Running, Success, Error, Stopped.
    pub status: String,
    pub status_message: String,
    pub metrics: ExecutionMetrics,
    /// `EVENT` for deliveries.
    pub trigger: String,
    pub extra_attrs: serde_json::Value,
    pub start_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
}

/// Harbor's `Task` (one target's delivery).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub execution_id: i64,
    pub status: String,
    pub status_message: String,
    /// Attempts so far.
    pub run_count: i64,
    pub extra_attrs: serde_json::Value,
    pub creation_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    pub update_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<DateTime<Utc>>,
}

fn json_or_empty(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::json!({}))
}

fn execution_view(e: ExecutionRow, tasks: &[TaskRow]) -> Execution {
    let count = |s: &str| tasks.iter().filter(|t| t.status == s).count() as i64;
    Execution {
        id: e.id,
        vendor_type: e.vendor_type,
        vendor_id: e.vendor_id,
        status: e.status,
        status_message: e.status_message,
        metrics: ExecutionMetrics {
            task_count: tasks.len() as i64,
            success_task_count: count("Success"),
            error_task_count: count("Error"),
            pending_task_count: count("Pending"),
            running_task_count: count("Running"),
            scheduled_task_count: 0,
            stopped_task_count: count("Stopped"),
        },
        trigger: e.trigger_kind,
        extra_attrs: json_or_empty(&e.extra_attrs),
        start_time: time(e.start_time),
        end_time: e.end_time.map(time),
    }
}

fn task_view(t: TaskRow) -> Task {
    Task {
        id: t.id,
        execution_id: t.execution_id,
        status: t.status,
        status_message: t.status_message,
        run_count: t.attempts,
        extra_attrs: json_or_empty(&t.extra_attrs),
        creation_time: time(t.creation_time),
        start_time: t.start_time.map(time),
        update_time: time(t.update_time),
        end_time: t.end_time.map(time),
    }
}

const POLICY_FIELDS: &[Field] = &[
    field("id", "id", Kind::Int),
    field("name", "name", Kind::Text),
    field("creator", "creator", Kind::Text),
    field("enabled", "CASE WHEN enabled THEN 1 ELSE 0 END", Kind::Bool),
    field("creation_time", "created_at", Kind::Time),
    field("update_time", "updated_at", Kind::Time),
];

/// `address` without the password of its user info, for logs.
fn redact_url(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => address.to_owned(),
    }
}

/// Validate a policy request; returns it normalized (default payload format filled in,
/// event types deduplicated).
fn check_policy(req: WebhookPolicyReq) -> Result<WebhookPolicyReq> {
    let bad = |reason: String| Error::BadRequest { reason };
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.len() > 256 {
        return Err(bad(
            "a webhook policy needs a name of 1-256 characters".into()
        ));
    }
    if req.targets.is_empty() {
        return Err(bad("a webhook policy needs at least one target".into()));
    }
    let mut targets = Vec::with_capacity(req.targets.len());
    for mut t in req.targets {
        if t.kind.is_empty() {
            t.kind = "http".into();
        }
        if !NOTIFY_TYPES.contains(&t.kind.as_str()) {
            return Err(bad(format!(
                "target type {:?}: use {}",
                t.kind,
                NOTIFY_TYPES.join(" or ")
            )));
        }
        let url = url::Url::parse(t.address.trim()).map_err(|e| {
            bad(format!(
                "target address {:?} is not a URL: {e}",
                redact_url(&t.address)
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad(format!(
                "target address {:?} must be an http:// or https:// URL with a host",
                redact_url(&t.address)
            )));
        }
        t.address = t.address.trim().to_owned();
        if t.payload_format.is_empty() {
            t.payload_format = DEFAULT_FORMAT.into();
        }
        match (t.kind.as_str(), t.payload_format.as_str()) {
            (_, DEFAULT_FORMAT) | ("http", CLOUD_EVENTS) => {}
            (kind, format) => {
                return Err(bad(format!(
                    "payload format {format:?} is not available for {kind} targets (http: Default or CloudEvents; slack: Default)"
                )));
            }
        }
        if t.auth_header.contains(['\r', '\n']) {
            return Err(bad("auth_header cannot contain line breaks".into()));
        }
        targets.push(t);
    }
    if req.event_types.is_empty() {
        return Err(bad("a webhook policy needs at least one event type".into()));
    }
    let mut event_types: Vec<String> = Vec::new();
    for e in req.event_types {
        if !EVENT_TYPES.contains(&e.as_str()) {
            return Err(bad(format!(
                "unknown event type {e:?}; known: {}",
                EVENT_TYPES.join(", ")
            )));
        }
        if !event_types.contains(&e) {
            event_types.push(e);
        }
    }
    Ok(WebhookPolicyReq {
        name,
        description: req.description,
        targets,
        event_types,
        enabled: req.enabled,
    })
}

fn policy_view(row: WebhookPolicyRow) -> Result<WebhookPolicy> {
    let corrupt = |e: serde_json::Error| Error::internal(format!("webhook policy {}: {e}", row.id));
    Ok(WebhookPolicy {
        id: row.id,
        targets: serde_json::from_str::<Vec<WebhookTarget>>(&row.targets)
            .map_err(corrupt)?
            .into_iter()
            .map(WebhookTarget::masked)
            .collect(),
        event_types: serde_json::from_str(&row.event_types).map_err(corrupt)?,
        name: row.name,
        description: row.description,
        project_id: row.project_id,
        creator: row.creator,
        enabled: row.enabled,
        creation_time: time(row.created_at),
        update_time: time(row.updated_at),
    })
}

/// What a repository looked like to the notifier (for the `repository` of payloads).
#[derive(Debug, Clone)]
struct RepoInfo {
    created_at: Option<i64>,
    public: bool,
}

/// A delivery task's parameters: everything but the target's secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DeliveryParams {
    event_id: i64,
    event_type: String,
    policy_id: i64,
    /// `http` or `slack`.
    notify_type: String,
    address: String,
    skip_cert_verify: bool,
    payload_format: String,
    content_type: String,
    body: String,
}

impl Registry {
    async fn policy_in(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
        action: Action,
    ) -> Result<WebhookPolicyRow> {
        let access = self
            .require_project(p, project, is_name, R::NotificationPolicy, action)
            .await?;
        match self.meta.webhook_policy(id).await? {
            Some(row) if row.project_id == access.project.id => Ok(row),
            _ => Err(Error::NotFound {
                what: format!("webhook policy {id}"),
            }),
        }
    }

    /// Policies of a project (`q` keys: id, name, creator, enabled, creation_time,
    /// update_time).
    pub async fn webhook_policies(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        q: &ListQuery,
    ) -> Result<Page<WebhookPolicy>> {
        let access = self
            .require_project(p, project, is_name, R::NotificationPolicy, Action::List)
            .await?;
        let spec = q.parse(POLICY_FIELDS, &[("id", false)])?;
        let (rows, total) = self
            .meta
            .list_webhook_policies(access.project.id, &spec)
            .await?;
        let items = rows.into_iter().map(policy_view).collect::<Result<_>>()?;
        Ok(spec.page_of(items, total))
    }

    pub async fn webhook_policy(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
    ) -> Result<WebhookPolicy> {
        policy_view(
            self.policy_in(p, project, is_name, id, Action::Read)
                .await?,
        )
    }

    /// Create a policy (project admins). A bad URL, an unknown event or target type is a
    /// `BAD_REQUEST` and stores nothing; a name taken in the project is `CONFLICT`.
    pub async fn create_webhook_policy(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        req: WebhookPolicyReq,
    ) -> Result<WebhookPolicy> {
        let access = self
            .require_project(p, project, is_name, R::NotificationPolicy, Action::Create)
            .await?;
        let req = check_policy(req)?;
        self.check_writable().await?;
        let now = self.now_ms();
        let mut row = WebhookPolicyRow {
            id: 0,
            project_id: access.project.id,
            name: req.name,
            description: req.description,
            targets: self.sealed_targets(req.targets, &[])?,
            event_types: serde_json::to_string(&req.event_types)
                .map_err(|e| Error::internal(e.to_string()))?,
            creator: p.name().to_owned(),
            enabled: req.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        row.id = self
            .meta
            .create_webhook_policy(&row)
            .await
            .map_err(conflict)?;
        tracing::info!(
            policy = row.id,
            project = access.project.name,
            "webhook policy created"
        );
        policy_view(row)
    }

    /// Replace a policy's name, description, targets, event types and enabled flag.
    pub async fn update_webhook_policy(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
        req: WebhookPolicyReq,
    ) -> Result<()> {
        let old = self
            .policy_in(p, project, is_name, id, Action::Update)
            .await?;
        let req = check_policy(req)?;
        self.check_writable().await?;
        let before: Vec<WebhookTarget> = serde_json::from_str(&old.targets).unwrap_or_default();
        let row = WebhookPolicyRow {
            name: req.name,
            description: req.description,
            targets: self.sealed_targets(req.targets, &before)?,
            event_types: serde_json::to_string(&req.event_types)
                .map_err(|e| Error::internal(e.to_string()))?,
            enabled: req.enabled.unwrap_or(old.enabled),
            updated_at: self.now_ms(),
            ..old
        };
        if !self
            .meta
            .update_webhook_policy(&row)
            .await
            .map_err(conflict)?
        {
            return Err(Error::NotFound {
                what: format!("webhook policy {id}"),
            });
        }
        Ok(())
    }

    pub async fn delete_webhook_policy(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
    ) -> Result<()> {
        let row = self
            .policy_in(p, project, is_name, id, Action::Delete)
            .await?;
        self.check_writable().await?;
        if !self.meta.delete_webhook_policy(row.project_id, id).await? {
            return Err(Error::NotFound {
                what: format!("webhook policy {id}"),
            });
        }
        Ok(())
    }

    /// Deliveries of a policy, newest first (`q` keys: id, status, trigger, start_time, …).
    pub async fn webhook_executions(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        policy_id: i64,
        q: &ListQuery,
    ) -> Result<Page<Execution>> {
        self.policy_in(p, project, is_name, policy_id, Action::Read)
            .await?;
        let page = self.executions(WEBHOOK_JOB, Some(policy_id), q).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for e in page.items.iter().cloned() {
            let tasks = self.execution_tasks(e.id).await?;
            items.push(execution_view(e, &tasks));
        }
        Ok(Page {
            items,
            total: page.total,
            page: page.page,
            page_size: page.page_size,
        })
    }

    async fn delivery(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        policy_id: i64,
        execution_id: i64,
    ) -> Result<ExecutionRow> {
        self.policy_in(p, project, is_name, policy_id, Action::Read)
            .await?;
        match self.execution(execution_id).await {
            Ok(e) if e.vendor_type == WEBHOOK_JOB && e.vendor_id == policy_id => Ok(e),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::NotFound {
                what: format!("execution {execution_id} of webhook policy {policy_id}"),
            }),
            Err(e) => Err(e),
        }
    }

    /// The tasks (one per target) of a delivery, paged.
    pub async fn webhook_execution_tasks(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        policy_id: i64,
        execution_id: i64,
        q: &ListQuery,
    ) -> Result<Page<Task>> {
        self.delivery(p, project, is_name, policy_id, execution_id)
            .await?;
        let spec = q.parse(&[], &[])?;
        let tasks = self.execution_tasks(execution_id).await?;
        let total = tasks.len() as u64;
        let items = tasks
            .into_iter()
            .skip(spec.offset() as usize)
            .take(spec.limit() as usize)
            .map(task_view)
            .collect();
        Ok(spec.page_of(items, total))
    }

    /// A delivery task's log (each attempt, the address, the status code).
    pub async fn webhook_task_log(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        policy_id: i64,
        execution_id: i64,
        task_id: i64,
    ) -> Result<String> {
        self.delivery(p, project, is_name, policy_id, execution_id)
            .await?;
        let task = self.task(task_id).await?;
        if task.execution_id != execution_id {
            return Err(Error::NotFound {
                what: format!("task {task_id} of execution {execution_id}"),
            });
        }
        Ok(task.log)
    }

    /// When each policy of the project last fired, per event type.
    pub async fn webhook_last_triggers(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
    ) -> Result<Vec<WebhookLastTrigger>> {
        let access = self
            .require_project(p, project, is_name, R::NotificationPolicy, Action::Read)
            .await?;
        Ok(self
            .meta
            .webhook_last_triggers(access.project.id)
            .await?
            .into_iter()
            .map(|r| WebhookLastTrigger {
                policy_name: r.policy_name,
                event_type: r.event_type,
                enabled: r.enabled,
                creation_time: time(r.created_at),
                last_trigger_time: time(r.last_trigger),
            })
            .collect())
    }

    /// Event types, notify types and payload formats policies may use.
    pub async fn webhook_event_types(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
    ) -> Result<SupportedWebhookEventTypes> {
        self.require_project(p, project, is_name, R::NotificationPolicy, Action::Read)
            .await?;
        Ok(SupportedWebhookEventTypes {
            event_type: EVENT_TYPES.iter().map(|s| (*s).to_owned()).collect(),
            notify_type: NOTIFY_TYPES.iter().map(|s| (*s).to_owned()).collect(),
            payload_formats: vec![
                PayloadFormats {
                    notify_type: "http".into(),
                    formats: vec![DEFAULT_FORMAT.into(), CLOUD_EVENTS.into()],
                },
                PayloadFormats {
                    notify_type: "slack".into(),
                    formats: vec![DEFAULT_FORMAT.into()],
                },
            ],
        })
    }

    // ---- the notifier ----------------------------------------------------------------------

    /// Turn pending events into webhook deliveries until none is pending (see the module
    /// documentation). Returns the number of deliveries enqueued.
    pub async fn dispatch_pending_events(&self) -> Result<usize> {
        // Most events (every pull, on a busy registry) belong to projects nobody watches: one
        // statement settles those, so only watched projects' events are read.
        self.meta.settle_unwatched_notifications().await?;
        let mut enqueued = 0;
        loop {
            let events = self.meta.pending_notifications(DISPATCH_BATCH).await?;
            if events.is_empty() {
                break;
            }
            let projects: Vec<i64> = events
                .iter()
                .filter_map(|e| e.project_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let policies = self.meta.enabled_webhook_policies(&projects).await?;
            let mut repos: HashMap<String, RepoInfo> = HashMap::new();
            let mut claims = Vec::with_capacity(events.len());
            for e in &events {
                let mut deliveries = Vec::new();
                for policy in policies
                    .iter()
                    .filter(|pol| Some(pol.project_id) == e.project_id)
                {
                    let types: Vec<String> =
                        serde_json::from_str(&policy.event_types).unwrap_or_default();
                    if !types.contains(&e.event_type) {
                        continue;
                    }
                    let targets: Vec<WebhookTarget> = match serde_json::from_str(&policy.targets) {
                        Ok(t) => t,
                        Err(err) => {
                            tracing::error!(policy = policy.id, error = %err, "unreadable webhook targets; skipping the policy");
                            continue;
                        }
                    };
                    let repo = self.repo_info(e, &mut repos).await?;
                    deliveries.push(self.render_delivery(e, policy, &targets, repo.as_ref()));
                }
                claims.push(EventClaim {
                    event_id: e.id,
                    deliveries,
                });
            }
            let claimed = self.meta.claim_events(&claims, self.now_ms()).await?;
            let n: usize = claims
                .iter()
                .filter(|c| claimed.contains(&c.event_id))
                .map(|c| c.deliveries.len())
                .sum();
            enqueued += n;
            if claimed.is_empty() || (events.len() as i64) < DISPATCH_BATCH {
                // Nothing claimed: another node holds these rows; it will finish them.
                break;
            }
        }
        if enqueued > 0 {
            if let Err(e) = self
                .meta
                .trim_executions(WEBHOOK_JOB, crate::jobs::KEEP_EXECUTIONS)
                .await
            {
                tracing::warn!(error = %e, "could not trim old webhook executions");
            }
            tracing::debug!(enqueued, "webhook deliveries enqueued");
        }
        Ok(enqueued)
    }

    async fn repo_info(
        &self,
        e: &EventRow,
        cache: &mut HashMap<String, RepoInfo>,
    ) -> Result<Option<RepoInfo>> {
        let payload = json_or_empty(&e.payload);
        let Some(name) = payload["repository"].as_str() else {
            return Ok(None);
        };
        if let Some(hit) = cache.get(name) {
            return Ok(Some(hit.clone()));
        }
        let created_at = self.meta.repository(name).await?.map(|r| r.created_at);
        let project = name.split('/').next().unwrap_or_default();
        let public = self
            .meta
            .project_by_name(project)
            .await?
            .is_some_and(|p| p.public);
        let info = RepoInfo { created_at, public };
        cache.insert(name.to_owned(), info.clone());
        Ok(Some(info))
    }

    /// Harbor's `event_data` for an event.
    fn event_data(&self, e: &EventRow, repo: Option<&RepoInfo>) -> serde_json::Value {
        let payload = json_or_empty(&e.payload);
        let mut data = serde_json::Map::new();
        let host = &self.audit.settings.registry_host;
        if let Some(name) = payload["repository"].as_str() {
            let digest = payload["digest"].as_str().unwrap_or_default();
            let tags: Vec<&str> = payload["tags"]
                .as_array()
                .map(|t| t.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let resources: Vec<serde_json::Value> = if tags.is_empty() {
                vec![serde_json::json!({
                    "digest": digest, "tag": "", "resource_url": format!("{host}/{name}@{digest}"),
                })]
            } else {
                tags.iter()
                    .map(|t| {
                        serde_json::json!({
                            "digest": digest, "tag": t, "resource_url": format!("{host}/{name}:{t}"),
                        })
                    })
                    .collect()
            };
            let mut resources = resources;
            if let Some(acc) = payload["accessory"].as_object() {
                // An accessory (signature, SBOM …): what it belongs to, and for an SBOM, Harbor's
                // `sbom_overview` naming it.
                for r in &mut resources {
                    r["accessory"] = serde_json::Value::Object(acc.clone());
                    if acc.get("type").and_then(|t| t.as_str())
                        == Some(crate::content::accessory::SBOM_HARBOR)
                    {
                        r["sbom_overview"] =
                            serde_json::json!({ "sbom_digest": digest, "scan_status": "Success" });
                    }
                }
            }
            if let Some(overview) = payload.get("scan_overview").filter(|o| o.is_object()) {
                // A scan's event: Harbor's resources carry the report summary.
                for r in &mut resources {
                    r["scan_overview"] = overview.clone();
                }
            }
            data.insert("resources".into(), resources.into());
            let (namespace, short) = name.split_once('/').unwrap_or(("", name));
            data.insert(
                "repository".into(),
                serde_json::json!({
                    "date_created": repo.and_then(|r| r.created_at).map(|t| t / 1000),
                    "name": short,
                    "namespace": namespace,
                    "repo_full_name": name,
                    "repo_type": if repo.is_some_and(|r| r.public) { "public" } else { "private" },
                }),
            );
        }
        for key in ["custom_attributes", "retention", "replication", "scan"] {
            if let Some(v) = payload.get(key) {
                data.insert(key.into(), v.clone());
            }
        }
        serde_json::Value::Object(data)
    }

    fn render_delivery(
        &self,
        e: &EventRow,
        policy: &WebhookPolicyRow,
        targets: &[WebhookTarget],
        repo: Option<&RepoInfo>,
    ) -> Delivery {
        let data = self.event_data(e, repo);
        let now = self.now_ms();
        let tasks = targets
            .iter()
            .map(|t| {
                let (content_type, body) = render(e, policy, t, &data);
                let params = DeliveryParams {
                    event_id: e.id,
                    event_type: e.event_type.clone(),
                    policy_id: policy.id,
                    notify_type: t.kind.clone(),
                    address: t.address.clone(),
                    skip_cert_verify: t.skip_cert_verify,
                    payload_format: t.payload_format.clone(),
                    content_type: content_type.to_owned(),
                    body,
                };
                NewTask {
                    params: serde_json::to_string(&params).expect("delivery params serialize"),
                    max_attempts: MAX_ATTEMPTS,
                    run_at: now,
                }
            })
            .collect();
        Delivery {
            policy_id: policy.id,
            event_type: e.event_type.clone(),
            execution: NewExecution {
                vendor_type: WEBHOOK_JOB.into(),
                vendor_id: policy.id,
                trigger: EVENT.into(),
                params: serde_json::json!({
                    "event_id": e.id, "event_type": e.event_type, "policy_id": policy.id,
                })
                .to_string(),
                tasks,
            },
        }
    }

    /// Run [`Registry::dispatch_pending_events`] every [`NOTIFY_INTERVAL`] on the current
    /// runtime until [`Notifier::shutdown`]. Every node may run one: claims keep them apart.
    pub fn spawn_notifier(&self) -> Notifier {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = Arc::new(AtomicBool::new(false));
        let (reg, stop2, stopped2) = (self.clone(), stop.clone(), stopped.clone());
        let handle = tokio::spawn(async move {
            while !stopped2.load(Ordering::SeqCst) {
                if let Err(e) = reg.dispatch_pending_events().await {
                    tracing::warn!(error = %e, "webhook notifier could not dispatch events");
                }
                if let Err(e) = reg.replicate_pending_events().await {
                    tracing::warn!(error = %e, "event-based replication could not start");
                }
                tokio::select! {
                    _ = stop2.notified() => {}
                    _ = tokio::time::sleep(NOTIFY_INTERVAL) => {}
                }
            }
        });
        Notifier {
            stop,
            stopped,
            handle,
        }
    }

    fn webhook_client(&self, skip_cert_verify: bool) -> Result<&reqwest::Client> {
        if self.audit.http.get().is_none() {
            let build = |skip: bool| {
                reqwest::Client::builder()
                    .timeout(self.audit.settings.webhook_timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .tls_danger_accept_invalid_certs(skip)
                    .user_agent(concat!("berth-webhook/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| Error::internal(format!("building the webhook HTTP client: {e}")))
            };
            let _ = self.audit.http.set((build(false)?, build(true)?));
        }
        let (verify, skip) = self.audit.http.get().expect("webhook clients set above");
        Ok(if skip_cert_verify { skip } else { verify })
    }
}

/// `CONFLICT` for a policy name already used in the project (Harbor's status).
fn conflict(e: Error) -> Error {
    match e {
        Error::AlreadyExists { what } => Error::Conflict {
            reason: format!("{what} already exists in this project"),
        },
        other => other,
    }
}

/// The body of one delivery: `(content type, body)`.
fn render(
    e: &EventRow,
    policy: &WebhookPolicyRow,
    t: &WebhookTarget,
    data: &serde_json::Value,
) -> (&'static str, String) {
    let occur_at = e.created_at / 1000;
    if t.kind == "slack" {
        let mut text = format!(
            "*Harbor webhook event* `{}`\n*Operator*: {}\n*Occurred at*: {}\n",
            e.event_type,
            if e.operator.is_empty() {
                "system"
            } else {
                &e.operator
            },
            time(e.created_at).to_rfc3339()
        );
        if let Some(r) = data.get("repository") {
            text.push_str(&format!(
                "*Repository*: {}\n",
                r["repo_full_name"].as_str().unwrap_or_default()
            ));
        }
        for r in data["resources"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                "*Resource*: {} ({})\n",
                r["resource_url"].as_str().unwrap_or_default(),
                r["digest"].as_str().unwrap_or_default()
            ));
        }
        if let Some(d) = data["custom_attributes"]["Details"].as_str() {
            text.push_str(&format!("*Details*: {d}\n"));
        }
        return (
            "application/json",
            serde_json::json!({ "text": text }).to_string(),
        );
    }
    if t.payload_format == CLOUD_EVENTS {
        let body = serde_json::json!({
            "specversion": "1.0",
            "id": e.id.to_string(),
            "requestid": format!("berth-event-{}", e.id),
            "source": format!("/projects/{}/webhook/policies/{}", policy.project_id, policy.id),
            "type": cloud_event_type(&e.event_type),
            "datacontenttype": "application/json",
            "time": time(e.created_at).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "data": data,
            "operator": e.operator,
        });
        return ("application/cloudevents+json", body.to_string());
    }
    let body = serde_json::json!({
        "type": e.event_type,
        "occur_at": occur_at,
        "operator": e.operator,
        "event_data": data,
    });
    ("application/json", body.to_string())
}

/// Handle to a running notifier.
pub struct Notifier {
    stop: Arc<tokio::sync::Notify>,
    stopped: Arc<AtomicBool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Notifier {
    /// Stop after the current round.
    pub async fn shutdown(self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
        let _ = self.handle.await;
    }
}

/// The job handler of deliveries: one POST per attempt.
struct WebhookJob;

#[async_trait]
impl JobHandler for WebhookJob {
    fn max_attempts(&self) -> i64 {
        MAX_ATTEMPTS
    }

    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let d: DeliveryParams =
            serde_json::from_value(task.params.clone()).map_err(|e| Error::BadRequest {
                reason: format!("webhook delivery parameters: {e}"),
            })?;
        let shown = redact_url(&d.address);
        task.set_execution("event_type", d.event_type.as_str());
        task.set_execution("payload", d.body.as_str());
        task.set("event_type", d.event_type.as_str());
        task.set("notify_type", d.notify_type.as_str());
        task.set("address", shown.as_str());
        // The secret is read from the policy now, never stored with the task.
        let auth = match reg.meta.webhook_policy(d.policy_id).await? {
            Some(p) => serde_json::from_str::<Vec<WebhookTarget>>(&p.targets)
                .unwrap_or_default()
                .into_iter()
                .find(|t| t.address == d.address && t.kind == d.notify_type)
                .map(|t| reg.secrets.open(&t.auth_header))
                .transpose()?
                .unwrap_or_default(),
            None => {
                task.log(format_args!(
                    "webhook policy {} no longer exists; not delivering",
                    d.policy_id
                ));
                return Err(Error::NotFound {
                    what: format!("webhook policy {}", d.policy_id),
                });
            }
        };
        task.log(format_args!(
            "POST {shown} event {} ({}, {} format, {} bytes{})",
            d.event_id,
            d.event_type,
            d.payload_format,
            d.body.len(),
            if auth.is_empty() {
                ""
            } else {
                ", with Authorization"
            }
        ));
        let client = reg.webhook_client(d.skip_cert_verify)?;
        let mut req = client
            .post(&d.address)
            .header(reqwest::header::CONTENT_TYPE, d.content_type.as_str())
            .header("X-Berth-Event-Id", d.event_id.to_string())
            .body(d.body);
        if !auth.is_empty() {
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        let resp = req.send().await.map_err(|e| Error::Unavailable {
            reason: format!("POST {shown}: {}", e.without_url()),
        })?;
        let status = resp.status();
        task.set("status_code", status.as_u16());
        task.log(format_args!("{shown} answered {status}"));
        if status.is_success() {
            Ok(())
        } else {
            Err(Error::Unavailable {
                reason: format!("{shown} answered {status}"),
            })
        }
    }
}

pub(crate) fn register_jobs(reg: &Registry) {
    reg.register_job(WEBHOOK_JOB, Arc::new(WebhookJob));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: &str, address: &str, format: &str) -> WebhookTarget {
        WebhookTarget {
            kind: kind.into(),
            address: address.into(),
            auth_header: "Bearer s3cret".into(),
            skip_cert_verify: false,
            payload_format: format.into(),
        }
    }

    fn req(targets: Vec<WebhookTarget>, events: &[&str]) -> WebhookPolicyReq {
        WebhookPolicyReq {
            name: "hook".into(),
            targets,
            event_types: events.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn policies_are_validated() {
        let ok = check_policy(req(
            vec![target("", "https://h.example/x", "")],
            &[PUSH_ARTIFACT, PUSH_ARTIFACT],
        ))
        .unwrap();
        assert_eq!(ok.targets[0].kind, "http");
        assert_eq!(ok.targets[0].payload_format, DEFAULT_FORMAT);
        assert_eq!(ok.event_types, vec![PUSH_ARTIFACT]);
        for bad in [
            req(vec![target("http", "not a url", "")], &[PUSH_ARTIFACT]),
            req(vec![target("http", "ftp://h/x", "")], &[PUSH_ARTIFACT]),
            req(vec![target("email", "https://h/x", "")], &[PUSH_ARTIFACT]),
            req(
                vec![target("slack", "https://h/x", CLOUD_EVENTS)],
                &[PUSH_ARTIFACT],
            ),
            req(vec![target("http", "https://h/x", "Xml")], &[PUSH_ARTIFACT]),
            req(vec![target("http", "https://h/x", "")], &["PUSH_IMAGE"]),
            req(vec![target("http", "https://h/x", "")], &[]),
            req(vec![], &[PUSH_ARTIFACT]),
        ] {
            let e = check_policy(bad.clone()).unwrap_err();
            assert_eq!(e.code().as_str(), "BAD_REQUEST", "{bad:?}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let t = target("http", "https://user:pw@h.example/x", "");
        let shown = format!("{t:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains(":pw@"),
            "{shown}"
        );
    }

    #[test]
    fn payloads_follow_harbor() {
        let e = EventRow {
            id: 42,
            event_type: PUSH_ARTIFACT.into(),
            resource_type: "artifact".into(),
            resource: "p/app:v1".into(),
            operation: "create".into(),
            project_id: Some(7),
            operator: "alice".into(),
            remote_addr: "10.0.0.1".into(),
            success: true,
            payload: "{}".into(),
            created_at: 1_700_000_000_123,
        };
        let policy = WebhookPolicyRow {
            id: 3,
            project_id: 7,
            name: "n".into(),
            description: String::new(),
            targets: "[]".into(),
            event_types: "[]".into(),
            creator: "admin".into(),
            enabled: true,
            created_at: 0,
            updated_at: 0,
        };
        let data = serde_json::json!({"resources": [{"digest": "sha256:ab", "tag": "v1", "resource_url": "h/p/app:v1"}]});
        let (ct, body) = render(
            &e,
            &policy,
            &target("http", "https://h/x", DEFAULT_FORMAT),
            &data,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ct, "application/json");
        assert_eq!(v["type"], PUSH_ARTIFACT);
        assert_eq!(v["occur_at"], 1_700_000_000);
        assert_eq!(v["operator"], "alice");
        assert_eq!(v["event_data"]["resources"][0]["tag"], "v1");
        let (ct, body) = render(
            &e,
            &policy,
            &target("http", "https://h/x", CLOUD_EVENTS),
            &data,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ct, "application/cloudevents+json");
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["id"], "42");
        assert_eq!(v["source"], "/projects/7/webhook/policies/3");
        assert_eq!(v["type"], "harbor.artifact.pushed");
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        assert_eq!(v["data"], data);
        let (_, body) = render(
            &e,
            &policy,
            &target("slack", "https://h/x", DEFAULT_FORMAT),
            &data,
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["text"].as_str().unwrap().contains("PUSH_ARTIFACT"));
        assert!(v["text"].as_str().unwrap().contains("h/p/app:v1"));
    }
}
