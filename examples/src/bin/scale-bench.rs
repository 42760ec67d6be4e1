//! Metadata at size: a registry with 100,000 repositories, 1,000,000 tags and 1,000,000 blobs,
//! generated directly in SQL (SQLite or PostgreSQL), then the listings the HTTP API serves timed
//! through the engine calls its handlers make, then one garbage collection. Prints one JSON line.
//!
//! ```text
//! cargo build --release -p registry-http -p berth-examples
//! ./target/release/scale-bench --db sqlite:///dev/shm/scale/berth.db --dir /dev/shm/scale/blobs
//! ./target/release/scale-bench --db postgres://postgres@127.0.0.1:5432/scale --dir /dev/shm/scale-pg
//! ```
//!
//! The database must be new (an empty file, or a PostgreSQL database with nothing in it):
//! opening it runs the migrations, then the data goes in with multi-row `INSERT`s in one
//! transaction (SQLite, then a WAL checkpoint) or `COPY` (PostgreSQL, then `VACUUM ANALYZE`).
//! `--reuse` skips the generation and times an existing data set (its garbage is gone once a
//! run has collected it: use `--no-gc` to time the listings again).
//!
//! Shape (defaults): 100 projects × 1,000 repositories (`proj-007/app-0042`); 500,000 image
//! manifests (real OCI manifest JSON, digest = SHA-256 of the bytes), each tagged twice
//! (`v<n>`, n counting from 0 in its repository, and `sha-<10 hex>`): 1,000,000 tags. Ten
//! repositories (`proj-00{0..9}/app-0000`) are big, 10,000 manifests and 20,000 tags each; the
//! others hold 4 manifests each. Every manifest references a config blob of its own, one of
//! 1,000 base layers shared registry-wide and an application layer (399,000 of them, shared by
//! neighbouring manifests): 900,000 referenced blobs; 100,000 more are garbage, half linked to a
//! repository that no manifest of it references, half linked nowhere. All of it is older than
//! the garbage-collection grace period. One project in ten is public; the user `scale-dev` is a
//! member of three projects.
//!
//! Timed, `--samples` times each after `--warmup` untimed calls, with random arguments:
//! `/v2/_catalog?n=100&last=<random repository>`; `/v2/<name>/tags/list?n=100` of a random
//! repository, and `?n=100&last=v<random>` of a big one; the artifact list at page_size 100
//! (`sort=-push_time` on a random page of a big repository, `q=tags=~v1&sort=-push_time` on a
//! random page of a big repository and on page 1 of a random repository); `/api/v2.0/search`
//! for a project name and for a repository name part, as the system administrator and as
//! `scale-dev`. Then 100,000 one-byte files for the garbage blobs, and one `collect_garbage`
//! (4 workers, no untagged deletion), checked: every garbage blob gone, a dry run after it
//! finds nothing.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use registry_core::distribution::Caller;
use registry_core::gc::{GcOptions, GcPhase, GcReport};
use registry_core::model::{MemberReq, MemberUser, UserCreate};
use registry_core::oci::RepoName;
use registry_core::{ListQuery, Principal, Registry};
use sha2::{Digest as _, Sha256};
use sqlx::Connection;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(
    name = "scale-bench",
    about = "Listing latencies and GC time over a large metadata store"
)]
struct Args {
    /// Metadata database: `sqlite:///path/berth.db` or `postgres://…/db` (new and empty).
    #[arg(long)]
    db: String,
    /// Filesystem blob store directory.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 100)]
    projects: u64,
    #[arg(long, default_value_t = 1_000)]
    repos_per_project: u64,
    /// Image manifests; each has two tags.
    #[arg(long, default_value_t = 500_000)]
    manifests: u64,
    /// Big repositories (the first repository of the first projects).
    #[arg(long, default_value_t = 10)]
    big_repos: u64,
    /// Manifests in each big repository.
    #[arg(long, default_value_t = 10_000)]
    big_manifests: u64,
    /// Blobs overall, garbage included.
    #[arg(long, default_value_t = 1_000_000)]
    blobs: u64,
    /// Blobs nothing references (half of them still linked to a repository).
    #[arg(long, default_value_t = 100_000)]
    garbage: u64,
    /// Base layers shared by every repository.
    #[arg(long, default_value_t = 1_000)]
    base_layers: u64,
    /// Timed calls per operation.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Untimed calls per operation first.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Time an existing data set instead of generating one.
    #[arg(long)]
    reuse: bool,
    /// Skip garbage collection.
    #[arg(long)]
    no_gc: bool,
    /// Parallel blob deletions in garbage collection.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// Stop timing an operation after this many seconds (at least 5 calls): a slow one then
    /// reports fewer samples.
    #[arg(long, default_value_t = 60.0)]
    budget_s: f64,
    /// Only these operations (comma-separated names as printed).
    #[arg(long)]
    only: Option<String>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

const OLD: i64 = 1_600_000_000_000; // 2020-09-13: older than any grace period
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// splitmix64: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The data set as pure functions of indices. Repository `r` (0-based) has id `r + 1`,
/// project `r / repos_per_project`; manifest `k` (global) belongs to the repository whose range
/// holds it. Blob indices: configs `0..M`, base layers `M..M+B`, application layers after
/// them, garbage last.
struct Model {
    projects: u64,
    rpp: u64,
    repos: u64,
    manifests: u64,
    big_repos: u64,
    big_manifests: u64,
    base_layers: u64,
    app_layers: u64,
    referenced: u64,
    blobs: u64,
    /// `start[r]..start[r + 1]`: the manifests of repository `r`.
    start: Vec<u64>,
    /// Manifest digests (`sha256:…`), by global index.
    mdigest: Vec<String>,
}

impl Model {
    fn new(a: &Args) -> Res<Self> {
        let repos = a.projects * a.repos_per_project;
        let big = a.big_repos.min(a.projects);
        if big * a.big_manifests > a.manifests || repos <= big {
            return Err("the big repositories need more manifests than there are".into());
        }
        let referenced = a
            .blobs
            .checked_sub(a.garbage)
            .ok_or("more garbage than blobs")?;
        let app_layers = referenced
            .checked_sub(a.manifests + a.base_layers)
            .filter(|n| *n > 0)
            .ok_or("too few blobs for one config per manifest plus the base layers")?;
        if app_layers > a.manifests {
            // Each manifest has one application layer: more would leave some unreferenced.
            return Err(
                "more application layers than manifests: lower --blobs or raise --garbage".into(),
            );
        }
        let rest = a.manifests - big * a.big_manifests;
        let (each, mut extra) = (rest / (repos - big), rest % (repos - big));
        let mut start = Vec::with_capacity(repos as usize + 1);
        let mut k = 0;
        for r in 0..repos {
            start.push(k);
            k += if r % a.repos_per_project == 0 && r / a.repos_per_project < big {
                a.big_manifests
            } else if extra > 0 {
                extra -= 1;
                each + 1
            } else {
                each
            };
        }
        start.push(k);
        let mut m = Self {
            projects: a.projects,
            rpp: a.repos_per_project,
            repos,
            manifests: a.manifests,
            big_repos: big,
            big_manifests: a.big_manifests,
            base_layers: a.base_layers,
            app_layers,
            referenced,
            blobs: a.blobs,
            start,
            mdigest: Vec::new(),
        };
        m.mdigest = (0..m.manifests)
            .map(|k| format!("sha256:{}", sha_hex_bytes(&m.manifest_content(k))))
            .collect();
        Ok(m)
    }

