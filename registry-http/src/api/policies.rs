//! Policies: immutable tag rules (`/projects/{p}/immutabletagrules`) and tag retention
//! (`/retentions…`), Harbor's paths and shapes. One `Registry` call per handler.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use registry_core::Registry;
use registry_core::model::{PolicyRule, RetentionPolicy};
use serde::Deserialize;

use super::handlers::id_param;
use super::{Body, Params, Who, api_path, created, is_name, ok, paged};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// This module's routes, merged into [`super::router`].
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list_immutable_rules, create_immutable_rule))
        .routes(routes!(update_immutable_rule, delete_immutable_rule))
        .routes(routes!(retention_metadatas))
        .routes(routes!(create_retention))
        .routes(routes!(get_retention, update_retention, delete_retention))
        .routes(routes!(trigger_retention, list_retention_executions))
        .routes(routes!(operate_retention_execution))
        .routes(routes!(list_retention_tasks))
        .routes(routes!(retention_task_log))
}

// ---- immutable tag rules ---------------------------------------------------------------------

#[utoipa::path(get, path = "/projects/{project}/immutabletagrules", tag = "immutable", summary = "List immutable tag rules (paged)", responses((status = 200, body = Vec<PolicyRule>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_immutable_rules(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    Ok(paged(
        &uri,
        reg.immutable_rules(&p, &project, is_name(&headers), &q.list()?)
            .await?,
    ))
}

#[utoipa::path(post, path = "/projects/{project}/immutabletagrules", tag = "immutable", summary = "Add an immutable tag rule (at most 15; duplicates are 409)", request_body = PolicyRule, responses((status = 201, description = "created; Location names the rule"), (status = 400, description = "bad input (invalid pattern, too many rules)"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "the same rule exists")))]
pub async fn create_immutable_rule(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    Path(project): Path<String>,
    Body(rule): Body<PolicyRule>,
) -> R {
    let id = reg
        .create_immutable_rule(&p, &project, is_name(&headers), rule)
        .await?;
    Ok(created(format!("{}/{id}", api_path(&uri))))
}

#[utoipa::path(put, path = "/projects/{project}/immutabletagrules/{id}", tag = "immutable", summary = "Replace, enable or disable an immutable tag rule", request_body = PolicyRule, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "the same rule exists")))]
pub async fn update_immutable_rule(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
    Body(rule): Body<PolicyRule>,
) -> R {
    reg.update_immutable_rule(&p, &project, is_name(&headers), id_param(&id)?, rule)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/immutabletagrules/{id}", tag = "immutable", summary = "Delete an immutable tag rule", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_immutable_rule(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> R {
    reg.delete_immutable_rule(&p, &project, is_name(&headers), id_param(&id)?)
        .await?;
    Ok(ok())
}

// ---- retention -----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/retentions/metadatas", tag = "retention", summary = "Retention templates and selectors", responses((status = 200, body = registry_core::model::RetentionMetadata)))]
pub async fn retention_metadatas() -> R {
    Ok(Json(registry_core::retention::metadata()).into_response())
}

#[utoipa::path(post, path = "/retentions", tag = "retention", summary = "Create the retention policy of the project named by scope.ref", request_body = RetentionPolicy, responses((status = 201, description = "created; Location names the policy"), (status = 400, description = "bad input, or the project has a policy"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "two rules are the same")))]
pub async fn create_retention(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    Body(policy): Body<RetentionPolicy>,
) -> R {
    let id = reg.create_retention(&p, policy).await?;
    Ok(created(format!("{}/{id}", api_path(&uri))))
}

#[utoipa::path(get, path = "/retentions/{id}", tag = "retention", summary = "Get a retention policy", responses((status = 200, body = RetentionPolicy), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_retention(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    Ok(Json(reg.retention(&p, id_param(&id)?).await?).into_response())
}

#[utoipa::path(put, path = "/retentions/{id}", tag = "retention", summary = "Replace a retention policy", request_body = RetentionPolicy, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "two rules are the same")))]
pub async fn update_retention(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(policy): Body<RetentionPolicy>,
) -> R {
    reg.update_retention(&p, id_param(&id)?, policy).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/retentions/{id}", tag = "retention", summary = "Delete a retention policy", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_retention(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
) -> R {
    reg.delete_retention(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[derive(Deserialize)]
pub struct TriggerReq {
    #[serde(default)]
    dry_run: bool,
}

#[utoipa::path(post, path = "/retentions/{id}/executions", tag = "retention", summary = "Run a retention policy ({\"dry_run\":true} deletes nothing)", request_body = serde_json::Value, responses((status = 201, description = "started; Location names the execution"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn trigger_retention(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    Path(id): Path<String>,
    Body(req): Body<TriggerReq>,
) -> R {
    let eid = reg
        .trigger_retention(&p, id_param(&id)?, req.dry_run)
        .await?;
    Ok(created(format!("{}/{eid}", api_path(&uri))))
}

#[utoipa::path(get, path = "/retentions/{id}/executions", tag = "retention", summary = "Runs of a retention policy, newest first (paged)", responses((status = 200, body = Vec<registry_core::model::RetentionExecution>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_retention_executions(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path(id): Path<String>,
) -> R {
    Ok(paged(
        &uri,
        reg.retention_executions(&p, id_param(&id)?, &q.list()?)
            .await?,
    ))
}

#[derive(Deserialize)]
pub struct OperateReq {
    action: String,
}

#[utoipa::path(patch, path = "/retentions/{id}/executions/{eid}", tag = "retention", summary = "Stop a running execution ({\"action\":\"stop\"})", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 412, description = "not running")))]
pub async fn operate_retention_execution(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((id, eid)): Path<(String, String)>,
    Body(req): Body<OperateReq>,
) -> R {
    reg.operate_retention_execution(&p, id_param(&id)?, id_param(&eid)?, &req.action)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/retentions/{id}/executions/{eid}/tasks", tag = "retention", summary = "Tasks of an execution: one per repository, with total and retained (paged)", responses((status = 200, body = Vec<registry_core::model::RetentionTask>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_retention_tasks(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path((id, eid)): Path<(String, String)>,
) -> R {
    Ok(paged(
        &uri,
        reg.retention_tasks(&p, id_param(&id)?, id_param(&eid)?, &q.list()?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/retentions/{id}/executions/{eid}/tasks/{tid}", tag = "retention", summary = "A task's log: what was kept and deleted (text)", responses((status = 200, body = String, content_type = "text/plain"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn retention_task_log(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((id, eid, tid)): Path<(String, String, String)>,
) -> R {
    let log = reg
        .retention_task_log(&p, id_param(&id)?, id_param(&eid)?, id_param(&tid)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], log).into_response())
}
