//! Python bindings for Berth (`import berth`): `berth._native`, wrapped by the pure-Python
//! package in `python/berth` (errors, asyncio helpers, the pytest plugin, type stubs).
//!
//! Rules kept here: each engine method is conversions plus one `registry_core::Registry` call;
//! blocking calls release the GIL; the tokio runtime is this module's own and survives `fork()`;
//! core errors become `berth.errors` classes carrying `.code`.

mod convert;
mod registry;
mod runtime;

use pyo3::prelude::*;

/// The version of the Berth engine this module was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validate a repository name with the engine's grammar; raises `berth.InvalidError`
/// (`code == "NAME_INVALID"`) when invalid.
#[pyfunction]
fn check_repository_name(py: Python<'_>, name: convert::Arg<String>) -> PyResult<()> {
    convert::parse_repo(py, &name.0).map(drop)
}

/// A new ECDSA P-256 key pair for `Registry.sign`, as (private key PKCS#8 PEM, public key PEM).
#[pyfunction]
fn generate_signing_key(py: Python<'_>) -> PyResult<(String, String)> {
    registry_core::policy::trust::generate_signing_key()
        .map_err(|e| convert::Failure::Core(e).into_pyerr(py))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(check_repository_name, m)?)?;
    m.add_function(wrap_pyfunction!(generate_signing_key, m)?)?;
    m.add_function(wrap_pyfunction!(registry::open, m)?)?;
    m.add_function(wrap_pyfunction!(registry::serve, m)?)?;
    m.add_function(wrap_pyfunction!(registry::open_async, m)?)?;
    m.add_function(wrap_pyfunction!(registry::serve_async, m)?)?;
    m.add_class::<registry::Registry>()?;
    m.add_class::<registry::Server>()?;
    m.add_class::<registry::AsyncRegistry>()?;
    m.add_class::<registry::AsyncServer>()?;
    m.add_class::<registry::Manifest>()?;
    m.add_class::<registry::PushedManifest>()?;
    m.add_class::<registry::PushedImage>()?;
    m.add_class::<registry::PulledImage>()?;
    m.add_class::<registry::Layer>()?;
    let quiesce = wrap_pyfunction!(runtime::quiesce, m)?;
    m.py()
        .import("atexit")?
        .call_method1("register", (quiesce,))?;
    Ok(())
}
