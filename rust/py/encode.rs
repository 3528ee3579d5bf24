//! `encode_action(name, fields) -> bytes`, refusing bad input with `InvalidActionError`
//! (type mistakes raise `TypeError`), with the pure twin's checks in the twin's order.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use ami_fast_core::{ActionEncoder, EncodeError};

use super::errors::InvalidActionError;
use super::strings::str_bytes;

/// `before + key + after` as a `str`: the caller's key may hold surrogate escapes.
fn with_key(py: Python<'_>, before: &str, key: &Bound<'_, PyString>, after: &str) -> PyErr {
    let joined = PyString::new(py, before)
        .add(key)
        .and_then(|s| s.add(PyString::new(py, after)));
    match joined {
        Ok(text) => InvalidActionError::new_err(text.unbind()),
        Err(err) => err,
    }
}

#[cold]
fn refuse(py: Python<'_>, err: EncodeError, key: Option<&Bound<'_, PyString>>) -> PyErr {
    const MARK: &str = "\u{0}KEY\u{0}";
    let text = err.text(MARK);
    match (text.split_once(MARK), key) {
        (Some((before, after)), Some(key)) => with_key(py, before, key, after),
        _ => InvalidActionError::new_err(text),
    }
}

/// `Action: <name>\r\n`, `<key>: <value>\r\n` per field, then `\r\n`.
#[pyfunction]
pub fn encode_action<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    fields: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let Ok(name) = name.cast::<PyString>() else {
        return Err(PyTypeError::new_err("action name must be str"));
    };
    if name.is_empty()? {
        return Err(InvalidActionError::new_err("action name is empty"));
    }
    let name_bytes = str_bytes(name)
        .map_err(|_| InvalidActionError::new_err("action name is not valid UTF-8 text"))?;
    let mut encoder = ActionEncoder::new(&name_bytes).map_err(|e| refuse(py, e, None))?;
    for (i, item) in fields.try_iter()?.enumerate() {
        let item = item?;
        let pair = match item.cast::<PyTuple>() {
            Ok(tuple) if tuple.len() == 2 => tuple,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "field #{i} must be a (key, value) tuple"
                )))
            }
        };
        let (key, value) = (pair.get_item(0)?, pair.get_item(1)?);
        let (Ok(key), Ok(value)) = (key.cast::<PyString>(), value.cast::<PyString>()) else {
            return Err(PyTypeError::new_err(format!(
                "field #{i} must be a (str, str) tuple"
            )));
        };
        if key.is_empty()? {
            return Err(InvalidActionError::new_err(format!(
                "field #{i} has an empty key"
            )));
        }
        let key_bytes = str_bytes(key).map_err(|_| {
            InvalidActionError::new_err(format!("key of field #{i} is not valid UTF-8 text"))
        })?;
        ActionEncoder::check_key(i, &key_bytes).map_err(|e| refuse(py, e, Some(key)))?;
        let value_bytes = str_bytes(value)
            .map_err(|_| with_key(py, "value of field '", key, "' is not valid UTF-8 text"))?;
        encoder
            .push_checked(i, &key_bytes, &value_bytes)
            .map_err(|e| refuse(py, e, Some(key)))?;
    }
    let out = encoder.finish().map_err(|e| refuse(py, e, None))?;
    Ok(PyBytes::new(py, &out))
}
