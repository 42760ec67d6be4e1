//! Registry endpoints (`/api/v2.0/registries`): the remote registries replication policies and
//! proxy-cache projects use, with Harbor's wire format.
//!
//! System administrators only. The access secret is sealed at rest under the operator's secret
//! key, never logged and never shown back: views carry `*****` in its place, and an update that
//! leaves it out (or sends the mask) keeps the stored one. Three adapter types are served:
//! `docker-registry` (any OCI distribution registry), `harbor` (Harbor, and Berth, which speaks
//! Harbor's API) and `docker-hub`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::upstream::{Upstream, UpstreamError, check_ca_bundle};
use crate::auth::{Action, Principal, SystemResource};
use crate::error::{Error, Result};
use crate::meta::replication::RegistryRow;
use crate::model::time;
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

/// What a view shows in place of a stored secret.
pub const SECRET_MASK: &str = "*****";

/// The adapter types Berth speaks.
pub const ADAPTERS: &[&str] = &["docker-hub", "docker-registry", "harbor"];

const REGISTRY_FIELDS: &[Field] = &[
    field("name", "name", Kind::Text),
    field("type", "type", Kind::Text),
    field("url", "url", Kind::Text),
    field("id", "id", Kind::Int),
    field("creation_time", "created_at", Kind::Time),
    field("update_time", "updated_at", Kind::Time),
];

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryCredential {
    /// `basic` (user name and password) or `oauth` (a bearer token in `access_secret`).
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub access_key: String,
    #[serde(default)]
    pub access_secret: String,
}

/// A registry endpoint as the API shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryEndpoint {
    pub id: i64,
    pub name: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub credential: RegistryCredential,
    pub insecure: bool,
    /// Berth: PEM certificates trusted beside the system roots for this endpoint.
    pub ca_certificate: String,
    pub description: String,
    /// `healthy`, `unhealthy` or `unknown`, as the last ping saw it.
    pub status: String,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `POST /registries`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryReq {
    pub name: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub credential: Option<RegistryCredential>,
    #[serde(default)]
    pub insecure: bool,
    #[serde(default)]
    pub ca_certificate: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Ignored (read-only fields clients send back).
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub creation_time: Option<String>,
    #[serde(default)]
    pub update_time: Option<String>,
}

/// `PUT /registries/{id}`: what is given changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    pub credential_type: Option<String>,
    pub access_key: Option<String>,
    pub access_secret: Option<String>,
    pub insecure: Option<bool>,
    pub ca_certificate: Option<String>,
}

/// `POST /registries/ping`: a stored endpoint by `id`, or one described in full; given fields
/// override the stored ones.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryPing {
    pub id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub credential_type: Option<String>,
    pub access_key: Option<String>,
    pub access_secret: Option<String>,
    pub insecure: Option<bool>,
    pub ca_certificate: Option<String>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterStyle {
    #[serde(rename = "type")]
    pub kind: String,
    pub style: String,
    pub values: Vec<String>,
}

/// `GET /registries/{id}/info`: what replication can do with the endpoint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegistryInfo {
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub supported_resource_filters: Vec<FilterStyle>,
    pub supported_triggers: Vec<String>,
    pub supported_copy_by_chunk: bool,
}

/// One entry of `GET /replication/adapterinfos`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdapterInfo {
    pub endpoint_pattern: serde_json::Value,
    pub credential_pattern: serde_json::Value,
}

fn check_kind(kind: &str) -> Result<()> {
    if ADAPTERS.contains(&kind) {
        Ok(())
    } else {
        Err(Error::BadRequest {
            reason: format!(
                "registry type {kind:?} is not supported; one of {}",
                ADAPTERS.join(", ")
            ),
        })
    }
}

/// An endpoint URL: http or https, a host, nothing after it but `/`.
fn check_url(raw: &str) -> Result<String> {
    check_service_url("registry url", raw, false)
}

