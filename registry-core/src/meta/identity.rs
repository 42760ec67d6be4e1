//! Metadata for identity, access and the management API: projects, users, groups, members,
//! robots, labels, settings, and the repository/artifact listings behind `/api/v2.0`.
//!
//! Implemented by both SQL stores from one text ([`super::identity_sql`]). Listings take a
//! validated [`ListSpec`] (filters and sort columns come from a whitelist, values are bound) and a
//! [`Visibility`] that the caller's permissions produced, so what a caller cannot see is filtered
//! in SQL and counts (`X-Total-Count`) never leak it.

use async_trait::async_trait;

use crate::error::Result;
use crate::query::ListSpec;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub public: bool,
    pub repo_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A portal session (`0013_sessions.sql`): keyed by the SHA-256 of the cookie's id.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf: String,
    pub client: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub max_until: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub realname: String,
    pub comment: String,
    pub password_hash: Option<String>,
    pub sysadmin: bool,
    pub source: String,
    pub external_id: Option<String>,
    pub cli_secret_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub realname: String,
    pub comment: String,
    pub password_hash: Option<String>,
    pub sysadmin: bool,
    pub source: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub group_type: i64,
    pub ldap_dn: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub project_id: i64,
    /// `u` or `g`.
    pub entity_type: String,
    pub entity_id: i64,
    pub entity_name: String,
    pub role: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RobotRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub level: String,
    pub project_id: Option<i64>,
    pub secret_hash: String,
    pub disabled: bool,
    pub duration: i64,
    /// Unix ms, or -1 for never.
    pub expires_at: i64,
    pub creator_type: String,
    pub creator_ref: String,
    /// JSON list of [`crate::auth::RobotPermission`].
    pub permissions: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LabelRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub color: String,
    /// `g` or `p`.
    pub scope: String,
    pub project_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RepositoryRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub description: String,
    /// How many artifacts it holds: counted by listings and [`IdentityStore::repository_counted`],
    /// `None` from [`IdentityStore::repository`] (the count walks the repository's manifests:
    /// 1.2 ms for 10,000 on PostgreSQL, paid by every artifact call that looked it up).
    #[sqlx(default)]
    pub artifact_count: Option<i64>,
    pub pull_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A repository found by [`IdentityStore::search_repositories`], with its project.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RepoSearchRow {
    #[sqlx(flatten)]
    pub repo: RepositoryRow,
    pub project_name: String,
    pub project_public: bool,
}

/// A search match with the number of candidates its statement collected.
#[derive(sqlx::FromRow)]
pub(crate) struct CountedSearchRow {
    #[sqlx(flatten)]
    pub row: RepoSearchRow,
    pub candidates: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ArtifactRow {
    pub repo_id: i64,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    /// The manifest plus the blobs it references.
    pub size: i64,
    pub push_time: i64,
    pub pull_time: Option<i64>,
    /// JSON object text.
    pub annotations: Option<String>,
}

/// A listed artifact with the listing's total: one statement answers both.
#[derive(sqlx::FromRow)]
pub(crate) struct CountedArtifact {
    #[sqlx(flatten)]
    pub row: ArtifactRow,
    pub total: i64,
}

/// An accessory: `digest` belongs to `subject` (see `content::accessory`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessoryRow {
    pub digest: String,
    pub subject: String,
    pub kind: String,
    /// `subject` (an OCI 1.1 subject field) or `tag` (a cosign tag).
    pub via: String,
    /// The accessory's manifest plus its blobs.
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagRow {
    pub digest: String,
    pub name: String,
    pub push_time: i64,
}

/// Which projects a caller may see in a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Everything (system administrators, robots with `*`).
    pub all: bool,
    /// Public projects.
    pub public: bool,
    /// Projects where this user, or one of these groups, is a member.
    pub member: Option<(i64, Vec<i64>)>,
    /// These projects by id.
    pub projects: Vec<i64>,
}

/// Counts for `/statistics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statistics {
    pub private_project_count: i64,
    pub public_project_count: i64,
    pub private_repo_count: i64,
    pub public_repo_count: i64,
    pub total_project_count: i64,
    pub total_repo_count: i64,
    pub total_storage_consumption: i64,
}

#[async_trait]
pub trait IdentityStore: Send + Sync {
    // -- settings
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    /// Store `value` unless the key exists; return what is stored (first writer wins).
    async fn init_setting(&self, key: &str, value: &str) -> Result<String>;
    /// Set a setting, replacing its value.
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;

    // -- login throttle
    /// The failure counters of `keys` that exist: (key, failures, last failure ms).
    async fn login_failures(&self, keys: &[String]) -> Result<Vec<(String, i64, i64)>>;
    /// Count one failure under each key; a counter last touched before `since` restarts at 1.
    /// Counters untouched for a day are dropped.
    async fn record_login_failure(&self, keys: &[String], now: i64, since: i64) -> Result<()>;
    /// Forget one counter (after a success).
    async fn clear_login_failures(&self, key: &str) -> Result<()>;

