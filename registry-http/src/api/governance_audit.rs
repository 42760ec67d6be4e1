//! Audit log, audit purge and webhook handlers: extract, one `Registry` call, respond.

use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use registry_core::Registry;
use registry_core::audit::ExportFormat;
use registry_core::model::JobSchedule as Schedule;
use registry_core::webhook::WebhookPolicyReq;

use super::handlers::{R, id_param, json};
use super::{Body, Params, Who, created, is_name, ok, paged};

/// A plain-text answer (job logs).
pub(super) fn text(body: String) -> R {
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

// ---- audit log ---------------------------------------------------------------------------------

#[utoipa::path(get, path = "/audit-logs", tag = "auditlog", summary = "Audit entries (paged; q: username, resource, resource_type, operation, op_time range; sort)", responses((status = 200, body = Vec<registry_core::audit::AuditLog>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed")))]
pub async fn audit_logs(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.audit_logs(&p, &q.list()?).await?))
}

#[utoipa::path(get, path = "/auditlog-exts", tag = "auditlog", summary = "Extended audit entries (paged, q, sort)", responses((status = 200, body = Vec<registry_core::audit::AuditLogExt>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed")))]
pub async fn audit_log_exts(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.audit_log_exts(&p, &q.list()?).await?))
}

#[utoipa::path(get, path = "/auditlog-exts/events", tag = "auditlog", summary = "Audit event types", responses((status = 200, body = Vec<registry_core::audit::AuditLogEventType>), (status = 401, description = "credentials needed")))]
pub async fn audit_log_event_types(State(reg): State<Registry>, Who(p): Who) -> R {
    if p.is_anonymous() {
        return Err(registry_core::Error::Unauthorized.into());
    }
    json(reg.audit_event_types())
}

#[utoipa::path(get, path = "/audit-logs/export", tag = "auditlog", summary = "Export audit entries as CSV or JSON, streamed (Berth extension; format=csv|json, q, sort=[-]id|[-]op_time)", responses((status = 200, description = "text/csv or a JSON array of extended entries"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed")))]
pub async fn export_audit_logs(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    let format = ExportFormat::parse(q.get("format").unwrap_or("csv"))?;
    let stream = reg.export_audit_logs(&p, &q.list()?, format).await?;
    let mut res = Response::new(HttpBody::from_stream(stream.map_err(std::io::Error::other)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let name = match format {
        ExportFormat::Csv => "attachment; filename=\"audit-logs.csv\"",
        ExportFormat::Json => "attachment; filename=\"audit-logs.json\"",
    };
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    Ok(res)
}

#[utoipa::path(get, path = "/projects/{project}/logs", tag = "auditlog", summary = "A project's audit entries (project admins; paged, q, sort)", responses((status = 200, body = Vec<registry_core::audit::AuditLog>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_logs(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    Ok(paged(
        &uri,
        reg.project_audit_logs(&p, &project, &q.list()?).await?,
    ))
}

#[utoipa::path(get, path = "/projects/{project}/auditlog-exts", tag = "auditlog", summary = "A project's extended audit entries (project admins; paged, q, sort)", responses((status = 200, body = Vec<registry_core::audit::AuditLogExt>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_log_exts(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    Ok(paged(
        &uri,
        reg.project_audit_log_exts(&p, &project, &q.list()?).await?,
    ))
}

// ---- audit purge -------------------------------------------------------------------------------

#[utoipa::path(get, path = "/system/purgeaudit/schedule", tag = "purge", summary = "The audit purge schedule", responses((status = 200, body = Schedule), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn get_purge_schedule(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.audit_purge_schedule(&p).await?)
}

async fn set_purge_schedule(
    reg: &Registry,
    p: &registry_core::Principal,
    s: &Schedule,
    status: StatusCode,
) -> R {
    match reg.set_audit_purge_schedule(p, s).await? {
        Some(id) => Ok(created(format!("/api/v2.0/system/purgeaudit/{id}"))),
        None => Ok(status.into_response()),
    }
}

#[utoipa::path(post, path = "/system/purgeaudit/schedule", tag = "purge", summary = "Create the purge schedule; type Manual runs a purge now", request_body = Schedule, responses((status = 201, description = "done; Location names the run for Manual"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "a purge is running")))]
pub async fn create_purge_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(s): Body<Schedule>,
) -> R {
    set_purge_schedule(&reg, &p, &s, StatusCode::CREATED).await
}

#[utoipa::path(put, path = "/system/purgeaudit/schedule", tag = "purge", summary = "Change the purge schedule (None removes it; Manual runs now)", request_body = Schedule, responses((status = 200, description = "done"), (status = 201, description = "Manual: a run started"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 409, description = "a purge is running")))]
pub async fn update_purge_schedule(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(s): Body<Schedule>,
) -> R {
    set_purge_schedule(&reg, &p, &s, StatusCode::OK).await
}

#[utoipa::path(get, path = "/system/purgeaudit", tag = "purge", summary = "Purge runs (paged)", responses((status = 200, body = Vec<registry_core::model::ExecHistory>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn purge_history(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.audit_purge_history(&p, &q.list()?).await?))
}

