//! Harbor's management API (`/api/v2.0`): thin handlers over `Registry`. Conventions:
//! `page`/`page_size` with `X-Total-Count` and `Link`, `q=`/`sort=` passed to core, the
//! `{"errors":[…]}` envelope, `{project_name_or_id}` (a number is an id unless
//! `X-Is-Resource-Name: true`), repository names URL-encoded twice in paths.

mod governance;
mod governance_audit;
mod handlers;
mod ldap;
mod policies;
mod replication;
mod scanners;
mod security;

pub use governance::GcDefaults;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry_core::{Error, ListQuery, Page, Principal, Registry};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::oci::Query;

/// The caller's principal.
pub struct Who(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .ok_or(ApiError(Error::Unauthorized))?;
        Ok(Self(caller.principal.clone()))
    }
}

/// A JSON body; anything unreadable is a `BAD_REQUEST` in the Harbor envelope.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The router's `DefaultBodyLimit` bounds this read: nothing past the limit is buffered.
        let limit = req
            .extensions()
            .get::<crate::router::BodyLimit>()
            .map_or(crate::router::DEFAULT_BODY_LIMIT, |l| l.0);
        let too_large = || {
            ApiError(Error::PayloadTooLarge {
                what: "the request body".into(),
                limit: limit as u64,
            })
        };
        // A declared length over the limit is refused before a byte of the body is read.
        if req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > limit as u64)
        {
            return Err(too_large());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    ApiError(Error::BadRequest {
                        reason: format!("reading the body: {e}"),
                    })
                }
            })?;
        // No body at all reads as `null`: an optional body (`Body<Option<T>>`) may be left out,
        // and a required one is refused as missing.
        let body: &[u8] = if bytes.trim_ascii().is_empty() {
            b"null"
        } else {
            &bytes
        };
        serde_json::from_slice(body).map(Body).map_err(|e| {
            ApiError(Error::BadRequest {
                reason: format!("invalid JSON body: {e}"),
            })
        })
    }
}

/// Query parameters.
pub struct Params(pub Query);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Query::parse(parts.uri.query())))
    }
}

impl Params {
    /// `q`, `sort`, `page`, `page_size`.
    pub fn list(&self) -> Result<ListQuery, ApiError> {
        let num = |k: &str| -> Result<Option<u64>, ApiError> {
            self.0
                .get(k)
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        ApiError(Error::BadRequest {
                            reason: format!("{k} must be a positive integer, not {v:?}"),
                        })
                    })
                })
                .transpose()
        };
        Ok(ListQuery {
            q: self.0.get("q").map(str::to_owned),
            sort: self.0.get("sort").map(str::to_owned),
            page: num("page")?,
            page_size: num("page_size")?,
        })
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k)
    }
}

/// Whether `{project_name_or_id}` is to be read as a name.
pub fn is_name(headers: &HeaderMap) -> bool {
    headers
        .get("x-is-resource-name")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Decode a repository path segment that was URL-encoded twice (`a%252Fb` arrives as `a%2Fb`).
pub fn repo_param(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&raw[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON list with Harbor's paging headers.
pub fn paged<T: Serialize>(uri: &Uri, page: Page<T>) -> Response {
    let mut res = axum::Json(&page.items).into_response();
    let h = res.headers_mut();
    h.insert("x-total-count", HeaderValue::from(page.total));
    let link = |n: u64| {
        let mut q: Vec<(String, String)> = Query::parse(uri.query())
            .pairs()
            .into_iter()
            .filter(|(k, _)| k != "page" && k != "page_size")
            .collect();
        q.push(("page".into(), n.to_string()));
        q.push(("page_size".into(), page.page_size.to_string()));
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish();
        format!("<{}?{qs}>", api_path(uri))
    };
    let mut links = Vec::new();
    if page.page > 1 {
        links.push(format!("{}; rel=\"prev\"", link(page.page - 1)));
    }
    if page.page.saturating_mul(page.page_size) < page.total {
        links.push(format!("{}; rel=\"next\"", link(page.page + 1)));
    }
    if !links.is_empty()
        && let Ok(v) = HeaderValue::from_str(&links.join(", "))
    {
        h.insert(header::LINK, v);
    }
    res
}

/// The request path as the client sent it (handlers see it without the `/api/v2.0` prefix).
pub fn api_path(uri: &Uri) -> String {
    format!("/api/v2.0{}", uri.path())
}

/// `201 Created` with a `Location`.
pub fn created(location: String) -> Response {
    let mut res = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

pub fn ok() -> Response {
    StatusCode::OK.into_response()
}

/// The OpenAPI document's frame; the paths come from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Berth management API",
        description = "Harbor-compatible `/api/v2.0`: HTTP Basic auth (users, `robot$…` accounts, OIDC CLI secrets); \
            lists take `page`/`page_size` (max 100) and answer `X-Total-Count` and `Link`; `q=` filters \
            (`k=v`, `k=~v`, `k=[a~b]`, `k={a b}`) and `sort=a,-b`; errors are `{\"errors\":[{\"code\",\"message\"}]}`; \
            repository names in paths are URL-encoded twice."
    ),
    servers((url = "/api/v2.0")),
    tags(
        (name = "project"), (name = "member"), (name = "repository"), (name = "artifact"), (name = "label"),
        (name = "user"), (name = "usergroup"), (name = "robot"), (name = "search"), (name = "system"), (name = "quota"), (name = "gc"),
        (name = "auditlog"), (name = "purge"), (name = "webhook"),
        (name = "immutable"), (name = "retention"), (name = "registry"), (name = "replication"), (name = "scanner"), (name = "ldap")
    )
)]
struct ApiDoc;

/// Audit log, audit purge and webhook routes.
fn audit_routes() -> utoipa_axum::router::OpenApiRouter<Registry> {
    use governance_audit::*;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(audit_logs))
        .routes(routes!(export_audit_logs))
        .routes(routes!(audit_log_exts))
        .routes(routes!(audit_log_event_types))
        .routes(routes!(project_logs))
        .routes(routes!(project_log_exts))
        .routes(routes!(
            get_purge_schedule,
            create_purge_schedule,
            update_purge_schedule
        ))
        .routes(routes!(purge_history))
        .routes(routes!(get_purge, stop_purge))
        .routes(routes!(purge_log))
        .routes(routes!(list_webhook_policies, create_webhook_policy))
        .routes(routes!(
            get_webhook_policy,
            update_webhook_policy,
            delete_webhook_policy
        ))
        .routes(routes!(webhook_executions))
        .routes(routes!(webhook_tasks))
        .routes(routes!(webhook_task_log))
        .routes(routes!(webhook_last_trigger))
        .routes(routes!(webhook_events))
}

