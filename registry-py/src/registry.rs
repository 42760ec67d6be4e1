//! `berth.Registry` / `berth.Server` (blocking) and `berth.aio.Registry` / `berth.aio.Server`
//! (asyncio) over one shared [`Handle`] on `registry_core::Registry`.
//!
//! Every engine method is written once, in `engine_methods!`, as argument conversions plus one
//! call into core; the macro stamps it onto the blocking class (run with the GIL released) and
//! onto the asyncio class (returning an awaitable). A new core method is one entry there.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyDict, PyList};
use registry_core::auth::{Access, RobotPermission};
use registry_core::model::{
    Label, MemberGroup, MemberReq, MemberUser, ProjectReq, RobotReq, UserCreate,
};
use registry_core::{Content, Error, NewImage, NewLayer, Principal};
use tokio::sync::oneshot;

use crate::convert::{
    Arg, BytesOut, Data, Failure, JsonArg, JsonOut, ProjectRef, RoleArg, json_out, list_query,
    page_out, parse_digest, parse_image, parse_ref, parse_repo, to_bytes, who,
};
use crate::runtime::{awaitable, run, runtime};

/// How long `stop()` waits for in-flight requests before giving up on them.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Idle upload sessions of a served registry are purged after this long.
const UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// The administrator `Registry::bootstrap` creates.
const ADMIN_USERNAME: &str = "admin";

/// An open registry, possibly served over HTTP, shared by the Python objects that use it.
pub struct Handle {
    pid: u32,
    state: Mutex<Option<Open>>,
}

struct Open {
    registry: registry_core::Registry,
    served: Option<Served>,
}

struct Served {
    stop: oneshot::Sender<()>,
    server: registry_http::Server,
    /// The throw-away data directory, removed when the server stops.
    _data_dir: Option<tempfile::TempDir>,
}

impl Handle {
    fn new(registry: registry_core::Registry, served: Option<Served>) -> Arc<Self> {
        Arc::new(Self {
            pid: std::process::id(),
            state: Mutex::new(Some(Open { registry, served })),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Open>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }

    /// The engine, or `CLOSED`.
    fn registry(&self) -> Result<registry_core::Registry, Failure> {
        if self.forked() {
            return Err(Failure::Closed(format!(
                "this registry was opened by process {} before a fork; open a new one in this process",
                self.pid
            )));
        }
        match &*self.lock() {
            Some(open) => Ok(open.registry.clone()),
            None => Err(Failure::Closed("the registry is closed".into())),
        }
    }

    fn is_closed(&self) -> bool {
        self.forked() || self.lock().is_none()
    }

    /// Stop serving (draining requests), remove a throw-away data dir, drop the engine.
    /// Closing twice is harmless.
    async fn close(self: Arc<Self>) -> Result<(), Failure> {
        if self.forked() {
            return Ok(());
        }
        let open = self.lock().take();
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

impl Drop for Handle {
    fn drop(&mut self) {
        let open = self
            .state
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(open) = open else { return };
        if self.forked() {
            // Its pools and server tasks lived on the parent's runtime threads.
            std::mem::forget(open);
            return;
        }
        // Dropped without close(): dropping the stop sender ends the server's shutdown future,
        // so the listener drains and exits on its own.
        match runtime() {
            Ok(rt) => {
                let _guard = rt.enter();
                drop(open);
            }
            Err(_) => std::mem::forget(open),
        }
    }
}

async fn open_registry(
    uri: Option<String>,
    metadata: Option<String>,
    storage: Option<String>,
) -> Result<registry_core::Registry, Failure> {
    Ok(match (uri, metadata, storage) {
        (None, None, None) => registry_core::Registry::open("memory://").await?,
        (Some(uri), None, None) => registry_core::Registry::open(&uri).await?,
        (None, Some(m), Some(s)) => registry_core::Registry::open_with(&m, &s).await?,
        _ => {
            return Err(Error::BadRequest {
                reason: "give a uri, or metadata and storage together".into(),
            }
            .into());
        }
    })
}

/// Open (or, with nothing given, create a throw-away data dir for) a registry, make sure the
/// `admin` user and the `library` project exist (`Registry::bootstrap`), and serve it.
/// Returns the admin password: the generated one on a first start without `admin_password`,
/// else `admin_password` (None when the admin existed already and no password was given).
async fn serve_registry(
    uri: Option<String>,
    metadata: Option<String>,
    storage: Option<String>,
    addr: SocketAddr,
    admin_password: Option<String>,
) -> Result<(Arc<Handle>, SocketAddr, Option<String>), Failure> {
    let (registry, data_dir) = if uri.is_none() && metadata.is_none() && storage.is_none() {
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
        (open_registry(uri, metadata, storage).await?, None)
    };
    let generated = registry.bootstrap(admin_password.as_deref()).await?;
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
    Ok((
        Handle::new(
            registry,
            Some(Served {
                stop,
                server,
                _data_dir: data_dir,
            }),
        ),
        bound,
        generated.or(admin_password),
    ))
}

fn parse_addr(py: Python<'_>, addr: &str) -> PyResult<SocketAddr> {
    addr.parse().map_err(|e| {
        crate::convert::core_err(
            py,
            Error::BadRequest {
                reason: format!("bad listen address {addr:?}: {e}"),
            },
        )
    })
}

// ---- result types ------------------------------------------------------------------------------

/// A stored manifest.
#[pyclass(frozen, module = "berth")]
pub struct Manifest {
    #[pyo3(get)]
    digest: String,
    #[pyo3(get)]
    media_type: String,
    body: bytes::Bytes,
}

#[pymethods]
impl Manifest {
    /// The manifest exactly as stored.
    #[getter]
    fn content<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.body)
    }

    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        JsonOut(self.body.clone()).into_pyobject(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "Manifest(digest={:?}, media_type={:?}, size={})",
            self.digest,
            self.media_type,
            self.body.len()
        )
    }
}

/// What a manifest push stored.
#[pyclass(frozen, module = "berth", get_all)]
pub struct PushedManifest {
    digest: String,
    subject: Option<String>,
    tags: Vec<String>,
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

#[pymethods]
impl PushedManifest {
    fn __repr__(&self) -> String {
        format!(
            "PushedManifest(digest={:?}, tags={:?})",
            self.digest, self.tags
        )
    }
}

/// What an image push stored; `str()` of it is `repo@digest`.
#[pyclass(frozen, module = "berth", get_all)]
pub struct PushedImage {
    repository: String,
    digest: String,
    config: String,
    layers: Vec<String>,
    tags: Vec<String>,
}

#[pymethods]
impl PushedImage {
    #[getter]
    fn reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }

