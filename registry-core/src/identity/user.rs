//! Local users: create, profile, password, system admin flag, delete.

use crate::access::refuse;
use crate::auth::{Action, Principal, SystemResource, password};
use crate::error::{Error, Result};
use crate::events::NewEvent;
use crate::meta::identity::{NewUser, UserRow};
use crate::model::{User, UserCreate, UserGroup, UserProfile, time};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

pub const USER_FIELDS: &[Field] = &[
    field("username", "username", Kind::Text),
    field("email", "email", Kind::Text),
    field("user_id", "id", Kind::Int),
    field(
        "sysadmin_flag",
        "CASE WHEN sysadmin THEN 1 ELSE 0 END",
        Kind::Bool,
    ),
    field("creation_time", "created_at", Kind::Time),
];

const GROUP_FIELDS: &[Field] = &[
    field("group_name", "name", Kind::Text),
    field("group_type", "group_type", Kind::Int),
    field("ldap_group_dn", "ldap_dn", Kind::Text),
];

/// User names: 1–255 printable characters without `,"~#%$:` or spaces (Harbor's rule), and not
/// the robot prefix.
pub fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 255
        && !name
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || ",\"~#%$:".contains(c))
        && !name.starts_with(crate::auth::ROBOT_PREFIX);
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest {
            reason: "user names are 1-255 characters without spaces or any of ,\"~#%$:".into(),
        })
    }
}

pub(crate) fn user_view(u: UserRow) -> User {
    User {
        user_id: u.id,
        username: u.username,
        email: u.email,
        realname: u.realname,
        comment: u.comment,
        sysadmin_flag: u.sysadmin,
        admin_role_in_auth: false,
        source: u.source,
        creation_time: time(u.created_at),
        update_time: time(u.updated_at),
    }
}

impl Registry {
    /// Create a local user (system admins; anyone when self-registration is on).
    pub async fn create_user(&self, p: &Principal, req: UserCreate) -> Result<User> {
        if !(self.system_allows(p, SystemResource::User, Action::Create)
            || self.access.settings.self_registration)
        {
            return Err(refuse(p));
        }
        validate_username(&req.username)?;
        password::check_secret_strength(&req.password)?;
        let new = NewUser {
            username: req.username,
            email: req.email,
            realname: req.realname,
            comment: req.comment,
            password_hash: Some(password::hash(&req.password).await?),
            sysadmin: false,
            source: "local".into(),
            external_id: None,
        };
        let event = NewEvent::new("CREATE_USER", "user", new.username.clone(), "create");
        let row = self
            .with_events(vec![event], self.meta.create_user(&new, self.now_ms()))
            .await?;
        Ok(user_view(row))
    }

    /// All users (system admins).
    pub async fn users(&self, p: &Principal, q: &ListQuery) -> Result<Page<User>> {
        self.require_system(p, SystemResource::User, Action::List)?;
        let spec = q.parse(USER_FIELDS, &[("id", false)])?;
        let (rows, total) = self.meta.list_users(&spec).await?;
        Ok(spec.page_of(rows.into_iter().map(user_view).collect(), total))
    }

    /// Users whose name contains `username` (any signed-in caller: adding members needs it).
    pub async fn search_users(
        &self,
        p: &Principal,
        username: &str,
        q: &ListQuery,
    ) -> Result<Page<User>> {
        if !matches!(p, Principal::User(_) | Principal::System) {
            return Err(refuse(p));
        }
        let mut q = q.clone();
        q.q = Some(format!("username=~{username}"));
        q.sort = None;
        let spec = q.parse(USER_FIELDS, &[("username", false)])?;
        let (rows, total) = self.meta.list_users(&spec).await?;
        // Only what member pickers need.
        Ok(spec.page_of(
            rows.into_iter()
                .map(|u| {
                    let mut v = user_view(u);
                    v.email.clear();
                    v.comment.clear();
                    v
                })
                .collect(),
            total,
        ))
    }

    fn self_or_admin(&self, p: &Principal, user_id: i64, action: Action) -> Result<()> {
        if p.user_id() == Some(user_id) || self.system_allows(p, SystemResource::User, action) {
            Ok(())
        } else {
            Err(refuse(p))
        }
    }

