//! The vulnerability database: OSV advisories the operator imports, kept in the metadata
//! database (so every node of a deployment sees the same data), and matched against an image's
//! packages in each ecosystem's own version order.
//!
//! - Import: a directory of OSV JSON files (searched recursively), a single file, or the
//!   per-ecosystem `all.zip` OSV publishes ([`Registry::import_vulndb`]). Files are read on a
//!   blocking thread, each bounded, and written in batches; re-importing an advisory replaces
//!   it, a withdrawn advisory is removed.
//! - Each affected package becomes one row with what matching needs: the `ECOSYSTEM`/`SEMVER`
//!   ranges, the explicit versions, and the severity worked out once at import: the CVSS v3
//!   base score where the advisory has a vector, else the ecosystem's rating (Debian's urgency,
//!   Ubuntu's priority, GitHub's severity), else `Unknown`.
//! - Matching follows the OSV schema's evaluation: events sorted by version, `introduced` opens
//!   a range, `fixed` and `last_affected` close it, `limit` bounds it. The distro's
//!   "not affected" records (`fixed: "0"`) therefore match nothing.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cvss;
use super::packages::Package;
use super::version::{self, Scheme};
use crate::error::{Error, Result};
use crate::meta::scan::VulnRow;

/// The setting that records when the database was last imported (RFC 3339).
pub const UPDATED_AT: &str = "vulndb_updated_at";
/// The largest OSV file read (a real advisory is a few KB; the biggest are below 1 MiB).
const MAX_FILE: u64 = 16 << 20;
/// Advisories written per transaction.
const BATCH: usize = 1000;