    fn __str__(&self) -> String {
        self.reference()
    }

    fn __repr__(&self) -> String {
        format!("PushedImage({:?}, tags={:?})", self.reference(), self.tags)
    }
}

/// One layer of a pulled image.
#[pyclass(frozen, module = "berth")]
pub struct Layer {
    #[pyo3(get)]
    digest: String,
    #[pyo3(get)]
    media_type: String,
    body: bytes::Bytes,
}

#[pymethods]
impl Layer {
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.body)
    }

    fn __repr__(&self) -> String {
        format!(
            "Layer(digest={:?}, media_type={:?}, size={})",
            self.digest,
            self.media_type,
            self.body.len()
        )
    }
}

/// An image read back: manifest, config and layers.
#[pyclass(frozen, module = "berth")]
pub struct PulledImage {
    #[pyo3(get)]
    digest: String,
    #[pyo3(get)]
    media_type: String,
    #[pyo3(get)]
    config_media_type: String,
    manifest_body: bytes::Bytes,
    config_body: bytes::Bytes,
    layer_list: Vec<(String, String, bytes::Bytes)>,
}

#[pymethods]
impl PulledImage {
    #[getter]
    fn manifest<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.manifest_body)
    }

    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyBytes> {
        pyo3::types::PyBytes::new(py, &self.config_body)
    }

    #[getter]
    fn layers(&self) -> Vec<Layer> {
        self.layer_list
            .iter()
            .map(|(digest, media_type, body)| Layer {
                digest: digest.clone(),
                media_type: media_type.clone(),
                body: body.clone(),
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "PulledImage(digest={:?}, layers={})",
            self.digest,
            self.layer_list.len()
        )
    }
}

impl From<registry_core::PulledImage> for PulledImage {
    fn from(p: registry_core::PulledImage) -> Self {
        Self {
            digest: p.digest.to_string(),
            media_type: p.media_type,
            config_media_type: p.config_media_type,
            manifest_body: p.manifest,
            config_body: p.config,
            layer_list: p
                .layers
                .into_iter()
                .map(|l| (l.digest.to_string(), l.media_type, l.data))
                .collect(),
        }
    }
}

impl From<registry_core::PushedImage> for PushedImage {
    fn from(p: registry_core::PushedImage) -> Self {
        Self {
            repository: p.repo.to_string(),
            digest: p.digest.to_string(),
            config: p.config.to_string(),
            layers: p.layers.iter().map(ToString::to_string).collect(),
            tags: p.tags,
        }
    }
}

// ---- argument conversions ------------------------------------------------------------------------

/// A layer given as bytes or as a path to a file.
pub enum LayerArg {
    Bytes(PyBackedBytes),
    File(PathBuf),
}

impl<'a, 'py> FromPyObject<'a, 'py> for LayerArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.extract::<PyBackedBytes>() {
            return Ok(Self::Bytes(b));
        }
        obj.extract::<PathBuf>().map(Self::File).map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "a layer is bytes, or a str / os.PathLike path to a file",
            )
        })
    }
}

/// A config given as bytes, or as a JSON-able value (serialised with `json.dumps`).
pub struct ConfigArg(bytes::Bytes);

impl<'a, 'py> FromPyObject<'a, 'py> for ConfigArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.extract::<PyBackedBytes>() {
            return Ok(Self(bytes::Bytes::from_owner(b)));
        }
        if !(obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyList>()) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "config is bytes or a JSON-able dict",
            ));
        }
        let py = obj.py();
        let kwargs = PyDict::new(py);
        kwargs.set_item("separators", (",", ":"))?;
        let text: String = py
            .import("json")?
            .call_method("dumps", (obj,), Some(&kwargs))?
            .extract()?;
        Ok(Self(bytes::Bytes::from(text)))
    }
}

fn new_image(
    layers: Vec<LayerArg>,
    config: Option<ConfigArg>,
    config_media_type: Option<String>,
    layer_media_type: Option<String>,
    artifact_type: Option<String>,
    annotations: Option<BTreeMap<String, String>>,
) -> NewImage {
    NewImage {
        config: config.map(|c| c.0),
        config_media_type,
        layers: layers
            .into_iter()
            .map(|l| NewLayer {
                content: match l {
                    LayerArg::Bytes(b) => Content::Bytes(bytes::Bytes::from_owner(b)),
                    LayerArg::File(p) => Content::File(p),
                },
                media_type: layer_media_type.clone(),
            })
            .collect(),
        artifact_type,
        annotations: annotations.unwrap_or_default(),
    }
}

// ---- identity arguments --------------------------------------------------------------------------

/// Binding calls act as the embedding program itself: every permission.
static SYSTEM: Principal = Principal::System;

/// A group member given by name (`str`, found or created as an LDAP-type group, Harbor's
/// default) or id (`int`).
pub enum GroupArg {
    Name(String),
    Id(i64),
}

impl<'a, 'py> FromPyObject<'a, 'py> for GroupArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<String>() {
            return Ok(Self::Name(s));
        }
        obj.extract::<i64>().map(Self::Id).map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err("a group is its name (str) or id (int)")
        })
    }
}

