//! Harbor's LDAP API (`/ldap/ping`, `/ldap/users/search`, `/ldap/users/import`,
//! `/ldap/groups/search`): test directory settings, find the directory's users and groups, and
//! onboard users before their first login so they can be made project members.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::auth::ldap::{LdapAuthenticator, LdapConfig, LdapScope};
use crate::auth::rbac::{Action, SystemResource};
use crate::error::{Error, Result};
use crate::registry::Registry;

/// Most uids one import takes.
pub const MAX_IMPORT: usize = 100;

/// Directory settings to test (Harbor's `LdapConf`). Every field is optional: what is missing
/// comes from the server's configured directory.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapConf {
    pub ldap_url: Option<String>,
    pub ldap_search_dn: Option<String>,
    /// Used only for this test, never stored or logged. Left out, the configured password is
    /// used, but only against the configured server and search DN.
    pub ldap_search_password: Option<String>,
    pub ldap_base_dn: Option<String>,
    pub ldap_filter: Option<String>,
    pub ldap_uid: Option<String>,
    /// 0 base, 1 one level, 2 subtree.
    pub ldap_scope: Option<i64>,
    /// Seconds.
    pub ldap_connection_timeout: Option<u64>,
    pub ldap_verify_cert: Option<bool>,
}

/// The answer of `/ldap/ping`: a directory that could not be reached or refused the search
/// bind is `success: false` with the reason, not an HTTP error.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LdapPingResult {
    pub success: bool,
    pub message: String,
}

/// A directory user (`/ldap/users/search`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LdapUserEntry {
    pub username: String,
    pub realname: String,
    pub email: String,
}

/// `POST /ldap/users/import`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapImportUsers {
    pub ldap_uid_list: Vec<String>,
}

/// A uid the import could not take, and why (Harbor's `LdapFailedImportUser`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LdapFailedImportUser {
    pub uid: String,
    pub error: String,
}

/// A directory group (`/ldap/groups/search`), shaped as Harbor's `UserGroup` (id 0: not a
/// Berth group yet).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LdapGroupEntry {
    pub id: i64,
    pub group_name: String,
    pub group_type: i64,
    pub ldap_group_dn: String,
}

impl Registry {
    /// The configured directory, or a clear refusal when this server does not use LDAP.
    fn directory(&self) -> Result<&LdapAuthenticator> {
        self.ldap.as_deref().ok_or_else(|| Error::PreconditionFailed {
            reason: format!(
                "this server does not use LDAP (auth_mode is {}); set auth_mode = \"ldap_auth\" and [ldap] in its configuration",
                self.access_settings().auth_mode
            ),
        })
    }

    /// Test directory settings: connect and bind as the search DN. With no body (or empty
    /// fields) the configured settings are tested (system administrators).
    pub async fn ldap_ping(&self, p: &Principal, conf: &LdapConf) -> Result<LdapPingResult> {
        self.require_system(p, SystemResource::Configuration, Action::Update)?;
        let configured = self.ldap.as_ref().map(|d| d.config().clone());
        let cfg = merge(configured.as_ref(), conf)?;
        let url = cfg.url.clone();
        let outcome = match LdapAuthenticator::new(cfg) {
            Ok(d) => d.ping().await,
            Err(e) => Err(e),
        };
        Ok(match outcome {
            Ok(()) => LdapPingResult {
                success: true,
                message: format!("connected to {url} and bound as the search DN"),
            },
            Err(e) => {
                tracing::info!(url = %url, error = %e, "LDAP ping failed");
                LdapPingResult {
                    success: false,
                    message: e.to_string(),
                }
            }
        })
    }

    /// Directory users whose login name contains `username` (all, up to the directory's
    /// search limit, for an empty one).
    pub async fn ldap_search_users(
        &self,
        p: &Principal,
        username: &str,
    ) -> Result<Vec<LdapUserEntry>> {
        self.require_system(p, SystemResource::LdapUser, Action::List)?;
        let users = self.directory()?.search_users(username).await?;
        Ok(users
            .into_iter()
            .map(|u| LdapUserEntry {
                username: u.username,
                realname: u.realname,
                email: u.email,
            })
            .collect())
    }

    /// Onboard directory users before their first login, with their groups. Returns the uids
    /// that could not be imported (unknown to the directory, already a Berth user, or a name
    /// another identity source owns); the others are imported either way.
    pub async fn ldap_import_users(
        &self,
        p: &Principal,
        uids: &[String],
    ) -> Result<Vec<LdapFailedImportUser>> {
        self.require_system(p, SystemResource::LdapUser, Action::Create)?;
        if uids.is_empty() {
            return Err(Error::BadRequest {
                reason: "ldap_uid_list is empty".into(),
            });
        }
        if uids.len() > MAX_IMPORT {
            return Err(Error::BadRequest {
                reason: format!(
                    "ldap_uid_list has {} uids; import at most {MAX_IMPORT} at a time",
                    uids.len()
                ),
            });
        }
        let directory = self.directory()?;
        let mut failed = Vec::new();
        for uid in uids {
            let fail = |error: &str| LdapFailedImportUser {
                uid: uid.clone(),
                error: error.to_owned(),
            };
            if self.meta.user_by_name(uid).await?.is_some() {
                failed.push(fail("a user with this name already exists"));
                continue;
            }
            let Some(ext) = directory.lookup(uid).await? else {
                failed.push(fail("not found in the directory (or found more than once)"));
                continue;
            };
            match self.onboard(ext).await {
                Ok(user) => {
                    tracing::info!(user = %user.username, by = ?p.user_id(), "LDAP user imported");
                }
                Err(Error::Unauthorized) => failed.push(fail(
                    "the name belongs to a user of another identity source",
                )),
                Err(e) => return Err(e),
            }
        }
        Ok(failed)
    }

