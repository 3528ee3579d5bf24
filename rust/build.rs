//! Exposes PyO3's interpreter cfgs (`Py_LIMITED_API`, `PyPy`, ...) to this crate, so the
//! fast paths that need the full C API can be compiled out for abi3 and other interpreters.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}