    fn project_name(p: u64) -> String {
        format!("proj-{p:03}")
    }

    fn repo_name(&self, r: u64) -> String {
        format!(
            "{}/app-{:04}",
            Self::project_name(r / self.rpp),
            r % self.rpp
        )
    }

    fn big_repo(&self, i: u64) -> u64 {
        i * self.rpp
    }

    fn blob_digest(i: u64) -> String {
        format!("sha256:{}", sha_hex(&format!("scale-blob-{i}")))
    }

    fn blob_size(&self, i: u64) -> i64 {
        let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        (if i < self.manifests {
            1_000 + h % 3_000
        } else if i < self.manifests + self.base_layers {
            20_000_000 + h % 10_000_000
        } else if i < self.referenced {
            100_000 + h % 50_000_000
        } else {
            1_000 + h % 1_000_000
        }) as i64
    }

    /// (config, base layer, application layer) of manifest `k`.
    fn manifest_blobs(&self, k: u64) -> [u64; 3] {
        let m = self.manifests;
        [
            k,
            m + k % self.base_layers,
            m + self.base_layers + k * self.app_layers / m,
        ]
    }

    fn manifest_content(&self, k: u64) -> Vec<u8> {
        let [c, b, l] = self.manifest_blobs(k);
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": Self::blob_digest(c), "size": self.blob_size(c)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": Self::blob_digest(b), "size": self.blob_size(b)},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": Self::blob_digest(l), "size": self.blob_size(l)},
            ],
        }))
        .expect("json")
    }

    fn pushed_at(k: u64) -> i64 {
        OLD + k as i64 * 1_000
    }

    /// Garbage blobs linked to repository `r`.
    fn garbage_links(&self, r: u64) -> impl Iterator<Item = u64> + use<> {
        let end = self.referenced + (self.blobs - self.referenced) / 2;
        let first = self.referenced + (r + self.repos - self.referenced % self.repos) % self.repos;
        (first..end).step_by(self.repos as usize)
    }

    /// Blobs repository `r` links: those its manifests reference, and its garbage.
    fn repo_blobs(&self, r: u64) -> BTreeSet<u64> {
        let r = r as usize;
        let mut set: BTreeSet<u64> = (self.start[r]..self.start[r + 1])
            .flat_map(|k| self.manifest_blobs(k))
            .collect();
        set.extend(self.garbage_links(r as u64));
        set
    }

    fn tags(&self, r: u64, k: u64) -> [String; 2] {
        let j = k - self.start[r as usize];
        let d = &self.mdigest[k as usize];
        [format!("v{j}"), format!("sha-{}", &d[7..17])]
    }
}

