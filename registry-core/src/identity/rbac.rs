//! Roles and the permission matrix (Harbor's resource × action model).
//!
//! Permissions are (resource, action) pairs in a scope: the system, or one project. Project
//! members hold one of five roles; public projects grant a fixed set to everyone, anonymous
//! included; system administrators hold everything; robots hold exactly the list they were
//! created with. Deny always wins over allow for robots' explicit `deny` entries.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    concat!("unknown ", stringify!($name), " {:?}"), s)))
            }
        }
    };
}

string_enum!(
    /// What can be done to a resource.
    Action {
        All = "*",
        Pull = "pull",
        Push = "push",
        Create = "create",
        Read = "read",
        Update = "update",
        Delete = "delete",
        List = "list",
        Operate = "operate",
        ScannerPull = "scanner-pull",
        Stop = "stop",
    }
);

string_enum!(
    /// Resources inside a project (`/project/<id>/<resource>`; `Project` is the project itself).
    ProjectResource {
        Project = "project",
        Accessory = "accessory",
        Artifact = "artifact",
        ArtifactAddition = "artifact-addition",
        ArtifactLabel = "artifact-label",
        Configuration = "configuration",
        ExportCve = "export-cve",
        ImmutableTag = "immutable-tag",
        Label = "label",
        Log = "log",
        Member = "member",
        Metadata = "metadata",
        NotificationPolicy = "notification-policy",
        PreheatPolicy = "preheat-policy",
        Quota = "quota",
        Repository = "repository",
        Robot = "robot",
        Sbom = "sbom",
        Scan = "scan",
        Scanner = "scanner",
        Tag = "tag",
        TagRetention = "tag-retention",
    }
);

string_enum!(
    /// Resources of the whole system (`/system/<resource>`).
    SystemResource {
        AuditLog = "audit-log",
        Catalog = "catalog",
        Project = "project",
        User = "user",
        UserGroup = "user-group",
        LdapUser = "ldap-user",
        Registry = "registry",
        Replication = "replication",
        ReplicationAdapter = "replication-adapter",
        ReplicationPolicy = "replication-policy",
        Distribution = "distribution",
        GarbageCollection = "garbage-collection",
        ScanAll = "scan-all",
        SystemVolumes = "system-volumes",
        PurgeAudit = "purge-audit",
        JobserviceMonitor = "jobservice-monitor",
        SecurityHub = "security-hub",
        PreheatInstance = "preheat-instance",
        Scanner = "scanner",
        Label = "label",
        Quota = "quota",
        Robot = "robot",
        Configuration = "configuration",
    }
);

/// The five project roles, with Harbor's ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    ProjectAdmin = 1,
    Developer = 2,
    Guest = 3,
    Maintainer = 4,
    LimitedGuest = 5,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::ProjectAdmin,
        Role::Maintainer,
        Role::Developer,
        Role::Guest,
        Role::LimitedGuest,
    ];

    pub fn from_id(id: i64) -> Result<Self> {
        Ok(match id {
            1 => Self::ProjectAdmin,
            2 => Self::Developer,
            3 => Self::Guest,
            4 => Self::Maintainer,
            5 => Self::LimitedGuest,
            _ => {
                return Err(Error::BadRequest {
                    reason: format!(
                        "role_id {id} is not one of 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer), 5 (limitedGuest)"
                    ),
                });
            }
        })
    }

    /// The role named `s` (`projectAdmin`, `developer`, … or Harbor's UI names).
    pub fn parse(s: &str) -> Result<Self> {
        Ok(
            match s.to_ascii_lowercase().replace(['_', '-', ' '], "").as_str() {
                "projectadmin" | "admin" => Self::ProjectAdmin,
                "developer" => Self::Developer,
                "guest" => Self::Guest,
                "maintainer" => Self::Maintainer,
                "limitedguest" => Self::LimitedGuest,
                _ => {
                    return Err(Error::BadRequest {
                        reason: format!("unknown role {s:?}"),
                    });
                }
            },
        )
    }

    pub const fn id(self) -> i64 {
        self as i64
    }

    /// Harbor's role name (`projectAdmin`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::ProjectAdmin => "projectAdmin",
            Self::Developer => "developer",
            Self::Guest => "guest",
            Self::Maintainer => "maintainer",
            Self::LimitedGuest => "limitedGuest",
        }
    }
}

/// A set of project permissions: one action bit mask per resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectPerms([u16; PROJECT_RESOURCES]);

const PROJECT_RESOURCES: usize = 22;
const _: () = assert!(ProjectResource::ALL.len() == PROJECT_RESOURCES);

const fn bit(a: Action) -> u16 {
    1 << (a as u16)
}

