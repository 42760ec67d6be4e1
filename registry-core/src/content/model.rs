//! The management views: what `/api/v2.0` returns and the bindings hand out, with Harbor's
//! field names. Times are RFC 3339 in UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::RobotPermission;

pub fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub project_id: i64,
    pub name: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub repo_count: i64,
    pub metadata: BTreeMap<String, String>,
    /// Roles the caller holds here (1 projectAdmin … 5 limitedGuest).
    pub current_user_role_ids: Vec<i64>,
    pub current_user_role_id: i64,
    pub registry_id: i64,
    pub deleted: bool,
    pub togglable: bool,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// The project's own CVE allowlist (used when its `reuse_sys_cve_allowlist` metadata is
    /// not `true`); in the answer for one project, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cve_allowlist: Option<crate::policy::vulnerability::CveAllowlist>,
}

/// `POST /projects`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectReq {
    pub project_name: String,
    /// Deprecated top-level flag; `metadata.public` wins.
    #[serde(default)]
    pub public: Option<bool>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Bytes, -1 unlimited (enforced by the quota feature).
    #[serde(default)]
    pub storage_limit: Option<i64>,
    #[serde(default)]
    pub registry_id: Option<i64>,
    #[serde(default)]
    pub cve_allowlist: Option<serde_json::Value>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectSummary {
    pub repo_count: i64,
    pub project_admin_count: i64,
    pub maintainer_count: i64,
    pub developer_count: i64,
    pub guest_count: i64,
    pub limited_guest_count: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectDeletable {
    pub deletable: bool,
    pub message: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Member {
    pub id: i64,
    pub project_id: i64,
    pub entity_name: String,
    pub role_name: String,
    pub role_id: i64,
    pub entity_id: i64,
    /// `u` user, `g` group.
    pub entity_type: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberUser {
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub username: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberGroup {
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub group_type: Option<i64>,
    #[serde(default)]
    pub ldap_group_dn: Option<String>,
}

/// `POST /projects/{p}/members`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberReq {
    pub role_id: i64,
    #[serde(default)]
    pub member_user: Option<MemberUser>,
    #[serde(default)]
    pub member_group: Option<MemberGroup>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub user_id: i64,
    pub username: String,
    pub email: String,
    pub realname: String,
    pub comment: String,
    pub sysadmin_flag: bool,
    pub admin_role_in_auth: bool,
    /// `local`, `ldap`, `oidc`.
    pub source: String,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `POST /users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub realname: String,
    pub password: String,
    #[serde(default)]
    pub comment: String,
}

/// `PUT /users/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserProfile {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub realname: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserGroup {
    pub id: i64,
    pub group_name: String,
    pub group_type: i64,
    pub ldap_group_dn: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robot {
    pub id: i64,
    /// Full name with the prefix: `robot$name` or `robot$project+name`.
    pub name: String,
    pub description: String,
    pub level: String,
    pub duration: i64,
    pub disable: bool,
    pub expires_at: i64,
    pub editable: bool,
    pub permissions: Vec<RobotPermission>,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `POST /robots` and `PUT /robots/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotReq {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub level: String,
    /// Days; -1 never expires.
    pub duration: i64,
    #[serde(default)]
    pub disable: bool,
    pub permissions: Vec<RobotPermission>,
    /// Optional caller-chosen secret.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub editable: Option<bool>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// The answer to robot creation: the secret is shown this once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobotCreated {
    pub id: i64,
    pub name: String,
    pub secret: String,
    pub creation_time: DateTime<Utc>,
    pub expires_at: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub color: String,
    /// `g` global or `p` project.
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub project_id: i64,
    #[serde(default = "epoch", skip_deserializing)]
    pub creation_time: DateTime<Utc>,
    #[serde(default = "epoch", skip_deserializing)]
    pub update_time: DateTime<Utc>,
}

fn epoch() -> DateTime<Utc> {
    DateTime::default()
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repository {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    pub artifact_count: i64,
    pub pull_count: i64,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    pub repository_id: i64,
    pub name: String,
    pub push_time: DateTime<Utc>,
    pub pull_time: Option<DateTime<Utc>>,
    pub immutable: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactReference {
    pub parent_id: i64,
    pub child_digest: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    pub project_id: i64,
    pub repository_id: i64,
    pub repository_name: String,
    pub digest: String,
    /// IMAGE, INDEX (image index), or the artifact type's last segment in upper case.
    #[serde(rename = "type")]
    pub kind: String,
    pub media_type: String,
    pub manifest_media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub push_time: DateTime<Utc>,
    pub pull_time: Option<DateTime<Utc>>,
    pub annotations: Option<serde_json::Value>,
    pub tags: Vec<Tag>,
    pub references: Vec<ArtifactReference>,
    pub labels: Vec<Label>,
    /// Signatures, SBOMs and other accessories of this artifact.
    pub accessories: Vec<Accessory>,
    /// For an image an index lists: the accessories of those indexes (a signature of an index
    /// signs what it lists), as Harbor shows them.
    pub inherited_accessories: Vec<Accessory>,
    /// Report MIME type → summary of the artifact's last scan; absent when never scanned.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scan_overview: std::collections::BTreeMap<String, crate::scan::report::ScanOverview>,
    /// The artifact's SBOM accessory, when it has one (Harbor's `sbom_overview`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sbom_overview: Option<SbomOverview>,
    /// Addition name → where to read it: `build_history` of an image; `values.yaml`,
    /// `readme.md` and `dependencies` of a Helm chart (absent for other types).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub addition_links: std::collections::BTreeMap<String, AdditionLink>,
}

/// Harbor's link to an addition of an artifact (a path on this server: `absolute` is false).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdditionLink {
    pub href: String,
    pub absolute: bool,
}

/// Harbor's `sbom_overview` of an artifact.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SbomOverview {
    pub sbom_digest: String,
    pub scan_status: String,
    pub end_time: DateTime<Utc>,
}

/// An accessory of an artifact (Harbor's `Accessory`): a signature, an SBOM, any referrer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accessory {
    pub digest: String,
    /// `signature.cosign`, `signature.notation`, `sbom.harbor`, `accelerator.nydus` or
    /// `subject.accessory`.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: i64,
    pub subject_artifact_digest: String,
    pub subject_artifact_repo: String,
    pub creation_time: DateTime<Utc>,
    pub icon: String,
    /// For signatures, when the project trusts keys: `verified` (by a trusted key),
    /// `unverified` (it does not check out) or `unknown_key` (by no key the project trusts).
    pub verification: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchRepository {
    pub project_id: i64,
    pub project_name: String,
    pub project_public: bool,
    pub repository_name: String,
    pub pull_count: i64,
    pub artifact_count: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Search {
    pub project: Vec<Project>,
    pub repository: Vec<SearchRepository>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub private_project_count: i64,
    pub private_repo_count: i64,
    pub public_project_count: i64,
    pub public_repo_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_project_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_repo_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_storage_consumption: Option<i64>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Permission {
    pub resource: String,
    pub action: String,
}

/// Harbor's `ResourceList`: bytes of storage (-1 unlimited for `hard`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceList {
    pub storage: i64,
}

/// What a quota belongs to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuotaRef {
    pub id: i64,
    pub name: String,
    pub owner_name: String,
}

/// A project's storage quota (`GET /quotas`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quota {
    pub id: i64,
    #[serde(rename = "ref")]
    pub r#ref: QuotaRef,
    pub hard: ResourceList,
    pub used: ResourceList,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `PUT /quotas/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QuotaUpdateReq {
    pub hard: ResourceList,
}

// ---- policies: immutable tag rules and tag retention ------------------------------------------

/// A selector as Harbor sends it (see [`crate::selector`] for the kinds and decorations).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSelector {
    pub kind: String,
    pub decoration: String,
    pub pattern: String,
    /// JSON text, e.g. `{"untagged":true}`.
    #[serde(default)]
    pub extras: String,
}

/// An immutable tag rule or a retention rule (Harbor's `ImmutableRule` / `RetentionRule`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyRule {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub disabled: bool,
    /// `immutable` or `retain`.
    #[serde(default)]
    pub action: String,
    /// `immutable_template`, or a retention template (`latestPushedK` …).
    #[serde(default)]
    pub template: String,
    /// Template parameters keyed by the template name (`{"latestPushedK": 10}`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub tag_selectors: Vec<RuleSelector>,
    /// `{"repository": [selectors]}`.
    #[serde(default)]
    pub scope_selectors: BTreeMap<String, Vec<RuleSelector>>,
}

/// When a retention policy runs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionTrigger {
    /// `Schedule`.
    #[serde(default = "schedule_kind")]
    pub kind: String,
    /// `{"cron": "0 0 0 * * *"}`; an empty or missing cron means manual runs only.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<serde_json::Value>,
}

fn schedule_kind() -> String {
    "Schedule".into()
}

impl Default for RetentionTrigger {
    fn default() -> Self {
        Self {
            kind: schedule_kind(),
            settings: BTreeMap::new(),
            references: None,
        }
    }
}

/// `{"level": "project", "ref": <project id>}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionScope {
    #[serde(default)]
    pub level: String,
    #[serde(default, rename = "ref")]
    pub reference: i64,
}

/// A project's tag retention policy (Harbor's `RetentionPolicy`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    #[serde(default)]
    pub id: i64,
    /// `or`: an artifact retained by any rule is kept.
    #[serde(default)]
    pub algorithm: String,
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
    #[serde(default)]
    pub trigger: RetentionTrigger,
    #[serde(default)]
    pub scope: RetentionScope,
}

/// One run of a retention policy.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionExecution {
    pub id: i64,
    pub policy_id: i64,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// `Running`, `Succeed`, `Failed`, `Stopped`.
    pub status: String,
    /// `MANUAL` or `SCHEDULE`.
    pub trigger: String,
    pub dry_run: bool,
}

/// The part of a retention run that covered one repository.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionTask {
    pub id: i64,
    pub execution_id: i64,
    pub repository: String,
    pub job_id: String,
    pub status: String,
    pub status_code: i64,
    pub status_revision: i64,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    /// Artifacts considered.
    pub total: i64,
    /// Artifacts kept.
    pub retained: i64,
}

