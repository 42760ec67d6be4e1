//! Robot accounts: system level (`robot$name`, any projects and system permissions) and project
//! level (`robot$project+name`, one project). A robot never receives a permission its creator
//! does not hold; its secret is shown once, stored as an argon2id hash.

use crate::access::refuse;
use crate::auth::rbac::{Effect, ProjectResource, SystemResource};
use crate::auth::{Action, Principal, ROBOT_PREFIX, RobotPermission, password};
use crate::error::{Error, Result};
use crate::meta::identity::RobotRow;
use crate::model::{Robot, RobotCreated, RobotReq, time};
use crate::query::{Field, Kind, ListQuery, Match, Page, Value, field};
use crate::registry::Registry;

const ROBOT_FIELDS: &[Field] = &[
    field("name", "name", Kind::Text),
    field("Level", "level", Kind::Text),
    field("level", "level", Kind::Text),
    field("ProjectID", "project_id", Kind::Int),
    field("project_id", "project_id", Kind::Int),
    field("creation_time", "created_at", Kind::Time),
];

const DAY_MS: i64 = 86_400_000;

fn validate_robot_name(name: &str) -> Result<()> {
    let segs_ok = name.split(['.', '_', '-']).all(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !name.is_empty() && name.len() <= 255 && segs_ok {
        Ok(())
    } else {
        Err(Error::BadRequest {
            reason: format!("robot name {name:?} must match [a-z0-9]+([._-][a-z0-9]+)*"),
        })
    }
}

fn expiry(created: i64, duration: i64) -> Result<i64> {
    match duration {
        -1 => Ok(-1),
        d if d >= 1 && d <= i32::MAX as i64 => Ok(created.saturating_add(d.saturating_mul(DAY_MS))),
        d => Err(Error::BadRequest {
            reason: format!("duration {d} must be -1 (never expires) or a number of days >= 1"),
        }),
    }
}

fn robot_view(r: RobotRow) -> Result<Robot> {
    let permissions: Vec<RobotPermission> = serde_json::from_str(&r.permissions)
        .map_err(|e| Error::internal(format!("robot {}: {e}", r.id)))?;
    Ok(Robot {
        id: r.id,
        name: format!("{ROBOT_PREFIX}{}", r.name),
        description: r.description,
        level: r.level,
        duration: r.duration,
        disable: r.disabled,
        expires_at: if r.expires_at < 0 {
            -1
        } else {
            r.expires_at / 1000
        },
        editable: true,
        permissions,
        creation_time: time(r.created_at),
        update_time: time(r.updated_at),
    })
}

impl Registry {
    /// Check that `p` may hand out every allow entry of `perms`.
    async fn check_grantable(&self, p: &Principal, perms: &[RobotPermission]) -> Result<()> {
        for rp in perms {
            rp.validate()?;
            let allows: Vec<_> = rp
                .access
                .iter()
                .filter(|a| a.effect == Effect::Allow)
                .collect();
            match rp.kind.as_str() {
                "system" => {
                    for a in allows {
                        let r = SystemResource::parse(&a.resource).expect("validated");
                        if !self.system_allows(p, r, a.action) {
                            return Err(Error::Denied {
                                reason: format!(
                                    "you cannot grant {}:{} that you do not hold",
                                    a.resource, a.action
                                ),
                            });
                        }
                    }
                }
                _ if rp.namespace == "*" => {
                    if !p.is_sysadmin()
                        && !matches!(p, Principal::Robot(r) if r.permissions.iter().any(|own| own.namespace == "*" && {
                            let held = own.project_perms(Effect::Allow);
                            allows.iter().all(|a| ProjectResource::parse(&a.resource).is_some_and(|r| held.allows(r, a.action)))
                        }))
                    {
                        return Err(Error::Denied {
                            reason:
                                "only system administrators can grant permissions in every project"
                                    .into(),
                        });
                    }
                }
                _ => {
                    let access = self
                        .project_access(p, &rp.namespace)
                        .await?
                        .ok_or_else(|| Error::NotFound {
                            what: format!("project {}", rp.namespace),
                        })?;
                    for a in allows {
                        let r = ProjectResource::parse(&a.resource).expect("validated");
                        if !access.allows(r, a.action) {
                            return Err(Error::Denied {
                                reason: format!(
                                    "you cannot grant {}:{} in {} that you do not hold",
                                    a.resource, a.action, rp.namespace
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Where a robot lives: `(stored name, project id)`, after checking `p` may manage robots there.
    async fn robot_home(
        &self,
        p: &Principal,
        req: &RobotReq,
        action: Action,
    ) -> Result<(String, Option<i64>)> {
        match req.level.as_str() {
            "system" => {
                self.require_system(p, SystemResource::Robot, action)?;
                Ok((req.name.clone(), None))
            }
            "project" => {
                let [rp] = req.permissions.as_slice() else {
                    return Err(Error::BadRequest {
                        reason: "a project robot has exactly one permission entry, for its project"
                            .into(),
                    });
                };
                if rp.kind != "project" || rp.namespace == "*" {
                    return Err(Error::BadRequest {
                        reason: "a project robot's permission entry names its project".into(),
                    });
                }
                let access = self
                    .require_project(p, &rp.namespace, true, ProjectResource::Robot, action)
                    .await?;
                Ok((
                    format!("{}+{}", access.project.name, req.name),
                    Some(access.project.id),
                ))
            }
            l => Err(Error::BadRequest {
                reason: format!("level must be system or project, not {l:?}"),
            }),
        }
    }

    /// Create a robot; the answer carries its secret, which is never shown again.
    pub async fn create_robot(&self, p: &Principal, req: RobotReq) -> Result<RobotCreated> {
        validate_robot_name(&req.name)?;
        let (stored, project_id) = self.robot_home(p, &req, Action::Create).await?;
        self.check_grantable(p, &req.permissions).await?;
        let secret = match &req.secret {
            Some(s) => {
                password::check_secret_strength(s)?;
                s.clone()
            }
            None => password::random_secret(32),
        };
        let now = self.now_ms();
        let (creator_type, creator_ref) = match p {
            Principal::Robot(r) => ("robot", r.name.clone()),
            other => ("local", other.name().to_owned()),
        };
        let mut row = RobotRow {
            id: 0,
            name: stored,
            description: req.description,
            level: req.level,
            project_id,
            secret_hash: password::hash(&secret).await?,
            disabled: req.disable,
            duration: req.duration,
            expires_at: expiry(now, req.duration)?,
            creator_type: creator_type.into(),
            creator_ref,
            permissions: serde_json::to_string(&req.permissions).expect("permissions serialize"),
            created_at: now,
            updated_at: now,
        };
        let event = robot_event("CREATE_ROBOT", &row, "create");
        row.id = self
            .with_events(vec![event], self.meta.create_robot(&row))
            .await?;
        tracing::info!(robot = %row.name, by = p.name(), "robot created");
        Ok(RobotCreated {
            id: row.id,
            name: format!("{ROBOT_PREFIX}{}", row.name),
            secret,
            creation_time: time(now),
            expires_at: if row.expires_at < 0 {
                -1
            } else {
                row.expires_at / 1000
            },
        })
    }

    /// Fetch a robot and check `p` may do `action` on it.
    async fn robot_for(&self, p: &Principal, id: i64, action: Action) -> Result<RobotRow> {
        let not_found = || Error::NotFound {
            what: format!("robot {id}"),
        };
        let row = self.meta.robot_by_id(id).await?.ok_or_else(not_found)?;
        let own = matches!(p, Principal::Robot(r) if r.id == id);
        let allowed = own && matches!(action, Action::Read | Action::Update)
            || match row.project_id {
                None => self.system_allows(p, SystemResource::Robot, action),
                Some(pid) => match self.meta.project_by_id(pid).await? {
                    Some(project) => match self.project_access(p, &project.name).await? {
                        Some(a) => {
                            if !a.allows(ProjectResource::Robot, action) {
                                return Err(refuse(p));
                            }
                            true
                        }
                        None => false,
                    },
                    None => false,
                },
            };
        if allowed { Ok(row) } else { Err(not_found()) }
    }

    pub async fn robot(&self, p: &Principal, id: i64) -> Result<Robot> {
        robot_view(self.robot_for(p, id, Action::Read).await?)
    }

    /// Robots: `q` `Level=system`, or `Level=project,ProjectID=<id>` (project robot managers).
    pub async fn robots(&self, p: &Principal, q: &ListQuery) -> Result<Page<Robot>> {
        let spec = q.parse(ROBOT_FIELDS, &[("id", false)])?;
        let project = spec
            .filters
            .iter()
            .find_map(|f| match (&f.matcher, f.column) {
                (Match::Exact(Value::Int(id)), "project_id") => Some(*id),
                _ => None,
            });
        let scope = match project {
            Some(id) => {
                self.require_project(
                    p,
                    &id.to_string(),
                    false,
                    ProjectResource::Robot,
                    Action::List,
                )
                .await?;
                Some(id)
            }
            None => {
                self.require_system(p, SystemResource::Robot, Action::List)?;
                None
            }
        };
        let (rows, total) = self.meta.list_robots(scope, &spec).await?;
        Ok(spec.page_of(
            rows.into_iter()
                .map(robot_view)
                .collect::<Result<Vec<_>>>()?,
            total,
        ))
    }

    /// Update description, duration, disabled flag and permissions (name, level and project stay).
    pub async fn update_robot(&self, p: &Principal, id: i64, req: RobotReq) -> Result<()> {
        let mut row = self.robot_for(p, id, Action::Update).await?;
        if matches!(p, Principal::Robot(r) if r.id == id) {
            return Err(Error::Denied {
                reason: "a robot cannot change its own permissions".into(),
            });
        }
        let short = row.name.rsplit('+').next().unwrap_or(&row.name);
        if req.level != row.level
            || req.name != short && req.name != format!("{ROBOT_PREFIX}{}", row.name)
        {
            return Err(Error::BadRequest {
                reason: "a robot's name and level cannot change".into(),
            });
        }
        if row.level == "project" {
            let (stored, _) = self.robot_home(p, &req, Action::Update).await?;
            if stored != row.name {
                return Err(Error::BadRequest {
                    reason: "a project robot cannot move to another project".into(),
                });
            }
        }
        self.check_grantable(p, &req.permissions).await?;
        row.description = req.description;
        row.disabled = req.disable;
        row.expires_at = expiry(row.created_at, req.duration)?;
        row.duration = req.duration;
        row.permissions = serde_json::to_string(&req.permissions).expect("permissions serialize");
        row.updated_at = self.now_ms();
        let event = robot_event("UPDATE_ROBOT", &row, "update");
        self.with_events(vec![event], self.meta.update_robot(&row))
            .await?;
        self.access_changed();
        Ok(())
    }

    /// Set a new secret (given, or generated and returned).
    pub async fn refresh_robot_secret(
        &self,
        p: &Principal,
        id: i64,
        secret: Option<String>,
    ) -> Result<String> {
        let row = self.robot_for(p, id, Action::Update).await?;
        let secret = match secret {
            Some(s) => {
                password::check_secret_strength(&s)?;
                s
            }
            None => password::random_secret(32),
        };
        let hash = password::hash(&secret).await?;
        let event = robot_event("UPDATE_ROBOT", &row, "update")
            .payload(serde_json::json!({ "changed": ["secret"] }));
        self.with_events(
            vec![event],
            self.meta.set_robot_secret(id, &hash, self.now_ms()),
        )
        .await?;
        self.access_changed();
        Ok(secret)
    }

    pub async fn delete_robot(&self, p: &Principal, id: i64) -> Result<()> {
        let row = self.robot_for(p, id, Action::Delete).await?;
        let event = robot_event("DELETE_ROBOT", &row, "delete");
        self.with_events(vec![event], self.meta.delete_robot(id))
            .await?;
        self.access_changed();
        Ok(())
    }
}

/// The audit entry of a change to a robot (its full name; never its secret).
fn robot_event(event_type: &str, row: &RobotRow, operation: &str) -> crate::events::NewEvent {
    let e = crate::events::NewEvent::new(
        event_type,
        "robot",
        format!("{ROBOT_PREFIX}{}", row.name),
        operation,
    );
    match row.project_id {
        Some(id) => e.project(id),
        None => e,
    }
}
