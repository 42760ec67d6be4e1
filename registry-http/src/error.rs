//! One `IntoResponse` for core errors: the OCI error envelope with the code's status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::{Error, ErrorCode};

/// A core error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %self.0, "request failed");
        } else {
            tracing::debug!(error = %self.0, code = code.as_str(), "request rejected");
        }
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut detail = serde_json::Map::new();
        if let Error::RangeInvalid { offset } = &self.0 {
            detail.insert("offset".into(), (*offset).into());
        }
        let body = serde_json::json!({
            "errors": [{ "code": code.as_str(), "message": self.0.public_message(), "detail": detail }]
        });
        let mut res = (status, axum::Json(body)).into_response();
        if let Error::RangeInvalid { offset } = &self.0 {
            // Tell a client that sent an out-of-order chunk where to resume.
            let end = offset.saturating_sub(1);
            if let Ok(v) = HeaderValue::from_str(&format!("0-{end}")) {
                res.headers_mut().insert(header::RANGE, v);
            }
        }
        res
    }
}
