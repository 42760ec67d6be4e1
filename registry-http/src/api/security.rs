//! Scans and what is built on them, Harbor's paths and shapes: an artifact's scan and its stop,
//! scan all (`/system/scanAll/…`, `/scans/…/metrics`), the security hub (`/vul/summary`,
//! `/vuls`), CVE export (`/export/cve…`) and the vulnerability database (`/system/vulndb`).
//! One `Registry` call per handler.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use registry_core::Error;
use registry_core::Registry;
use registry_core::model::JobSchedule;
use registry_core::scan::hub::{
    CveExportExecution, CveExportReq, SecuritySummary, VulnerabilityItem,
};
use registry_core::scan::jobs::{ScanAllStats, ScanType};
use serde::Deserialize;

use super::handlers::{id_param, image_ref, json};
use super::{Body, Params, Who, ok, paged};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// The largest vulnerability database upload (an OSV zip).
const MAX_VULNDB_UPLOAD: u64 = 2 << 30;

/// This module's routes, merged into [`super::router`].
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(scan_artifact))
        .routes(routes!(stop_scan_artifact))
        .routes(routes!(scan_log))
        .routes(routes!(
            get_scan_all_schedule,
            create_scan_all_schedule,
            update_scan_all_schedule
        ))
        .routes(routes!(stop_scan_all))
        .routes(routes!(scan_all_metrics))
        .routes(routes!(scan_schedule_metrics))
        .routes(routes!(security_summary))
        .routes(routes!(security_vulnerabilities))
        .routes(routes!(export_cve))
        .routes(routes!(export_cve_execution))
        .routes(routes!(export_cve_executions))
        .routes(routes!(export_cve_download))
        .routes(routes!(get_vulndb, import_vulndb))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScanReq {
    #[serde(default)]
    scan_type: Option<String>,
}

/// The optional `{"scan_type": …}` body of a scan or its stop.
fn scan_type(body: &[u8]) -> ApiResult<ScanType> {
    // The body is optional (Harbor's default scan type is "vulnerability").
    let req: ScanReq = if body.iter().all(u8::is_ascii_whitespace) {
        ScanReq::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Error::BadRequest {
            reason: format!("invalid JSON body: {e}"),
        })?
    };
    Ok(ScanType::parse(req.scan_type.as_deref())?)
}

#[utoipa::path(post, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/scan", tag = "scan", summary = "Queue a scan of an artifact: vulnerabilities (the default; the report appears in scan_overview and …/additions/vulnerabilities), or {\"scan_type\":\"sbom\"}: its SBOM (SPDX 2.3 + CycloneDX 1.5) as an sbom.harbor accessory", request_body = serde_json::Value, responses((status = 202, description = "queued"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 405, description = "this scan type or artifact is not supported"), (status = 409, description = "a scan of this artifact is already queued or running")))]
pub async fn scan_artifact(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> R {
    let kind = scan_type(&body)?;
    reg.start_scan(&p, &image_ref(&project, &repo, &reference)?, kind)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(post, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/scan/stop", tag = "scan", summary = "Stop the queued or running scan of an artifact ({\"scan_type\": …}, vulnerability by default)", request_body = serde_json::Value, responses((status = 202, description = "stopping"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found, not visible, or no scan running")))]
pub async fn stop_scan_artifact(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> R {
    let kind = scan_type(&body)?;
    reg.stop_scan(&p, &image_ref(&project, &repo, &reference)?, kind)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/scan/{report_id}/log", tag = "scan", summary = "The log of the artifact's latest scan job (text): what it did, and why it failed (those who may scan)", responses((status = 200, description = "text/plain"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found, not visible, or never scanned by a job")))]
pub async fn scan_log(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference, _report_id)): Path<(String, String, String, String)>,
) -> R {
    let log = reg
        .scan_log(&p, &image_ref(&project, &repo, &reference)?)
        .await?;
    let mut res = log.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

#[utoipa::path(get, path = "/system/scanAll/schedule", tag = "scanAll", summary = "The scan all schedule", responses((status = 200, body = JobSchedule), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn get_scan_all_schedule(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.scan_all_schedule(&p).await?)
}

#[utoipa::path(post, path = "/system/scanAll/schedule", tag = "scanAll", summary = "Scan every artifact now (type Manual) or set the schedule", request_body = JobSchedule, responses((status = 201, description = "started or scheduled"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "scan all is already running")))]
pub async fn create_scan_all_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<JobSchedule>,
) -> R {
    reg.set_scan_all_schedule(&p, &req).await?;
    Ok(StatusCode::CREATED.into_response())
}

#[utoipa::path(put, path = "/system/scanAll/schedule", tag = "scanAll", summary = "Change the scan all schedule (Manual scans now)", request_body = JobSchedule, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "scan all is already running")))]
pub async fn update_scan_all_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<JobSchedule>,
) -> R {
    reg.set_scan_all_schedule(&p, &req).await?;
    Ok(ok())
}

#[utoipa::path(post, path = "/system/scanAll/stop", tag = "scanAll", summary = "Stop the running scan all", responses((status = 202, description = "stopping"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "none running")))]
pub async fn stop_scan_all(State(reg): State<Registry>, Who(p): Who) -> R {
    reg.stop_scan_all(&p).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

#[utoipa::path(get, path = "/scans/all/metrics", tag = "scanAll", summary = "Progress of the latest scan all", responses((status = 200, body = ScanAllStats), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn scan_all_metrics(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.scan_all_metrics(&p, false).await?)
}

#[utoipa::path(get, path = "/scans/schedule/metrics", tag = "scanAll", summary = "Progress of the latest scheduled scan all", responses((status = 200, body = ScanAllStats), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn scan_schedule_metrics(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.scan_all_metrics(&p, true).await?)
}

/// A boolean query parameter (absent: false).
fn flag(q: &Params, k: &str) -> ApiResult<bool> {
    match q.get(k) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(Error::BadRequest {
            reason: format!("{k} must be true or false, not {v:?}"),
        }
        .into()),
    }
}

#[utoipa::path(get, path = "/vul/summary", tag = "securityhub", summary = "Counts of every finding by severity, scanned and total artifacts; with_dangerous_cve and with_dangerous_artifact add the worst five (system administrators)", responses((status = 200, body = SecuritySummary), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn security_summary(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    let (cves, artifacts) = (
        flag(&q, "with_dangerous_cve")?,
        flag(&q, "with_dangerous_artifact")?,
    );
    json(reg.security_summary(&p, cves, artifacts).await?)
}

#[utoipa::path(get, path = "/vuls", tag = "securityhub", summary = "Findings across artifacts, most severe first (system administrators); q keys cve_id, severity, cvss_score_v3 ([min~max]), project_id, repository_name, package, tag, digest", responses((status = 200, body = Vec<VulnerabilityItem>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn security_vulnerabilities(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
) -> R {
    flag(&q, "tune_count")?;
    flag(&q, "with_tag")?;
    Ok(paged(
        &uri,
        reg.security_vulnerabilities(&p, &q.list()?).await?,
    ))
}