impl ProjectPerms {
    pub const NONE: Self = Self([0; PROJECT_RESOURCES]);
    pub const ALL: Self = Self([u16::MAX; PROJECT_RESOURCES]);

    pub fn allows(&self, r: ProjectResource, a: Action) -> bool {
        let m = self.0[r as usize];
        m & bit(a) != 0 || m & bit(Action::All) != 0
    }

    pub fn grant(&mut self, r: ProjectResource, a: Action) {
        if a == Action::All {
            self.0[r as usize] = u16::MAX;
        } else {
            self.0[r as usize] |= bit(a);
        }
    }

    pub fn revoke(&mut self, r: ProjectResource, a: Action) {
        if a == Action::All {
            self.0[r as usize] = 0;
        } else {
            self.0[r as usize] &= !bit(a);
        }
    }

    pub fn union(mut self, other: Self) -> Self {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|m| *m == 0)
    }

    /// Every (resource, action) held, `*` expanded.
    pub fn pairs(&self) -> Vec<(ProjectResource, Action)> {
        let mut out = Vec::new();
        for r in ProjectResource::ALL {
            for a in Action::ALL {
                if *a != Action::All && self.allows(*r, *a) {
                    out.push((*r, *a));
                }
            }
        }
        out
    }

    fn from_table(table: &[(ProjectResource, &[Action])]) -> Self {
        let mut p = Self::NONE;
        for (r, actions) in table {
            for a in *actions {
                p.grant(*r, *a);
            }
        }
        p
    }

    /// What a role grants in its project.
    pub fn of_role(role: Role) -> Self {
        Self::from_table(role_table(role))
    }

    /// What everyone, anonymous included, may do in a public project.
    pub fn public() -> Self {
        Self::from_table(PUBLIC)
    }
}

use Action::{
    Create as C, Delete as D, List as L, Operate as O, Pull, Push, Read as R, Stop as S,
    Update as U,
};
use ProjectResource as P;

const PUBLIC: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[R]),
    (P::Accessory, &[L]),
    (P::Artifact, &[L, R]),
    (P::ArtifactAddition, &[R]),
    (P::Label, &[L, R]),
    (P::Repository, &[L, Pull]),
    (P::Scan, &[R]),
    (P::Scanner, &[R]),
    (P::Tag, &[L]),
];

const PROJECT_ADMIN: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[D, R, U]),
    (P::Accessory, &[L]),
    (P::Artifact, &[C, D, L, R]),
    (P::ArtifactAddition, &[R]),
    (P::ArtifactLabel, &[C, D]),
    (P::Configuration, &[R, U]),
    (P::ExportCve, &[C, L, R]),
    (P::ImmutableTag, &[C, D, L, U]),
    (P::Label, &[C, D, L, R, U]),
    (P::Log, &[L]),
    (P::Member, &[C, D, L, R, U]),
    (P::Metadata, &[C, D, R, U]),
    (P::NotificationPolicy, &[C, D, L, R, U]),
    (P::PreheatPolicy, &[C, D, L, R, U]),
    (P::Quota, &[R]),
    (P::Repository, &[C, D, L, Pull, Push, R, U]),
    (P::Robot, &[C, D, L, R, U]),
    (P::Sbom, &[C, R, S]),
    (P::Scan, &[C, R, S]),
    (P::Scanner, &[C, R]),
    (P::Tag, &[C, D, L]),
    (P::TagRetention, &[C, D, L, O, R, U]),
];

const MAINTAINER: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[R]),
    (P::Accessory, &[L]),
    (P::Artifact, &[C, D, L, R]),
    (P::ArtifactAddition, &[R]),
    (P::ArtifactLabel, &[C, D]),
    (P::Configuration, &[R]),
    (P::ExportCve, &[C, L, R]),
    (P::ImmutableTag, &[C, D, L, U]),
    (P::Label, &[C, D, L, R, U]),
    (P::Member, &[L, R]),
    (P::Metadata, &[R]),
    (P::NotificationPolicy, &[L, R]),
    (P::Quota, &[R]),
    (P::Repository, &[C, D, L, Pull, Push, R, U]),
    (P::Robot, &[L, R]),
    (P::Sbom, &[C, R, S]),
    (P::Scan, &[C, R, S]),
    (P::Scanner, &[R]),
    (P::Tag, &[C, D, L]),
    (P::TagRetention, &[C, D, L, O, R, U]),
];

