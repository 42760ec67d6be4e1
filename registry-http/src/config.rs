//! Server settings: command line and `BERTH_*` environment first, then the TOML config file,
//! then the embedded defaults (SQLite + filesystem in `./berth-data`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings as they may appear in the config file (every key optional).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub metadata: Option<String>,
    pub storage: Option<String>,
    pub log_format: Option<String>,
    /// Abandoned upload sessions are purged after this many seconds without activity.
    pub upload_ttl_secs: Option<u64>,
    /// Password of the `admin` user created on first start (else one is generated and printed
    /// once). Ignored once the user exists.
    pub admin_password: Option<Secret>,
    /// `db_auth` (default: local users only), `ldap_auth` or `oidc_auth`.
    pub auth_mode: Option<String>,
    /// Registry token lifetime in minutes (Harbor's `token_expiration`, default 30).
    pub token_expiration: Option<u64>,
    /// `everyone` (default) or `adminonly`.
    pub project_creation_restriction: Option<String>,
    /// Anyone may create a local account.
    pub self_registration: Option<bool>,
    pub ldap: Option<LdapSettings>,
    pub oidc: Option<OidcSettings>,
    /// Record every manifest pull in the audit log (default true; Harbor's
    /// `PULL_AUDIT_LOG_DISABLE` inverted). Pull counts and times are kept either way.
    pub pull_audit: Option<bool>,
    /// The URL clients reach the registry at (`https://registry.example.com`), named in webhook
    /// payloads' `resource_url`; default: the listen address.
    pub external_url: Option<String>,
    /// The URL this registry's own services (scanner adapters registered with
    /// `use_internal_addr`) reach it at; default: `http(s)://` and the listen address (an
    /// unspecified address as loopback).
    pub internal_url: Option<String>,
    /// Job workers on this node (default 2; 0 when other nodes do the work).
    pub job_workers: Option<usize>,
    pub gc: Option<GcSettings>,
    /// Largest JSON or form body read, in bytes (default 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// A request body that sends nothing for this many seconds fails (default 60).
    pub body_idle_timeout_secs: Option<u64>,
    /// PEM certificate chain: with `tls_key`, serve HTTPS (reloaded when the files change).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Peers (IP addresses or CIDR ranges) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// The key secrets are encrypted with at rest (Harbor's `secret_key`): 32 bytes as 64 hex
    /// digits or base64. Prefer `secret_key_file` or `BERTH_SECRET_KEY`.
    pub secret_key: Option<Secret>,
    /// A file holding the secret key.
    pub secret_key_file: Option<PathBuf>,
    /// Keys secrets may still be sealed with, during a rotation (docs/security.md).
    pub previous_secret_keys: Option<Vec<Secret>>,
}

/// `[gc]`: garbage collection.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GcSettings {
    /// Unreferenced blobs and links younger than this many seconds are kept (default 7200):
    /// the time a client may take between pushing layers and pushing their manifest.
    pub grace_secs: Option<u64>,
    /// Parallel blob deletions per run when the request names none (1–10, default 1).
    pub workers: Option<usize>,
}

/// `[ldap]`: Harbor's `ldap_*` settings without the prefix.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    pub url: String,
    #[serde(default)]
    pub search_dn: String,
    #[serde(default)]
    pub search_password: Option<Secret>,
    pub base_dn: String,
    #[serde(default)]
    pub filter: String,
    /// Attribute holding the login name (default `cn`).
    pub uid: Option<String>,
    /// 0 base, 1 one level, 2 subtree (default).
    pub scope: Option<u8>,
    pub timeout_secs: Option<u64>,
    pub verify_cert: Option<bool>,
    #[serde(default)]
    pub group_base_dn: String,
    #[serde(default)]
    pub group_search_filter: String,
    pub group_attribute_name: Option<String>,
    pub group_search_scope: Option<u8>,
    #[serde(default)]
    pub group_admin_dn: String,
    pub group_membership_attribute: Option<String>,
}

/// `[oidc]`: Harbor's `oidc_*` settings without the prefix.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    pub name: Option<String>,
    pub endpoint: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub groups_claim: Option<String>,
    pub admin_group: Option<String>,
    pub scope: Option<String>,
    pub user_claim: Option<String>,
    pub verify_cert: Option<bool>,
}