#[utoipa::path(post, path = "/export/cve", tag = "scan data export", summary = "Export the findings of projects as CSV, through a job (export-cve on each project)", request_body = CveExportReq, responses((status = 200, description = "queued: {\"id\": execution id}"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "no such project")))]
pub async fn export_cve(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<CveExportReq>,
) -> R {
    let id = reg.start_cve_export(&p, req).await?;
    json(serde_json::json!({ "id": id }))
}

#[utoipa::path(get, path = "/export/cve/execution/{execution_id}", tag = "scan data export", summary = "A CVE export of the caller's", responses((status = 200, body = CveExportExecution), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 404, description = "not found")))]
pub async fn export_cve_execution(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
) -> R {
    json(reg.cve_export_execution(&p, id_param(&id)?).await?)
}

#[utoipa::path(get, path = "/export/cve/executions", tag = "scan data export", summary = "The caller's CVE exports, newest first", responses((status = 200, description = "{\"items\": [...]}"), (status = 401, description = "credentials needed")))]
pub async fn export_cve_executions(State(reg): State<Registry>, Who(p): Who) -> R {
    json(serde_json::json!({ "items": reg.cve_export_executions(&p).await? }))
}

#[utoipa::path(get, path = "/export/cve/download/{execution_id}", tag = "scan data export", summary = "The CSV of a finished CVE export of the caller's (kept a day)", responses((status = 200, description = "text/csv"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 404, description = "not found, not finished, or expired")))]
pub async fn export_cve_download(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
) -> R {
    let (name, csv) = reg.cve_export_download(&p, id_param(&id)?).await?;
    let mut res = csv.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/system/vulndb", tag = "scan", summary = "The vulnerability database: when it was last imported (vulnerability-database-updated-at) and what it holds", responses((status = 200, description = "{updated_at, advisories, rows}"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn get_vulndb(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.vulndb_status(&p).await?)
}

#[utoipa::path(put, path = "/system/vulndb", tag = "scan", summary = "Import OSV advisories: the body is an OSV zip (as OSV publishes per ecosystem) or one OSV JSON record, up to 2 GiB (system administrators)", request_body(content = Vec<u8>, content_type = "application/zip"), responses((status = 200, description = "imported: counts"), (status = 400, description = "not OSV data"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 413, description = "too large")))]
pub async fn import_vulndb(State(reg): State<Registry>, Who(p): Who, body: axum::body::Body) -> R {
    let mut stream = crate::oci::Ctx::stream(body);
    json(
        reg.import_vulndb_upload(&p, &mut stream, MAX_VULNDB_UPLOAD)
            .await?,
    )
}
