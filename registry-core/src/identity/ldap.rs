//! LDAP / Active Directory as an identity source (Harbor's `ldap_auth`).
//!
//! A login binds with the search DN, finds exactly one entry whose `uid` attribute (Harbor's
//! `ldap_uid`, `cn` by default) equals the user name under the base DN, then binds as that
//! entry with the password. Groups come from the membership attribute on the user entry
//! (`memberOf`) and from a search of the group base DN for groups listing the user; membership
//! of the admin group DN makes the user a system administrator.
//!
//! Every value put into a filter is escaped (RFC 4515), and an empty password never reaches
//! the server (an LDAP simple bind with a DN and no password is an anonymous bind that
//! "succeeds").

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions};

pub use super::GROUP_TYPE_LDAP;
use super::{Authenticator, ExternalGroup, ExternalIdentity};
use crate::error::{Error, Result};

/// Result code for wrong credentials.
const RC_INVALID_CREDENTIALS: u32 = 49;
/// Result codes that still carry usable entries (size / time limit exceeded).
const RC_PARTIAL: [u32; 2] = [3, 4];
/// Most entries one directory search returns.
const SEARCH_LIMIT: i32 = 500;

/// How deep a search goes (Harbor's `ldap_scope`: 0 base, 1 one level, 2 subtree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LdapScope {
    Base,
    OneLevel,
    #[default]
    Subtree,
}

impl LdapScope {
    /// Harbor's numeric setting.
    pub fn harbor(self) -> i64 {
        match self {
            Self::Base => 0,
            Self::OneLevel => 1,
            Self::Subtree => 2,
        }
    }

    /// From Harbor's numeric setting.
    pub fn from_harbor(n: i64) -> Result<Self> {
        match n {
            0 => Ok(Self::Base),
            1 => Ok(Self::OneLevel),
            2 => Ok(Self::Subtree),
            _ => Err(Error::BadRequest {
                reason: format!(
                    "ldap scope must be 0 (base), 1 (one level) or 2 (subtree), not {n}"
                ),
            }),
        }
    }

    fn scope(self) -> Scope {
        match self {
            Self::Base => Scope::Base,
            Self::OneLevel => Scope::OneLevel,
            Self::Subtree => Scope::Subtree,
        }
    }
}

/// Directory settings (Harbor's `ldap_*` configuration keys).
#[derive(Clone)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636` (`ldap_url`).
    pub url: String,
    /// DN to bind as for searches; empty for an anonymous search bind (`ldap_search_dn`).
    pub search_dn: String,
    /// `ldap_search_password`. Never logged.
    pub search_password: String,
    /// Where users live (`ldap_base_dn`).
    pub base_dn: String,
    /// Extra filter ANDed to user searches, e.g. `(objectClass=person)` (`ldap_filter`).
    pub filter: String,
    /// The attribute that holds the login name (`ldap_uid`, default `cn`).
    pub uid_attribute: String,
    /// `ldap_scope`.
    pub scope: LdapScope,
    /// Connect and per-operation time limit (`ldap_timeout`, default 5 s).
    pub timeout: Duration,
    /// Check the server certificate on `ldaps://` (`ldap_verify_cert`).
    pub verify_cert: bool,
    /// Where groups live; empty turns group search off (`ldap_group_base_dn`).
    pub group_base_dn: String,
    /// Extra filter for groups, e.g. `(objectClass=groupOfNames)` (`ldap_group_search_filter`).
    pub group_filter: String,
    /// The attribute holding a group's name (`ldap_group_attribute_name`, default `cn`).
    pub group_name_attribute: String,
    /// `ldap_group_search_scope`.
    pub group_scope: LdapScope,
    /// Members of this group are system administrators (`ldap_group_admin_dn`).
    pub group_admin_dn: String,
    /// Attribute on the user entry listing group DNs (`ldap_group_membership_attribute`,
    /// default `memberof`); empty to not read it.
    pub membership_attribute: String,
    /// Attribute on group entries that lists member DNs (`member`; `uniqueMember` for
    /// `groupOfUniqueNames`).
    pub group_member_attribute: String,
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            search_dn: String::new(),
            search_password: String::new(),
            base_dn: String::new(),
            filter: String::new(),
            uid_attribute: "cn".into(),
            scope: LdapScope::Subtree,
            timeout: Duration::from_secs(5),
            verify_cert: true,
            group_base_dn: String::new(),
            group_filter: String::new(),
            group_name_attribute: "cn".into(),
            group_scope: LdapScope::Subtree,
            group_admin_dn: String::new(),
            membership_attribute: "memberof".into(),
            group_member_attribute: "member".into(),
        }
    }
}

