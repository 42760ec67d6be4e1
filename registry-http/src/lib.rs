//! Berth's HTTP frontend: the OCI distribution API over axum, and the server loop used by the
//! `berth` binary. Handlers are thin: every rule lives in `registry_core::Registry`.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod oci;
pub mod oidc;
#[cfg(feature = "portal")]
pub mod portal;
pub mod router;
pub mod scanner;
pub mod session;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use config::{FileSettings, Settings};
pub use router::{AppOptions, app};

use registry_core::Registry;

/// Open the registry described by `settings`.
pub async fn open_registry(settings: &Settings) -> registry_core::Result<Registry> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| registry_core::Error::Storage {
        backend: "fs",
        source: format!("creating data dir {}: {e}", settings.data_dir.display()).into(),
    })?;
    let meta = registry_core::registry::open_metadata(&settings.metadata).await?;
    let blobs = registry_core::registry::open_blobs(&settings.storage).await?;
    let (key, previous) = config::secret_keys(settings)?;
    let mut b = Registry::builder()
        .meta(meta)
        .blobs(blobs)
        .secret_key(key)
        .previous_secret_keys(previous)
        .access_settings(settings.access.clone())
        .audit_settings(settings.audit.clone())
        .gc_grace(std::time::Duration::from_millis(
            settings.gc.grace_ms.max(0) as u64,
        ));
    match settings.auth_mode.as_str() {
        "ldap_auth" => {
            let cfg = settings
                .ldap
                .as_ref()
                .map(config::ldap_config)
                .transpose()?
                .unwrap_or_default();
            b = b.ldap(std::sync::Arc::new(
                registry_core::auth::ldap::LdapAuthenticator::new(cfg)?,
            ));
        }
        "oidc_auth" => {
            let cfg = settings
                .oidc
                .as_ref()
                .map(config::oidc_config)
                .unwrap_or_default();
            b = b.oidc(std::sync::Arc::new(
                registry_core::auth::oidc::OidcProvider::discover(cfg).await?,
            ));
        }
        _ => {}
    }
    let registry = b.build()?;
    registry.reseal_secrets().await?;
    Ok(registry)
}

/// A bound, running server.
pub struct Server {
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Wait until the server stops (after the shutdown future resolves and requests drain).
    pub async fn wait(self) -> std::io::Result<()> {
        self.handle.await.map_err(std::io::Error::other)?
    }
}

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest read from one connection, bytes (request head or body chunk).
const READ_BUFFER: usize = 64 << 10;
/// HTTP/2 receive windows, bytes: per stream, and per connection.
const H2_STREAM_WINDOW: u32 = 256 << 10;
const H2_CONNECTION_WINDOW: u32 = 1 << 20;
/// How long a TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long in-flight requests may take to finish after shutdown was asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Bind `addr` and serve `registry` until `shutdown` resolves, then finish in-flight requests.
/// Serves HTTPS when `opts.tls` names a certificate and key (re-read when they change).
/// Also purges upload sessions idle for longer than `upload_ttl`, runs job workers (webhook
/// deliveries, purges, garbage collection) and the webhook notifier.
pub async fn serve(
    registry: Registry,
    addr: SocketAddr,
    opts: AppOptions,
    upload_ttl: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Server> {
    let tls = match &opts.tls {
        Some(files) => {
            let (config, resolver) = tls::server_config(files).map_err(std::io::Error::other)?;
            Some((
                tokio_rustls::TlsAcceptor::from(config),
                tokio::spawn(tls::watch(files.clone(), resolver)),
            ))
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let purger = tokio::spawn(purge_loop(registry.clone(), upload_ttl));
    let workers = (opts.job_workers > 0).then(|| registry.spawn_job_workers(opts.job_workers));
    // The webhook notifier runs where jobs run (several nodes may: claims keep them apart).
    let notifier = (opts.job_workers > 0).then(|| registry.spawn_notifier());
    let flush = registry.clone();
    let app = app(registry, opts);
    let handle = tokio::spawn(async move {
        let (acceptor, watcher) = match tls {
            Some((a, w)) => (Some(a), Some(w)),
            None => (None, None),
        };
        let r = accept_loop(listener, app, acceptor, shutdown).await;
        if let Some(w) = watcher {
            w.abort();
        }
        purger.abort();
        if let Some(n) = notifier {
            n.shutdown().await;
        }
        if let Some(w) = workers {
            w.shutdown().await;
        }
        if let Err(e) = flush.flush_pulls().await {
            tracing::warn!(error = %e, "could not record the last pulls");
        }
        r
    });
    Ok(Server { addr, handle })
}

/// Accept connections until `shutdown`, each served by hyper (HTTP/1.1 with a header read
/// timeout, and HTTP/2), over TLS when there is an acceptor; then drain.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A connection reads at most 64 KiB at a time (request heads included): the chunks of a
    // blob body stay small, so holding one while its upload waits on a write costs little.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(READ_BUFFER);
    // HTTP/2 flow control: what a client may send ahead of the handler, per stream and per
    // connection.
    builder
        .http2()
        .timer(TokioTimer::new())
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW);
    let builder = std::sync::Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let https = acceptor.is_some();
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                // HTTP/2 names the host in `:authority`, not `Host`: give the handlers (token
                // realms, systeminfo, OIDC callbacks) one place to read it.
                if !req.headers().contains_key(axum::http::header::HOST)
                    && let Some(authority) = req.uri().authority()
                    && let Ok(v) = axum::http::HeaderValue::from_str(authority.as_str())
                {
                    req.headers_mut().insert(axum::http::header::HOST, v);
                }
                if https {
                    // This hop is TLS whatever the client claims: token realms and
                    // `systeminfo` name https.
                    req.headers_mut().insert(
                        "x-forwarded-proto",
                        axum::http::HeaderValue::from_static("https"),
                    );
                }
                req
            },
        );
        let service = hyper_util::service::TowerToHyperService::new(service);
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let result = match acceptor {
                None => {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; closing");
    }
    Ok(())
}

async fn purge_loop(registry: Registry, ttl: Duration) {
    let every = (ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    loop {
        match registry.purge_uploads(ttl.as_millis() as i64).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged abandoned upload sessions"),
            Err(e) => tracing::warn!(error = %e, "upload purge failed"),
        }
        tokio::time::sleep(every).await;
    }
}
