//! Projects, their metadata and members.
//!
//! A project is the first path segment of its repositories. Visibility follows the caller's
//! permissions: a project the caller may not read answers exactly like one that does not exist.

use std::collections::BTreeMap;

use crate::access::{ProjectAccess, refuse};
use crate::auth::{Action, Principal, ProjectResource as R, Role, SystemResource};
use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::meta::identity::{MemberRow, ProjectRow};
use crate::model::{
    Member, MemberReq, Project, ProjectDeletable, ProjectReq, ProjectSummary, time,
};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

const PROJECT_FIELDS: &[Field] = &[
    field("name", "p.name", Kind::Text),
    field("project_id", "p.id", Kind::Int),
    field("public", "CASE WHEN p.public THEN 1 ELSE 0 END", Kind::Bool),
    field("owner_id", "p.owner_id", Kind::Int),
    field("creation_time", "p.created_at", Kind::Time),
    field("update_time", "p.updated_at", Kind::Time),
];

const MEMBER_FIELDS: &[Field] = &[
    field("entityname", "COALESCE(u.username, g.name, '')", Kind::Text),
    field("entity_type", "m.entity_type", Kind::Text),
    field("role_id", "m.role", Kind::Int),
    field("id", "m.id", Kind::Int),
];

/// Project metadata keys Berth accepts, and their allowed values (`None` = any string).
const METADATA_KEYS: &[(&str, Option<&[&str]>)] = &[
    ("public", Some(&["true", "false"])),
    ("auto_scan", Some(&["true", "false"])),
    ("auto_sbom_generation", Some(&["true", "false"])),
    ("prevent_vul", Some(&["true", "false"])),
    (
        "severity",
        Some(&["none", "low", "medium", "high", "critical"]),
    ),
    ("reuse_sys_cve_allowlist", Some(&["true", "false"])),
    ("enable_content_trust", Some(&["true", "false"])),
    ("enable_content_trust_cosign", Some(&["true", "false"])),
    // Berth: content trust also verifies cosign signatures with the project's trusted keys.
    ("content_trust_verify", Some(&["true", "false"])),
    // Proxy-cache projects: upstream bytes per second in KB (-1 or absent: unlimited), and
    // upstream blob fetches at once (-1 or absent: unlimited; more answer 429).
    ("proxy_speed_kb", None),
    ("max_upstream_conn", None),
    // Proxy-cache projects: only upstream repositories matching this doublestar pattern.
    ("proxy_repository_filter", None),
];

/// Project names: Harbor's rule (lower case, digits, `._-` inside), 1–255 characters.
pub fn validate_project_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest {
            reason: format!(
                "project name {name:?} must be 1-255 characters of a-z, 0-9 and ._- , starting and ending with a letter or digit"
            ),
        })
    }
}

