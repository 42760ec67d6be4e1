//! `berth-bench`: a lean HTTP load generator for OCI registries (Berth, Distribution, …).
//!
//! Every subcommand prints exactly one JSON line on stdout. Throughput in MB/s uses
//! 1 MB = 10^6 bytes. Test data is generated and hashed in memory before the clock starts.
//!
//! ```text
//! berth-bench push-large --url http://127.0.0.1:5000 --size-mib 256 --clients 1
//! berth-bench push-small --url http://127.0.0.1:5000 --images 1000 --clients 8
//! berth-bench prepare    --url http://127.0.0.1:5000
//! berth-bench auth-header --url http://127.0.0.1:5000 --repo bench/app --scope-actions pull
//! berth-bench load       --url http://127.0.0.1:5000 --clients 500 --duration-secs 60
//! ```
//!
//! Authentication works as real clients do it (`--auth auto`, the default): `GET /v2/` without
//! credentials; 200 means none is needed (Distribution without auth). A 401 with
//! `WWW-Authenticate: Bearer realm="…",service="…"` makes the tool fetch a token from
//! `<realm>?service=…&scope=repository:<repo>:pull,push` (with HTTP Basic when `--basic
//! user:password` is given, anonymously otherwise) and send `Authorization: Bearer <token>` on
//! every later request; a Basic challenge makes it send the Basic credentials. `--auth basic`
//! or `--auth bearer` forces either. Every result line says which was used (`"auth"`).
//! `auth-header` only prints the header (`{"header": "Authorization: Bearer …"}`, or `""` when
//! the registry needs none), for tools such as wrk.
//!
//! Blobs go up as one monolithic `POST …/blobs/uploads/?digest=` when the registry supports it
//! (answers 201), otherwise as `POST …/blobs/uploads/` then `PUT <location>&digest=` carrying the
//! whole body (Distribution 2.x ignores `?digest=` on POST). `--upload` forces either flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION,
    WWW_AUTHENTICATE,
};
use reqwest::{Client, StatusCode, Url};
use serde_json::json;
use sha2::{Digest as _, Sha256};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MIB: usize = 1 << 20;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const MB_UNIT: &str = "MB/s, 1 MB = 10^6 bytes";

#[derive(Parser)]
#[command(
    name = "berth-bench",
    about = "HTTP load generator for OCI registries; one JSON result line per run"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Push one large random blob per client, all clients at once; aggregate MB/s.
    PushLarge(LargeArgs),
    /// Push small images (~1 KiB config + ~4 KiB layer + OCI manifest by tag); images/s.
    PushSmall(SmallArgs),
    /// Push a 16 MiB blob and one small image (tag `latest`); print their URLs for wrk.
    Prepare(PrepareArgs),
    /// Print the `Authorization` header a client of this registry would send (for wrk).
    AuthHeader(AuthHeaderArgs),
    /// Many clients mixing pulls (manifest + layer) and small-image pushes for a while; latency
    /// percentiles per kind and every error.
    Load(LoadArgs),
}

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    target: Target,
    /// Concurrent clients.
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// How long the clients run, seconds.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Share of operations that are pulls, percent (the rest push a new small image).
    #[arg(long, default_value_t = 80)]
    pull_percent: u64,
    /// Images pushed before the clock starts, for the pulls.
    #[arg(long, default_value_t = 20)]
    seed_images: usize,
}

#[derive(Args)]
struct Credentials {
    /// HTTP Basic credentials, `user:password`: sent as they are when the registry asks for
    /// Basic, used to fetch a token when it asks for Bearer.
    #[arg(long, env = "BERTH_BENCH_BASIC", hide_env_values = true)]
    basic: Option<String>,
    /// How to authenticate: `auto` follows the registry's challenge to `GET /v2/`.
    #[arg(long, value_enum, default_value_t = AuthMode::Auto)]
    auth: AuthMode,
}

#[derive(Args)]
struct Target {
    /// Registry base URL, e.g. http://127.0.0.1:5000 (loopback in benchmarks).
    #[arg(long)]
    url: String,
    /// Repository to push into.
    #[arg(long, default_value = "bench/app")]
    repo: String,
    /// Blob upload flow.
    #[arg(long, value_enum, default_value_t = Upload::Auto)]
    upload: Upload,
    /// Size of the pieces the request body is streamed in, KiB.
    #[arg(long, default_value_t = 256)]
    chunk_kib: usize,
    #[command(flatten)]
    creds: Credentials,
}