/// A secret setting: never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FileSettings {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
    }

    /// Fill every unset field of `self` from `other`.
    pub fn or(self, other: FileSettings) -> FileSettings {
        FileSettings {
            listen: self.listen.or(other.listen),
            data_dir: self.data_dir.or(other.data_dir),
            metadata: self.metadata.or(other.metadata),
            storage: self.storage.or(other.storage),
            log_format: self.log_format.or(other.log_format),
            upload_ttl_secs: self.upload_ttl_secs.or(other.upload_ttl_secs),
            admin_password: self.admin_password.or(other.admin_password),
            auth_mode: self.auth_mode.or(other.auth_mode),
            token_expiration: self.token_expiration.or(other.token_expiration),
            project_creation_restriction: self
                .project_creation_restriction
                .or(other.project_creation_restriction),
            self_registration: self.self_registration.or(other.self_registration),
            ldap: self.ldap.or(other.ldap),
            oidc: self.oidc.or(other.oidc),
            pull_audit: self.pull_audit.or(other.pull_audit),
            external_url: self.external_url.or(other.external_url),
            internal_url: self.internal_url.or(other.internal_url),
            job_workers: self.job_workers.or(other.job_workers),
            max_body_bytes: self.max_body_bytes.or(other.max_body_bytes),
            body_idle_timeout_secs: self.body_idle_timeout_secs.or(other.body_idle_timeout_secs),
            tls_cert: self.tls_cert.or(other.tls_cert),
            tls_key: self.tls_key.or(other.tls_key),
            trusted_proxies: self.trusted_proxies.or(other.trusted_proxies),
            secret_key: self.secret_key.or(other.secret_key),
            secret_key_file: self.secret_key_file.or(other.secret_key_file),
            previous_secret_keys: self.previous_secret_keys.or(other.previous_secret_keys),
            gc: match (self.gc, other.gc) {
                (Some(a), Some(b)) => Some(GcSettings {
                    grace_secs: a.grace_secs.or(b.grace_secs),
                    workers: a.workers.or(b.workers),
                }),
                (a, b) => a.or(b),
            },
        }
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Metadata URI (`sqlite://…`, `postgres://…`).
    pub metadata: String,
    /// Storage URI (`file://…`, `s3://…`).
    pub storage: String,
    pub json_logs: bool,
    pub upload_ttl_secs: u64,
    pub admin_password: Option<Secret>,
    pub access: registry_core::AccessSettings,
    pub auth_mode: String,
    pub ldap: Option<LdapSettings>,
    pub oidc: Option<OidcSettings>,
    pub audit: registry_core::audit::AuditSettings,
    pub job_workers: usize,
    pub gc: registry_core::gc::GcOptions,
    pub max_body_bytes: usize,
    pub body_idle_timeout: std::time::Duration,
    /// Certificate and key files when serving HTTPS.
    pub tls: Option<crate::tls::TlsFiles>,
    pub secret_key: Option<Secret>,
    pub secret_key_file: Option<PathBuf>,
    pub previous_secret_keys: Vec<Secret>,
}

