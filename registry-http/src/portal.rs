//! The web portal: the files of `portal/dist`, embedded in the binary (feature `portal`).
//! `index.html` answers `/` and every page under `/harbor/` (the portal routes in the
//! browser); the bundle is under `/assets/`. The portal talks to `/api/v2.0` and `/c/` only.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use registry_core::Registry;

#[derive(rust_embed::RustEmbed)]
#[folder = "portal/dist/"]
#[allow_missing = true]
struct Assets;

/// Scripts only from this server, nothing inline; no framing (clickjacking).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// Whether the portal was built into this binary.
pub fn available() -> bool {
    Assets::get("index.html").is_some()
}

/// The portal's routes.
pub fn routes() -> Router<Registry> {
    Router::new()
        .route("/", get(index))
        .route("/harbor", get(index))
        .route("/harbor/{*page}", get(index))
        .route("/assets/{*file}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    match serve("index.html", &headers) {
        Some(mut res) => {
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            res
        }
        None => (
            StatusCode::NOT_FOUND,
            "This berth was built without its web portal (npm was not found when it was \
             compiled). The API is at /api/v2.0 and described at /swagger-ui/.\n",
        )
            .into_response(),
    }
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    if file == "index.html" {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&file, &headers).unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// One embedded file, revalidated by its SHA-256 (`ETag`), never cached blindly: the bundle's
/// names do not change between versions.
fn serve(name: &str, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(name)?;
    let etag = format!("\"{}\"", hex::encode(file.metadata.sha256_hash()));
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(res)
}
