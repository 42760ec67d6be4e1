//! Node bindings for Berth (`require('berth')`): a `Registry` class whose methods return
//! Promises, named as in Python but camelCase.
//!
//! Rules kept here: each engine method is conversions plus one `registry_core::Registry` call,
//! run on napi's tokio runtime; core errors reject with a JS `Error` whose `.code` is the
//! engine's code (`MANIFEST_UNKNOWN`, `NAME_INVALID`, …, `CLOSED` after `close()`).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use napi::bindgen_prelude::{
    Buffer, Either, FromNapiValue, PromiseRaw, ToNapiValue, TypeName, ValueType,
};
use napi::{Env, JsError};
use napi_derive::napi;
use registry_core::auth::{Access, RobotPermission, Role};
use registry_core::model::{
    Label, MemberGroup, MemberReq, MemberUser, ProjectReq, RobotReq, UserCreate,
};
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{Content, Error, ImageRef, ListQuery, NewImage, NewLayer, Principal};
use tokio::sync::oneshot;

/// How long `close()` waits for in-flight HTTP requests.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Idle upload sessions of a served registry are purged after this long.
const UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// The administrator `Registry::bootstrap` creates.
const ADMIN_USERNAME: &str = "admin";
/// Binding calls act as the embedding program itself: every permission.
static SYSTEM: Principal = Principal::System;

/// Why a call failed, before it becomes a JS error (which needs the JS thread).
enum Failure {
    Core(Error),
    Closed,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

/// A JS `Error` with `.code`, as a rejection value.
fn js_error(env: &Env, f: Failure) -> napi::Error {
    let (code, message) = match f {
        Failure::Core(e) => (e.code().as_str().to_owned(), e.to_string()),
        Failure::Closed => ("CLOSED".to_owned(), "the registry is closed".to_owned()),
    };
    let err = napi::Error::new(code, message);
    napi::Error::from(JsError::from(err).into_unknown(*env))
}

/// Run `fut` on the runtime; the Promise resolves with its value or rejects with a coded error.
fn settle<'env, T, F>(env: &'env Env, fut: F) -> napi::Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
{
    let guarded = async move {
        Ok(AssertUnwindSafe(fut)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(Failure::Core(Error::Internal("the engine panicked".into())))))
    };
    env.spawn_future_with_callback(guarded, |env, out| out.map_err(|f| js_error(env, f)))
}

struct Open {
    registry: registry_core::Registry,
    served: Option<Served>,
}

struct Served {
    stop: oneshot::Sender<()>,
    server: registry_http::Server,
    _data_dir: Option<tempfile::TempDir>,
}

struct Handle {
    state: Mutex<Option<Open>>,
}

impl Handle {
    fn registry(&self) -> Result<registry_core::Registry, Failure> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|o| o.registry.clone())
            .ok_or(Failure::Closed)
    }

    async fn close(&self) -> Result<(), Failure> {
        let open = self.state.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(Open { registry, served }) = open {
            if let Some(s) = served {
                let _ = s.stop.send(());
                let _ = tokio::time::timeout(STOP_GRACE, s.server.wait()).await;
            }
            drop(registry);
        }
        Ok(())
    }
}

/// Where to open a registry: nothing (memory, or a throw-away data dir when served), a `uri`
/// (`memory://` or a data directory), or `metadata` + `storage` URIs.
#[napi(object)]
#[derive(Default)]
pub struct OpenOptions {
    pub uri: Option<String>,
    pub metadata: Option<String>,
    pub storage: Option<String>,
    /// `serve` only: the listen address, default `127.0.0.1:0` (a free port).
    pub addr: Option<String>,
    /// `serve` only: the password of the `admin` user created on first start (generated when
    /// not given; see `Registry.adminPassword`).
    pub admin_password: Option<String>,
}

async fn open_registry(o: &OpenOptions) -> Result<registry_core::Registry, Failure> {
    Ok(match (&o.uri, &o.metadata, &o.storage) {
        (None, None, None) => registry_core::Registry::open("memory://").await?,
        (Some(uri), None, None) => registry_core::Registry::open(uri).await?,
        (None, Some(m), Some(s)) => registry_core::Registry::open_with(m, s).await?,
        _ => {
            return Err(Error::BadRequest {
                reason: "give uri, or metadata and storage together".into(),
            }
            .into());
        }
    })
}

/// Open a registry (in memory by default).
#[napi]
pub fn open<'env>(
    env: &'env Env,
    options: Option<OpenOptions>,
) -> napi::Result<PromiseRaw<'env, Registry>> {
    let options = options.unwrap_or_default();
    settle(env, async move {
        let registry = open_registry(&options).await?;
        Ok(Registry::new(registry, None, None))
    })
}

/// Serve a registry over HTTP in this process, on a free loopback port and a throw-away data
/// directory (deleted on `close()`) unless `options` say otherwise. It is bootstrapped first:
/// user `admin` (see `adminPassword`) and the public project `library` exist. HTTP clients
/// authenticate (Basic or the token service); anonymous ones may only pull from public projects.
#[napi]
pub fn serve<'env>(
    env: &'env Env,
    options: Option<OpenOptions>,
) -> napi::Result<PromiseRaw<'env, Registry>> {
    let options = options.unwrap_or_default();
    settle(env, async move {
        let addr_text = options.addr.clone().unwrap_or_else(|| "127.0.0.1:0".into());
        let addr: SocketAddr = addr_text.parse().map_err(|e| Error::BadRequest {
            reason: format!("bad listen address {addr_text:?}: {e}"),
        })?;
        let (registry, data_dir) =
            if options.uri.is_none() && options.metadata.is_none() && options.storage.is_none() {
                let dir = tempfile::Builder::new()
                    .prefix("berth-")
                    .tempdir()
                    .map_err(|e| Error::Storage {
                        backend: "fs",
                        source: e.into(),
                    })?;
                (
                    registry_core::Registry::open_data_dir(dir.path()).await?,
                    Some(dir),
                )
            } else {
                (open_registry(&options).await?, None)
            };
        let generated = registry
            .bootstrap(options.admin_password.as_deref())
            .await?;
        let admin_password = generated.or(options.admin_password.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = registry_http::serve(
            registry.clone(),
            addr,
            registry_http::AppOptions::default(),
            UPLOAD_TTL,
            async move {
                let _ = stopped.await;
            },
        )
        .await
        .map_err(|e| Error::Unavailable {
            reason: format!("cannot listen on {addr}: {e}"),
        })?;
        let bound = server.addr;
        let mut served = Registry::new(
            registry,
            Some(Served {
                stop,
                server,
                _data_dir: data_dir,
            }),
            Some(bound),
        );
        served.admin_password = admin_password;
        Ok(served)
    })
}

