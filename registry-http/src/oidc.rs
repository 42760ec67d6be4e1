//! OIDC sign-in for `oidc_auth` mode: `/c/oidc/login` sends the browser to the provider,
//! `/c/oidc/callback` finishes the code flow, onboards the user and shows their CLI secret once
//! (the password `docker login`-style clients use). Pending sign-ins are kept in this process for
//! ten minutes, so behind a load balancer the callback needs the node that started it (sticky
//! sessions) — a known limit until sessions move to the database.

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
use crate::error::ApiResult;
use crate::oci::Query;

fn pending() -> &'static moka::future::Cache<String, Arc<AuthRequest>> {
    static PENDING: OnceLock<moka::future::Cache<String, Arc<AuthRequest>>> = OnceLock::new();
    PENDING.get_or_init(|| {
        moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(600))
            .build()
    })
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

/// `GET /c/oidc/login`: redirect to the provider.
pub async fn login(State(reg): State<Registry>, headers: HeaderMap) -> ApiResult<Response> {
    let provider = reg.oidc().ok_or_else(not_configured)?;
    let request = provider.authorize_url(&callback_url(&headers))?;
    let url = request.url.clone();
    pending()
        .insert(request.state.clone(), Arc::new(request))
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
    let pending_request = pending().remove(&state).await.ok_or(Error::Unauthorized)?;
    let login = reg
        .oidc_login(&provider, &pending_request, &state, &code)
        .await?;
    Ok(Json(serde_json::json!({
        "user_id": login.user.id,
        "username": login.user.username,
        "cli_secret": login.cli_secret,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CliSecret {
    secret: String,
}

/// `PUT /api/v2.0/users/{id}/cli_secret`.
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