/// `GET /retentions/metadatas`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionMetadata {
    pub templates: Vec<RetentionRuleMetadata>,
    pub scope_selectors: Vec<RetentionSelectorMetadata>,
    pub tag_selectors: Vec<RetentionSelectorMetadata>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionRuleMetadata {
    pub rule_template: String,
    pub display_text: String,
    pub action: String,
    pub params: Vec<RetentionRuleParamMetadata>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionRuleParamMetadata {
    #[serde(rename = "type")]
    pub kind: String,
    pub unit: String,
    pub required: bool,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionSelectorMetadata {
    pub display_text: String,
    pub kind: String,
    pub decorations: Vec<String>,
}

/// Harbor's `ScheduleObj`: `type` is Hourly, Daily, Weekly, Custom (with `cron`), Manual (run
/// now), None (no schedule) or Schedule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleObj {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub cron: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_scheduled_time: Option<DateTime<Utc>>,
}

/// Harbor's `Schedule` for system jobs (GC, audit purge): when, and with which parameters.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSchedule {
    #[serde(default)]
    pub schedule: Option<ScheduleObj>,
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<DateTime<Utc>>,
}

/// One run of a system job (Harbor's `GCHistory` / `ExecHistory`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecHistory {
    pub id: i64,
    pub job_name: String,
    /// MANUAL, SCHEDULE or EVENT.
    pub job_kind: String,
    /// The run's parameters as a JSON string, with its results merged in (freed_space, …).
    pub job_parameters: String,
    pub schedule: Option<ScheduleObj>,
    /// Pending, Running, Success, Error, Stopped.
    pub job_status: String,
    pub deleted: bool,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}
