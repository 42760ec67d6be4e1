//! The client of Harbor's Pluggable Scanner API v1.2 (`/api/v1` of a scanner adapter, such as
//! Trivy's or `berth scanner serve`): scanning an artifact of this registry through a remote
//! adapter.
//!
//! [`Registry::adapter_scan`] makes a robot that may pull only the scanned repository (and
//! expires within the hour), reads the adapter's metadata, asks it to scan with the robot's
//! credentials (`Basic`, or a Bearer token of this registry's token service, as the adapter's
//! `harbor.scanner-adapter/registry-authorization-type` asks), polls the report while the
//! adapter answers `302` + `Refresh-After`, and deletes the robot whatever the outcome. Every
//! answer is read bounded; the adapter's `ErrorResponse` message names the cause of a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::report::VULN_REPORT;
use crate::auth::rbac::{Access, Action, Effect, RobotPermission};
use crate::auth::{Principal, ROBOT_PREFIX, RobotIdentity, password};
use crate::error::{Error, Result};
use crate::meta::StoredManifest;
use crate::meta::identity::RobotRow;
use crate::meta::scan::ScannerRow;
use crate::oci::RepoName;
use crate::registry::Registry;
use crate::replication::upstream::read_bounded;

/// Harbor's adapter report type (the same shape as [`VULN_REPORT`]).
pub const HARBOR_VULN_REPORT: &str =
    "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0";
/// The report types Berth reads, in order of preference.
pub const REPORT_TYPES: &[&str] = &[VULN_REPORT, HARBOR_VULN_REPORT];
pub const METADATA_TYPE: &str = "application/vnd.scanner.adapter.metadata+json; version=1.1";
pub const SCAN_REQUEST_TYPE: &str =
    "application/vnd.scanner.adapter.scan.request+json; version=1.1";
pub const SCAN_RESPONSE_TYPE: &str =
    "application/vnd.scanner.adapter.scan.response+json; version=1.0";
pub const ERROR_TYPE: &str = "application/vnd.scanner.adapter.error+json; version=1.0";
/// The metadata property naming how the adapter wants to pull: `Basic` or `Bearer`.
pub const AUTH_TYPE_PROPERTY: &str = "harbor.scanner-adapter/registry-authorization-type";
/// What a registration's `auth` may be (Harbor's).
pub const AUTH_TYPES: &[&str] = &["", "Basic", "Bearer", "X-ScannerAdapter-API-Key"];

/// The largest metadata, scan or error answer read.
const MAX_ANSWER: usize = 1 << 20;
/// The largest report read.
const MAX_REPORT: usize = 32 << 20;
/// How long one scan through an adapter may take, polling included.
const SCAN_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// `Refresh-After` is honoured within these bounds.
const MIN_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(30);
/// Images of an index scanned through an adapter, at most (as with the built-in scanner).
const MAX_CHILDREN: usize = 64;
/// A scanner robot's lifetime: the scan's timeout, rounded up.
const ROBOT_TTL_MS: i64 = 60 * 60 * 1000;

/// One adapter, ready to call.
pub(crate) struct AdapterClient {
    http: reqwest::Client,
    base: String,
    /// The header the registration's `auth` asks for, with its value.
    auth: Option<(&'static str, String)>,
}

/// What a report poll found.
pub(crate) enum Poll {
    Ready(Value),
    /// Not ready: ask again after this long.
    Later(Duration),
}

impl AdapterClient {
    /// A client for `url` (`scheme://host[:port][/path]`, validated) with `auth` and its opened
    /// `credential`.
    pub(crate) fn new(url: &str, auth: &str, credential: &str, skip_verify: bool) -> Result<Self> {
        let auth = match auth {
            "" => None,
            "Basic" => Some((
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(credential)
                ),
            )),
            "Bearer" => Some(("authorization", format!("Bearer {credential}"))),
            "X-ScannerAdapter-API-Key" => Some(("x-scanneradapter-api-key", credential.to_owned())),
            other => {
                return Err(Error::BadRequest {
                    reason: format!(
                        "scanner auth {other:?}: one of \"\", Basic, Bearer, X-ScannerAdapter-API-Key"
                    ),
                });
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .tls_danger_accept_invalid_certs(skip_verify)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::internal(format!("http client: {e}")))?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some((name, value)) = &self.auth {
            req = req.header(*name, value);
        }
        req
    }