/// The `/api/v2.0` routes and the OpenAPI document generated from the same declarations.
pub fn router() -> (Router<Registry>, utoipa::openapi::OpenApi) {
    use handlers::*;
    use utoipa::OpenApi as _;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .route("/ping", get(|| async { "Pong" }))
        .route("/health", get(crate::router::health))
        .routes(routes!(systeminfo))
        .routes(routes!(statistics))
        .routes(routes!(search))
        .routes(routes!(list_projects, create_project, head_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(project_deletable))
        .routes(routes!(project_summary))
        .routes(routes!(list_metadata, add_metadata))
        .route(
            "/projects/{project}/metadatas/",
            get(list_metadata).post(add_metadata),
        )
        .routes(routes!(get_metadata, put_metadata, delete_metadata))
        .routes(routes!(list_members, add_member))
        .routes(routes!(get_member, update_member, delete_member))
        .routes(routes!(project_repositories))
        .routes(routes!(
            get_repository,
            update_repository,
            delete_repository
        ))
        .routes(routes!(list_artifacts, copy_artifact))
        .routes(routes!(get_artifact, delete_artifact))
        .routes(routes!(list_accessories))
        .routes(routes!(artifact_vulnerabilities))
        .routes(routes!(artifact_addition))
        .routes(routes!(get_system_allowlist, put_system_allowlist))
        .routes(routes!(list_trust_keys, add_trust_key))
        .routes(routes!(delete_trust_key))
        .routes(routes!(list_tags, create_tag))
        .routes(routes!(delete_tag))
        .routes(routes!(attach_label))
        .routes(routes!(detach_label))
        .routes(routes!(all_repositories))
        .routes(routes!(list_users, create_user))
        .routes(routes!(current_user))
        .routes(routes!(current_permissions))
        .routes(routes!(search_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(change_password))
        .routes(routes!(set_sysadmin))
        .routes(routes!(crate::oidc::set_cli_secret))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_robots, create_robot))
        .routes(routes!(
            get_robot,
            update_robot,
            delete_robot,
            refresh_robot
        ))
        .routes(routes!(list_labels, create_label))
        .routes(routes!(get_label, update_label, delete_label))
        .merge(policies::routes())
        .merge(replication::routes())
        .merge(security::routes())
        .merge(scanners::routes())
        .merge(ldap::routes())
        .routes(routes!(governance::list_quotas))
        .routes(routes!(governance::get_quota, governance::update_quota))
        .routes(routes!(governance::gc_history))
        .routes(routes!(
            governance::get_gc_schedule,
            governance::create_gc_schedule,
            governance::update_gc_schedule
        ))
        .routes(routes!(governance::gc_run, governance::stop_gc))
        .routes(routes!(governance::gc_log))
        .routes(routes!(
            governance::get_configurations,
            governance::put_configurations
        ))
        .merge(audit_routes())
        .fallback(|| async {
            ApiError(Error::NotFound {
                what: "API route".into(),
            })
        })
        .split_for_parts()
}
