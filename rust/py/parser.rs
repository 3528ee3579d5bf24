//! `Parser`: one native call per chunk, every complete message (or error) returned in order.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use ami_fast_core::{Framer, Limits, MessageView, ProtocolError as CoreError, Sink};

use super::errors::protocol_error;
use super::message;
use super::names::NameCache;
use super::strings::new_str;

#[pyclass(module = "ami_fast._native", name = "Parser")]
pub struct Parser {
    framer: Framer,
    names: NameCache,
}

/// Turns framer output into Python objects; the first Python error stops the building.
struct PySink<'py, 'a> {
    py: Python<'py>,
    names: &'a mut NameCache,
    out: Vec<Py<PyAny>>,
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

impl Parser {
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        f: impl FnOnce(&mut Framer, &mut PySink<'py, '_>),
    ) -> PyResult<Bound<'py, PyList>> {
        let mut sink = PySink { py, names: &mut self.names, out: Vec::new(), failed: None };
        f(&mut self.framer, &mut sink);
        if let Some(err) = sink.failed {
            return Err(err);
        }
        PyList::new(py, sink.out)
    }
}

#[pymethods]
impl Parser {
    #[new]
    #[pyo3(signature = (*, max_message_bytes = 1 << 20, max_fields = 8192, max_follows_bytes = 8 << 20, strict = false))]
    fn new(max_message_bytes: usize, max_fields: usize, max_follows_bytes: usize, strict: bool) -> Self {
        let limits = Limits::new(max_message_bytes, max_fields, max_follows_bytes);
        Self { framer: Framer::new(limits, strict), names: NameCache::default() }
    }

    /// Every complete message (or `ProtocolError` in its place) in `data`, in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: &Bound<'py, PyBytes>) -> PyResult<Bound<'py, PyList>> {
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