    /// Send, mapping transport failures to `UNAVAILABLE` naming the adapter.
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<reqwest::Response> {
        req.send().await.map_err(|e| Error::Unavailable {
            reason: format!(
                "scanner adapter {}: {what}: {}",
                crate::units::redact_uri(&self.base),
                e.without_url()
            ),
        })
    }

    /// A failed answer as an error naming the adapter's message (its `ErrorResponse`).
    async fn failure(&self, res: reqwest::Response, what: &str) -> Error {
        let status = res.status().as_u16();
        let body = read_bounded(res, MAX_ANSWER).await.unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        let reason = format!(
            "scanner adapter {}: {what} answered {status}: {message}",
            crate::units::redact_uri(&self.base)
        );
        match status {
            401 | 403 => Error::BadRequest {
                reason: format!("{reason} (check the registration's auth and access_credential)"),
            },
            400 | 404 | 422 | 501 => Error::BadRequest { reason },
            _ => Error::Unavailable { reason },
        }
    }

    async fn json(&self, res: reqwest::Response, limit: usize, what: &str) -> Result<Value> {
        let body = read_bounded(res, limit)
            .await
            .map_err(|e| Error::Unavailable {
                reason: format!("scanner adapter {what}: {e}"),
            })?;
        serde_json::from_slice(&body).map_err(|e| Error::Unavailable {
            reason: format!("scanner adapter {what}: not JSON: {e}"),
        })
    }

    /// `GET /metadata`, checked for the fields Berth needs (`scanner`, `capabilities`).
    pub(crate) async fn metadata(&self) -> Result<Value> {
        let req = self.request(reqwest::Method::GET, "/metadata").header(
            reqwest::header::ACCEPT,
            format!("{METADATA_TYPE}, application/vnd.scanner.adapter.metadata+json; version=1.0"),
        );
        let res = self.send(req, "metadata").await?;
        if !res.status().is_success() {
            return Err(self.failure(res, "metadata").await);
        }
        let v = self.json(res, MAX_ANSWER, "metadata").await?;
        if !v["scanner"].is_object() || !v["capabilities"].is_array() {
            return Err(Error::Unavailable {
                reason: "scanner adapter metadata: no scanner or capabilities".into(),
            });
        }
        Ok(v)
    }

    /// `POST /scan`: the scan request's id.
    pub(crate) async fn scan(&self, request: &Value) -> Result<String> {
        let req = self
            .request(reqwest::Method::POST, "/scan")
            .header(reqwest::header::CONTENT_TYPE, SCAN_REQUEST_TYPE)
            .header(reqwest::header::ACCEPT, SCAN_RESPONSE_TYPE)
            .body(request.to_string());
        let res = self.send(req, "scan").await?;
        if !res.status().is_success() {
            return Err(self.failure(res, "scan").await);
        }
        let v = self.json(res, MAX_ANSWER, "scan").await?;
        v["id"]
            .as_str()
            .filter(|id| !id.is_empty() && id.len() <= 256)
            .map(str::to_owned)
            .ok_or_else(|| Error::Unavailable {
                reason: "scanner adapter scan: the answer has no id".into(),
            })
    }

