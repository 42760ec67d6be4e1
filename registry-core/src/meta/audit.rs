//! Metadata for the audit log and webhooks: listing, exporting and purging the `events` table
//! (the one audit trail, see [`crate::events`]), per-project webhook policies, and the claim
//! that turns pending events into webhook deliveries.
//!
//! Implemented by both SQL stores from one text ([`super::audit_sql`]).

use async_trait::async_trait;

use crate::error::Result;
use crate::meta::governance::{EventRow, NewExecution};
use crate::query::{Filter, ListSpec};

/// A stored webhook policy. `targets` and `event_types` are JSON arrays.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookPolicyRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub targets: String,
    pub event_types: String,
    pub creator: String,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// When a policy last fired for one event type.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LastTriggerRow {
    pub policy_id: i64,
    pub policy_name: String,
    pub enabled: bool,
    pub created_at: i64,
    pub event_type: String,
    pub last_trigger: i64,
}

/// One webhook delivery to enqueue for a claimed event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub policy_id: i64,
    pub event_type: String,
    pub execution: NewExecution,
}

/// A pending event and the deliveries it causes (none when no enabled policy wants it).
#[derive(Debug, Clone)]
pub struct EventClaim {
    pub event_id: i64,
    pub deliveries: Vec<Delivery>,
}

/// Which events a purge removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeFilter {
    /// Events recorded before this time (unix ms).
    pub before: i64,
    /// Audit event types (`create_artifact`, i.e. `<operation>_<resource_type>`) or event type
    /// names (`PUSH_ARTIFACT`); empty means every type.
    pub types: Vec<String>,
}

/// What a purge found: rows that match, and matching rows kept because the notifier has not
/// handled them yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurgeCount {
    pub purgeable: u64,
    pub pending: u64,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    // ---- the audit log ---------------------------------------------------------------------
    /// Events of the given projects (`None`: all), filtered, sorted and paged by `spec`.
    async fn list_events(
        &self,
        projects: Option<&[i64]>,
        spec: &ListSpec,
    ) -> Result<(Vec<EventRow>, u64)>;
    /// Up to `limit` events in id order (descending with `desc`) strictly after `after`
    /// (keyset paging, for exports of any size).
    async fn scan_events(
        &self,
        projects: Option<&[i64]>,
        filters: &[Filter],
        after: Option<i64>,
        desc: bool,
        limit: i64,
    ) -> Result<Vec<EventRow>>;
    async fn count_purgeable(&self, f: &PurgeFilter) -> Result<PurgeCount>;
    /// Delete up to `limit` matching events the notifier has handled. Returns how many went.
    async fn purge_events(&self, f: &PurgeFilter, limit: i64) -> Result<u64>;

    // ---- webhook policies ------------------------------------------------------------------
    /// Insert a policy (`id` ignored); `AlreadyExists` when the project has one of that name.
    async fn create_webhook_policy(&self, p: &WebhookPolicyRow) -> Result<i64>;
    async fn webhook_policy(&self, id: i64) -> Result<Option<WebhookPolicyRow>>;
    async fn list_webhook_policies(
        &self,
        project_id: i64,
        spec: &ListSpec,
    ) -> Result<(Vec<WebhookPolicyRow>, u64)>;
    /// Every policy, enabled or not (for resealing secrets).
    async fn all_webhook_policies(&self) -> Result<Vec<WebhookPolicyRow>>;
    /// Enabled policies of those projects.
    async fn enabled_webhook_policies(&self, project_ids: &[i64]) -> Result<Vec<WebhookPolicyRow>>;
    /// Replace name, description, targets, event types and enabled (by id and project).
    async fn update_webhook_policy(&self, p: &WebhookPolicyRow) -> Result<bool>;
    async fn delete_webhook_policy(&self, project_id: i64, id: i64) -> Result<bool>;
    async fn webhook_last_triggers(&self, project_id: i64) -> Result<Vec<LastTriggerRow>>;

    // ---- the notifier ----------------------------------------------------------------------
    /// In one transaction: claim those events that are still pending (clearing their flag;
    /// rows another node is claiming are skipped), enqueue the deliveries of the claimed ones
    /// and note their trigger times. Returns the ids claimed. See `crate::webhook`.
    async fn claim_events(&self, claims: &[EventClaim], now: i64) -> Result<Vec<i64>>;
}