/// Harbor's severities, in order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Severity {
    #[default]
    None,
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "None",
            Severity::Unknown => "Unknown",
            Severity::Negligible => "Negligible",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Harbor's names, any case (the project metadata key `severity` is lower case).
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => Severity::None,
            "unknown" => Severity::Unknown,
            "negligible" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// The CVSS v3 qualitative rating of a base score.
    pub fn of_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::None,
        }
    }

    /// An ecosystem's own rating: Debian's urgency, Ubuntu's priority, GitHub's severity.
    fn of_rating(s: &str) -> Option<Severity> {
        let s = s.trim().trim_end_matches('*').to_ascii_lowercase();
        Some(match s.as_str() {
            "unimportant" | "negligible" => Severity::Negligible,
            "low" => Severity::Low,
            "medium" | "moderate" => Severity::Medium,
            "high" | "important" => Severity::High,
            "critical" => Severity::Critical,
            "not yet assigned" | "unknown" | "end-of-life" | "untriaged" => Severity::Unknown,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a row's `record` holds: one affected package of an advisory, ready to match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_v3: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_v3: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe_ids: Vec<String>,
    /// `ECOSYSTEM` and `SEMVER` ranges, each a list of events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Vec<Event>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
}

/// An OSV range event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

// ---- OSV as published (only the fields used) ----

#[derive(Deserialize)]
struct Osv {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    references: Vec<OsvReference>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ecosystem_specific: Option<serde_json::Value>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct OsvReference {
    #[serde(default)]
    url: String,
}

fn rating_in(v: Option<&serde_json::Value>, keys: &[&str]) -> Option<Severity> {
    let v = v?;
    keys.iter().find_map(|k| {
        v.get(*k)
            .and_then(|s| s.as_str())
            .and_then(Severity::of_rating)
    })
}

/// An advisory as stored: its id, its rows (none when it is withdrawn or affects nothing this
/// scanner can match, such as GIT ranges only), and whether it is withdrawn.
pub struct Parsed {
    pub id: String,
    pub rows: Vec<VulnRow>,
    pub withdrawn: bool,
}

/// Parse one OSV record.
pub fn parse_osv(bytes: &[u8]) -> Result<Parsed> {
    let osv: Osv = serde_json::from_slice(bytes).map_err(|e| Error::BadRequest {
        reason: format!("not an OSV record: {e}"),
    })?;
    if osv.id.is_empty() || osv.id.len() > 200 {
        return Err(Error::BadRequest {
            reason: "an OSV record needs an id (at most 200 characters)".into(),
        });
    }
    let modified = osv
        .modified
        .as_deref()
        .and_then(|m| chrono::DateTime::parse_from_rfc3339(m).ok())
        .map_or(0, |t| t.timestamp());
    if osv.withdrawn.is_some() {
        return Ok(Parsed {
            id: osv.id,
            rows: Vec::new(),
            withdrawn: true,
        });
    }
    let summary = osv
        .summary
        .or_else(|| {
            osv.details
                .as_deref()
                .map(|d| d.chars().take(500).collect())
        })
        .unwrap_or_default();
    let links: Vec<String> = osv
        .references
        .into_iter()
        .map(|r| r.url)
        .filter(|u| !u.is_empty())
        .take(10)
        .collect();
    let cwe_ids: Vec<String> = osv
        .database_specific
        .as_ref()
        .and_then(|d| d.get("cwe_ids"))
        .and_then(|c| c.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (seq, a) in osv.affected.into_iter().enumerate() {
        let Some(pkg) = a.package else { continue };
        if pkg.name.is_empty() || pkg.ecosystem.is_empty() {
            continue;
        }
        let ranges: Vec<Vec<Event>> = a
            .ranges
            .iter()
            .filter(|r| r.kind == "ECOSYSTEM" || r.kind == "SEMVER")
            .map(|r| {
                r.events
                    .iter()
                    .flat_map(|e| e.iter())
                    .filter_map(|(k, v)| match k.as_str() {
                        "introduced" => Some(Event::Introduced(v.clone())),
                        "fixed" => Some(Event::Fixed(v.clone())),
                        "last_affected" => Some(Event::LastAffected(v.clone())),
                        "limit" => Some(Event::Limit(v.clone())),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        if ranges.is_empty() && a.versions.is_empty() {
            continue;
        }
        // CVSS v3 first: the package's own, then the advisory's.
        let vector = a
            .severity
            .iter()
            .chain(osv.severity.iter())
            .find(|s| s.kind == "CVSS_V3" && cvss::base_score(&s.score).is_some())
            .map(|s| s.score.clone());
        let score = vector.as_deref().and_then(cvss::base_score);
        let severity = match score {
            Some(s) => Severity::of_score(s),
            None => a
                .severity
                .iter()
                .chain(osv.severity.iter())
                .find(|s| s.kind == "Ubuntu")
                .and_then(|s| Severity::of_rating(&s.score))
                .or_else(|| rating_in(a.ecosystem_specific.as_ref(), &["urgency", "severity"]))
                .or_else(|| rating_in(a.database_specific.as_ref(), &["severity", "urgency"]))
                .or_else(|| rating_in(osv.database_specific.as_ref(), &["severity"]))
                .unwrap_or(Severity::Unknown),
        };
        let record = Record {
            aliases: osv.aliases.clone(),
            summary: summary.clone(),
            links: links.clone(),
            severity,
            score_v3: score,
            vector_v3: vector,
            cwe_ids: cwe_ids.clone(),
            ranges,
            versions: a.versions,
        };
        let package = if pkg.ecosystem == "PyPI" {
            pep503(&pkg.name)
        } else {
            pkg.name
        };
        rows.push(VulnRow {
            ecosystem: pkg.ecosystem,
            package,
            id: osv.id.clone(),
            seq: seq as i64,
            modified,
            record: serde_json::to_string(&record).expect("json serializes"),
        });
    }
    Ok(Parsed {
        id: osv.id,
        rows,
        withdrawn: false,
    })
}

/// The vulnerability database's state ([`crate::Registry::vulndb_status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VulnDbStatus {
    /// RFC 3339; absent when nothing was ever imported.
    pub updated_at: Option<String>,
    pub advisories: i64,
    pub rows: i64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    /// OSV records read.
    pub advisories: u64,
    /// Affected-package rows written.
    pub rows: u64,
    /// Withdrawn advisories (removed; so are advisories with nothing this scanner can match).
    pub withdrawn: u64,
    /// Files that were not OSV records (their names are logged).
    pub skipped: u64,
    /// The database after the import: advisories and rows.
    pub total_advisories: i64,
    pub total_rows: i64,
    pub updated_at: String,
}

/// Parsed advisories, a batch at a time.
struct Batch {
    ids: Vec<String>,
    rows: Vec<VulnRow>,
    withdrawn: u64,
    skipped: u64,
}

fn read_bounded(r: impl Read, what: &str) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    r.take(MAX_FILE + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_FILE {
        tracing::warn!(file = what, "OSV file larger than 16 MiB skipped");
        return Ok(None);
    }
    Ok(Some(buf))
}

/// Walk `path` on a blocking thread and send parsed batches.
fn read_all(path: &Path, tx: &tokio::sync::mpsc::Sender<Result<Batch>>) -> Result<()> {
    let io = |e: std::io::Error, p: &Path| Error::BadRequest {
        reason: format!("cannot read {}: {e}", p.display()),
    };
    let mut batch = Batch {
        ids: Vec::new(),
        rows: Vec::new(),
        withdrawn: 0,
        skipped: 0,
    };
    let add = |bytes: Option<Vec<u8>>, name: &str, batch: &mut Batch| -> Result<()> {
        match bytes.map(|b| parse_osv(&b)) {
            Some(Ok(p)) => {
                if p.withdrawn {
                    batch.withdrawn += 1;
                }
                batch.ids.push(p.id);
                batch.rows.extend(p.rows);
            }
            Some(Err(e)) => {
                tracing::warn!(file = name, error = %e, "skipped: not an OSV record");
                batch.skipped += 1;
            }
            None => batch.skipped += 1,
        }
        if batch.ids.len() >= BATCH {
            let full = std::mem::replace(
                batch,
                Batch {
                    ids: Vec::new(),
                    rows: Vec::new(),
                    withdrawn: 0,
                    skipped: 0,
                },
            );
            if tx.blocking_send(Ok(full)).is_err() {
                return Err(Error::internal("vulnerability import stopped"));
            }
        }
        Ok(())
    };
    let mut files: Vec<PathBuf> = Vec::new();
    let meta = std::fs::metadata(path).map_err(|e| io(e, path))?;
    if meta.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| io(e, &dir))? {
                let entry = entry.map_err(|e| io(e, &dir))?;
                let p = entry.path();
                let ft = entry.file_type().map_err(|e| io(e, &p))?;
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() {
                    files.push(p);
                }
            }
        }
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    for f in files {
        let name = f.display().to_string();
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if ext.eq_ignore_ascii_case("zip") {
            let file = std::fs::File::open(&f).map_err(|e| io(e, &f))?;
            let mut zip = zip::ZipArchive::new(file).map_err(|e| Error::BadRequest {
                reason: format!("{name} is not a zip archive: {e}"),
            })?;
            for i in 0..zip.len() {
                let entry = zip.by_index(i).map_err(|e| Error::BadRequest {
                    reason: format!("{name}: {e}"),
                })?;
                let entry_name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
                if !entry.is_file() || !entry_name.ends_with(".json") {
                    continue;
                }
                let inner = format!("{name}:{entry_name}");
                let bytes = read_bounded(entry, &inner).map_err(|e| io(e, &f))?;
                add(bytes, &inner, &mut batch)?;
            }
        } else if ext.eq_ignore_ascii_case("json") {
            let file = std::fs::File::open(&f).map_err(|e| io(e, &f))?;
            let bytes = read_bounded(file, &name).map_err(|e| io(e, &f))?;
            add(bytes, &name, &mut batch)?;
        }
    }
    if !batch.ids.is_empty() || batch.skipped > 0 {
        let _ = tx.blocking_send(Ok(batch));
    }
    Ok(())
}

/// Removes a temporary directory when dropped.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(path = %self.0.display(), error = %e, "could not remove a temporary directory");
        }
    }
}

impl crate::Registry {
    /// Import OSV advisories from `path` (see the module doc). An operator's action: callers
    /// decide who may (the `berth vulndb import` command and the bindings run it as the operator).
    pub async fn import_vulndb(&self, path: &Path) -> Result<ImportStats> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch>>(2);
        let p = path.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || {
            if let Err(e) = read_all(&p, &tx) {
                let _ = tx.blocking_send(Err(e));
            }
        });
        let mut stats = ImportStats::default();
        while let Some(b) = rx.recv().await {
            let b = b?;
            stats.advisories += b.ids.len() as u64;
            stats.rows += b.rows.len() as u64;
            stats.withdrawn += b.withdrawn;
            stats.skipped += b.skipped;
            self.meta.replace_vulns(&b.ids, &b.rows).await?;
        }
        reader
            .await
            .map_err(|e| Error::internal(format!("vulnerability import: {e}")))?;
        let now =
            crate::model::time(self.now_ms()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // An import that brought nothing does not make the database newer.
        if stats.advisories > 0 {
            self.meta.set_setting(UPDATED_AT, &now).await?;
        }
        let (a, r) = self.meta.vuln_counts().await?;
        stats.total_advisories = a;
        stats.total_rows = r;
        stats.updated_at = match stats.advisories {
            0 => self.vulndb_updated_at().await?.unwrap_or_default(),
            _ => now,
        };
        tracing::info!(
            path = %path.display(),
            advisories = stats.advisories,
            rows = stats.rows,
            withdrawn = stats.withdrawn,
            skipped = stats.skipped,
            "vulnerability database imported"
        );
        Ok(stats)
    }

    /// Import OSV advisories uploaded through the API: an OSV zip (as OSV publishes per
    /// ecosystem) or one OSV JSON record, at most `limit` bytes. The body goes to a temporary
    /// file as it arrives (never whole in memory), which is removed afterwards. System
    /// administrators (the `scanner` system resource).
    pub async fn import_vulndb_upload(
        &self,
        p: &crate::auth::Principal,
        body: crate::blob::InputStream<'_>,
        limit: u64,
    ) -> Result<ImportStats> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        self.require_system(
            p,
            crate::identity::rbac::SystemResource::Scanner,
            crate::identity::rbac::Action::Create,
        )?;
        let dir = std::env::temp_dir().join(format!("berth-vulndb-{}", uuid::Uuid::new_v4()));
        let io = |e: std::io::Error| Error::internal(format!("vulnerability upload: {e}"));
        tokio::fs::create_dir(&dir).await.map_err(io)?;
        let guard = RemoveOnDrop(dir.clone());
        let part = dir.join("upload");
        let mut file = tokio::fs::File::create(&part).await.map_err(io)?;
        let (mut size, mut head) = (0u64, Vec::new());
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(Error::PayloadTooLarge {
                    what: "vulnerability database upload".into(),
                    limit,
                });
            }
            if head.len() < 4 {
                head.extend_from_slice(&chunk[..chunk.len().min(4 - head.len())]);
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.sync_all().await.map_err(io)?;
        drop(file);
        if size == 0 {
            return Err(Error::BadRequest {
                reason: "the body is empty: send an OSV zip or one OSV JSON record".into(),
            });
        }
        // The reader picks the format by the name: a zip by its magic, else one JSON record.
        let named = dir.join(if head.starts_with(b"PK\x03\x04") {
            "upload.zip"
        } else {
            "upload.json"
        });
        tokio::fs::rename(&part, &named).await.map_err(io)?;
        let stats = self.import_vulndb(&named).await;
        drop(guard);
        let stats = stats?;
        if stats.advisories == 0 {
            return Err(Error::BadRequest {
                reason: format!(
                    "no OSV record in the upload ({} files skipped): send an OSV zip or one OSV JSON record",
                    stats.skipped
                ),
            });
        }
        Ok(stats)
    }

    /// The vulnerability database's state: `updated_at` (Harbor's
    /// `vulnerability-database-updated-at`), advisories and rows. System administrators.
    pub async fn vulndb_status(&self, p: &crate::auth::Principal) -> Result<VulnDbStatus> {
        self.require_system(
            p,
            crate::identity::rbac::SystemResource::Scanner,
            crate::identity::rbac::Action::Read,
        )?;
        let (advisories, rows) = self.meta.vuln_counts().await?;
        Ok(VulnDbStatus {
            updated_at: self.vulndb_updated_at().await?,
            advisories,
            rows,
        })
    }

    /// When the vulnerability database was last imported (RFC 3339), if ever.
    pub async fn vulndb_updated_at(&self) -> Result<Option<String>> {
        self.meta.get_setting(UPDATED_AT).await
    }
}

