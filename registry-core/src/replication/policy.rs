//! Replication policies (`/api/v2.0/replication/policies`), Harbor's shapes.
//!
//! A policy copies between this registry and one registry endpoint: push-based
//! (`dest_registry` set: local → remote) or pull-based (`src_registry` set: remote → local).
//! Filters select what is copied (`name`: doublestar on the repository path; `tag`: doublestar
//! with `matches`/`excludes`; `label`: label names with `matches`/`excludes`, local sources only;
//! `resource`: `image` or `artifact`). `dest_namespace` with `dest_namespace_replace_count`
//! names the destination (see [`dest_name`]). System administrators only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::endpoint::RegistryEndpoint;
use crate::auth::{Action, Principal, SystemResource};
use crate::error::{Error, Result};
use crate::meta::replication::PolicyRow;
use crate::model::time;
use crate::policy::selector::{DOUBLESTAR, Pattern};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

/// The job service's vendor type of replication executions.
pub const REPLICATION_JOB: &str = "REPLICATION";
/// The vendor type of a scheduled policy's trigger (a run that plans the execution).
pub const REPLICATION_SCHEDULE_JOB: &str = "REPLICATION_SCHEDULE";

pub const TRIGGER_MANUAL: &str = "manual";
pub const TRIGGER_SCHEDULED: &str = "scheduled";
pub const TRIGGER_EVENT: &str = "event_based";

