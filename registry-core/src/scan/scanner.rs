//! Scanner registrations (`/api/v2.0/scanners`): the pluggable-scanner adapters this registry
//! scans with, in Harbor's wire format, beside the built-in scanner (registration `builtin`).
//!
//! System administrators manage registrations; the built-in one cannot be changed or deleted.
//! One registration is the system default (the built-in one until another is set); a project
//! may choose its own (`PUT /projects/{p}/scanner`, project admins), kept as its metadata key
//! `projectScanner`. A disabled or deleted choice falls back to the default. The
//! `access_credential` is sealed at rest under the operator's secret key, never logged, and
//! shown back as `*****`; an update that leaves it out or sends the mask keeps the stored one,
//! and a new URL without a new credential drops it (a credential only goes where it was given).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pluggable::{AUTH_TYPES, AdapterClient};
use super::report::{BUILTIN, builtin_scanner};
use crate::auth::Principal;
use crate::auth::rbac::{Action, ProjectResource, SystemResource};
use crate::error::{Error, Result};
use crate::meta::scan::ScannerRow;
use crate::model::time;
use crate::registry::Registry;
use crate::replication::endpoint::SECRET_MASK;
use crate::replication::endpoint::check_service_url;

/// The project metadata key of a project's scanner (Harbor's).
pub const PROJECT_SCANNER_KEY: &str = "projectScanner";

/// A registration as the API shows it (Harbor's `ScannerRegistration`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScannerRegistration {
    pub uuid: String,
    pub name: String,
    pub description: String,
    /// The adapter's base URL (its API is under `/api/v1`); empty for the built-in scanner.
    pub url: String,
    pub disabled: bool,
    pub is_default: bool,
    /// `""`, `Basic`, `Bearer` or `X-ScannerAdapter-API-Key`.
    pub auth: String,
    /// `*****` when one is stored.
    pub access_credential: String,
    #[serde(rename = "skip_certVerify")]
    pub skip_cert_verify: bool,
    pub use_internal_addr: bool,
    /// Berth: whether this is the built-in scanner (which cannot be changed or deleted).
    pub builtin: bool,
    pub adapter: String,
    pub vendor: String,
    pub version: String,
    pub health: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// `POST /scanners` and `PUT /scanners/{id}` (Harbor's `ScannerRegistrationReq`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScannerRegistrationReq {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub url: String,
    #[serde(default)]
    pub auth: String,
    /// `Basic`: `user:password`; `Bearer`: the token; `X-ScannerAdapter-API-Key`: the key.
    #[serde(default)]
    pub access_credential: Option<String>,
    #[serde(default, rename = "skip_certVerify")]
    pub skip_cert_verify: bool,
    #[serde(default)]
    pub use_internal_addr: bool,
    #[serde(default)]
    pub disabled: bool,
}

/// `POST /scanners/ping` (Harbor's `ScannerRegistrationSettings`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ScannerPing {
    #[serde(default)]
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub auth: String,
    #[serde(default)]
    pub access_credential: Option<String>,
}

/// `PATCH /scanners/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct IsDefault {
    pub is_default: bool,
}

/// `PUT /projects/{p}/scanner`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProjectScanner {
    pub uuid: String,
}

fn builtin_view(is_default: bool) -> ScannerRegistration {
    let s = builtin_scanner();
    ScannerRegistration {
        uuid: BUILTIN.into(),
        name: s.name.clone(),
        description: "Berth's built-in scanner: OS and language packages matched against the imported vulnerability database".into(),
        url: String::new(),
        disabled: false,
        is_default,
        auth: String::new(),
        access_credential: String::new(),
        skip_cert_verify: false,
        use_internal_addr: true,
        builtin: true,
        adapter: s.name,
        vendor: s.vendor,
        version: s.version,
        health: "healthy".into(),
        create_time: time(0),
        update_time: time(0),
    }
}