#[derive(Args)]
struct LargeArgs {
    #[command(flatten)]
    target: Target,
    /// Size of each client's blob, MiB.
    #[arg(long, default_value_t = 256)]
    size_mib: usize,
    /// Concurrent clients, each pushing its own distinct blob over its own connection.
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Timed rounds (fresh random blobs each round); best and median are reported.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
}

#[derive(Args)]
struct SmallArgs {
    #[command(flatten)]
    target: Target,
    /// Images to push in total.
    #[arg(long, default_value_t = 1000)]
    images: usize,
    /// Concurrent clients taking images from a shared queue.
    #[arg(long, default_value_t = 8)]
    clients: usize,
}

#[derive(Args)]
struct PrepareArgs {
    #[command(flatten)]
    target: Target,
    /// Size of the blob to push, MiB.
    #[arg(long, default_value_t = 16)]
    blob_mib: usize,
}

#[derive(Args)]
struct AuthHeaderArgs {
    /// Registry base URL, e.g. http://127.0.0.1:5000.
    #[arg(long)]
    url: String,
    /// Repository the token is for.
    #[arg(long)]
    repo: String,
    /// Actions of the token's `repository:<repo>:<actions>` scope.
    #[arg(long, default_value = "pull,push")]
    scope_actions: String,
    #[command(flatten)]
    creds: Credentials,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum AuthMode {
    /// No credentials when `GET /v2/` answers 200, else what its `WWW-Authenticate` asks for.
    Auto,
    /// Always send `--basic` as HTTP Basic.
    Basic,
    /// Always fetch a token (from the challenge's realm, else `<url>/service/token`).
    Bearer,
}

/// What was sent: nothing, Basic credentials, or a Bearer token.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum AuthKind {
    None,
    Basic,
    Bearer,
}

impl AuthKind {
    fn as_str(self) -> &'static str {
        match self {
            AuthKind::None => "none",
            AuthKind::Basic => "basic",
            AuthKind::Bearer => "bearer",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Upload {
    /// Probe once with a tiny blob: monolithic when POST ?digest= answers 201, else post-put.
    Auto,
    /// One request: `POST /v2/<name>/blobs/uploads/?digest=…` with the body.
    Monolithic,
    /// Two requests: `POST /v2/<name>/blobs/uploads/`, then `PUT <location>?digest=…` with the body.
    PostPut,
}

impl Upload {
    fn as_str(self) -> &'static str {
        match self {
            Upload::Auto => "auto",
            Upload::Monolithic => "monolithic",
            Upload::PostPut => "post-put",
        }
    }
}

// ---- data ------------------------------------------------------------------------------------

/// `len` pseudo-random bytes (splitmix64): incompressible and distinct per seed, fast to make.
fn random_bytes(len: usize, seed: u64) -> Bytes {
    let mut v = vec![0u8; len];
    let mut s = seed;
    for c in v.chunks_mut(8) {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        c.copy_from_slice(&z.to_le_bytes()[..c.len()]);
    }
    Bytes::from(v)
}

/// A seed that differs between runs, so repeated runs against one registry push new content.
fn run_seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    t ^ ((std::process::id() as u64) << 40)
}

fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A blob with its digest, made before timing.
#[derive(Clone)]
struct Blob {
    data: Bytes,
    digest: String,
}

impl Blob {
    fn new(data: Bytes) -> Self {
        let digest = sha256_digest(&data);
        Self { data, digest }
    }
}

/// One small image: config blob, layer blob, manifest.
struct Image {
    config: Blob,
    layer: Blob,
    manifest: Bytes,
    tag: String,
}

