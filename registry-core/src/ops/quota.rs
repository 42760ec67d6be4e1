//! Storage quotas, counted as Harbor does: a project is charged once for every distinct blob
//! its repositories link and every manifest they store, whatever the number of repositories
//! sharing it; the same blob in two projects is charged to both.
//!
//! The charge is made in the transaction that links content to the project (upload commit,
//! mount, manifest push; see `meta::governance_sql`), against a row lock on the project's
//! quota, so usage never drifts from a recount and a refused request stores nothing. Usage is
//! released when the project stops holding content: a manifest deleted, a repository deleted,
//! or garbage collection dropping a repository's unreferenced blob links (a layer stays charged
//! while a repository links it, as Harbor does until its GC).

use crate::auth::Principal;
use crate::auth::rbac::{Action, ProjectResource, SystemResource};
use crate::error::{Error, Result};
use crate::events::{NewEvent, QUOTA_EXCEED};
use crate::meta::governance::{QuotaAudit, QuotaRow};
use crate::model::{Quota, QuotaRef, ResourceList};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

/// Largest limit Harbor accepts: 1 PiB.
pub const MAX_STORAGE_LIMIT: i64 = 1 << 50;

pub use crate::meta::governance::{WARNING_PERCENT, crosses_warning};
pub use crate::units::human_size;

/// Validate a storage limit as given to the API: -1 (unlimited) or 0 ..= 1 PiB.
pub fn check_limit(limit: i64) -> Result<i64> {
    if limit == -1 || (0..=MAX_STORAGE_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::BadRequest {
            reason: format!(
                "storage limit {limit} must be -1 (unlimited) or between 0 and {MAX_STORAGE_LIMIT} bytes"
            ),
        })
    }
}

const QUOTA_FIELDS: &[Field] = &[
    field("id", "q.id", Kind::Int),
    field("creation_time", "q.created_at", Kind::Time),
    field("update_time", "q.updated_at", Kind::Time),
    field("used.storage", "q.used", Kind::Int),
    field("hard.storage", "q.hard", Kind::Int),
];

fn quota_view(row: QuotaRow) -> Quota {
    Quota {
        id: row.id,
        r#ref: QuotaRef {
            id: row.project_id,
            name: row.project_name,
            owner_name: String::new(),
        },
        hard: ResourceList { storage: row.hard },
        used: ResourceList { storage: row.used },
        creation_time: crate::model::time(row.created_at),
        update_time: crate::model::time(row.updated_at),
    }
}

impl Registry {
    /// Quotas the caller may read: all for system administrators, else those of projects where
    /// it holds `quota:read`. `reference_id` narrows to one project (`reference` must be
    /// `project` when given).
    pub async fn quotas(
        &self,
        p: &Principal,
        reference: Option<&str>,
        reference_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<Quota>> {
        if let Some(r) = reference
            && r != "project"
        {
            return Err(Error::BadRequest {
                reason: format!("unknown quota reference {r:?}; only \"project\" exists"),
            });
        }
        let spec = q.parse(QUOTA_FIELDS, &[("q.id", false)])?;
        let ids: Option<Vec<i64>> = match reference_id {
            Some(id) => {
                let access = self.visible_project(p, id, false).await?;
                if !access.allows(ProjectResource::Quota, Action::Read) {
                    return Err(crate::access::refuse(p));
                }
                Some(vec![access.project.id])
            }
            None if self.system_allows(p, SystemResource::Quota, Action::List) => None,
            None => Some(self.readable_quota_projects(p).await?),
        };
        let (rows, total) = self.meta.list_quotas(ids.as_deref(), &spec).await?;
        Ok(spec.page_of(rows.into_iter().map(quota_view).collect(), total))
    }

    async fn readable_quota_projects(&self, p: &Principal) -> Result<Vec<i64>> {
        self.projects_allowing(p, ProjectResource::Quota, Action::Read)
            .await
    }

    /// One quota by id.
    pub async fn quota(&self, p: &Principal, id: i64) -> Result<Quota> {
        let not_found = || Error::NotFound {
            what: format!("quota {id}"),
        };
        let row = self.meta.quota_by_id(id).await?.ok_or_else(not_found)?;
        if !self.system_allows(p, SystemResource::Quota, Action::Read) {
            let access = self
                .visible_project(p, &row.project_id.to_string(), false)
                .await
                .map_err(|_| not_found())?;
            if !access.allows(ProjectResource::Quota, Action::Read) {
                return Err(crate::access::refuse(p));
            }
        }
        Ok(quota_view(row))
    }

    /// The quota of a project given by name or id (see [`Registry::visible_project`]).
    pub async fn quota_of_project(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<Quota> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        if !access.allows(ProjectResource::Quota, Action::Read) {
            return Err(crate::access::refuse(p));
        }
        let row = self
            .meta
            .quota_by_project(access.project.id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("quota of project {name_or_id}"),
            })?;
        Ok(quota_view(row))
    }

