//! Lazy, frozen message objects: each owns a copy of its own bytes (a `bytes` object, so
//! `raw` is free) and the line table the framer recorded while framing it; `str` objects
//! are created only when read.

use pyo3::exceptions::PyKeyError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyIterator, PyList, PyString, PyTuple, PyType};
use pyo3::{intern, IntoPyObjectExt};

use ami_fast_core::classify::is_action_id_key;
use ami_fast_core::{Kind, MessageView, Span};

use super::keys::key_str;
use super::lines::{Lines, Pos};
use super::names::NameCache;
use super::pairs::{new_pair_ptr, Lease};
use super::slots::set_list_item;
use super::strings::{new_str, str_bytes};

/// Base class of every parsed message (`kind` "action" and "unknown" use it directly).
#[pyclass(frozen, subclass, module = "ami_fast._native", name = "Message")]
pub struct Message {
    /// Struct members (`get` on `Py` fields of a frozen class): Python reads them straight
    /// from the object, without calling into Rust.
    #[pyo3(get)]
    raw: Py<PyBytes>,
    /// A `str`, or `None` for kind "unknown".
    #[pyo3(get)]
    name: Py<PyAny>,
    lines: Lines,
    /// How many of the lines are fields.
    fields: u32,
    /// Legacy `Response: Follows` body.
    output: Option<Span>,
    kind: Kind,
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
        Some(bytes) => names.get(py, bytes)?.into_any(),
        None => py.None(),
    };
    let (lines, fields) = Lines::new(view.lines);
    let base = Message {
        raw: PyBytes::new(py, view.raw).unbind(),
        name,
        lines,
        fields: fields as u32,
        output: view.output,
        kind: view.kind,
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

    /// Every field, in order.
    #[inline]
    fn fields<'a>(&'a self, py: Python<'a>) -> impl Iterator<Item = Pos> + 'a {
        self.lines.fields(self.raw_bytes(py))
    }

    /// Fields whose key equals `key`, ASCII case-insensitively.
    fn matching<'a>(&'a self, py: Python<'a>, key: &'a [u8]) -> impl Iterator<Item = Pos> + 'a {
        let raw = self.raw_bytes(py);
        self.fields(py)
            .filter(move |f| f.key(raw).eq_ignore_ascii_case(key))
    }

    fn first_value<'py>(
        &self,
        py: Python<'py>,
        key: &[u8],
    ) -> PyResult<Option<Bound<'py, PyString>>> {
        let raw = self.raw_bytes(py);
        match self.first_field(raw, key) {
            Some(f) => Ok(Some(new_str(py, f.value(raw))?)),
            None => Ok(None),
        }
    }

    /// The first field whose key equals `key`, ASCII case-insensitively (the hot path of
    /// `msg[key]`, `get_field_value` and `in`).
    #[inline]
    fn first_field(&self, raw: &[u8], key: &[u8]) -> Option<Pos> {
        let found = self.lines.try_each_field(raw, |f| {
            // Lengths differ for most keys: compare them before any byte.
            if f.colon - f.start == key.len() && f.key(raw).eq_ignore_ascii_case(key) {
                return Err(f);
            }
            Ok(())
        });
        found.err()
    }

    fn values<'py>(&self, py: Python<'py>, key: &[u8]) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let list = PyList::empty(py);
        for f in self.matching(py, key) {
            list.append(new_str(py, f.value(raw))?)?;
        }
        Ok(list)
    }

    /// The value of the first `ActionID` field.
    fn action_id_bytes<'a>(&'a self, py: Python<'a>) -> Option<&'a [u8]> {
        let raw = self.raw_bytes(py);
        self.fields(py)
            .find(|f| is_action_id_key(f.key(raw)))
            .map(|f| f.value(raw))
    }

    /// A list with one item per field, made by `item` (the hot path of `items()`): a new
    /// reference, or null with the Python error set.
    #[inline(always)]
    fn list_of_fields<'py>(
        &self,
        py: Python<'py>,
        mut item: impl FnMut(Pos) -> *mut ffi::PyObject,
    ) -> PyResult<Bound<'py, PyList>> {
        let n = self.fields as usize;
        // SAFETY: a new list of exactly `n` slots (one per field); each slot is set once
        // (reference moved in). On error the list is dropped with its NULL slots, which
        // list deallocation tolerates.
        unsafe {
            let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))?;
            let mut i = 0;
            let filled = self.lines.try_each_field(
                self.raw_bytes(py),
                #[inline(always)]
                |f| {
                    debug_assert!(i < n);
                    let value = item(f);
                    if value.is_null() {
                        return Err(());
                    }
                    set_list_item(list.as_ptr(), i, value);
                    i += 1;
                    Ok(())
                },
            );
            if filled.is_err() {
                return Err(PyErr::fetch(py));
            }
            Ok(list.cast_into_unchecked())
        }
    }

    /// A list of `n` items made by `item(i)`, built with the raw list API (hot path).
    fn list_of<'py>(
        py: Python<'py>,
        n: usize,
        items: impl Iterator<Item = PyResult<Bound<'py, PyAny>>>,
    ) -> PyResult<Bound<'py, PyList>> {
        // SAFETY: the list is filled slot by slot before it is returned; on error it is
        // dropped with its NULL slots, which list deallocation tolerates. `items` yields
        // exactly `n` items (checked below in debug builds).
        unsafe {
            let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(n as ffi::Py_ssize_t))?;
            let mut i = 0;
            for item in items.take(n) {
                set_list_item(list.as_ptr(), i, item?.into_ptr());
                i += 1;
            }
            debug_assert_eq!(i, n);
            Ok(list.cast_into_unchecked())
        }
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

    #[getter(action_id)]
    fn action_id_attr<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        self.action_id_bytes(py)
            .map(|id| new_str(py, id))
            .transpose()
    }

    #[getter]
    fn extra_lines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let n = self.lines.len() - self.fields as usize;
        let extra = self.lines.iter(raw).filter(|p| !p.is_field());
        Self::list_of(
            py,
            n,
            extra.map(|p| Ok(new_str(py, p.line(raw))?.into_any())),
        )
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

    /// Grouped case-insensitively under the first spelling: `str` once, `list` repeated.
    fn get_fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let raw = self.raw_bytes(py);
        let fields: Vec<Pos> = self.fields(py).collect();
        // `group[i]`: the first field with field i's key; `count[g]`: the group's size.
        let mut group = vec![0u32; fields.len()];
        let mut count = vec![0u32; fields.len()];
        for (i, f) in fields.iter().enumerate() {
            let key = f.key(raw);
            let g = (0..i)
                .find(|&j| group[j] as usize == j && fields[j].key(raw).eq_ignore_ascii_case(key))
                .unwrap_or(i);
            group[i] = g as u32;
            count[g] += 1;
        }
        let dict = PyDict::new(py);
        let mut pairs = Lease::take();
        for (i, f) in fields.iter().enumerate() {
            if group[i] as usize != i {
                continue;
            }
            let pair = pairs.pair(py, raw, *f)?;
            if count[i] == 1 {
                dict.set_item(pair.get_borrowed_item(0)?, pair.get_borrowed_item(1)?)?;
                continue;
            }
            let members = fields
                .iter()
                .enumerate()
                .skip(i)
                .filter(|&(j, _)| group[j] as usize == i);
            let list = Self::list_of(
                py,
                count[i] as usize,
                members.map(|(_, m)| pairs.pair(py, raw, *m)?.get_item(1)),
            )?;
            dict.set_item(pair.get_borrowed_item(0)?, list)?;
        }
        Ok(dict)
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.get_fields(py)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        let mut lease = Lease::take();
        match lease.cache() {
            Some(cache) => self.list_of_fields(
                py,
                #[inline(always)]
                |f| cache.pair_ptr(py, raw, f),
            ),
            None => self.list_of_fields(py, |f| new_pair_ptr(py, raw, f)),
        }
    }

    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let raw = self.raw_bytes(py);
        self.list_of_fields(py, |f| match key_str(py, f.key(raw)) {
            Ok(key) => key.into_ptr(),
            Err(err) => {
                err.restore(py);
                std::ptr::null_mut()
            }
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
        Ok(self.first_field(self.raw_bytes(py), &wanted).is_some())
    }

    fn __len__(&self) -> usize {
        self.fields as usize
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let py = slf.py();
        let this = slf.get();
        let mut text = format!("<{}", Self::class_name(slf)?);
        if let Ok(name) = this.name.bind(py).cast::<PyString>() {
            text.push(' ');
            text.push_str(&name.to_string_lossy());
        }
        if let Some(id) = this.action_id_attr(py)? {
            text.push_str(" ActionID=");
            text.push_str(&id.to_string_lossy());
        }
        text.push_str(&format!(" fields={}>", this.fields));
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
    fn get_name<'py>(slf: &Bound<'py, Self>) -> Bound<'py, PyAny> {
        slf.as_super().get().name.bind(slf.py()).clone()
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