const DEVELOPER: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[R]),
    (P::Accessory, &[L]),
    (P::Artifact, &[C, L, R]),
    (P::ArtifactAddition, &[R]),
    (P::ArtifactLabel, &[C, D]),
    (P::Configuration, &[R]),
    (P::ExportCve, &[C, L, R]),
    (P::Label, &[L, R]),
    (P::Member, &[L, R]),
    (P::Quota, &[R]),
    (P::Repository, &[C, L, Pull, Push, R, U]),
    (P::Robot, &[L, R]),
    (P::Sbom, &[R]),
    (P::Scan, &[R]),
    (P::Scanner, &[R]),
    (P::Tag, &[C, L]),
    (P::TagRetention, &[C, D, L, O, R, U]),
];

const GUEST: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[R]),
    (P::Accessory, &[L]),
    (P::Artifact, &[L, R]),
    (P::ArtifactAddition, &[R]),
    (P::Configuration, &[R]),
    (P::Label, &[L, R]),
    (P::Member, &[L, R]),
    (P::Quota, &[R]),
    (P::Repository, &[L, Pull, R]),
    (P::Robot, &[L, R]),
    (P::Sbom, &[R]),
    (P::Scan, &[R]),
    (P::Scanner, &[R]),
    (P::Tag, &[L]),
];

const LIMITED_GUEST: &[(ProjectResource, &[Action])] = &[
    (P::Project, &[R]),
    (P::Accessory, &[L]),
    (P::Artifact, &[L, R]),
    (P::ArtifactAddition, &[R]),
    (P::Configuration, &[R]),
    (P::Quota, &[R]),
    (P::Repository, &[L, Pull, R]),
    (P::Sbom, &[R]),
    (P::Scan, &[R]),
    (P::Scanner, &[R]),
    (P::Tag, &[L]),
];

/// The matrix row set of one role (harbor.md §2.3).
pub fn role_table(role: Role) -> &'static [(ProjectResource, &'static [Action])] {
    match role {
        Role::ProjectAdmin => PROJECT_ADMIN,
        Role::Maintainer => MAINTAINER,
        Role::Developer => DEVELOPER,
        Role::Guest => GUEST,
        Role::LimitedGuest => LIMITED_GUEST,
    }
}

/// What a robot may be granted in a project (harbor.md §2.4).
pub fn grantable_project(r: ProjectResource, a: Action) -> bool {
    use ProjectResource::*;
    let allowed: &[Action] = match r {
        Accessory => &[L],
        Artifact => &[C, R, D, L],
        ArtifactAddition => &[R],
        ArtifactLabel => &[C, D],
        ExportCve => &[C, R],
        ImmutableTag => &[C, U, D, L],
        Label | Member | Metadata | NotificationPolicy | PreheatPolicy | TagRetention => {
            &[C, R, U, D, L]
        }
        Log => &[L],
        Project => &[R, U, D],
        Quota => &[R],
        // scanner-pull only with a repository, which only Berth's scanner robots hold.
        Repository => &[R, U, D, L, Pull, Push],
        Robot => &[C, R, D, L],
        Sbom | Scan => &[C, R, S],
        Scanner => &[C, R],
        Tag => &[C, D, L],
        Configuration => &[],
    };
    allowed.contains(&a)
}

/// What a system robot may be granted at system level (harbor.md §2.4).
pub fn grantable_system(r: SystemResource, a: Action) -> bool {
    use SystemResource::*;
    let allowed: &[Action] = match r {
        AuditLog => &[L],
        Catalog => &[R],
        GarbageCollection | PurgeAudit => &[C, R, U, L, S],
        JobserviceMonitor => &[L, S],
        Label | PreheatInstance | Registry | ReplicationPolicy | Scanner | User | UserGroup => {
            &[C, R, U, D, L]
        }
        LdapUser => &[C, L],
        Project => &[C, L],
        Quota => &[L, R, U],
        Replication => &[C, L, R],
        ReplicationAdapter => &[L],
        Robot => &[C, D, L, R],
        ScanAll => &[C, R, U, S],
        SecurityHub => &[L, R],
        SystemVolumes => &[R],
        Distribution | Configuration => &[],
    };
    allowed.contains(&a)
}

/// Allow or deny.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    #[default]
    Allow,
    Deny,
}

/// One robot permission entry (`{resource, action, effect}`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    pub resource: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "pull"))]
    pub action: Action,
    #[serde(default)]
    pub effect: Effect,
}

/// Robot permissions for one scope: `kind` `system` (namespace `/`) or `project` (namespace a
/// project name, or `*` for every project, present and future).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotPermission {
    pub kind: String,
    pub namespace: String,
    pub access: Vec<Access>,
    /// Berth: the one repository of `namespace` this entry is limited to. Only the robots
    /// Berth makes for a pluggable scanner's pull have it (`repository:scanner-pull`); it
    /// cannot be granted through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