fn sha_hex_bytes(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A value to load.
enum V {
    I(i64),
    T(String),
    B(Vec<u8>),
    Bool(bool),
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Conn {
    async fn exec(&mut self, sql: &'static str) -> Res<()> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::query(sql).execute(&mut *c).await?;
            }
            Conn::Pg(c) => {
                sqlx::query(sql).execute(&mut *c).await?;
            }
        }
        Ok(())
    }

    /// Insert `rows` into `table`: multi-row `INSERT`s on SQLite, `COPY` on PostgreSQL.
    async fn load(&mut self, table: &str, cols: &[&str], rows: Vec<Vec<V>>) -> Res<()> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Conn::Sqlite(c) => {
                let per = (30_000 / cols.len()).min(1_000);
                for chunk in rows.chunks(per) {
                    let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!(
                        "INSERT INTO {table} ({}) ",
                        cols.join(", ")
                    ));
                    qb.push_values(chunk, |mut b, row| {
                        for v in row {
                            match v {
                                V::I(n) => b.push_bind(*n),
                                V::T(s) => b.push_bind(s.as_str()),
                                V::B(x) => b.push_bind(x.as_slice()),
                                V::Bool(x) => b.push_bind(*x),
                            };
                        }
                    });
                    qb.build().execute(&mut *c).await?;
                }
            }
            Conn::Pg(c) => {
                let stmt = format!("COPY {table} ({}) FROM STDIN", cols.join(", "));
                let mut copy = c.copy_in_raw(&stmt).await?;
                let mut buf = String::with_capacity(1 << 20);
                for row in &rows {
                    for (i, v) in row.iter().enumerate() {
                        if i > 0 {
                            buf.push('\t');
                        }
                        match v {
                            V::I(n) => buf.push_str(&n.to_string()),
                            // The generated text has no tab, newline or backslash.
                            V::T(s) => buf.push_str(s),
                            V::B(x) => {
                                buf.push_str("\\\\x");
                                buf.push_str(&hex::encode(x));
                            }
                            V::Bool(x) => buf.push(if *x { 't' } else { 'f' }),
                        }
                    }
                    buf.push('\n');
                    if buf.len() > (1 << 20) {
                        copy.send(buf.as_bytes()).await?;
                        buf.clear();
                    }
                }
                copy.send(buf.as_bytes()).await?;
                copy.finish().await?;
            }
        }
        Ok(())
    }
}

