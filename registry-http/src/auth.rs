//! Who is calling: HTTP Basic (users, robots, OIDC CLI secrets) or a Bearer token from the
//! token service, resolved once per request by [`authenticate`] into a [`Caller`] request
//! extension. No credentials means anonymous; wrong credentials are refused here, never
//! downgraded to anonymous. The token service itself lives at `/service/token`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use registry_core::events::{Actor, with_actor};
use registry_core::{Error, Registry};

use crate::error::{ApiError, ApiResult};
use crate::oci::Query;
use crate::session;

/// The authenticated caller of one request (core's data-plane caller).
pub use registry_core::distribution::Caller;

/// The client's address: the peer's, or what `X-Forwarded-For` says when the peer is a trusted
/// proxy (the rule is core's).
pub(crate) fn client_of(registry: &Registry, req: &Request) -> String {
    match req.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(c) => {
            let xff = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok());
            registry.client_address(c.0.ip(), xff).to_string()
        }
        None => "local".to_owned(),
    }
}

/// Decode `Authorization: Basic …` into (user, secret).
pub fn basic_credentials(
    headers: &HeaderMap,
) -> Option<std::result::Result<(String, String), Error>> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bad = || Error::Unauthorized;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| bad());
    Some(
        decoded
            .and_then(|d| String::from_utf8(d).map_err(|_| bad()))
            .and_then(|s| {
                let (u, p) = s.split_once(':').ok_or_else(bad)?;
                Ok((u.to_owned(), p.to_owned()))
            }),
    )
}

pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The caller, and with a session cookie the session's CSRF token (sent back on the response).
async fn resolve(
    registry: &Registry,
    method: &Method,
    headers: &HeaderMap,
    client: &str,
) -> registry_core::Result<(Caller, Option<String>)> {
    if let Some(creds) = basic_credentials(headers) {
        let (user, secret) = creds?;
        let principal = registry.login(&user, &secret, client).await?;
        return Ok((Caller::new(principal), None));
    }
    if let Some(token) = bearer(headers) {
        let (principal, claims) = registry.verify_token(token).await?;
        return Ok((
            Caller {
                claims: Some(claims),
                ..Caller::new(principal)
            },
            None,
        ));
    }
    // A session cookie that is unknown or has ended is no credential: the caller is anonymous.
    if let Some(cookie) = session::cookie(headers, session::COOKIE) {
        let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf = headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        if let Some(s) = registry.session_caller(cookie, write, csrf).await? {
            return Ok((Caller::new(s.principal), Some(s.csrf)));
        }
    }
    Ok((Caller::anonymous(), None))
}

/// Middleware: resolve the caller and store it in the request's extensions.
pub async fn authenticate(
    State(registry): State<Registry>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = client_of(&registry, &req);
    match resolve(&registry, req.method(), req.headers(), &client).await {
        Ok((mut caller, csrf)) => {
            caller.user_agent = req
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect());
            if is_change(&req)
                && let Err(e) = registry.check_writable().await
            {
                return ApiError(e).into_response();
            }
            let actor = Actor::new(caller.principal.name(), client);
            req.extensions_mut().insert(caller);
            let mut res = with_actor(actor, next.run(req)).await;
            if let Some(v) = csrf.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers_mut().insert(session::CSRF_HEADER, v);
            }
            res
        }
        Err(e) => {
            let mut res = ApiError(e).into_response();
            if req.uri().path().starts_with("/v2") && res.status() == 401 {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    challenge(
                        req.headers(),
                        registry.access_settings().service.as_str(),
                        None,
                    ),
                );
            }
            res
        }
    }
}

/// Read-only mode refuses every change made through the management API, as Harbor does, except
/// turning it off again (`PUT /api/v2.0/configurations`). `/v2` writes are refused by the core
/// itself, whatever the frontend.
fn is_change(req: &Request) -> bool {
    let path = req.uri().path();
    let reads = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    !reads && path.starts_with("/api/v2.0/") && path != "/api/v2.0/configurations"
}

/// The `WWW-Authenticate` challenge pointing clients at the token service.
pub fn challenge(headers: &HeaderMap, service: &str, scope: Option<&str>) -> HeaderValue {
    Origin::of(headers).challenge(service, scope)
}

/// `scheme://host` a request came in on: `X-Forwarded-Proto` (which the server sets to `https`
/// itself on TLS connections) and `Host`.
pub fn request_base(headers: &HeaderMap) -> String {
    Origin::of(headers).base()
}

/// The two headers that say where a request came in (`Host`, `X-Forwarded-Proto`), kept apart
/// from the request so a handler can consume it and still build a challenge afterwards.
#[derive(Clone, Default)]
pub struct Origin {
    host: Option<HeaderValue>,
    proto: Option<HeaderValue>,
}

impl Origin {
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            host: headers.get(header::HOST).cloned(),
            proto: headers.get("x-forwarded-proto").cloned(),
        }
    }

    /// `scheme://host` ([`request_base`]).
    pub fn base(&self) -> String {
        let host = self
            .host
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let proto = self
            .proto
            .as_ref()
            .and_then(|h| h.to_str().ok())
            .filter(|p| *p == "https" || *p == "http")
            .unwrap_or("http");
        format!("{proto}://{host}")
    }

    /// The `WWW-Authenticate` challenge pointing clients at this origin's token service.
    pub fn challenge(&self, service: &str, scope: Option<&str>) -> HeaderValue {
        let base = self.base();
        let mut v = format!("Bearer realm=\"{base}/service/token\",service=\"{service}\"");
        if let Some(scope) = scope {
            v.push_str(&format!(",scope=\"{scope}\""));
        }
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// `GET /service/token?service=…&scope=…` (Docker token authentication).
pub async fn token(State(registry): State<Registry>, req: Request) -> ApiResult<Response> {
    let caller = req
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or(ApiError(Error::Unauthorized))?;
    let query = Query::parse(req.uri().query());
    let scopes = query.all("scope");
    let issued = registry
        .issue_token(&caller.principal, query.get("service"), &scopes)
        .await?;
    let issued_at = chrono::DateTime::from_timestamp(issued.issued_at, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Json(serde_json::json!({
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": issued.expires_in,
        "issued_at": issued_at,
    }))
    .into_response())
}
