//! Lazy, frozen message objects: each owns a copy of its own bytes (a `bytes` object, so
//! `raw` is free). The field table is parsed from those bytes on first use and kept;
//! `str` objects are created only when read.

use std::collections::HashMap;

use pyo3::exceptions::PyKeyError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyString, PyTuple, PyType};
use pyo3::{intern, IntoPyObjectExt};

use std::sync::OnceLock;

use ami_fast_core::message::FieldTable;
use ami_fast_core::{Field, Kind, MessageView, Span};

use super::keys::key_str;
use super::names::NameCache;
use super::strings::{new_str, str_bytes};
use super::values::Lease;

/// Base class of every parsed message (`kind` "action" and "unknown" use it directly).
#[pyclass(frozen, subclass, module = "ami_fast._native", name = "Message")]
pub struct Message {
    raw: Py<PyBytes>,
    name: Option<Py<PyString>>,
    /// `raw[..head]` are the field lines.
    head: u32,
    /// Legacy `Response: Follows` body.
    output: Option<Span>,
    kind: Kind,
    /// Parsed on first use (a consumer of `name` alone never pays for it).
    table: OnceLock<FieldTable>,
}

/// `Event: ...` messages.
#[pyclass(frozen, extends = Message, module = "ami_fast._native", name = "Event")]
pub struct Event;

/// `Response: ...` messages.
#[pyclass(frozen, extends = Message, module = "ami_fast._native", name = "Response")]
pub struct Response;

/// Builds the Python object for a framed message.
#[inline]
pub fn build(py: Python<'_>, view: &MessageView<'_>, names: &mut NameCache) -> PyResult<Py<PyAny>> {
    let name = match view.name() {
        Some(bytes) => Some(names.get(py, bytes)?),
        None => None,
    };
    let base = Message {
        raw: PyBytes::new(py, view.raw).unbind(),
        name,
        head: view.head as u32,
        output: view.output,
        kind: view.kind,
        table: OnceLock::new(),
    };
    Ok(match view.kind {
        Kind::Event => Py::new(py, PyClassInitializer::from(base).add_subclass(Event))?.into_any(),
        Kind::Response => {
            Py::new(py, PyClassInitializer::from(base).add_subclass(Response))?.into_any()
        }
        Kind::Action | Kind::Unknown => Py::new(py, base)?.into_any(),
    })
}

/// A lookup key as bytes; `None` when it is not a `str`.
fn key_arg<'a>(key: &'a Bound<'_, PyAny>) -> PyResult<Option<std::borrow::Cow<'a, [u8]>>> {
    match key.cast::<PyString>() {
        Ok(s) => str_bytes(s).map(Some),
        Err(_) => Ok(None),
    }
}

fn require_key<'a>(key: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    key.cast::<PyString>().map(str_bytes)?
}

impl Message {
    #[inline]
    fn raw_bytes<'a>(&'a self, py: Python<'a>) -> &'a [u8] {
        self.raw.bind(py).as_bytes()
    }

    /// The field table, parsed now if this is its first use.
    #[inline]
    fn table(&self, py: Python<'_>) -> &FieldTable {
        self.table
            .get_or_init(|| FieldTable::parse(self.raw_bytes(py), self.head as usize))
    }

    #[inline]
    fn fields(&self, py: Python<'_>) -> &[Field] {
        &self.table(py).fields
    }

