//! Berth's built-in scanner as a Harbor Scanner Adapter API v1.2 server (`berth scanner
//! serve`): Harbor, or another Berth, registers it as a pluggable scanner.
//!
//! - `GET /api/v1/metadata`: the scanner, its capability (OCI and Docker image manifests in,
//!   Harbor's vulnerability reports out) and properties (scanner type, when the vulnerability
//!   database was imported, how it pulls: [`ScanAdapter::auth_type`]).
//! - `POST /api/v1/scan`: a request is checked (400 for malformed JSON or fields, 422 for an
//!   artifact type it does not scan) and answered `202 {id}` at once; in the background the
//!   artifact is pulled **from the asking registry** with the `Authorization` it gave, its blobs
//!   streamed into this process's own Berth store (digests verified; blobs already there are not
//!   fetched again), and scanned there by the built-in scanner: the same report a scan inside
//!   the registry gives.
//! - `GET /api/v1/scan/{id}/report`: `302` with `Refresh-After` while it runs, the report in the
//!   type `Accept` names when done, `404` for an unknown (or expired, after an hour) id, and
//!   the failure's message in the spec's `ErrorResponse` when the scan failed.
//!
//! With an API key, every call needs `Authorization: Bearer <key>` (or Harbor's
//! `X-ScannerAdapter-API-Key: <key>`); compared in constant time.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::pluggable::{AUTH_TYPE_PROPERTY, HARBOR_VULN_REPORT, same_type};
use super::report::{VULN_REPORT, builtin_scanner};
use crate::error::{Error, Result};
use crate::meta::replication::RegistryRow;
use crate::oci::{Digest, RepoName};
use crate::registry::Registry;
use crate::replication::upstream::Upstream;

/// The artifact types scanned.
pub const CONSUMES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// The largest scan request read.
pub const MAX_REQUEST: usize = 1 << 20;
/// How long a finished scan's report is kept.
const KEEP: Duration = Duration::from_secs(60 * 60);
/// Scans at once; more wait their turn (their reports answer 302 meanwhile).
const PARALLEL: usize = 2;
/// The project the adapter's own store keeps pulled artifacts in, when the request's
/// repository has none.
const SCRATCH_PROJECT: &str = "scanned";

/// A failure as the adapter API answers it: a status and the `ErrorResponse` message.
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterError {
    pub status: u16,
    pub message: String,
}

impl AdapterError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The spec's `ErrorResponse` body.
    pub fn body(&self) -> Value {
        json!({ "error": { "message": self.message } })
    }
}

impl From<Error> for AdapterError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::BadRequest { .. }
            | Error::NameInvalid { .. }
            | Error::DigestMalformed { .. } => 400,
            Error::NotFound { .. } => 404,
            Error::Unauthorized => 401,
            _ => 500,
        };
        Self::new(status, e.to_string())
    }
}

/// What a report request gets.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportAnswer {
    /// Still running: ask again after this many seconds.
    Later(u64),
    /// Done: the report, of this MIME type.
    Ready(&'static str, Value),
}

enum Job {
    Running,
    Done(Value),
    Failed(String),
}

/// The adapter: the registry whose store it scans in, its scans, its API key.
pub struct ScanAdapter {
    reg: Registry,
    /// The scanner name the metadata and reports give (default: the built-in scanner's).
    name: String,
    api_key: Option<String>,
    auth_type: &'static str,
    jobs: Arc<Mutex<HashMap<String, (Job, Instant)>>>,
    permits: Arc<tokio::sync::Semaphore>,
}

#[derive(serde::Deserialize)]
struct ScanRequest {
    registry: RegistryRef,
    artifact: ArtifactRef,
}

#[derive(serde::Deserialize)]
struct RegistryRef {
    url: String,
    #[serde(default)]
    authorization: String,
}

#[derive(serde::Deserialize)]
struct ArtifactRef {
    repository: String,
    digest: String,
    #[serde(default)]
    mime_type: String,
}

/// Drop `null` members: the spec's schemas type every field, and none is nullable.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Compare two secrets without leaking where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Registry {
    /// The adapter metadata of the built-in scanner (`GET /api/v1/metadata`), saying it pulls
    /// with `auth_type` (`Basic` or `Bearer`).
    pub async fn adapter_metadata(&self, auth_type: &str) -> Result<Value> {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "harbor.scanner-adapter/scanner-type".into(),
            "os-package-vulnerability".into(),
        );
        if let Some(at) = self.vulndb_updated_at().await? {
            properties.insert(
                "harbor.scanner-adapter/vulnerability-database-updated-at".into(),
                at.into(),
            );
        }
        properties.insert(AUTH_TYPE_PROPERTY.into(), auth_type.into());
        Ok(json!({
            "scanner": builtin_scanner(),
            "capabilities": [{
                "type": "vulnerability",
                "consumes_mime_types": CONSUMES,
                "produces_mime_types": [VULN_REPORT, HARBOR_VULN_REPORT],
            }],
            "properties": properties,
        }))
    }
}

