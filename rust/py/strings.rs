//! `bytes` → `str` the way `bytes.decode("utf-8", "surrogateescape")` does it, with a fast
//! path for ASCII (the common case on AMI), and `str` → bytes the reverse way.

use std::borrow::Cow;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// A new `str` from undecoded bytes (UTF-8, surrogateescape).
#[inline]
pub fn new_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    #[cfg(not(any(Py_LIMITED_API, PyPy, GraalPy)))]
    if bytes.is_ascii() {
        // SAFETY: PyUnicode_New(n, 127) returns a compact ASCII string with room for n
        // bytes (plus the NUL it already wrote), which we fill before anyone sees it.
        unsafe {
            let ptr = ffi::PyUnicode_New(bytes.len() as ffi::Py_ssize_t, 127);
            if ptr.is_null() {
                return Err(PyErr::fetch(py));
            }
            if !bytes.is_empty() {
                let data = ffi::PyUnicode_DATA(ptr).cast::<u8>();
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), data, bytes.len());
            }
            return Ok(Bound::from_owned_ptr(py, ptr).cast_into_unchecked());
        }
    }
    decode_slow(py, bytes)
}

#[inline(never)]
fn decode_slow<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    // SAFETY: a valid pointer/length pair and a NUL-terminated error handler name.
    unsafe {
        let ptr = ffi::PyUnicode_DecodeUTF8(
            bytes.as_ptr().cast(),
            bytes.len() as ffi::Py_ssize_t,
            c"surrogateescape".as_ptr(),
        );
        Ok(Bound::from_owned_ptr_or_err(py, ptr)?.cast_into_unchecked())
    }
}

/// The bytes of a `str` as UTF-8 with surrogateescape (borrowed when it is plain UTF-8).
pub fn str_bytes<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, [u8]>> {
    match s.to_str() {
        Ok(text) => Ok(Cow::Borrowed(text.as_bytes())),
        Err(_) => {
            let encoded = s.call_method1("encode", ("utf-8", "surrogateescape"))?;
            let encoded = encoded.cast_into::<PyBytes>()?;
            Ok(Cow::Owned(encoded.as_bytes().to_vec()))
        }
    }
}