/// Rows buffered per table and flushed every `FLUSH` rows.
const FLUSH: usize = 50_000;

async fn generate(a: &Args, m: &Model) -> Res<Duration> {
    let started = Instant::now();
    let mut conn = if a.db.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&a.db).await?;
        // Foreign keys are consistent by construction; as a superuser, skip their triggers.
        let _ = sqlx::query("SET session_replication_role = replica")
            .execute(&mut c)
            .await;
        Conn::Pg(c)
    } else {
        let mut c = sqlx::SqliteConnection::connect(&a.db).await?;
        for p in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = OFF",
            "PRAGMA foreign_keys = OFF",
        ] {
            sqlx::query(p).execute(&mut c).await?;
        }
        Conn::Sqlite(c)
    };
    let (n,): (i64,) = match &mut conn {
        Conn::Sqlite(c) => {
            sqlx::query_as("SELECT COUNT(*) FROM repositories")
                .fetch_one(c)
                .await?
        }
        Conn::Pg(c) => {
            sqlx::query_as("SELECT COUNT(*) FROM repositories")
                .fetch_one(c)
                .await?
        }
    };
    if n > 0 {
        return Err("the database already holds repositories: give a new one, or --reuse".into());
    }
    conn.exec("BEGIN").await?;
    let step = |what: &str| eprintln!("  {:>6.1} s  {what}", started.elapsed().as_secs_f64());

    let rows: Vec<Vec<V>> = (0..m.projects)
        .map(|p| {
            vec![
                V::I(p as i64 + 1),
                V::T(Model::project_name(p)),
                V::Bool(p % 10 == 0),
                V::I(OLD),
                V::I(OLD),
            ]
        })
        .collect();
    conn.load(
        "projects",
        &["id", "name", "public", "created_at", "updated_at"],
        rows,
    )
    .await?;
    let rows = (0..m.projects)
        .map(|p| {
            vec![
                V::I(p as i64 + 1),
                V::T("public".into()),
                V::T((p % 10 == 0).to_string()),
            ]
        })
        .collect();
    conn.load("project_metadata", &["project_id", "key", "value"], rows)
        .await?;
    let rows = (0..m.projects)
        .map(|p| {
            vec![
                V::I(p as i64 + 1),
                V::I(p as i64 + 1),
                V::I(-1),
                V::I(0),
                V::I(OLD),
                V::I(OLD),
            ]
        })
        .collect();
    conn.load(
        "quotas",
        &[
            "id",
            "project_id",
            "hard",
            "used",
            "created_at",
            "updated_at",
        ],
        rows,
    )
    .await?;
    let mut rows = Vec::with_capacity(FLUSH);
    for r in 0..m.repos {
        let last = m.start[r as usize + 1].saturating_sub(1);
        rows.push(vec![
            V::I(r as i64 + 1),
            V::T(m.repo_name(r)),
            V::I((r / m.rpp) as i64 + 1),
            V::I(OLD),
            V::I(Model::pushed_at(last)),
        ]);
        if rows.len() >= FLUSH {
            let cols = ["id", "name", "project_id", "created_at", "updated_at"];
            conn.load("repositories", &cols, std::mem::take(&mut rows))
                .await?;
        }
    }
    let cols = ["id", "name", "project_id", "created_at", "updated_at"];
    conn.load("repositories", &cols, rows).await?;
    step("projects, quotas, repositories");

    let cols = ["digest", "size", "state", "created_at", "last_touched"];
    let mut rows = Vec::with_capacity(FLUSH);
    for i in 0..m.blobs {
        rows.push(vec![
            V::T(Model::blob_digest(i)),
            V::I(m.blob_size(i)),
            V::T("live".into()),
            V::I(OLD),
            V::I(OLD),
        ]);
        if rows.len() >= FLUSH {
            conn.load("blobs", &cols, std::mem::take(&mut rows)).await?;
        }
    }
    conn.load("blobs", &cols, rows).await?;
    step("blobs");

    // Per repository: links, manifests, references, tags.
    let (mut links, mut mans, mut refs, mut tags) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in 0..m.repos {
        let id = r as i64 + 1;
        for b in m.repo_blobs(r) {
            links.push(vec![
                V::I(id),
                V::T(Model::blob_digest(b)),
                V::I(OLD),
                V::I(OLD),
            ]);
        }
        for k in m.start[r as usize]..m.start[r as usize + 1] {
            let d = &m.mdigest[k as usize];
            let content = m.manifest_content(k);
            mans.push(vec![
                V::I(id),
                V::T(d.clone()),
                V::T(MANIFEST_TYPE.into()),
                V::I(content.len() as i64),
                V::B(content),
                V::I(Model::pushed_at(k)),
                V::I(m.manifest_blobs(k).iter().map(|b| m.blob_size(*b)).sum()),
            ]);
            for b in m.manifest_blobs(k) {
                refs.push(vec![
                    V::I(id),
                    V::T(d.clone()),
                    V::T(Model::blob_digest(b)),
                    V::T("blob".into()),
                ]);
            }
            for t in m.tags(r, k) {
                tags.push(vec![
                    V::I(id),
                    V::T(t),
                    V::T(d.clone()),
                    V::I(Model::pushed_at(k)),
                ]);
            }
        }
        if links.len() + mans.len() + refs.len() + tags.len() >= FLUSH || r + 1 == m.repos {
            conn.load(
                "repo_blobs",
                &["repo_id", "digest", "created_at", "last_touched"],
                std::mem::take(&mut links),
            )
            .await?;
            conn.load(
                "manifests",
                &[
                    "repo_id",
                    "digest",
                    "media_type",
                    "size",
                    "content",
                    "created_at",
                    "blob_size",
                ],
                std::mem::take(&mut mans),
            )
            .await?;
            conn.load(
                "manifest_refs",
                &["repo_id", "manifest_digest", "child_digest", "kind"],
                std::mem::take(&mut refs),
            )
            .await?;
            conn.load(
                "tags",
                &["repo_id", "name", "digest", "updated_at"],
                std::mem::take(&mut tags),
            )
            .await?;
        }
    }
    step("repo_blobs, manifests, manifest_refs, tags");

    // What each project is charged for: every digest its repositories link or store.
    for p in 0..m.projects {
        let mut held: HashSet<u64> = HashSet::new();
        let mut rows = Vec::new();
        for r in p * m.rpp..(p + 1) * m.rpp {
            held.extend(m.repo_blobs(r));
            for k in m.start[r as usize]..m.start[r as usize + 1] {
                rows.push(vec![
                    V::I(p as i64 + 1),
                    V::T(m.mdigest[k as usize].clone()),
                    V::I(m.manifest_content(k).len() as i64),
                    V::I(OLD),
                ]);
            }
        }
        let mut held: Vec<u64> = held.into_iter().collect();
        held.sort_unstable();
        for b in held {
            rows.push(vec![
                V::I(p as i64 + 1),
                V::T(Model::blob_digest(b)),
                V::I(m.blob_size(b)),
                V::I(OLD),
            ]);
        }
        conn.load(
            "project_blobs",
            &["project_id", "digest", "size", "created_at"],
            rows,
        )
        .await?;
    }
    conn.exec(
        "UPDATE quotas SET used = (SELECT COALESCE(SUM(pb.size), 0) FROM project_blobs pb WHERE pb.project_id = quotas.project_id)",
    )
    .await?;
    step("project_blobs, quotas");
    conn.exec("COMMIT").await?;
    if let Conn::Pg(c) = &mut conn {
        for seq in [
            "SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT MAX(id) FROM projects))",
            "SELECT setval(pg_get_serial_sequence('repositories', 'id'), (SELECT MAX(id) FROM repositories))",
            "SELECT setval(pg_get_serial_sequence('quotas', 'id'), (SELECT MAX(id) FROM quotas))",
        ] {
            sqlx::query(seq).execute(&mut *c).await?;
        }
        step("committed");
        // As autovacuum would leave it: statistics and the visibility map.
        sqlx::query("VACUUM ANALYZE").execute(&mut *c).await?;
        step("VACUUM ANALYZE");
    } else if let Conn::Sqlite(c) = &mut conn {
        step("committed");
        // The one transaction left the whole data set in the WAL; reads through it are slower.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *c)
            .await?;
        step("WAL checkpoint");
    }
    Ok(started.elapsed())
}

