//! Garbage-collection benchmark: a store with many blobs and manifests, metadata generated
//! directly in SQL (the push path is not what is measured), tiny blob files for the garbage,
//! then one timed mark-and-sweep. Prints one JSON line.
//!
//!     cargo run --release -p berth-examples --bin gc-bench -- --blobs 1000000 --manifests 100000
//!
//! Layout: `repos` repositories share the manifests evenly; each manifest references
//! `refs_per_manifest` distinct blobs (its config and layers), linked to its repository; the
//! remaining blobs are garbage: half are linked to a repository but referenced by nothing (the
//! leftovers of failed pushes), half are linked nowhere (deleted repositories). All content is
//! older than the grace period. Half the manifests are tagged.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use registry_core::Registry;
use registry_core::gc::{GcOptions, GcPhase, GcReport};
use sha2::{Digest as _, Sha256};
use sqlx::Connection;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1_000_000)]
    blobs: u64,
    #[arg(long, default_value_t = 100_000)]
    manifests: u64,
    #[arg(long, default_value_t = 1_000)]
    repos: u64,
    #[arg(long, default_value_t = 9)]
    refs_per_manifest: u64,
    /// Parallel blob deletions.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Where to build the store [default: a temporary directory].
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

fn hex_of(kind: &str, i: u64) -> String {
    hex::encode(Sha256::digest(format!("{kind}-{i}").as_bytes()))
}

