//! Who may do what: credentials to principals (local users, robots, external directories),
//! per-project permissions, the `/v2` access check and the Docker token service.
//!
//! Permission answers are cached per (principal, project) for a short time; every identity or
//! membership change made through this process clears the cache at once, and changes made on
//! other nodes are seen within [`ACCESS_CACHE_TTL`].

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest as _;

use crate::auth::rbac::{Effect, ProjectPerms, ProjectResource, SystemResource};
use crate::auth::throttle::{self, IpNet};
use crate::auth::token::{self, Claims, TokenAccess, TokenKeys};
use crate::auth::{
    Action, Authenticator, ExternalIdentity, Principal, ROBOT_PREFIX, RobotIdentity,
    RobotPermission, UserIdentity, password,
};
use crate::error::{Error, Result};
use crate::meta::identity::{NewUser, ProjectRow, RobotRow, UserRow, Visibility};
use crate::oci::RepoName;
use crate::registry::Registry;

/// How long permission and credential answers may be reused by this process.
pub const ACCESS_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a verified password is remembered, so Basic auth on every request costs one hash
/// per interval. Kept as short as the permission cache: a password change, a deleted user or a
/// disabled robot on another node takes effect here within this time.
const LOGIN_CACHE_TTL: Duration = ACCESS_CACHE_TTL;
/// How long a verified token signature is remembered (who it names is re-checked every time).
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);
pub(crate) const TOKEN_KEY_SETTING: &str = "token_signing_key";

/// Who may create projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectCreation {
    #[default]
    Everyone,
    AdminOnly,
}

/// Access settings (Harbor's `token_expiration`, `project_creation_restriction`, …).
#[derive(Debug, Clone)]
pub struct AccessSettings {
    /// Lifetime of registry tokens.
    pub token_ttl: Duration,
    /// The token service name (`service=` and the `aud` claim).
    pub service: String,
    pub project_creation: ProjectCreation,
    /// Anyone may create their own local account.
    pub self_registration: bool,
    /// Peers whose `X-Forwarded-For` names the client ([`Registry::client_address`]).
    pub trusted_proxies: Vec<IpNet>,
    /// How users sign in: `db_auth`, `ldap_auth` or `oidc_auth` (reported by `systeminfo`).
    pub auth_mode: String,
    /// The URL clients reach the registry at (`https://registry.example.com`), when the
    /// operator configured one; otherwise the address a request came in on is reported.
    pub external_url: Option<String>,
    /// The URL this registry's own services reach it at (`http://127.0.0.1:5000`): given to
    /// scanner adapters whose registration sets `use_internal_addr` (and when no external URL
    /// is configured). The server sets it from its listen address unless configured.
    pub internal_url: Option<String>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(30 * 60),
            service: token::DEFAULT_SERVICE.to_owned(),
            project_creation: ProjectCreation::Everyone,
            self_registration: false,
            trusted_proxies: Vec::new(),
            auth_mode: "db_auth".to_owned(),
            external_url: None,
            internal_url: None,
        }
    }
}

/// A cached permission answer and when (registry clock, ms) it was stored.
type StampedAccess = (Option<Arc<ProjectAccess>>, i64);

/// The access state a [`Registry`] keeps in memory.
pub(crate) struct AccessState {
    pub(crate) settings: AccessSettings,
    pub(crate) authenticators: Vec<Arc<dyn Authenticator>>,
    /// sha256(name, secret, client) → principal (and, for robots, the expiry to re-check).
    /// Entries also carry when they were stored on the registry's clock: they are fresh for
    /// [`LOGIN_CACHE_TTL`] of that clock (the cache's own TTL only bounds memory).
    logins: moka::future::Cache<[u8; 32], (Principal, i64, i64)>,
    /// (principal key, project name) → the project and what the principal may do in it.
    /// With the registry-clock time it was stored; fresh for [`ACCESS_CACHE_TTL`] of it.
    perms: moka::future::Cache<(String, String), StampedAccess>,
    /// Token subject → principal.
    subjects: moka::future::Cache<String, Principal>,
    /// sha256(token) → its verified claims, so a client reusing its token (every request of a
    /// docker/podman pull) costs a hash instead of an ECDSA verification.
    tokens: moka::future::Cache<[u8; 32], Arc<Claims>>,
    keys: tokio::sync::OnceCell<Arc<TokenKeys>>,
}