fn view(row: &ScannerRow) -> ScannerRegistration {
    ScannerRegistration {
        uuid: row.uuid.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        url: row.url.clone(),
        disabled: row.disabled,
        is_default: row.is_default,
        auth: row.auth.clone(),
        access_credential: if row.access_credential.is_empty() {
            String::new()
        } else {
            SECRET_MASK.into()
        },
        skip_cert_verify: row.skip_cert_verify,
        use_internal_addr: row.use_internal_addr,
        builtin: false,
        adapter: String::new(),
        vendor: String::new(),
        version: String::new(),
        health: String::new(),
        create_time: time(row.created_at),
        update_time: time(row.updated_at),
    }
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.len() > 255 {
        return Err(Error::BadRequest {
            reason: "a scanner registration needs a name of 1-255 characters".into(),
        });
    }
    if n.eq_ignore_ascii_case(BUILTIN) || n == builtin_scanner().name {
        return Err(Error::AlreadyExists {
            what: format!("scanner {n:?}"),
        });
    }
    Ok(n.to_owned())
}

fn check_auth(auth: &str, credential: &str) -> Result<()> {
    if !AUTH_TYPES.contains(&auth) {
        return Err(Error::BadRequest {
            reason: format!(
                "scanner auth {auth:?}: one of \"\", Basic, Bearer, X-ScannerAdapter-API-Key"
            ),
        });
    }
    if !auth.is_empty() && credential.is_empty() {
        return Err(Error::BadRequest {
            reason: format!("scanner auth {auth} needs an access_credential"),
        });
    }
    if auth == "Basic" && !credential.contains(':') {
        return Err(Error::BadRequest {
            reason: "a Basic access_credential is user:password".into(),
        });
    }
    Ok(())
}

fn not_found(uuid: &str) -> Error {
    Error::NotFound {
        what: format!("scanner {uuid}"),
    }
}

/// The registration a project scans with: its own choice when that exists and is enabled, else
/// the enabled default; `None` is the built-in scanner.
fn effective<'a>(choice: Option<&str>, rows: &'a [ScannerRow]) -> Option<&'a ScannerRow> {
    let usable = |r: &&ScannerRow| !r.disabled;
    match choice {
        Some(BUILTIN) => None,
        Some(uuid) => rows
            .iter()
            .filter(usable)
            .find(|r| r.uuid == uuid)
            .or_else(|| rows.iter().filter(usable).find(|r| r.is_default)),
        None => rows.iter().filter(usable).find(|r| r.is_default),
    }
}

impl Registry {
    /// Every registration, through a short cache (pulls under `prevent_vul` read it).
    pub(crate) async fn scanner_rows(&self) -> Result<Arc<Vec<ScannerRow>>> {
        if let Some(hit) = self.trust.scanners.get(&()).await {
            return Ok(hit);
        }
        let rows = Arc::new(self.meta.scanners().await?);
        self.trust.scanners.insert((), rows.clone()).await;
        Ok(rows)
    }

    async fn scanners_changed(&self) {
        self.trust.scanners.invalidate_all();
    }

    /// The registration `project_id` scans with (`None`: the built-in scanner).
    pub(crate) async fn project_registration(&self, project_id: i64) -> Result<Option<ScannerRow>> {
        let trust = self.project_trust(project_id, false).await?;
        let rows = self.scanner_rows().await?;
        Ok(effective(trust.scanner.as_deref(), &rows).cloned())
    }

    /// The registration id `project_id` scans with (`builtin` for the built-in scanner): the
    /// `registration` its reports are stored under.
    pub(crate) async fn registration_id(&self, project_id: i64) -> Result<String> {
        Ok(self
            .project_registration(project_id)
            .await?
            .map_or_else(|| BUILTIN.to_owned(), |r| r.uuid))
    }

    /// The registration id of the system's default scanner (`builtin` until another is the
    /// default): the reports the security hub and CVE exports read.
    pub(crate) async fn default_registration_id(&self) -> Result<String> {
        let rows = self.scanner_rows().await?;
        Ok(effective(None, &rows).map_or_else(|| BUILTIN.to_owned(), |r| r.uuid.clone()))
    }

    /// [`Registry::registration_id`] of the project of `repo`.
    pub(crate) async fn registration_id_for(&self, repo: &crate::oci::RepoName) -> Result<String> {
        Ok(self
            .registration_for(repo)
            .await?
            .map_or_else(|| BUILTIN.to_owned(), |r| r.uuid))
    }