/// Latencies of one operation.
struct Stats {
    name: &'static str,
    what: String,
    times: Vec<Duration>,
}

impl Stats {
    fn json(&self) -> serde_json::Value {
        let mut t = self.times.clone();
        t.sort();
        let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
        let at = |q: f64| t[((t.len() as f64 * q).ceil() as usize).clamp(1, t.len()) - 1];
        serde_json::json!({
            "what": self.what,
            "samples": t.len(),
            "p50_ms": ms(at(0.50)),
            "p99_ms": ms(at(0.99)),
            "max_ms": ms(*t.last().unwrap()),
        })
    }
}

/// Run `f` `warmup` times untimed, then `samples` times timed.
async fn measure<F, Fut>(
    name: &'static str,
    what: String,
    a: &Args,
    rng: &mut Rng,
    mut f: F,
) -> Res<Stats>
where
    F: FnMut(&mut Rng) -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    let started = Instant::now();
    let budget = Duration::from_secs_f64(a.budget_s);
    for _ in 0..a.warmup {
        if started.elapsed() > budget / 4 {
            break;
        }
        f(rng).await?;
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(a.samples);
    for i in 0..a.samples {
        if i >= 5 && started.elapsed() > budget {
            break;
        }
        let fut = f(rng);
        let t = Instant::now();
        fut.await?;
        times.push(t.elapsed());
    }
    let s = Stats { name, what, times };
    eprintln!("  {name}: {}", s.json());
    Ok(s)
}