impl fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("search_dn", &self.search_dn)
            .field(
                "search_password",
                &if self.search_password.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("base_dn", &self.base_dn)
            .field("filter", &self.filter)
            .field("uid_attribute", &self.uid_attribute)
            .field("scope", &self.scope)
            .field("timeout", &self.timeout)
            .field("verify_cert", &self.verify_cert)
            .field("group_base_dn", &self.group_base_dn)
            .field("group_filter", &self.group_filter)
            .field("group_name_attribute", &self.group_name_attribute)
            .field("group_scope", &self.group_scope)
            .field("group_admin_dn", &self.group_admin_dn)
            .field("membership_attribute", &self.membership_attribute)
            .field("group_member_attribute", &self.group_member_attribute)
            .finish()
    }
}

/// A directory user as `/ldap/users/search` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUser {
    pub username: String,
    pub email: String,
    pub realname: String,
    pub dn: String,
}

/// Escape a value for use inside an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\` and
/// NUL become `\2a`, `\28`, `\29`, `\5c`, `\00`.
pub fn escape_filter_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// A configured filter as a parenthesised filter (Harbor accepts `objectClass=person` too).
fn normalize_filter(f: &str) -> String {
    let f = f.trim();
    if f.is_empty() || f.starts_with('(') {
        f.to_owned()
    } else {
        format!("({f})")
    }
}

/// `(&<extra><term>)`, or just `<term>` without an extra filter.
fn and_filter(extra: &str, term: &str) -> String {
    let extra = normalize_filter(extra);
    if extra.is_empty() {
        term.to_owned()
    } else {
        format!("(&{extra}{term})")
    }
}

/// DNs compared the way directories do for our purposes: case-insensitive, spaces around the
/// RDN separators ignored.
fn dn_key(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.trim().to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(",")
}

fn dn_is_under(dn: &str, base: &str) -> bool {
    let (dn, base) = (dn_key(dn), dn_key(base));
    dn == base || dn.ends_with(&format!(",{base}"))
}

/// The value of the first RDN (`cn=devs,ou=groups,…` → `devs`).
fn first_rdn_value(dn: &str) -> String {
    dn.split(',')
        .next()
        .and_then(|rdn| rdn.split_once('='))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// First value of an attribute, looked up case-insensitively.
fn attr<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

fn attr_all<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> &'a [String] {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .unwrap_or(&[])
}

fn unavailable(what: &str, e: impl fmt::Display) -> Error {
    Error::Unavailable {
        reason: format!("LDAP {what}: {e}"),
    }
}

/// Users and groups from an LDAP directory.
pub struct LdapAuthenticator {
    cfg: LdapConfig,
}

