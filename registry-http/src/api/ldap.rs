//! Harbor's LDAP API: test directory settings, search the directory's users and groups, import
//! users. One `Registry` call per handler.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use registry_core::Registry;
use registry_core::auth::directory::{
    LdapConf, LdapFailedImportUser, LdapGroupEntry, LdapImportUsers, LdapPingResult, LdapUserEntry,
};

use super::handlers::json;
use super::{Body, Params, Who, ok};
use crate::error::ApiResult;

type R = ApiResult<Response>;

/// This module's routes, merged into [`super::router`].
pub fn routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(ping_ldap))
        .routes(routes!(search_ldap_users))
        .routes(routes!(import_ldap_users))
        .routes(routes!(search_ldap_groups))
}

#[utoipa::path(post, path = "/ldap/ping", tag = "ldap", summary = "Test directory settings (the body's, over the configured ones; no body: the configured ones). An unreachable directory or a refused bind is success=false with the reason (system administrators)", request_body(content = Option<LdapConf>), responses((status = 200, body = LdapPingResult), (status = 400, description = "bad settings"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn ping_ldap(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(conf): Body<Option<LdapConf>>,
) -> R {
    json(reg.ldap_ping(&p, &conf.unwrap_or_default()).await?)
}

#[utoipa::path(get, path = "/ldap/users/search", tag = "ldap", summary = "Directory users whose login name contains `username`", params(("username" = Option<String>, Query)), responses((status = 200, body = Vec<LdapUserEntry>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 412, description = "this server does not use LDAP"), (status = 503, description = "the directory did not answer")))]
pub async fn search_ldap_users(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    json(
        reg.ldap_search_users(&p, q.get("username").unwrap_or(""))
            .await?,
    )
}

#[utoipa::path(post, path = "/ldap/users/import", tag = "ldap", summary = "Make directory users Berth users before their first login (at most 100 uids); 404 lists the uids that were not imported", request_body = LdapImportUsers, responses((status = 200, description = "all imported"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, body = Vec<LdapFailedImportUser>, description = "these uids were not imported (the others were)"), (status = 412, description = "this server does not use LDAP")))]
pub async fn import_ldap_users(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(req): Body<LdapImportUsers>,
) -> R {
    let failed = reg.ldap_import_users(&p, &req.ldap_uid_list).await?;
    Ok(if failed.is_empty() {
        ok()
    } else {
        (StatusCode::NOT_FOUND, Json(failed)).into_response()
    })
}

#[utoipa::path(get, path = "/ldap/groups/search", tag = "ldap", summary = "Directory groups whose name contains `groupname`, or the group at `groupdn`", params(("groupname" = Option<String>, Query), ("groupdn" = Option<String>, Query)), responses((status = 200, body = Vec<LdapGroupEntry>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 412, description = "this server does not use LDAP"), (status = 503, description = "the directory did not answer")))]
pub async fn search_ldap_groups(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    json(
        reg.ldap_search_groups(&p, q.get("groupname"), q.get("groupdn"))
            .await?,
    )
}
