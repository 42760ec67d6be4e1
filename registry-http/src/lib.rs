//! Berth's HTTP frontend: the OCI distribution API over axum, and the server loop used by the
//! `berth` binary. Handlers are thin: every rule lives in `registry_core::Registry`.

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod oci;
pub mod oidc;
pub mod router;

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
    let mut b = Registry::builder()
        .meta(meta)
        .blobs(blobs)
        .access_settings(settings.access.clone())
        .audit_settings(settings.audit.clone());
    match settings.auth_mode.as_str() {
        "ldap_auth" => {
            let cfg = settings
                .ldap
                .as_ref()
                .map(config::ldap_config)
                .transpose()?
                .unwrap_or_default();
            b = b.authenticator(std::sync::Arc::new(
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
    b.build()
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

/// Bind `addr` and serve `registry` until `shutdown` resolves, then finish in-flight requests.
/// Also purges upload sessions idle for longer than `upload_ttl`, runs job workers (webhook
/// deliveries, purges, garbage collection) and the webhook notifier.
pub async fn serve(
    registry: Registry,
    addr: SocketAddr,
    opts: AppOptions,
    upload_ttl: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let purger = tokio::spawn(purge_loop(registry.clone(), upload_ttl));
    let workers = (opts.job_workers > 0).then(|| registry.spawn_job_workers(opts.job_workers));
    // The webhook notifier runs where jobs run (several nodes may: claims keep them apart).
    let notifier = (opts.job_workers > 0).then(|| registry.spawn_notifier());
    let flush = registry.clone();
    let app = app(registry, opts);
    let handle = tokio::spawn(async move {
        let r = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
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
