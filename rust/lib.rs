//! `ami_fast._native`: PyO3 bindings over the PyO3-free core in `rust/core`.
//!
//! The module exposes exactly the API of `docs/parser-contract.md`: `Parser`,
//! `encode_action` and the message classes. Exceptions come from `ami_fast.errors`.

use pyo3::prelude::*;

mod py;

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<py::parser::Parser>()?;
    m.add_class::<py::message::Message>()?;
    m.add_class::<py::message::Event>()?;
    m.add_class::<py::message::Response>()?;
    m.add_function(wrap_pyfunction!(py::encode::encode_action, m)?)?;
    Ok(())
}
