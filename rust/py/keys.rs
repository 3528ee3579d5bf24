//! Interned Python strings for the known AMI header names, made once per process.
//!
//! The table is immutable after its first use, so messages read it from any thread without
//! a lock. Unknown keys are created on access.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use ami_fast_core::keys::KNOWN_KEYS;

use super::strings::new_str;

const SLOTS: usize = 1024;

struct KeyTable {
    /// Open addressing: index into `KNOWN_KEYS`/`strings`, or `u16::MAX` when empty.
    slots: Box<[u16; SLOTS]>,
    strings: Vec<Py<PyString>>,
}

static TABLE: PyOnceLock<KeyTable> = PyOnceLock::new();

/// FNV-1a: short keys, no allocation, good enough spread for a 1024-slot table.
#[inline]
pub fn hash(bytes: &[u8]) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as usize
}

fn build(py: Python<'_>) -> KeyTable {
    let mut slots = Box::new([u16::MAX; SLOTS]);
    let mut strings = Vec::with_capacity(KNOWN_KEYS.len());
    for (i, key) in KNOWN_KEYS.iter().enumerate() {
        strings.push(PyString::intern(py, key).unbind());
        let mut slot = hash(key.as_bytes()) % SLOTS;
        while slots[slot] != u16::MAX {
            slot = (slot + 1) % SLOTS;
        }
        slots[slot] = i as u16;
    }
    KeyTable { slots, strings }
}

/// The shared string for a known key.
#[inline]
fn lookup<'py>(py: Python<'py>, bytes: &[u8]) -> Option<&'py Py<PyString>> {
    let table = TABLE.get_or_init(py, || build(py));
    let mut slot = hash(bytes) % SLOTS;
    loop {
        let index = table.slots[slot];
        if index == u16::MAX {
            return None;
        }
        if KNOWN_KEYS[index as usize].as_bytes() == bytes {
            return Some(&table.strings[index as usize]);
        }
        slot = (slot + 1) % SLOTS;
    }
}

/// A key as `str`: shared when known, new otherwise.
#[inline]
pub fn key_str<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
    match lookup(py, bytes) {
        Some(s) => Ok(s.bind(py).clone()),
        None => new_str(py, bytes),
    }
}