impl std::fmt::Debug for AccessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl AccessState {
    pub(crate) fn new(
        settings: AccessSettings,
        authenticators: Vec<Arc<dyn Authenticator>>,
    ) -> Self {
        Self {
            settings,
            authenticators,
            logins: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(LOGIN_CACHE_TTL)
                .build(),
            perms: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ACCESS_CACHE_TTL)
                .build(),
            subjects: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ACCESS_CACHE_TTL)
                .build(),
            tokens: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(TOKEN_CACHE_TTL)
                .build(),
            keys: tokio::sync::OnceCell::new(),
        }
    }

    /// Forget every cached answer (after any identity, membership or project change).
    pub(crate) fn changed(&self) {
        self.logins.invalidate_all();
        self.perms.invalidate_all();
        self.subjects.invalidate_all();
        self.tokens.invalidate_all();
    }
}

/// A project and what the caller may do in it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectAccess {
    pub project: ProjectRow,
    pub perms: ProjectPerms,
}

impl ProjectAccess {
    pub fn allows(&self, r: ProjectResource, a: Action) -> bool {
        self.perms.allows(r, a)
    }
}

/// The `/v2` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoAction {
    Pull,
    Push,
    Delete,
}

impl RepoAction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
        }
    }

    fn action(self) -> Action {
        match self {
            Self::Pull => Action::Pull,
            Self::Push => Action::Push,
            Self::Delete => Action::Delete,
        }
    }
}

/// A token from the token service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
    /// Unix seconds.
    pub issued_at: i64,
    pub access: Vec<TokenAccess>,
}

/// The generic refusal: the same words whether the thing is missing or hidden.
pub(crate) fn denied() -> Error {
    Error::Denied {
        reason: "insufficient permissions for this resource".into(),
    }
}

/// Refusal for a caller that might do better with credentials.
pub(crate) fn refuse(p: &Principal) -> Error {
    if p.is_anonymous() {
        Error::Unauthorized
    } else {
        denied()
    }
}

fn principal_key(p: &Principal) -> String {
    match p {
        Principal::Anonymous => "a".into(),
        Principal::System => "s".into(),
        Principal::User(u) => format!("u{}:{}:{:?}", u.id, u.sysadmin, u.group_ids),
        Principal::Robot(r) => format!("r{}", r.id),
    }
}

fn robot_identity(row: &RobotRow) -> Result<RobotIdentity> {
    let permissions: Vec<RobotPermission> =
        serde_json::from_str(&row.permissions).map_err(|e| {
            Error::internal(format!("robot {} has unreadable permissions: {e}", row.id))
        })?;
    Ok(RobotIdentity {
        id: row.id,
        name: format!("{ROBOT_PREFIX}{}", row.name),
        level: row.level.clone(),
        permissions,
    })
}

impl Registry {
    /// The access settings this registry was built with.
    pub fn access_settings(&self) -> &AccessSettings {
        &self.access.settings
    }

    /// Clear cached permission answers (after identity changes).
    pub(crate) fn access_changed(&self) {
        self.access.changed();
    }

    // ---- credentials ------------------------------------------------------------------------

