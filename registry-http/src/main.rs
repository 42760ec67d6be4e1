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
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "BERTH_LISTEN")]
    listen: Option<String>,
    /// Directory for the embedded SQLite database and blob files [default: ./berth-data].
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Metadata database URL (sqlite://… or postgres://…) [default: SQLite in the data dir].
    #[arg(long, env = "BERTH_METADATA")]
    metadata: Option<String>,
    /// Blob storage URL (file://… or s3://bucket/prefix?endpoint=…) [default: the data dir].
    #[arg(long, env = "BERTH_STORAGE")]
    storage: Option<String>,
    /// TOML config file; command-line options and environment variables take precedence.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long, env = "BERTH_LOG_FORMAT")]
    log_format: Option<String>,
    /// Password for the `admin` user created on first start [default: generated, printed once].
    #[arg(long, env = "BERTH_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
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
    let cli = FileSettings {
        listen: args.listen,
        data_dir: args.data_dir,
        metadata: args.metadata,
        storage: args.storage,
        log_format: args.log_format,
        upload_ttl_secs: None,
        admin_password: args.admin_password.map(registry_http::config::Secret),
        ..FileSettings::default()
    };
    let file = match &args.config {
        Some(p) => FileSettings::load(p)?,
        None => FileSettings::default(),
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

/// Hide passwords and secret keys in URLs before they reach the log.
fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(at) = out.find('@')
        && let Some(scheme_end) = out.find("://")
        && let Some(colon) = out[scheme_end + 3..at].find(':')
    {
        out.replace_range(scheme_end + 3 + colon + 1..at, "***");
    }
    if let Some(i) = out.find("secret_access_key=") {
        let start = i + "secret_access_key=".len();
        let end = out[start..].find('&').map_or(out.len(), |e| start + e);
        out.replace_range(start..end, "***");
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    let result = rt.block_on(async {
        match cli.cmd {
            Cmd::Serve(args) => serve(args).await,
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
