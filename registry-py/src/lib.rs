//! Python bindings for Berth (`import berth`). This crate is the seed of the binding layer: the
//! full API over `registry_core::Registry` lands with the embedding-frontends work.

use pyo3::prelude::*;

/// The version of the Berth engine this module was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validate a repository name with the engine's grammar; raises ValueError when invalid.
#[pyfunction]
fn check_repository_name(name: &str) -> PyResult<()> {
    registry_core::oci::RepoName::parse(name)
        .map(|_| ())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("{}: {e}", e.code())))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(check_repository_name, m)?)?;
    Ok(())
}