    /// Check a user name (or `robot$…` name) and password/secret. Wrong passwords and unknown
    /// names fail alike (`UNAUTHORIZED`, same work done). Failures are counted in the metadata
    /// database per account and per client (an address), so every node shares them; a guessing
    /// client gets `TOOMANYREQUESTS` for a while that grows with each failure ([`throttle`]).
    pub async fn login(&self, username: &str, secret: &str, client: &str) -> Result<Principal> {
        let now = self.now_ms();
        let key: [u8; 32] = {
            let mut h = sha2::Sha256::new();
            h.update(username.as_bytes());
            h.update([0]);
            h.update(secret.as_bytes());
            // Per client: a cached success never answers another address, whose attempts go
            // through the throttle (a hit would tell a blocked guesser that it guessed right).
            h.update([0]);
            h.update(client.as_bytes());
            h.finalize().into()
        };
        if let Some((p, expires, at)) = self.access.logins.get(&key).await
            && (expires < 0 || expires > now)
            && now - at < LOGIN_CACHE_TTL.as_millis() as i64
        {
            return Ok(p);
        }
        let keys = throttle::keys(username, client);
        let counters = self.meta.login_failures(&keys).await?;
        if let Some(until) = throttle::blocked_until(&keys, &counters, now) {
            tracing::warn!(
                client,
                user = username,
                wait_ms = until - now,
                "login throttled after repeated failures"
            );
            return Err(Error::TooManyRequests);
        }
        match self.check_credentials(username, secret).await? {
            Some((p, expires)) => {
                if counters.iter().any(|(k, _, _)| *k == keys[0]) {
                    self.meta.clear_login_failures(&keys[0]).await?;
                }
                self.access
                    .logins
                    .insert(key, (p.clone(), expires, now))
                    .await;
                Ok(p)
            }
            None => {
                self.meta
                    .record_login_failure(&keys, now, now - throttle::WINDOW_MS)
                    .await?;
                tracing::info!(client, user = username, "login failed");
                Err(Error::Unauthorized)
            }
        }
    }

    /// The client of a request that came from `peer`: `X-Forwarded-For` is believed only when
    /// `peer` is one of the configured trusted proxies.
    pub fn client_address(
        &self,
        peer: std::net::IpAddr,
        forwarded_for: Option<&str>,
    ) -> std::net::IpAddr {
        throttle::client_address(peer, forwarded_for, &self.access.settings.trusted_proxies)
    }

    async fn check_credentials(
        &self,
        username: &str,
        secret: &str,
    ) -> Result<Option<(Principal, i64)>> {
        if let Some(name) = username.strip_prefix(ROBOT_PREFIX) {
            let Some(row) = self.meta.robot_by_name(name).await? else {
                password::verify(secret, password::DUMMY_HASH).await;
                return Ok(None);
            };
            if !password::verify(secret, &row.secret_hash).await || row.disabled {
                return Ok(None);
            }
            if row.expires_at >= 0 && row.expires_at <= self.now_ms() {
                return Ok(None);
            }
            return Ok(Some((
                Principal::Robot(robot_identity(&row)?),
                row.expires_at,
            )));
        }
        if let Some(user) = self.meta.user_by_name(username).await? {
            let stored = user
                .password_hash
                .as_deref()
                .or(user.cli_secret_hash.as_deref());
            if let Some(hash) = stored {
                if password::verify(secret, hash).await {
                    return Ok(Some((self.user_principal(&user).await?, -1)));
                }
                if user.source == "local" {
                    return Ok(None);
                }
            }
        }
        for a in &self.access.authenticators {
            if let Some(ext) = a.authenticate(username, secret).await? {
                let user = self.onboard(ext).await?;
                return Ok(Some((self.user_principal(&user).await?, -1)));
            }
        }
        if self.access.authenticators.is_empty() {
            // Same cost as a wrong password, so timing does not reveal which names exist.
            password::verify(secret, password::DUMMY_HASH).await;
        }
        Ok(None)
    }

    pub(crate) async fn user_principal(&self, user: &UserRow) -> Result<Principal> {
        Ok(Principal::User(UserIdentity {
            id: user.id,
            username: user.username.clone(),
            sysadmin: user.sysadmin,
            group_ids: self.meta.user_group_ids(user.id).await?,
        }))
    }

