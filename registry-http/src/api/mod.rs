//! Harbor's management API (`/api/v2.0`): thin handlers over `Registry`. Conventions:
//! `page`/`page_size` with `X-Total-Count` and `Link`, `q=`/`sort=` passed to core, the
//! `{"errors":[…]}` envelope, `{project_name_or_id}` (a number is an id unless
//! `X-Is-Resource-Name: true`), repository names URL-encoded twice in paths.

mod handlers;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
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
        let caller = parts.extensions.get::<Caller>().ok_or(ApiError(Error::Unauthorized))?;
        Ok(Self(caller.principal.clone()))
    }
}

/// A JSON body; anything unreadable is a `BAD_REQUEST` in the Harbor envelope.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError(Error::BadRequest { reason: format!("reading the body: {e}") }))?;
        if bytes.len() > 1 << 20 {
            return Err(ApiError(Error::BadRequest { reason: "request body over 1 MiB".into() }));
        }
        serde_json::from_slice(&bytes).map(Body).map_err(|e| ApiError(Error::BadRequest { reason: format!("invalid JSON body: {e}") }))
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
                .map(|v| v.parse::<u64>().map_err(|_| ApiError(Error::BadRequest { reason: format!("{k} must be a positive integer, not {v:?}") })))
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
    headers.get("x-is-resource-name").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Decode a repository path segment that was URL-encoded twice (`a%252Fb` arrives as `a%2Fb`).
pub fn repo_param(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&raw[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
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
        let mut q: Vec<(String, String)> = Query::parse(uri.query()).pairs().into_iter().filter(|(k, _)| k != "page" && k != "page_size").collect();
        q.push(("page".into(), n.to_string()));
        q.push(("page_size".into(), page.page_size.to_string()));
        let qs = form_urlencoded::Serializer::new(String::new()).extend_pairs(q).finish();
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

pub fn router() -> Router<Registry> {
    use handlers::*;
    const ART: &str = "/projects/{project}/repositories/{repo}/artifacts/{reference}";
    Router::new()
        .route("/ping", get(|| async { "Pong" }))
        .route("/health", get(crate::router::health))
        .route("/systeminfo", get(systeminfo))
        .route("/statistics", get(statistics))
        .route("/search", get(search))
        .route("/projects", get(list_projects).post(create_project).head(head_project))
        .route("/projects/{project}", get(get_project).put(update_project).delete(delete_project))
        .route("/projects/{project}/_deletable", get(project_deletable))
        .route("/projects/{project}/summary", get(project_summary))
        .route("/projects/{project}/metadatas", get(list_metadata).post(add_metadata))
        .route("/projects/{project}/metadatas/", get(list_metadata).post(add_metadata))
        .route("/projects/{project}/metadatas/{key}", get(get_metadata).put(put_metadata).delete(delete_metadata))
        .route("/projects/{project}/members", get(list_members).post(add_member))
        .route("/projects/{project}/members/{mid}", get(get_member).put(update_member).delete(delete_member))
        .route("/projects/{project}/repositories", get(project_repositories))
        .route("/projects/{project}/repositories/{repo}", get(get_repository).put(update_repository).delete(delete_repository))
        .route("/projects/{project}/repositories/{repo}/artifacts", get(list_artifacts))
        .route(ART, get(get_artifact).delete(delete_artifact))
        .route(&format!("{ART}/tags"), get(list_tags).post(create_tag))
        .route(&format!("{ART}/tags/{{tag}}"), delete(delete_tag))
        .route(&format!("{ART}/labels"), post(attach_label))
        .route(&format!("{ART}/labels/{{label}}"), delete(detach_label))
        .route("/repositories", get(all_repositories))
        .route("/users", get(list_users).post(create_user))
        .route("/users/current", get(current_user))
        .route("/users/current/permissions", get(current_permissions))
        .route("/users/search", get(search_users))
        .route("/users/{id}", get(get_user).put(update_user).delete(delete_user))
        .route("/users/{id}/password", put(change_password))
        .route("/users/{id}/sysadmin", put(set_sysadmin))
        .route("/users/{id}/cli_secret", put(crate::oidc::set_cli_secret))
        .route("/usergroups", get(list_groups).post(create_group))
        .route("/usergroups/{id}", get(get_group).put(update_group).delete(delete_group))
        .route("/robots", get(list_robots).post(create_robot))
        .route("/robots/{id}", get(get_robot).put(update_robot).delete(delete_robot).patch(refresh_robot))
        .route("/labels", get(list_labels).post(create_label))
        .route("/labels/{id}", get(get_label).put(update_label).delete(delete_label))
        .fallback(|| async { ApiError(Error::NotFound { what: "API route".into() }) })
}