/// A package found vulnerable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: String,
    pub package: String,
    pub version: String,
    /// The lowest fixed version above the installed one, if the advisory names one.
    pub fix_version: Option<String>,
    pub severity: Severity,
    pub record: Record,
    pub ecosystem: String,
}

/// OSV ecosystems whose advisories apply to a package of kind `purl_type` (`deb`, `apk`) in an
/// image whose os-release says `distro` and `version_id`.
pub fn ecosystems_for(purl_type: &str, distro: &str, version_id: Option<&str>) -> Vec<String> {
    let v = version_id.unwrap_or_default();
    match (purl_type, distro) {
        ("deb", "debian") => {
            let major = v.split('.').next().unwrap_or_default();
            if major.is_empty() {
                vec!["Debian".into()]
            } else {
                vec![format!("Debian:{major}")]
            }
        }
        ("deb", "ubuntu") if !v.is_empty() => {
            vec![format!("Ubuntu:{v}"), format!("Ubuntu:{v}:LTS")]
        }
        ("apk", "alpine") => {
            let mm: Vec<&str> = v.split('.').take(2).collect();
            if mm.len() == 2 {
                vec![format!("Alpine:v{}.{}", mm[0], mm[1])]
            } else {
                vec!["Alpine".into()]
            }
        }
        ("apk", "wolfi") => vec!["Wolfi".into()],
        ("apk", "chainguard") => vec!["Chainguard".into()],
        // rpm distributions OSV publishes, by major release (SUSE by service pack); Fedora and
        // CentOS have no OSV ecosystem.
        ("rpm", "rhel") if !major(v).is_empty() => ["baseos", "appstream"]
            .map(|repo| format!("Red Hat:enterprise_linux:{}::{repo}", major(v)))
            .to_vec(),
        ("rpm", "almalinux") if !major(v).is_empty() => vec![format!("AlmaLinux:{}", major(v))],
        ("rpm", "rocky") if !major(v).is_empty() => vec![format!("Rocky Linux:{}", major(v))],
        ("rpm", "opensuse-leap") if !v.is_empty() => vec![format!("openSUSE:Leap {v}")],
        ("rpm", "opensuse-tumbleweed") => vec!["openSUSE:Tumbleweed".into()],
        ("rpm", "sles") if !major(v).is_empty() => match v.split_once('.') {
            Some((m, sp)) if sp != "0" => {
                vec![format!("SUSE:Linux Enterprise Server {m} SP{sp}")]
            }
            _ => vec![format!("SUSE:Linux Enterprise Server {}", major(v))],
        },
        // Language packages: the same wherever they are installed.
        ("golang", _) => vec!["Go".into()],
        ("pypi", _) => vec!["PyPI".into()],
        ("npm", _) => vec!["npm".into()],
        ("cargo", _) => vec!["crates.io".into()],
        ("maven", _) => vec!["Maven".into()],
        _ => Vec::new(),
    }
}

