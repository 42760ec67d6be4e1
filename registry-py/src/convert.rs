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
                "a blocking berth call from inside the engine's runtime; use berth.aio instead".into(),
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
            } else if kind.is(py.get_type::<PyOverflowError>()) || kind.is(py.get_type::<PyValueError>()) {
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
        py.import("json")?.call_method1("loads", (PyBytes::new(py, &self.0),))
    }
}