fn make_image(i: usize, seed: u64) -> Image {
    let layer = Blob::new(random_bytes(
        4096,
        seed ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407),
    ));
    let config_json = |pad: &str| {
        json!({
            "architecture": "amd64",
            "os": "linux",
            "config": { "Env": [format!("BENCH_SEED={seed}"), format!("BENCH_IMAGE={i}")], "Labels": { "pad": pad } },
            "rootfs": { "type": "layers", "diff_ids": [layer.digest] },
        })
        .to_string()
    };
    let base = config_json("").len();
    let config = Blob::new(Bytes::from(config_json(
        &"x".repeat(1024usize.saturating_sub(base)),
    )));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": OCI_CONFIG, "digest": config.digest, "size": config.data.len() },
        "layers": [{ "mediaType": OCI_LAYER, "digest": layer.digest, "size": layer.data.len() }],
    });
    Image {
        config,
        layer,
        manifest: Bytes::from(manifest.to_string()),
        tag: format!("img-{i}"),
    }
}

// ---- measurement -----------------------------------------------------------------------------

/// CPU seconds (user + system) this process has used so far, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---- registry client -------------------------------------------------------------------------

#[derive(Clone)]
struct Registry {
    http: Client,
    base: String,
    repo: String,
    mode: Upload,
    chunk: usize,
    auth: AuthKind,
}

async fn expect(r: reqwest::Response, want: StatusCode, what: &str) -> Res<reqwest::Response> {
    if r.status() == want {
        return Ok(r);
    }
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    Err(format!(
        "{what}: expected {want}, got {status}: {}",
        body.chars().take(300).collect::<String>()
    )
    .into())
}

/// An HTTP client for the registry, with `headers` sent on every request. The pool keeps up to
/// 1024 idle connections per host, so hundreds of concurrent clients all reuse theirs.
fn http_client(headers: HeaderMap) -> Res<Client> {
    Ok(Client::builder()
        .default_headers(headers)
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1024)
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

/// A `WWW-Authenticate` challenge: its scheme (lower case) and its `key="value"` parameters.
#[derive(Debug, Default)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn parse(v: &str) -> Self {
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars
                .by_ref()
                .take_while(|c| *c != '=')
                .collect::<String>()
                .trim()
                .to_ascii_lowercase();
            if key.is_empty() {
                break;
            }
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = chars
                    .by_ref()
                    .take_while(|c| *c != ',')
                    .collect::<String>()
                    .trim()
                    .to_owned();
            }
            params.push((key, value));
        }
        Self {
            scheme: scheme.to_ascii_lowercase(),
            params,
        }
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn basic_header(creds: &str) -> Res<HeaderValue> {
    use base64::Engine as _;
    let v = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(creds)
    );
    Ok(v.parse()?)
}

/// Docker token authentication: `GET <realm>?service=…&scope=repository:<repo>:<actions>`, with
/// Basic credentials when there are any; the token is `token` (or `access_token`) of the JSON.
async fn fetch_token(
    http: &Client,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    basic: Option<&str>,
) -> Res<String> {
    let mut url = Url::parse(realm).map_err(|e| format!("token realm {realm:?}: {e}"))?;
    {
        let mut q = url.query_pairs_mut();
        if let Some(service) = service {
            q.append_pair("service", service);
        }
        q.append_pair("scope", scope);
    }
    let mut req = http.get(url);
    if let Some(b) = basic {
        req = req.header(AUTHORIZATION, basic_header(b)?);
    }
    let r = expect(req.send().await?, StatusCode::OK, "GET token").await?;
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await?)?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| {
            body.get(*k)
                .and_then(|t| t.as_str())
                .filter(|t| !t.is_empty())
        })
        .map(str::to_owned)
        .ok_or_else(|| "token response without token or access_token".into())
}

/// A token for `repository:<repo>:<actions>` from the realm of a Bearer challenge (without one,
/// from `<base>/service/token`), as an `Authorization` value.
async fn bearer_auth(
    http: &Client,
    base: &str,
    challenge: Option<Challenge>,
    repo: &str,
    actions: &str,
    basic: Option<&str>,
) -> Res<(AuthKind, Option<HeaderValue>)> {
    let challenge = challenge.filter(|c| c.scheme == "bearer");
    let realm = challenge
        .as_ref()
        .and_then(|c| c.param("realm"))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{base}/service/token"));
    let service = challenge.as_ref().and_then(|c| c.param("service"));
    let scope = format!("repository:{repo}:{actions}");
    let token = fetch_token(http, &realm, service, &scope, basic).await?;
    Ok((AuthKind::Bearer, Some(format!("Bearer {token}").parse()?)))
}