/// A service's URL (`what` names it in errors): http or https, a host, no credentials, query
/// or fragment; a path only when `path_ok`. Returned without a trailing `/`.
pub(crate) fn check_service_url(what: &str, raw: &str, path_ok: bool) -> Result<String> {
    let bad = |why: &str| Error::BadRequest {
        reason: format!("{what} {:?}: {why}", crate::units::redact_uri(raw)),
    };
    let u = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad("must be http:// or https://"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("credentials go in their own field, not in the url"));
    }
    if !path_ok && !u.path().trim_end_matches('/').is_empty()
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(bad(if path_ok {
            "must be scheme://host[:port][/path] only"
        } else {
            "must be scheme://host[:port] only"
        }));
    }
    Ok(u.as_str().trim_end_matches('/').to_owned())
}

fn check_credential_type(t: &str) -> Result<String> {
    match t {
        "" | "basic" => Ok("basic".into()),
        "oauth" => Ok("oauth".into()),
        other => Err(Error::BadRequest {
            reason: format!("credential type {other:?}: basic or oauth"),
        }),
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 255 {
        Err(Error::BadRequest {
            reason: "a registry needs a name of 1-255 characters".into(),
        })
    } else {
        Ok(())
    }
}

fn view(row: RegistryRow) -> RegistryEndpoint {
    RegistryEndpoint {
        id: row.id,
        name: row.name,
        url: row.url,
        kind: row.kind,
        credential: RegistryCredential {
            kind: row.credential_type,
            access_key: row.access_key,
            access_secret: if row.access_secret.is_empty() {
                String::new()
            } else {
                SECRET_MASK.into()
            },
        },
        insecure: row.insecure,
        ca_certificate: row.ca_certificate,
        description: row.description,
        status: row.status,
        creation_time: time(row.created_at),
        update_time: time(row.updated_at),
    }
}

fn not_found(id: i64) -> Error {
    Error::NotFound {
        what: format!("registry {id}"),
    }
}

impl Registry {
    async fn registry_row(&self, id: i64) -> Result<RegistryRow> {
        self.meta
            .registry_endpoint(id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// A client for the stored endpoint `id` (cached per endpoint version).
    pub(crate) async fn upstream(&self, id: i64) -> Result<Arc<Upstream>> {
        let row = self.registry_row(id).await?;
        let key = (row.id, row.updated_at);
        if let Some(hit) = self.proxy.client(key).await {
            return Ok(hit);
        }
        let secret = self.open_registry_secret(&row)?;
        let up = Arc::new(Upstream::new(&row, &secret)?);
        self.proxy.keep_client(key, up.clone()).await;
        Ok(up)
    }

    fn open_registry_secret(&self, row: &RegistryRow) -> Result<String> {
        if row.access_secret.is_empty() {
            Ok(String::new())
        } else {
            self.secrets.open(&row.access_secret)
        }
    }

    /// Register a remote registry (system administrators). Nothing is contacted: ping does that.
    pub async fn create_registry_endpoint(
        &self,
        p: &Principal,
        req: RegistryReq,
    ) -> Result<RegistryEndpoint> {
        self.require_system(p, SystemResource::Registry, Action::Create)?;
        check_name(&req.name)?;
        check_kind(&req.kind)?;
        let url = check_url(&req.url)?;
        let cred = req.credential.unwrap_or_default();
        let credential_type = check_credential_type(&cred.kind)?;
        let ca = req.ca_certificate.unwrap_or_default();
        check_ca_bundle(&ca)?;
        self.check_writable().await?;
        let now = self.now_ms();
        let mut row = RegistryRow {
            id: 0,
            name: req.name.trim().to_owned(),
            url,
            kind: req.kind,
            credential_type,
            access_key: cred.access_key,
            access_secret: if cred.access_secret.is_empty() {
                String::new()
            } else {
                self.secrets.seal(&cred.access_secret)
            },
            insecure: req.insecure,
            ca_certificate: ca,
            description: req.description.unwrap_or_default(),
            status: "unknown".into(),
            created_at: now,
            updated_at: now,
        };
        row.id = self.meta.create_registry(&row).await?;
        tracing::info!(
            registry = row.id,
            name = row.name,
            kind = row.kind,
            "registry endpoint created"
        );
        Ok(view(row))
    }

    pub async fn registry_endpoints(
        &self,
        p: &Principal,
        q: &ListQuery,
    ) -> Result<Page<RegistryEndpoint>> {
        self.require_system(p, SystemResource::Registry, Action::List)?;
        let spec = q.parse(REGISTRY_FIELDS, &[("id", false)])?;
        let (rows, total) = self.meta.list_registries(&spec).await?;
        Ok(spec.page_of(rows.into_iter().map(view).collect(), total))
    }

    pub async fn registry_endpoint(&self, p: &Principal, id: i64) -> Result<RegistryEndpoint> {
        self.require_system(p, SystemResource::Registry, Action::Read)?;
        Ok(view(self.registry_row(id).await?))
    }

    /// Change an endpoint. Leaving `access_secret` out, or sending the mask, keeps the stored
    /// secret; changing the URL or the user without a new secret drops it, so a secret is never
    /// sent to a host it was not given for.
    pub async fn update_registry_endpoint(
        &self,
        p: &Principal,
        id: i64,
        req: RegistryUpdate,
    ) -> Result<RegistryEndpoint> {
        self.require_system(p, SystemResource::Registry, Action::Update)?;
        let old = self.registry_row(id).await?;
        let mut row = old.clone();
        if let Some(n) = req.name {
            check_name(&n)?;
            row.name = n.trim().to_owned();
        }
        if let Some(d) = req.description {
            row.description = d;
        }
        if let Some(u) = req.url {
            row.url = check_url(&u)?;
        }
        if let Some(t) = req.credential_type {
            row.credential_type = check_credential_type(&t)?;
        }
        if let Some(k) = req.access_key {
            row.access_key = k;
        }
        if let Some(i) = req.insecure {
            row.insecure = i;
        }
        if let Some(ca) = req.ca_certificate {
            check_ca_bundle(&ca)?;
            row.ca_certificate = ca;
        }
        match req.access_secret.as_deref() {
            Some(s) if s != SECRET_MASK => {
                row.access_secret = if s.is_empty() {
                    String::new()
                } else {
                    self.secrets.seal(s)
                };
            }
            _ if row.url != old.url || row.access_key != old.access_key => {
                row.access_secret = String::new();
            }
            _ => {}
        }
        self.check_writable().await?;
        row.updated_at = self.now_ms().max(old.updated_at + 1);
        if row.url != old.url {
            row.status = "unknown".into();
        }
        if !self.meta.update_registry(&row).await? {
            return Err(not_found(id));
        }
        tracing::info!(registry = id, "registry endpoint updated");
        Ok(view(row))
    }

    /// Delete an endpoint no proxy-cache project or replication policy uses (else
    /// `PRECONDITION_FAILED`, naming them).
    pub async fn delete_registry_endpoint(&self, p: &Principal, id: i64) -> Result<()> {
        self.require_system(p, SystemResource::Registry, Action::Delete)?;
        self.registry_row(id).await?;
        let users = self.meta.registry_users(id).await?;
        if !users.is_empty() {
            return Err(Error::PreconditionFailed {
                reason: format!("registry {id} is in use by {}", users.join(", ")),
            });
        }
        self.check_writable().await?;
        if !self.meta.delete_registry(id).await? {
            return Err(not_found(id));
        }
        tracing::info!(registry = id, "registry endpoint deleted");
        Ok(())
    }

    /// Check that a registry answers and takes the credentials. A stored endpoint's status is
    /// updated with the outcome. Failures are `BAD_REQUEST` naming the cause (never a secret).
    pub async fn ping_registry_endpoint(&self, p: &Principal, req: RegistryPing) -> Result<()> {
        self.require_system(p, SystemResource::Registry, Action::Read)?;
        let mut row = match req.id {
            Some(id) => self.registry_row(id).await?,
            None => RegistryRow::unsaved(String::new(), "", "basic", String::new()),
        };
        let stored_url = row.url.clone();
        let mut secret = self.open_registry_secret(&row)?;
        if let Some(k) = req.kind {
            row.kind = k;
        }
        check_kind(&row.kind)?;
        if let Some(u) = req.url {
            row.url = check_url(&u)?;
        }
        if row.url.is_empty() {
            return Err(Error::BadRequest {
                reason: "ping needs a registry id or a url".into(),
            });
        }
        if let Some(t) = req.credential_type {
            row.credential_type = check_credential_type(&t)?;
        }
        if let Some(k) = req.access_key {
            row.access_key = k;
        }
        match req.access_secret {
            Some(s) if s != SECRET_MASK => secret = s,
            // The stored secret only goes to the stored URL.
            _ if row.url != stored_url => secret.clear(),
            _ => {}
        }
        if let Some(i) = req.insecure {
            row.insecure = i;
        }
        if let Some(ca) = req.ca_certificate {
            check_ca_bundle(&ca)?;
            row.ca_certificate = ca;
        }
        let outcome = Upstream::new(&row, &secret)?.ping().await;
        if let Some(id) = req.id
            && row.url == stored_url
        {
            let status = if outcome.is_ok() {
                "healthy"
            } else {
                "unhealthy"
            };
            self.meta.set_registry_status(id, status).await?;
        }
        outcome.map_err(|e| match e {
            UpstreamError::RateLimited => Error::TooManyRequests,
            other => Error::BadRequest {
                reason: format!("ping {}: {other}", row.url),
            },
        })
    }

    /// What replication can do with endpoint `id`.
    pub async fn registry_endpoint_info(&self, p: &Principal, id: i64) -> Result<RegistryInfo> {
        self.require_system(p, SystemResource::Registry, Action::Read)?;
        let row = self.registry_row(id).await?;
        Ok(adapter_info(&row.kind))
    }

    /// The adapter types (`GET /replication/adapters`).
    pub fn replication_adapters(&self, p: &Principal) -> Result<Vec<String>> {
        self.require_system(p, SystemResource::ReplicationAdapter, Action::List)?;
        Ok(ADAPTERS.iter().map(|s| (*s).to_owned()).collect())
    }

    /// Endpoint and credential patterns per adapter (`GET /replication/adapterinfos`).
    pub fn replication_adapter_infos(
        &self,
        p: &Principal,
    ) -> Result<std::collections::BTreeMap<String, AdapterInfo>> {
        self.require_system(p, SystemResource::ReplicationAdapter, Action::List)?;
        let mut out = std::collections::BTreeMap::new();
        for kind in ADAPTERS {
            let endpoint_pattern = match *kind {
                "docker-hub" => serde_json::json!({
                    "endpoint_type": "EndpointPatternTypeFix",
                    "endpoints": [{ "key": "hub.docker.com", "value": "https://hub.docker.com" }],
                }),
                _ => serde_json::json!({ "endpoint_type": "EndpointPatternTypeStandard" }),
            };
            out.insert(
                (*kind).to_owned(),
                AdapterInfo {
                    endpoint_pattern,
                    credential_pattern: serde_json::json!({
                        "access_key_type": "AccessKeyTypeStandard",
                        "access_secret_type": "AccessSecretTypeStandard",
                    }),
                },
            );
        }
        Ok(out)
    }

    /// Seal every stored registry secret under the current key (see [`Registry::reseal_secrets`]).
    pub(crate) async fn reseal_registry_secrets(&self) -> Result<usize> {
        let mut n = 0;
        for mut row in self.meta.all_registries().await? {
            if !row.access_secret.is_empty() && self.secrets.needs_reseal(&row.access_secret) {
                row.access_secret = self.secrets.seal(&self.secrets.open(&row.access_secret)?);
                self.meta.update_registry(&row).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

fn adapter_info(kind: &str) -> RegistryInfo {
    let style = |kind: &str, style: &str| FilterStyle {
        kind: kind.into(),
        style: style.into(),
        values: Vec::new(),
    };
    RegistryInfo {
        kind: kind.into(),
        description: match kind {
            "docker-hub" => "Docker Hub: its token service and listing API",
            "harbor" => "Harbor, or Berth: listed through Harbor's API",
            _ => "an OCI distribution registry: listed through _catalog and tags/list",
        }
        .into(),
        supported_resource_filters: vec![style("name", "input"), style("tag", "input")],
        supported_triggers: vec!["manual".into(), "scheduled".into()],
        supported_copy_by_chunk: kind != "docker-hub",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_scheme_host_port_only() {
        assert_eq!(
            check_url("http://127.0.0.1:5000/").unwrap(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            check_url("https://registry-1.docker.io").unwrap(),
            "https://registry-1.docker.io"
        );
        for bad in [
            "ftp://x",
            "http://u:p@host",
            "http://host/path",
            "https://host/?a=b",
            "nohost",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        let e = check_url("http://user:hunter2@host")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
