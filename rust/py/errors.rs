//! The exception classes, imported from `ami_fast.errors` (never defined in Rust), and the
//! single mapping from core errors to Python instances.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3::PyTypeInfo;

use ami_fast_core::ProtocolError as CoreError;

use super::strings::new_str;

pyo3::import_exception!(ami_fast.errors, ProtocolError);
pyo3::import_exception!(ami_fast.errors, MessageTooLargeError);
pyo3::import_exception!(ami_fast.errors, InvalidActionError);

/// A `ProtocolError`/`MessageTooLargeError` instance for a core error (returned, not raised).
#[cold]
pub fn protocol_error(py: Python<'_>, err: &CoreError) -> PyResult<Py<PyAny>> {
    let class = if err.kind.is_too_large() {
        MessageTooLargeError::type_object(py)
    } else {
        ProtocolError::type_object(py)
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("offset", err.offset)?;
    kwargs.set_item("excerpt", PyBytes::new(py, &err.excerpt))?;
    match &err.action_id {
        Some(id) => kwargs.set_item("action_id", new_str(py, id)?)?,
        None => kwargs.set_item("action_id", py.None())?,
    }
    match &err.raw {
        Some(raw) => kwargs.set_item("raw", PyBytes::new(py, raw))?,
        None => kwargs.set_item("raw", py.None())?,
    }
    Ok(class.call((err.kind.to_string(),), Some(&kwargs))?.unbind())
}
