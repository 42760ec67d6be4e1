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
use napi::bindgen_prelude::{Buffer, Either, FromNapiValue, PromiseRaw, ToNapiValue, TypeName, ValueType};
use napi::{Env, JsError};
use napi_derive::napi;
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{Content, Error, ImageRef, NewImage, NewLayer};
use tokio::sync::oneshot;

/// How long `close()` waits for in-flight HTTP requests.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Idle upload sessions of a served registry are purged after this long.
const UPLOAD_TTL: Duration = Duration::from_secs(3600);

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
        Ok(AssertUnwindSafe(fut).catch_unwind().await.unwrap_or_else(|_| {
            Err(Failure::Core(Error::Internal("the engine panicked".into())))
        }))
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
        self.state.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|o| o.registry.clone()).ok_or(Failure::Closed)
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
}

async fn open_registry(o: &OpenOptions) -> Result<registry_core::Registry, Failure> {
    Ok(match (&o.uri, &o.metadata, &o.storage) {
        (None, None, None) => registry_core::Registry::open("memory://").await?,
        (Some(uri), None, None) => registry_core::Registry::open(uri).await?,
        (None, Some(m), Some(s)) => registry_core::Registry::open_with(m, s).await?,
        _ => return Err(Error::BadRequest { reason: "give uri, or metadata and storage together".into() }.into()),
    })
}

/// Open a registry (in memory by default).
#[napi]
pub fn open<'env>(env: &'env Env, options: Option<OpenOptions>) -> napi::Result<PromiseRaw<'env, Registry>> {
    let options = options.unwrap_or_default();
    settle(env, async move {
        let registry = open_registry(&options).await?;
        Ok(Registry::new(registry, None, None))
    })
}

/// Serve a registry over HTTP in this process, on a free loopback port and a throw-away data
/// directory (deleted on `close()`) unless `options` say otherwise.
#[napi]
pub fn serve<'env>(env: &'env Env, options: Option<OpenOptions>) -> napi::Result<PromiseRaw<'env, Registry>> {
    let options = options.unwrap_or_default();
    settle(env, async move {
        let addr_text = options.addr.clone().unwrap_or_else(|| "127.0.0.1:0".into());
        let addr: SocketAddr = addr_text
            .parse()
            .map_err(|e| Error::BadRequest { reason: format!("bad listen address {addr_text:?}: {e}") })?;
        let (registry, data_dir) = if options.uri.is_none() && options.metadata.is_none() && options.storage.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("berth-")
                .tempdir()
                .map_err(|e| Error::Storage { backend: "fs", source: e.into() })?;
            (registry_core::Registry::open_data_dir(dir.path()).await?, Some(dir))
        } else {
            (open_registry(&options).await?, None)
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let server = registry_http::serve(registry.clone(), addr, registry_http::AppOptions::default(), UPLOAD_TTL, async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| Error::Unavailable { reason: format!("cannot listen on {addr}: {e}") })?;
        let bound = server.addr;
        Ok(Registry::new(registry, Some(Served { stop, server, _data_dir: data_dir }), Some(bound)))
    })
}