/// The major release of an os-release `VERSION_ID` (`9.4` -> `9`).
fn major(version_id: &str) -> &str {
    version_id.split('.').next().unwrap_or_default()
}

/// The name advisories use for `p`: Debian, Ubuntu and Alpine publish them by source package,
/// the rpm distributions by binary package; Go by module path (`stdlib` for the standard
/// library); Python names are compared normalized (PEP 503).
pub fn advisory_name(p: &Package) -> String {
    match p.ecosystem {
        "pypi" => pep503(&p.name),
        "rpm" | "golang" => p.name.clone(),
        _ => p.source.clone().unwrap_or_else(|| p.name.clone()),
    }
}

/// The version advisories state for `p`: Go's standard library is `go1.22.1` in an SBOM (as
/// Syft names it) and `1.22.1` in OSV.
pub fn advisory_version(p: &Package) -> &str {
    match (p.ecosystem, p.name.as_str()) {
        ("golang", "stdlib") => p.version.strip_prefix("go").unwrap_or(&p.version),
        _ => &p.version,
    }
}

/// PEP 503's normalized project name: lower case, runs of `-`, `_` and `.` as one `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

fn cmp(scheme: Scheme, a: &str, b: &str) -> Option<Ordering> {
    // OSV's "0" is the start of time in every ecosystem.
    match (a == "0", b == "0") {
        (true, true) => Some(Ordering::Equal),
        (true, false) => Some(Ordering::Less),
        (false, true) => Some(Ordering::Greater),
        _ => version::compare(scheme, a, b),
    }
}