#[utoipa::path(get, path = "/system/purgeaudit/{id}", tag = "purge", summary = "One purge run", responses((status = 200, body = registry_core::model::ExecHistory), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn get_purge(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.audit_purge(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/system/purgeaudit/{id}", tag = "purge", summary = "Stop a purge run", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 412, description = "already finished")))]
pub async fn stop_purge(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.stop_audit_purge(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/system/purgeaudit/{id}/log", tag = "purge", summary = "A purge run's log", responses((status = 200, description = "text/plain log"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn purge_log(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    text(reg.audit_purge_log(&p, id_param(&id)?).await?)
}

// ---- webhooks ----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/projects/{project}/webhook/policies", tag = "webhook", summary = "Webhook policies (paged; q: name, enabled, creator; sort)", responses((status = 200, body = Vec<registry_core::webhook::WebhookPolicy>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_webhook_policies(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    let page = reg
        .webhook_policies(&p, &project, is_name(&headers), &q.list()?)
        .await?;
    Ok(paged(&uri, page))
}

#[utoipa::path(post, path = "/projects/{project}/webhook/policies", tag = "webhook", summary = "Create a webhook policy (project admins)", request_body = WebhookPolicyReq, responses((status = 201, description = "done; Location names the policy"), (status = 400, description = "bad URL, event or target type"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "name taken")))]
pub async fn create_webhook_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
    Body(req): Body<WebhookPolicyReq>,
) -> R {
    let policy = reg
        .create_webhook_policy(&p, &project, is_name(&headers), req)
        .await?;
    Ok(created(format!(
        "/api/v2.0/projects/{project}/webhook/policies/{}",
        policy.id
    )))
}

#[utoipa::path(get, path = "/projects/{project}/webhook/policies/{id}", tag = "webhook", summary = "A webhook policy", responses((status = 200, body = registry_core::webhook::WebhookPolicy), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_webhook_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> R {
    json(
        reg.webhook_policy(&p, &project, is_name(&headers), id_param(&id)?)
            .await?,
    )
}

#[utoipa::path(put, path = "/projects/{project}/webhook/policies/{id}", tag = "webhook", summary = "Replace a webhook policy", request_body = WebhookPolicyReq, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "name taken")))]
pub async fn update_webhook_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
    Body(req): Body<WebhookPolicyReq>,
) -> R {
    reg.update_webhook_policy(&p, &project, is_name(&headers), id_param(&id)?, req)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/webhook/policies/{id}", tag = "webhook", summary = "Delete a webhook policy", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_webhook_policy(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> R {
    reg.delete_webhook_policy(&p, &project, is_name(&headers), id_param(&id)?)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/webhook/policies/{id}/executions", tag = "webhook", summary = "Deliveries of a policy (paged; q: status, trigger, start_time; sort)", responses((status = 200, body = Vec<registry_core::webhook::Execution>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn webhook_executions(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    q: Params,
    Path((project, id)): Path<(String, String)>,
) -> R {
    let page = reg
        .webhook_executions(&p, &project, is_name(&headers), id_param(&id)?, &q.list()?)
        .await?;
    Ok(paged(&uri, page))
}

#[utoipa::path(get, path = "/projects/{project}/webhook/policies/{id}/executions/{eid}/tasks", tag = "webhook", summary = "Tasks (one per target) of a delivery (paged)", responses((status = 200, body = Vec<registry_core::webhook::Task>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn webhook_tasks(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    q: Params,
    Path((project, id, eid)): Path<(String, String, String)>,
) -> R {
    let page = reg
        .webhook_execution_tasks(
            &p,
            &project,
            is_name(&headers),
            id_param(&id)?,
            id_param(&eid)?,
            &q.list()?,
        )
        .await?;
    Ok(paged(&uri, page))
}

#[utoipa::path(get, path = "/projects/{project}/webhook/policies/{id}/executions/{eid}/tasks/{tid}/log", tag = "webhook", summary = "A delivery task's log", responses((status = 200, description = "text/plain log"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn webhook_task_log(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id, eid, tid)): Path<(String, String, String, String)>,
) -> R {
    text(
        reg.webhook_task_log(
            &p,
            &project,
            is_name(&headers),
            id_param(&id)?,
            id_param(&eid)?,
            id_param(&tid)?,
        )
        .await?,
    )
}

#[utoipa::path(get, path = "/projects/{project}/webhook/lasttrigger", tag = "webhook", summary = "When each policy last fired, per event type", responses((status = 200, body = Vec<registry_core::webhook::WebhookLastTrigger>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn webhook_last_trigger(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(
        reg.webhook_last_triggers(&p, &project, is_name(&headers))
            .await?,
    )
}

#[utoipa::path(get, path = "/projects/{project}/webhook/events", tag = "webhook", summary = "Supported event types, notify types and payload formats", responses((status = 200, body = registry_core::webhook::SupportedWebhookEventTypes), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn webhook_events(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(
        reg.webhook_event_types(&p, &project, is_name(&headers))
            .await?,
    )
}
