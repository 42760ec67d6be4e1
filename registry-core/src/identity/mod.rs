//! Identity: who is calling and what they may do.
//!
//! - [`Principal`]: the caller, as a frontend authenticated it;
//! - local users ([`user`]), robot accounts ([`robot`]), external directories behind
//!   [`Authenticator`] (LDAP, OIDC);
//! - [`access`]: logins, the login throttle ([`throttle`], shared by every node through the
//!   metadata database), project access and the Docker token service;
//! - [`rbac`]: Harbor's permission matrix; [`token`]: the token service's JWTs.
//!
//! The crate root re-exports this module as `auth` (its earlier name).

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::Result;

pub mod access;
#[cfg(feature = "ldap")]
pub mod directory;
#[cfg(feature = "ldap")]
pub mod ldap;
#[cfg(feature = "oidc")]
pub mod oidc;
pub mod password;
pub mod rbac;
pub mod robot;
pub mod session;
pub mod throttle;
pub mod token;
pub mod user;

pub use rbac::{
    Access, Action, Effect, ProjectPerms, ProjectResource, RobotPermission, Role, SystemResource,
};

/// Robot account names start with this (Harbor's default `robot_name_prefix`).
pub const ROBOT_PREFIX: &str = "robot$";

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credentials: may pull from public projects and nothing else.
    Anonymous,
    User(UserIdentity),
    Robot(RobotIdentity),
    /// The embedding program itself (bindings, `berth` admin commands): every permission.
    /// Never produced from credentials.
    System,
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdentity {
    pub id: i64,
    pub username: String,
    pub sysadmin: bool,
    /// Groups the user belongs to (imported from LDAP/OIDC at login).
    pub group_ids: Vec<i64>,
}

/// An authenticated robot account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotIdentity {
    pub id: i64,
    /// Full name including the prefix (`robot$team+ci`).
    pub name: String,
    /// `system` or `project`.
    pub level: String,
    pub permissions: Vec<RobotPermission>,
}

impl Principal {
    /// Whether this is a robot Berth made for a pluggable scanner to pull `repo` (and nothing
    /// else): such a pull passes the project's pull policies, as Harbor's `scanner-pull` does.
    pub fn scanner_pulls(&self, repo: &str) -> bool {
        matches!(self, Self::Robot(r) if r.permissions.iter().any(|rp| rp.scanner_pulls(repo)))
    }

    /// The name used in tokens and audit entries.
    pub fn name(&self) -> &str {
        match self {
            Self::Anonymous => "anonymous",
            Self::User(u) => &u.username,
            Self::Robot(r) => &r.name,
            Self::System => "system",
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous)
    }

    /// System administrators and the embedding program.
    pub fn is_sysadmin(&self) -> bool {
        match self {
            Self::User(u) => u.sysadmin,
            Self::System => true,
            _ => false,
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Self::User(u) => Some(u.id),
            _ => None,
        }
    }
}

/// LDAP group type in `user_groups.group_type`.
pub const GROUP_TYPE_LDAP: i64 = 1;

/// A group as an external directory reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalGroup {
    /// 1 LDAP, 2 HTTP, 3 OIDC.
    pub group_type: i64,
    pub name: String,
    /// The LDAP group DN (empty for other kinds).
    pub dn: String,
}

/// A user as an external directory reports it after a successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// `ldap`, `oidc`.
    pub source: String,
    /// Stable id in the source: LDAP DN, OIDC `issuer|subject`.
    pub external_id: String,
    pub username: String,
    pub email: String,
    pub realname: String,
    pub groups: Vec<ExternalGroup>,
    /// The directory says this user administers Berth (member of the configured admin group).
    pub sysadmin: bool,
}

/// An external identity source checked with a user name and password (LDAP/AD, …).
/// Local users and robots are checked by the registry itself before any authenticator.
#[async_trait]
pub trait Authenticator: Send + Sync + Debug + 'static {
    /// `ldap`, `oidc`, … (the `users.source` value of users it creates).
    fn name(&self) -> &'static str;

    /// `Ok(None)` when the directory does not know the user or the password is wrong; errors
    /// only when the directory could not be asked.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<ExternalIdentity>>;
}