    // -- portal sessions
    /// Store a new session; sessions that ended before `now` go in the same transaction.
    async fn create_session(&self, s: &SessionRow, now: i64) -> Result<()>;
    /// The session stored under `id_hash`, whether or not it has ended.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>>;
    /// Move a session's end to `expires_at`. Returns whether it still exists.
    async fn extend_session(&self, id_hash: &str, expires_at: i64) -> Result<bool>;
    /// End one session. Returns whether it existed.
    async fn delete_session(&self, id_hash: &str) -> Result<bool>;
    /// End every session of a user (password changed, user disabled). Returns how many.
    async fn delete_user_sessions(&self, user_id: i64) -> Result<u64>;

    // -- projects
    /// Create a project (with its metadata, and its owner as project admin). `AlreadyExists`
    /// when the name is taken.
    async fn create_project(
        &self,
        name: &str,
        owner_id: Option<i64>,
        public: bool,
        metadata: &[(String, String)],
        storage_limit: i64,
        now: i64,
    ) -> Result<ProjectRow>;
    async fn project_by_name(&self, name: &str) -> Result<Option<ProjectRow>>;
    async fn project_by_id(&self, id: i64) -> Result<Option<ProjectRow>>;
    async fn list_projects(
        &self,
        vis: &Visibility,
        spec: &ListSpec,
    ) -> Result<(Vec<ProjectRow>, u64)>;
    /// Upsert metadata keys (`public` is mirrored in the project row).
    async fn set_project_metadata(
        &self,
        id: i64,
        metadata: &[(String, String)],
        now: i64,
    ) -> Result<()>;
    async fn project_metadata(&self, id: i64) -> Result<Vec<(String, String)>>;
    async fn delete_project_metadata(&self, id: i64, key: &str) -> Result<bool>;
    /// Delete an empty project. `PreconditionFailed` when it still has repositories.
    async fn delete_project(&self, id: i64) -> Result<bool>;

    // -- users and groups
    async fn create_user(&self, u: &NewUser, now: i64) -> Result<UserRow>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>>;
    async fn user_by_external(&self, source: &str, external_id: &str) -> Result<Option<UserRow>>;
    async fn list_users(&self, spec: &ListSpec) -> Result<(Vec<UserRow>, u64)>;
    async fn update_user_profile(
        &self,
        id: i64,
        email: &str,
        realname: &str,
        comment: &str,
        now: i64,
    ) -> Result<bool>;
    async fn set_password(&self, id: i64, hash: &str, now: i64) -> Result<bool>;
    async fn set_sysadmin(&self, id: i64, sysadmin: bool, now: i64) -> Result<bool>;
    async fn set_cli_secret(&self, id: i64, hash: &str, now: i64) -> Result<bool>;
    /// Delete a user and their memberships.
    async fn delete_user(&self, id: i64) -> Result<bool>;
    /// Replace a user's imported group memberships, creating groups as needed. Returns the ids.
    async fn set_user_groups(
        &self,
        user_id: i64,
        groups: &[(i64, String, String)],
        now: i64,
    ) -> Result<Vec<i64>>;
    async fn user_group_ids(&self, user_id: i64) -> Result<Vec<i64>>;
    async fn create_group(
        &self,
        name: &str,
        group_type: i64,
        ldap_dn: &str,
        now: i64,
    ) -> Result<GroupRow>;
    async fn group_by_id(&self, id: i64) -> Result<Option<GroupRow>>;
    async fn find_group(
        &self,
        group_type: i64,
        name: &str,
        ldap_dn: &str,
    ) -> Result<Option<GroupRow>>;
    async fn list_groups(&self, spec: &ListSpec) -> Result<(Vec<GroupRow>, u64)>;
    async fn rename_group(&self, id: i64, name: &str, now: i64) -> Result<bool>;
    async fn delete_group(&self, id: i64) -> Result<bool>;

    // -- members
    /// `AlreadyExists` when the entity is a member already.
    async fn add_member(
        &self,
        project_id: i64,
        entity_type: &str,
        entity_id: i64,
        role: i64,
        now: i64,
    ) -> Result<i64>;
    async fn get_member(&self, project_id: i64, member_id: i64) -> Result<Option<MemberRow>>;
    async fn list_members(&self, project_id: i64, spec: &ListSpec)
    -> Result<(Vec<MemberRow>, u64)>;
    async fn update_member(
        &self,
        project_id: i64,
        member_id: i64,
        role: i64,
        now: i64,
    ) -> Result<bool>;
    async fn delete_member(&self, project_id: i64, member_id: i64) -> Result<bool>;
    /// Roles held in a project by a user directly or through groups.
    async fn member_roles(
        &self,
        project_id: i64,
        user_id: i64,
        group_ids: &[i64],
    ) -> Result<Vec<i64>>;
    /// (role, member count) per role.
    async fn member_counts(&self, project_id: i64) -> Result<Vec<(i64, i64)>>;