impl From<GroupArg> for MemberGroup {
    fn from(g: GroupArg) -> Self {
        match g {
            GroupArg::Name(n) => MemberGroup {
                group_name: Some(n),
                ..MemberGroup::default()
            },
            GroupArg::Id(id) => MemberGroup {
                id: Some(id),
                ..MemberGroup::default()
            },
        }
    }
}

/// A robot request: `project` + `access` is a project robot with those permissions there;
/// `permissions` gives the entries in full (`level` defaults to `project` when `project` is
/// given, else `system`).
#[allow(clippy::too_many_arguments)]
fn robot_req(
    name: String,
    project: Option<String>,
    access: Option<Vec<Access>>,
    permissions: Option<Vec<RobotPermission>>,
    level: Option<String>,
    duration: i64,
    description: String,
    secret: Option<String>,
    disable: bool,
) -> Result<RobotReq, Failure> {
    let permissions = match (permissions, access, &project) {
        (Some(p), None, _) => p,
        (None, Some(access), Some(project)) => vec![RobotPermission {
            kind: "project".into(),
            namespace: project.clone(),
            access,
            repository: None,
        }],
        (None, access, None) if access.is_some() => {
            return Err(Error::BadRequest {
                reason: "access= needs project=; for other robots give permissions=".into(),
            }
            .into());
        }
        (None, None, _) => Vec::new(),
        _ => {
            return Err(Error::BadRequest {
                reason: "give access= (with project=) or permissions=, not both".into(),
            }
            .into());
        }
    };
    let level = level.unwrap_or_else(|| {
        if project.is_some() {
            "project"
        } else {
            "system"
        }
        .into()
    });
    Ok(RobotReq {
        name,
        description,
        level,
        duration,
        disable,
        permissions,
        secret,
        ..RobotReq::default()
    })
}

/// A label: global, or in the project with that id.
fn new_label(
    name: String,
    project_id: Option<i64>,
    description: String,
    color: String,
) -> Result<Label, Failure> {
    let scope = if project_id.is_some() { "p" } else { "g" };
    serde_json::from_value(serde_json::json!({
        "name": name, "description": description, "color": color, "scope": scope, "project_id": project_id.unwrap_or(0),
    }))
    .map_err(|e| Error::BadRequest { reason: e.to_string() }.into())
}

// ---- the classes ---------------------------------------------------------------------------------

/// A Berth registry; every method blocks with the GIL released.
#[pyclass(subclass, frozen, module = "berth")]
pub struct Registry {
    h: Arc<Handle>,
}

/// A registry served over HTTP on loopback (see `berth.serve`).
#[pyclass(extends = Registry, frozen, module = "berth")]
pub struct Server {
    h: Arc<Handle>,
    #[pyo3(get)]
    url: String,
    #[pyo3(get)]
    host: String,
    #[pyo3(get)]
    admin_password: Option<String>,
}

/// A Berth registry for asyncio; every engine method returns an awaitable.
#[pyclass(subclass, frozen, module = "berth.aio")]
pub struct AsyncRegistry {
    h: Arc<Handle>,
}

/// An asyncio registry served over HTTP on loopback (see `berth.aio.serve`).
#[pyclass(extends = AsyncRegistry, frozen, module = "berth.aio")]
pub struct AsyncServer {
    h: Arc<Handle>,
    #[pyo3(get)]
    url: String,
    #[pyo3(get)]
    host: String,
    #[pyo3(get)]
    admin_password: Option<String>,
}

/// A handle on its way to Python as the right class.
pub enum NewObject {
    Registry(Arc<Handle>),
    Server(Arc<Handle>, SocketAddr, Option<String>),
    AsyncRegistry(Arc<Handle>),
    AsyncServer(Arc<Handle>, SocketAddr, Option<String>),
}

impl<'py> IntoPyObject<'py> for NewObject {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let served = |addr: SocketAddr| (format!("http://{addr}"), addr.to_string());
        Ok(match self {
            Self::Registry(h) => Bound::new(py, Registry { h })?.into_any(),
            Self::AsyncRegistry(h) => Bound::new(py, AsyncRegistry { h })?.into_any(),
            Self::Server(h, addr, admin_password) => {
                let (url, host) = served(addr);
                let init =
                    PyClassInitializer::from(Registry { h: h.clone() }).add_subclass(Server {
                        h,
                        url,
                        host,
                        admin_password,
                    });
                Bound::new(py, init)?.into_any()
            }
            Self::AsyncServer(h, addr, admin_password) => {
                let (url, host) = served(addr);
                let init = PyClassInitializer::from(AsyncRegistry { h: h.clone() }).add_subclass(
                    AsyncServer {
                        h,
                        url,
                        host,
                        admin_password,
                    },
                );
                Bound::new(py, init)?.into_any()
            }
        })
    }
}

