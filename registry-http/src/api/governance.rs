//! Quotas, garbage collection and configuration: one `Registry` call per operation.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use registry_core::Registry;
use registry_core::model::{JobSchedule, QuotaUpdateReq};

use super::governance_audit::text;
use super::handlers::id_param;
use super::{Body, Params, Who, created, ok, paged};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// Garbage-collection defaults (grace period, upload age) the server was configured with.
#[derive(Clone, Debug, Default)]
pub struct GcDefaults(pub registry_core::gc::GcOptions);

// ---- quotas ------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/quotas", tag = "quota", summary = "List quotas (reference=project&reference_id=ID for one project)", responses((status = 200, body = Vec<registry_core::model::Quota>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn list_quotas(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let page = reg
        .quotas(&p, q.get("reference"), q.get("reference_id"), &q.list()?)
        .await?;
    Ok(paged(&uri, page))
}

#[utoipa::path(get, path = "/quotas/{id}", tag = "quota", summary = "One quota", params(("id" = i64, Path)), responses((status = 200, body = registry_core::model::Quota), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_quota(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    Ok(Json(reg.quota(&p, id_param(&id)?).await?).into_response())
}

#[utoipa::path(put, path = "/quotas/{id}", tag = "quota", summary = "Change a quota's storage limit (-1 unlimited)", params(("id" = i64, Path)), request_body = QuotaUpdateReq, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn update_quota(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(req): Body<QuotaUpdateReq>,
) -> R {
    reg.set_quota(&p, id_param(&id)?, req.hard.storage).await?;
    Ok(ok())
}

// ---- garbage collection ------------------------------------------------------------------------

#[utoipa::path(get, path = "/system/gc", tag = "gc", summary = "GC runs, newest first", responses((status = 200, body = Vec<registry_core::model::ExecHistory>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn gc_history(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.gc_history(&p, &q.list()?).await?))
}

#[utoipa::path(get, path = "/system/gc/{gc_id}", tag = "gc", summary = "One GC run", params(("gc_id" = i64, Path)), responses((status = 200, body = registry_core::model::ExecHistory), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn gc_run(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    Ok(Json(reg.gc_run(&p, id_param(&id)?).await?).into_response())
}

#[utoipa::path(put, path = "/system/gc/{gc_id}", tag = "gc", summary = "Stop a GC run", params(("gc_id" = i64, Path)), responses((status = 200, description = "stopping"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "already finished")))]
pub async fn stop_gc(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.stop_gc(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/system/gc/{gc_id}/log", tag = "gc", summary = "The log of a GC run (text)", params(("gc_id" = i64, Path)), responses((status = 200, body = String, content_type = "text/plain"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn gc_log(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    text(reg.gc_log(&p, id_param(&id)?).await?)
}

#[utoipa::path(get, path = "/system/gc/schedule", tag = "gc", summary = "The GC schedule", responses((status = 200, body = JobSchedule), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn get_gc_schedule(State(reg): State<Registry>, Who(p): Who) -> R {
    Ok(Json(reg.gc_schedule(&p).await?).into_response())
}

#[utoipa::path(post, path = "/system/gc/schedule", tag = "gc", summary = "Run GC now (type Manual) or set its schedule; parameters delete_untagged, dry_run, workers", request_body = JobSchedule, responses((status = 201, description = "started or scheduled"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "a GC is already running")))]
pub async fn create_gc_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    defaults: Option<axum::Extension<GcDefaults>>,
    Body(req): Body<JobSchedule>,
) -> R {
    let defaults = defaults.map(|d| d.0.0).unwrap_or_default();
    Ok(match reg.set_gc_schedule(&p, &req, &defaults).await? {
        Some(id) => created(format!("/api/v2.0/system/gc/{id}")),
        None => StatusCode::CREATED.into_response(),
    })
}

#[utoipa::path(put, path = "/system/gc/schedule", tag = "gc", summary = "Change the GC schedule (Manual runs now)", request_body = JobSchedule, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "a GC is already running")))]
pub async fn update_gc_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    defaults: Option<axum::Extension<GcDefaults>>,
    Body(req): Body<JobSchedule>,
) -> R {
    let defaults = defaults.map(|d| d.0.0).unwrap_or_default();
    reg.set_gc_schedule(&p, &req, &defaults).await?;
    Ok(ok())
}

// ---- configuration -----------------------------------------------------------------------------

#[utoipa::path(get, path = "/configurations", tag = "system", summary = "Settings as {key: {value, editable}}", responses((status = 200, body = serde_json::Value), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn get_configurations(State(reg): State<Registry>, Who(p): Who) -> R {
    Ok(Json(reg.configurations(&p).await?).into_response())
}

#[utoipa::path(put, path = "/configurations", tag = "system", summary = "Change settings (read_only)", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn put_configurations(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<serde_json::Map<String, serde_json::Value>>,
) -> R {
    reg.update_configurations(&p, &req).await?;
    Ok(ok())
}