    /// The registration the project of `repo` scans with (`None`: the built-in scanner).
    pub(crate) async fn registration_for(
        &self,
        repo: &crate::oci::RepoName,
    ) -> Result<Option<ScannerRow>> {
        match self.meta.project_by_name(repo.project()).await? {
            Some(project) => self.project_registration(project.id).await,
            None => Ok(None),
        }
    }

    async fn scanner_row(&self, uuid: &str) -> Result<ScannerRow> {
        self.meta
            .scanner(uuid)
            .await?
            .ok_or_else(|| not_found(uuid))
    }

    fn open_credential(&self, row: &ScannerRow) -> Result<String> {
        if row.access_credential.is_empty() {
            Ok(String::new())
        } else {
            self.secrets.open(&row.access_credential)
        }
    }

    /// A client for the adapter of `row`.
    pub(crate) fn scanner_client(&self, row: &ScannerRow) -> Result<AdapterClient> {
        AdapterClient::new(
            &row.url,
            &row.auth,
            &self.open_credential(row)?,
            row.skip_cert_verify,
        )
    }

    async fn default_is_builtin(&self) -> Result<bool> {
        Ok(!self.scanner_rows().await?.iter().any(|r| r.is_default))
    }

    /// Every registration, the built-in one first (system administrators).
    pub async fn scanner_registrations(&self, p: &Principal) -> Result<Vec<ScannerRegistration>> {
        self.require_system(p, SystemResource::Scanner, Action::List)?;
        let rows = self.meta.scanners().await?;
        let mut out = vec![builtin_view(!rows.iter().any(|r| r.is_default))];
        out.extend(rows.iter().map(view));
        Ok(out)
    }

    pub async fn scanner_registration(
        &self,
        p: &Principal,
        uuid: &str,
    ) -> Result<ScannerRegistration> {
        self.require_system(p, SystemResource::Scanner, Action::Read)?;
        if uuid == BUILTIN {
            return Ok(builtin_view(self.default_is_builtin().await?));
        }
        Ok(view(&self.scanner_row(uuid).await?))
    }

    /// Register an adapter (system administrators). Nothing is contacted: ping does that.
    pub async fn create_scanner_registration(
        &self,
        p: &Principal,
        req: ScannerRegistrationReq,
    ) -> Result<ScannerRegistration> {
        self.require_system(p, SystemResource::Scanner, Action::Create)?;
        let name = check_name(&req.name)?;
        let url = check_service_url("scanner url", &req.url, true)?;
        let credential = req.access_credential.unwrap_or_default();
        check_auth(&req.auth, &credential)?;
        self.check_writable().await?;
        let now = self.now_ms();
        let row = ScannerRow {
            uuid: uuid::Uuid::new_v4().to_string(),
            name,
            description: req.description,
            url,
            auth: req.auth,
            access_credential: if credential.is_empty() {
                String::new()
            } else {
                self.secrets.seal(&credential)
            },
            skip_cert_verify: req.skip_cert_verify,
            use_internal_addr: req.use_internal_addr,
            disabled: req.disabled,
            is_default: false,
            created_at: now,
            updated_at: now,
        };
        self.meta.create_scanner(&row).await?;
        self.scanners_changed().await;
        tracing::info!(scanner = %row.uuid, name = %row.name, url = %crate::units::redact_uri(&row.url), "scanner registered");
        Ok(view(&row))
    }