    // -- robots
    /// `AlreadyExists` when the stored name is taken.
    async fn create_robot(&self, r: &RobotRow) -> Result<i64>;
    async fn robot_by_id(&self, id: i64) -> Result<Option<RobotRow>>;
    async fn robot_by_name(&self, name: &str) -> Result<Option<RobotRow>>;
    /// `project_id`: `Some(0)` system robots, `Some(id)` that project's, `None` all.
    async fn list_robots(
        &self,
        project_id: Option<i64>,
        spec: &ListSpec,
    ) -> Result<(Vec<RobotRow>, u64)>;
    async fn update_robot(&self, r: &RobotRow) -> Result<bool>;
    async fn set_robot_secret(&self, id: i64, hash: &str, now: i64) -> Result<bool>;
    async fn delete_robot(&self, id: i64) -> Result<bool>;

    // -- labels
    async fn create_label(&self, l: &LabelRow) -> Result<i64>;
    async fn label_by_id(&self, id: i64) -> Result<Option<LabelRow>>;
    async fn list_labels(
        &self,
        scope: &str,
        project_id: i64,
        spec: &ListSpec,
    ) -> Result<(Vec<LabelRow>, u64)>;
    async fn update_label(&self, l: &LabelRow) -> Result<bool>;
    async fn delete_label(&self, id: i64) -> Result<bool>;
    /// `AlreadyExists` when attached already.
    async fn attach_label(&self, label_id: i64, repo_id: i64, digest: &str, now: i64)
    -> Result<()>;
    async fn detach_label(&self, label_id: i64, repo_id: i64, digest: &str) -> Result<bool>;
    /// (artifact digest, label) for the given artifacts of a repository.
    async fn artifact_labels(
        &self,
        repo_id: i64,
        digests: &[String],
    ) -> Result<Vec<(String, LabelRow)>>;

    // -- repositories and artifacts
    async fn list_repositories(
        &self,
        vis: &Visibility,
        project_id: Option<i64>,
        spec: &ListSpec,
    ) -> Result<(Vec<RepositoryRow>, u64)>;
    /// Up to `limit` repositories whose names contain `part`, by name, with their project's
    /// name and visibility (`/search`: no total, so no count over every match).
    async fn search_repositories(
        &self,
        vis: &Visibility,
        part: &str,
        limit: i64,
    ) -> Result<Vec<RepoSearchRow>>;
    /// A repository by name, without its artifact count.
    async fn repository(&self, name: &str) -> Result<Option<RepositoryRow>>;
    /// A repository by name, with its artifact count.
    async fn repository_counted(&self, name: &str) -> Result<Option<RepositoryRow>>;
    async fn set_repository_description(
        &self,
        name: &str,
        description: &str,
        now: i64,
    ) -> Result<bool>;
    /// Delete a repository with its manifests, tags and blob links (the bytes go at GC).
    async fn delete_repository(
        &self,
        name: &str,
        now: i64,
        events: &[super::governance::NewEvent],
    ) -> Result<bool>;
    /// `tags`: `Some("*")` tagged only, `Some("nil")` untagged only, `Some("~x")` a tag
    /// containing x, `Some(x)` that tag; `labels`: artifacts carrying all these label ids.
    async fn list_artifacts(
        &self,
        repo_id: i64,
        tags: Option<&str>,
        labels: &[i64],
        spec: &ListSpec,
    ) -> Result<(Vec<ArtifactRow>, u64)>;
    async fn artifact(&self, repo_id: i64, digest: &str) -> Result<Option<ArtifactRow>>;
    async fn artifact_tags(&self, repo_id: i64, digests: &[String]) -> Result<Vec<TagRow>>;
    /// (parent digest, child digest) for index manifests among `digests`.
    async fn artifact_children(
        &self,
        repo_id: i64,
        digests: &[String],
    ) -> Result<Vec<(String, String)>>;
    /// Accessories of the given subjects in a repository (for artifact views), oldest first.
    async fn accessories_of(&self, repo_id: i64, subjects: &[String]) -> Result<Vec<AccessoryRow>>;
    /// (child digest, parent index digest) for the given digests listed by indexes.
    async fn artifact_parents(
        &self,
        repo_id: i64,
        digests: &[String],
    ) -> Result<Vec<(String, String)>>;
    /// One page of a subject's accessories; `spec` filters on `a.kind`.
    async fn list_accessories(
        &self,
        repo_id: i64,
        subject: &str,
        spec: &ListSpec,
    ) -> Result<(Vec<AccessoryRow>, u64)>;
    /// Accessories (of `kind`, or of any) whose subject is one of `subjects`, in repository
    /// `repo` (by name: the pull path knows no repository id).
    async fn accessories_by_kind(
        &self,
        repo: &str,
        subjects: &[String],
        kind: Option<&str>,
    ) -> Result<Vec<AccessoryRow>>;
    /// What `digest` is an accessory of in repository `repo`, if anything.
    async fn accessory(&self, repo: &str, digest: &str) -> Result<Option<AccessoryRow>>;
    /// Point a new tag at an existing manifest. `AlreadyExists` if the tag exists.
    async fn create_tag(&self, repo_id: i64, digest: &str, tag: &str, now: i64) -> Result<()>;
    /// Record pulls: (repository name, digest, time). Best effort.
    async fn record_pulls(&self, pulls: &[(String, String, i64)]) -> Result<()>;
    async fn statistics(&self, vis: &Visibility) -> Result<Statistics>;
}