macro_rules! engine_methods {
    ($ty:ident, $run:path, { $($extra:tt)* }) => {
        #[pymethods]
        impl $ty {
            $($extra)*

            /// True once closed (or when used from a forked child).
            #[getter]
            fn closed(&self) -> bool {
                self.h.is_closed()
            }

            /// Close the registry (stopping its server, if served). Closing twice is harmless.
            fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let h = self.h.clone();
                $run(py, async move { h.close().await })
            }

            #[pyo3(signature = (n=None, last=None))]
            fn catalog<'py>(&self, py: Python<'py>, n: Option<Arg<u32>>, last: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.catalog(n.map(|a| a.0), last.as_ref().map(|a| a.0.as_str())).await?) })
            }

            #[pyo3(signature = (repository, n=None, last=None))]
            fn list_tags<'py>(&self, py: Python<'py>, repository: Arg<String>, n: Option<Arg<u32>>, last: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move { Ok(reg.list_tags(&r, n.map(|a| a.0), last.as_ref().map(|a| a.0.as_str())).await?) })
            }

            fn push_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, data: Data) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, b) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, to_bytes(data));
                $run(py, async move { Ok(reg.push_blob_bytes(&r, b).await?.to_string()) })
            }

            fn push_blob_file<'py>(&self, py: Python<'py>, repository: Arg<String>, path: Arg<PathBuf>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move { Ok(reg.push_blob_file(&r, &path.0).await?.0.to_string()) })
            }

            fn pull_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                $run(py, async move { Ok(BytesOut(reg.read_blob(&r, &d).await?)) })
            }

            fn save_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>, path: Arg<PathBuf>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                $run(py, async move { Ok(reg.save_blob(&r, &d, &path.0).await?) })
            }

            fn stat_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                $run(py, async move { Ok(reg.stat_blob(&r, &d).await?) })
            }

            fn delete_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                $run(py, async move { Ok(reg.delete_blob(&r, &d).await?) })
            }

            #[pyo3(signature = (repository, digest, from_repository=None))]
            fn mount_blob<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>, from_repository: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                let from = from_repository.map(|f| parse_repo(py, &f.0)).transpose()?;
                $run(py, async move { Ok(reg.mount_blob(&r, &d, from.as_ref()).await?) })
            }

            fn start_upload<'py>(&self, py: Python<'py>, repository: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move { Ok(reg.start_upload(&r).await?.id) })
            }

            #[pyo3(signature = (repository, upload_id, data, offset=None))]
            fn append_upload<'py>(&self, py: Python<'py>, repository: Arg<String>, upload_id: Arg<String>, data: Data, offset: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, b) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, to_bytes(data));
                let len = b.len() as u64;
                $run(py, async move { Ok(reg.append_upload(&r, &upload_id.0, offset.map(|o| o.0), one_chunk(b), Some(len)).await?) })
            }

            fn upload_status<'py>(&self, py: Python<'py>, repository: Arg<String>, upload_id: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move { Ok(reg.upload_status(&r, &upload_id.0).await?.size) })
            }

            #[pyo3(signature = (repository, upload_id, digest, data=None, offset=None))]
            fn finish_upload<'py>(&self, py: Python<'py>, repository: Arg<String>, upload_id: Arg<String>, digest: Arg<String>, data: Option<Data>, offset: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                let body = data.map(to_bytes);
                let len = body.as_ref().map(|b| b.len() as u64);
                $run(py, async move { Ok(reg.finish_upload(&r, &upload_id.0, &d, offset.map(|o| o.0), body.map(one_chunk), len).await?) })
            }

            fn cancel_upload<'py>(&self, py: Python<'py>, repository: Arg<String>, upload_id: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move { Ok(reg.cancel_upload(&r, &upload_id.0).await?) })
            }

            fn purge_uploads<'py>(&self, py: Python<'py>, older_than_seconds: Arg<f64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let ms = (older_than_seconds.0 * 1000.0) as i64;
                $run(py, async move { Ok(reg.purge_uploads(ms).await?) })
            }

            #[pyo3(signature = (repository, reference, manifest, media_type=None, tags=None))]
            fn put_manifest<'py>(&self, py: Python<'py>, repository: Arg<String>, reference: Arg<String>, manifest: Data, media_type: Option<Arg<String>>, tags: Option<Arg<Vec<String>>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, rf) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_ref(py, &reference.0)?);
                let body = to_bytes(manifest);
                $run(py, async move {
                    Ok(PushedManifest::from(reg.put_manifest(&r, &rf, media_type.as_ref().map(|m| m.0.as_str()), body, &tags.map(|t| t.0).unwrap_or_default()).await?))
                })
            }

            fn get_manifest<'py>(&self, py: Python<'py>, repository: Arg<String>, reference: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, rf) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_ref(py, &reference.0)?);
                $run(py, async move {
                    let m = reg.get_manifest(&r, &rf).await?;
                    Ok(Manifest { digest: m.digest.clone(), media_type: m.media_type.clone(), body: m.content.clone() })
                })
            }

            fn delete_manifest<'py>(&self, py: Python<'py>, repository: Arg<String>, reference: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, rf) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_ref(py, &reference.0)?);
                $run(py, async move { Ok(reg.delete_manifest(&r, &rf).await?) })
            }

            #[pyo3(signature = (repository, digest, artifact_type=None))]
            fn referrers<'py>(&self, py: Python<'py>, repository: Arg<String>, digest: Arg<String>, artifact_type: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r, d) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?, parse_digest(py, &digest.0)?);
                $run(py, async move { Ok(JsonOut(reg.referrers(&r, &d, artifact_type.as_ref().map(|t| t.0.as_str())).await?.body)) })
            }

            #[pyo3(signature = (image, layers=None, config=None, *, config_media_type=None, layer_media_type=None, artifact_type=None, annotations=None))]
            #[allow(clippy::too_many_arguments)]
            fn push_image<'py>(
                &self,
                py: Python<'py>,
                image: Arg<String>,
                layers: Option<Arg<Vec<LayerArg>>>,
                config: Option<Arg<ConfigArg>>,
                config_media_type: Option<Arg<String>>,
                layer_media_type: Option<Arg<String>>,
                artifact_type: Option<Arg<String>>,
                annotations: Option<Arg<BTreeMap<String, String>>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                let new = new_image(
                    layers.map(|l| l.0).unwrap_or_default(),
                    config.map(|c| c.0),
                    config_media_type.map(|a| a.0),
                    layer_media_type.map(|a| a.0),
                    artifact_type.map(|a| a.0),
                    annotations.map(|a| a.0),
                );
                $run(py, async move { Ok(PushedImage::from(reg.push_image(&ir, new).await?)) })
            }

            fn pull_image<'py>(&self, py: Python<'py>, image: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { Ok(PulledImage::from(reg.pull_image(&ir).await?)) })
            }

            #[pyo3(signature = (path, repository, tag=None))]
            fn import_layout<'py>(&self, py: Python<'py>, path: Arg<PathBuf>, repository: Arg<String>, tag: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, r) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_repo(py, &repository.0)?);
                $run(py, async move {
                    let out = reg.import_layout(&path.0, &r, tag.as_ref().map(|t| t.0.as_str())).await?;
                    Ok(out.into_iter().map(PushedManifest::from).collect::<Vec<_>>())
                })
            }

            fn export_layout<'py>(&self, py: Python<'py>, image: Arg<String>, path: Arg<PathBuf>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { Ok(reg.export_layout(&ir, &path.0).await?.to_string()) })
            }

            // ---- identity and access (every call acts as `Principal::System`) ----------------

            /// Create the `admin` user and the public `library` project unless they exist.
            #[pyo3(signature = (admin_password=None))]
            fn bootstrap<'py>(&self, py: Python<'py>, admin_password: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.bootstrap(admin_password.as_ref().map(|a| a.0.as_str())).await?) })
            }

            #[pyo3(signature = (username, password, client=Arg("local".to_owned())), text_signature = "(self, username, password, client='local')")]
            fn login<'py>(&self, py: Python<'py>, username: Arg<String>, password: Arg<String>, client: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { who(&reg.login(&username.0, &password.0, &client.0).await?) })
            }

            #[pyo3(signature = (name, public=Arg(false), metadata=None, *, storage_limit=None), text_signature = "(self, name, public=False, metadata=None, *, storage_limit=None)")]
            fn create_project<'py>(&self, py: Python<'py>, name: Arg<String>, public: Arg<bool>, metadata: Option<Arg<BTreeMap<String, String>>>, storage_limit: Option<Arg<i64>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = ProjectReq { project_name: name.0, public: Some(public.0), metadata: metadata.map(|m| m.0), storage_limit: storage_limit.map(|l| l.0), ..ProjectReq::default() };
                $run(py, async move { json_out(&reg.create_project(&SYSTEM, req).await?) })
            }

            fn project<'py>(&self, py: Python<'py>, name: Arg<ProjectRef>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.project(&SYSTEM, &name.0.0, name.0.1).await?) })
            }

            #[pyo3(signature = (q=None, sort=None, page=None, page_size=None))]
            fn projects<'py>(&self, py: Python<'py>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.projects(&SYSTEM, &lq).await?) })
            }

            fn update_project<'py>(&self, py: Python<'py>, name: Arg<ProjectRef>, metadata: Arg<BTreeMap<String, String>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.update_project(&SYSTEM, &name.0.0, name.0.1, metadata.0).await?) })
            }

            fn delete_project<'py>(&self, py: Python<'py>, name: Arg<ProjectRef>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_project(&SYSTEM, &name.0.0, name.0.1).await?) })
            }

            #[pyo3(signature = (username, password, email=Arg(String::new()), realname=Arg(String::new()), comment=Arg(String::new())), text_signature = "(self, username, password, email='', realname='', comment='')")]
            fn create_user<'py>(&self, py: Python<'py>, username: Arg<String>, password: Arg<String>, email: Arg<String>, realname: Arg<String>, comment: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = UserCreate { username: username.0, password: password.0, email: email.0, realname: realname.0, comment: comment.0 };
                $run(py, async move { json_out(&reg.create_user(&SYSTEM, req).await?) })
            }

            fn user<'py>(&self, py: Python<'py>, user_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.user(&SYSTEM, user_id.0).await?) })
            }

            #[pyo3(signature = (q=None, sort=None, page=None, page_size=None))]
            fn users<'py>(&self, py: Python<'py>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.users(&SYSTEM, &lq).await?) })
            }

            fn set_sysadmin<'py>(&self, py: Python<'py>, user_id: Arg<i64>, flag: Arg<bool>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.set_sysadmin(&SYSTEM, user_id.0, flag.0).await?) })
            }

            fn change_password<'py>(&self, py: Python<'py>, user_id: Arg<i64>, password: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.change_password(&SYSTEM, user_id.0, None, &password.0).await?) })
            }

            fn delete_user<'py>(&self, py: Python<'py>, user_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_user(&SYSTEM, user_id.0).await?) })
            }

            #[pyo3(signature = (project, username=None, *, group=None, role=RoleArg::Name("developer".into())), text_signature = "(self, project, username=None, *, group=None, role='developer')")]
            fn add_member<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, username: Option<Arg<String>>, group: Option<Arg<GroupArg>>, role: RoleArg) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let member_user = username.map(|u| MemberUser { username: Some(u.0), user_id: None });
                let member_group = group.map(|g| g.0.into());
                $run(py, async move {
                    let req = MemberReq { role_id: role.id()?, member_user, member_group };
                    Ok(reg.add_member(&SYSTEM, &project.0.0, project.0.1, req).await?)
                })
            }

            #[pyo3(signature = (project, q=None, sort=None, page=None, page_size=None))]
            fn members<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.members(&SYSTEM, &project.0.0, project.0.1, &lq).await?) })
            }

            fn update_member<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, member_id: Arg<i64>, role: RoleArg) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.update_member(&SYSTEM, &project.0.0, project.0.1, member_id.0, role.id()?).await?) })
            }

            fn delete_member<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, member_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_member(&SYSTEM, &project.0.0, project.0.1, member_id.0).await?) })
            }

            #[pyo3(signature = (name, *, project=None, access=None, permissions=None, level=None, duration=Arg(-1), description=Arg(String::new()), secret=None, disable=Arg(false)), text_signature = "(self, name, *, project=None, access=None, permissions=None, level=None, duration=-1, description='', secret=None, disable=False)")]
            #[allow(clippy::too_many_arguments)]
            fn create_robot<'py>(
                &self,
                py: Python<'py>,
                name: Arg<String>,
                project: Option<Arg<String>>,
                access: Option<JsonArg<Vec<Access>>>,
                permissions: Option<JsonArg<Vec<RobotPermission>>>,
                level: Option<Arg<String>>,
                duration: Arg<i64>,
                description: Arg<String>,
                secret: Option<Arg<String>>,
                disable: Arg<bool>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = robot_req(name.0, project.map(|a| a.0), access.map(|a| a.0), permissions.map(|a| a.0), level.map(|a| a.0), duration.0, description.0, secret.map(|a| a.0), disable.0);
                $run(py, async move { json_out(&reg.create_robot(&SYSTEM, req?).await?) })
            }

            fn robot<'py>(&self, py: Python<'py>, robot_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.robot(&SYSTEM, robot_id.0).await?) })
            }

            #[pyo3(signature = (q=None, sort=None, page=None, page_size=None))]
            fn robots<'py>(&self, py: Python<'py>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.robots(&SYSTEM, &lq).await?) })
            }

            #[pyo3(signature = (robot_id, secret=None))]
            fn refresh_robot_secret<'py>(&self, py: Python<'py>, robot_id: Arg<i64>, secret: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.refresh_robot_secret(&SYSTEM, robot_id.0, secret.map(|s| s.0)).await?) })
            }

            fn delete_robot<'py>(&self, py: Python<'py>, robot_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_robot(&SYSTEM, robot_id.0).await?) })
            }

            // ---- governance (as `Principal::System`) -------------------------------------------

            /// Run garbage collection now; returns its report.
            #[pyo3(signature = (*, dry_run=Arg(false), delete_untagged=Arg(false), workers=Arg(1), grace_seconds=Arg(7200.0)), text_signature = "(self, *, dry_run=False, delete_untagged=False, workers=1, grace_seconds=7200.0)")]
            fn gc<'py>(&self, py: Python<'py>, dry_run: Arg<bool>, delete_untagged: Arg<bool>, workers: Arg<usize>, grace_seconds: Arg<f64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let opts = registry_core::gc::GcOptions { dry_run: dry_run.0, delete_untagged: delete_untagged.0, workers: workers.0, grace_ms: (grace_seconds.0 * 1000.0) as i64, ..Default::default() };
                $run(py, async move { json_out(&reg.collect_garbage(&opts, &|_, _| true).await?) })
            }

            /// Create a project's tag retention policy (Harbor's `RetentionPolicy` JSON, with
            /// `scope: {"level": "project", "ref": <project_id>}`); returns its id.
            fn create_retention<'py>(&self, py: Python<'py>, policy: JsonArg<registry_core::model::RetentionPolicy>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.create_retention(&SYSTEM, policy.0).await?) })
            }

            /// What a run of the retention policy would delete now, per repository (deletes nothing).
            fn retention_dry_run<'py>(&self, py: Python<'py>, policy_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.retention_preview(&SYSTEM, policy_id.0).await?) })
            }

            /// A project's storage quota: {"hard": {"storage": …}, "used": {"storage": …}, …}.
            fn quota<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.quota_of_project(&SYSTEM, &project.0.0, project.0.1).await?) })
            }

            /// Set a project's storage limit in bytes (-1: unlimited).
            fn set_storage_limit<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, limit: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.set_project_storage_limit(&SYSTEM, &project.0.0, project.0.1, limit.0).await?) })
            }

            /// Run queued jobs (GC runs, webhook deliveries, …) until none is due; returns how many ran.
            fn run_jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.run_jobs_until_idle().await? as u64) })
            }

            fn read_only<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.is_read_only().await?) })
            }

            /// Turn read-only mode on or off: pulls keep working, every change is refused.
            fn set_read_only<'py>(&self, py: Python<'py>, flag: Arg<bool>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.set_read_only(&SYSTEM, flag.0).await?) })
            }

            /// The audit log (Harbor's `auditlog-exts` entries), newest first by default. Pulls are
            /// recorded in batches, at most a second late.
            #[pyo3(signature = (q=None, sort=None, page=None, page_size=None))]
            fn audit_logs<'py>(&self, py: Python<'py>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.audit_log_exts(&SYSTEM, &lq).await?) })
            }

            // ---- management views of content -------------------------------------------------

            #[pyo3(signature = (project=None, q=None, sort=None, page=None, page_size=None))]
            fn repositories<'py>(&self, py: Python<'py>, project: Option<Arg<String>>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.repositories(&SYSTEM, project.as_ref().map(|p| p.0.as_str()), &lq).await?) })
            }

            fn delete_repository<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_repository(&SYSTEM, &project.0, &repository.0).await?) })
            }

            #[pyo3(signature = (project, repository, q=None, sort=None, page=None, page_size=None))]
            #[allow(clippy::too_many_arguments)]
            fn artifacts<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.artifacts(&SYSTEM, &project.0, &repository.0, &lq).await?) })
            }

            fn artifact<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.artifact(&SYSTEM, &project.0, &repository.0, &reference.0).await?) })
            }

            #[pyo3(signature = (project, repository, reference, q=None, sort=None, page=None, page_size=None))]
            #[allow(clippy::too_many_arguments)]
            fn accessories<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                $run(py, async move { page_out(reg.accessories(&SYSTEM, &project.0, &repository.0, &reference.0, &lq).await?) })
            }

            fn sbom<'py>(&self, py: Python<'py>, image: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { json_out(&reg.generate_sbom(&SYSTEM, &ir).await?) })
            }

            fn scan<'py>(&self, py: Python<'py>, image: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { json_out(&reg.scan(&SYSTEM, &ir).await?) })
            }

            fn vulnerabilities<'py>(&self, py: Python<'py>, image: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { json_out(&reg.vulnerabilities(&SYSTEM, &ir).await?.remove(registry_core::scan::report::VULN_REPORT)) })
            }

            fn import_vulndb<'py>(&self, py: Python<'py>, path: Arg<std::path::PathBuf>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.import_vulndb(&path.0).await?) })
            }

            #[pyo3(signature = (name, url, r#type=Arg("docker-registry".to_owned()), *, access_key=None, access_secret=None, insecure=Arg(false)), text_signature = "(self, name, url, type='docker-registry', *, access_key=None, access_secret=None, insecure=False)")]
            #[allow(clippy::too_many_arguments)]
            fn create_registry<'py>(&self, py: Python<'py>, name: Arg<String>, url: Arg<String>, r#type: Arg<String>, access_key: Option<Arg<String>>, access_secret: Option<Arg<String>>, insecure: Arg<bool>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let credential = registry_core::replication::RegistryCredential { kind: "basic".into(), access_key: access_key.map(|a| a.0).unwrap_or_default(), access_secret: access_secret.map(|a| a.0).unwrap_or_default() };
                let req = registry_core::replication::RegistryReq { name: name.0, url: url.0, kind: r#type.0, credential: Some(credential), insecure: insecure.0, ..Default::default() };
                $run(py, async move { json_out(&reg.create_registry_endpoint(&SYSTEM, req).await?) })
            }

            #[pyo3(signature = (name, registry_id, public=Arg(false)), text_signature = "(self, name, registry_id, public=False)")]
            fn create_proxy_project<'py>(&self, py: Python<'py>, name: Arg<String>, registry_id: Arg<i64>, public: Arg<bool>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = ProjectReq { project_name: name.0, public: Some(public.0), registry_id: Some(registry_id.0), ..ProjectReq::default() };
                $run(py, async move { json_out(&reg.create_project(&SYSTEM, req).await?) })
            }

            fn create_replication_policy<'py>(&self, py: Python<'py>, policy: JsonArg<registry_core::replication::ReplicationPolicyReq>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.create_replication_policy(&SYSTEM, policy.0).await?) })
            }

            fn start_replication<'py>(&self, py: Python<'py>, policy_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.start_replication(&SYSTEM, policy_id.0).await?) })
            }

            fn replication_execution<'py>(&self, py: Python<'py>, execution_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.replication_execution(&SYSTEM, execution_id.0).await?) })
            }

            #[pyo3(signature = (remote, local, *, push=Arg(false), tags=None, username=None, password=None, insecure=Arg(false), r#type=None), text_signature = "(self, remote, local, *, push=False, tags=None, username=None, password=None, insecure=False, type=None)")]
            #[allow(clippy::too_many_arguments)]
            fn replicate<'py>(&self, py: Python<'py>, remote: Arg<String>, local: Arg<String>, push: Arg<bool>, tags: Option<Arg<Vec<String>>>, username: Option<Arg<String>>, password: Option<Arg<String>>, insecure: Arg<bool>, r#type: Option<Arg<String>>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = registry_core::replication::execution::CopyRequest { remote: remote.0, local: local.0, push: push.0, tags: tags.map(|t| t.0), kind: r#type.map(|t| t.0), username: username.map(|u| u.0), password: password.map(|p| p.0), insecure: insecure.0 };
                $run(py, async move { json_out(&reg.replicate(&SYSTEM, req).await?) })
            }

            fn sign<'py>(&self, py: Python<'py>, image: Arg<String>, private_key_pem: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, ir) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, parse_image(py, &image.0)?);
                $run(py, async move { Ok(reg.sign(&ir.repo, &ir.reference, &private_key_pem.0).await?.to_string()) })
            }

            fn trust_keys<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { json_out(&reg.trust_keys(&SYSTEM, &project.0.0, project.0.1).await?) })
            }

            fn add_trust_key<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, name: Arg<String>, pem: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let req = registry_core::policy::trust::TrustKeyReq { name: name.0, pem: pem.0 };
                $run(py, async move { json_out(&reg.add_trust_key(&SYSTEM, &project.0.0, project.0.1, req).await?) })
            }

            fn delete_trust_key<'py>(&self, py: Python<'py>, project: Arg<ProjectRef>, key_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_trust_key(&SYSTEM, &project.0.0, project.0.1, key_id.0).await?) })
            }

            fn create_tag<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>, tag: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.create_tag(&SYSTEM, &project.0, &repository.0, &reference.0, &tag.0).await?) })
            }

            fn delete_tag<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>, tag: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_tag(&SYSTEM, &project.0, &repository.0, &reference.0, &tag.0).await?) })
            }

            #[pyo3(signature = (name, *, project_id=None, description=Arg(String::new()), color=Arg(String::new())), text_signature = "(self, name, *, project_id=None, description='', color='')")]
            fn create_label<'py>(&self, py: Python<'py>, name: Arg<String>, project_id: Option<Arg<i64>>, description: Arg<String>, color: Arg<String>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                let label = new_label(name.0, project_id.map(|a| a.0), description.0, color.0);
                $run(py, async move { json_out(&reg.create_label(&SYSTEM, label?).await?) })
            }

            #[pyo3(signature = (project_id=None, q=None, sort=None, page=None, page_size=None))]
            fn labels<'py>(&self, py: Python<'py>, project_id: Option<Arg<i64>>, q: Option<Arg<String>>, sort: Option<Arg<String>>, page: Option<Arg<u64>>, page_size: Option<Arg<u64>>) -> PyResult<Bound<'py, PyAny>> {
                let (reg, lq) = (self.h.registry().map_err(|e| e.into_pyerr(py))?, list_query(q, sort, page, page_size));
                let (scope, pid) = match project_id { Some(id) => ("p", id.0), None => ("g", 0) };
                $run(py, async move { page_out(reg.labels(&SYSTEM, scope, pid, &lq).await?) })
            }

            fn delete_label<'py>(&self, py: Python<'py>, label_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.delete_label(&SYSTEM, label_id.0).await?) })
            }

            fn attach_label<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>, label_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.attach_label(&SYSTEM, &project.0, &repository.0, &reference.0, label_id.0).await?) })
            }

            fn detach_label<'py>(&self, py: Python<'py>, project: Arg<String>, repository: Arg<String>, reference: Arg<String>, label_id: Arg<i64>) -> PyResult<Bound<'py, PyAny>> {
                let reg = self.h.registry().map_err(|e| e.into_pyerr(py))?;
                $run(py, async move { Ok(reg.detach_label(&SYSTEM, &project.0, &repository.0, &reference.0, label_id.0).await?) })
            }
        }
    };
}