async fn run_listings(a: &Args, m: &Model, reg: &Registry) -> Res<Vec<Stats>> {
    let sys = Caller::system();
    let admin = Principal::System;
    // A user who sees three projects as a member, and the public ones.
    let dev = match reg
        .create_user(
            &admin,
            UserCreate {
                username: "scale-dev".into(),
                password: "Scale-Bench-1".into(),
                ..Default::default()
            },
        )
        .await
    {
        Ok(u) => {
            for p in [3, 47, 95].into_iter().filter(|p| *p < m.projects) {
                let req = MemberReq {
                    role_id: 2,
                    member_user: Some(MemberUser {
                        user_id: Some(u.user_id),
                        username: None,
                    }),
                    member_group: None,
                };
                reg.add_member(&admin, &Model::project_name(p), true, req)
                    .await?;
            }
            reg.login("scale-dev", "Scale-Bench-1", "scale-bench")
                .await?
        }
        Err(registry_core::Error::AlreadyExists { .. }) => {
            reg.login("scale-dev", "Scale-Bench-1", "scale-bench")
                .await?
        }
        Err(e) => return Err(e.into()),
    };
    let only: Option<Vec<&str>> = a.only.as_deref().map(|s| s.split(',').collect());
    let want = |n: &str| only.as_ref().is_none_or(|o| o.contains(&n));
    let mut rng = Rng(a.seed);
    let mut out = Vec::new();
    let big_pages = m.big_manifests.div_ceil(100);
    // Tags of a big repository containing "v1": v1, v10–v19, v100–v199, …
    let v1_matches = (0..m.big_manifests)
        .filter(|j| j.to_string().starts_with('1'))
        .count() as u64;
    let v1_pages = v1_matches.div_ceil(100).max(1);

    if want("catalog") {
        out.push(
            measure(
                "catalog",
                "/v2/_catalog?n=100&last=<random repository>".into(),
                a,
                &mut rng,
                |rng| {
                    let last = m.repo_name(rng.below(m.repos));
                    let v2 = reg.v2(&sys);
                    async move {
                        let page = v2.catalog(Some(100), Some(&last)).await?;
                        assert!(!page.is_empty() || last >= m.repo_name(m.repos - 1));
                        Ok(())
                    }
                },
            )
            .await?,
        );
    }
    if want("tags") {
        out.push(
            measure(
                "tags",
                "/v2/<random repository>/tags/list?n=100".into(),
                a,
                &mut rng,
                |rng| {
                    let repo = RepoName::parse(&m.repo_name(rng.below(m.repos))).unwrap();
                    let v2 = reg.v2(&sys);
                    async move {
                        let page = v2.list_tags(&repo, Some(100), None).await?;
                        assert!(!page.is_empty());
                        Ok(())
                    }
                },
            )
            .await?,
        );
    }
    if want("tags_big") {
        out.push(
            measure(
                "tags_big",
                format!(
                    "/v2/<big repository>/tags/list?n=100&last=v<random> ({} tags)",
                    2 * m.big_manifests
                ),
                a,
                &mut rng,
                |rng| {
                    let repo =
                        RepoName::parse(&m.repo_name(m.big_repo(rng.below(m.big_repos)))).unwrap();
                    let last = format!("v{}", rng.below(m.big_manifests));
                    let v2 = reg.v2(&sys);
                    async move {
                        v2.list_tags(&repo, Some(100), Some(&last)).await?;
                        Ok(())
                    }
                },
            )
            .await?,
        );
    }
    let artifacts = |r: u64, q: Option<&str>, page: u64| {
        let name = m.repo_name(r);
        let (project, repo) = name
            .split_once('/')
            .map(|(p, r)| (p.to_owned(), r.to_owned()))
            .unwrap();
        let mut lq = ListQuery::new().sort("-push_time").page(page, 100);
        if let Some(q) = q {
            lq = lq.q(q);
        }
        let admin = &admin;
        async move {
            let page = reg.artifacts(admin, &project, &repo, &lq).await?;
            assert!(
                !page.items.is_empty(),
                "{name} {lq:?}: empty page of {}",
                page.total
            );
            Ok(())
        }
    };
    if want("artifacts_big") {
        out.push(
            measure(
                "artifacts_big",
                format!("artifacts?sort=-push_time&page=<1..{big_pages}>&page_size=100 of a big repository ({} artifacts)", m.big_manifests),
                a,
                &mut rng,
                |rng| artifacts(m.big_repo(rng.below(m.big_repos)), None, 1 + rng.below(big_pages)),
            )
            .await?,
        );
    }
    if want("artifacts_q_big") {
        out.push(
            measure(
                "artifacts_q_big",
                format!("artifacts?q=tags%3D~v1&sort=-push_time&page=<1..{v1_pages}>&page_size=100 of a big repository ({v1_matches} matches)"),
                a,
                &mut rng,
                |rng| artifacts(m.big_repo(rng.below(m.big_repos)), Some("tags=~v1"), 1 + rng.below(v1_pages)),
            )
            .await?,
        );
    }
    if want("artifacts_q") {
        out.push(
            measure(
                "artifacts_q",
                "artifacts?q=tags%3D~v1&sort=-push_time&page_size=100 of a random repository"
                    .into(),
                a,
                &mut rng,
                |rng| {
                    // Small repositories: v0..v3; "v1" is one of them.
                    let mut r = rng.below(m.repos);
                    while m.start[r as usize + 1] - m.start[r as usize] < 2 {
                        r = rng.below(m.repos);
                    }
                    artifacts(r, Some("tags=~v1"), 1)
                },
            )
            .await?,
        );
    }
    let search = |who: Principal, q: String| async move {
        reg.search(&who, &q).await?;
        Ok(())
    };
    for (name, who, label) in [
        ("search_project", &admin, "admin"),
        ("search_project_user", &dev, "scale-dev"),
    ] {
        if want(name) {
            out.push(
                measure(name, format!("/api/v2.0/search?q=proj-<random> as {label} (1 project, 1,000 repositories)"), a, &mut rng, |rng| {
                    search(who.clone(), Model::project_name(rng.below(m.projects)))
                })
                .await?,
            );
        }
    }
    for (name, who, label) in [
        ("search_repo", &admin, "admin"),
        ("search_repo_user", &dev, "scale-dev"),
    ] {
        if want(name) {
            out.push(
                measure(name, format!("/api/v2.0/search?q=app-<random 4 digits> as {label} (one repository per project)"), a, &mut rng, |rng| {
                    search(who.clone(), format!("app-{:04}", rng.below(m.rpp)))
                })
                .await?,
            );
        }
    }
    Ok(out)
}