    /// Directory groups by name (contains `groupname`) or the one group at `groupdn`.
    pub async fn ldap_search_groups(
        &self,
        p: &Principal,
        groupname: Option<&str>,
        groupdn: Option<&str>,
    ) -> Result<Vec<LdapGroupEntry>> {
        self.require_system(p, SystemResource::LdapUser, Action::List)?;
        let directory = self.directory()?;
        let groups = match groupdn.filter(|d| !d.trim().is_empty()) {
            Some(dn) => directory
                .group_by_dn(dn.trim())
                .await?
                .into_iter()
                .collect(),
            None => directory.search_groups(groupname.unwrap_or("")).await?,
        };
        Ok(groups
            .into_iter()
            .map(|g| LdapGroupEntry {
                id: 0,
                group_name: g.name,
                group_type: g.group_type,
                ldap_group_dn: g.dn,
            })
            .collect())
    }
}

/// The settings to test: the body's fields over the configured ones. The stored search
/// password is only sent to the configured server as the configured search DN, so a test
/// against another address cannot collect it.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn merge(configured: Option<&LdapConfig>, conf: &LdapConf) -> Result<LdapConfig> {
    let mut cfg = configured.cloned().unwrap_or_default();
    let same_server = given(&conf.ldap_url).is_none_or(|u| u == cfg.url)
        && given(&conf.ldap_search_dn).is_none_or(|d| d == cfg.search_dn);
    if let Some(u) = given(&conf.ldap_url) {
        cfg.url = u.to_owned();
    }
    if let Some(d) = given(&conf.ldap_search_dn) {
        cfg.search_dn = d.to_owned();
    }
    match conf.ldap_search_password.as_deref() {
        Some(pw) if !pw.is_empty() => cfg.search_password = pw.to_owned(),
        _ if !same_server => cfg.search_password.clear(),
        _ => {}
    }
    if let Some(b) = given(&conf.ldap_base_dn) {
        cfg.base_dn = b.to_owned();
    }
    if let Some(f) = conf.ldap_filter.as_deref() {
        cfg.filter = f.trim().to_owned();
    }
    if let Some(u) = given(&conf.ldap_uid) {
        cfg.uid_attribute = u.to_owned();
    }
    if let Some(s) = conf.ldap_scope {
        cfg.scope = LdapScope::from_harbor(s)?;
    }
    if let Some(t) = conf.ldap_connection_timeout {
        if !(1..=300).contains(&t) {
            return Err(Error::BadRequest {
                reason: format!("ldap_connection_timeout must be 1 to 300 seconds, not {t}"),
            });
        }
        cfg.timeout = Duration::from_secs(t);
    }
    if let Some(v) = conf.ldap_verify_cert {
        cfg.verify_cert = v;
    }
    if cfg.url.is_empty() {
        return Err(Error::BadRequest {
            reason: "ldap_url is required: this server has no LDAP directory configured".into(),
        });
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> LdapConfig {
        LdapConfig {
            url: "ldap://dir.example:389".into(),
            search_dn: "cn=reader,dc=example".into(),
            search_password: "stored-secret".into(),
            base_dn: "dc=example".into(),
            ..LdapConfig::default()
        }
    }

    #[test]
    fn the_stored_password_stays_with_the_configured_server() {
        let c = configured();
        let same = merge(Some(&c), &LdapConf::default()).unwrap();
        assert_eq!(same.search_password, "stored-secret");
        let same_url = merge(
            Some(&c),
            &LdapConf {
                ldap_url: Some("ldap://dir.example:389".into()),
                ldap_base_dn: Some("ou=people,dc=example".into()),
                ..LdapConf::default()
            },
        )
        .unwrap();
        assert_eq!(same_url.search_password, "stored-secret");
        assert_eq!(same_url.base_dn, "ou=people,dc=example");
        for other in [
            LdapConf {
                ldap_url: Some("ldap://attacker.example:389".into()),
                ..LdapConf::default()
            },
            LdapConf {
                ldap_search_dn: Some("cn=someone-else,dc=example".into()),
                ..LdapConf::default()
            },
        ] {
            let m = merge(Some(&c), &other).unwrap();
            assert_eq!(m.search_password, "", "{other:?}");
        }
        let typed = merge(
            Some(&c),
            &LdapConf {
                ldap_url: Some("ldap://other:389".into()),
                ldap_search_password: Some("typed".into()),
                ..LdapConf::default()
            },
        )
        .unwrap();
        assert_eq!(typed.search_password, "typed");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(matches!(
            merge(None, &LdapConf::default()),
            Err(Error::BadRequest { .. })
        ));
        let c = configured();
        for bad in [
            LdapConf {
                ldap_scope: Some(7),
                ..LdapConf::default()
            },
            LdapConf {
                ldap_connection_timeout: Some(0),
                ..LdapConf::default()
            },
        ] {
            assert!(
                matches!(merge(Some(&c), &bad), Err(Error::BadRequest { .. })),
                "{bad:?}"
            );
        }
    }
}