    /// `GET /scan/{id}/report` of type `mime`.
    pub(crate) async fn report(&self, id: &str, mime: &str) -> Result<Poll> {
        // Ids are opaque: anything but unreserved characters is escaped.
        let escaped: String = id
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let path = format!("/scan/{escaped}/report");
        let req = self
            .request(reqwest::Method::GET, &path)
            .header(reqwest::header::ACCEPT, mime);
        let res = self.send(req, "report").await?;
        if res.status() == reqwest::StatusCode::FOUND {
            let after = res
                .headers()
                .get("refresh-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs);
            return Ok(Poll::Later(after.clamp(MIN_POLL, MAX_POLL)));
        }
        if !res.status().is_success() {
            return Err(self.failure(res, "report").await);
        }
        let v = self.json(res, MAX_REPORT, "report").await?;
        if !v.is_object() || !(v["vulnerabilities"].is_array() || v["vulnerabilities"].is_null()) {
            return Err(Error::Unavailable {
                reason: "scanner adapter report: not a vulnerability report".into(),
            });
        }
        Ok(Poll::Ready(v))
    }
}

/// The report types of `metadata` Berth reads, in Berth's order of preference.
pub(crate) fn wanted_types(metadata: &Value, artifact_type: &str) -> Vec<&'static str> {
    let mut produced: Vec<&str> = Vec::new();
    for cap in metadata["capabilities"].as_array().into_iter().flatten() {
        let kind = cap["type"].as_str().unwrap_or("vulnerability");
        let consumes = cap["consumes_mime_types"]
            .as_array()
            .is_some_and(|a| a.iter().any(|m| m.as_str() == Some(artifact_type)));
        if kind == "vulnerability" && consumes {
            produced.extend(
                cap["produces_mime_types"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
    }
    REPORT_TYPES
        .iter()
        .copied()
        .filter(|t| produced.iter().any(|p| same_type(p, t)))
        .collect()
}

/// Two MIME types with parameters, compared without regard to spacing and case.
pub(crate) fn same_type(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split(';')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

impl Registry {
    /// Make the robot a scan of `repo` pulls with: project level, `repository:scanner-pull`
    /// limited to `repo`, expiring within the hour. Its name says what it is for.
    async fn scanner_robot(
        &self,
        registration: &ScannerRow,
        repo: &RepoName,
    ) -> Result<(RobotRow, String)> {
        let project = self
            .meta
            .project_by_name(repo.project())
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("project {}", repo.project()),
            })?;
        let secret = password::random_secret(32);
        let now = self.now_ms();
        let short: String = registration
            .uuid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let permission = RobotPermission {
            kind: "project".into(),
            namespace: project.name.clone(),
            access: vec![Access {
                resource: "repository".into(),
                action: Action::ScannerPull,
                effect: Effect::Allow,
            }],
            repository: Some(repo.as_str().to_owned()),
        };
        let mut row = RobotRow {
            id: 0,
            name: format!(
                "{}+scanner-{short}-{}",
                project.name,
                password::random_secret(12).to_ascii_lowercase()
            ),
            description: format!(
                "pulls {repo} for scanner {:?}; deleted after the scan",
                registration.name
            ),
            level: "project".into(),
            project_id: Some(project.id),
            secret_hash: password::hash(&secret).await?,
            disabled: false,
            duration: 1,
            expires_at: now + ROBOT_TTL_MS,
            creator_type: "local".into(),
            creator_ref: "scanner".into(),
            permissions: serde_json::to_string(&[permission]).expect("permissions serialize"),
            created_at: now,
            updated_at: now,
        };
        let event = crate::events::NewEvent::new(
            "CREATE_ROBOT",
            "robot",
            format!("{ROBOT_PREFIX}{}", row.name),
            "create",
        )
        .project(project.id);
        row.id = self
            .with_events(vec![event], self.meta.create_robot(&row))
            .await?;
        Ok((row, secret))
    }

    async fn delete_scanner_robot(&self, row: &RobotRow) {
        let mut event = crate::events::NewEvent::new(
            "DELETE_ROBOT",
            "robot",
            format!("{ROBOT_PREFIX}{}", row.name),
            "delete",
        );
        if let Some(id) = row.project_id {
            event = event.project(id);
        }
        match self
            .with_events(vec![event], self.meta.delete_robot(row.id))
            .await
        {
            Ok(_) => self.access_changed(),
            // It expires within the hour anyway.
            Err(e) => {
                tracing::warn!(robot = %row.name, error = %e, "deleting a scanner robot failed")
            }
        }
    }

    /// The URL an adapter reaches this registry at: the internal address when the
    /// registration asks for it (or no external URL is configured), else the external URL.
    fn registry_url_for(&self, registration: &ScannerRow) -> Result<String> {
        let s = self.access_settings();
        let url = if registration.use_internal_addr {
            s.internal_url.clone().or_else(|| s.external_url.clone())
        } else {
            s.external_url.clone().or_else(|| s.internal_url.clone())
        };
        url.ok_or_else(|| Error::PreconditionFailed {
            reason: "a scanner adapter needs the URL it reaches this registry at: configure external_url or internal_url".into(),
        })
    }

    /// Scan `m` through `registration`'s adapter and store each report it gives (the first,
    /// Berth's preferred type, is returned). An index is scanned through the images it lists
    /// (each gets its reports; adapters take image manifests only) and gets the union of their
    /// findings, as with the built-in scanner.
    pub(crate) async fn scan_through_adapter(
        &self,
        registration: &ScannerRow,
        repo: &RepoName,
        m: &StoredManifest,
        start: i64,
        operator: &str,
    ) -> Result<super::report::ScanResult> {
        let parsed = crate::oci::manifest::parse(&m.content, Some(&m.media_type))?;
        if parsed.kind != crate::oci::manifest::ManifestKind::Index {
            return self
                .scan_image_through_adapter(registration, repo, m, start, operator)
                .await
                .map(|(_, done)| done);
        }
        let mut vulnerabilities: Vec<Value> = Vec::new();
        let mut scanner = Value::Null;
        let mut mime = VULN_REPORT.to_owned();
        let children = parsed
            .refs
            .iter()
            .filter(|r| r.kind == crate::oci::manifest::RefKind::Manifest)
            .take(MAX_CHILDREN);
        for child in children {
            let cm = self
                .get_manifest(repo, &crate::oci::Reference::Digest(child.digest.clone()))
                .await?;
            if crate::oci::manifest::parse(&cm.content, Some(&cm.media_type))?.kind
                == crate::oci::manifest::ManifestKind::Index
            {
                continue;
            }
            let (stored_as, done) = self
                .scan_image_through_adapter(registration, repo, &cm, self.now_ms(), operator)
                .await?;
            scanner = done.report["scanner"].clone();
            mime = stored_as;
            for v in done.report["vulnerabilities"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let key = |x: &Value| (x["id"].clone(), x["package"].clone(), x["version"].clone());
                if !vulnerabilities.iter().any(|x| key(x) == key(v)) {
                    vulnerabilities.push(v.clone());
                }
            }
        }
        let report = json!({
            "generated_at": crate::model::time(self.now_ms()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "artifact": { "repository": repo.as_str(), "digest": m.digest, "mime_type": m.media_type },
            "scanner": scanner,
            "vulnerabilities": vulnerabilities,
        });
        self.put_report(
            repo,
            m,
            (&registration.uuid, &mime),
            report,
            start,
            operator,
        )
        .await
    }

    /// [`Registry::scan_through_adapter`] of one image: the first report's type and result.
    async fn scan_image_through_adapter(
        &self,
        registration: &ScannerRow,
        repo: &RepoName,
        m: &StoredManifest,
        start: i64,
        operator: &str,
    ) -> Result<(String, super::report::ScanResult)> {
        let stop = AtomicBool::new(false);
        let mut first = None;
        for (mime, report) in self.adapter_scan(registration, repo, m, &stop).await? {
            let stored = self
                .put_report(
                    repo,
                    m,
                    (&registration.uuid, &mime),
                    report,
                    start,
                    operator,
                )
                .await?;
            first.get_or_insert((mime, stored));
        }
        first.ok_or_else(|| Error::Unavailable {
            reason: format!("scanner {:?} gave no report", registration.name),
        })
    }

    /// Scan `m` of `repo` with the adapter of `registration`; its reports by MIME type. See
    /// the module doc.
    pub(crate) async fn adapter_scan(
        &self,
        registration: &ScannerRow,
        repo: &RepoName,
        m: &StoredManifest,
        stop: &AtomicBool,
    ) -> Result<Vec<(String, Value)>> {
        let client = self.scanner_client(registration)?;
        let metadata = client.metadata().await?;
        let types = wanted_types(&metadata, &m.media_type);
        if types.is_empty() {
            return Err(Error::Unsupported {
                reason: format!(
                    "scanner {:?} produces no vulnerability report Berth reads for {}",
                    registration.name, m.media_type
                ),
            });
        }
        let registry_url = self.registry_url_for(registration)?;
        let (robot, secret) = self.scanner_robot(registration, repo).await?;
        // Deletes the robot if this scan is dropped before its end (a stop drops it).
        let mut guard = RobotGuard {
            reg: self.clone(),
            robot: Some(robot.clone()),
        };
        tracing::info!(repository = %repo, digest = %m.digest, scanner = %registration.name, robot = %format!("{ROBOT_PREFIX}{}", robot.name), "scanning through an adapter");
        let outcome = async {
            let bearer = metadata["properties"][AUTH_TYPE_PROPERTY].as_str() == Some("Bearer");
            let authorization = if bearer {
                let identity = Principal::Robot(RobotIdentity {
                    id: robot.id,
                    name: format!("{ROBOT_PREFIX}{}", robot.name),
                    level: robot.level.clone(),
                    permissions: serde_json::from_str(&robot.permissions).expect("written above"),
                });
                let token = self
                    .issue_token(&identity, None, &[format!("repository:{repo}:pull")])
                    .await?;
                format!("Bearer {}", token.token)
            } else {
                let pair = format!("{ROBOT_PREFIX}{}:{secret}", robot.name);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            };
            let tag = match self.meta.repository(repo.as_str()).await? {
                Some(r) => self
                    .meta
                    .artifact_tags(r.id, std::slice::from_ref(&m.digest))
                    .await?
                    .into_iter()
                    .next()
                    .map(|t| t.name),
                None => None,
            };
            let mut artifact = json!({
                "repository": repo.as_str(),
                "digest": m.digest,
                "mime_type": m.media_type,
            });
            if let Some(t) = tag {
                artifact["tag"] = Value::String(t);
            }
            let request = json!({
                "registry": { "url": registry_url, "authorization": authorization },
                "artifact": artifact,
                "enabled_capabilities": [{ "type": "vulnerability", "produces_mime_types": types }],
            });
            let id = client.scan(&request).await?;
            let deadline = tokio::time::Instant::now() + SCAN_TIMEOUT;
            let mut out = Vec::new();
            for mime in &types {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return Err(Error::Conflict {
                            reason: "the scan was stopped".into(),
                        });
                    }
                    match client.report(&id, mime).await? {
                        Poll::Ready(report) => {
                            out.push(((*mime).to_owned(), report));
                            break;
                        }
                        Poll::Later(wait) => {
                            if tokio::time::Instant::now() + wait > deadline {
                                return Err(Error::Unavailable {
                                    reason: format!(
                                        "scanner {:?} did not finish within {} minutes",
                                        registration.name,
                                        SCAN_TIMEOUT.as_secs() / 60
                                    ),
                                });
                            }
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
            }
            Ok(out)
        }
        .await;
        guard.robot = None;
        self.delete_scanner_robot(&robot).await;
        outcome
    }
}

/// A scan's robot, deleted on a task of its own when the scan is dropped before it deletes
/// it itself (a stopped scan is dropped mid-way).
struct RobotGuard {
    reg: Registry,
    robot: Option<RobotRow>,
}

impl Drop for RobotGuard {
    fn drop(&mut self) {
        if let Some(robot) = self.robot.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let reg = self.reg.clone();
            rt.spawn(async move { reg.delete_scanner_robot(&robot).await });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_types_follow_the_capabilities() {
        let md = json!({
            "scanner": {"name": "x"},
            "capabilities": [{
                "consumes_mime_types": ["application/vnd.oci.image.manifest.v1+json"],
                "produces_mime_types": [
                    "application/vnd.scanner.adapter.vuln.report.harbor+json;version=1.0",
                    "application/vnd.scanner.adapter.vuln.report.raw"
                ]
            }, {
                "type": "sbom",
                "consumes_mime_types": ["application/vnd.oci.image.manifest.v1+json"],
                "produces_mime_types": ["application/vnd.security.sbom.report+json; version=1.0"]
            }]
        });
        assert_eq!(
            wanted_types(&md, "application/vnd.oci.image.manifest.v1+json"),
            [HARBOR_VULN_REPORT]
        );
        assert!(wanted_types(&md, "application/vnd.oci.image.index.v1+json").is_empty());
        assert!(AdapterClient::new("http://a", "Digest", "", false).is_err());
    }
}
