//! The OCI distribution API (`/v2/…`): one catch-all route, a pure path parser, and one small
//! handler per operation. Each handler extracts, makes one `Registry` call, and builds the response.

pub mod blobs;
pub mod manifests;
pub mod path;
pub mod uploads;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use registry_core::blob::ByteStream;
use registry_core::distribution::V2;
use registry_core::oci::RepoName;
use registry_core::{Error, Registry, RepoAction};

use crate::auth::{Caller, Origin};

use crate::error::{ApiError, ApiResult};
use path::Route;

pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
pub const OCI_TAG: HeaderName = HeaderName::from_static("oci-tag");
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// Query parameters in order, percent-decoded; keys may repeat (`?tag=a&tag=b`).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        Self(raw.map(url_decode_pairs).unwrap_or_default())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0.clone()
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A request as the handlers see it.
pub struct Ctx {
    pub registry: Registry,
    /// Who is calling; every operation goes through `registry.v2(&caller)`, which authorizes it.
    pub caller: Caller,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: Query,
    pub body: Body,
}

impl Ctx {
    /// The data plane as this request's caller may use it.
    pub fn v2(&self) -> V2<'_> {
        self.registry.v2(&self.caller)
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The declared body length, when the client sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.header(header::CONTENT_LENGTH)
            .and_then(|v| v.parse().ok())
    }

    /// The request body as a byte stream.
    pub fn stream(body: Body) -> ByteStream {
        Box::pin(
            body.into_data_stream()
                .map_err(|e| Error::BlobUploadInvalid {
                    reason: format!("reading request body: {e}"),
                }),
        )
    }
}

pub fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `/v2/` and everything under it.
pub async fn dispatch(State(registry): State<Registry>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let rest = parts
        .uri
        .path()
        .strip_prefix("/v2")
        .unwrap_or("")
        .trim_start_matches('/');
    // The request is this handler's: its caller is taken, not copied.
    let caller = parts
        .extensions
        .remove::<Caller>()
        .unwrap_or_else(Caller::anonymous);
    let route = match path::parse(rest) {
        Ok(r) => r,
        Err(e) => return ApiError(e).into_response(),
    };
    // What a 401 needs, kept apart: the request itself goes to the handler.
    let (origin, method) = (Origin::of(&parts.headers), parts.method.clone());
    let ctx = Ctx {
        caller,
        registry: registry.clone(),
        method: parts.method,
        headers: parts.headers,
        query: Query::parse(parts.uri.query()),
        body,
    };
    match route_to(rest, route, ctx).await {
        Ok(r) => r,
        Err(e) => {
            let mut res = e.into_response();
            if res.status() == StatusCode::UNAUTHORIZED {
                // The scope the client should ask for: the route parsed again, only on a 401.
                let scope = path::parse(rest).ok().and_then(|r| scope_of(&r, &method));
                let service = &registry.access_settings().service;
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    origin.challenge(service, scope.as_deref()),
                );
            }
            res
        }
    }
}

/// What the caller needs for a route.
fn need(route: &Route, method: &Method) -> Option<(RepoName, RepoAction)> {
    let action = |m: &Method| match *m {
        Method::GET | Method::HEAD => RepoAction::Pull,
        Method::DELETE => RepoAction::Delete,
        _ => RepoAction::Push,
    };
    match route {
        Route::Base | Route::Catalog => None,
        Route::Tags(n) | Route::Referrers(n, _) | Route::Manifest(n, _) | Route::Blob(n, _) => {
            Some((n.clone(), action(method)))
        }
        // Reading an upload's status needs pull, as in Distribution and Harbor.
        Route::Upload(n, _) if matches!(*method, Method::GET | Method::HEAD) => {
            Some((n.clone(), RepoAction::Pull))
        }
        Route::UploadStart(n) | Route::Upload(n, _) => Some((n.clone(), RepoAction::Push)),
    }
}

fn scope_of(route: &Route, method: &Method) -> Option<String> {
    let (name, action) = need(route, method)?;
    let actions = match action {
        RepoAction::Pull => "pull",
        RepoAction::Push => "pull,push",
        RepoAction::Delete => "delete",
    };
    Some(format!("repository:{name}:{actions}"))
}

async fn route_to(rest: &str, route: Route, ctx: Ctx) -> ApiResult<Response> {
    let m = ctx.method.clone();
    match (route, m) {
        (Route::Base, Method::GET | Method::HEAD) => {
            ctx.v2().base()?;
            Ok(base())
        }
        (Route::Catalog, Method::GET) => manifests::catalog(ctx).await,
        (Route::Tags(name), Method::GET) => manifests::tags(ctx, name).await,
        (Route::Referrers(name, d), Method::GET) => manifests::referrers(ctx, name, d).await,
        (Route::Manifest(name, r), Method::GET | Method::HEAD) => {
            manifests::get(ctx, name, r).await
        }
        (Route::Manifest(name, r), Method::PUT) => manifests::put(ctx, name, r).await,
        (Route::Manifest(name, r), Method::DELETE) => manifests::delete(ctx, name, r).await,
        (Route::Blob(name, d), Method::GET | Method::HEAD) => blobs::get(ctx, name, d).await,
        (Route::Blob(name, d), Method::DELETE) => blobs::delete(ctx, name, d).await,
        (Route::UploadStart(name), Method::POST) => uploads::start(ctx, name).await,
        (Route::Upload(name, id), Method::GET) => uploads::status(ctx, name, id).await,
        (Route::Upload(name, id), Method::PATCH) => uploads::patch(ctx, name, id).await,
        (Route::Upload(name, id), Method::PUT) => uploads::put(ctx, name, id).await,
        (Route::Upload(name, id), Method::DELETE) => uploads::cancel(ctx, name, id).await,
        (_, m) => Err(ApiError(Error::Unsupported {
            reason: format!("{m} is not allowed on /v2/{rest}"),
        })),
    }
}

fn base() -> Response {
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                HeaderName::from_static("docker-distribution-api-version"),
                HeaderValue::from_static("registry/2.0"),
            ),
        ],
        "{}",
    )
        .into_response()
}