impl ScanAdapter {
    /// An adapter scanning in `reg`'s store; with `api_key`, callers must present it. It asks
    /// registries for `auth_type` credentials (`Basic`, or `Bearer`) and calls its scanner
    /// `name` (default: the built-in scanner's name).
    pub fn new(
        reg: Registry,
        api_key: Option<String>,
        auth_type: &str,
        name: Option<String>,
    ) -> Result<Self> {
        let auth_type = match auth_type {
            "Basic" | "basic" => "Basic",
            "Bearer" | "bearer" => "Bearer",
            other => {
                return Err(Error::BadRequest {
                    reason: format!("registry authorization type {other:?}: Basic or Bearer"),
                });
            }
        };
        Ok(Self {
            reg,
            name: name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| builtin_scanner().name),
            api_key: api_key.filter(|k| !k.is_empty()),
            auth_type,
            jobs: Arc::new(Mutex::new(HashMap::new())),
            permits: Arc::new(tokio::sync::Semaphore::new(PARALLEL)),
        })
    }

    /// What the adapter asks registries for: `Basic` or `Bearer`.
    pub fn auth_type(&self) -> &'static str {
        self.auth_type
    }

    /// Check the caller's credentials (`Authorization` and `X-ScannerAdapter-API-Key` header
    /// values) when an API key is set.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> std::result::Result<(), AdapterError> {
        let Some(key) = &self.api_key else {
            return Ok(());
        };
        let bearer = authorization
            .and_then(|a| a.strip_prefix("Bearer ").or(a.strip_prefix("bearer ")))
            .map(str::trim);
        if bearer.is_some_and(|b| same_secret(b, key))
            || api_key.is_some_and(|k| same_secret(k.trim(), key))
        {
            Ok(())
        } else {
            Err(AdapterError::new(
                401,
                "this scanner adapter needs its API key",
            ))
        }
    }

    pub async fn metadata(&self) -> std::result::Result<Value, AdapterError> {
        let mut v = self.reg.adapter_metadata(self.auth_type).await?;
        v["scanner"]["name"] = Value::String(self.name.clone());
        Ok(v)
    }

    /// `POST /scan`: check the request and start the scan; its id.
    pub fn accept(&self, body: &[u8]) -> std::result::Result<String, AdapterError> {
        if body.len() > MAX_REQUEST {
            return Err(AdapterError::new(
                400,
                format!("a scan request is at most {MAX_REQUEST} bytes"),
            ));
        }
        let req: ScanRequest = serde_json::from_slice(body)
            .map_err(|e| AdapterError::new(400, format!("the scan request: {e}")))?;
        let url = crate::replication::endpoint::check_service_url(
            "registry.url",
            &req.registry.url,
            false,
        )
        .map_err(|e| AdapterError::new(422, e.to_string()))?;
        let repo = RepoName::parse(&req.artifact.repository)
            .map_err(|e| AdapterError::new(422, format!("artifact.repository: {e}")))?;
        let digest = Digest::parse(&req.artifact.digest)
            .map_err(|e| AdapterError::new(422, format!("artifact.digest: {e}")))?;
        if !CONSUMES
            .iter()
            .any(|t| same_type(t, &req.artifact.mime_type))
        {
            return Err(AdapterError::new(
                422,
                format!(
                    "artifact.mime_type {:?} is not scanned; this scanner takes {}",
                    req.artifact.mime_type,
                    CONSUMES.join(", ")
                ),
            ));
        }
        let (credential_type, user, secret) = parse_authorization(&req.registry.authorization)?;
        let row = RegistryRow::unsaved(url, "docker-registry", &credential_type, user);
        let upstream = Arc::new(Upstream::new(&row, &secret).map_err(AdapterError::from)?);
        let id = uuid::Uuid::new_v4().to_string();
        {
            let mut jobs = self.jobs.lock().expect("scan jobs lock");
            jobs.retain(|_, (_, at)| at.elapsed() < KEEP);
            jobs.insert(id.clone(), (Job::Running, Instant::now()));
        }
        let name = self.name.clone();
        let (reg, jobs, permits, job) = (
            self.reg.clone(),
            self.jobs.clone(),
            self.permits.clone(),
            id.clone(),
        );
        tokio::spawn(async move {
            let outcome = async {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::internal("the adapter is shutting down"))?;
                let local = scratch_repo(&repo)?;
                ensure_project(&reg, local.project()).await?;
                let m = reg
                    .pull_artifact(
                        upstream,
                        repo.as_str(),
                        &local,
                        &digest,
                        Arc::new(AtomicBool::new(false)),
                    )
                    .await?;
                let mut result = reg.scan_manifest(&local, &m, "scanner-adapter").await?;
                // The report names the artifact as the asking registry knows it.
                result.report["artifact"]["repository"] = Value::String(repo.to_string());
                result.report["scanner"]["name"] = Value::String(name);
                Ok::<Value, Error>(without_nulls(result.report))
            }
            .await;
            let state = match outcome {
                Ok(report) => Job::Done(report),
                Err(e) => {
                    tracing::warn!(scan = %job, repository = %repo, error = %e, "adapter scan failed");
                    Job::Failed(e.to_string())
                }
            };
            jobs.lock()
                .expect("scan jobs lock")
                .insert(job, (state, Instant::now()));
        });
        tracing::info!(scan = %id, repository = %req.artifact.repository, digest = %req.artifact.digest, "scan request accepted");
        Ok(id)
    }

    /// `GET /scan/{id}/report` with `accept` (the `Accept` header).
    pub fn report(
        &self,
        id: &str,
        accept: Option<&str>,
    ) -> std::result::Result<ReportAnswer, AdapterError> {
        let mime = match accept
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "*/*")
        {
            None => VULN_REPORT,
            Some(a) => [VULN_REPORT, HARBOR_VULN_REPORT]
                .into_iter()
                .find(|t| a.split(',').any(|one| same_type(one, t)))
                .ok_or_else(|| {
                    AdapterError::new(
                        501,
                        format!(
                            "this scanner produces {VULN_REPORT} and {HARBOR_VULN_REPORT}, not {a}"
                        ),
                    )
                })?,
        };
        let jobs = self.jobs.lock().expect("scan jobs lock");
        match jobs.get(id) {
            None => Err(AdapterError::new(404, format!("no scan {id}"))),
            Some((_, at)) if at.elapsed() >= KEEP => {
                Err(AdapterError::new(404, format!("no scan {id}")))
            }
            Some((Job::Running, _)) => Ok(ReportAnswer::Later(1)),
            Some((Job::Done(report), _)) => Ok(ReportAnswer::Ready(mime, report.clone())),
            Some((Job::Failed(why), _)) => Err(AdapterError::new(500, why.clone())),
        }
    }
}