async fn run_gc(a: &Args, m: &Model, reg: &Registry) -> Res<serde_json::Value> {
    let garbage = m.blobs - m.referenced;
    let started = Instant::now();
    for b in m.referenced..m.blobs {
        let hex = &Model::blob_digest(b)[7..];
        let d = a.dir.join("blobs").join("sha256").join(&hex[..2]);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(hex), b"x")?;
    }
    let files_s = started.elapsed().as_secs_f64();
    let opts = GcOptions {
        workers: a.workers,
        ..GcOptions::default()
    };
    let started = Instant::now();
    let phases = Mutex::new(Vec::<(String, f64)>::new());
    let progress = |phase: GcPhase, _: &GcReport| {
        let mut p = phases.lock().unwrap();
        let name = format!("{phase:?}");
        if p.last().is_none_or(|(n, _)| *n != name) {
            eprintln!(
                "  {:>6.1} s  gc phase {name}",
                started.elapsed().as_secs_f64()
            );
            p.push((name, started.elapsed().as_secs_f64()));
        }
        true
    };
    let report = reg.collect_garbage(&opts, &progress).await?;
    let gc_s = started.elapsed().as_secs_f64();
    if report.purged_blobs != garbage || report.dropped_links != garbage / 2 {
        return Err(format!(
            "expected {garbage} blobs and {} links collected: {report:?}",
            garbage / 2
        )
        .into());
    }
    let again = reg
        .collect_garbage(
            &GcOptions {
                dry_run: true,
                ..opts
            },
            &|_, _| true,
        )
        .await?;
    if again.purged_blobs != 0 {
        return Err(format!("garbage left after the run: {again:?}").into());
    }
    let phases: serde_json::Map<String, serde_json::Value> = phases
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, ((v * 100.0).round() / 100.0).into()))
        .collect();
    Ok(serde_json::json!({
        "garbage_blobs": garbage,
        "garbage_files_s": files_s,
        "gc_s": (gc_s * 100.0).round() / 100.0,
        "phase_start_s": phases,
        "purged_blobs": report.purged_blobs,
        "dropped_links": report.dropped_links,
        "workers": a.workers,
    }))
}

