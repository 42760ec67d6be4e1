//! Scanner registrations (`/scanners`) and a project's scanner (`/projects/{p}/scanner`),
//! Harbor's paths and shapes. One `Registry` call per handler.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use registry_core::Registry;
use registry_core::scan::scanner::{
    IsDefault, ProjectScanner, ScannerPing, ScannerRegistration, ScannerRegistrationReq,
};

use super::handlers::json;
use super::{Body, Who, created, is_name, ok};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// This module's routes, merged into [`super::router`].
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list_scanners, create_scanner))
        .routes(routes!(ping_scanner))
        .routes(routes!(
            get_scanner,
            update_scanner,
            delete_scanner,
            set_default_scanner
        ))
        .routes(routes!(scanner_metadata))
        .routes(routes!(get_project_scanner, set_project_scanner))
        .routes(routes!(project_scanner_candidates))
}

#[utoipa::path(get, path = "/scanners", tag = "scanner", summary = "Scanner registrations, the built-in scanner first (system administrators)", responses((status = 200, body = Vec<ScannerRegistration>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn list_scanners(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.scanner_registrations(&p).await?)
}

#[utoipa::path(post, path = "/scanners", tag = "scanner", summary = "Register a scanner adapter; its access_credential is sealed and never shown back", request_body = ScannerRegistrationReq, responses((status = 201, description = "created; Location names it"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "name taken")))]
pub async fn create_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<ScannerRegistrationReq>,
) -> R {
    let r = reg.create_scanner_registration(&p, req).await?;
    Ok(created(format!("/api/v2.0/scanners/{}", r.uuid)))
}

#[utoipa::path(post, path = "/scanners/ping", tag = "scanner", summary = "Check that an adapter answers its metadata with these settings", request_body = ScannerPing, responses((status = 200, description = "it answers"), (status = 400, description = "bad input, or the adapter refused"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 503, description = "unreachable")))]
pub async fn ping_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<ScannerPing>,
) -> R {
    reg.ping_scanner(&p, req).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/scanners/{id}", tag = "scanner", summary = "A scanner registration (`builtin`: the built-in scanner)", responses((status = 200, body = ScannerRegistration), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn get_scanner(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.scanner_registration(&p, &id).await?)
}

#[utoipa::path(put, path = "/scanners/{id}", tag = "scanner", summary = "Change a registration (an omitted or masked credential is kept unless the URL changes)", request_body = ScannerRegistrationReq, responses((status = 200, description = "done"), (status = 400, description = "bad input, or the built-in scanner"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 409, description = "name taken")))]
pub async fn update_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(req): Body<ScannerRegistrationReq>,
) -> R {
    reg.update_scanner_registration(&p, &id, req).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/scanners/{id}", tag = "scanner", summary = "Delete a registration (not the built-in one, not the default)", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "the built-in scanner or the default")))]
pub async fn delete_scanner(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_scanner_registration(&p, &id).await?;
    Ok(ok())
}

#[utoipa::path(patch, path = "/scanners/{id}", tag = "scanner", summary = "Make a registration the system default (`{\"is_default\": true}`)", request_body = IsDefault, responses((status = 200, description = "done"), (status = 400, description = "bad input or disabled"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn set_default_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(req): Body<IsDefault>,
) -> R {
    reg.set_default_scanner(&p, &id, req.is_default).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/scanners/{id}/metadata", tag = "scanner", summary = "The adapter's metadata (its /api/v1/metadata)", responses((status = 200, body = serde_json::Value), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 503, description = "unreachable")))]
pub async fn scanner_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
) -> R {
    json(reg.scanner_metadata(&p, &id).await?)
}

#[utoipa::path(get, path = "/projects/{project}/scanner", tag = "scanner", summary = "The scanner a project scans with", responses((status = 200, body = ScannerRegistration), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_project_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(reg.project_scanner(&p, &project, is_name(&headers)).await?)
}

#[utoipa::path(put, path = "/projects/{project}/scanner", tag = "scanner", summary = "Choose a project's scanner (project admins): `{\"uuid\": ...}`", request_body = ProjectScanner, responses((status = 200, description = "done"), (status = 400, description = "disabled scanner"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn set_project_scanner(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
    Body(req): Body<ProjectScanner>,
) -> R {
    reg.set_project_scanner(&p, &project, is_name(&headers), req)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/scanner/candidates", tag = "scanner", summary = "The scanners a project may choose", responses((status = 200, body = Vec<ScannerRegistration>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_scanner_candidates(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(
        reg.project_scanner_candidates(&p, &project, is_name(&headers))
            .await?,
    )
}