    /// Create or refresh the local record of a user an external directory vouched for,
    /// with their groups.
    pub async fn onboard(&self, ext: ExternalIdentity) -> Result<UserRow> {
        let now = self.now_ms();
        let user = match self
            .meta
            .user_by_external(&ext.source, &ext.external_id)
            .await?
        {
            Some(u) => u,
            None => {
                if let Some(existing) = self.meta.user_by_name(&ext.username).await? {
                    tracing::warn!(user = %ext.username, source = %ext.source, existing = %existing.source,
                        "external login for a name owned by another identity source; refused");
                    return Err(Error::Unauthorized);
                }
                let new = NewUser {
                    username: ext.username.clone(),
                    email: ext.email.clone(),
                    realname: ext.realname.clone(),
                    source: ext.source.clone(),
                    external_id: Some(ext.external_id.clone()),
                    ..NewUser::default()
                };
                match self.meta.create_user(&new, now).await {
                    Ok(u) => u,
                    Err(Error::AlreadyExists { .. }) => self
                        .meta
                        .user_by_external(&ext.source, &ext.external_id)
                        .await?
                        .ok_or(Error::Unauthorized)?,
                    Err(e) => return Err(e),
                }
            }
        };
        if user.email != ext.email || user.realname != ext.realname {
            self.meta
                .update_user_profile(user.id, &ext.email, &ext.realname, &user.comment, now)
                .await?;
        }
        if ext.sysadmin != user.sysadmin {
            self.meta.set_sysadmin(user.id, ext.sysadmin, now).await?;
        }
        let groups: Vec<(i64, String, String)> = ext
            .groups
            .iter()
            .map(|g| (g.group_type, g.name.clone(), g.dn.clone()))
            .collect();
        self.meta.set_user_groups(user.id, &groups, now).await?;
        self.access_changed();
        self.meta
            .user_by_id(user.id)
            .await?
            .ok_or(Error::Unauthorized)
    }

    // ---- permissions -------------------------------------------------------------------------

    /// The project named `name` and what `p` may do there; `None` when it does not exist or
    /// `p` may not even read it.
    pub async fn project_access(
        &self,
        p: &Principal,
        name: &str,
    ) -> Result<Option<Arc<ProjectAccess>>> {
        let key = (principal_key(p), name.to_owned());
        let now = self.now_ms();
        if let Some((hit, at)) = self.access.perms.get(&key).await
            && now - at < ACCESS_CACHE_TTL.as_millis() as i64
        {
            return Ok(hit);
        }
        let found = match self.meta.project_by_name(name).await? {
            Some(project) => {
                let perms = self.perms_in(p, &project).await?;
                perms
                    .allows(ProjectResource::Project, Action::Read)
                    .then(|| Arc::new(ProjectAccess { project, perms }))
            }
            None => None,
        };
        self.access.perms.insert(key, (found.clone(), now)).await;
        Ok(found)
    }

    async fn perms_in(&self, p: &Principal, project: &ProjectRow) -> Result<ProjectPerms> {
        let public = if project.public {
            ProjectPerms::public()
        } else {
            ProjectPerms::NONE
        };
        Ok(match p {
            Principal::System => ProjectPerms::ALL,
            Principal::User(u) if u.sysadmin => ProjectPerms::ALL,
            Principal::User(u) => {
                let mut perms = public;
                for role in self
                    .meta
                    .member_roles(project.id, u.id, &u.group_ids)
                    .await?
                {
                    if let Ok(role) = crate::auth::Role::from_id(role) {
                        perms = perms.union(ProjectPerms::of_role(role));
                    }
                }
                perms
            }
            Principal::Anonymous => public,
            Principal::Robot(r) => {
                let applies = |rp: &&RobotPermission| {
                    rp.kind == "project" && (rp.namespace == project.name || rp.namespace == "*")
                };
                let mut perms = public;
                for rp in r.permissions.iter().filter(applies) {
                    perms = perms.union(rp.project_perms(Effect::Allow));
                }
                for rp in r.permissions.iter().filter(applies) {
                    for (res, act) in rp.project_perms(Effect::Deny).pairs() {
                        perms.revoke(res, act);
                    }
                }
                if !perms.is_empty() {
                    // A robot that holds anything in a project can see the project itself.
                    perms.grant(ProjectResource::Project, Action::Read);
                }
                perms
            }
        })
    }

