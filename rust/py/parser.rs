//! `Parser`: one native call per chunk, every complete message (or error) returned in order.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString};

use ami_fast_core::{Framer, Limits, MessageView, ProtocolError as CoreError, Sink};

use super::errors::protocol_error;
use super::message;
use super::names::NameCache;
use super::slots::set_list_item;
use super::strings::new_str;

#[pyclass(module = "ami_fast._native", name = "Parser")]
pub struct Parser {
    /// Boxed: the framer holds SIMD searchers aligned to 32 bytes, more than Python's
    /// allocator guarantees for the object itself.
    framer: Box<Framer>,
    names: NameCache,
    /// The items of the list being built (kept for its capacity).
    out: Vec<Py<PyAny>>,
}

/// Turns framer output into Python objects; the first Python error stops the building.
struct PySink<'py, 'a> {
    py: Python<'py>,
    names: &'a mut NameCache,
    out: &'a mut Vec<Py<PyAny>>,
    failed: Option<PyErr>,
}

impl Sink for PySink<'_, '_> {
    #[inline]
    fn message(&mut self, msg: MessageView<'_>) {
        if self.failed.is_none() {
            match message::build(self.py, &msg, self.names) {
                Ok(obj) => self.out.push(obj),
                Err(err) => self.failed = Some(err),
            }
        }
    }

    fn error(&mut self, err: CoreError) {
        if self.failed.is_none() {
            match protocol_error(self.py, &err) {
                Ok(obj) => self.out.push(obj),
                Err(err) => self.failed = Some(err),
            }
        }
    }
}

/// A limit argument: an `int` (not `bool`) of at least `least`; huge values are clamped.
fn limit(
    label: &str,
    value: Option<&Bound<'_, PyAny>>,
    default: usize,
    least: usize,
) -> PyResult<usize> {
    let Some(value) = value else {
        return Ok(default);
    };
    if !value.is_instance_of::<PyInt>() || value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{label} must be an int")));
    }
    if value.lt(least)? {
        return Err(PyValueError::new_err(format!(
            "{label} must be at least {least}"
        )));
    }
    Ok(value.extract::<usize>().unwrap_or(usize::MAX))
}

impl Parser {
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        f: impl FnOnce(&mut Framer, &mut PySink<'py, '_>),
    ) -> PyResult<Bound<'py, PyList>> {
        self.out.clear();
        let mut sink = PySink {
            py,
            names: &mut self.names,
            out: &mut self.out,
            failed: None,
        };
        f(&mut self.framer, &mut sink);
        if let Some(err) = sink.failed {
            self.out.clear();
            return Err(err);
        }
        let n = self.out.len();
        // SAFETY: a new list of exactly `n` slots, each set once from the drained items
        // (references moved into the list).
        unsafe {
            let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))?;
            for (i, item) in self.out.drain(..).enumerate() {
                set_list_item(list.as_ptr(), i, item.into_ptr());
            }
            Ok(list.cast_into_unchecked())
        }
    }
}

#[pymethods]
impl Parser {
    #[new]
    #[pyo3(signature = (*, max_message_bytes = None, max_fields = None, max_follows_bytes = None, strict = None))]
    fn new(
        max_message_bytes: Option<&Bound<'_, PyAny>>,
        max_fields: Option<&Bound<'_, PyAny>>,
        max_follows_bytes: Option<&Bound<'_, PyAny>>,
        strict: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let limits = Limits::new(
            limit("max_message_bytes", max_message_bytes, 1 << 20, 64)?,
            limit("max_fields", max_fields, 8192, 1)?,
            limit("max_follows_bytes", max_follows_bytes, 8 << 20, 64)?,
        );
        let strict = match strict {
            Some(value) => value.is_truthy()?,
            None => false,
        };
        Ok(Self {
            framer: Box::new(Framer::new(limits, strict)),
            names: NameCache::default(),
            out: Vec::new(),
        })
    }

    /// Every complete message (or `ProtocolError` in its place) in `data`, in order.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let Ok(data) = data.cast::<PyBytes>() else {
            let type_name = data.get_type().name()?;
            return Err(PyTypeError::new_err(format!(
                "feed() takes bytes, not {type_name}"
            )));
        };
        let bytes = data.as_bytes();
        self.run(py, |framer, sink| framer.feed(bytes, sink))
    }

    /// `[]`, or one error for an unfinished message; then the parser is reset.
    fn feed_eof<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let out = self.run(py, |framer, sink| framer.feed_eof(sink));
        self.names.clear();
        out
    }

    #[getter]
    fn version<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        self.framer.version().map(|v| new_str(py, v)).transpose()
    }

    #[getter]
    fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    fn reset(&mut self) {
        self.framer.reset();
        self.names.clear();
    }
}