impl fmt::Debug for LdapAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapAuthenticator")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl LdapAuthenticator {
    /// Check the settings (no connection is made; see [`Self::ping`]).
    pub fn new(mut cfg: LdapConfig) -> Result<Self> {
        let bad = |reason: String| Error::BadRequest { reason };
        let url =
            url::Url::parse(&cfg.url).map_err(|e| bad(format!("ldap url {:?}: {e}", cfg.url)))?;
        if !matches!(url.scheme(), "ldap" | "ldaps") {
            return Err(bad(format!(
                "ldap url must start with ldap:// or ldaps://, not {:?}",
                cfg.url
            )));
        }
        if cfg.base_dn.trim().is_empty() {
            return Err(bad("ldap base DN is required".into()));
        }
        if cfg.uid_attribute.trim().is_empty() {
            cfg.uid_attribute = "cn".into();
        }
        if cfg.group_name_attribute.trim().is_empty() {
            cfg.group_name_attribute = "cn".into();
        }
        if cfg.group_member_attribute.trim().is_empty() {
            cfg.group_member_attribute = "member".into();
        }
        if cfg.timeout.is_zero() {
            cfg.timeout = Duration::from_secs(5);
        }
        for (name, f) in [
            ("ldap filter", &cfg.filter),
            ("ldap group filter", &cfg.group_filter),
        ] {
            let f = normalize_filter(f);
            if !f.is_empty() && ldap3::parse_filter(&f).is_err() {
                return Err(bad(format!("{name} {f:?} is not a valid LDAP filter")));
            }
        }
        Ok(Self { cfg })
    }

    pub fn config(&self) -> &LdapConfig {
        &self.cfg
    }

    /// Open a connection, bound with the search DN.
    async fn search_conn(&self) -> Result<Ldap> {
        let mut ldap = self.connect().await?;
        let res = ldap
            .with_timeout(self.cfg.timeout)
            .simple_bind(&self.cfg.search_dn, &self.cfg.search_password)
            .await
            .map_err(|e| unavailable(&format!("search bind as {:?}", self.cfg.search_dn), e))?;
        if res.rc != 0 {
            return Err(unavailable(
                &format!("search bind as {:?}", self.cfg.search_dn),
                format!("result code {} {}", res.rc, res.text),
            ));
        }
        Ok(ldap)
    }

    async fn connect(&self) -> Result<Ldap> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.cfg.timeout)
            .set_no_tls_verify(!self.cfg.verify_cert);
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.cfg.url)
            .await
            .map_err(|e| unavailable(&format!("connecting to {}", self.cfg.url), e))?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    async fn search(
        &self,
        ldap: &mut Ldap,
        base: &str,
        scope: LdapScope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>> {
        let res = ldap
            .with_timeout(self.cfg.timeout)
            .with_search_options(SearchOptions::new().sizelimit(SEARCH_LIMIT))
            .search(base, scope.scope(), filter, attrs.to_vec())
            .await
            .map_err(|e| unavailable(&format!("search under {base:?} for {filter:?}"), e))?;
        let (entries, result) = (res.0, res.1);
        match result.rc {
            0 => {}
            rc if RC_PARTIAL.contains(&rc) => {
                tracing::warn!(
                    base,
                    filter,
                    rc,
                    "LDAP search returned a partial result (size or time limit)"
                );
            }
            // noSuchObject: the base DN does not exist, so nothing matches.
            32 => return Ok(Vec::new()),
            rc => {
                return Err(unavailable(
                    &format!("search under {base:?} for {filter:?}"),
                    format!("result code {rc} {}", result.text),
                ));
            }
        }
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect())
    }

    /// Check that the directory answers and the search DN can bind (Harbor's `/ldap/ping`).
    pub async fn ping(&self) -> Result<()> {
        let mut ldap = self.search_conn().await?;
        let _ = ldap.unbind().await;
        Ok(())
    }

    fn user_attrs(&self) -> Vec<&str> {
        let mut a = vec![self.cfg.uid_attribute.as_str(), "mail", "cn", "displayName"];
        if !self.cfg.membership_attribute.is_empty() {
            a.push(self.cfg.membership_attribute.as_str());
        }
        a
    }

    fn to_user(&self, e: &SearchEntry, fallback_name: &str) -> LdapUser {
        LdapUser {
            username: attr(&e.attrs, &self.cfg.uid_attribute)
                .unwrap_or(fallback_name)
                .to_owned(),
            email: attr(&e.attrs, "mail").unwrap_or_default().to_owned(),
            realname: attr(&e.attrs, "displayName")
                .or_else(|| attr(&e.attrs, "cn"))
                .unwrap_or_default()
                .to_owned(),
            dn: e.dn.clone(),
        }
    }

    /// Users whose login name contains `query` (all users for an empty query), for
    /// `/ldap/users/search`.
    pub async fn search_users(&self, query: &str) -> Result<Vec<LdapUser>> {
        let term = if query.is_empty() {
            format!("({}=*)", self.cfg.uid_attribute)
        } else {
            format!(
                "({}=*{}*)",
                self.cfg.uid_attribute,
                escape_filter_value(query)
            )
        };
        let mut ldap = self.search_conn().await?;
        let entries = self
            .search(
                &mut ldap,
                &self.cfg.base_dn,
                self.cfg.scope,
                &and_filter(&self.cfg.filter, &term),
                &self.user_attrs(),
            )
            .await;
        let _ = ldap.unbind().await;
        let mut users: Vec<LdapUser> = entries?
            .iter()
            .map(|e| self.to_user(e, ""))
            .filter(|u| !u.username.is_empty())
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// Groups under the group base DN whose name contains `query` (all for an empty query),
    /// for `/ldap/groups/search?groupname=`.
    pub async fn search_groups(&self, query: &str) -> Result<Vec<ExternalGroup>> {
        if self.cfg.group_base_dn.is_empty() {
            return Ok(Vec::new());
        }
        let gid = &self.cfg.group_name_attribute;
        let term = if query.is_empty() {
            format!("({gid}=*)")
        } else {
            format!("({gid}=*{}*)", escape_filter_value(query))
        };
        let mut ldap = self.search_conn().await?;
        let entries = self
            .search(
                &mut ldap,
                &self.cfg.group_base_dn,
                self.cfg.group_scope,
                &and_filter(&self.cfg.group_filter, &term),
                &[gid.as_str()],
            )
            .await;
        let _ = ldap.unbind().await;
        let mut groups: Vec<ExternalGroup> = entries?.iter().map(|e| self.to_group(e)).collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    /// The group with this DN, if it exists and passes the group filter
    /// (`/ldap/groups/search?groupdn=`, and checking a DN before adding it as a member).
    pub async fn group_by_dn(&self, dn: &str) -> Result<Option<ExternalGroup>> {
        let mut ldap = self.search_conn().await?;
        let filter = and_filter(&self.cfg.group_filter, "(objectClass=*)");
        let entries = self
            .search(
                &mut ldap,
                dn,
                LdapScope::Base,
                &filter,
                &[self.cfg.group_name_attribute.as_str()],
            )
            .await;
        let _ = ldap.unbind().await;
        Ok(entries?.first().map(|e| self.to_group(e)))
    }

    fn to_group(&self, e: &SearchEntry) -> ExternalGroup {
        let name = attr(&e.attrs, &self.cfg.group_name_attribute)
            .map(str::to_owned)
            .unwrap_or_else(|| first_rdn_value(&e.dn));
        ExternalGroup {
            group_type: GROUP_TYPE_LDAP,
            name,
            dn: e.dn.clone(),
        }
    }

    /// The one entry for `username`, or `None` (unknown, or ambiguous).
    async fn find_user(&self, ldap: &mut Ldap, username: &str) -> Result<Option<SearchEntry>> {
        let term = format!(
            "({}={})",
            self.cfg.uid_attribute,
            escape_filter_value(username)
        );
        let filter = and_filter(&self.cfg.filter, &term);
        let mut entries = self
            .search(
                ldap,
                &self.cfg.base_dn,
                self.cfg.scope,
                &filter,
                &self.user_attrs(),
            )
            .await?;
        match entries.len() {
            0 => Ok(None),
            1 => Ok(entries.pop()),
            n => {
                tracing::warn!(
                    user = username,
                    matches = n,
                    "LDAP user name matches several entries; login refused"
                );
                Ok(None)
            }
        }
    }

    /// Does the user's password bind as `dn`? Uses its own connection so the search
    /// connection keeps its rights.
    async fn password_binds(&self, dn: &str, password: &str) -> Result<bool> {
        if password.is_empty() || dn.is_empty() {
            return Ok(false);
        }
        let mut ldap = self.connect().await?;
        let res = ldap
            .with_timeout(self.cfg.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| unavailable(&format!("bind as {dn:?}"), e))?;
        let _ = ldap.unbind().await;
        match res.rc {
            0 => Ok(true),
            RC_INVALID_CREDENTIALS => Ok(false),
            // Account locked, password expired, unwilling to perform (empty password on some
            // servers), …: no login, but worth a line in the log.
            rc => {
                tracing::info!(dn, rc, text = %res.text, "LDAP bind refused");
                Ok(false)
            }
        }
    }

    /// The user's groups (under the group base DN, when set) and whether one is the admin group.
    async fn groups_of(
        &self,
        ldap: &mut Ldap,
        user: &SearchEntry,
        username: &str,
    ) -> Result<(Vec<ExternalGroup>, bool)> {
        let cfg = &self.cfg;
        let admin_key =
            (!cfg.group_admin_dn.trim().is_empty()).then(|| dn_key(&cfg.group_admin_dn));
        let mut found: Vec<ExternalGroup> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut sysadmin = false;

        // Groups that list the user as a member.
        if !cfg.group_base_dn.is_empty() {
            let term = format!(
                "(|({}={})(memberUid={}))",
                cfg.group_member_attribute,
                escape_filter_value(&user.dn),
                escape_filter_value(username)
            );
            let filter = and_filter(&cfg.group_filter, &term);
            for e in self
                .search(
                    ldap,
                    &cfg.group_base_dn,
                    cfg.group_scope,
                    &filter,
                    &[cfg.group_name_attribute.as_str()],
                )
                .await?
            {
                if seen.insert(dn_key(&e.dn)) {
                    found.push(self.to_group(&e));
                }
            }
        }

        // Group DNs on the user entry (memberOf).
        if !cfg.membership_attribute.is_empty() {
            for dn in attr_all(&user.attrs, &cfg.membership_attribute) {
                if admin_key.as_deref() == Some(dn_key(dn).as_str()) {
                    sysadmin = true;
                }
                if !cfg.group_base_dn.is_empty() && !dn_is_under(dn, &cfg.group_base_dn) {
                    continue;
                }
                if !seen.insert(dn_key(dn)) {
                    continue;
                }
                let filter = and_filter(&cfg.group_filter, "(objectClass=*)");
                let group = match self
                    .search(
                        ldap,
                        dn,
                        LdapScope::Base,
                        &filter,
                        &[cfg.group_name_attribute.as_str()],
                    )
                    .await?
                    .first()
                {
                    Some(e) => self.to_group(e),
                    // Not readable, or excluded by the group filter.
                    None if cfg.group_filter.is_empty() => ExternalGroup {
                        group_type: GROUP_TYPE_LDAP,
                        name: first_rdn_value(dn),
                        dn: dn.clone(),
                    },
                    None => continue,
                };
                found.push(group);
            }
        }

        if let Some(admin) = &admin_key {
            if found.iter().any(|g| &dn_key(&g.dn) == admin) {
                sysadmin = true;
            }
            if !sysadmin {
                // The admin group may sit outside the group base DN: ask it directly.
                let term = format!(
                    "(|({}={})(memberUid={}))",
                    cfg.group_member_attribute,
                    escape_filter_value(&user.dn),
                    escape_filter_value(username)
                );
                sysadmin = !self
                    .search(ldap, &cfg.group_admin_dn, LdapScope::Base, &term, &["1.1"])
                    .await?
                    .is_empty();
            }
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((found, sysadmin))
    }

    async fn login(&self, username: &str, password: &str) -> Result<Option<ExternalIdentity>> {
        self.identity(username, Some(password)).await
    }

    /// The directory's account for `username` with its groups, as a login would onboard it,
    /// without its password (`/ldap/users/import`). `None` when the directory does not know the
    /// name or several entries carry it.
    pub async fn lookup(&self, username: &str) -> Result<Option<ExternalIdentity>> {
        if username.is_empty() || username.contains('\0') {
            return Ok(None);
        }
        self.identity(username, None).await
    }

    /// Find the user's entry, check the password when one is given, read the groups.
    async fn identity(
        &self,
        username: &str,
        password: Option<&str>,
    ) -> Result<Option<ExternalIdentity>> {
        let mut ldap = self.search_conn().await?;
        let Some(entry) = self.find_user(&mut ldap, username).await? else {
            let _ = ldap.unbind().await;
            return Ok(None);
        };
        if let Some(password) = password
            && !self.password_binds(&entry.dn, password).await?
        {
            let _ = ldap.unbind().await;
            return Ok(None);
        }
        let groups = self.groups_of(&mut ldap, &entry, username).await;
        let _ = ldap.unbind().await;
        let (groups, sysadmin) = groups?;
        let user = self.to_user(&entry, username);
        Ok(Some(ExternalIdentity {
            source: "ldap".into(),
            external_id: entry.dn.clone(),
            username: user.username,
            email: user.email,
            realname: user.realname,
            groups,
            sysadmin,
        }))
    }
}

#[async_trait]
impl Authenticator for LdapAuthenticator {
    fn name(&self) -> &'static str {
        "ldap"
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<ExternalIdentity>> {
        // An empty password would be an unauthenticated bind, which servers accept.
        if username.is_empty() || password.is_empty() || username.contains('\0') {
            return Ok(None);
        }
        self.login(username, password).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(escape_filter_value("alice"), "alice");
        assert_eq!(escape_filter_value("*"), "\\2a");
        assert_eq!(escape_filter_value(")(uid=*"), "\\29\\28uid=\\2a");
        assert_eq!(escape_filter_value("a\\b\0"), "a\\5cb\\00");
        // The escaped value parses as one equality term, never as more filter.
        let f = format!("(uid={})", escape_filter_value("x)(|(uid=*"));
        assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
    }

    #[test]
    fn filters_and_dns() {
        assert_eq!(
            and_filter("objectClass=person", "(uid=a)"),
            "(&(objectClass=person)(uid=a))"
        );
        assert_eq!(and_filter("", "(uid=a)"), "(uid=a)");
        assert!(dn_is_under(
            "cn=devs, ou=Groups,dc=example,dc=org",
            "ou=groups,dc=example,dc=org"
        ));
        assert!(!dn_is_under(
            "cn=devs,ou=groupsx,dc=example,dc=org",
            "ou=groups,dc=example,dc=org"
        ));
        assert_eq!(first_rdn_value("cn=devs,ou=groups"), "devs");
    }

    #[test]
    fn config_checks_and_redaction() {
        let cfg = LdapConfig {
            url: "ldap://127.0.0.1:389".into(),
            base_dn: "dc=example,dc=org".into(),
            search_password: "hunter2-Secret".into(),
            ..LdapConfig::default()
        };
        let a = LdapAuthenticator::new(cfg.clone()).unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
        assert!(
            LdapAuthenticator::new(LdapConfig {
                url: "http://x".into(),
                ..cfg.clone()
            })
            .is_err()
        );
        assert!(
            LdapAuthenticator::new(LdapConfig {
                base_dn: String::new(),
                ..cfg.clone()
            })
            .is_err()
        );
        assert!(
            LdapAuthenticator::new(LdapConfig {
                filter: "(&(objectClass=person)".into(),
                ..cfg
            })
            .is_err()
        );
    }
}