impl Settings {
    pub fn resolve(f: FileSettings) -> Result<Self, String> {
        let listen = f.listen.unwrap_or_else(|| "127.0.0.1:5000".into());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|e| format!("listen address {listen:?}: {e}"))?;
        let internal_url = match &f.internal_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => {
                let ip = match listen.ip() {
                    std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
                        std::net::Ipv4Addr::LOCALHOST.into()
                    }
                    std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
                        std::net::Ipv6Addr::LOCALHOST.into()
                    }
                    ip => ip,
                };
                let scheme = if f.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", SocketAddr::new(ip, listen.port()))
            }
        };
        let data_dir = f.data_dir.unwrap_or_else(|| PathBuf::from("./berth-data"));
        let metadata = f
            .metadata
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("berth.db").display()));
        let storage = f
            .storage
            .unwrap_or_else(|| format!("file://{}", data_dir.display()));
        let json_logs = match f.log_format.as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(format!("log format {other:?}: use text or json")),
        };
        let auth_mode = match f.auth_mode.as_deref() {
            None | Some("db_auth") => "db_auth".to_owned(),
            Some("ldap_auth") if f.ldap.is_some() => "ldap_auth".to_owned(),
            Some("oidc_auth") if f.oidc.is_some() => "oidc_auth".to_owned(),
            Some(m @ ("ldap_auth" | "oidc_auth")) => {
                return Err(format!("auth_mode {m} needs its [{}] section", &m[..4]));
            }
            Some(other) => {
                return Err(format!(
                    "auth_mode must be db_auth, ldap_auth or oidc_auth, not {other:?}"
                ));
            }
        };
        Ok(Self {
            listen,
            data_dir,
            metadata,
            storage,
            json_logs,
            upload_ttl_secs: f.upload_ttl_secs.unwrap_or(86_400),
            max_body_bytes: match f.max_body_bytes {
                Some(n) if n < 1024 => {
                    return Err(format!("max_body_bytes {n} is too small (at least 1024)"));
                }
                n => n.unwrap_or(crate::router::DEFAULT_BODY_LIMIT),
            },
            body_idle_timeout: f
                .body_idle_timeout_secs
                .map_or(crate::router::DEFAULT_BODY_IDLE_TIMEOUT, |s| {
                    std::time::Duration::from_secs(s.max(1))
                }),
            tls: match (f.tls_cert, f.tls_key) {
                (Some(cert), Some(key)) => Some(crate::tls::TlsFiles { cert, key }),
                (None, None) => None,
                _ => return Err("tls_cert and tls_key go together".into()),
            },
            secret_key: f.secret_key,
            secret_key_file: f.secret_key_file,
            previous_secret_keys: f.previous_secret_keys.unwrap_or_default(),
            job_workers: f.job_workers.unwrap_or(2),
            gc: {
                let g = f.gc.clone().unwrap_or_default();
                let opts = registry_core::gc::GcOptions {
                    grace_ms: g
                        .grace_secs
                        .map_or(registry_core::gc::DEFAULT_GRACE_MS, |s| s as i64 * 1000),
                    workers: g.workers.unwrap_or(1),
                    upload_max_age_ms: f.upload_ttl_secs.unwrap_or(86_400) as i64 * 1000,
                    ..Default::default()
                };
                opts.validate().map_err(|e| format!("[gc]: {e}"))?;
                opts
            },
            admin_password: f.admin_password,
            access: registry_core::AccessSettings {
                token_ttl: std::time::Duration::from_secs(
                    60 * f.token_expiration.unwrap_or(30).max(1),
                ),
                project_creation: match f.project_creation_restriction.as_deref() {
                    None | Some("everyone") => registry_core::ProjectCreation::Everyone,
                    Some("adminonly") => registry_core::ProjectCreation::AdminOnly,
                    Some(other) => {
                        return Err(format!(
                            "project_creation_restriction must be everyone or adminonly, not {other:?}"
                        ));
                    }
                },
                self_registration: f.self_registration.unwrap_or(false),
                trusted_proxies: f
                    .trusted_proxies
                    .unwrap_or_default()
                    .iter()
                    .map(|p| p.parse().map_err(|e| format!("trusted_proxies: {e}")))
                    .collect::<Result<_, String>>()?,
                auth_mode: auth_mode.clone(),
                external_url: f
                    .external_url
                    .as_ref()
                    .map(|u| u.trim_end_matches('/').to_owned()),
                internal_url: Some(internal_url),
                ..registry_core::AccessSettings::default()
            },
            auth_mode,
            ldap: f.ldap,
            oidc: f.oidc,
            audit: registry_core::audit::AuditSettings {
                pull_audit: f.pull_audit.unwrap_or(true),
                registry_host: match &f.external_url {
                    Some(u) => {
                        let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
                        rest.trim_end_matches('/').to_owned()
                    }
                    None => listen.to_string(),
                },
                ..registry_core::audit::AuditSettings::default()
            },
        })
    }
}

/// The key secrets are sealed with: `secret_key`, else the file `secret_key_file`, else
/// `secret.key` in the data directory (created on first start). Nodes sharing one database must
/// share the key; a node with another key refuses to start, naming both key ids.
pub fn secret_keys(
    s: &Settings,
) -> registry_core::Result<(
    registry_core::registry::secrets::SecretKey,
    Vec<registry_core::registry::secrets::SecretKey>,
)> {
    use registry_core::registry::secrets::SecretKey;
    let current = match (&s.secret_key, &s.secret_key_file) {
        (Some(k), _) => SecretKey::parse(&k.0)?,
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| registry_core::Error::BadRequest {
                    reason: format!("reading the secret key file {}: {e}", path.display()),
                })?;
            SecretKey::parse(&text)?
        }
        (None, None) => SecretKey::load_or_create(&s.data_dir.join("secret.key"))?,
    };
    let previous = s
        .previous_secret_keys
        .iter()
        .map(|k| SecretKey::parse(&k.0))
        .collect::<registry_core::Result<_>>()?;
    Ok((current, previous))
}