const POLICY_FIELDS: &[Field] = &[
    field("name", "name", Kind::Text),
    field("id", "id", Kind::Int),
    field("creation_time", "created_at", Kind::Time),
    field("update_time", "updated_at", Kind::Time),
];

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TriggerSettings {
    #[serde(default)]
    pub cron: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationTrigger {
    /// `manual`, `scheduled` (with `trigger_settings.cron`) or `event_based`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub trigger_settings: Option<TriggerSettings>,
}

impl Default for ReplicationTrigger {
    fn default() -> Self {
        Self {
            kind: TRIGGER_MANUAL.into(),
            trigger_settings: None,
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicationFilter {
    /// `name`, `tag`, `label` or `resource`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A pattern (name, tag), label names (label), `image` or `artifact` (resource).
    pub value: serde_json::Value,
    /// `matches` (the default) or `excludes`; tag and label only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoration: Option<String>,
}

/// Which side of a policy: `{"id": N}` is enough in a request (`0` is this registry).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RegistryRef {
    #[serde(default)]
    pub id: i64,
}

/// A replication policy as the API shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationPolicy {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub creator: String,
    pub src_registry: Option<RegistryEndpoint>,
    pub dest_registry: Option<RegistryEndpoint>,
    pub dest_namespace: String,
    pub dest_namespace_replace_count: i64,
    pub trigger: ReplicationTrigger,
    pub filters: Vec<ReplicationFilter>,
    pub replicate_deletion: bool,
    pub deletion: bool,
    #[serde(rename = "override")]
    pub override_existing: bool,
    pub enabled: bool,
    pub speed: i64,
    pub copy_by_chunk: bool,
    pub single_active_replication: bool,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `POST`/`PUT /replication/policies`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ReplicationPolicyReq {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub src_registry: Option<RegistryRef>,
    #[serde(default)]
    pub dest_registry: Option<RegistryRef>,
    #[serde(default)]
    pub dest_namespace: String,
    /// -1 (the default): flatten to the last component; 0 keep every component; n: drop the
    /// first n.
    #[serde(default)]
    pub dest_namespace_replace_count: Option<i64>,
    #[serde(default)]
    pub trigger: Option<ReplicationTrigger>,
    #[serde(default)]
    pub filters: Vec<ReplicationFilter>,
    #[serde(default)]
    pub replicate_deletion: bool,
    /// Harbor's deprecated name of `replicate_deletion`.
    #[serde(default)]
    pub deletion: bool,
    #[serde(default, rename = "override")]
    pub override_existing: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// KB/s per task; -1 or 0: unlimited.
    #[serde(default)]
    pub speed: Option<i64>,
    #[serde(default)]
    pub copy_by_chunk: bool,
    #[serde(default)]
    pub single_active_replication: bool,
}

/// A policy's filters, compiled.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    pub name: Option<Pattern>,
    /// Pattern and whether it excludes.
    pub tag: Option<(Pattern, bool)>,
    pub labels: Option<(Vec<String>, bool)>,
    /// `Some("image")`: only images (not other artifacts).
    pub resource: Option<String>,
}

impl Filters {
    pub(crate) fn compile(filters: &[ReplicationFilter]) -> Result<Self> {
        let mut out = Self::default();
        let bad = |reason: String| Error::BadRequest { reason };
        for f in filters {
            let excludes = match f.decoration.as_deref() {
                None | Some("") | Some("matches") => false,
                Some("excludes") => true,
                Some(other) => {
                    return Err(bad(format!(
                        "filter decoration {other:?}: matches or excludes"
                    )));
                }
            };
            let text = || {
                f.value
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("the {} filter's value is a string", f.kind)))
            };
            match f.kind.as_str() {
                "name" => {
                    if excludes {
                        return Err(bad("the name filter takes no decoration".into()));
                    }
                    let v = text()?;
                    if !v.is_empty() {
                        out.name = Some(Pattern::compile(DOUBLESTAR, &v)?);
                    }
                }
                "tag" => {
                    let v = text()?;
                    if !v.is_empty() {
                        out.tag = Some((Pattern::compile(DOUBLESTAR, &v)?, excludes));
                    }
                }
                "label" => {
                    let labels: Vec<String> = match &f.value {
                        serde_json::Value::Array(a) => a
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<_>>()
                            .ok_or_else(|| bad("label filter values are label names".into()))?,
                        serde_json::Value::String(s) if !s.is_empty() => vec![s.clone()],
                        _ => return Err(bad("label filter values are label names".into())),
                    };
                    out.labels = Some((labels, excludes));
                }
                "resource" => match text()?.as_str() {
                    "" | "artifact" => {}
                    "image" => out.resource = Some("image".into()),
                    other => {
                        return Err(bad(format!("resource filter {other:?}: image or artifact")));
                    }
                },
                other => {
                    return Err(bad(format!(
                        "filter type {other:?}: name, tag, label or resource"
                    )));
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn repo_selected(&self, path: &str) -> bool {
        self.name.as_ref().is_none_or(|p| p.is_match(path))
    }

    pub(crate) fn tag_selected(&self, tag: &str) -> bool {
        match &self.tag {
            None => true,
            Some((p, excludes)) => p.is_match(tag) != *excludes,
        }
    }

    /// The literal first segment of the name pattern (Docker Hub lists one namespace).
    pub(crate) fn namespace_hint(filters: &[ReplicationFilter]) -> Option<String> {
        let v = filters.iter().find(|f| f.kind == "name")?.value.as_str()?;
        let first = v.split('/').next()?;
        (!first.is_empty() && !first.contains(['*', '?', '[', '{'])).then(|| first.to_owned())
    }
}

/// The destination name of `src` (`a/b/c/img`) under `namespace` with `replace_count`:
/// -1 flattens (`ns/img`), 0 keeps every component (`ns/a/b/c/img`), n drops the first n
/// (`n = 1`: `ns/b/c/img`); an empty namespace adds nothing. Dropping every component is a
/// `BAD_REQUEST`.
pub fn dest_name(src: &str, namespace: &str, replace_count: i64) -> Result<String> {
    let parts: Vec<&str> = src.split('/').collect();
    let kept: Vec<&str> = match replace_count {
        -1 if namespace.is_empty() => parts.clone(),
        -1 => parts[parts.len() - 1..].to_vec(),
        n if n >= 0 => {
            let n = n as usize;
            if n >= parts.len() {
                return Err(Error::BadRequest {
                    reason: format!(
                        "dest_namespace_replace_count {replace_count} drops every component of {src}"
                    ),
                });
            }
            parts[n..].to_vec()
        }
        _ => {
            return Err(Error::BadRequest {
                reason: "dest_namespace_replace_count is -1 or more".into(),
            });
        }
    };
    let mut name = kept.join("/");
    if !namespace.is_empty() {
        name = format!("{}/{name}", namespace.trim_matches('/'));
    }
    Ok(name)
}

fn not_found(id: i64) -> Error {
    Error::NotFound {
        what: format!("replication policy {id}"),
    }
}

impl Registry {
    async fn policy_view(&self, row: PolicyRow) -> Result<ReplicationPolicy> {
        let endpoint = |id: Option<i64>| async move {
            match id {
                Some(id) => self
                    .registry_endpoint(&Principal::System, id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        Ok(ReplicationPolicy {
            id: row.id,
            name: row.name,
            description: row.description,
            creator: row.creator,
            src_registry: endpoint(row.src_registry_id).await?,
            dest_registry: endpoint(row.dest_registry_id).await?,
            dest_namespace: row.dest_namespace,
            dest_namespace_replace_count: row.dest_namespace_replace_count,
            trigger: serde_json::from_str(&row.trigger_spec).unwrap_or_default(),
            filters: serde_json::from_str(&row.filters).unwrap_or_default(),
            replicate_deletion: row.replicate_deletion,
            deletion: row.replicate_deletion,
            override_existing: row.override_existing,
            enabled: row.enabled,
            speed: row.speed,
            copy_by_chunk: row.copy_by_chunk,
            single_active_replication: row.single_active_replication,
            creation_time: time(row.created_at),
            update_time: time(row.updated_at),
        })
    }

    pub(crate) async fn policy_row(&self, id: i64) -> Result<PolicyRow> {
        self.meta
            .replication_policy(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Validate a request into a row (`id`, `creator` and times are the caller's).
    async fn policy_from(&self, req: ReplicationPolicyReq) -> Result<PolicyRow> {
        let bad = |reason: String| Error::BadRequest { reason };
        if req.name.trim().is_empty() || req.name.len() > 255 {
            return Err(bad("a policy needs a name of 1-255 characters".into()));
        }
        let side = |r: Option<RegistryRef>| r.map(|r| r.id).filter(|id| *id != 0);
        let (src, dest) = (side(req.src_registry), side(req.dest_registry));
        match (src, dest) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(bad(
                    "one of src_registry and dest_registry names a registry endpoint; the other side is this registry".into(),
                ));
            }
            _ => {}
        }
        for id in [src, dest].into_iter().flatten() {
            self.registry_endpoint(&Principal::System, id)
                .await
                .map_err(|e| match e {
                    Error::NotFound { .. } => bad(format!("registry {id} does not exist")),
                    other => other,
                })?;
        }
        let trigger = req.trigger.unwrap_or_default();
        match trigger.kind.as_str() {
            TRIGGER_MANUAL => {}
            TRIGGER_SCHEDULED => {
                let cron = trigger
                    .trigger_settings
                    .as_ref()
                    .map(|s| s.cron.as_str())
                    .unwrap_or_default();
                crate::jobs::parse_cron(cron)?;
            }
            TRIGGER_EVENT if src.is_some() => {
                return Err(bad(
                    "event_based triggers need a push-based policy (this registry is the source)"
                        .into(),
                ));
            }
            TRIGGER_EVENT => {}
            other => {
                return Err(bad(format!(
                    "trigger type {other:?}: manual, scheduled or event_based"
                )));
            }
        }
        let filters = Filters::compile(&req.filters)?;
        if filters.labels.is_some() && src.is_some() {
            return Err(bad("label filters need a local source (push-based)".into()));
        }
        let replace_count = req.dest_namespace_replace_count.unwrap_or(-1);
        dest_name("a/b", &req.dest_namespace, replace_count.min(1))?;
        let speed = req.speed.unwrap_or(-1);
        if speed < -1 {
            return Err(bad("speed is KB/s, -1 for unlimited".into()));
        }
        Ok(PolicyRow {
            id: 0,
            name: req.name.trim().to_owned(),
            description: req.description,
            src_registry_id: src,
            dest_registry_id: dest,
            dest_namespace: req.dest_namespace.trim_matches('/').to_owned(),
            dest_namespace_replace_count: replace_count,
            trigger_spec: serde_json::to_string(&trigger).expect("a trigger serializes"),
            filters: serde_json::to_string(&req.filters).expect("filters serialize"),
            replicate_deletion: req.replicate_deletion || req.deletion,
            override_existing: req.override_existing.unwrap_or(true),
            enabled: req.enabled.unwrap_or(true),
            speed,
            copy_by_chunk: req.copy_by_chunk,
            single_active_replication: req.single_active_replication,
            creator: String::new(),
            created_at: 0,
            updated_at: 0,
        })
    }

    /// Keep the policy's schedule in step with its trigger.
    async fn sync_policy_schedule(&self, row: &PolicyRow) -> Result<()> {
        let trigger: ReplicationTrigger =
            serde_json::from_str(&row.trigger_spec).unwrap_or_default();
        match trigger.trigger_settings {
            Some(s) if trigger.kind == TRIGGER_SCHEDULED && row.enabled => {
                self.set_schedule(
                    REPLICATION_SCHEDULE_JOB,
                    row.id,
                    &s.cron,
                    serde_json::json!({ "policy_id": row.id }),
                )
                .await?;
            }
            _ => {
                self.remove_schedule(REPLICATION_SCHEDULE_JOB, row.id)
                    .await?;
            }
        }
        Ok(())
    }

    pub async fn create_replication_policy(
        &self,
        p: &Principal,
        req: ReplicationPolicyReq,
    ) -> Result<ReplicationPolicy> {
        self.require_system(p, SystemResource::ReplicationPolicy, Action::Create)?;
        let mut row = self.policy_from(req).await?;
        self.check_writable().await?;
        let now = self.now_ms();
        row.creator = p.name().to_owned();
        row.created_at = now;
        row.updated_at = now;
        row.id = self.meta.create_replication_policy(&row).await?;
        self.sync_policy_schedule(&row).await?;
        tracing::info!(
            policy = row.id,
            name = row.name,
            "replication policy created"
        );
        self.policy_view(row).await
    }

    pub async fn replication_policies(
        &self,
        p: &Principal,
        q: &ListQuery,
    ) -> Result<Page<ReplicationPolicy>> {
        self.require_system(p, SystemResource::ReplicationPolicy, Action::List)?;
        let spec = q.parse(POLICY_FIELDS, &[("id", false)])?;
        let (rows, total) = self.meta.list_replication_policies(&spec).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            items.push(self.policy_view(row).await?);
        }
        Ok(spec.page_of(items, total))
    }

    pub async fn replication_policy(&self, p: &Principal, id: i64) -> Result<ReplicationPolicy> {
        self.require_system(p, SystemResource::ReplicationPolicy, Action::Read)?;
        self.policy_view(self.policy_row(id).await?).await
    }

    pub async fn update_replication_policy(
        &self,
        p: &Principal,
        id: i64,
        req: ReplicationPolicyReq,
    ) -> Result<()> {
        self.require_system(p, SystemResource::ReplicationPolicy, Action::Update)?;
        let old = self.policy_row(id).await?;
        let row = self.policy_from(req).await?;
        self.check_writable().await?;
        let row = PolicyRow {
            id,
            creator: old.creator,
            created_at: old.created_at,
            updated_at: self.now_ms().max(old.updated_at + 1),
            ..row
        };
        if !self.meta.update_replication_policy(&row).await? {
            return Err(not_found(id));
        }
        self.sync_policy_schedule(&row).await
    }

    /// Delete a policy that has no execution running (`PRECONDITION_FAILED` otherwise).
    pub async fn delete_replication_policy(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::ReplicationPolicy, Action::Delete)?;
        self.policy_row(id).await?;
        if let Some(running) = self.meta.active_execution(REPLICATION_JOB, id).await? {
            return Err(Error::PreconditionFailed {
                reason: format!(
                    "execution {running} of policy {id} is still running; stop it first"
                ),
            });
        }
        self.check_writable().await?;
        self.remove_schedule(REPLICATION_SCHEDULE_JOB, id).await?;
        if !self.meta.delete_replication_policy(id).await? {
            return Err(not_found(id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_names_follow_harbors_replace_count() {
        assert_eq!(dest_name("a/b/c/img", "ns", -1).unwrap(), "ns/img");
        assert_eq!(dest_name("a/b/c/img", "ns", 0).unwrap(), "ns/a/b/c/img");
        assert_eq!(dest_name("a/b/c/img", "ns", 1).unwrap(), "ns/b/c/img");
        assert_eq!(dest_name("a/b/c/img", "ns", 3).unwrap(), "ns/img");
        assert!(dest_name("a/b/c/img", "ns", 4).is_err());
        assert_eq!(dest_name("a/b", "", -1).unwrap(), "a/b");
        assert_eq!(dest_name("a/b", "", 1).unwrap(), "b");
        assert!(dest_name("a/b", "ns", -2).is_err());
    }

    #[test]
    fn filters_select_repositories_and_tags() {
        let f =
            |kind: &str, value: serde_json::Value, decoration: Option<&str>| ReplicationFilter {
                kind: kind.into(),
                value,
                decoration: decoration.map(str::to_owned),
            };
        let compiled = Filters::compile(&[
            f("name", "lib/**".into(), None),
            f("tag", "v1.*".into(), Some("excludes")),
        ])
        .unwrap();
        assert!(compiled.repo_selected("lib/a/b"));
        assert!(!compiled.repo_selected("other/a"));
        assert!(compiled.tag_selected("v2.0"));
        assert!(!compiled.tag_selected("v1.3"));
        assert!(Filters::compile(&[f("name", "x".into(), Some("excludes"))]).is_err());
        assert!(Filters::compile(&[f("color", "x".into(), None)]).is_err());
        assert!(Filters::compile(&[f("resource", "chart".into(), None)]).is_err());
        assert_eq!(
            Filters::namespace_hint(&[f("name", "library/**".into(), None)]).as_deref(),
            Some("library")
        );
        assert_eq!(
            Filters::namespace_hint(&[f("name", "lib*/x".into(), None)]),
            None
        );
    }
}
