//! `berth`: the standalone registry server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use registry_http::{AppOptions, FileSettings, Settings};

#[derive(Parser)]
#[command(name = "berth", version, about = "Berth container registry")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the registry server.
    Serve(ServeArgs),
    /// Collect garbage now, in this process, with a progress display (the server may keep
    /// running: collection is online).
    Gc(GcArgs),
    /// The vulnerability database the built-in scanner matches against.
    Vulndb {
        #[command(subcommand)]
        cmd: VulndbCmd,
    },
    /// Berth's built-in scanner as a pluggable scanner (Harbor's Scanner Adapter API v1.2).
    Scanner {
        #[command(subcommand)]
        cmd: ScannerCmd,
    },
}

#[derive(Subcommand)]
enum ScannerCmd {
    /// Serve `/api/v1` (metadata, scan, report) for Harbor or another Berth to register. The
    /// adapter keeps pulled artifacts and its vulnerability database in its own store (import
    /// one with `berth vulndb import` and the same store options).
    Serve(ScannerServeArgs),
}

#[derive(clap::Args)]
struct ScannerServeArgs {
    /// Address to listen on [default: 127.0.0.1:8089].
    #[arg(long, env = "BERTH_SCANNER_LISTEN", default_value = "127.0.0.1:8089")]
    listen: String,
    #[command(flatten)]
    store: StoreArgs,
    /// Require this key from callers (`Authorization: Bearer <key>` or
    /// `X-ScannerAdapter-API-Key: <key>`); register the scanner with auth `Bearer` and this key.
    #[arg(long, env = "BERTH_SCANNER_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// How registries should let the adapter pull: Basic (robot credentials) or Bearer (a
    /// token of the registry's token service).
    #[arg(long, default_value = "Basic")]
    registry_auth: String,
    /// The scanner name the metadata and reports give [default: Berth].
    #[arg(long)]
    scanner_name: Option<String>,
}

#[derive(Subcommand)]
enum VulndbCmd {
    /// Import OSV advisories: a directory of OSV JSON files, one file, or the per-ecosystem
    /// `all.zip` OSV publishes (the server may keep running).
    Import {
        /// What to import.
        path: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(clap::Args)]
struct GcArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Report what would be deleted; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also delete artifacts that have no tag (and nothing references).
    #[arg(long)]
    delete_untagged: bool,
    /// Parallel blob deletions (1–10).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Keep unreferenced blobs younger than this many seconds [default: config, else 7200].
    #[arg(long, env = "BERTH_GC_GRACE_SECS")]
    grace_secs: Option<u64>,
}