    /// The project (by name, or by id when `name_or_id` is a number and `is_name` is false)
    /// if `p` may read it; `NOT_FOUND` otherwise, whether it is missing or hidden.
    pub async fn visible_project(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<Arc<ProjectAccess>> {
        let name = match (is_name, name_or_id.parse::<i64>()) {
            (false, Ok(id)) => self.meta.project_by_id(id).await?.map(|p| p.name),
            _ => Some(name_or_id.to_owned()),
        };
        let name: Option<String> = name;
        let not_found = || Error::NotFound {
            what: format!("project {name_or_id}"),
        };
        let Some(name) = name else {
            return Err(not_found());
        };
        self.project_access(p, &name).await?.ok_or_else(not_found)
    }

    /// `visible_project` then require `action` on `resource` (403/401 when visible but not allowed).
    pub async fn require_project(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        resource: ProjectResource,
        action: Action,
    ) -> Result<Arc<ProjectAccess>> {
        let access = self.visible_project(p, name_or_id, is_name).await?;
        if access.allows(resource, action) {
            Ok(access)
        } else {
            Err(refuse(p))
        }
    }

    /// Require a system-level permission.
    pub fn require_system(
        &self,
        p: &Principal,
        resource: SystemResource,
        action: Action,
    ) -> Result<()> {
        if self.system_allows(p, resource, action) {
            Ok(())
        } else {
            Err(refuse(p))
        }
    }

    pub(crate) fn system_allows(
        &self,
        p: &Principal,
        resource: SystemResource,
        action: Action,
    ) -> bool {
        match p {
            Principal::System => true,
            Principal::User(u) if u.sysadmin => true,
            Principal::User(_) => match (resource, action) {
                (SystemResource::Project, Action::Create) => {
                    self.access.settings.project_creation == ProjectCreation::Everyone
                }
                (SystemResource::Project, Action::List) => true,
                _ => false,
            },
            Principal::Robot(r) => {
                let mut verdict = None;
                for rp in r.permissions.iter().filter(|rp| rp.kind == "system") {
                    match rp.system_allows(resource, action) {
                        Some(Effect::Deny) => return false,
                        Some(Effect::Allow) => verdict = Some(true),
                        None => {}
                    }
                }
                verdict.unwrap_or(false)
            }
            Principal::Anonymous => false,
        }
    }

    /// Which projects `p` may see in listings.
    pub(crate) async fn visibility(&self, p: &Principal) -> Result<Visibility> {
        Ok(match p {
            Principal::System => Visibility {
                all: true,
                ..Visibility::default()
            },
            Principal::User(u) if u.sysadmin => Visibility {
                all: true,
                ..Visibility::default()
            },
            Principal::User(u) => Visibility {
                public: true,
                member: Some((u.id, u.group_ids.clone())),
                ..Visibility::default()
            },
            Principal::Anonymous => Visibility {
                public: true,
                ..Visibility::default()
            },
            Principal::Robot(r) => {
                let mut vis = Visibility {
                    public: true,
                    ..Visibility::default()
                };
                for rp in r.permissions.iter().filter(|rp| rp.kind == "project") {
                    if rp.namespace == "*" {
                        vis.all = true;
                    } else if let Some(project) = self.meta.project_by_name(&rp.namespace).await? {
                        vis.projects.push(project.id);
                    }
                }
                vis
            }
        })
    }

    // ---- the /v2 API -------------------------------------------------------------------------

    /// May `p` (holding `token`, if it came with one) do `action` on `repo`? Anonymous callers
    /// are told `UNAUTHORIZED` (so clients fetch credentials); others `DENIED`, with the same
    /// words whether the project is missing or hidden.
    pub async fn authorize_repo(
        &self,
        p: &Principal,
        token: Option<&Claims>,
        repo: &RepoName,
        action: RepoAction,
    ) -> Result<()> {
        let Some(access) = self.project_access(p, repo.project()).await? else {
            if action == RepoAction::Push && p.is_sysadmin() {
                return Err(crate::registry::no_project(repo));
            }
            return Err(refuse(p));
        };
        if action == RepoAction::Push {
            crate::registry::require_project_segment(repo)?;
        }
        // A scanner's robot pulls the one repository it was made for.
        let scanner_pull = action == RepoAction::Pull && p.scanner_pulls(repo.as_str());
        if !scanner_pull && !access.allows(ProjectResource::Repository, action.action()) {
            return Err(refuse(p));
        }
        if let Some(claims) = token {
            if claims.iat < access.project.created_at / 1000 {
                // Issued before the project (re)appeared under this name.
                return Err(Error::Unauthorized);
            }
            let granted = claims.access.iter().any(|a| {
                a.kind == "repository"
                    && a.name == repo.as_str()
                    && a.actions.iter().any(|x| x == action.as_str() || x == "*")
            });
            if !granted {
                // Allowed, but not by this token: the client fetches one for this scope.
                return Err(Error::Unauthorized);
            }
        }
        Ok(())
    }

    /// `/v2/_catalog` is for system administrators (and robots granted `catalog:read`).
    pub fn authorize_catalog(&self, p: &Principal) -> Result<()> {
        self.require_system(p, SystemResource::Catalog, Action::Read)
    }

    // ---- token service -----------------------------------------------------------------------

    async fn token_keys(&self) -> Result<Arc<TokenKeys>> {
        self.access
            .keys
            .get_or_try_init(|| async {
                // Sealed at rest: a copy of the database cannot mint tokens.
                let fresh = self.secrets.seal(&TokenKeys::generate_pkcs8_hex());
                let stored = self.meta.init_setting(TOKEN_KEY_SETTING, &fresh).await?;
                Ok(Arc::new(TokenKeys::from_pkcs8_hex(
                    &self.secrets.open(&stored)?,
                )?))
            })
            .await
            .cloned()
    }

    /// Issue a registry token for `scopes` (`repository:<name>:pull,push`, `registry:catalog:*`).
    /// As Harbor does, each repository scope is granted every action `p` may do there now (pull,
    /// push, delete), whatever was asked, so a client that asked for pull can go on to push
    /// without a second round trip; scopes it may do nothing in are granted with no actions. Anonymous callers without a scope get
    /// `UNAUTHORIZED` (that is how `docker login` checks credentials).
    pub async fn issue_token(
        &self,
        p: &Principal,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<IssuedToken> {
        let settings = &self.access.settings;
        if let Some(s) = service
            && s != settings.service
        {
            return Err(Error::BadRequest {
                reason: format!(
                    "unknown service {s:?}; this registry is {:?}",
                    settings.service
                ),
            });
        }
        let requested: Vec<&str> = scopes
            .iter()
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
            .collect();
        if requested.is_empty() && p.is_anonymous() {
            return Err(Error::Unauthorized);
        }
        let mut access = Vec::new();
        for scope in requested {
            let (kind, rest) = scope.split_once(':').ok_or_else(|| Error::BadRequest {
                reason: format!("malformed scope {scope:?}"),
            })?;
            let (name, actions) = rest.rsplit_once(':').ok_or_else(|| Error::BadRequest {
                reason: format!("malformed scope {scope:?}"),
            })?;
            let asked: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            let granted: Vec<String> = match kind {
                "repository" => match RepoName::parse(name) {
                    Ok(repo) => self.granted_repo_actions(p, &repo).await?,
                    Err(_) => Vec::new(),
                },
                "registry" if name == "catalog" => {
                    if self.authorize_catalog(p).is_ok() && asked.contains(&"*") {
                        vec!["*".to_owned()]
                    } else {
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            };
            access.push(TokenAccess {
                kind: kind.to_owned(),
                name: name.to_owned(),
                actions: granted,
            });
        }
        let now_s = self.now_ms() / 1000;
        let ttl = settings.token_ttl.as_secs();
        let claims = Claims {
            iss: token::ISSUER.to_owned(),
            sub: p.name().to_owned(),
            aud: vec![settings.service.clone()],
            exp: now_s + ttl as i64,
            nbf: now_s,
            iat: now_s,
            jti: password::random_secret(16),
            access: access.clone(),
        };
        let token = self.token_keys().await?.sign(&claims)?;
        Ok(IssuedToken {
            token,
            expires_in: ttl,
            issued_at: now_s,
            access,
        })
    }

    async fn granted_repo_actions(&self, p: &Principal, repo: &RepoName) -> Result<Vec<String>> {
        let Some(access) = self.project_access(p, repo.project()).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (name, action) in [
            ("pull", Action::Pull),
            ("push", Action::Push),
            ("delete", Action::Delete),
        ] {
            if access.allows(ProjectResource::Repository, action)
                || action == Action::Pull && p.scanner_pulls(repo.as_str())
            {
                out.push(name.to_owned());
            }
        }
        Ok(out)
    }

    /// Verify a registry token and find who it was issued to (who must still exist and be
    /// enabled). Any failure is `UNAUTHORIZED`.
    pub async fn verify_token(&self, token: &str) -> Result<(Principal, Arc<Claims>)> {
        let now_s = self.now_ms() / 1000;
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let claims = match self.access.tokens.get(&key).await {
            // Verified before; only time can have changed.
            Some(c) if c.exp.saturating_add(30) >= now_s => c,
            Some(_) => return Err(Error::Unauthorized),
            None => {
                let keys = self.token_keys().await?;
                let c = Arc::new(keys.verify(token, &self.access.settings.service, now_s, 30)?);
                self.access.tokens.insert(key, c.clone()).await;
                c
            }
        };
        let principal = match self.access.subjects.get(&claims.sub).await {
            Some(p) => p,
            None => {
                let p = self
                    .subject_principal(&claims.sub)
                    .await?
                    .ok_or(Error::Unauthorized)?;
                self.access
                    .subjects
                    .insert(claims.sub.clone(), p.clone())
                    .await;
                p
            }
        };
        Ok((principal, claims))
    }

    async fn subject_principal(&self, sub: &str) -> Result<Option<Principal>> {
        if sub == "anonymous" {
            return Ok(Some(Principal::Anonymous));
        }
        if let Some(name) = sub.strip_prefix(ROBOT_PREFIX) {
            let Some(row) = self.meta.robot_by_name(name).await? else {
                return Ok(None);
            };
            if row.disabled || (row.expires_at >= 0 && row.expires_at <= self.now_ms()) {
                return Ok(None);
            }
            return Ok(Some(Principal::Robot(robot_identity(&row)?)));
        }
        match self.meta.user_by_name(sub).await? {
            Some(u) => Ok(Some(self.user_principal(&u).await?)),
            None => Ok(None),
        }
    }

    // ---- first start -------------------------------------------------------------------------

    /// Make sure the `admin` user and the public `library` project exist. The admin password
    /// is `admin_password` when given, else generated; a generated one is returned (only on the
    /// start that created the user) so the caller can show it once.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> Result<Option<String>> {
        let now = self.now_ms();
        let mut generated = None;
        let admin = match self.meta.user_by_name("admin").await? {
            Some(u) => u,
            None => {
                let pw = match admin_password {
                    Some(pw) => {
                        password::check_secret_strength(pw)?;
                        pw.to_owned()
                    }
                    None => {
                        let pw = password::random_secret(20);
                        generated = Some(pw.clone());
                        pw
                    }
                };
                let new = NewUser {
                    username: "admin".into(),
                    realname: "system admin".into(),
                    comment: "created on first start".into(),
                    password_hash: Some(password::hash(&pw).await?),
                    sysadmin: true,
                    source: "local".into(),
                    ..NewUser::default()
                };
                match self.meta.create_user(&new, now).await {
                    Ok(u) => u,
                    Err(Error::AlreadyExists { .. }) => {
                        generated = None;
                        self.meta
                            .user_by_name("admin")
                            .await?
                            .ok_or_else(|| Error::internal("admin user vanished"))?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if self.meta.project_by_name("library").await?.is_none() {
            let meta = [("public".to_owned(), "true".to_owned())];
            match self
                .meta
                .create_project("library", Some(admin.id), true, &meta, -1, now)
                .await
            {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(generated)
    }
}