    /// Fields whose key equals `key`, ASCII case-insensitively.
    fn matching<'a>(
        &'a self,
        py: Python<'a>,
        key: &'a [u8],
    ) -> impl Iterator<Item = &'a Field> + 'a {
        let raw = self.raw_bytes(py);
        self.fields(py)
            .iter()
            .filter(move |f| f.key(raw).eq_ignore_ascii_case(key))
    }

    fn first_value<'py>(
        &self,
        py: Python<'py>,
        key: &[u8],
    ) -> PyResult<Option<Bound<'py, PyString>>> {
        let raw = self.raw_bytes(py);
        match self.matching(py, key).next() {
            Some(f) => Ok(Some(new_str(py, f.value(raw))?)),
            None => Ok(None),
        }
    }

    fn values<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let list = PyList::empty(py);
        for f in self.matching(py, key) {
            list.append(new_str(py, f.value(raw))?)?;
        }
        Ok(list)
    }

    /// A list of `n` items made by `item(i)`, built with the raw list API (hot path).
    fn list_of<'py>(
        py: Python<'py>,
        n: usize,
        mut item: impl FnMut(usize) -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        // SAFETY: the list is filled slot by slot before it is returned; on error it is
        // dropped with its NULL slots, which list deallocation tolerates.
        unsafe {
            let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))?;
            for i in 0..n {
                let value = item(i)?;
                ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, value.into_ptr());
            }
            Ok(list.cast_into_unchecked())
        }
    }

    fn pair<'py>(
        py: Python<'py>,
        a: Bound<'py, PyString>,
        b: Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: a fresh 2-tuple whose two slots are set right away (references stolen).
        unsafe {
            let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(2))?;
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), 0, a.into_ptr());
            ffi::PyTuple_SET_ITEM(tuple.as_ptr(), 1, b.into_ptr());
            Ok(tuple)
        }
    }

    /// Field indices grouped by key (ASCII case-insensitive), groups in first-seen order.
    fn groups(&self, py: Python<'_>, raw: &[u8]) -> Vec<Vec<u32>> {
        let mut groups: Vec<Vec<u32>> = Vec::new();
        if self.fields(py).len() <= 24 {
            for (i, f) in self.fields(py).iter().enumerate() {
                let key = f.key(raw);
                match groups.iter_mut().find(|g| {
                    self.fields(py)[g[0] as usize]
                        .key(raw)
                        .eq_ignore_ascii_case(key)
                }) {
                    Some(g) => g.push(i as u32),
                    None => groups.push(vec![i as u32]),
                }
            }
        } else {
            let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
            for (i, f) in self.fields(py).iter().enumerate() {
                let folded = f.key(raw).to_ascii_lowercase();
                let g = *index.entry(folded).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i as u32);
            }
        }
        groups
    }

    fn class_name(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(slf.get_type().name()?.to_string())
    }
    /// Output for `Response.get_command_output()`.
    fn command_output<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        let raw = self.raw_bytes(py);
        if let Some(span) = self.output {
            return Ok(Some(new_str(py, span.slice(raw))?));
        }
        let mut lines = self.matching(py, b"Output").peekable();
        if lines.peek().is_none() {
            return Ok(None);
        }
        let mut joined = Vec::new();
        for (i, f) in lines.enumerate() {
            if i > 0 {
                joined.push(b'\n');
            }
            joined.extend_from_slice(f.value(raw));
        }
        Ok(Some(new_str(py, &joined)?))
    }
}

