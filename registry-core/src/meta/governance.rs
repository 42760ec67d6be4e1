//! Metadata for governance: storage quotas, the job service (executions, tasks, schedules),
//! the event outbox, and the reads and compare-and-set writes garbage collection is made of.
//!
//! Implemented by both SQL stores from one text ([`super::governance_sql`]).

use async_trait::async_trait;

use crate::error::Result;
use crate::query::ListSpec;

/// A project's storage quota. `hard` -1 is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QuotaRow {
    pub id: i64,
    pub project_id: i64,
    pub project_name: String,
    pub hard: i64,
    pub used: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An event to record: a row of the audit trail and of the outbox webhooks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `PUSH_ARTIFACT`, `DELETE_ARTIFACT`, `QUOTA_WARNING`, `CREATE_PROJECT`, …
    pub event_type: String,
    /// `artifact`, `project`, `repository`, `user`, `robot`, `quota`, …
    pub resource_type: String,
    /// `repo:tag`, `repo@digest`, a name.
    pub resource: String,
    /// `create`, `delete`, `pull`, `update`, …
    pub operation: String,
    /// Filled in by the store for repository events when `None`.
    pub project_id: Option<i64>,
    pub operator: String,
    pub remote_addr: String,
    pub success: bool,
    /// Event details as a JSON object.
    pub payload: String,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub resource_type: String,
    pub resource: String,
    pub operation: String,
    pub project_id: Option<i64>,
    pub operator: String,
    pub remote_addr: String,
    pub success: bool,
    pub payload: String,
    pub created_at: i64,
}

/// An execution to create, with its tasks.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub vendor_type: String,
    pub vendor_id: i64,
    /// `MANUAL`, `SCHEDULE`, `EVENT`.
    pub trigger: String,
    /// JSON object.
    pub params: String,
    pub tasks: Vec<NewTask>,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    /// JSON object.
    pub params: String,
    pub max_attempts: i64,
    /// Not before this time (unix ms).
    pub run_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExecutionRow {
    pub id: i64,
    pub vendor_type: String,
    pub vendor_id: i64,
    pub trigger_kind: String,
    pub params: String,
    pub status: String,
    pub status_message: String,
    pub extra_attrs: String,
    pub start_time: i64,
    pub update_time: i64,
    pub end_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub execution_id: i64,
    pub vendor_type: String,
    pub params: String,
    pub status: String,
    pub status_message: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub stop_requested: bool,
    pub extra_attrs: String,
    pub log: String,
    pub creation_time: i64,
    pub start_time: Option<i64>,
    pub update_time: i64,
    pub end_time: Option<i64>,
}

/// How a claimed task ended.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    /// `Success`, `Error`, `Stopped`, or `Pending` (retry at `retry_at`).
    pub status: String,
    pub message: String,
    pub log: String,
    /// JSON object.
    pub extra_attrs: String,
    pub retry_at: Option<i64>,
    /// JSON object merged into the execution's `extra_attrs` (GC: freed space, …).
    pub execution_attrs: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: i64,
    pub vendor_type: String,
    pub vendor_id: i64,
    pub cron: String,
    pub params: String,
    pub next_fire: i64,
    pub creation_time: i64,
    pub update_time: i64,
}

/// A repository's link to a blob, as garbage collection sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LinkKey {
    pub repo_id: i64,
    pub digest: String,
}

/// What [`GovernanceStore::quota_check`] found for one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaAudit {
    pub project_id: i64,
    /// `quotas.used`.
    pub stored: i64,
    /// Sum of the sizes of every distinct digest the project's repositories link or store as a
    /// manifest, recounted from those links.
    pub recount: i64,
}

/// Governance metadata. See the module documentation.
#[async_trait]
pub trait GovernanceStore: Send + Sync {
    // ---- quotas ----------------------------------------------------------------------------
    async fn quota_by_project(&self, project_id: i64) -> Result<Option<QuotaRow>>;
    async fn quota_by_id(&self, id: i64) -> Result<Option<QuotaRow>>;
    /// Quotas of the given projects (`None`: all), paged.
    async fn list_quotas(
        &self,
        project_ids: Option<&[i64]>,
        spec: &ListSpec,
    ) -> Result<(Vec<QuotaRow>, u64)>;
    async fn set_quota_hard(&self, id: i64, hard: i64, now: i64) -> Result<bool>;
    /// Stored usage and a recount from links, per project.
    async fn quota_check(&self) -> Result<Vec<QuotaAudit>>;

    // ---- events ----------------------------------------------------------------------------
    async fn insert_events(&self, events: &[NewEvent], now: i64) -> Result<()>;
    /// Events in id order after `after`, at most `limit`.
    async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<EventRow>>;
    /// Events not yet handled by the notifier, oldest first; claimed rows are locked on
    /// PostgreSQL (`SKIP LOCKED`) until `mark_notified` in the same call chain.
    async fn pending_notifications(&self, limit: i64) -> Result<Vec<EventRow>>;
    /// Mark handled, without reading them, the pending events of projects that have no enabled
    /// webhook policy (and those of no project): nothing would be delivered for them.
    /// Returns how many.
    async fn settle_unwatched_notifications(&self) -> Result<u64>;
    async fn mark_notified(&self, ids: &[i64]) -> Result<()>;

