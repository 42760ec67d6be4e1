//! Metadata for policies: immutable tag rules, retention policies, and what a retention run
//! needs to read about a repository.
//!
//! Implemented by both SQL stores from one text ([`super::policy_sql`]).

use async_trait::async_trait;

use crate::error::Result;
use crate::query::ListSpec;

/// A stored immutable tag rule. `selectors` is the rule's JSON (tag and scope selectors);
/// `fingerprint` identifies its content, unique per project (duplicates are refused).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ImmutableRuleRow {
    pub id: i64,
    pub project_id: i64,
    pub priority: i64,
    pub disabled: bool,
    pub selectors: String,
    pub fingerprint: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored retention policy; `policy` is its JSON (rules, trigger, algorithm).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionPolicyRow {
    pub id: i64,
    pub project_id: i64,
    pub policy: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A repository of a project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectRepo {
    pub id: i64,
    pub name: String,
}

/// A manifest as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InventoryManifest {
    pub digest: String,
    pub push_time: i64,
    pub pull_time: Option<i64>,
    pub subject: Option<String>,
    /// Whether it is an accessory of `subject` (a signature, an SBOM …): it follows its subject
    /// and is never judged on its own.
    pub accessory: bool,
}

/// A key a project trusts for content trust verification. `kind` is `cosign` (a public key,
/// `pem` is its SubjectPublicKeyInfo) or `notation` (a root certificate).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TrustKeyRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub kind: String,
    pub algorithm: String,
    pub pem: String,
    /// sha256 of the DER, hex: unique per project.
    pub fingerprint: String,
    pub created_at: i64,
}

/// Everything retention reads about one repository, read in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoInventory {
    pub manifests: Vec<InventoryManifest>,
    /// (digest, tag)
    pub tags: Vec<(String, String)>,
    /// (digest, label name)
    pub labels: Vec<(String, String)>,
    /// (index digest, child manifest digest)
    pub children: Vec<(String, String)>,
}

/// The part of a run that covered one repository; `log` is the kept/deleted table.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionTaskRow {
    pub id: i64,
    pub execution_id: i64,
    pub repository: String,
    pub status: String,
    pub total: i64,
    pub retained: i64,
    pub start_time: i64,
    pub end_time: i64,
    pub log: String,
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    // -- immutable tag rules
    /// Store a rule. `AlreadyExists` when the project has a rule with the same fingerprint;
    /// `BadRequest` when it has `max` rules already.
    async fn create_immutable_rule(&self, r: &ImmutableRuleRow, max: i64) -> Result<i64>;
    /// Replace a rule's content. `AlreadyExists` when another rule has the new fingerprint.
    async fn update_immutable_rule(&self, r: &ImmutableRuleRow) -> Result<bool>;
    async fn delete_immutable_rule(&self, project_id: i64, id: i64) -> Result<bool>;
    async fn immutable_rule(&self, project_id: i64, id: i64) -> Result<Option<ImmutableRuleRow>>;
    async fn list_immutable_rules(
        &self,
        project_id: i64,
        spec: &ListSpec,
    ) -> Result<(Vec<ImmutableRuleRow>, u64)>;
    /// The project's id and all its rules, by project name, in one query (`None`: no project).
    async fn immutable_rules_of(
        &self,
        project: &str,
    ) -> Result<Option<(i64, Vec<ImmutableRuleRow>)>>;

    // -- retention policies
    /// Store the project's policy and set its `retention_id` metadata, in one transaction.
    /// `BadRequest` when the project has a policy already.
    async fn create_retention_policy(&self, project_id: i64, policy: &str, now: i64)
    -> Result<i64>;
    async fn update_retention_policy(&self, id: i64, policy: &str, now: i64) -> Result<bool>;
    /// Delete the policy and the project's `retention_id` metadata.
    async fn delete_retention_policy(&self, id: i64) -> Result<bool>;
    async fn retention_policy(&self, id: i64) -> Result<Option<RetentionPolicyRow>>;

    // -- retention runs (the run itself is a job service execution)
    async fn add_retention_task(&self, t: &RetentionTaskRow) -> Result<i64>;
    /// Tasks of a run (`log` left empty).
    async fn list_retention_tasks(
        &self,
        execution_id: i64,
        spec: &ListSpec,
    ) -> Result<(Vec<RetentionTaskRow>, u64)>;
    async fn retention_task(&self, execution_id: i64, id: i64) -> Result<Option<RetentionTaskRow>>;

    // -- content trust keys
    /// `AlreadyExists` when the project already trusts a key with this fingerprint.
    async fn create_trust_key(&self, k: &TrustKeyRow) -> Result<i64>;
    async fn trust_keys(&self, project_id: i64) -> Result<Vec<TrustKeyRow>>;
    async fn delete_trust_key(&self, project_id: i64, id: i64) -> Result<bool>;

    // -- what a retention run reads
    async fn project_repositories(&self, project_id: i64) -> Result<Vec<ProjectRepo>>;
    async fn repo_inventory(&self, repo_id: i64) -> Result<RepoInventory>;
}