#[tokio::main]
async fn main() -> Res<()> {
    let a = Args::parse();
    let backend = if a.db.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let storage = a.dir.display().to_string();
    std::fs::create_dir_all(&a.dir)?;
    let t = Instant::now();
    let m = Model::new(&a)?;
    eprintln!(
        "model: {} manifest digests in {:.1} s",
        m.manifests,
        t.elapsed().as_secs_f64()
    );
    // Opening runs the migrations; then the data goes in under the registry.
    drop(Registry::open_with(&a.db, &storage).await?);
    let gen_s = if a.reuse {
        None
    } else {
        eprintln!("generating into {backend}:");
        Some(generate(&a, &m).await?.as_secs_f64())
    };
    let reg = Registry::open_with(&a.db, &storage).await?;
    let counts = serde_json::json!({
        "projects": m.projects,
        "repositories": m.repos,
        "manifests": m.manifests,
        "tags": 2 * m.manifests,
        "blobs": m.blobs,
        "garbage_blobs": m.blobs - m.referenced,
        "big_repositories": m.big_repos,
        "big_repository_tags": 2 * m.big_manifests,
    });
    eprintln!(
        "timing listings ({} samples each, {} warm-up):",
        a.samples, a.warmup
    );
    let stats = run_listings(&a, &m, &reg).await?;
    let ops: serde_json::Map<String, serde_json::Value> = stats
        .iter()
        .map(|s| (s.name.to_owned(), s.json()))
        .collect();
    let gc = if a.no_gc {
        serde_json::Value::Null
    } else {
        eprintln!("garbage collection:");
        run_gc(&a, &m, &reg).await?
    };
    println!(
        "{}",
        serde_json::json!({
            "bench": "scale",
            "backend": backend,
            "data": counts,
            "generate_s": gen_s.map(|s| (s * 10.0).round() / 10.0),
            "ops": ops,
            "gc": gc,
        })
    );
    Ok(())
}