/// The version of the Berth engine this module was built from.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A key pair for `Registry.sign`, as PEM.
#[napi(object)]
pub struct SigningKey {
    /// Unencrypted PKCS#8 (ECDSA P-256): what `sign` takes.
    pub private_key: String,
    /// The public key: what `addTrustKey` trusts.
    pub public_key: String,
}

/// A new ECDSA P-256 key pair for `Registry.sign`.
#[napi]
pub fn generate_signing_key(env: Env) -> napi::Result<SigningKey> {
    let (private_key, public_key) = registry_core::policy::trust::generate_signing_key()
        .map_err(|e| js_error(&env, e.into()))?;
    Ok(SigningKey {
        private_key,
        public_key,
    })
}

/// Validate a repository name with the engine's grammar; throws an error whose code is
/// `NAME_INVALID` when invalid.
#[napi]
pub fn check_repository_name(env: Env, name: String) -> napi::Result<()> {
    RepoName::parse(&name)
        .map(drop)
        .map_err(|e| js_error(&env, e.into()))
}

/// A stored manifest.
#[napi(object)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    /// The manifest exactly as stored.
    pub content: Buffer,
}

/// What a manifest push stored.
#[napi(object)]
pub struct PushedManifest {
    pub digest: String,
    pub subject: Option<String>,
    pub tags: Vec<String>,
}

impl From<registry_core::PutManifestOutcome> for PushedManifest {
    fn from(o: registry_core::PutManifestOutcome) -> Self {
        Self {
            digest: o.digest.to_string(),
            subject: o.subject.map(|s| s.to_string()),
            tags: o.tags,
        }
    }
}

/// What an image push stored.
#[napi(object)]
pub struct PushedImage {
    pub repository: String,
    pub digest: String,
    /// `repository@digest`.
    pub reference: String,
    pub config: String,
    pub layers: Vec<String>,
    pub tags: Vec<String>,
}

/// One layer of a pulled image.
#[napi(object)]
pub struct Layer {
    pub digest: String,
    pub media_type: String,
    pub data: Buffer,
}

/// An image read back: manifest, config and layers.
#[napi(object)]
pub struct PulledImage {
    pub digest: String,
    pub media_type: String,
    pub config_media_type: String,
    pub manifest: Buffer,
    pub config: Buffer,
    pub layers: Vec<Layer>,
}

