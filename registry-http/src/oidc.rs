//! OIDC sign-in for `oidc_auth` mode: `/c/oidc/login` sends the browser to the provider,
//! `/c/oidc/callback` finishes the code flow, onboards the user, shows their CLI secret once (the
//! password `docker login`-style clients use) and opens a portal session; with `redirect_url` it
//! returns the browser to that portal page instead. Pending sign-ins are kept in this process for
//! ten minutes, so behind a load balancer the callback needs the node that started it (sticky
//! sessions); the sessions they open are in the database and good on every node.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::auth::oidc::AuthRequest;
use registry_core::{Error, Registry};
use serde::Deserialize;

use crate::api::{Body, Who};
use crate::auth::client_of;
use crate::error::ApiResult;
use crate::oci::Query;

/// A sign-in under way: the provider request, and the portal page to return to.
struct Pending {
    request: AuthRequest,
    redirect: Option<String>,
}

fn pending() -> &'static moka::future::Cache<String, Arc<Pending>> {
    static PENDING: OnceLock<moka::future::Cache<String, Arc<Pending>>> = OnceLock::new();
    PENDING.get_or_init(|| {
        moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(600))
            .build()
    })
}

/// A page of this server to return to: a path, never another site (`//host`, `/\\host`).
fn local_path(p: &str) -> Option<String> {
    let local = p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control);
    local.then(|| p.to_owned())
}

fn callback_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}/c/oidc/callback")
}

fn not_configured() -> Error {
    Error::PreconditionFailed {
        reason: "OIDC sign-in is not configured (auth_mode oidc_auth)".into(),
    }
}

/// `GET /c/oidc/login[?redirect_url=/harbor/…]`: redirect to the provider. With `redirect_url`
/// (the portal), the callback returns the signed-in browser there.
pub async fn login(State(reg): State<Registry>, req: Request) -> ApiResult<Response> {
    let provider = reg.oidc().ok_or_else(not_configured)?;
    let redirect = Query::parse(req.uri().query())
        .get("redirect_url")
        .and_then(local_path);
    let request = provider.authorize_url(&callback_url(req.headers()))?;
    let url = request.url.clone();
    let state = request.state.clone();
    pending()
        .insert(state, Arc::new(Pending { request, redirect }))
        .await;
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

/// `GET /c/oidc/callback?code=…&state=…`: finish the sign-in.
pub async fn callback(State(reg): State<Registry>, req: Request) -> ApiResult<Response> {
    let provider = reg.oidc().ok_or_else(not_configured)?.clone();
    let q = Query::parse(req.uri().query());
    if let Some(err) = q.get("error") {
        return Err(Error::Unauthorized)
            .inspect_err(|_| tracing::info!(error = err, "OIDC provider refused the sign-in"))
            .map_err(Into::into);
    }
    let state = q.get("state").unwrap_or_default().to_owned();
    let code = q
        .get("code")
        .ok_or(Error::BadRequest {
            reason: "missing code".into(),
        })?
        .to_owned();
    let started = pending().remove(&state).await.ok_or(Error::Unauthorized)?;
    let client = client_of(&reg, &req);
    let (login, session) = reg
        .oidc_session(&provider, &started.request, &state, &code, &client)
        .await?;
    // The browser is signed in either way; the portal goes back to its page, other callers
    // get the user and, on a first sign-in, the CLI secret.
    let mut res = match &started.redirect {
        Some(page) => (StatusCode::FOUND, [(header::LOCATION, page.as_str())]).into_response(),
        None => Json(serde_json::json!({
            "user_id": login.user.id,
            "username": login.user.username,
            "cli_secret": login.cli_secret,
        }))
        .into_response(),
    };
    crate::session::attach(&mut res, req.headers(), &session);
    Ok(res)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliSecret {
    secret: String,
}

/// `PUT /api/v2.0/users/{id}/cli_secret`.
#[utoipa::path(put, path = "/users/{id}/cli_secret", tag = "user", summary = "Set an OIDC user's CLI secret ({secret}); 412 for users of other sources", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 412, description = "not an OIDC user")))]
pub async fn set_cli_secret(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(b): Body<CliSecret>,
) -> ApiResult<Response> {
    let id: i64 = id.parse().map_err(|_| Error::BadRequest {
        reason: format!("{id:?} is not an id"),
    })?;
    reg.set_cli_secret(&p, id, &b.secret).await?;
    Ok(StatusCode::OK.into_response())
}