fn one_chunk(b: bytes::Bytes) -> registry_core::blob::ByteStream {
    use futures::StreamExt;
    futures::stream::once(async move { Ok(b) }).boxed()
}

engine_methods!(Registry, run, {
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!(
            "<berth.Registry{}>",
            if self.h.is_closed() { " closed" } else { "" }
        )
    }
});

engine_methods!(AsyncRegistry, awaitable, {
    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.into_any().unbind();
        awaitable(py, async move { Ok(me) })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, pyo3::types::PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let h = self.h.clone();
        awaitable(py, async move {
            h.close().await?;
            Ok(false)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "<berth.aio.Registry{}>",
            if self.h.is_closed() { " closed" } else { "" }
        )
    }
});

#[pymethods]
impl Server {
    /// The administrator's user name, `"admin"`.
    #[getter]
    fn admin_username(&self) -> &'static str {
        ADMIN_USERNAME
    }

    /// `(admin_username, admin_password)` for HTTP clients, or None when the password is unknown.
    #[getter]
    fn credentials(&self) -> Option<(&'static str, String)> {
        self.admin_password.clone().map(|p| (ADMIN_USERNAME, p))
    }

    /// Stop serving and close the registry (same as `close()`).
    fn stop(slf: PyRef<'_, Self>, py: Python<'_>) -> PyResult<()> {
        slf.as_super().close(py).map(drop)
    }

    fn __repr__(&self) -> String {
        format!(
            "<berth.Server {}{}>",
            self.url,
            if self.h.is_closed() { " stopped" } else { "" }
        )
    }
}