/// The image to push: layers (bytes or file paths), an optional config (bytes or a JSON
/// value), media types, artifact type and annotations.
#[napi(object, object_to_js = false)]
pub struct ImageOptions {
    #[napi(ts_type = "Array<Buffer | Uint8Array | string>")]
    pub layers: Option<Vec<Either<Buffer, String>>>,
    #[napi(ts_type = "Buffer | Uint8Array | Record<string, unknown>")]
    pub config: Option<ConfigArg>,
    pub config_media_type: Option<String>,
    pub layer_media_type: Option<String>,
    pub artifact_type: Option<String>,
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Page options of listings.
#[napi(object)]
pub struct Page {
    pub n: Option<u32>,
    pub last: Option<String>,
}

/// A config given as bytes, or as a JSON value (serialised compactly).
pub struct ConfigArg(Bytes);

impl TypeName for ConfigArg {
    fn type_name() -> &'static str {
        "Buffer | object"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl FromNapiValue for ConfigArg {
    unsafe fn from_napi_value(
        env: napi::sys::napi_env,
        value: napi::sys::napi_value,
    ) -> napi::Result<Self> {
        if let Ok(b) = unsafe { Buffer::from_napi_value(env, value) } {
            return Ok(Self(to_bytes(&b)));
        }
        let json = unsafe { serde_json::Value::from_napi_value(env, value)? };
        Ok(Self(Bytes::from(serde_json::to_vec(&json)?)))
    }
}

fn to_bytes(b: &Buffer) -> Bytes {
    Bytes::copy_from_slice(b)
}

fn to_buffer(b: &Bytes) -> Buffer {
    Buffer::from(b.to_vec())
}

fn one_chunk(b: Bytes) -> registry_core::blob::ByteStream {
    futures::stream::once(async move { Ok(b) }).boxed()
}

fn new_image(o: Option<ImageOptions>) -> Result<NewImage, Failure> {
    let Some(o) = o else {
        return Ok(NewImage::default());
    };
    let config = o.config.map(|c| c.0);
    let layer_media_type = o.layer_media_type;
    Ok(NewImage {
        config,
        config_media_type: o.config_media_type,
        layers: o
            .layers
            .unwrap_or_default()
            .into_iter()
            .map(|l| NewLayer {
                content: match l {
                    Either::A(b) => Content::Bytes(to_bytes(&b)),
                    Either::B(path) => Content::File(PathBuf::from(path)),
                },
                media_type: layer_media_type.clone(),
            })
            .collect(),
        artifact_type: o.artifact_type,
        annotations: o.annotations.unwrap_or_default(),
    })
}

// ---- identity and management: arguments and results ------------------------------------------

/// Listing options (Harbor's): `q` filters (`name=~dev,public=true`), `sort` (`-creation_time`),
/// `page` (from 1) and `pageSize` (1-100, default 10).
#[napi(object)]
#[derive(Default)]
pub struct ListOptions {
    pub q: Option<String>,
    pub sort: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

fn list_query(o: Option<ListOptions>) -> ListQuery {
    let o = o.unwrap_or_default();
    ListQuery {
        q: o.q,
        sort: o.sort,
        page: o.page.map(u64::from),
        page_size: o.page_size.map(u64::from),
    }
}

/// `createProject` options.
#[napi(object)]
#[derive(Default)]
pub struct ProjectOptions {
    /// Anonymous pulls allowed (default false); `metadata.public` wins when both are given.
    pub public: Option<bool>,
    /// `auto_scan`, `severity`, … (string values, as in Harbor).
    pub metadata: Option<BTreeMap<String, String>>,
    /// Storage limit in bytes (-1 or absent: unlimited).
    pub storage_limit: Option<i64>,
}

/// `createRegistry` options.
#[napi(object)]
#[derive(Default)]
pub struct RegistryOptions {
    /// `docker-registry` (default), `harbor` or `docker-hub`.
    pub r#type: Option<String>,
    pub access_key: Option<String>,
    /// Sealed at rest; never shown back.
    pub access_secret: Option<String>,
    /// Skip certificate verification.
    pub insecure: Option<bool>,
}

/// `replicate` options.
#[napi(object)]
#[derive(Default)]
pub struct ReplicateOptions {
    /// Copy the local repository to the remote one (default: remote to local).
    pub push: Option<bool>,
    /// Tags to copy (default: every tag).
    pub tags: Option<Vec<String>>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub insecure: Option<bool>,
    /// The remote's type (default `docker-registry`).
    pub r#type: Option<String>,
}

/// `collectGarbage` options.
#[napi(object)]
#[derive(Default)]
pub struct GcOptions {
    /// Report what would be deleted; change nothing.
    pub dry_run: Option<bool>,
    /// Also delete artifacts with no tag that nothing references.
    pub delete_untagged: Option<bool>,
    /// Parallel blob deletions, 1–10 (default 1).
    pub workers: Option<u32>,
    /// Unreferenced content younger than this survives (default 7200).
    pub grace_seconds: Option<f64>,
}

/// `createUser` options.
#[napi(object)]
#[derive(Default)]
pub struct UserOptions {
    pub email: Option<String>,
    pub realname: Option<String>,
    pub comment: Option<String>,
}

/// Who joins a project, and as what: a user by name, or a group by name (found, or created as
/// an LDAP-type group, Harbor's default) or id. `role` defaults to `developer`.
#[napi(object)]
pub struct MemberOptions {
    pub username: Option<String>,
    #[napi(ts_type = "string | number")]
    pub group: Option<Either<String, i64>>,
    #[napi(ts_type = "Role | number")]
    pub role: Option<Either<String, i64>>,
}

/// A robot account: `project` + `access` for a project robot, or `permissions` in full
/// (`level` defaults to `project` with a project, else `system`). `duration` in days, -1 (the
/// default) never expires.
#[napi(object)]
#[derive(Default)]
pub struct RobotOptions {
    pub project: Option<String>,
    #[napi(ts_type = "Array<RobotAccess>")]
    pub access: Option<serde_json::Value>,
    #[napi(ts_type = "Array<RobotPermission>")]
    pub permissions: Option<serde_json::Value>,
    pub level: Option<String>,
    pub duration: Option<i64>,
    pub description: Option<String>,
    pub secret: Option<String>,
    pub disable: Option<bool>,
}

/// `createLabel` options: a project label with `projectId`, else global.
#[napi(object)]
#[derive(Default)]
pub struct LabelOptions {
    pub project_id: Option<i64>,
    pub description: Option<String>,
    pub color: Option<String>,
}

/// A project by name or id: `(name or id, is_name)`.
fn project_ref(p: Either<String, i64>) -> (String, bool) {
    match p {
        Either::A(name) => (name, true),
        Either::B(id) => (id.to_string(), false),
    }
}

fn role_id(r: Option<Either<String, i64>>) -> Result<i64, Error> {
    match r {
        None => Ok(Role::Developer.id()),
        Some(Either::A(name)) => Role::parse(&name).map(Role::id),
        Some(Either::B(id)) => Role::from_id(id).map(Role::id),
    }
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> Result<T, Error> {
    serde_json::from_value(v).map_err(|e| Error::BadRequest {
        reason: format!("{what}: {e}"),
    })
}

fn robot_req(name: String, o: RobotOptions) -> Result<RobotReq, Error> {
    let access: Option<Vec<Access>> = o.access.map(|a| from_json("access", a)).transpose()?;
    let permissions: Option<Vec<RobotPermission>> = o
        .permissions
        .map(|p| from_json("permissions", p))
        .transpose()?;
    let permissions = match (permissions, access, &o.project) {
        (Some(p), None, _) => p,
        (None, Some(access), Some(project)) => vec![RobotPermission {
            kind: "project".into(),
            namespace: project.clone(),
            access,
            repository: None,
        }],
        (None, Some(_), None) => {
            return Err(Error::BadRequest {
                reason: "access needs project; for other robots give permissions".into(),
            });
        }
        (None, None, _) => Vec::new(),
        _ => {
            return Err(Error::BadRequest {
                reason: "give access (with project) or permissions, not both".into(),
            });
        }
    };
    let level = o.level.unwrap_or_else(|| {
        if o.project.is_some() {
            "project"
        } else {
            "system"
        }
        .into()
    });
    Ok(RobotReq {
        name,
        description: o.description.unwrap_or_default(),
        level,
        duration: o.duration.unwrap_or(-1),
        disable: o.disable.unwrap_or(false),
        permissions,
        secret: o.secret,
        ..RobotReq::default()
    })
}

fn new_label(name: String, o: LabelOptions) -> Result<Label, Error> {
    let scope = if o.project_id.is_some() { "p" } else { "g" };
    from_json(
        "label",
        serde_json::json!({
            "name": name, "description": o.description.unwrap_or_default(), "color": o.color.unwrap_or_default(),
            "scope": scope, "project_id": o.project_id.unwrap_or(0),
        }),
    )
}

/// A core view (`registry_core::model`) out as the plain object its JSON form is (Harbor's
/// snake_case field names, as `/api/v2.0` answers).
fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(v).map_err(|e| Failure::Core(Error::Internal(e.to_string().into())))
}

/// One page of a listing: `{ items, total, page, page_size }`.
fn page_json<T: serde::Serialize>(p: registry_core::Page<T>) -> Result<serde_json::Value, Failure> {
    json(
        &serde_json::json!({ "items": p.items, "total": p.total, "page": p.page, "page_size": p.page_size }),
    )
}

fn who(p: &Principal) -> Result<serde_json::Value, Failure> {
    let (kind, id) = match p {
        Principal::Anonymous => ("anonymous", None),
        Principal::User(u) => ("user", Some(u.id)),
        Principal::Robot(r) => ("robot", Some(r.id)),
        Principal::System => ("system", None),
    };
    json(
        &serde_json::json!({ "kind": kind, "name": p.name(), "id": id, "sysadmin": p.is_sysadmin() }),
    )
}

/// A Berth registry. Every method returns a Promise; errors carry `.code`.
#[napi]
pub struct Registry {
    h: Arc<Handle>,
    addr: Option<SocketAddr>,
    admin_password: Option<String>,
}

impl Registry {
    fn new(
        registry: registry_core::Registry,
        served: Option<Served>,
        addr: Option<SocketAddr>,
    ) -> Self {
        Self {
            h: Arc::new(Handle {
                state: Mutex::new(Some(Open { registry, served })),
            }),
            addr,
            admin_password: None,
        }
    }

