//! Builds the axum application (no socket): the `/v2` distribution API, health and metrics.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use metrics_exporter_prometheus::PrometheusHandle;
use registry_core::Registry;

use crate::{api, auth, oci};

/// Largest JSON or form body read by default (1 MiB). Manifests have their own 4 MiB bound;
/// blob bodies stream and are never buffered.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// How long a request body may go without sending a byte before the request fails.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The body limit in force, as a request extension (for error messages).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Options for [`app`] and [`crate::serve`].
#[derive(Clone)]
pub struct AppOptions {
    /// Render Prometheus metrics at `/metrics` from this recorder handle.
    pub metrics: Option<PrometheusHandle>,
    /// Grace period, upload age and workers for garbage collections started through the API.
    pub gc: registry_core::gc::GcOptions,
    /// Job workers [`crate::serve`] runs (GC, retention, webhook deliveries, schedules); 0 runs
    /// none (another node does the work).
    pub job_workers: usize,
    /// Largest JSON or form body any route reads ([`DEFAULT_BODY_LIMIT`]), for anonymous and
    /// authenticated callers alike.
    pub max_body_bytes: usize,
    /// A request body that sends nothing for this long fails ([`DEFAULT_BODY_IDLE_TIMEOUT`]).
    pub body_idle_timeout: Duration,
    /// Serve HTTPS with this certificate and key ([`crate::serve`] only).
    pub tls: Option<crate::tls::TlsFiles>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            metrics: None,
            gc: registry_core::gc::GcOptions::default(),
            job_workers: 2,
            max_body_bytes: DEFAULT_BODY_LIMIT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            tls: None,
        }
    }
}

/// The whole HTTP application for `registry`.
pub fn app(registry: Registry, opts: AppOptions) -> Router {
    let (api_routes, openapi) = api::router();
    let authenticated = Router::new()
        .route("/v2", any(oci::dispatch))
        .route("/v2/", any(oci::dispatch))
        .route("/v2/{*rest}", any(oci::dispatch))
        .route("/service/token", get(auth::token))
        .nest("/api/v2.0", api_routes)
        .route_layer(middleware::from_fn_with_state(
            registry.clone(),
            auth::authenticate,
        ));
    let mut r = Router::new()
        .merge(authenticated)
        .route("/health", get(health))
        .route("/c/login", axum::routing::post(crate::session::login))
        .route("/c/log_out", get(crate::session::log_out))
        .route("/c/oidc/login", get(crate::oidc::login))
        .route("/c/oidc/callback", get(crate::oidc::callback))
        // The API description and Swagger UI, served from the binary (no CDN).
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/swagger-ui").url("/api-docs/openapi.json", openapi),
        );
    #[cfg(feature = "portal")]
    {
        r = r.merge(crate::portal::routes());
    }
    if let Some(handle) = opts.metrics {
        r = r.route("/metrics", get(move || async move { handle.render() }));
    }
    r.with_state(registry)
        .layer(axum::Extension(api::GcDefaults(opts.gc)))
        .layer(middleware::from_fn(track))
        .layer(axum::Extension(BodyLimit(opts.max_body_bytes)))
        .layer(DefaultBodyLimit::max(opts.max_body_bytes))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            opts.body_idle_timeout,
        ))
        // `X-Request-Id` in and out on every response (generated when the client sent none).
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
}

pub(crate) async fn health(State(registry): State<Registry>) -> Response {
    match registry.catalog(Some(1), None).await {
        Ok(_) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "healthy" })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "status": "unhealthy" })),
            )
                .into_response()
        }
    }
}

/// Requests the app has started, and those whose handlers are running (a response body may
/// still stream after its handler returns).
static STARTED: AtomicU64 = AtomicU64::new(0);
static RUNNING: AtomicI64 = AtomicI64::new(0);

/// (requests started, requests running), over every app of this process. The `berth` binary
/// reads it to hand freed memory back to the system once the server is quiet.
pub fn activity() -> (u64, i64) {
    (
        STARTED.load(Ordering::Relaxed),
        RUNNING.load(Ordering::Relaxed),
    )
}

/// Counts a running request until dropped (also when the request is cancelled).
struct Running;

impl Running {
    fn start() -> Self {
        STARTED.fetch_add(1, Ordering::Relaxed);
        RUNNING.fetch_add(1, Ordering::Relaxed);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Request counter and latency histogram, labelled by method, route class and status.
async fn track(req: Request, next: Next) -> Response {
    let _running = Running::start();
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let class = route_class(req.uri().path());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("berth_http_requests_total", "method" => method.clone(), "route" => class, "status" => status).increment(1);
    metrics::histogram!("berth_http_request_duration_seconds", "method" => method, "route" => class)
        .record(start.elapsed().as_secs_f64());
    res
}

fn route_class(path: &str) -> &'static str {
    if !path.starts_with("/v2") {
        return "other";
    }
    if path.contains("/blobs/uploads") {
        "uploads"
    } else if path.contains("/blobs/") {
        "blobs"
    } else if path.contains("/manifests/") {
        "manifests"
    } else if path.ends_with("/tags/list") {
        "tags"
    } else if path.contains("/referrers/") {
        "referrers"
    } else if path.ends_with("/_catalog") {
        "catalog"
    } else {
        "base"
    }
}
