//! Conversions between Python and core values, and core errors as `berth.errors` exceptions.

use bytes::Bytes;
use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{Error, ImageRef};

/// Why a binding call failed, before it becomes a Python exception (which needs the GIL).
pub enum Failure {
    Core(Error),
    /// The registry was closed, or was opened in another process (before a fork).
    Closed(String),
    /// A blocking call from a thread of the engine's own runtime (it would deadlock).
    Reentrant,
    Py(PyErr),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Self::Py(e)
    }
}

/// An instance of the `berth.errors` class for `code`, carrying `.code`.
fn berth_error(py: Python<'_>, factory: &str, code: &str, message: String) -> PyErr {
    let made = py
        .import("berth.errors")
        .and_then(|m| m.getattr(factory))
        .and_then(|f| f.call1((code, message.clone())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(_) => PyRuntimeError::new_err(format!("{code}: {message}")),
    }
}

impl Failure {
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Self::Core(e) => berth_error(py, "_from_code", e.code().as_str(), e.to_string()),
            Self::Closed(msg) => berth_error(py, "_from_code", "CLOSED", msg),
            Self::Reentrant => berth_error(
                py,
                "_from_code",
                "UNAVAILABLE",
                "a blocking berth call from inside the engine's runtime; use berth.aio instead"
                    .into(),
            ),
            Self::Py(e) => e,
        }
    }
}

pub fn core_err(py: Python<'_>, e: Error) -> PyErr {
    Failure::Core(e).into_pyerr(py)
}

/// An argument whose wrong Python type raises `berth.errors.InvalidTypeError` (a `TypeError`
/// with `.code == "BAD_REQUEST"`) rather than a bare `TypeError`; an out-of-range number raises
/// `berth.errors.InvalidError` (`BAD_REQUEST`).
pub struct Arg<T>(pub T);

impl<'a, 'py, T: FromPyObject<'a, 'py>> FromPyObject<'a, 'py> for Arg<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        T::extract(obj).map(Arg).map_err(|e| {
            let e: PyErr = e.into();
            let kind = e.get_type(py);
            if kind.is(py.get_type::<PyTypeError>()) {
                berth_error(py, "_type_error", "BAD_REQUEST", e.value(py).to_string())
            } else if kind.is(py.get_type::<PyOverflowError>())
                || kind.is(py.get_type::<PyValueError>())
            {
                berth_error(py, "_from_code", "BAD_REQUEST", e.value(py).to_string())
            } else {
                e
            }
        })
    }
}

/// Bytes from Python (`bytes` shared without a copy, `bytearray` copied).
pub type Data = Arg<PyBackedBytes>;

pub fn to_bytes(d: Data) -> Bytes {
    Bytes::from_owner(d.0)
}

pub fn parse_repo(py: Python<'_>, s: &str) -> PyResult<RepoName> {
    RepoName::parse(s).map_err(|e| core_err(py, e))
}

pub fn parse_digest(py: Python<'_>, s: &str) -> PyResult<Digest> {
    Digest::parse(s).map_err(|e| core_err(py, e))
}

pub fn parse_ref(py: Python<'_>, s: &str) -> PyResult<Reference> {
    Reference::parse(s).map_err(|e| core_err(py, e))
}

pub fn parse_image(py: Python<'_>, s: &str) -> PyResult<ImageRef> {
    ImageRef::parse(s).map_err(|e| core_err(py, e))
}

/// `bytes` out.
pub struct BytesOut(pub Bytes);

impl<'py> IntoPyObject<'py> for BytesOut {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = std::convert::Infallible;

    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Self::Error> {
        Ok(PyBytes::new(py, &self.0))
    }
}

/// A JSON document out, as Python values (`json.loads`).
pub struct JsonOut(pub Bytes);

impl<'py> IntoPyObject<'py> for JsonOut {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        py.import("json")?
            .call_method1("loads", (PyBytes::new(py, &self.0),))
    }
}

// ---- management (identity, catalog) -------------------------------------------------------------