#[pymethods]
impl Message {
    /// `"event"`, `"response"`, `"action"` or `"unknown"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        match self.kind {
            Kind::Event => intern!(py, "event"),
            Kind::Response => intern!(py, "response"),
            Kind::Action => intern!(py, "action"),
            Kind::Unknown => intern!(py, "unknown"),
        }
    }

    #[getter]
    fn name<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.name.as_ref().map(|n| n.bind(py).clone())
    }

    #[getter(action_id)]
    fn action_id_attr<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        match self.table(py).action_id(self.raw_bytes(py)) {
            Some(id) => Ok(Some(new_str(py, id)?)),
            None => Ok(None),
        }
    }

    #[getter]
    fn raw<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.raw.bind(py).clone()
    }

    #[getter]
    fn extra_lines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let extra = &self.table(py).extra;
        Self::list_of(py, extra.len(), |i| {
            Ok(new_str(py, extra[i].slice(raw))?.into_any())
        })
    }

    fn get_action_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        self.action_id_attr(py)
    }

    fn get_field_value<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyString>>> {
        self.first_value(py, &require_key(key)?)
    }

    fn get_field_values<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.values(py, &require_key(key)?)
    }

    fn get_all<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.values(py, &require_key(key)?)
    }

    fn get_field_variables<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let key = require_key(key)?;
        let raw = self.raw_bytes(py);
        let dict = PyDict::new(py);
        for f in self.matching(py, &key) {
            let value = f.value(raw);
            let (name, var) = match memchr::memchr(b'=', value) {
                Some(eq) => (&value[..eq], &value[eq + 1..]),
                None => (value, &b""[..]),
            };
            dict.set_item(new_str(py, name)?, new_str(py, var)?)?;
        }
        Ok(dict)
    }

    fn get_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let raw = self.raw_bytes(py);
        let fields = self.fields(py);
        let dict = PyDict::new(py);
        let mut values = Lease::take();
        for group in self.groups(py, raw) {
            let first = fields[group[0] as usize];
            let key = key_str(py, first.key(raw))?;
            if group.len() == 1 {
                dict.set_item(key, values.value(py, first.value(raw))?)?;
            } else {
                let list = Self::list_of(py, group.len(), |i| {
                    Ok(values
                        .value(py, fields[group[i] as usize].value(raw))?
                        .into_any())
                })?;
                dict.set_item(key, list)?;
            }
        }
        Ok(dict)
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.get_fields(py)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let fields = self.fields(py);
        let mut values = Lease::take();
        Self::list_of(py, fields.len(), |i| {
            let f = fields[i];
            Self::pair(
                py,
                key_str(py, f.key(raw))?,
                values.value(py, f.value(raw))?,
            )
        })
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        Self::list_of(py, self.fields(py).len(), |i| {
            Ok(key_str(py, self.fields(py)[i].key(raw))?.into_any())
        })
    }

    #[pyo3(signature = (key, default=None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match self.first_value(py, &require_key(key)?)? {
            Some(value) => Ok(value.into_any()),
            None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
        }
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyString>> {
        let found = match key_arg(key)? {
            Some(bytes) => self.first_value(py, &bytes)?,
            None => None,
        };
        found.ok_or_else(|| PyKeyError::new_err(key.clone().unbind()))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Some(wanted) = key_arg(key)? else {
            return Ok(false);
        };
        let found = self.matching(py, &wanted).next().is_some();
        Ok(found)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.fields(py).len()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let this = slf.get();
        let mut text = format!("<{}", Self::class_name(slf)?);
        if let Some(name) = &this.name {
            text.push(' ');
            text.push_str(&name.bind(py).to_string_lossy());
        }
        if let Some(id) = this.action_id_attr(py)? {
            text.push_str(" ActionID=");
            text.push_str(&id.to_string_lossy());
        }
        text.push_str(&format!(" fields={}>", this.fields(py).len()));
        Ok(text)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        self.keys(py)?.try_iter()
    }

    fn __hash__(slf: &Bound<'_, Self>) -> PyResult<isize> {
        let py = slf.py();
        let name = slf.get_type().name()?;
        PyTuple::new(
            py,
            [name.into_any(), slf.get().raw.bind(py).clone().into_any()],
        )?
        .hash()
    }

    /// Equal to any message (native, pure twin or `Action`) of the same class name and bytes.
    fn __eq__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let same = if let Ok(other) = other.cast::<Message>() {
            slf.get().raw_bytes(py) == other.get().raw_bytes(py)
                && slf
                    .get_type()
                    .name()?
                    .as_any()
                    .eq(other.get_type().name()?)?
        } else if other.is_instance(abc_message(py)?)? {
            slf.get_type()
                .name()?
                .as_any()
                .eq(other.get_type().name()?)?
                && slf
                    .get()
                    .raw
                    .bind(py)
                    .as_any()
                    .eq(other.getattr(intern!(py, "raw"))?)?
        } else {
            return Ok(py.NotImplemented());
        };
        same.into_py_any(py)
    }

    fn __ne__(slf: &Bound<'_, Self>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let eq = Self::__eq__(slf, other)?;
        if eq.is(py.NotImplemented()) {
            return Ok(eq);
        }
        (!eq.extract::<bool>(py)?).into_py_any(py)
    }
}

/// `ami_fast.messages.Message`, the ABC every message implementation registers with.
fn abc_message(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    static ABC: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    ABC.import(py, "ami_fast.messages", "Message")
}

#[pymethods]
impl Event {
    fn get_name<'py>(slf: &Bound<'py, Self>) -> Option<Bound<'py, PyString>> {
        slf.as_super().get().name(slf.py())
    }
}

#[pymethods]
impl Response {
    fn get_command_output<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyString>>> {
        slf.as_super().get().command_output(slf.py())
    }

    #[getter(command_output)]
    fn command_output_attr<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyString>>> {
        slf.as_super().get().command_output(slf.py())
    }
}