/// Whether `v` is affected by `r`, in `scheme`'s order; and the fixed version above `v`.
pub fn affects(scheme: Scheme, r: &Record, v: &str) -> (bool, Option<String>) {
    if r.versions.iter().any(|x| x == v) {
        return (true, lowest_fix_above(scheme, r, v));
    }
    for events in &r.ranges {
        let mut sorted: Vec<&Event> = events.iter().collect();
        sorted.sort_by(|a, b| cmp(scheme, a.version(), b.version()).unwrap_or(Ordering::Equal));
        let mut affected = false;
        let mut limited = false;
        for e in &sorted {
            let at_or_above =
                |x: &str| matches!(cmp(scheme, v, x), Some(Ordering::Greater | Ordering::Equal));
            match e {
                Event::Introduced(x) if at_or_above(x) => affected = true,
                Event::Fixed(x) if at_or_above(x) => affected = false,
                Event::LastAffected(x) if cmp(scheme, v, x) == Some(Ordering::Greater) => {
                    affected = false
                }
                Event::Limit(x) if at_or_above(x) => limited = true,
                _ => {}
            }
        }
        if affected && !limited {
            return (true, lowest_fix_above(scheme, r, v));
        }
    }
    (false, None)
}

fn lowest_fix_above(scheme: Scheme, r: &Record, v: &str) -> Option<String> {
    r.ranges
        .iter()
        .flatten()
        .filter_map(|e| match e {
            Event::Fixed(x) if cmp(scheme, x, v) == Some(Ordering::Greater) => Some(x),
            _ => None,
        })
        .min_by(|a, b| cmp(scheme, a, b).unwrap_or(Ordering::Equal))
        .cloned()
}