    /// Change a registration (not the built-in one). Leaving `access_credential` out or sending
    /// the mask keeps the stored one unless the URL changes; the default cannot be disabled.
    pub async fn update_scanner_registration(
        &self,
        p: &Principal,
        uuid: &str,
        req: ScannerRegistrationReq,
    ) -> Result<ScannerRegistration> {
        self.require_system(p, SystemResource::Scanner, Action::Update)?;
        if uuid == BUILTIN {
            return Err(Error::BadRequest {
                reason: "the built-in scanner cannot be changed".into(),
            });
        }
        let old = self.scanner_row(uuid).await?;
        let mut row = old.clone();
        row.name = check_name(&req.name)?;
        row.description = req.description;
        row.url = check_service_url("scanner url", &req.url, true)?;
        row.auth = req.auth;
        row.skip_cert_verify = req.skip_cert_verify;
        row.use_internal_addr = req.use_internal_addr;
        row.disabled = req.disabled;
        let credential = match req.access_credential.as_deref() {
            Some(c) if c != SECRET_MASK => c.to_owned(),
            _ if row.url != old.url => String::new(),
            _ => self.open_credential(&old)?,
        };
        check_auth(&row.auth, &credential)?;
        if row.disabled && row.is_default {
            return Err(Error::BadRequest {
                reason: "the default scanner cannot be disabled; make another the default first"
                    .into(),
            });
        }
        row.access_credential = if credential.is_empty() {
            String::new()
        } else if credential == self.open_credential(&old)? && !old.access_credential.is_empty() {
            old.access_credential.clone()
        } else {
            self.secrets.seal(&credential)
        };
        self.check_writable().await?;
        row.updated_at = self.now_ms().max(old.updated_at + 1);
        if !self.meta.update_scanner(&row).await? {
            return Err(not_found(uuid));
        }
        self.scanners_changed().await;
        tracing::info!(scanner = %uuid, "scanner registration updated");
        Ok(view(&row))
    }

    /// Delete a registration: not the built-in one, not the default. Projects that chose it
    /// scan with the default from then on.
    pub async fn delete_scanner_registration(&self, p: &Principal, uuid: &str) -> Result<()> {
        self.require_system(p, SystemResource::Scanner, Action::Delete)?;
        if uuid == BUILTIN {
            return Err(Error::PreconditionFailed {
                reason: "the built-in scanner cannot be deleted".into(),
            });
        }
        let row = self.scanner_row(uuid).await?;
        if row.is_default {
            return Err(Error::PreconditionFailed {
                reason: format!(
                    "scanner {:?} is the default; make another the default first",
                    row.name
                ),
            });
        }
        self.check_writable().await?;
        if !self.meta.delete_scanner(uuid).await? {
            return Err(not_found(uuid));
        }
        self.scanners_changed().await;
        tracing::info!(scanner = %uuid, "scanner registration deleted");
        Ok(())
    }

    /// `PATCH /scanners/{id}` `{"is_default": true}`: make it the system default (`false` on
    /// the default makes the built-in scanner the default again).
    pub async fn set_default_scanner(&self, p: &Principal, uuid: &str, on: bool) -> Result<()> {
        self.require_system(p, SystemResource::Scanner, Action::Update)?;
        self.check_writable().await?;
        let target = match (uuid, on) {
            (BUILTIN, true) => None,
            (BUILTIN, false) => {
                return Err(Error::BadRequest {
                    reason: "make another scanner the default instead".into(),
                });
            }
            (u, true) => {
                if self.scanner_row(u).await?.disabled {
                    return Err(Error::BadRequest {
                        reason: "a disabled scanner cannot be the default".into(),
                    });
                }
                Some(u)
            }
            (u, false) => {
                if !self.scanner_row(u).await?.is_default {
                    return Ok(());
                }
                None
            }
        };
        if !self.meta.set_default_scanner(target).await? {
            return Err(not_found(uuid));
        }
        self.scanners_changed().await;
        tracing::info!(scanner = %target.unwrap_or(BUILTIN), "default scanner set");
        Ok(())
    }

    /// Check that an adapter answers its metadata with the given settings (system
    /// administrators). Failures are `BAD_REQUEST` or `UNAVAILABLE` naming the cause.
    pub async fn ping_scanner(&self, p: &Principal, req: ScannerPing) -> Result<()> {
        self.require_system(p, SystemResource::Scanner, Action::Read)?;
        let url = check_service_url("scanner url", &req.url, true)?;
        let credential = req.access_credential.unwrap_or_default();
        if credential == SECRET_MASK {
            return Err(Error::BadRequest {
                reason: "ping needs the access_credential itself, not the mask".into(),
            });
        }
        check_auth(&req.auth, &credential)?;
        AdapterClient::new(&url, &req.auth, &credential, false)?
            .metadata()
            .await
            .map(drop)
    }