    async fn user_row(&self, user_id: i64) -> Result<UserRow> {
        self.meta
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("user {user_id}"),
            })
    }

    pub async fn user(&self, p: &Principal, user_id: i64) -> Result<User> {
        self.self_or_admin(p, user_id, Action::Read)?;
        Ok(user_view(self.user_row(user_id).await?))
    }

    /// The signed-in user.
    pub async fn current_user(&self, p: &Principal) -> Result<User> {
        let Some(id) = p.user_id() else {
            return Err(refuse(p));
        };
        Ok(user_view(self.user_row(id).await?))
    }

    pub async fn update_user(&self, p: &Principal, user_id: i64, req: UserProfile) -> Result<()> {
        self.self_or_admin(p, user_id, Action::Update)?;
        let u = self.user_row(user_id).await?;
        let email = req.email.unwrap_or(u.email);
        let realname = req.realname.unwrap_or(u.realname);
        let comment = req.comment.unwrap_or(u.comment);
        if email.len() > 255 || realname.len() > 255 || comment.len() > 30_000 {
            return Err(Error::BadRequest {
                reason: "email and realname are at most 255 characters".into(),
            });
        }
        let event = NewEvent::new("UPDATE_USER", "user", u.username, "update")
            .payload(serde_json::json!({ "changed": ["profile"] }));
        self.with_events(
            vec![event],
            self.meta
                .update_user_profile(user_id, &email, &realname, &comment, self.now_ms()),
        )
        .await?;
        Ok(())
    }

    /// Change a password. Users changing their own must give the old one; system admins
    /// resetting someone else's need not.
    pub async fn change_password(
        &self,
        p: &Principal,
        user_id: i64,
        old: Option<&str>,
        new: &str,
    ) -> Result<()> {
        self.self_or_admin(p, user_id, Action::Update)?;
        let u = self.user_row(user_id).await?;
        if u.source != "local" {
            return Err(Error::PreconditionFailed {
                reason: format!("the password of a {} user is managed there", u.source),
            });
        }
        password::check_secret_strength(new)?;
        if p.user_id() == Some(user_id) {
            let ok = match (old, u.password_hash.as_deref()) {
                (Some(old), Some(hash)) => password::verify(old, hash).await,
                _ => false,
            };
            if !ok {
                return Err(Error::BadRequest {
                    reason: "the old password is wrong".into(),
                });
            }
            if old == Some(new) {
                return Err(Error::BadRequest {
                    reason: "the new password is the old one".into(),
                });
            }
        }
        let hash = password::hash(new).await?;
        let event = NewEvent::new("UPDATE_USER", "user", u.username, "update")
            .payload(serde_json::json!({ "changed": ["password"] }));
        self.with_events(
            vec![event],
            self.meta.set_password(user_id, &hash, self.now_ms()),
        )
        .await?;
        // Browsers signed in with the old password sign in again.
        self.meta.delete_user_sessions(user_id).await?;
        self.access_changed();
        Ok(())
    }

    pub async fn set_sysadmin(&self, p: &Principal, user_id: i64, sysadmin: bool) -> Result<()> {
        self.require_system(p, SystemResource::User, Action::Update)?;
        if p.user_id() == Some(user_id) && !sysadmin {
            return Err(Error::PreconditionFailed {
                reason: "administrators cannot remove their own admin flag".into(),
            });
        }
        let name = self.user_row(user_id).await?.username;
        let event = NewEvent::new("UPDATE_USER", "user", name, "update").payload(
            serde_json::json!({ "changed": ["sysadmin_flag"], "sysadmin_flag": sysadmin }),
        );
        if !self
            .with_events(
                vec![event],
                self.meta.set_sysadmin(user_id, sysadmin, self.now_ms()),
            )
            .await?
        {
            return Err(Error::NotFound {
                what: format!("user {user_id}"),
            });
        }
        self.access_changed();
        Ok(())
    }

    pub async fn delete_user(&self, p: &Principal, user_id: i64) -> Result<()> {
        self.require_system(p, SystemResource::User, Action::Delete)?;
        if p.user_id() == Some(user_id) {
            return Err(Error::PreconditionFailed {
                reason: "you cannot delete yourself".into(),
            });
        }
        let name = self.user_row(user_id).await?.username;
        let event = NewEvent::new("DELETE_USER", "user", name, "delete");
        if !self
            .with_events(vec![event], self.meta.delete_user(user_id))
            .await?
        {
            return Err(Error::NotFound {
                what: format!("user {user_id}"),
            });
        }
        self.access_changed();
        Ok(())
    }

    // ---- groups ------------------------------------------------------------------------------

    fn group_view(g: crate::meta::identity::GroupRow) -> UserGroup {
        UserGroup {
            id: g.id,
            group_name: g.name,
            group_type: g.group_type,
            ldap_group_dn: g.ldap_dn,
        }
    }

    pub async fn user_groups(&self, p: &Principal, q: &ListQuery) -> Result<Page<UserGroup>> {
        self.require_system(p, SystemResource::UserGroup, Action::List)?;
        let spec = q.parse(GROUP_FIELDS, &[("name", false)])?;
        let (rows, total) = self.meta.list_groups(&spec).await?;
        Ok(spec.page_of(rows.into_iter().map(Self::group_view).collect(), total))
    }

    pub async fn create_user_group(
        &self,
        p: &Principal,
        name: &str,
        group_type: i64,
        ldap_dn: &str,
    ) -> Result<UserGroup> {
        self.require_system(p, SystemResource::UserGroup, Action::Create)?;
        if name.is_empty() || name.len() > 255 || !(1..=3).contains(&group_type) {
            return Err(Error::BadRequest {
                reason:
                    "group_name is 1-255 characters and group_type 1 (LDAP), 2 (HTTP) or 3 (OIDC)"
                        .into(),
            });
        }
        if group_type == crate::auth::GROUP_TYPE_LDAP {
            self.check_ldap_group_dn(ldap_dn).await?;
        }
        Ok(Self::group_view(
            self.meta
                .create_group(name, group_type, ldap_dn, self.now_ms())
                .await?,
        ))
    }

    /// On a server that uses LDAP, an LDAP group needs a DN the directory knows (Harbor checks
    /// the same when such a group is created or added to a project). Without a directory, a
    /// group of type LDAP is a named group, as before.
    pub(crate) async fn check_ldap_group_dn(&self, dn: &str) -> Result<()> {
        #[cfg(feature = "ldap")]
        if let Some(directory) = &self.ldap {
            let dn = dn.trim();
            if dn.is_empty() {
                return Err(Error::BadRequest {
                    reason: "an LDAP group (group_type 1) needs its ldap_group_dn".into(),
                });
            }
            if directory.group_by_dn(dn).await?.is_none() {
                return Err(Error::BadRequest {
                    reason: format!("LDAP group DN {dn:?} is not found in the directory"),
                });
            }
        }
        #[cfg(not(feature = "ldap"))]
        let _ = dn;
        Ok(())
    }

    pub async fn user_group(&self, p: &Principal, id: i64) -> Result<UserGroup> {
        self.require_system(p, SystemResource::UserGroup, Action::Read)?;
        self.meta
            .group_by_id(id)
            .await?
            .map(Self::group_view)
            .ok_or_else(|| Error::NotFound {
                what: format!("group {id}"),
            })
    }

    pub async fn rename_user_group(&self, p: &Principal, id: i64, name: &str) -> Result<()> {
        self.require_system(p, SystemResource::UserGroup, Action::Update)?;
        if !self.meta.rename_group(id, name, self.now_ms()).await? {
            return Err(Error::NotFound {
                what: format!("group {id}"),
            });
        }
        Ok(())
    }

    pub async fn delete_user_group(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::UserGroup, Action::Delete)?;
        if !self.meta.delete_group(id).await? {
            return Err(Error::NotFound {
                what: format!("group {id}"),
            });
        }
        self.access_changed();
        Ok(())
    }
}