    // ---- jobs ------------------------------------------------------------------------------
    async fn create_execution(&self, e: &NewExecution, now: i64) -> Result<i64>;
    /// Claim the next runnable task: pending and due, or running with an expired lease.
    async fn claim_task(&self, owner: &str, now: i64, lease_ms: i64) -> Result<Option<TaskRow>>;
    /// Extend the lease and save progress; `None` when the lease was lost, else whether a stop
    /// was requested.
    async fn renew_task(
        &self,
        id: i64,
        owner: &str,
        until: i64,
        log: &str,
        now: i64,
    ) -> Result<Option<bool>>;
    /// Record how a task ended and refresh its execution's status. Ignored (false) when the
    /// lease was lost.
    async fn finish_task(
        &self,
        id: i64,
        owner: &str,
        outcome: &TaskOutcome,
        now: i64,
    ) -> Result<bool>;
    async fn execution(&self, id: i64) -> Result<Option<ExecutionRow>>;
    async fn list_executions(
        &self,
        vendor_type: &str,
        vendor_id: Option<i64>,
        spec: &ListSpec,
    ) -> Result<(Vec<ExecutionRow>, u64)>;
    async fn list_tasks(&self, execution_id: i64) -> Result<Vec<TaskRow>>;
    async fn task(&self, id: i64) -> Result<Option<TaskRow>>;
    /// Stop an execution: pending tasks stop now, running ones are asked to. Returns whether it
    /// was still active.
    async fn stop_execution(&self, id: i64, now: i64) -> Result<bool>;
    /// Whether `vendor_type` has an execution pending or running.
    async fn active_execution(&self, vendor_type: &str, vendor_id: i64) -> Result<Option<i64>>;
    /// Delete finished executions of `vendor_type` beyond the newest `keep`.
    async fn trim_executions(&self, vendor_type: &str, keep: i64) -> Result<u64>;

    async fn upsert_schedule(&self, s: &ScheduleRow) -> Result<()>;
    async fn delete_schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<bool>;
    async fn schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<Option<ScheduleRow>>;
    async fn due_schedules(&self, now: i64) -> Result<Vec<ScheduleRow>>;
    /// Move `next_fire` from `from` to `to` if it is still `from` (the node that wins fires).
    async fn advance_schedule(&self, id: i64, from: i64, to: i64) -> Result<bool>;

    // ---- garbage collection ----------------------------------------------------------------
    /// Untagged manifests that nothing in their repository references (no index lists them and,
    /// for referrers, the subject is gone), after `after` in (repository, digest) order.
    async fn gc_untagged(
        &self,
        after: Option<(String, String)>,
        limit: i64,
    ) -> Result<Vec<(String, String)>>;
    /// Repository links no manifest of the repository references, untouched since `cutoff`.
    async fn gc_orphan_links(
        &self,
        after: Option<&LinkKey>,
        cutoff: i64,
        limit: i64,
    ) -> Result<Vec<LinkKey>>;
    /// Drop those links (rechecking both conditions) and release what their projects no longer
    /// hold. Returns the links dropped.
    async fn gc_drop_links(&self, links: &[LinkKey], cutoff: i64, now: i64) -> Result<u64>;
    /// Blobs nothing links or references, untouched since `cutoff`, after `after` in digest
    /// order: `(digest, size)`. With `stale_links`, blobs whose links are all untouched since
    /// `cutoff` count as unlinked (what a run would find after dropping those links: a dry run).
    async fn gc_orphan_blobs(
        &self,
        after: Option<&str>,
        cutoff: i64,
        limit: i64,
        stale_links: bool,
    ) -> Result<Vec<(String, i64)>>;
    /// Move those blobs to `deleting`, rechecking in the same statement that nothing links or
    /// references them and that they are still untouched: the compare-and-set that a concurrent
    /// upload, mount or manifest push races against. Returns the ones claimed.
    async fn gc_claim_blobs(&self, digests: &[String], cutoff: i64) -> Result<Vec<(String, i64)>>;
    /// Forget blobs whose bytes are gone (`deleting` rows only).
    async fn gc_forget_blobs(&self, digests: &[String]) -> Result<()>;
    /// Put back a blob whose bytes could not be deleted.
    async fn gc_unclaim_blob(&self, digest: &str) -> Result<()>;
    /// Record a blob about to be published: a new row, or the existing one touched. `false`
    /// while garbage collection is deleting it (the caller waits and retries).
    async fn claim_blob(&self, digest: &str, size: i64, now: i64) -> Result<bool>;
    /// Touch a repository's link (a HEAD that answered "exists") if it is older than `stale`.
    async fn touch_link(&self, repo: &str, digest: &str, stale: i64, now: i64) -> Result<()>;
}

/// Usage at or above this share of the limit raises `QUOTA_WARNING`, in percent.
pub const WARNING_PERCENT: i64 = 85;

/// Whether usage going from `before` to `after` crosses the warning threshold of `hard`.
pub fn crosses_warning(hard: i64, before: i64, after: i64) -> bool {
    hard > 0 && before * 100 < hard * WARNING_PERCENT && after * 100 >= hard * WARNING_PERCENT
}

/// The `QUOTA_WARNING` event for a project now using `used` of `hard`.
pub(crate) fn warning_event(project_id: i64, hard: i64, used: i64) -> NewEvent {
    let details = format!(
        "quota usage reached {}% of the limit: {} of {}",
        used * 100 / hard.max(1),
        crate::units::human_size(used),
        crate::units::human_size(hard)
    );
    NewEvent::new("QUOTA_WARNING", "quota", project_id.to_string(), "warning")
        .project(project_id)
        .payload(serde_json::json!({ "hard": hard, "used": used, "custom_attributes": { "Details": details } }))
}