/// `Basic base64(user:password)`, `Bearer token` or nothing, as an endpoint's credential
/// type, user and secret.
fn parse_authorization(raw: &str) -> std::result::Result<(String, String, String), AdapterError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(("basic".into(), String::new(), String::new()));
    }
    if let Some(token) = raw.strip_prefix("Bearer ").or(raw.strip_prefix("bearer ")) {
        return Ok(("oauth".into(), String::new(), token.trim().to_owned()));
    }
    if let Some(b64) = raw.strip_prefix("Basic ").or(raw.strip_prefix("basic ")) {
        let bad = || {
            AdapterError::new(
                422,
                "registry.authorization: Basic wants base64 of user:password",
            )
        };
        let pair = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| bad())?;
        let pair = String::from_utf8(pair).map_err(|_| bad())?;
        let (user, password) = pair.split_once(':').ok_or_else(bad)?;
        return Ok(("basic".into(), user.to_owned(), password.to_owned()));
    }
    Err(AdapterError::new(
        422,
        "registry.authorization: Basic or Bearer",
    ))
}

/// Where a pulled repository lives in the adapter's store: the same name, under
/// [`SCRATCH_PROJECT`] when it has no project segment.
fn scratch_repo(repo: &RepoName) -> Result<RepoName> {
    if repo.as_str().contains('/') {
        Ok(repo.clone())
    } else {
        RepoName::parse(&format!("{SCRATCH_PROJECT}/{repo}"))
    }
}

async fn ensure_project(reg: &Registry, name: &str) -> Result<()> {
    let req = crate::model::ProjectReq {
        project_name: name.to_owned(),
        ..Default::default()
    };
    match reg
        .create_project(&crate::auth::Principal::System, req)
        .await
    {
        Ok(_) | Err(Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorizations_and_nulls() {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("robot$p+s:pw:x")
        );
        assert_eq!(
            parse_authorization(&basic).unwrap(),
            ("basic".into(), "robot$p+s".into(), "pw:x".into())
        );
        assert_eq!(
            parse_authorization("Bearer t0k").unwrap(),
            ("oauth".into(), String::new(), "t0k".into())
        );
        assert_eq!(parse_authorization("Digest x").unwrap_err().status, 422);
        assert_eq!(
            without_nulls(json!({"a": null, "b": [{"c": null, "d": 1}]})),
            json!({"b": [{"d": 1}]})
        );
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
    }
}