    /// The engine, and the handle for the future (so `close()` cannot race a running call away).
    fn reg(&self) -> Result<registry_core::Registry, Failure> {
        self.h.registry()
    }
}

fn repo(s: &str) -> Result<RepoName, Failure> {
    Ok(RepoName::parse(s)?)
}

fn digest(s: &str) -> Result<Digest, Failure> {
    Ok(Digest::parse(s)?)
}

fn reference(s: &str) -> Result<Reference, Failure> {
    Ok(Reference::parse(s)?)
}

fn image_ref(s: &str) -> Result<ImageRef, Failure> {
    Ok(ImageRef::parse(s)?)
}

#[napi]
impl Registry {
    /// `http://127.0.0.1:PORT` when served, else null.
    #[napi(getter)]
    pub fn url(&self) -> Option<String> {
        self.addr.map(|a| format!("http://{a}"))
    }

    /// `127.0.0.1:PORT` (what OCI clients call the registry host) when served, else null.
    #[napi(getter)]
    pub fn host(&self) -> Option<String> {
        self.addr.map(|a| a.to_string())
    }

    /// `"admin"` when served, else null.
    #[napi(getter)]
    pub fn admin_username(&self) -> Option<String> {
        self.addr.map(|_| ADMIN_USERNAME.to_owned())
    }

    /// The admin password when served: generated on a first start, else the one given to
    /// `serve()`; null when the admin existed already and none was given.
    #[napi(getter)]
    pub fn admin_password(&self) -> Option<String> {
        self.admin_password.clone()
    }

    /// True once closed.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.h.registry().is_err()
    }

    /// Close the registry (stopping its server, if served). Closing twice is harmless.
    #[napi]
    pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let h = self.h.clone();
        settle(env, async move { h.close().await })
    }

    /// Repository names in lexical order.
    #[napi]
    pub fn catalog<'env>(
        &self,
        env: &'env Env,
        page: Option<Page>,
    ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let reg = self.reg();
        settle(env, async move {
            let (n, last) = page.map(|p| (p.n, p.last)).unwrap_or_default();
            Ok(reg?.catalog(n, last.as_deref()).await?)
        })
    }

