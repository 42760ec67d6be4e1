//! `berth scanner serve`: Berth's built-in scanner as a Harbor Scanner Adapter API v1.2 server
//! (`/api/v1`). The logic is [`registry_core::scan::adapter`]; these handlers extract, make one
//! call and render, errors in the spec's `ErrorResponse` envelope.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use registry_core::scan::adapter::{AdapterError, MAX_REQUEST, ReportAnswer, ScanAdapter};
use registry_core::scan::pluggable::{ERROR_TYPE, METADATA_TYPE, SCAN_RESPONSE_TYPE};

type Adapter = Arc<ScanAdapter>;

fn typed(status: StatusCode, content_type: &str, body: String) -> Response {
    let mut res = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res
}

fn error(e: AdapterError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    typed(status, ERROR_TYPE, e.body().to_string())
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The API key check, before every route.
async fn authorize(State(a): State<Adapter>, req: Request, next: Next) -> Response {
    let h = req.headers();
    match a.authorize(
        header_str(h, "authorization"),
        header_str(h, "x-scanneradapter-api-key"),
    ) {
        Ok(()) => next.run(req).await,
        Err(e) => error(e),
    }
}

async fn metadata(State(a): State<Adapter>) -> Response {
    match a.metadata().await {
        Ok(v) => typed(StatusCode::OK, METADATA_TYPE, v.to_string()),
        Err(e) => error(e),
    }
}

async fn scan(State(a): State<Adapter>, body: Bytes) -> Response {
    match a.accept(&body) {
        Ok(id) => typed(
            StatusCode::ACCEPTED,
            SCAN_RESPONSE_TYPE,
            serde_json::json!({ "id": id }).to_string(),
        ),
        Err(e) => error(e),
    }
}

async fn report(State(a): State<Adapter>, Path(id): Path<String>, h: HeaderMap) -> Response {
    match a.report(&id, header_str(&h, "accept")) {
        Ok(ReportAnswer::Later(secs)) => {
            let mut res = StatusCode::FOUND.into_response();
            res.headers_mut()
                .insert("refresh-after", HeaderValue::from(secs));
            res
        }
        Ok(ReportAnswer::Ready(mime, v)) => typed(StatusCode::OK, mime, v.to_string()),
        Err(e) => error(e),
    }
}

/// The adapter's routes (no socket).
pub fn app(adapter: Adapter) -> Router {
    Router::new()
        .route("/api/v1/metadata", get(metadata))
        .route("/api/v1/scan", post(scan))
        .route("/api/v1/scan/{id}/report", get(report))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .route_layer(middleware::from_fn_with_state(adapter.clone(), authorize))
        .with_state(adapter)
}