/// Find out how a client of `repo` authenticates, as real clients do: `GET /v2/` without
/// credentials, then follow the challenge (or the `--auth` override). Returns what to send.
async fn authorize(
    base: &str,
    repo: &str,
    actions: &str,
    creds: &Credentials,
) -> Res<(AuthKind, Option<HeaderValue>)> {
    let http = http_client(HeaderMap::new())?;
    let r = http.get(format!("{base}/v2/")).send().await?;
    let status = r.status();
    let challenge = r
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(Challenge::parse);
    let _ = r.bytes().await;
    let need_basic = || -> Res<&str> {
        creds
            .basic
            .as_deref()
            .ok_or_else(|| "Basic authentication needs --basic user:password".into())
    };
    let bearer = |challenge: Option<Challenge>| {
        let basic = creds.basic.as_deref();
        bearer_auth(&http, base, challenge, repo, actions, basic)
    };
    match creds.auth {
        AuthMode::Basic => Ok((AuthKind::Basic, Some(basic_header(need_basic()?)?))),
        AuthMode::Bearer => bearer(challenge).await,
        AuthMode::Auto => match (status, challenge) {
            (StatusCode::OK, _) => Ok((AuthKind::None, None)),
            (StatusCode::UNAUTHORIZED, Some(c)) if c.scheme == "bearer" => bearer(Some(c)).await,
            (StatusCode::UNAUTHORIZED, Some(c)) if c.scheme == "basic" => {
                Ok((AuthKind::Basic, Some(basic_header(need_basic()?)?)))
            }
            (StatusCode::UNAUTHORIZED, c) => Err(format!(
                "GET /v2/: 401 with an unsupported challenge {:?}",
                c.map(|c| c.scheme).unwrap_or_default()
            )
            .into()),
            (s, _) => Err(format!("GET /v2/: unexpected {s}").into()),
        },
    }
}

impl Registry {
    async fn connect(t: &Target) -> Res<Self> {
        let base = t.url.trim_end_matches('/').to_owned();
        let (auth, header) = authorize(&base, &t.repo, "pull,push", &t.creds).await?;
        let mut headers = HeaderMap::new();
        if let Some(h) = header {
            headers.insert(AUTHORIZATION, h);
        }
        let http = http_client(headers)?;
        let r = http.get(format!("{base}/v2/")).send().await?;
        let _ = expect(r, StatusCode::OK, "GET /v2/ with credentials")
            .await?
            .bytes()
            .await;
        let mut reg = Self {
            http,
            base,
            repo: t.repo.clone(),
            mode: t.upload,
            chunk: t.chunk_kib.max(1) * 1024,
            auth,
        };
        if reg.mode == Upload::Auto {
            reg.mode = reg.probe_upload_mode().await?;
        }
        Ok(reg)
    }

    /// Monolithic when `POST ?digest=` with a body answers 201; post-put when it answers 202
    /// (the registry ignored the digest and opened a session, which is cancelled again).
    async fn probe_upload_mode(&self) -> Res<Upload> {
        let probe = Blob::new(random_bytes(64, run_seed()));
        let r = self.post_monolithic(&probe).await?;
        match r.status() {
            StatusCode::CREATED => Ok(Upload::Monolithic),
            StatusCode::ACCEPTED => {
                if let Ok(loc) = self.location(&r) {
                    let _ = self.http.delete(loc).send().await;
                }
                Ok(Upload::PostPut)
            }
            s => Err(format!("probing POST ?digest=: unexpected {s}").into()),
        }
    }

    fn uploads_url(&self) -> String {
        format!("{}/v2/{}/blobs/uploads/", self.base, self.repo)
    }