    /// The adapter's metadata (`GET /scanners/{id}/metadata`); the built-in scanner's own.
    pub async fn scanner_metadata(&self, p: &Principal, uuid: &str) -> Result<serde_json::Value> {
        self.require_system(p, SystemResource::Scanner, Action::Read)?;
        if uuid == BUILTIN {
            return self.adapter_metadata("Basic").await;
        }
        let row = self.scanner_row(uuid).await?;
        self.scanner_client(&row)?.metadata().await
    }

    /// The scanner of a project (`GET /projects/{p}/scanner`): anyone who may read the
    /// project's scanner (members).
    pub async fn project_scanner(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
    ) -> Result<ScannerRegistration> {
        let access = self
            .require_project(p, project, is_name, ProjectResource::Scanner, Action::Read)
            .await?;
        Ok(match self.project_registration(access.project.id).await? {
            Some(row) => view(&row),
            None => builtin_view(self.default_is_builtin().await?),
        })
    }

    /// Choose a project's scanner (project admins): a registration's uuid, or `builtin`.
    pub async fn set_project_scanner(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        req: ProjectScanner,
    ) -> Result<()> {
        let access = self
            .require_project(
                p,
                project,
                is_name,
                ProjectResource::Scanner,
                Action::Create,
            )
            .await?;
        if req.uuid != BUILTIN && self.scanner_row(&req.uuid).await?.disabled {
            return Err(Error::BadRequest {
                reason: "a disabled scanner cannot be chosen".into(),
            });
        }
        self.check_writable().await?;
        self.meta
            .set_project_metadata(
                access.project.id,
                &[(PROJECT_SCANNER_KEY.to_owned(), req.uuid.clone())],
                self.now_ms(),
            )
            .await?;
        self.trust.forget(access.project.id).await;
        tracing::info!(project = %access.project.name, scanner = %req.uuid, "project scanner set");
        Ok(())
    }

    /// The registrations a project may choose (`GET /projects/{p}/scanner/candidates`): the
    /// enabled ones and the built-in one.
    pub async fn project_scanner_candidates(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
    ) -> Result<Vec<ScannerRegistration>> {
        self.require_project(
            p,
            project,
            is_name,
            ProjectResource::Scanner,
            Action::Create,
        )
        .await?;
        let rows = self.meta.scanners().await?;
        let mut out = vec![builtin_view(!rows.iter().any(|r| r.is_default))];
        out.extend(rows.iter().filter(|r| !r.disabled).map(view));
        Ok(out)
    }

    /// Seal every stored scanner credential under the current key (see
    /// [`Registry::reseal_secrets`]).
    pub(crate) async fn reseal_scanner_secrets(&self) -> Result<usize> {
        let mut n = 0;
        for mut row in self.meta.scanners().await? {
            if !row.access_credential.is_empty()
                && self.secrets.needs_reseal(&row.access_credential)
            {
                row.access_credential = self
                    .secrets
                    .seal(&self.secrets.open(&row.access_credential)?);
                self.meta.update_scanner(&row).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(uuid: &str, default: bool, disabled: bool) -> ScannerRow {
        ScannerRow {
            uuid: uuid.into(),
            name: uuid.into(),
            description: String::new(),
            url: "http://a".into(),
            auth: String::new(),
            access_credential: String::new(),
            skip_cert_verify: false,
            use_internal_addr: false,
            disabled,
            is_default: default,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn the_project_choice_then_the_default() {
        let rows = [
            row("a", false, false),
            row("b", true, false),
            row("c", false, true),
        ];
        let pick = |c: Option<&str>| effective(c, &rows).map(|r| r.uuid.as_str());
        assert_eq!(pick(None), Some("b"));
        assert_eq!(pick(Some("a")), Some("a"));
        assert_eq!(pick(Some(BUILTIN)), None);
        assert_eq!(pick(Some("c")), Some("b"), "disabled: the default");
        assert_eq!(pick(Some("gone")), Some("b"), "deleted: the default");
        assert_eq!(effective(None, &[row("a", false, false)]), None);
        assert!(check_auth("Basic", "nocolon").is_err());
        assert!(check_auth("Bearer", "").is_err());
        assert!(check_auth("X-ScannerAdapter-API-Key", "k").is_ok());
        assert!(check_name("builtin").is_err());
    }
}
