//! Registry endpoints (`/registries`), replication policies and executions (`/replication/…`),
//! Harbor's paths and shapes. One `Registry` call per handler.

use axum::extract::{Path, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use registry_core::Registry;
use registry_core::replication::execution::{
    ReplicationExecution, ReplicationTask, StartReplication,
};
use registry_core::replication::{
    AdapterInfo, RegistryEndpoint, RegistryInfo, RegistryPing, RegistryReq, RegistryUpdate,
    ReplicationPolicy, ReplicationPolicyReq,
};

use super::handlers::{id_param, json};
use super::{Body, Params, Who, created, ok, paged};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// This module's routes, merged into [`super::router`].
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list_registries, create_registry))
        .routes(routes!(ping_registry))
        .routes(routes!(get_registry, update_registry, delete_registry))
        .routes(routes!(registry_info))
        .routes(routes!(replication_adapters))
        .routes(routes!(replication_adapter_infos))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
        .routes(routes!(list_executions, start_execution))
        .routes(routes!(get_execution, stop_execution))
        .routes(routes!(list_tasks))
        .routes(routes!(task_log))
}

#[utoipa::path(get, path = "/registries", tag = "registry", summary = "List registry endpoints (system administrators; q keys name, type, url)", responses((status = 200, body = Vec<RegistryEndpoint>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn list_registries(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.registry_endpoints(&p, &q.list()?).await?))
}

#[utoipa::path(post, path = "/registries", tag = "registry", summary = "Add a registry endpoint; its secret is sealed and never shown back", request_body = RegistryReq, responses((status = 201, description = "created; Location names it"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "name taken")))]
pub async fn create_registry(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<RegistryReq>,
) -> R {
    let r = reg.create_registry_endpoint(&p, req).await?;
    Ok(created(format!("/api/v2.0/registries/{}", r.id)))
}

#[utoipa::path(post, path = "/registries/ping", tag = "registry", summary = "Check that a registry answers and takes the credentials (a stored one by id, or one described)", request_body = RegistryPing, responses((status = 200, description = "healthy"), (status = 400, description = "unreachable, refused, or bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "no such registry")))]
pub async fn ping_registry(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<RegistryPing>,
) -> R {
    reg.ping_registry_endpoint(&p, req).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/registries/{id}", tag = "registry", summary = "A registry endpoint", responses((status = 200, body = RegistryEndpoint), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn get_registry(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.registry_endpoint(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/registries/{id}", tag = "registry", summary = "Change a registry endpoint (a new URL or user without a new secret drops the stored secret)", request_body = RegistryUpdate, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 409, description = "name taken")))]
pub async fn update_registry(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(req): Body<RegistryUpdate>,
) -> R {
    reg.update_registry_endpoint(&p, id_param(&id)?, req)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/registries/{id}", tag = "registry", summary = "Delete a registry endpoint no proxy-cache project uses", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "a proxy-cache project uses it")))]
pub async fn delete_registry(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
) -> R {
    reg.delete_registry_endpoint(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/registries/{id}/info", tag = "registry", summary = "What replication supports with this endpoint", responses((status = 200, body = RegistryInfo), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn registry_info(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.registry_endpoint_info(&p, id_param(&id)?).await?)
}

#[utoipa::path(get, path = "/replication/adapters", tag = "replication", summary = "The registry types Berth replicates with", responses((status = 200, body = Vec<String>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn replication_adapters(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.replication_adapters(&p)?)
}

#[utoipa::path(get, path = "/replication/adapterinfos", tag = "replication", summary = "Endpoint and credential patterns per registry type", responses((status = 200, body = std::collections::BTreeMap<String, AdapterInfo>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn replication_adapter_infos(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.replication_adapter_infos(&p)?)
}

// ---- policies --------------------------------------------------------------------------------

#[utoipa::path(get, path = "/replication/policies", tag = "replication", summary = "List replication policies (q keys name, id)", responses((status = 200, body = Vec<ReplicationPolicy>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn list_policies(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let mut list = q.list()?;
    if let Some(name) = q.0.get("name").filter(|n| !n.is_empty()) {
        list.q = Some(format!("name=~{name}"));
    }
    Ok(paged(&uri, reg.replication_policies(&p, &list).await?))
}

#[utoipa::path(post, path = "/replication/policies", tag = "replication", summary = "Create a replication policy (push-based: dest_registry; pull-based: src_registry)", request_body = ReplicationPolicyReq, responses((status = 201, description = "created; Location names it"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "name taken")))]
pub async fn create_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<ReplicationPolicyReq>,
) -> R {
    let policy = reg.create_replication_policy(&p, req).await?;
    Ok(created(format!(
        "/api/v2.0/replication/policies/{}",
        policy.id
    )))
}

#[utoipa::path(get, path = "/replication/policies/{id}", tag = "replication", summary = "A replication policy", responses((status = 200, body = ReplicationPolicy), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn get_policy(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.replication_policy(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/replication/policies/{id}", tag = "replication", summary = "Replace a replication policy", request_body = ReplicationPolicyReq, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 409, description = "name taken")))]
pub async fn update_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(req): Body<ReplicationPolicyReq>,
) -> R {
    reg.update_replication_policy(&p, id_param(&id)?, req)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/replication/policies/{id}", tag = "replication", summary = "Delete a replication policy with no run in progress", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "a run is in progress")))]
pub async fn delete_policy(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_replication_policy(&p, id_param(&id)?).await?;
    Ok(ok())
}

// ---- executions ------------------------------------------------------------------------------

#[utoipa::path(get, path = "/replication/executions", tag = "replication", summary = "Replication runs, newest first (policy_id narrows)", responses((status = 200, body = Vec<ReplicationExecution>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn list_executions(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let policy = q.0.get("policy_id").map(id_param).transpose()?;
    Ok(paged(
        &uri,
        reg.replication_executions(&p, policy, &q.list()?).await?,
    ))
}

#[utoipa::path(post, path = "/replication/executions", tag = "replication", summary = "Run a policy now", request_body = StartReplication, responses((status = 201, description = "started; Location names the execution"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "no such policy"), (status = 412, description = "single_active_replication and a run is active")))]
pub async fn start_execution(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<StartReplication>,
) -> R {
    let id = reg.start_replication(&p, req.policy_id).await?;
    Ok(created(format!("/api/v2.0/replication/executions/{id}")))
}

#[utoipa::path(get, path = "/replication/executions/{id}", tag = "replication", summary = "A replication run with its task counts", responses((status = 200, body = ReplicationExecution), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn get_execution(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.replication_execution(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/replication/executions/{id}", tag = "replication", summary = "Stop a replication run", responses((status = 200, description = "stopping"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "already finished")))]
pub async fn stop_execution(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.stop_replication(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/replication/executions/{id}/tasks", tag = "replication", summary = "A run's tasks, one per repository", responses((status = 200, body = Vec<ReplicationTask>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn list_tasks(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.replication_tasks(&p, id_param(&id)?).await?)
}

#[utoipa::path(get, path = "/replication/executions/{id}/tasks/{task_id}/log", tag = "replication", summary = "A task's log (text)", responses((status = 200, body = String, content_type = "text/plain"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn task_log(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((id, task)): Path<(String, String)>,
) -> R {
    let log = reg
        .replication_task_log(&p, id_param(&id)?, id_param(&task)?)
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], log).into_response())
}