impl RobotPermission {
    /// Check the entry against the grantable catalog.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::BadRequest { reason: m });
        if self.repository.is_some() {
            return bad("a permission limited to one repository cannot be granted".into());
        }
        match self.kind.as_str() {
            "system" => {
                if self.namespace != "/" {
                    return bad(format!(
                        "system permissions use namespace \"/\", not {:?}",
                        self.namespace
                    ));
                }
                for a in &self.access {
                    let Some(r) = SystemResource::parse(&a.resource) else {
                        return bad(format!("unknown system resource {:?}", a.resource));
                    };
                    if !grantable_system(r, a.action) {
                        return bad(format!(
                            "{}:{} cannot be granted to a robot",
                            a.resource, a.action
                        ));
                    }
                }
            }
            "project" => {
                if self.namespace.is_empty() {
                    return bad(
                        "project permissions need a namespace (a project name or \"*\")".into(),
                    );
                }
                for a in &self.access {
                    let Some(r) = ProjectResource::parse(&a.resource) else {
                        return bad(format!("unknown project resource {:?}", a.resource));
                    };
                    if !grantable_project(r, a.action) {
                        return bad(format!(
                            "{}:{} cannot be granted to a robot",
                            a.resource, a.action
                        ));
                    }
                }
            }
            k => {
                return bad(format!(
                    "permission kind must be \"system\" or \"project\", not {k:?}"
                ));
            }
        }
        Ok(())
    }

    /// The project permissions this entry grants (allow entries; push implies pull).
    pub fn project_perms(&self, effect: Effect) -> ProjectPerms {
        let mut p = ProjectPerms::NONE;
        for a in self.access.iter().filter(|a| a.effect == effect) {
            if let Some(r) = ProjectResource::parse(&a.resource) {
                p.grant(r, a.action);
                if effect == Effect::Allow
                    && r == ProjectResource::Repository
                    && a.action == Action::Push
                {
                    p.grant(r, Action::Pull);
                }
            }
        }
        p
    }

    /// Whether this entry lets a scanner pull `repo` (`repository:scanner-pull`, limited to it).
    pub fn scanner_pulls(&self, repo: &str) -> bool {
        self.kind == "project"
            && self.repository.as_deref() == Some(repo)
            && repo
                .split_once('/')
                .is_some_and(|(project, _)| project == self.namespace)
            && self.access.iter().any(|a| {
                a.resource == "repository"
                    && a.action == Action::ScannerPull
                    && a.effect == Effect::Allow
            })
    }

    pub fn system_allows(&self, r: SystemResource, a: Action) -> Option<Effect> {
        let mut out = None;
        for e in &self.access {
            if e.resource == r.as_str() && (e.action == a || e.action == Action::All) {
                if e.effect == Effect::Deny {
                    return Some(Effect::Deny);
                }
                out = Some(Effect::Allow);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_spot_checks() {
        let dev = ProjectPerms::of_role(Role::Developer);
        assert!(dev.allows(P::Repository, Push));
        assert!(!dev.allows(P::Repository, D), "a developer cannot delete");
        assert!(!dev.allows(P::Artifact, D));
        let guest = ProjectPerms::of_role(Role::Guest);
        assert!(!guest.allows(P::Repository, Push), "a guest cannot push");
        assert!(guest.allows(P::Member, L));
        let lg = ProjectPerms::of_role(Role::LimitedGuest);
        assert!(
            !lg.allows(P::Member, L),
            "a limited guest cannot list members"
        );
        assert!(ProjectPerms::public().allows(P::Repository, Pull));
        assert!(!ProjectPerms::public().allows(P::Repository, Push));
        let pa = ProjectPerms::of_role(Role::ProjectAdmin);
        assert!(pa.allows(P::Project, D) && pa.allows(P::Member, C));
        assert!(!ProjectPerms::of_role(Role::Maintainer).allows(P::Project, D));
        let mut star = ProjectPerms::NONE;
        star.grant(P::Tag, Action::All);
        assert!(star.allows(P::Tag, D));
    }

    #[test]
    fn robot_permissions_validate_against_the_catalog() {
        let p: RobotPermission = serde_json::from_str(
            r#"{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"push"}]}"#,
        )
        .unwrap();
        p.validate().unwrap();
        let perms = p.project_perms(Effect::Allow);
        assert!(perms.allows(P::Repository, Pull), "push implies pull");
        let bad: RobotPermission = serde_json::from_str(
            r#"{"kind":"project","namespace":"team","access":[{"resource":"configuration","action":"update"}]}"#,
        )
        .unwrap();
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<RobotPermission>(r#"{"kind":"project","namespace":"t","access":[{"resource":"repository","action":"fly"}]}"#).is_err());
    }
}
