//! Server settings: command line and `BERTH_*` environment first, then the TOML config file,
//! then the embedded defaults (SQLite + filesystem in `./berth-data`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings as they may appear in the config file (every key optional).
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub metadata: Option<String>,
    pub storage: Option<String>,
    pub log_format: Option<String>,
    /// Abandoned upload sessions are purged after this many seconds without activity.
    pub upload_ttl_secs: Option<u64>,
    /// Password of the `admin` user created on first start (else one is generated and printed
    /// once). Ignored once the user exists.
    pub admin_password: Option<Secret>,
}

/// A secret setting: never shown by `Debug`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FileSettings {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
    }

    /// Fill every unset field of `self` from `other`.
    pub fn or(self, other: FileSettings) -> FileSettings {
        FileSettings {
            listen: self.listen.or(other.listen),
            data_dir: self.data_dir.or(other.data_dir),
            metadata: self.metadata.or(other.metadata),
            storage: self.storage.or(other.storage),
            log_format: self.log_format.or(other.log_format),
            upload_ttl_secs: self.upload_ttl_secs.or(other.upload_ttl_secs),
            admin_password: self.admin_password.or(other.admin_password),
        }
    }
}

/// Resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Metadata URI (`sqlite://…`, `postgres://…`).
    pub metadata: String,
    /// Storage URI (`file://…`, `s3://…`).
    pub storage: String,
    pub json_logs: bool,
    pub upload_ttl_secs: u64,
    pub admin_password: Option<Secret>,
}

impl Settings {
    pub fn resolve(f: FileSettings) -> Result<Self, String> {
        let listen = f.listen.unwrap_or_else(|| "127.0.0.1:5000".into());
        let listen = listen.parse().map_err(|e| format!("listen address {listen:?}: {e}"))?;
        let data_dir = f.data_dir.unwrap_or_else(|| PathBuf::from("./berth-data"));
        let metadata = f.metadata.unwrap_or_else(|| format!("sqlite://{}", data_dir.join("berth.db").display()));
        let storage = f.storage.unwrap_or_else(|| format!("file://{}", data_dir.display()));
        let json_logs = match f.log_format.as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => return Err(format!("log format {other:?}: use text or json")),
        };
        Ok(Self { listen, data_dir, metadata, storage, json_logs, upload_ttl_secs: f.upload_ttl_secs.unwrap_or(86_400), admin_password: f.admin_password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_precedence() {
        let s = Settings::resolve(FileSettings::default()).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:5000");
        assert_eq!(s.metadata, "sqlite://./berth-data/berth.db");
        assert_eq!(s.storage, "file://./berth-data");
        let cli = FileSettings { listen: Some("127.0.0.1:6000".into()), ..Default::default() };
        let file: FileSettings = toml::from_str("listen = \"0.0.0.0:1\"\ndata_dir = \"/d\"\nlog_format = \"json\"").unwrap();
        let s = Settings::resolve(cli.or(file)).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:6000");
        assert_eq!(s.storage, "file:///d");
        assert!(s.json_logs);
        assert!(toml::from_str::<FileSettings>("nope = 1").is_err());
        assert!(Settings::resolve(FileSettings { listen: Some("x".into()), ..Default::default() }).is_err());
    }
}
