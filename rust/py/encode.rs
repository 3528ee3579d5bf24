//! `encode_action(name, fields) -> bytes`, refusing bad input with `InvalidActionError`.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use ami_fast_core::encode_action as encode;
use ami_fast_core::EncodeError;

use super::errors::InvalidActionError;
use super::strings::str_bytes;

/// One `(key, value)` item: a 2-tuple fast path, any 2-item iterable otherwise.
fn pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyString>, Bound<'py, PyString>)> {
    if let Ok(tuple) = item.cast::<PyTuple>() {
        if tuple.len() == 2 {
            return Ok((tuple.get_item(0)?.cast_into()?, tuple.get_item(1)?.cast_into()?));
        }
    }
    let values: Vec<Bound<'py, PyAny>> = item.try_iter()?.collect::<PyResult<_>>()?;
    match <[Bound<'py, PyAny>; 2]>::try_from(values) {
        Ok([key, value]) => Ok((key.cast_into()?, value.cast_into()?)),
        Err(values) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "each field must be a (key, value) pair, got {} items",
            values.len()
        ))),
    }
}

#[cold]
fn refuse(py: Python<'_>, err: EncodeError, keys: &[Bound<'_, PyString>]) -> PyErr {
    const MARK: &str = "\u{0}KEY\u{0}";
    let text = err.text(MARK);
    // The key goes in as the caller's own `str` (it may hold surrogate escapes).
    let message = match (text.split_once(MARK), keys.get(err.field)) {
        (Some((before, after)), Some(key)) => {
            let joined = PyString::new(py, before)
                .add(key)
                .and_then(|s| s.add(PyString::new(py, after)));
            match joined {
                Ok(s) => s.into_any().unbind(),
                Err(e) => return e,
            }
        }
        _ => PyString::new(py, &text).into_any().unbind(),
    };
    InvalidActionError::new_err(message)
}

/// `Action: <name>\r\n`, `<key>: <value>\r\n` per field, then `\r\n`.
#[pyfunction]
pub fn encode_action<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyString>,
    fields: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for item in fields.try_iter()? {
        let (key, value) = pair(&item?)?;
        keys.push(key);
        values.push(value);
    }
    let name_bytes = str_bytes(name)?;
    let mut encoded: Vec<(Cow<'_, [u8]>, Cow<'_, [u8]>)> = Vec::with_capacity(keys.len());
    for (key, value) in keys.iter().zip(&values) {
        encoded.push((str_bytes(key)?, str_bytes(value)?));
    }
    let mut out = Vec::with_capacity(64 + encoded.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>());
    match encode(&name_bytes, encoded.iter().map(|(k, v)| (&k[..], &v[..])), &mut out) {
        Ok(()) => Ok(PyBytes::new(py, &out)),
        Err(err) => Err(refuse(py, err, &keys)),
    }
}