/// The core LDAP configuration from `[ldap]`.
pub fn ldap_config(
    l: &LdapSettings,
) -> registry_core::Result<registry_core::auth::ldap::LdapConfig> {
    use registry_core::auth::ldap::{LdapConfig, LdapScope};
    let d = LdapConfig::default();
    Ok(LdapConfig {
        url: l.url.clone(),
        search_dn: l.search_dn.clone(),
        search_password: l
            .search_password
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_default(),
        base_dn: l.base_dn.clone(),
        filter: l.filter.clone(),
        uid_attribute: l.uid.clone().unwrap_or(d.uid_attribute),
        scope: l
            .scope
            .map(|s| LdapScope::from_harbor(s.into()))
            .transpose()?
            .unwrap_or(d.scope),
        timeout: l
            .timeout_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or(d.timeout),
        verify_cert: l.verify_cert.unwrap_or(d.verify_cert),
        group_base_dn: l.group_base_dn.clone(),
        group_filter: l.group_search_filter.clone(),
        group_name_attribute: l
            .group_attribute_name
            .clone()
            .unwrap_or(d.group_name_attribute),
        group_scope: l
            .group_search_scope
            .map(|s| LdapScope::from_harbor(s.into()))
            .transpose()?
            .unwrap_or(d.group_scope),
        group_admin_dn: l.group_admin_dn.clone(),
        membership_attribute: l
            .group_membership_attribute
            .clone()
            .unwrap_or(d.membership_attribute),
        ..d
    })
}

/// The core OIDC configuration from `[oidc]`.
pub fn oidc_config(o: &OidcSettings) -> registry_core::auth::oidc::OidcConfig {
    use registry_core::auth::oidc::OidcConfig;
    let d = OidcConfig::default();
    OidcConfig {
        name: o.name.clone().unwrap_or(d.name.clone()),
        endpoint: o.endpoint.clone(),
        client_id: o.client_id.clone(),
        client_secret: o
            .client_secret
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_default(),
        groups_claim: o.groups_claim.clone().unwrap_or(d.groups_claim.clone()),
        admin_group: o.admin_group.clone().unwrap_or_default(),
        scope: o.scope.clone().unwrap_or(d.scope.clone()),
        user_claim: o.user_claim.clone().unwrap_or(d.user_claim.clone()),
        verify_cert: o.verify_cert.unwrap_or(d.verify_cert),
        ..d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_precedence() {
        let s = Settings::resolve(FileSettings::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(s.metadata, "sqlite://./berth-data/berth.db");
        assert_eq!(s.storage, "file://./berth-data");
        let cli = FileSettings {
            listen: Some("127.0.0.1:6000".into()),
            ..Default::default()
        };
        let file: FileSettings =
            toml::from_str("listen = \"0.0.0.0:1\"\ndata_dir = \"/d\"\nlog_format = \"json\"")
                .unwrap();
        let s = Settings::resolve(cli.or(file)).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:6000");
        assert_eq!(s.storage, "file:///d");
        assert!(s.json_logs);
        assert!(toml::from_str::<FileSettings>("nope = 1").is_err());
        assert!(s.audit.pull_audit);
        assert_eq!(s.audit.registry_host, "127.0.0.1:6000");
        let s = Settings::resolve(FileSettings {
            pull_audit: Some(false),
            external_url: Some("https://reg.example.com/".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!s.audit.pull_audit);
        assert_eq!(s.audit.registry_host, "reg.example.com");
        assert!(
            Settings::resolve(FileSettings {
                listen: Some("x".into()),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn the_example_config_parses() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/config/berth.toml");
        let f = FileSettings::load(&path).unwrap();
        let s = Settings::resolve(f).unwrap();
        assert_eq!(s.auth_mode, "db_auth");
        assert_eq!(s.access.token_ttl.as_secs(), 1800);
        let bad = FileSettings {
            auth_mode: Some("ldap_auth".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(bad).unwrap_err().contains("[ldap]"));
        let secret = Secret("hunter2".into());
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
