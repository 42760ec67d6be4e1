//! Harbor's `/configurations`: the settings an administrator reads, and the few that change at
//! run time (the rest come from the server's configuration file and are shown read-only).

use serde_json::{Map, Value, json};

use crate::access::ProjectCreation;
use crate::auth::Principal;
use crate::auth::rbac::{Action, SystemResource};
use crate::error::{Error, Result};
use crate::registry::Registry;

/// Settings that change at run time.
const EDITABLE: &[&str] = &["read_only"];

impl Registry {
    /// Every setting as `{key: {value, editable}}` (system administrators).
    pub async fn configurations(&self, p: &Principal) -> Result<Value> {
        self.require_system(p, SystemResource::Configuration, Action::Read)?;
        let s = self.access_settings();
        let fixed = |v: Value| json!({ "value": v, "editable": false });
        let mut all = json!({
            "read_only": { "value": self.is_read_only().await?, "editable": true },
            "auth_mode": fixed(s.auth_mode.clone().into()),
            "external_url": fixed(s.external_url.clone().unwrap_or_default().into()),
            "project_creation_restriction": fixed(match s.project_creation {
                ProjectCreation::Everyone => "everyone",
                ProjectCreation::AdminOnly => "adminonly",
            }.into()),
            "self_registration": fixed(s.self_registration.into()),
            "token_expiration": fixed((s.token_ttl.as_secs() / 60).into()),
            "quota_per_project_enable": fixed(true.into()),
            "storage_per_project": fixed((-1).into()),
        });
        if let Some(o) = all.as_object_mut() {
            for (k, v) in self.identity_settings() {
                o.insert(k.into(), fixed(v));
            }
        }
        Ok(all)
    }

    /// The LDAP and OIDC settings this server runs with, under Harbor's keys. Passwords and
    /// client secrets are never returned: `*_set` says whether one is configured.
    fn identity_settings(&self) -> Vec<(&'static str, Value)> {
        #[allow(unused_mut)]
        let mut out: Vec<(&'static str, Value)> = Vec::new();
        #[cfg(feature = "ldap")]
        if let Some(d) = &self.ldap {
            let c = d.config();
            out.extend([
                ("ldap_url", c.url.clone().into()),
                ("ldap_search_dn", c.search_dn.clone().into()),
                (
                    "ldap_search_password_set",
                    (!c.search_password.is_empty()).into(),
                ),
                ("ldap_base_dn", c.base_dn.clone().into()),
                ("ldap_filter", c.filter.clone().into()),
                ("ldap_uid", c.uid_attribute.clone().into()),
                ("ldap_scope", c.scope.harbor().into()),
                ("ldap_timeout", c.timeout.as_secs().into()),
                ("ldap_verify_cert", c.verify_cert.into()),
                ("ldap_group_base_dn", c.group_base_dn.clone().into()),
                ("ldap_group_search_filter", c.group_filter.clone().into()),
                (
                    "ldap_group_attribute_name",
                    c.group_name_attribute.clone().into(),
                ),
                ("ldap_group_search_scope", c.group_scope.harbor().into()),
                ("ldap_group_admin_dn", c.group_admin_dn.clone().into()),
                (
                    "ldap_group_membership_attribute",
                    c.membership_attribute.clone().into(),
                ),
            ]);
        }
        #[cfg(feature = "oidc")]
        if let Some(provider) = &self.oidc {
            let c = provider.config();
            out.extend([
                ("oidc_name", c.name.clone().into()),
                ("oidc_endpoint", c.endpoint.clone().into()),
                ("oidc_client_id", c.client_id.clone().into()),
                (
                    "oidc_client_secret_set",
                    (!c.client_secret.is_empty()).into(),
                ),
                ("oidc_scope", c.scope.clone().into()),
                ("oidc_groups_claim", c.groups_claim.clone().into()),
                ("oidc_admin_group", c.admin_group.clone().into()),
                ("oidc_user_claim", c.user_claim.clone().into()),
                ("oidc_verify_cert", c.verify_cert.into()),
            ]);
        }
        out
    }

    /// Harbor's `/systeminfo`: what a client or the portal needs to know about this registry.
    /// `request_base` is the scheme and host a request came in on (`https://reg:5000`), used
    /// when no external URL is configured. Anonymous callers get the public subset.
    pub async fn system_info(&self, p: &Principal, request_base: &str) -> Result<Value> {
        let s = self.access_settings();
        let external = s
            .external_url
            .clone()
            .unwrap_or_else(|| request_base.to_owned());
        let registry_url = external
            .split_once("://")
            .map_or(external.as_str(), |(_, rest)| rest)
            .trim_end_matches('/')
            .to_owned();
        let mut info = json!({
            "registry_url": registry_url,
            "external_url": external,
            "auth_mode": s.auth_mode,
            "primary_auth_mode": s.auth_mode != "db_auth",
            "project_creation_restriction": match s.project_creation {
                ProjectCreation::Everyone => "everyone",
                ProjectCreation::AdminOnly => "adminonly",
            },
            "self_registration": s.self_registration,
            "has_ca_root": false,
            "harbor_version": concat!("berth-", env!("CARGO_PKG_VERSION")),
            "read_only": self.is_read_only().await?,
            "notification_enable": true,
            "banner_message": "",
            "current_time": chrono::Utc::now().to_rfc3339(),
        });
        if p.is_anonymous() {
            const PUBLIC: &[&str] = &[
                "auth_mode",
                "harbor_version",
                "self_registration",
                "banner_message",
                "primary_auth_mode",
                "current_time",
                "read_only",
            ];
            if let Some(o) = info.as_object_mut() {
                o.retain(|k, _| PUBLIC.contains(&k.as_str()));
            }
        }
        Ok(info)
    }

    /// Change run-time settings; any other key is refused before anything changes.
    pub async fn update_configurations(
        &self,
        p: &Principal,
        changes: &Map<String, Value>,
    ) -> Result<()> {
        self.require_system(p, SystemResource::Configuration, Action::Update)?;
        let mut read_only = None;
        for (k, v) in changes {
            match k.as_str() {
                "read_only" => {
                    read_only = Some(v.as_bool().ok_or_else(|| Error::BadRequest {
                        reason: format!("read_only must be true or false, not {v}"),
                    })?)
                }
                other => {
                    return Err(Error::BadRequest {
                        reason: format!(
                            "setting {other:?} cannot be changed at run time (editable: {EDITABLE:?}); set it in the server configuration"
                        ),
                    });
                }
            }
        }
        if let Some(on) = read_only {
            self.set_read_only(p, on).await?;
        }
        Ok(())
    }
}