/// A core view (`registry_core::model`) out, as the plain dict its JSON form is.
pub fn json_out<T: serde::Serialize>(v: &T) -> Result<JsonOut, Failure> {
    serde_json::to_vec(v)
        .map(|b| JsonOut(Bytes::from(b)))
        .map_err(|e| Failure::Core(Error::Internal(e.to_string().into())))
}

/// One page of a listing out: `{"items": [...], "total", "page", "page_size"}`.
pub fn page_out<T: serde::Serialize>(p: registry_core::Page<T>) -> Result<JsonOut, Failure> {
    json_out(
        &serde_json::json!({ "items": p.items, "total": p.total, "page": p.page, "page_size": p.page_size }),
    )
}

/// Harbor's listing arguments.
pub fn list_query(
    q: Option<Arg<String>>,
    sort: Option<Arg<String>>,
    page: Option<Arg<u64>>,
    page_size: Option<Arg<u64>>,
) -> registry_core::ListQuery {
    registry_core::ListQuery {
        q: q.map(|a| a.0),
        sort: sort.map(|a| a.0),
        page: page.map(|a| a.0),
        page_size: page_size.map(|a| a.0),
    }
}

/// A JSON-able Python value (dicts, lists, str, int, bool, None) read as a core request type:
/// `json.dumps`, then serde. A value that is not JSON-able raises `InvalidTypeError`; one of the
/// wrong shape raises `InvalidError`, both with code `BAD_REQUEST`.
pub struct JsonArg<T>(pub T);

impl<'a, 'py, T: serde::de::DeserializeOwned> FromPyObject<'a, 'py> for JsonArg<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let text: String = match py
            .import("json")?
            .call_method1("dumps", (obj,))
            .and_then(|t| t.extract())
        {
            Ok(t) => t,
            Err(e) => {
                return Err(berth_error(
                    py,
                    "_type_error",
                    "BAD_REQUEST",
                    e.value(py).to_string(),
                ));
            }
        };
        serde_json::from_str(&text)
            .map(JsonArg)
            .map_err(|e| berth_error(py, "_from_code", "BAD_REQUEST", e.to_string()))
    }
}

/// A project given by name (`str`) or by id (`int`): `(name or id, is_name)`.
pub struct ProjectRef(pub String, pub bool);

impl<'a, 'py> FromPyObject<'a, 'py> for ProjectRef {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<String>() {
            return Ok(Self(s, true));
        }
        match obj.extract::<i64>() {
            Ok(id) if !obj.is_instance_of::<pyo3::types::PyBool>() => {
                Ok(Self(id.to_string(), false))
            }
            _ => Err(berth_error(
                obj.py(),
                "_type_error",
                "BAD_REQUEST",
                "a project is its name (str) or id (int)".into(),
            )),
        }
    }
}

/// A project role by name (`"developer"`, `"projectAdmin"`, …) or Harbor id (1–5).
pub enum RoleArg {
    Name(String),
    Id(i64),
}

impl RoleArg {
    pub fn id(&self) -> Result<i64, Error> {
        use registry_core::auth::Role;
        match self {
            Self::Name(n) => Role::parse(n).map(Role::id),
            Self::Id(i) => Role::from_id(*i).map(Role::id),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for RoleArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<String>() {
            return Ok(Self::Name(s));
        }
        match obj.extract::<i64>() {
            Ok(id) if !obj.is_instance_of::<pyo3::types::PyBool>() => Ok(Self::Id(id)),
            _ => Err(berth_error(
                obj.py(),
                "_type_error",
                "BAD_REQUEST",
                "a role is its name (str) or id (int)".into(),
            )),
        }
    }
}

/// Who a principal is, as a dict: `{"kind", "name", "id", "sysadmin"}`.
pub fn who(p: &registry_core::Principal) -> Result<JsonOut, Failure> {
    use registry_core::Principal as P;
    let (kind, id) = match p {
        P::Anonymous => ("anonymous", None),
        P::User(u) => ("user", Some(u.id)),
        P::Robot(r) => ("robot", Some(r.id)),
        P::System => ("system", None),
    };
    json_out(
        &serde_json::json!({ "kind": kind, "name": p.name(), "id": id, "sysadmin": p.is_sysadmin() }),
    )
}