    fn location(&self, r: &reqwest::Response) -> Res<String> {
        let loc = r
            .headers()
            .get(LOCATION)
            .ok_or("upload response without Location")?
            .to_str()?;
        Ok(
            if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.to_owned()
            } else {
                format!("{}{}", self.base, loc)
            },
        )
    }

    /// The blob as a streamed request body, in `chunk`-sized pieces that share its buffer.
    fn body(&self, data: &Bytes) -> reqwest::Body {
        if data.len() <= self.chunk {
            return reqwest::Body::from(data.clone());
        }
        let (data, chunk) = (data.clone(), self.chunk);
        let pieces = data.len().div_ceil(chunk);
        reqwest::Body::wrap_stream(futures::stream::iter((0..pieces).map(move |i| {
            Ok::<Bytes, std::io::Error>(data.slice(i * chunk..((i + 1) * chunk).min(data.len())))
        })))
    }

    async fn post_monolithic(&self, b: &Blob) -> Res<reqwest::Response> {
        Ok(self
            .http
            .post(format!("{}?digest={}", self.uploads_url(), b.digest))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, b.data.len())
            .body(self.body(&b.data))
            .send()
            .await?)
    }

    async fn push_blob(&self, b: &Blob) -> Res<()> {
        let r = match self.mode {
            Upload::Monolithic => {
                let r = self.post_monolithic(b).await?;
                expect(r, StatusCode::CREATED, "POST ?digest=").await?
            }
            Upload::PostPut | Upload::Auto => {
                let r = self
                    .http
                    .post(self.uploads_url())
                    .header(CONTENT_LENGTH, 0)
                    .send()
                    .await?;
                let r = expect(r, StatusCode::ACCEPTED, "POST uploads/").await?;
                let loc = self.location(&r)?;
                let _ = r.bytes().await;
                let sep = if loc.contains('?') { '&' } else { '?' };
                let r = self
                    .http
                    .put(format!("{loc}{sep}digest={}", b.digest))
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, b.data.len())
                    .body(self.body(&b.data))
                    .send()
                    .await?;
                expect(r, StatusCode::CREATED, "PUT ?digest=").await?
            }
        };
        let _ = r.bytes().await; // drain, so the connection goes back to the pool
        Ok(())
    }

    async fn put_manifest(&self, tag: &str, body: &Bytes) -> Res<()> {
        let r = self
            .http
            .put(format!("{}/v2/{}/manifests/{tag}", self.base, self.repo))
            .header(CONTENT_TYPE, OCI_MANIFEST)
            .body(body.clone())
            .send()
            .await?;
        let r = expect(r, StatusCode::CREATED, "PUT manifest").await?;
        let _ = r.bytes().await;
        Ok(())
    }

    async fn push_image(&self, img: &Image) -> Res<()> {
        self.push_blob(&img.config).await?;
        self.push_blob(&img.layer).await?;
        self.put_manifest(&img.tag, &img.manifest).await
    }
}

// ---- subcommands -----------------------------------------------------------------------------

async fn push_large(a: LargeArgs) -> Res<serde_json::Value> {
    let reg = Registry::connect(&a.target).await?;
    let size = a.size_mib * MIB;
    let clients = a.clients.max(1);
    let (mut rates, mut walls, mut cpu, mut lat) = (Vec::new(), Vec::new(), 0.0, Vec::new());
    for _ in 0..a.repeat.max(1) {
        let seed = run_seed();
        let blobs: Vec<Blob> = (0..clients)
            .map(|c| Blob::new(random_bytes(size, seed.wrapping_add((c as u64) << 48))))
            .collect();
        let (start, cpu0) = (Instant::now(), cpu_seconds());
        let tasks: Vec<_> = blobs
            .into_iter()
            .map(|b| {
                let reg = reg.clone();
                tokio::spawn(async move {
                    let t = Instant::now();
                    reg.push_blob(&b).await.map(|()| t.elapsed())
                })
            })
            .collect();
        for t in futures::future::join_all(tasks).await {
            lat.push(t??);
        }
        let wall = start.elapsed().as_secs_f64();
        cpu += cpu_seconds() - cpu0;
        rates.push((size * clients) as f64 / wall / 1e6);
        walls.push(wall);
    }
    lat.sort();
    let best = rates.iter().copied().fold(0.0, f64::max);
    Ok(json!({
        "bench": "push-large",
        "url": reg.base,
        "auth": reg.auth.as_str(),
        "upload": reg.mode.as_str(),
        "clients": clients,
        "size_mib": a.size_mib,
        "rounds": rates.len(),
        "unit": MB_UNIT,
        "mb_per_s_best": round3(best),
        "mb_per_s_median": round3(median(&rates)),
        "rounds_mb_per_s": rates.iter().map(|r| round3(*r)).collect::<Vec<_>>(),
        "rounds_wall_s": walls.iter().map(|w| round3(*w)).collect::<Vec<_>>(),
        "upload_latency_ms_p50": round3(percentile_ms(&lat, 0.50)),
        "upload_latency_ms_p99": round3(percentile_ms(&lat, 0.99)),
        "upload_latency_ms_max": round3(percentile_ms(&lat, 1.0)),
        "client_cpu_s": round3(cpu),
    }))
}