#[pymethods]
impl AsyncServer {
    /// The administrator's user name, `"admin"`.
    #[getter]
    fn admin_username(&self) -> &'static str {
        ADMIN_USERNAME
    }

    /// `(admin_username, admin_password)` for HTTP clients, or None when the password is unknown.
    #[getter]
    fn credentials(&self) -> Option<(&'static str, String)> {
        self.admin_password.clone().map(|p| (ADMIN_USERNAME, p))
    }

    /// Stop serving and close the registry (same as `close()`).
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let h = self.h.clone();
        awaitable(py, async move { h.close().await })
    }

    fn __repr__(&self) -> String {
        format!(
            "<berth.aio.Server {}{}>",
            self.url,
            if self.h.is_closed() { " stopped" } else { "" }
        )
    }
}

// ---- opening -------------------------------------------------------------------------------------

/// Open a registry: `memory://` (the default), a data directory, or `metadata` + `storage` URIs.
#[pyfunction]
#[pyo3(signature = (uri=None, *, metadata=None, storage=None))]
pub fn open<'py>(
    py: Python<'py>,
    uri: Option<Arg<String>>,
    metadata: Option<Arg<String>>,
    storage: Option<Arg<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    run(py, async move {
        Ok(NewObject::Registry(Handle::new(
            open_registry(
                uri.map(|a| a.0),
                metadata.map(|a| a.0),
                storage.map(|a| a.0),
            )
            .await?,
            None,
        )))
    })
}