/// Where the registry's data lives (shared by `serve` and `gc`).
#[derive(clap::Args)]
struct StoreArgs {
    /// Directory for the embedded SQLite database and blob files [default: ./berth-data].
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Metadata database URL (sqlite://… or postgres://…) [default: SQLite in the data dir].
    #[arg(long, env = "BERTH_METADATA")]
    metadata: Option<String>,
    /// Blob storage URL (file://… or s3://bucket/prefix?endpoint=…) [default: the data dir].
    #[arg(long, env = "BERTH_STORAGE")]
    storage: Option<String>,
    /// File holding the key secrets are encrypted with at rest (or set BERTH_SECRET_KEY).
    #[arg(long, env = "BERTH_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// TOML config file; command-line options and environment variables take precedence.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
}

impl StoreArgs {
    fn file_settings(&self) -> Result<FileSettings, String> {
        let mut f = match &self.config {
            Some(p) => FileSettings::load(p)?,
            None => FileSettings::default(),
        };
        if let Some(path) = &self.secret_key_file {
            f.secret_key_file = Some(path.clone());
        }
        if let Ok(key) = std::env::var("BERTH_SECRET_KEY") {
            f.secret_key = Some(registry_http::config::Secret(key));
            f.secret_key_file = None;
        }
        Ok(f)
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "BERTH_LISTEN")]
    listen: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
    /// Job workers on this node (GC, retention, webhooks, schedules) [default: 2].
    #[arg(long, env = "BERTH_JOB_WORKERS")]
    job_workers: Option<usize>,
    /// Keep unreferenced blobs younger than this many seconds in garbage collections [default: 7200].
    #[arg(long, env = "BERTH_GC_GRACE_SECS")]
    gc_grace_secs: Option<u64>,
    /// Log format: text or json.
    #[arg(long, env = "BERTH_LOG_FORMAT")]
    log_format: Option<String>,
    /// Password for the `admin` user created on first start [default: generated, printed once].
    #[arg(long, env = "BERTH_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// PEM certificate chain: serve HTTPS (with --tls-key); reloaded when the file changes.
    #[arg(long, env = "BERTH_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "BERTH_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if json { b.json().init() } else { b.init() }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    spawn_memory_trimmer();
    let file = args.store.file_settings()?;
    let cli = FileSettings {
        listen: args.listen,
        data_dir: args.store.data_dir,
        metadata: args.store.metadata,
        storage: args.store.storage,
        log_format: args.log_format,
        upload_ttl_secs: None,
        admin_password: args.admin_password.map(registry_http::config::Secret),
        job_workers: args.job_workers,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        gc: args
            .gc_grace_secs
            .map(|s| registry_http::config::GcSettings {
                grace_secs: Some(s),
                workers: None,
            }),
        ..FileSettings::default()
    };
    let settings = Settings::resolve(cli.or(file))?;
    init_tracing(settings.json_logs);
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("installing the metrics recorder: {e}"))?;
    let registry = registry_http::open_registry(&settings)
        .await
        .map_err(|e| format!("opening the registry: {e}"))?;
    let admin_password = settings.admin_password.as_ref().map(|s| s.0.as_str());
    if let Some(generated) = registry
        .bootstrap(admin_password)
        .await
        .map_err(|e| format!("first start: {e}"))?
    {
        // Shown once, on the console only (never in the log).
        println!("berth: created the admin user; its password is: {generated}");
        println!(
            "berth: this is shown only once. Change it with PUT /api/v2.0/users/{{id}}/password."
        );
    }
    let server = registry_http::serve(
        registry,
        settings.listen,
        AppOptions {
            metrics: Some(metrics),
            gc: settings.gc.clone(),
            job_workers: settings.job_workers,
            max_body_bytes: settings.max_body_bytes,
            body_idle_timeout: settings.body_idle_timeout,
            tls: settings.tls.clone(),
        },
        Duration::from_secs(settings.upload_ttl_secs),
        shutdown_signal(),
    )
    .await
    .map_err(|e| format!("binding {}: {e}", settings.listen))?;
    tracing::info!(addr = %server.addr, metadata = redact(&settings.metadata), storage = redact(&settings.storage), "berth listening");
    server
        .wait()
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn gc(args: GcArgs) -> Result<(), String> {
    use registry_core::gc::{GcOptions, GcPhase, GcReport};
    let extra = FileSettings {
        gc: args.grace_secs.map(|s| registry_http::config::GcSettings {
            grace_secs: Some(s),
            workers: None,
        }),
        ..FileSettings::default()
    };
    let (settings, registry) = open_store(args.store, extra).await?;
    let opts = GcOptions {
        dry_run: args.dry_run,
        delete_untagged: args.delete_untagged,
        workers: args.workers,
        ..settings.gc
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let verb = if opts.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let show = |phase: GcPhase, r: &GcReport| {
        bar.set_message(format!(
            "{phase:?}: {verb} {} untagged artifacts, {} links, {} blobs ({})",
            r.purged_manifests,
            r.dropped_links,
            r.purged_blobs,
            registry_core::quota::human_size(r.freed_space as i64)
        ));
        true
    };
    let report = registry
        .collect_garbage(&opts, &show)
        .await
        .map_err(|e| format!("garbage collection: {e}"))?;
    bar.finish_and_clear();
    println!(
        "berth gc{}: {verb} {} untagged artifacts, dropped {} unreferenced links, {} {} blobs ({} bytes), dropped {} abandoned uploads{}",
        if opts.dry_run { " (dry run)" } else { "" },
        report.purged_manifests,
        report.dropped_links,
        verb,
        report.purged_blobs,
        report.freed_space,
        report.purged_uploads,
        if report.failed_blobs > 0 {
            format!("; {} blobs could not be deleted", report.failed_blobs)
        } else {
            String::new()
        }
    );
    if report.failed_blobs > 0 {
        return Err(format!(
            "{} blobs could not be deleted",
            report.failed_blobs
        ));
    }
    Ok(())
}

/// Open the store `store` names, for a command that is not the server: settings from the
/// command line (`extra` and the store options), then the config file; logging set up.
async fn open_store(
    store: StoreArgs,
    extra: FileSettings,
) -> Result<(Settings, registry_core::Registry), String> {
    let file = store.file_settings()?;
    let cli = FileSettings {
        data_dir: store.data_dir,
        metadata: store.metadata,
        storage: store.storage,
        ..extra
    };
    let settings = Settings::resolve(cli.or(file))?;
    init_tracing(settings.json_logs);
    let registry = registry_http::open_registry(&settings)
        .await
        .map_err(|e| format!("opening the registry: {e}"))?;
    Ok((settings, registry))
}

async fn scanner_serve(args: ScannerServeArgs) -> Result<(), String> {
    let (_, registry) = open_store(args.store, FileSettings::default()).await?;
    let adapter = registry_core::scan::adapter::ScanAdapter::new(
        registry,
        args.api_key,
        &args.registry_auth,
        args.scanner_name,
    )
    .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("binding {}: {e}", args.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("binding {}: {e}", args.listen))?;
    tracing::info!(%addr, registry_auth = adapter.auth_type(), "berth scanner adapter listening");
    axum::serve(
        listener,
        registry_http::scanner::app(std::sync::Arc::new(adapter)),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"))
}

async fn vulndb_import(path: PathBuf, store: StoreArgs) -> Result<(), String> {
    let (_, registry) = open_store(store, FileSettings::default()).await?;
    let s = registry
        .import_vulndb(&path)
        .await
        .map_err(|e| format!("importing {}: {e}", path.display()))?;
    println!(
        "berth vulndb import: {} advisories ({} affected packages, {} withdrawn, {} files skipped); the database now holds {} advisories, updated at {}",
        s.advisories, s.rows, s.withdrawn, s.skipped, s.total_advisories, s.updated_at
    );
    Ok(())
}

use registry_core::units::redact_uri as redact;

/// glibc's malloc serves blocks from 128 KiB up with their own mappings, returned to the system
/// on free, but raises that threshold to the size of each such block freed (up to 32 MiB). One
/// password hash (19 MiB of Argon2 memory) or one large read buffer later, big transient buffers
/// come from the per-thread arenas instead, and those keep their peak size for good: a server
/// that received eight large uploads in parallel held 250 MB more, idle. A fixed threshold keeps
/// the first behaviour.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; this runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// Freed memory stays in glibc's arenas until something returns it: after a burst of uploads a
/// quiet server kept tens of MB it no longer used. Once no request has started for a second,
/// and none is running, the heap is trimmed (`malloc_trim` returns the free pages of every
/// arena); under load it never runs.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn spawn_memory_trimmer() {
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(|| {
            let (mut seen, _) = registry_http::router::activity();
            let mut dirty = false;
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                let (started, running) = registry_http::router::activity();
                if started != seen {
                    (seen, dirty) = (started, true);
                } else if dirty && running == 0 {
                    // SAFETY: malloc_trim only returns free memory; any thread may call it.
                    unsafe {
                        libc::malloc_trim(0);
                    }
                    dirty = false;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "could not start the memory trimmer");
    }
}

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fix_malloc_mmap_threshold();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    let result = rt.block_on(async {
        match cli.cmd {
            Cmd::Serve(args) => serve(args).await,
            Cmd::Gc(args) => gc(args).await,
            Cmd::Scanner {
                cmd: ScannerCmd::Serve(args),
            } => scanner_serve(args).await,
            Cmd::Vulndb {
                cmd: VulndbCmd::Import { path, store },
            } => vulndb_import(path, store).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berth: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_secrets() {
        assert_eq!(
            super::redact("postgres://u:pw@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("s3://b?endpoint=x&secret_access_key=abc&region=r"),
            "s3://b?endpoint=x&secret_access_key=***&region=r"
        );
    }
}