    /// Change the storage limit of a project given by name or id (system administrators).
    pub async fn set_project_storage_limit(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        limit: i64,
    ) -> Result<()> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        let row = self
            .meta
            .quota_by_project(access.project.id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("quota of project {name_or_id}"),
            })?;
        self.set_quota(p, row.id, limit).await
    }

    /// The quota of a project, by id.
    pub async fn project_quota(&self, project_id: i64) -> Result<Option<QuotaRow>> {
        self.meta.quota_by_project(project_id).await
    }

    /// Change a quota's limit (system administrators; Harbor's `PUT /quotas/{id}`). A limit
    /// below the current usage is accepted: it refuses further growth, as in Harbor.
    pub async fn set_quota(&self, p: &Principal, id: i64, hard_storage: i64) -> Result<()> {
        self.require_system(p, SystemResource::Quota, Action::Update)?;
        let hard = check_limit(hard_storage)?;
        let row = self
            .meta
            .quota_by_id(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("quota {id}"),
            })?;
        let event = NewEvent::new("UPDATE_QUOTA", "quota", row.project_name, "update")
            .project(row.project_id)
            .payload(serde_json::json!({ "hard": hard, "previous": row.hard }));
        self.with_events(
            vec![event],
            self.meta.set_quota_hard(id, hard, self.now_ms()),
        )
        .await?;
        Ok(())
    }

    /// Stored usage against a recount from links, for every project (the invariant tests and
    /// `berth` operators check).
    pub async fn verify_quotas(&self) -> Result<Vec<QuotaAudit>> {
        self.meta.quota_check().await
    }

    /// Record a `QUOTA_EXCEED` event for a refused request.
    pub(crate) async fn quota_refused(&self, e: &Error) {
        if let Error::QuotaExceeded {
            project,
            hard,
            used,
            adding,
        } = e
        {
            let id = self
                .meta
                .project_by_name(project)
                .await
                .ok()
                .flatten()
                .map(|p| p.id);
            let mut ev = NewEvent::new(QUOTA_EXCEED, "quota", project.clone(), "exceed")
                .failed()
                .payload(serde_json::json!({
                    "hard": hard, "used": used, "adding": adding,
                    "custom_attributes": { "Details": e.to_string() },
                }));
            ev.project_id = id;
            self.record(ev).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_fires_once_when_crossing() {
        assert!(crosses_warning(100, 80, 85));
        assert!(!crosses_warning(100, 85, 90));
        assert!(!crosses_warning(100, 10, 84));
        assert!(!crosses_warning(-1, 0, 1 << 40));
    }

    #[test]
    fn sizes_read_like_harbor() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(10 << 20), "10.0 MiB");
        assert_eq!(human_size(2_202_009), "2.1 MiB");
    }

    #[test]
    fn limits_are_checked() {
        assert!(
            check_limit(-1).is_ok()
                && check_limit(0).is_ok()
                && check_limit(MAX_STORAGE_LIMIT).is_ok()
        );
        assert!(check_limit(-2).is_err() && check_limit(MAX_STORAGE_LIMIT + 1).is_err());
    }
}