/// Resident memory of this process in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn generate(dir: &Path, a: &Args) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let url = format!("sqlite://{}", dir.join("berth.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut db).await?;
    sqlx::query("PRAGMA synchronous = OFF").execute(&mut db).await?;
    let old = 1_000_i64; // far in the past: everything is older than any grace period
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO projects (name, public, created_at, updated_at) VALUES ('bench', FALSE, 0, 0)")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO quotas (project_id, hard, used, created_at, updated_at) SELECT id, -1, 0, 0, 0 FROM projects WHERE name = 'bench'")
        .execute(&mut *tx)
        .await?;
    for r in 0..a.repos {
        sqlx::query("INSERT INTO repositories (name, project_id, created_at, updated_at) SELECT $1, id, 0, 0 FROM projects WHERE name = 'bench'")
            .bind(format!("bench/r{r}"))
            .execute(&mut *tx)
            .await?;
    }
    let referenced = a.manifests * a.refs_per_manifest;
    assert!(referenced <= a.blobs, "more references than blobs");
    let chunk = 2_000u64;
    let mut i = 0;
    while i < a.blobs {
        let end = (i + chunk).min(a.blobs);
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO blobs (digest, size, state, created_at, last_touched) ");
        qb.push_values(i..end, |mut row, b| {
            row.push_bind(format!("sha256:{}", hex_of("blob", b))).push_bind(1_i64).push_bind("live").push_bind(old).push_bind(old);
        });
        qb.build().execute(&mut *tx).await?;
        // Links: referenced blobs to their manifest's repository; the first half of the garbage
        // to some repository; the second half nowhere.
        let garbage_linked_end = referenced + (a.blobs - referenced) / 2;
        let linked: Vec<u64> = (i..end).filter(|b| *b < garbage_linked_end).collect();
        if !linked.is_empty() {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO repo_blobs (repo_id, digest, created_at, last_touched) ");
            qb.push_values(linked, |mut row, b| {
                let repo = if b < referenced { (b / a.refs_per_manifest) % a.repos } else { b % a.repos };
                row.push_bind(repo as i64 + 1).push_bind(format!("sha256:{}", hex_of("blob", b))).push_bind(old).push_bind(old);
            });
            qb.build().execute(&mut *tx).await?;
        }
        i = end;
    }
    let mut m = 0;
    while m < a.manifests {
        let end = (m + 500).min(a.manifests);
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO manifests (repo_id, digest, media_type, size, content, created_at) ",
        );
        qb.push_values(m..end, |mut row, k| {
            row.push_bind((k % a.repos) as i64 + 1)
                .push_bind(format!("sha256:{}", hex_of("manifest", k)))
                .push_bind("application/vnd.oci.image.manifest.v1+json")
                .push_bind(2_i64)
                .push_bind(b"{}".to_vec())
                .push_bind(old);
        });
        qb.build().execute(&mut *tx).await?;
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO manifest_refs (repo_id, manifest_digest, child_digest, kind) ");
        let refs: Vec<(u64, u64)> = (m..end).flat_map(|k| (0..a.refs_per_manifest).map(move |j| (k, k * a.refs_per_manifest + j))).collect();
        qb.push_values(refs, |mut row, (k, b)| {
            row.push_bind((k % a.repos) as i64 + 1)
                .push_bind(format!("sha256:{}", hex_of("manifest", k)))
                .push_bind(format!("sha256:{}", hex_of("blob", b)))
                .push_bind("blob");
        });
        qb.build().execute(&mut *tx).await?;
        let tagged: Vec<u64> = (m..end).filter(|k| k % 2 == 0).collect();
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new("INSERT INTO tags (repo_id, name, digest, updated_at) ");
        qb.push_values(tagged, |mut row, k| {
            row.push_bind((k % a.repos) as i64 + 1)
                .push_bind(format!("t{k}"))
                .push_bind(format!("sha256:{}", hex_of("manifest", k)))
                .push_bind(old);
        });
        qb.build().execute(&mut *tx).await?;
        m = end;
    }
    tx.commit().await?;
    // Tiny files for the garbage blobs, where the filesystem store keeps them.
    for b in referenced..a.blobs {
        let hex = hex_of("blob", b);
        let d = dir.join("blobs").join("sha256").join(&hex[..2]);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(&hex), b"x")?;
    }
    Ok((a.blobs - referenced, started.elapsed()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tmp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_owned());
    // Opening runs the migrations; then the metadata is generated under the registry.
    Registry::open_data_dir(&dir).await?;
    let (garbage, gen_time) = generate(&dir, &args).await?;
    let reg = Registry::open_data_dir(&dir).await?;
    let rss_before = rss_kib();
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let opts = GcOptions { workers: args.workers, ..GcOptions::default() };
    let started = Instant::now();
    let phases = std::sync::Mutex::new(Vec::<(String, f64)>::new());
    let progress = |phase: GcPhase, _: &GcReport| {
        let mut p = phases.lock().unwrap();
        let name = format!("{phase:?}");
        if p.last().is_none_or(|(n, _)| *n != name) {
            p.push((name, started.elapsed().as_secs_f64()));
        }
        true
    };
    let report = reg.collect_garbage(&opts, &progress).await?;
    let elapsed = started.elapsed();
    sampler.abort();
    assert_eq!(report.purged_blobs, garbage, "every garbage blob collected: {report:?}");
    let phases: serde_json::Map<String, serde_json::Value> =
        phases.into_inner().unwrap().into_iter().map(|(k, v)| (k, v.into())).collect();
    let again = reg.collect_garbage(&GcOptions { dry_run: true, ..opts }, &|_, _| true).await?;
    assert_eq!(again.purged_blobs, 0, "nothing left: {again:?}");
    println!(
        "{}",
        serde_json::json!({
            "bench": "gc",
            "blobs": args.blobs,
            "manifests": args.manifests,
            "garbage_blobs": garbage,
            "dropped_links": report.dropped_links,
            "purged_blobs": report.purged_blobs,
            "workers": args.workers,
            "generate_s": gen_time.as_secs_f64(),
            "gc_s": elapsed.as_secs_f64(),
            "phase_start_s": phases,
            "rss_before_gc_mib": rss_before / 1024,
            "rss_peak_during_gc_mib": peak.load(Ordering::Relaxed) / 1024,
        })
    );
    Ok(())
}
