//! Metadata for replication: registry endpoints and replication policies.
//!
//! Implemented by both SQL stores from one text ([`super::replication_sql`]).

use async_trait::async_trait;

use crate::error::Result;
use crate::query::ListSpec;

/// A registry endpoint as stored; `access_secret` is sealed ([`crate::registry::secrets`]).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RegistryRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub credential_type: String,
    pub access_key: String,
    pub access_secret: String,
    pub insecure: bool,
    pub ca_certificate: String,
    pub description: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RegistryRow {
    /// An endpoint that is not stored: for a ping, a one-off copy or a scanner adapter's pull.
    pub fn unsaved(url: String, kind: &str, credential_type: &str, access_key: String) -> Self {
        Self {
            id: 0,
            name: String::new(),
            url,
            kind: kind.to_owned(),
            credential_type: credential_type.to_owned(),
            access_key,
            access_secret: String::new(),
            insecure: false,
            ca_certificate: String::new(),
            description: String::new(),
            status: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }
}

/// A replication policy as stored (`trigger_spec` and `filters` are Harbor's JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub src_registry_id: Option<i64>,
    pub dest_registry_id: Option<i64>,
    pub dest_namespace: String,
    pub dest_namespace_replace_count: i64,
    pub trigger_spec: String,
    pub filters: String,
    pub replicate_deletion: bool,
    pub override_existing: bool,
    pub enabled: bool,
    pub speed: i64,
    pub copy_by_chunk: bool,
    pub single_active_replication: bool,
    pub creator: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[async_trait]
pub trait ReplicationStore: Send + Sync {
    /// Insert an endpoint; its id comes back. A name taken is `CONFLICT`.
    async fn create_registry(&self, r: &RegistryRow) -> Result<i64>;
    async fn registry_endpoint(&self, id: i64) -> Result<Option<RegistryRow>>;
    async fn list_registries(&self, spec: &ListSpec) -> Result<(Vec<RegistryRow>, u64)>;
    /// Every endpoint (for resealing secrets).
    async fn all_registries(&self) -> Result<Vec<RegistryRow>>;
    /// Replace every column but `id` and `created_at`; false when there is no such endpoint.
    async fn update_registry(&self, r: &RegistryRow) -> Result<bool>;
    /// Record a health status seen by a ping.
    async fn set_registry_status(&self, id: i64, status: &str) -> Result<()>;
    async fn delete_registry(&self, id: i64) -> Result<bool>;
    /// What uses endpoint `id`: proxy-cache projects (`project NAME`) and replication
    /// policies (`policy NAME`).
    async fn registry_users(&self, id: i64) -> Result<Vec<String>>;

    /// Insert a policy; a name taken is `ALREADY_EXISTS`.
    async fn create_replication_policy(&self, p: &PolicyRow) -> Result<i64>;
    async fn replication_policy(&self, id: i64) -> Result<Option<PolicyRow>>;
    async fn list_replication_policies(&self, spec: &ListSpec) -> Result<(Vec<PolicyRow>, u64)>;
    /// Enabled policies whose trigger is of `kind` (`event_based`, `scheduled`).
    async fn replication_policies_triggered_by(&self, kind: &str) -> Result<Vec<PolicyRow>>;
    async fn update_replication_policy(&self, p: &PolicyRow) -> Result<bool>;
    async fn delete_replication_policy(&self, id: i64) -> Result<bool>;

    /// The newest event's id (0 when there is none).
    async fn last_event_id(&self) -> Result<i64>;
    /// Move setting `key` from `from` to `to` (compare-and-set); whether it moved.
    async fn swap_setting(&self, key: &str, from: &str, to: &str) -> Result<bool>;
}