/// The version of the Berth engine this module was built from.
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Validate a repository name with the engine's grammar; throws an error whose code is
/// `NAME_INVALID` when invalid.
#[napi]
pub fn check_repository_name(env: Env, name: String) -> napi::Result<()> {
    RepoName::parse(&name).map(drop).map_err(|e| js_error(&env, e.into()))
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
        Self { digest: o.digest.to_string(), subject: o.subject.map(|s| s.to_string()), tags: o.tags }
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
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> napi::Result<Self> {
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
    let Some(o) = o else { return Ok(NewImage::default()) };
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

/// A Berth registry. Every method returns a Promise; errors carry `.code`.
#[napi]
pub struct Registry {
    h: Arc<Handle>,
    addr: Option<SocketAddr>,
}

impl Registry {
    fn new(registry: registry_core::Registry, served: Option<Served>, addr: Option<SocketAddr>) -> Self {
        Self { h: Arc::new(Handle { state: Mutex::new(Some(Open { registry, served })) }), addr }
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
    pub fn catalog<'env>(&self, env: &'env Env, page: Option<Page>) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let reg = self.reg();
        settle(env, async move {
            let (n, last) = page.map(|p| (p.n, p.last)).unwrap_or_default();
            Ok(reg?.catalog(n, last.as_deref()).await?)
        })
    }

    /// Tags of a repository in lexical order.
    #[napi]
    pub fn list_tags<'env>(&self, env: &'env Env, repository: String, page: Option<Page>) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let reg = self.reg();
        settle(env, async move {
            let (n, last) = page.map(|p| (p.n, p.last)).unwrap_or_default();
            Ok(reg?.list_tags(&repo(&repository)?, n, last.as_deref()).await?)
        })
    }

    /// Store bytes as a blob; resolves to its digest.
    #[napi]
    pub fn push_blob<'env>(&self, env: &'env Env, repository: String, #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Buffer) -> napi::Result<PromiseRaw<'env, String>> {
        let (reg, data) = (self.reg(), to_bytes(&data));
        settle(env, async move { Ok(reg?.push_blob_bytes(&repo(&repository)?, data).await?.to_string()) })
    }

    /// Stream a file into a blob; resolves to its digest.
    #[napi]
    pub fn push_blob_file<'env>(&self, env: &'env Env, repository: String, path: String) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.push_blob_file(&repo(&repository)?, path.as_ref()).await?.0.to_string()) })
    }

    #[napi]
    pub fn pull_blob<'env>(&self, env: &'env Env, repository: String, digest_: String) -> napi::Result<PromiseRaw<'env, Buffer>> {
        let reg = self.reg();
        settle(env, async move { Ok(to_buffer(&reg?.read_blob(&repo(&repository)?, &digest(&digest_)?).await?)) })
    }

    /// Stream a blob into a file; resolves to its size.
    #[napi]
    pub fn save_blob<'env>(&self, env: &'env Env, repository: String, digest_: String, path: String) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.save_blob(&repo(&repository)?, &digest(&digest_)?, path.as_ref()).await? as i64) })
    }

    /// Size of a blob the repository links.
    #[napi]
    pub fn stat_blob<'env>(&self, env: &'env Env, repository: String, digest_: String) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.stat_blob(&repo(&repository)?, &digest(&digest_)?).await? as i64) })
    }

    #[napi]
    pub fn delete_blob<'env>(&self, env: &'env Env, repository: String, digest_: String) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.delete_blob(&repo(&repository)?, &digest(&digest_)?).await?) })
    }

    /// Link an existing blob into `repository`; resolves to its size, or null when there is
    /// nothing to mount.
    #[napi]
    pub fn mount_blob<'env>(&self, env: &'env Env, repository: String, digest_: String, from_repository: Option<String>) -> napi::Result<PromiseRaw<'env, Option<i64>>> {
        let reg = self.reg();
        settle(env, async move {
            let from = from_repository.as_deref().map(repo).transpose()?;
            Ok(reg?.mount_blob(&repo(&repository)?, &digest(&digest_)?, from.as_ref()).await?.map(|s| s as i64))
        })
    }

    /// Open a resumable upload session; resolves to its id.
    #[napi]
    pub fn start_upload<'env>(&self, env: &'env Env, repository: String) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.start_upload(&repo(&repository)?).await?.id) })
    }

    /// Append a chunk (at `offset`, when given); resolves to the size so far.
    #[napi]
    pub fn append_upload<'env>(&self, env: &'env Env, repository: String, upload_id: String, #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Buffer, offset: Option<i64>) -> napi::Result<PromiseRaw<'env, i64>> {
        let (reg, data) = (self.reg(), to_bytes(&data));
        settle(env, async move {
            let len = data.len() as u64;
            let offset = offset.map(|o| u64::try_from(o).map_err(|_| Error::BadRequest { reason: "negative offset".into() })).transpose()?;
            Ok(reg?.append_upload(&repo(&repository)?, &upload_id, offset, one_chunk(data), Some(len)).await? as i64)
        })
    }

    /// Bytes received so far.
    #[napi]
    pub fn upload_status<'env>(&self, env: &'env Env, repository: String, upload_id: String) -> napi::Result<PromiseRaw<'env, i64>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.upload_status(&repo(&repository)?, &upload_id).await?.size as i64) })
    }

    /// Append a last chunk (optional), verify `digest`, publish; resolves to the blob size.
    #[napi]
    pub fn finish_upload<'env>(&self, env: &'env Env, repository: String, upload_id: String, digest_: String, #[napi(ts_arg_type = "Buffer | Uint8Array")] data: Option<Buffer>) -> napi::Result<PromiseRaw<'env, i64>> {
        let (reg, data) = (self.reg(), data.as_ref().map(to_bytes));
        settle(env, async move {
            let len = data.as_ref().map(|d| d.len() as u64);
            Ok(reg?.finish_upload(&repo(&repository)?, &upload_id, &digest(&digest_)?, None, data.map(one_chunk), len).await? as i64)
        })
    }

    #[napi]
    pub fn cancel_upload<'env>(&self, env: &'env Env, repository: String, upload_id: String) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.cancel_upload(&repo(&repository)?, &upload_id).await?) })
    }

    /// Drop upload sessions idle longer than this; resolves to how many.
    #[napi]
    pub fn purge_uploads<'env>(&self, env: &'env Env, older_than_seconds: f64) -> napi::Result<PromiseRaw<'env, u32>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.purge_uploads((older_than_seconds * 1000.0) as i64).await? as u32) })
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
            let out = reg?.put_manifest(&repo(&repository)?, &reference(&reference_)?, media_type.as_deref(), body, &tags.unwrap_or_default()).await?;
            Ok(PushedManifest::from(out))
        })
    }

    #[napi]
    pub fn get_manifest<'env>(&self, env: &'env Env, repository: String, reference_: String) -> napi::Result<PromiseRaw<'env, Manifest>> {
        let reg = self.reg();
        settle(env, async move {
            let m = reg?.get_manifest(&repo(&repository)?, &reference(&reference_)?).await?;
            Ok(Manifest { digest: m.digest.clone(), media_type: m.media_type.clone(), content: to_buffer(&m.content) })
        })
    }

    /// Delete a manifest by digest (with its tags), or just a tag.
    #[napi]
    pub fn delete_manifest<'env>(&self, env: &'env Env, repository: String, reference_: String) -> napi::Result<PromiseRaw<'env, ()>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.delete_manifest(&repo(&repository)?, &reference(&reference_)?).await?) })
    }

    /// The referrers of a manifest, as an OCI image index.
    #[napi]
    pub fn referrers<'env>(&self, env: &'env Env, repository: String, digest_: String, artifact_type: Option<String>) -> napi::Result<PromiseRaw<'env, serde_json::Value>> {
        let reg = self.reg();
        settle(env, async move {
            let index = reg?.referrers(&repo(&repository)?, &digest(&digest_)?, artifact_type.as_deref()).await?;
            Ok(serde_json::from_slice(&index.body).map_err(|e| Error::Internal(e.into()))?)
        })
    }

    /// Push config, layers (Buffers or file paths) and a manifest as `repo:tag` (or `repo@digest`).
    #[napi]
    pub fn push_image<'env>(&self, env: &'env Env, image: String, options: Option<ImageOptions>) -> napi::Result<PromiseRaw<'env, PushedImage>> {
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
    pub fn pull_image<'env>(&self, env: &'env Env, image: String) -> napi::Result<PromiseRaw<'env, PulledImage>> {
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
                    .map(|l| Layer { digest: l.digest.to_string(), media_type: l.media_type, data: to_buffer(&l.data) })
                    .collect(),
            })
        })
    }

    /// Import an OCI image layout directory (all entries, or the one named `tag`).
    #[napi]
    pub fn import_layout<'env>(&self, env: &'env Env, path: String, repository: String, tag: Option<String>) -> napi::Result<PromiseRaw<'env, Vec<PushedManifest>>> {
        let reg = self.reg();
        settle(env, async move {
            let out = reg?.import_layout(path.as_ref(), &repo(&repository)?, tag.as_deref()).await?;
            Ok(out.into_iter().map(PushedManifest::from).collect())
        })
    }

    /// Write an image (or index) into an OCI image layout directory; resolves to its digest.
    #[napi]
    pub fn export_layout<'env>(&self, env: &'env Env, image: String, path: String) -> napi::Result<PromiseRaw<'env, String>> {
        let reg = self.reg();
        settle(env, async move { Ok(reg?.export_layout(&image_ref(&image)?, path.as_ref()).await?.to_string()) })
    }
}