fn check_metadata(m: &BTreeMap<String, String>) -> Result<()> {
    if let Some(v) = m.get("proxy_repository_filter")
        && !v.is_empty()
    {
        crate::policy::selector::Pattern::compile(crate::policy::selector::DOUBLESTAR, v)?;
    }
    for key in ["proxy_speed_kb", "max_upstream_conn"] {
        if let Some(v) = m.get(key)
            && v.parse::<i64>().is_err()
        {
            return Err(Error::BadRequest {
                reason: format!("{key} is a number (-1: unlimited), not {v:?}"),
            });
        }
    }
    for (k, v) in m {
        match METADATA_KEYS.iter().find(|(key, _)| key == k) {
            None => {
                let known: Vec<&str> = METADATA_KEYS.iter().map(|(k, _)| *k).collect();
                return Err(Error::BadRequest {
                    reason: format!(
                        "unknown project metadata key {k:?}; known: {}",
                        known.join(", ")
                    ),
                });
            }
            Some((_, Some(allowed))) if !allowed.contains(&v.as_str()) => {
                return Err(Error::BadRequest {
                    reason: format!("metadata {k} must be one of {}", allowed.join(", ")),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

fn role_ids(a: &ProjectAccess) -> Vec<i64> {
    // The strongest role whose permission set the caller's covers, for display only.
    let mut out = Vec::new();
    for role in Role::ALL {
        let want = crate::auth::ProjectPerms::of_role(role);
        if want.pairs().iter().all(|(r, act)| a.perms.allows(*r, *act)) {
            out.push(role.id());
            break;
        }
    }
    out
}

impl Registry {
    async fn project_view(
        &self,
        row: ProjectRow,
        access: Option<&ProjectAccess>,
    ) -> Result<Project> {
        let mut metadata: BTreeMap<String, String> = self
            .meta
            .project_metadata(row.id)
            .await?
            .into_iter()
            .collect();
        let registry_id = metadata
            .remove(crate::proxy::REGISTRY_ID_KEY)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let roles = access.map(role_ids).unwrap_or_default();
        Ok(Project {
            project_id: row.id,
            name: row.name,
            owner_id: row.owner_id.unwrap_or(0),
            owner_name: row.owner_name.unwrap_or_default(),
            repo_count: row.repo_count,
            metadata,
            current_user_role_id: roles.first().copied().unwrap_or(0),
            current_user_role_ids: roles,
            registry_id,
            deleted: false,
            togglable: true,
            creation_time: time(row.created_at),
            update_time: time(row.updated_at),
            cve_allowlist: None,
        })
    }

    /// Create a project; the creator (a user) becomes its project admin.
    pub async fn create_project(&self, p: &Principal, req: ProjectReq) -> Result<Project> {
        self.require_system(p, SystemResource::Project, Action::Create)?;
        validate_project_name(&req.project_name)?;
        let mut metadata = req.metadata.unwrap_or_default();
        let proxy = req.registry_id.filter(|r| *r != 0);
        if let Some(public) = req.public {
            metadata
                .entry("public".into())
                .or_insert_with(|| public.to_string());
        }
        check_metadata(&metadata)?;
        if let Some(id) = proxy {
            // A proxy cache pulls with the endpoint's credentials: system administrators only.
            self.require_system(p, SystemResource::Registry, Action::Read)?;
            self.registry_endpoint(p, id).await.map_err(|e| match e {
                Error::NotFound { .. } => Error::BadRequest {
                    reason: format!("registry_id {id}: no such registry endpoint"),
                },
                other => other,
            })?;
            metadata.insert(crate::proxy::REGISTRY_ID_KEY.into(), id.to_string());
        }
        let allowlist = req
            .cve_allowlist
            .map(crate::policy::vulnerability::CveAllowlist::from_json)
            .transpose()?;
        let public = metadata.get("public").is_some_and(|v| v == "true");
        metadata.insert("public".into(), public.to_string());
        let pairs: Vec<(String, String)> = metadata.into_iter().collect();
        let limit = crate::quota::check_limit(req.storage_limit.unwrap_or(-1))?;
        if limit != -1 {
            self.require_system(p, SystemResource::Quota, Action::Update)?;
        }
        self.check_writable().await?;
        // The storage layer gives the event the new project's id in the same transaction.
        let event = NewEvent::new(
            "CREATE_PROJECT",
            "project",
            req.project_name.clone(),
            "create",
        );
        let row = self
            .with_events(
                vec![event],
                self.meta.create_project(
                    &req.project_name,
                    p.user_id(),
                    public,
                    &pairs,
                    limit,
                    self.now_ms(),
                ),
            )
            .await?;
        if let Some(list) = allowlist {
            self.store_project_allowlist(row.id, &list).await?;
        }
        if proxy.is_some()
            && let Err(e) = self.proxy_retention(row.id).await
        {
            // The project is made; its admins can add the policy themselves.
            tracing::warn!(project = row.name, error = %e, "could not give the proxy project its retention policy");
        }
        self.access_changed();
        let access = self.project_access(p, &row.name).await?;
        self.project_view(row, access.as_deref()).await
    }

    /// A project by name or id (see [`Registry::visible_project`]).
    pub async fn project(&self, p: &Principal, name_or_id: &str, is_name: bool) -> Result<Project> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        let row = self.fresh_project(&access).await?;
        let mut project = self.project_view(row, Some(&access)).await?;
        project.cve_allowlist = Some(self.stored_project_allowlist(project.project_id).await?);
        Ok(project)
    }

    /// The project row as stored now (the cached access may predate a push).
    async fn fresh_project(&self, access: &ProjectAccess) -> Result<ProjectRow> {
        let id = access.project.id;
        self.meta
            .project_by_id(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("project {id}"),
            })
    }

    /// Whether a project of that name exists and the caller may see it.
    pub async fn project_exists(&self, p: &Principal, name: &str) -> Result<bool> {
        Ok(self.project_access(p, name).await?.is_some())
    }

    /// Projects the caller may see. `q` keys: name, project_id, public, owner_id, creation_time,
    /// update_time.
    pub async fn projects(&self, p: &Principal, q: &ListQuery) -> Result<Page<Project>> {
        let spec = q.parse(PROJECT_FIELDS, &[("p.name", false)])?;
        let vis = self.visibility(p).await?;
        let (rows, total) = self.meta.list_projects(&vis, &spec).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let access = self.project_access(p, &row.name).await?;
            items.push(self.project_view(row, access.as_deref()).await?);
        }
        Ok(spec.page_of(items, total))
    }

    /// Change metadata (including `public`).
    pub async fn update_project(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        metadata: BTreeMap<String, String>,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Project, Action::Update)
            .await?;
        check_metadata(&metadata)?;
        let details = serde_json::json!({ "metadata": &metadata });
        let pairs: Vec<(String, String)> = metadata.into_iter().collect();
        let event = NewEvent::new(
            "UPDATE_PROJECT",
            "project",
            access.project.name.clone(),
            "update",
        )
        .project(access.project.id)
        .payload(details);
        self.with_events(
            vec![event],
            self.meta
                .set_project_metadata(access.project.id, &pairs, self.now_ms()),
        )
        .await?;
        self.access_changed();
        self.trust.forget(access.project.id).await;
        Ok(())
    }

    /// `PUT /projects/{p}`: metadata and, when given, the project's CVE allowlist (Harbor's
    /// `cve_allowlist` object).
    pub async fn update_project_and_allowlist(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        metadata: BTreeMap<String, String>,
        cve_allowlist: Option<serde_json::Value>,
    ) -> Result<()> {
        let list = cve_allowlist
            .map(crate::policy::vulnerability::CveAllowlist::from_json)
            .transpose()?;
        self.update_project(p, name_or_id, is_name, metadata)
            .await?;
        if let Some(list) = list {
            self.set_project_cve_allowlist(p, name_or_id, is_name, list)
                .await?;
        }
        Ok(())
    }

    /// Delete an empty project (412 `PRECONDITION` while it has repositories).
    pub async fn delete_project(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Project, Action::Delete)
            .await?;
        let event = NewEvent::new(
            "DELETE_PROJECT",
            "project",
            access.project.name.clone(),
            "delete",
        )
        .project(access.project.id);
        self.with_events(vec![event], self.meta.delete_project(access.project.id))
            .await?;
        self.access_changed();
        Ok(())
    }

    pub async fn project_deletable(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<ProjectDeletable> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Project, Action::Delete)
            .await?;
        let n = self.fresh_project(&access).await?.repo_count;
        Ok(ProjectDeletable {
            deletable: n == 0,
            message: if n == 0 {
                String::new()
            } else {
                format!("the project contains {n} repositories")
            },
        })
    }

    pub async fn project_summary(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<ProjectSummary> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        let counts = if access.allows(R::Member, Action::List) {
            self.meta.member_counts(access.project.id).await?
        } else {
            Vec::new()
        };
        let count = |role: Role| {
            counts
                .iter()
                .find(|(r, _)| *r == role.id())
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        Ok(ProjectSummary {
            repo_count: self.fresh_project(&access).await?.repo_count,
            project_admin_count: count(Role::ProjectAdmin),
            maintainer_count: count(Role::Maintainer),
            developer_count: count(Role::Developer),
            guest_count: count(Role::Guest),
            limited_guest_count: count(Role::LimitedGuest),
        })
    }

    pub async fn project_metadata(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<BTreeMap<String, String>> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Metadata, Action::Read)
            .await?;
        Ok(self
            .meta
            .project_metadata(access.project.id)
            .await?
            .into_iter()
            .collect())
    }

    pub async fn delete_project_metadata(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        key: &str,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Metadata, Action::Delete)
            .await?;
        if key == "public" {
            return Err(Error::BadRequest {
                reason: "public cannot be removed; set it to false".into(),
            });
        }
        if key == crate::proxy::REGISTRY_ID_KEY {
            return Err(Error::BadRequest {
                reason: "a proxy-cache project stays one; delete the project instead".into(),
            });
        }
        if key == crate::scan::scanner::PROJECT_SCANNER_KEY {
            return Err(Error::BadRequest {
                reason: "a project's scanner is chosen with PUT /projects/{project}/scanner".into(),
            });
        }
        if !self
            .meta
            .delete_project_metadata(access.project.id, key)
            .await?
        {
            return Err(Error::NotFound {
                what: format!("metadata {key}"),
            });
        }
        Ok(())
    }

    // ---- members ------------------------------------------------------------------------------

    fn member_view(row: MemberRow) -> Member {
        Member {
            id: row.id,
            project_id: row.project_id,
            entity_name: row.entity_name,
            role_name: Role::from_id(row.role)
                .map(|r| r.name())
                .unwrap_or("unknown")
                .to_owned(),
            role_id: row.role,
            entity_id: row.entity_id,
            entity_type: row.entity_type,
        }
    }

    /// Add a user or a group to a project. Returns the member id.
    pub async fn add_member(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        req: MemberReq,
    ) -> Result<i64> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Member, Action::Create)
            .await?;
        let role = Role::from_id(req.role_id)?;
        let (kind, id, entity_name) = match (req.member_user, req.member_group) {
            (Some(u), None) => {
                let user = match (u.user_id, u.username) {
                    (Some(id), _) => self.meta.user_by_id(id).await?,
                    (None, Some(name)) => self.meta.user_by_name(&name).await?,
                    (None, None) => {
                        return Err(Error::BadRequest {
                            reason: "member_user needs user_id or username".into(),
                        });
                    }
                };
                let user = user.ok_or_else(|| Error::NotFound {
                    what: "user".into(),
                })?;
                ("u", user.id, user.username)
            }
            (None, Some(g)) => {
                let group = match g.id {
                    Some(id) => self.meta.group_by_id(id).await?,
                    None => {
                        let name = g.group_name.unwrap_or_default();
                        let dn = g.ldap_group_dn.unwrap_or_default();
                        let kind = g.group_type.unwrap_or(crate::auth::GROUP_TYPE_LDAP);
                        match self.meta.find_group(kind, &name, &dn).await? {
                            Some(found) => Some(found),
                            None if !name.is_empty() || !dn.is_empty() => {
                                if kind == crate::auth::GROUP_TYPE_LDAP {
                                    self.check_ldap_group_dn(&dn).await?;
                                }
                                let name = if name.is_empty() { dn.clone() } else { name };
                                Some(
                                    self.meta
                                        .create_group(&name, kind, &dn, self.now_ms())
                                        .await?,
                                )
                            }
                            None => None,
                        }
                    }
                };
                let group = group.ok_or_else(|| Error::NotFound {
                    what: "group".into(),
                })?;
                ("g", group.id, group.name)
            }
            _ => {
                return Err(Error::BadRequest {
                    reason: "give exactly one of member_user and member_group".into(),
                });
            }
        };
        let event = NewEvent::new("CREATE_MEMBER", "member", entity_name, "create")
            .project(access.project.id)
            .payload(serde_json::json!({ "entity_type": kind, "role_id": role.id() }));
        let member_id = self
            .with_events(
                vec![event],
                self.meta
                    .add_member(access.project.id, kind, id, role.id(), self.now_ms()),
            )
            .await?;
        self.access_changed();
        Ok(member_id)
    }

    /// Members, optionally filtered with `entityname` (substring) through `q`.
    pub async fn members(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        q: &ListQuery,
    ) -> Result<Page<Member>> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Member, Action::List)
            .await?;
        let spec = q.parse(MEMBER_FIELDS, &[("m.id", false)])?;
        let (rows, total) = self.meta.list_members(access.project.id, &spec).await?;
        Ok(spec.page_of(rows.into_iter().map(Self::member_view).collect(), total))
    }

    pub async fn member(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        member_id: i64,
    ) -> Result<Member> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Member, Action::Read)
            .await?;
        let row = self.meta.get_member(access.project.id, member_id).await?;
        row.map(Self::member_view).ok_or_else(|| Error::NotFound {
            what: format!("member {member_id}"),
        })
    }

    pub async fn update_member(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        member_id: i64,
        role_id: i64,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Member, Action::Update)
            .await?;
        let role = Role::from_id(role_id)?;
        let m = self.member_of(access.project.id, member_id).await?;
        let event = NewEvent::new("UPDATE_MEMBER", "member", m.entity_name, "update")
            .project(access.project.id)
            .payload(serde_json::json!({
                "member_id": member_id, "entity_type": m.entity_type, "role_id": role.id(),
            }));
        if !self
            .with_events(
                vec![event],
                self.meta
                    .update_member(access.project.id, member_id, role.id(), self.now_ms()),
            )
            .await?
        {
            return Err(member_not_found(member_id));
        }
        self.access_changed();
        Ok(())
    }

    pub async fn delete_member(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        member_id: i64,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Member, Action::Delete)
            .await?;
        let m = self.member_of(access.project.id, member_id).await?;
        let event = NewEvent::new("DELETE_MEMBER", "member", m.entity_name, "delete")
            .project(access.project.id)
            .payload(serde_json::json!({ "member_id": member_id, "entity_type": m.entity_type }));
        if !self
            .with_events(
                vec![event],
                self.meta.delete_member(access.project.id, member_id),
            )
            .await?
        {
            return Err(member_not_found(member_id));
        }
        self.access_changed();
        Ok(())
    }

    /// Member `member_id` of project `project_id`, or `NotFound`.
    async fn member_of(&self, project_id: i64, member_id: i64) -> Result<MemberRow> {
        self.meta
            .get_member(project_id, member_id)
            .await?
            .ok_or_else(|| member_not_found(member_id))
    }

    /// What the caller may do: in a project (`scope` `/project/<id or name>`) or system-wide
    /// (`/system`).
    pub async fn permissions(
        &self,
        p: &Principal,
        scope: &str,
    ) -> Result<Vec<crate::model::Permission>> {
        if let Some(project) = scope.strip_prefix("/project/") {
            let access = self.visible_project(p, project, false).await?;
            return Ok(access
                .perms
                .pairs()
                .into_iter()
                .map(|(r, a)| crate::model::Permission {
                    resource: r.as_str().into(),
                    action: a.as_str().into(),
                })
                .collect());
        }
        if scope == "/system" || scope.is_empty() {
            let mut out = Vec::new();
            for r in SystemResource::ALL {
                for a in Action::ALL.iter().filter(|a| **a != Action::All) {
                    if self.system_allows(p, *r, *a) {
                        out.push(crate::model::Permission {
                            resource: r.as_str().into(),
                            action: a.as_str().into(),
                        });
                    }
                }
            }
            return Ok(out);
        }
        Err(Error::BadRequest {
            reason: format!("scope {scope:?} is not /system or /project/<id>"),
        })
    }

    /// Refuse unless the caller may act on the project at all (used by listings nested under it).
    pub(crate) async fn project_for_listing(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        r: R,
    ) -> Result<std::sync::Arc<ProjectAccess>> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        if access.allows(r, Action::List) {
            Ok(access)
        } else {
            Err(refuse(p))
        }
    }
}

fn member_not_found(member_id: i64) -> Error {
    Error::NotFound {
        what: format!("member {member_id}"),
    }
}