/// Serve a registry over HTTP in this process (a throw-away data dir unless told otherwise),
/// after `bootstrap(admin_password)`.
#[pyfunction]
#[pyo3(signature = (uri=None, *, metadata=None, storage=None, addr="127.0.0.1:0", admin_password=None))]
pub fn serve<'py>(
    py: Python<'py>,
    uri: Option<Arg<String>>,
    metadata: Option<Arg<String>>,
    storage: Option<Arg<String>>,
    addr: &str,
    admin_password: Option<Arg<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let addr = parse_addr(py, addr)?;
    run(py, async move {
        let (h, bound, pw) = serve_registry(
            uri.map(|a| a.0),
            metadata.map(|a| a.0),
            storage.map(|a| a.0),
            addr,
            admin_password.map(|a| a.0),
        )
        .await?;
        Ok(NewObject::Server(h, bound, pw))
    })
}

/// `open` for asyncio: an awaitable of `berth.aio.Registry`.
#[pyfunction]
#[pyo3(signature = (uri=None, *, metadata=None, storage=None))]
pub fn open_async<'py>(
    py: Python<'py>,
    uri: Option<Arg<String>>,
    metadata: Option<Arg<String>>,
    storage: Option<Arg<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    awaitable(py, async move {
        Ok(NewObject::AsyncRegistry(Handle::new(
            open_registry(
                uri.map(|a| a.0),
                metadata.map(|a| a.0),
                storage.map(|a| a.0),
            )
            .await?,
            None,
        )))
    })
}

/// `serve` for asyncio: an awaitable of `berth.aio.Server`.
#[pyfunction]
#[pyo3(signature = (uri=None, *, metadata=None, storage=None, addr="127.0.0.1:0", admin_password=None))]
pub fn serve_async<'py>(
    py: Python<'py>,
    uri: Option<Arg<String>>,
    metadata: Option<Arg<String>>,
    storage: Option<Arg<String>>,
    addr: &str,
    admin_password: Option<Arg<String>>,
) -> PyResult<Bound<'py, PyAny>> {
    let addr = parse_addr(py, addr)?;
    awaitable(py, async move {
        let (h, bound, pw) = serve_registry(
            uri.map(|a| a.0),
            metadata.map(|a| a.0),
            storage.map(|a| a.0),
            addr,
            admin_password.map(|a| a.0),
        )
        .await?;
        Ok(NewObject::AsyncServer(h, bound, pw))
    })
}