async fn push_small(a: SmallArgs) -> Res<serde_json::Value> {
    let reg = Registry::connect(&a.target).await?;
    let seed = run_seed();
    let images: Arc<Vec<Image>> = Arc::new((0..a.images).map(|i| make_image(i, seed)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let tasks: Vec<_> = (0..a.clients.max(1))
        .map(|_| {
            let (reg, images, next) = (reg.clone(), images.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(img) = images.get(i) else { break };
                    let t = Instant::now();
                    reg.push_image(img).await?;
                    lat.push(t.elapsed());
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in futures::future::join_all(tasks).await {
        lat.extend(t??);
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    lat.sort();
    Ok(json!({
        "bench": "push-small",
        "url": reg.base,
        "auth": reg.auth.as_str(),
        "upload": reg.mode.as_str(),
        "clients": a.clients.max(1),
        "images": lat.len(),
        "requests_per_image": if reg.mode == Upload::Monolithic { 3 } else { 5 },
        "wall_s": round3(wall),
        "images_per_s": round3(lat.len() as f64 / wall),
        "image_latency_ms_p50": round3(percentile_ms(&lat, 0.50)),
        "image_latency_ms_p99": round3(percentile_ms(&lat, 0.99)),
        "client_cpu_s": round3(cpu),
    }))
}

async fn prepare(a: PrepareArgs) -> Res<serde_json::Value> {
    let reg = Registry::connect(&a.target).await?;
    let blob = Blob::new(random_bytes(a.blob_mib * MIB, run_seed()));
    reg.push_blob(&blob).await?;
    let img = make_image(0, run_seed() ^ 0x5EED);
    reg.push_blob(&img.config).await?;
    reg.push_blob(&img.layer).await?;
    reg.put_manifest("latest", &img.manifest).await?;
    let blob_url = format!("{}/v2/{}/blobs/{}", reg.base, reg.repo, blob.digest);
    let manifest_url = format!("{}/v2/{}/manifests/latest", reg.base, reg.repo);
    // Check both answer as wrk will ask (the manifest with an OCI Accept header).
    let r = reg.http.get(&blob_url).send().await?;
    let got = expect(r, StatusCode::OK, "GET blob").await?.bytes().await?;
    if got != blob.data {
        return Err("GET blob returned different bytes".into());
    }
    let r = reg
        .http
        .get(&manifest_url)
        .header(ACCEPT, OCI_MANIFEST)
        .send()
        .await?;
    let got = expect(r, StatusCode::OK, "GET manifest")
        .await?
        .bytes()
        .await?;
    if got != img.manifest {
        return Err("GET manifest returned different bytes".into());
    }
    Ok(json!({
        "bench": "prepare",
        "url": reg.base,
        "auth": reg.auth.as_str(),
        "upload": reg.mode.as_str(),
        "blob_url": blob_url,
        "blob_bytes": blob.data.len(),
        "manifest_url": manifest_url,
        "manifest_bytes": img.manifest.len(),
        "manifest_accept": OCI_MANIFEST,
    }))
}

async fn auth_header(a: AuthHeaderArgs) -> Res<serde_json::Value> {
    let base = a.url.trim_end_matches('/').to_owned();
    let (auth, header) = authorize(&base, &a.repo, &a.scope_actions, &a.creds).await?;
    let header = match header {
        Some(h) => format!("Authorization: {}", h.to_str()?),
        None => String::new(),
    };
    Ok(json!({
        "bench": "auth-header",
        "url": base,
        "repo": a.repo,
        "scope_actions": a.scope_actions,
        "auth": auth.as_str(),
        "header": header,
    }))
}

/// Latencies and errors of one kind of operation.
#[derive(Default)]
struct OpStats {
    lat: Vec<Duration>,
    errors: usize,
    first_errors: Vec<String>,
}

impl OpStats {
    fn record(&mut self, started: Instant, r: Res<()>) {
        match r {
            Ok(()) => self.lat.push(started.elapsed()),
            Err(e) => {
                self.errors += 1;
                if self.first_errors.len() < 5 {
                    self.first_errors.push(e.to_string());
                }
            }
        }
    }

    fn merge(&mut self, o: OpStats) {
        self.lat.extend(o.lat);
        self.errors += o.errors;
        for e in o.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
    }

    fn report(mut self, wall: f64) -> serde_json::Value {
        self.lat.sort();
        json!({
            "ok": self.lat.len(),
            "errors": self.errors,
            "per_s": round3(self.lat.len() as f64 / wall),
            "latency_ms_p50": round3(percentile_ms(&self.lat, 0.50)),
            "latency_ms_p99": round3(percentile_ms(&self.lat, 0.99)),
            "latency_ms_max": round3(self.lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)),
            "first_errors": self.first_errors,
        })
    }
}

impl Registry {
    /// Pull as a client does: the manifest by tag, then its layer.
    async fn pull_image(&self, img: &Image) -> Res<()> {
        let r = self
            .http
            .get(format!(
                "{}/v2/{}/manifests/{}",
                self.base, self.repo, img.tag
            ))
            .header(ACCEPT, OCI_MANIFEST)
            .send()
            .await?;
        let body = expect(r, StatusCode::OK, "GET manifest")
            .await?
            .bytes()
            .await?;
        if body != img.manifest {
            return Err(format!("manifest {} came back different", img.tag).into());
        }
        let r = self
            .http
            .get(format!(
                "{}/v2/{}/blobs/{}",
                self.base, self.repo, img.layer.digest
            ))
            .send()
            .await?;
        let body = expect(r, StatusCode::OK, "GET blob").await?.bytes().await?;
        if body != img.layer.data {
            return Err(format!("layer {} came back different", img.layer.digest).into());
        }
        Ok(())
    }
}

async fn load(a: LoadArgs) -> Res<serde_json::Value> {
    let reg = Registry::connect(&a.target).await?;
    let seed = run_seed();
    let seeded: Arc<Vec<Image>> = Arc::new(
        (0..a.seed_images.max(1))
            .map(|i| make_image(i, seed))
            .collect(),
    );
    for img in seeded.iter() {
        reg.push_image(img).await?;
    }
    let next = Arc::new(AtomicUsize::new(seeded.len()));
    let deadline = Instant::now() + Duration::from_secs(a.duration_secs);
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let tasks: Vec<_> = (0..a.clients.max(1))
        .map(|c| {
            let (reg, seeded, next) = (reg.clone(), seeded.clone(), next.clone());
            let pull_percent = a.pull_percent;
            tokio::spawn(async move {
                let (mut pulls, mut pushes) = (OpStats::default(), OpStats::default());
                let mut x = seed ^ (c as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                while Instant::now() < deadline {
                    // xorshift: which operation, which image.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let t = Instant::now();
                    if x % 100 < pull_percent {
                        let img = &seeded[(x / 100) as usize % seeded.len()];
                        pulls.record(t, reg.pull_image(img).await);
                    } else {
                        let img = make_image(next.fetch_add(1, Ordering::Relaxed), seed);
                        pushes.record(t, reg.push_image(&img).await);
                    }
                }
                (pulls, pushes)
            })
        })
        .collect();
    let (mut pulls, mut pushes) = (OpStats::default(), OpStats::default());
    for t in futures::future::join_all(tasks).await {
        let (p, q) = t?;
        pulls.merge(p);
        pushes.merge(q);
    }
    let wall = start.elapsed().as_secs_f64();
    let errors = pulls.errors + pushes.errors;
    Ok(json!({
        "bench": "load",
        "url": reg.base,
        "auth": reg.auth.as_str(),
        "upload": reg.mode.as_str(),
        "clients": a.clients.max(1),
        "duration_s": round3(wall),
        "pull_percent": a.pull_percent,
        "errors": errors,
        "pull": pulls.report(wall),
        "push": pushes.report(wall),
        "client_cpu_s": round3(cpu_seconds() - cpu0),
    }))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let out = match cli.cmd {
        Cmd::PushLarge(a) => push_large(a).await,
        Cmd::PushSmall(a) => push_small(a).await,
        Cmd::Prepare(a) => prepare(a).await,
        Cmd::AuthHeader(a) => auth_header(a).await,
        Cmd::Load(a) => load(a).await,
    };
    match out {
        Ok(v) => {
            println!("{v}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("berth-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