    /// Tags of a repository in lexical order.
    #[napi]
    pub fn list_tags<'env>(
        &self,
        env: &'env Env,
        repository: String,
        page: Option<Page>,
    ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let reg = self.reg();
        settle(env, async move {
            let (n, last) = page.map(|p| (p.n, p.last)).unwrap_or_default();
            Ok(reg?
                .list_tags(&repo(&repository)?, n, last.as_deref())
                .await?)
        })
    }

    /// Store bytes as a blob; resolves to its digest.
    #[napi]
    pub fn push_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Buffer,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let (reg, data) = (self.reg(), to_bytes(&data));
        settle(env, async move {
            Ok(reg?
                .push_blob_bytes(&repo(&repository)?, data)
                .await?
                .to_string())
        })
    }

    /// Stream a file into a blob; resolves to its digest.
    #[napi]
    pub fn push_blob_file<'env>(
        &self,
        env: &'env Env,
        repository: String,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .push_blob_file(&repo(&repository)?, path.as_ref())
                .await?
                .0
                .to_string())
        })
    }

    #[napi]
    pub fn pull_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
    ) -> napi::Result<PromiseRaw<'env, Buffer>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(to_buffer(
                &reg?
                    .read_blob(&repo(&repository)?, &digest(&digest_)?)
                    .await?,
            ))
        })
    }

    /// Stream a blob into a file; resolves to its size.
    #[napi]
    pub fn save_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .save_blob(&repo(&repository)?, &digest(&digest_)?, path.as_ref())
                .await? as i64)
        })
    }

    /// Size of a blob the repository links.
    #[napi]
    pub fn stat_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .stat_blob(&repo(&repository)?, &digest(&digest_)?)
                .await? as i64)
        })
    }

    #[napi]
    pub fn delete_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .delete_blob(&repo(&repository)?, &digest(&digest_)?)
                .await?)
        })
    }

    /// Link an existing blob into `repository`; resolves to its size, or null when there is
    /// nothing to mount.
    #[napi]
    pub fn mount_blob<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
        from_repository: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        let reg = self.reg();
        settle(env, async move {
            let from = from_repository.as_deref().map(repo).transpose()?;
            Ok(reg?
                .mount_blob(&repo(&repository)?, &digest(&digest_)?, from.as_ref())
                .await?
                .map(|s| s as i64))
        })
    }

    /// Open a resumable upload session; resolves to its id.
    #[napi]
    pub fn start_upload<'env>(
        &self,
        env: &'env Env,
        repository: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.start_upload(&repo(&repository)?).await?.id)
        })
    }

    /// Append a chunk (at `offset`, when given); resolves to the size so far.
    #[napi]
    pub fn append_upload<'env>(
        &self,
        env: &'env Env,
        repository: String,
        upload_id: String,
        #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Buffer,
        offset: Option<i64>,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let (reg, data) = (self.reg(), to_bytes(&data));
        settle(env, async move {
            let len = data.len() as u64;
            let offset = offset
                .map(|o| {
                    u64::try_from(o).map_err(|_| Error::BadRequest {
                        reason: "negative offset".into(),
                    })
                })
                .transpose()?;
            Ok(reg?
                .append_upload(
                    &repo(&repository)?,
                    &upload_id,
                    offset,
                    one_chunk(data),
                    Some(len),
                )
                .await? as i64)
        })
    }

    /// Bytes received so far.
    #[napi]
    pub fn upload_status<'env>(
        &self,
        env: &'env Env,
        repository: String,
        upload_id: String,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .upload_status(&repo(&repository)?, &upload_id)
                .await?
                .size as i64)
        })
    }

    /// Append a last chunk (optional), verify `digest`, publish; resolves to the blob size.
    #[napi]
    pub fn finish_upload<'env>(
        &self,
        env: &'env Env,
        repository: String,
        upload_id: String,
        digest_: String,
        #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Option<Buffer>,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let (reg, data) = (self.reg(), data.as_ref().map(to_bytes));
        settle(env, async move {
            let len = data.as_ref().map(|d| d.len() as u64);
            Ok(reg?
                .finish_upload(
                    &repo(&repository)?,
                    &upload_id,
                    &digest(&digest_)?,
                    None,
                    data.map(one_chunk),
                    len,
                )
                .await? as i64)
        })
    }

    #[napi]
    pub fn cancel_upload<'env>(
        &self,
        env: &'env Env,
        repository: String,
        upload_id: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.cancel_upload(&repo(&repository)?, &upload_id).await?)
        })
    }

    /// Drop upload sessions idle longer than this; resolves to how many.
    #[napi]
    pub fn purge_uploads<'env>(
        &self,
        env: &'env Env,
        older_than_seconds: f64,
    ) -> napi::Result<PromiseRaw<'env, u32>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .purge_uploads((older_than_seconds * 1000.0) as i64)
                .await? as u32)
        })
    }

    /// Validate and store a manifest under a tag or its digest (plus extra `tags`).
    #[napi]
    pub fn put_manifest<'env>(
        &self,
        env: &'env Env,
        repository: String,
        reference_: String,
        #[napi(ts_arg_type = "Buffer | Uint8Array")] manifest: Buffer,
        media_type: Option<String>,
        tags: Option<Vec<String>>,
    ) -> napi::Result<PromiseRaw<'env, PushedManifest>> {
        let (reg, body) = (self.reg(), to_bytes(&manifest));
        settle(env, async move {
            let out = reg?
                .put_manifest(
                    &repo(&repository)?,
                    &reference(&reference_)?,
                    media_type.as_deref(),
                    body,
                    &tags.unwrap_or_default(),
                )
                .await?;
            Ok(PushedManifest::from(out))
        })
    }

    #[napi]
    pub fn get_manifest<'env>(
        &self,
        env: &'env Env,
        repository: String,
        reference_: String,
    ) -> napi::Result<PromiseRaw<'env, Manifest>> {
        let reg = self.reg();
        settle(env, async move {
            let m = reg?
                .get_manifest(&repo(&repository)?, &reference(&reference_)?)
                .await?;
            Ok(Manifest {
                digest: m.digest.clone(),
                media_type: m.media_type.clone(),
                content: to_buffer(&m.content),
            })
        })
    }

    /// Delete a manifest by digest (with its tags), or just a tag.
    #[napi]
    pub fn delete_manifest<'env>(
        &self,
        env: &'env Env,
        repository: String,
        reference_: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .delete_manifest(&repo(&repository)?, &reference(&reference_)?)
                .await?)
        })
    }

    /// The referrers of a manifest, as an OCI image index.
    #[napi]
    pub fn referrers<'env>(
        &self,
        env: &'env Env,
        repository: String,
        digest_: String,
        artifact_type: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let index = reg?
                .referrers(
                    &repo(&repository)?,
                    &digest(&digest_)?,
                    artifact_type.as_deref(),
                )
                .await?;
            Ok(serde_json::from_slice(&index.body).map_err(|e| Error::Internal(e.into()))?)
        })
    }

    /// Push config, layers (Buffers or file paths) and a manifest as `repo:tag` (or `repo@digest`).
    #[napi]
    pub fn push_image<'env>(
        &self,
        env: &'env Env,
        image: String,
        options: Option<ImageOptions>,
    ) -> napi::Result<PromiseRaw<'env, PushedImage>> {
        let (reg, new) = (self.reg(), new_image(options));
        settle(env, async move {
            let p = reg?.push_image(&image_ref(&image)?, new?).await?;
            Ok(PushedImage {
                reference: format!("{}@{}", p.repo, p.digest),
                repository: p.repo.to_string(),
                digest: p.digest.to_string(),
                config: p.config.to_string(),
                layers: p.layers.iter().map(ToString::to_string).collect(),
                tags: p.tags,
            })
        })
    }

    #[napi]
    pub fn pull_image<'env>(
        &self,
        env: &'env Env,
        image: String,
    ) -> napi::Result<PromiseRaw<'env, PulledImage>> {
        let reg = self.reg();
        settle(env, async move {
            let p = reg?.pull_image(&image_ref(&image)?).await?;
            Ok(PulledImage {
                digest: p.digest.to_string(),
                media_type: p.media_type,
                config_media_type: p.config_media_type,
                manifest: to_buffer(&p.manifest),
                config: to_buffer(&p.config),
                layers: p
                    .layers
                    .into_iter()
                    .map(|l| Layer {
                        digest: l.digest.to_string(),
                        media_type: l.media_type,
                        data: to_buffer(&l.data),
                    })
                    .collect(),
            })
        })
    }

    /// Import an OCI image layout directory (all entries, or the one named `tag`).
    #[napi]
    pub fn import_layout<'env>(
        &self,
        env: &'env Env,
        path: String,
        repository: String,
        tag: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Vec<PushedManifest>>> {
        let reg = self.reg();
        settle(env, async move {
            let out = reg?
                .import_layout(path.as_ref(), &repo(&repository)?, tag.as_deref())
                .await?;
            Ok(out.into_iter().map(PushedManifest::from).collect())
        })
    }

    /// Write an image (or index) into an OCI image layout directory; resolves to its digest.
    #[napi]
    pub fn export_layout<'env>(
        &self,
        env: &'env Env,
        image: String,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .export_layout(&image_ref(&image)?, path.as_ref())
                .await?
                .to_string())
        })
    }

    // ---- identity and access (every call acts as the embedding program: all permissions) ----

    /// Create user `admin` (system admin) and the public project `library` unless they exist;
    /// resolves to the generated admin password when it created the admin without one, else null.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn bootstrap<'env>(
        &self,
        env: &'env Env,
        admin_password: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.bootstrap(admin_password.as_deref()).await?)
        })
    }

    /// Check a user's password or a robot's secret (a wrong one rejects with `UNAUTHORIZED`);
    /// `client` (an address, default `local`) keys the failed-login throttle.
    #[napi(ts_return_type = "Promise<Who>")]
    pub fn login<'env>(
        &self,
        env: &'env Env,
        username: String,
        password: String,
        client: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            who(&reg?
                .login(&username, &password, client.as_deref().unwrap_or("local"))
                .await?)
        })
    }

    /// Create a project (content only enters existing projects: push to `name/...`).
    #[napi(ts_return_type = "Promise<Project>")]
    pub fn create_project<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<ProjectOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, o) = (self.reg(), options.unwrap_or_default());
        let req = ProjectReq {
            project_name: name,
            public: Some(o.public.unwrap_or(false)),
            metadata: o.metadata,
            storage_limit: o.storage_limit,
            ..ProjectReq::default()
        };
        settle(env, async move {
            json(&reg?.create_project(&SYSTEM, req).await?)
        })
    }

    /// A project by name or id.
    #[napi(ts_return_type = "Promise<Project>")]
    pub fn project<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] name: Either<String, i64>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(name));
        settle(env, async move {
            json(&reg?.project(&SYSTEM, &name, is_name).await?)
        })
    }

    /// Run garbage collection now (online: other clients keep pushing); resolves to its report.
    #[napi(ts_return_type = "Promise<GcReport>")]
    pub fn gc<'env>(
        &self,
        env: &'env Env,
        options: Option<GcOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, o) = (self.reg(), options.unwrap_or_default());
        let opts = registry_core::gc::GcOptions {
            dry_run: o.dry_run.unwrap_or(false),
            delete_untagged: o.delete_untagged.unwrap_or(false),
            workers: o.workers.unwrap_or(1) as usize,
            grace_ms: o
                .grace_seconds
                .map_or(registry_core::gc::DEFAULT_GRACE_MS, |s| (s * 1000.0) as i64),
            ..Default::default()
        };
        settle(env, async move {
            json(&reg?.collect_garbage(&opts, &|_, _| true).await?)
        })
    }

    /// Create a project's tag retention policy (Harbor's `RetentionPolicy` JSON, with
    /// `scope: { level: 'project', ref: <project_id> }`); resolves to its id.
    #[napi]
    pub fn create_retention<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "Record<string, unknown>")] policy: serde_json::Value,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move {
            let policy = serde_json::from_value(policy).map_err(|e| {
                Failure::Core(Error::BadRequest {
                    reason: format!("retention policy: {e}"),
                })
            })?;
            Ok(reg?.create_retention(&SYSTEM, policy).await?)
        })
    }

    /// What a run of the retention policy would delete now, per repository (deletes nothing).
    #[napi(ts_return_type = "Promise<Array<RetentionPreview>>")]
    pub fn retention_dry_run<'env>(
        &self,
        env: &'env Env,
        policy_id: i64,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            json(&reg?.retention_preview(&SYSTEM, policy_id).await?)
        })
    }

    /// A project's storage quota (`hard.storage`, `used.storage` in bytes; -1 unlimited).
    #[napi(ts_return_type = "Promise<Quota>")]
    pub fn quota<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            json(&reg?.quota_of_project(&SYSTEM, &name, is_name).await?)
        })
    }

    /// Set a project's storage limit in bytes (-1: unlimited).
    #[napi]
    pub fn set_storage_limit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        limit: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            Ok(reg?
                .set_project_storage_limit(&SYSTEM, &name, is_name, limit)
                .await?)
        })
    }

    /// Run queued jobs (GC runs, webhook deliveries, …) until none is due; resolves to how many ran.
    #[napi]
    pub fn run_jobs<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, u32>> {
        let reg = self.reg();
        settle(
            env,
            async move { Ok(reg?.run_jobs_until_idle().await? as u32) },
        )
    }

    #[napi]
    pub fn read_only<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, bool>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.is_read_only().await?) })
    }

    /// Read-only mode: pulls keep working, every change is refused with code `DENIED`.
    #[napi]
    pub fn set_read_only<'env>(
        &self,
        env: &'env Env,
        flag: bool,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(
            env,
            async move { Ok(reg?.set_read_only(&SYSTEM, flag).await?) },
        )
    }

    /// The audit log (Harbor's `auditlog-exts` entries); pulls are recorded at most a second late.
    #[napi(ts_return_type = "Promise<Paged<AuditLog>>")]
    pub fn audit_logs<'env>(
        &self,
        env: &'env Env,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(env, async move {
            page_json(reg?.audit_log_exts(&SYSTEM, &q).await?)
        })
    }

    /// Projects; `q` keys: name, project_id, public, owner_id, creation_time, update_time.
    #[napi(ts_return_type = "Promise<Paged<Project>>")]
    pub fn projects<'env>(
        &self,
        env: &'env Env,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(
            env,
            async move { page_json(reg?.projects(&SYSTEM, &q).await?) },
        )
    }

    /// Set metadata keys (`public: 'true'`, `auto_scan`, `severity`, …).
    #[napi]
    pub fn update_project<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] name: Either<String, i64>,
        metadata: BTreeMap<String, String>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(name));
        settle(env, async move {
            Ok(reg?
                .update_project(&SYSTEM, &name, is_name, metadata)
                .await?)
        })
    }

    /// Delete an empty project (`PRECONDITION` while it has repositories).
    #[napi]
    pub fn delete_project<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] name: Either<String, i64>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(name));
        settle(env, async move {
            Ok(reg?.delete_project(&SYSTEM, &name, is_name).await?)
        })
    }

    /// Create a local user (the password needs 8+ characters with upper, lower case and a digit).
    #[napi(ts_return_type = "Promise<User>")]
    pub fn create_user<'env>(
        &self,
        env: &'env Env,
        username: String,
        password: String,
        options: Option<UserOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, o) = (self.reg(), options.unwrap_or_default());
        let req = UserCreate {
            username,
            password,
            email: o.email.unwrap_or_default(),
            realname: o.realname.unwrap_or_default(),
            comment: o.comment.unwrap_or_default(),
        };
        settle(
            env,
            async move { json(&reg?.create_user(&SYSTEM, req).await?) },
        )
    }

    #[napi(ts_return_type = "Promise<User>")]
    pub fn user<'env>(
        &self,
        env: &'env Env,
        user_id: i64,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(
            env,
            async move { json(&reg?.user(&SYSTEM, user_id).await?) },
        )
    }

    #[napi(ts_return_type = "Promise<Paged<User>>")]
    pub fn users<'env>(
        &self,
        env: &'env Env,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(
            env,
            async move { page_json(reg?.users(&SYSTEM, &q).await?) },
        )
    }

    #[napi]
    pub fn set_sysadmin<'env>(
        &self,
        env: &'env Env,
        user_id: i64,
        flag: bool,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.set_sysadmin(&SYSTEM, user_id, flag).await?)
        })
    }

    #[napi]
    pub fn change_password<'env>(
        &self,
        env: &'env Env,
        user_id: i64,
        password: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .change_password(&SYSTEM, user_id, None, &password)
                .await?)
        })
    }

    #[napi]
    pub fn delete_user<'env>(
        &self,
        env: &'env Env,
        user_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(
            env,
            async move { Ok(reg?.delete_user(&SYSTEM, user_id).await?) },
        )
    }

    /// Add a user or a group to a project with a role; resolves to the member id.
    #[napi]
    pub fn add_member<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        member: MemberOptions,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let (reg, (project, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            let req = MemberReq {
                role_id: role_id(member.role)?,
                member_user: member.username.map(|u| MemberUser {
                    username: Some(u),
                    user_id: None,
                }),
                member_group: member.group.map(|g| match g {
                    Either::A(name) => MemberGroup {
                        group_name: Some(name),
                        ..MemberGroup::default()
                    },
                    Either::B(id) => MemberGroup {
                        id: Some(id),
                        ..MemberGroup::default()
                    },
                }),
            };
            Ok(reg?.add_member(&SYSTEM, &project, is_name, req).await?)
        })
    }

    /// Members; `q` takes `entityname=~part`.
    #[napi(ts_return_type = "Promise<Paged<Member>>")]
    pub fn members<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, (project, is_name), q) = (self.reg(), project_ref(project), list_query(options));
        settle(env, async move {
            page_json(reg?.members(&SYSTEM, &project, is_name, &q).await?)
        })
    }

    #[napi]
    pub fn update_member<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        member_id: i64,
        #[napi(ts_arg_type = "Role | number")] role: Either<String, i64>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (project, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            Ok(reg?
                .update_member(&SYSTEM, &project, is_name, member_id, role_id(Some(role))?)
                .await?)
        })
    }

    #[napi]
    pub fn delete_member<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        member_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (project, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            Ok(reg?
                .delete_member(&SYSTEM, &project, is_name, member_id)
                .await?)
        })
    }

    /// Create a robot account; the answer's `secret` is shown this once. Log in as its `name`
    /// (`robot$project+name`).
    #[napi(ts_return_type = "Promise<RobotCreated>")]
    pub fn create_robot<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<RobotOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, req) = (self.reg(), robot_req(name, options.unwrap_or_default()));
        settle(env, async move {
            json(&reg?.create_robot(&SYSTEM, req?).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Robot>")]
    pub fn robot<'env>(
        &self,
        env: &'env Env,
        robot_id: i64,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(
            env,
            async move { json(&reg?.robot(&SYSTEM, robot_id).await?) },
        )
    }

    /// Robots: all, `q: 'Level=system'`, or `q: 'Level=project,ProjectID=<project_id>'`.
    #[napi(ts_return_type = "Promise<Paged<Robot>>")]
    pub fn robots<'env>(
        &self,
        env: &'env Env,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(
            env,
            async move { page_json(reg?.robots(&SYSTEM, &q).await?) },
        )
    }

    /// Set a new secret (given, or generated); resolves to it.
    #[napi]
    pub fn refresh_robot_secret<'env>(
        &self,
        env: &'env Env,
        robot_id: i64,
        secret: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.refresh_robot_secret(&SYSTEM, robot_id, secret).await?)
        })
    }

    #[napi]
    pub fn delete_robot<'env>(
        &self,
        env: &'env Env,
        robot_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.delete_robot(&SYSTEM, robot_id).await?)
        })
    }

    // ---- management views of content --------------------------------------------------------

    /// Repositories, all or of one project.
    #[napi(ts_return_type = "Promise<Paged<Repository>>")]
    pub fn repositories<'env>(
        &self,
        env: &'env Env,
        project: Option<String>,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(env, async move {
            page_json(reg?.repositories(&SYSTEM, project.as_deref(), &q).await?)
        })
    }

    /// Delete `project/repository` with everything in it (`repository` is relative).
    #[napi]
    pub fn delete_repository<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .delete_repository(&SYSTEM, &project, &repository)
                .await?)
        })
    }

    /// Artifacts of `project/repository`; `q` also takes `tags=*`, `tags=nil`, `labels=(id …)`.
    #[napi(ts_return_type = "Promise<Paged<Artifact>>")]
    pub fn artifacts<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(env, async move {
            page_json(reg?.artifacts(&SYSTEM, &project, &repository, &q).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Artifact>")]
    pub fn artifact<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            json(
                &reg?
                    .artifact(&SYSTEM, &project, &repository, &reference_)
                    .await?,
            )
        })
    }

    /// Accessories of an artifact (signatures, SBOMs, referrers); `q` takes
    /// `type=signature.cosign`, `type=sbom.harbor`, ….
    #[napi(ts_return_type = "Promise<Paged<Accessory>>")]
    pub fn accessories<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        settle(env, async move {
            page_json(
                reg?.accessories(&SYSTEM, &project, &repository, &reference_, &q)
                    .await?,
            )
        })
    }

    /// Build `image`'s SBOM from its layers (dpkg, apk) and store it as its `sbom.harbor`
    /// accessory; resolves to `{ digest, subject, distro, packages, spdx, cyclonedx }`.
    #[napi(ts_return_type = "Promise<Sbom>")]
    pub fn sbom<'env>(
        &self,
        env: &'env Env,
        image: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let r = image_ref(&image)?;
            json(&reg?.generate_sbom(&SYSTEM, &r).await?)
        })
    }

    /// Scan `image` with the built-in scanner against the imported vulnerability database and
    /// store the report (an index: each image it lists, and the union).
    #[napi(ts_return_type = "Promise<ScanResult>")]
    pub fn scan<'env>(
        &self,
        env: &'env Env,
        image: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let r = image_ref(&image)?;
            json(&reg?.scan(&SYSTEM, &r).await?)
        })
    }

    /// `image`'s stored vulnerability report, or null when it was never scanned.
    #[napi(ts_return_type = "Promise<VulnerabilityReport | null>")]
    pub fn vulnerabilities<'env>(
        &self,
        env: &'env Env,
        image: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let r = image_ref(&image)?;
            json(
                &reg?
                    .vulnerabilities(&SYSTEM, &r)
                    .await?
                    .remove(registry_core::scan::report::VULN_REPORT),
            )
        })
    }

    /// Import OSV advisories: a directory of OSV JSON files, one file, or OSV's `all.zip`.
    #[napi(ts_return_type = "Promise<VulndbImport>")]
    pub fn import_vulndb<'env>(
        &self,
        env: &'env Env,
        path: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            json(&reg?.import_vulndb(std::path::Path::new(&path)).await?)
        })
    }

    /// Register a remote registry for replication and proxy-cache projects.
    #[napi(ts_return_type = "Promise<RegistryEndpoint>")]
    pub fn create_registry<'env>(
        &self,
        env: &'env Env,
        name: String,
        url: String,
        options: Option<RegistryOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, o) = (self.reg(), options.unwrap_or_default());
        let req = registry_core::replication::RegistryReq {
            name,
            url,
            kind: o.r#type.unwrap_or_else(|| "docker-registry".into()),
            credential: Some(registry_core::replication::RegistryCredential {
                kind: "basic".into(),
                access_key: o.access_key.unwrap_or_default(),
                access_secret: o.access_secret.unwrap_or_default(),
            }),
            insecure: o.insecure.unwrap_or(false),
            ..Default::default()
        };
        settle(env, async move {
            json(&reg?.create_registry_endpoint(&SYSTEM, req).await?)
        })
    }

    /// A proxy-cache project: pulls of `name/<path>` come from the registry and are kept.
    #[napi(ts_return_type = "Promise<Project>")]
    pub fn create_proxy_project<'env>(
        &self,
        env: &'env Env,
        name: String,
        registry_id: i64,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        let req = ProjectReq {
            project_name: name,
            registry_id: Some(registry_id),
            ..ProjectReq::default()
        };
        settle(env, async move {
            json(&reg?.create_project(&SYSTEM, req).await?)
        })
    }

    /// Create a replication policy (Harbor's `ReplicationPolicy` JSON).
    #[napi(ts_return_type = "Promise<ReplicationPolicy>")]
    pub fn create_replication_policy<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "Record<string, unknown>")] policy: serde_json::Value,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let policy = serde_json::from_value(policy).map_err(|e| {
                Failure::Core(Error::BadRequest {
                    reason: format!("replication policy: {e}"),
                })
            })?;
            json(&reg?.create_replication_policy(&SYSTEM, policy).await?)
        })
    }

    /// Start a run of a policy; resolves to the execution id (`runJobs()` runs it here).
    #[napi]
    pub fn start_replication<'env>(
        &self,
        env: &'env Env,
        policy_id: i64,
    ) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.start_replication(&SYSTEM, policy_id).await?)
        })
    }

    #[napi(ts_return_type = "Promise<ReplicationExecution>")]
    pub fn replication_execution<'env>(
        &self,
        env: &'env Env,
        execution_id: i64,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            json(&reg?.replication_execution(&SYSTEM, execution_id).await?)
        })
    }

    /// Copy tags from the repository at `remote` (`http(s)://host/path`) into `local`
    /// (`project/name`), or the other way with `push`, now; digests are kept.
    #[napi(ts_return_type = "Promise<CopyReport>")]
    pub fn replicate<'env>(
        &self,
        env: &'env Env,
        remote: String,
        local: String,
        options: Option<ReplicateOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, o) = (self.reg(), options.unwrap_or_default());
        let req = registry_core::replication::execution::CopyRequest {
            remote,
            local,
            push: o.push.unwrap_or(false),
            tags: o.tags,
            kind: o.r#type,
            username: o.username,
            password: o.password,
            insecure: o.insecure.unwrap_or(false),
        };
        settle(
            env,
            async move { json(&reg?.replicate(&SYSTEM, req).await?) },
        )
    }

    /// Sign `image` as `cosign sign --key` does (tag scheme) with an unencrypted PKCS#8 key
    /// (`generateSigningKey`); resolves to the signature manifest's digest.
    #[napi]
    pub fn sign<'env>(
        &self,
        env: &'env Env,
        image: String,
        private_key_pem: String,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move {
            let r = image_ref(&image)?;
            Ok(reg?
                .sign(&r.repo, &r.reference, &private_key_pem)
                .await?
                .to_string())
        })
    }

    /// The keys a project trusts for content trust verification.
    #[napi(ts_return_type = "Promise<Array<TrustKey>>")]
    pub fn trust_keys<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, (name, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            json(&reg?.trust_keys(&SYSTEM, &name, is_name).await?)
        })
    }

    /// Trust a cosign public key or a notation CA certificate (PEM) in a project.
    #[napi(ts_return_type = "Promise<TrustKey>")]
    pub fn add_trust_key<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        name: String,
        pem: String,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, (project, is_name)) = (self.reg(), project_ref(project));
        let req = registry_core::policy::trust::TrustKeyReq { name, pem };
        settle(env, async move {
            json(&reg?.add_trust_key(&SYSTEM, &project, is_name, req).await?)
        })
    }

    #[napi]
    pub fn delete_trust_key<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | number")] project: Either<String, i64>,
        key_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let (reg, (project, is_name)) = (self.reg(), project_ref(project));
        settle(env, async move {
            Ok(reg?
                .delete_trust_key(&SYSTEM, &project, is_name, key_id)
                .await?)
        })
    }

    /// Point a new tag at an artifact (`CONFLICT` if the tag exists).
    #[napi]
    pub fn create_tag<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
        tag: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .create_tag(&SYSTEM, &project, &repository, &reference_, &tag)
                .await?)
        })
    }

    #[napi]
    pub fn delete_tag<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
        tag: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .delete_tag(&SYSTEM, &project, &repository, &reference_, &tag)
                .await?)
        })
    }

    /// A global label, or one of the project with `projectId`.
    #[napi(ts_return_type = "Promise<Label>")]
    pub fn create_label<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<LabelOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, label) = (self.reg(), new_label(name, options.unwrap_or_default()));
        settle(env, async move {
            json(&reg?.create_label(&SYSTEM, label?).await?)
        })
    }

    /// Global labels, or those of the project with `projectId`.
    #[napi(ts_return_type = "Promise<Paged<Label>>")]
    pub fn labels<'env>(
        &self,
        env: &'env Env,
        project_id: Option<i64>,
        options: Option<ListOptions>,
    ) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let (reg, q) = (self.reg(), list_query(options));
        let (scope, pid) = match project_id {
            Some(id) => ("p", id),
            None => ("g", 0),
        };
        settle(env, async move {
            page_json(reg?.labels(&SYSTEM, scope, pid, &q).await?)
        })
    }

    #[napi]
    pub fn delete_label<'env>(
        &self,
        env: &'env Env,
        label_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?.delete_label(&SYSTEM, label_id).await?)
        })
    }

    #[napi]
    pub fn attach_label<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
        label_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .attach_label(&SYSTEM, &project, &repository, &reference_, label_id)
                .await?)
        })
    }

    #[napi]
    pub fn detach_label<'env>(
        &self,
        env: &'env Env,
        project: String,
        repository: String,
        reference_: String,
        label_id: i64,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move {
            Ok(reg?
                .detach_label(&SYSTEM, &project, &repository, &reference_, label_id)
                .await?)
        })
    }
}