/// Match `packages` of an image whose os-release says `distro` and `version_id` against `rows`
/// (the rows of their advisory names). A row applies to a package of the ecosystems
/// [`ecosystems_for`] gives it. One finding per (advisory, package); aliases are kept on the
/// record.
pub fn find(
    packages: &[Package],
    distro: &str,
    version_id: Option<&str>,
    rows: &[VulnRow],
) -> Vec<Finding> {
    let mut by_name: HashMap<&str, Vec<&VulnRow>> = HashMap::new();
    for r in rows {
        by_name.entry(r.package.as_str()).or_default().push(r);
    }
    let mut out = Vec::new();
    for p in packages {
        let Some(candidates) = by_name.get(advisory_name(p).as_str()) else {
            continue;
        };
        let ecosystems = ecosystems_for(p.ecosystem, distro, version_id);
        let mut seen = std::collections::HashSet::new();
        for row in candidates {
            if !ecosystems.contains(&row.ecosystem) {
                continue;
            }
            let Some(scheme) = Scheme::for_ecosystem(&row.ecosystem) else {
                continue;
            };
            let Ok(record) = serde_json::from_str::<Record>(&row.record) else {
                tracing::warn!(id = %row.id, "stored vulnerability record does not parse");
                continue;
            };
            let (hit, fix) = affects(scheme, &record, advisory_version(p));
            if hit && seen.insert(row.id.clone()) {
                out.push(Finding {
                    id: row.id.clone(),
                    package: p.name.clone(),
                    version: p.version.clone(),
                    fix_version: fix,
                    severity: record.severity,
                    record,
                    ecosystem: row.ecosystem.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.package.cmp(&b.package))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ranges: Vec<Vec<Event>>) -> Record {
        Record {
            aliases: vec![],
            summary: String::new(),
            links: vec![],
            severity: Severity::High,
            score_v3: None,
            vector_v3: None,
            cwe_ids: vec![],
            ranges,
            versions: vec![],
        }
    }

    #[test]
    fn osv_evaluation_in_dpkg_order() {
        use Event::*;
        let r = record(vec![vec![
            Introduced("0".into()),
            Fixed("2.36-9+deb12u3".into()),
        ]]);
        assert_eq!(
            affects(Scheme::Dpkg, &r, "2.36-9+deb12u2"),
            (true, Some("2.36-9+deb12u3".into()))
        );
        assert!(!affects(Scheme::Dpkg, &r, "2.36-9+deb12u3").0);
        assert!(!affects(Scheme::Dpkg, &r, "2.36-9+deb12u10").0);
        assert!(!affects(Scheme::Dpkg, &r, "1:0.1").0);
        // Debian's "not affected": fixed at 0.
        let na = record(vec![vec![Introduced("0".into()), Fixed("0".into())]]);
        assert!(!affects(Scheme::Dpkg, &na, "1.0-1").0);
        // Unfixed: introduced only.
        let open = record(vec![vec![Introduced("0".into())]]);
        assert_eq!(affects(Scheme::Dpkg, &open, "1.0-1"), (true, None));
        // Two windows, events given out of order.
        let two = record(vec![vec![
            Fixed("1.5".into()),
            Introduced("2.0".into()),
            Introduced("1.0".into()),
            LastAffected("2.2".into()),
        ]]);
        assert!(!affects(Scheme::Dpkg, &two, "0.9").0);
        assert!(affects(Scheme::Dpkg, &two, "1.4").0);
        assert!(!affects(Scheme::Dpkg, &two, "1.5").0);
        assert!(affects(Scheme::Dpkg, &two, "2.2").0);
        assert!(!affects(Scheme::Dpkg, &two, "2.2.1").0);
        // `~` sorts before the release: a pre-release of the fix is still vulnerable.
        let tilde = record(vec![vec![Introduced("0".into()), Fixed("1.0".into())]]);
        assert!(affects(Scheme::Dpkg, &tilde, "1.0~rc1").0);
        // Limit.
        let lim = record(vec![vec![Introduced("0".into()), Limit("3.0".into())]]);
        assert!(affects(Scheme::Dpkg, &lim, "2.0").0);
        assert!(!affects(Scheme::Dpkg, &lim, "3.1").0);
    }

    #[test]
    fn explicit_versions_match_exactly() {
        let mut r = record(vec![]);
        r.versions = vec!["1.2.3".into()];
        assert!(affects(Scheme::Semver, &r, "1.2.3").0);
        assert!(!affects(Scheme::Semver, &r, "1.2.4").0);
    }

    #[test]
    fn parse_osv_takes_cvss_then_ratings() {
        let doc = serde_json::json!({
            "id": "DSA-0000-1", "modified": "2024-01-02T03:04:05Z", "aliases": ["CVE-2024-0001"],
            "summary": "s", "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [
                {"package": {"ecosystem": "Debian:12", "name": "openssl"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u1"}]}]},
                {"package": {"ecosystem": "Debian:12", "name": "gitrepo"},
                 "ranges": [{"type": "GIT", "repo": "x", "events": [{"introduced": "abc"}]}]}
            ]
        });
        let Parsed { id, rows, .. } = parse_osv(doc.to_string().as_bytes()).unwrap();
        assert_eq!(id, "DSA-0000-1");
        assert_eq!(rows.len(), 1, "GIT ranges are not matchable");
        let r: Record = serde_json::from_str(&rows[0].record).unwrap();
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(r.score_v3, Some(9.8));
        assert_eq!(rows[0].modified, 1704164645);

        let doc = serde_json::json!({
            "id": "DEBIAN-CVE-2024-0002",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"},
                "ecosystem_specific": {"urgency": "unimportant"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
        });
        let rows = parse_osv(doc.to_string().as_bytes()).unwrap().rows;
        let r: Record = serde_json::from_str(&rows[0].record).unwrap();
        assert_eq!(r.severity, Severity::Negligible);

        let doc = serde_json::json!({
            "id": "GHSA-xxxx", "database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-79"]},
            "affected": [{"package": {"ecosystem": "npm", "name": "x"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.1"}]}]}]
        });
        let rows = parse_osv(doc.to_string().as_bytes()).unwrap().rows;
        let r: Record = serde_json::from_str(&rows[0].record).unwrap();
        assert_eq!(
            (r.severity, r.cwe_ids),
            (Severity::Medium, vec!["CWE-79".to_owned()])
        );

        let withdrawn = serde_json::json!({"id": "X-1", "withdrawn": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "versions": ["1"]}]});
        assert!(
            parse_osv(withdrawn.to_string().as_bytes())
                .unwrap()
                .withdrawn
        );
        let git_only = serde_json::json!({"id": "G-1",
            "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                "ranges": [{"type": "GIT", "repo": "r", "events": [{"introduced": "0"}]}]}]});
        let p = parse_osv(git_only.to_string().as_bytes()).unwrap();
        assert!(
            p.rows.is_empty() && !p.withdrawn,
            "nothing to match is not withdrawn"
        );
        assert!(parse_osv(b"{\"no\": 1}").is_err());
        assert!(parse_osv(b"[]").is_err());
    }

    #[test]
    fn packages_meet_only_their_ecosystems_advisories() {
        let row = |eco: &str, name: &str| VulnRow {
            ecosystem: eco.into(),
            package: name.into(),
            id: format!("{eco}-{name}"),
            seq: 0,
            modified: 0,
            record: serde_json::to_string(&record(vec![vec![Event::Introduced("0".into())]]))
                .unwrap(),
        };
        let pkg = |eco: &'static str, name: &str| Package {
            ecosystem: eco,
            name: name.into(),
            version: "1.0".into(),
            source: None,
            arch: None,
        };
        let rows = [
            row("Debian:12", "requests"),
            row("PyPI", "pyyaml"),
            row("npm", "requests"),
        ];
        let found = find(
            &[
                pkg("pypi", "PyYAML"),
                pkg("deb", "requests"),
                pkg("pypi", "requests"),
            ],
            "debian",
            Some("12"),
            &rows,
        );
        let ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["Debian:12-requests", "PyPI-pyyaml"]);
        assert_eq!(pep503("Foo__Bar.baz-"), "foo-bar-baz");
        assert_eq!(pep503("PyYAML"), "pyyaml");
    }

    #[test]
    fn rpm_and_go_packages_match_by_binary_name_and_version() {
        let row = |eco: &str, name: &str, fixed: &str| VulnRow {
            ecosystem: eco.into(),
            package: name.into(),
            id: format!("{eco}-{name}-{fixed}"),
            seq: 0,
            modified: 0,
            record: serde_json::to_string(&record(vec![vec![
                Event::Introduced("0".into()),
                Event::Fixed(fixed.into()),
            ]]))
            .unwrap(),
        };
        let pkg = |eco: &'static str, name: &str, version: &str, source: Option<&str>| Package {
            ecosystem: eco,
            name: name.into(),
            version: version.into(),
            source: source.map(Into::into),
            arch: None,
        };
        let packages = [
            pkg("rpm", "openssl-libs", "1:3.0.7-24.el9", Some("openssl")),
            pkg("golang", "stdlib", "go1.22.1", None),
            pkg("golang", "golang.org/x/net", "v0.20.0", None),
        ];
        let rows = [
            row("Rocky Linux:9", "openssl-libs", "1:3.0.7-25.el9"),
            row("Rocky Linux:9", "openssl-libs", "1:3.0.7-20.el9"),
            row("Rocky Linux:9", "openssl", "1:3.0.7-25.el9"),
            row("Go", "stdlib", "1.22.2"),
            row("Go", "golang.org/x/net", "0.23.0"),
            row("Go", "golang.org/x/net", "0.19.0"),
        ];
        let names: Vec<String> = packages.iter().map(advisory_name).collect();
        assert_eq!(names, ["openssl-libs", "stdlib", "golang.org/x/net"]);
        let found = find(&packages, "rocky", Some("9.4"), &rows);
        let mut ids: Vec<&str> = found.iter().map(|f| f.id.as_str()).collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "Go-golang.org/x/net-0.23.0",
                "Go-stdlib-1.22.2",
                "Rocky Linux:9-openssl-libs-1:3.0.7-25.el9"
            ]
        );
    }

    #[test]
    fn ecosystems_of_distros() {
        assert_eq!(ecosystems_for("deb", "debian", Some("12")), ["Debian:12"]);
        assert_eq!(
            ecosystems_for("apk", "alpine", Some("3.19.1")),
            ["Alpine:v3.19"]
        );
        assert_eq!(
            ecosystems_for("deb", "ubuntu", Some("22.04")),
            ["Ubuntu:22.04", "Ubuntu:22.04:LTS"]
        );
        assert!(ecosystems_for("deb", "unknown", None).is_empty());
        assert_eq!(
            ecosystems_for("rpm", "rocky", Some("9.4")),
            ["Rocky Linux:9"]
        );
        assert_eq!(
            ecosystems_for("rpm", "rhel", Some("9.4")),
            [
                "Red Hat:enterprise_linux:9::baseos",
                "Red Hat:enterprise_linux:9::appstream"
            ]
        );
        assert_eq!(
            ecosystems_for("rpm", "sles", Some("15.5")),
            ["SUSE:Linux Enterprise Server 15 SP5"]
        );
        assert_eq!(
            ecosystems_for("rpm", "opensuse-leap", Some("15.6")),
            ["openSUSE:Leap 15.6"]
        );
        assert!(ecosystems_for("rpm", "fedora", Some("40")).is_empty());
        assert_eq!(ecosystems_for("golang", "alpine", None), ["Go"]);
    }
}
