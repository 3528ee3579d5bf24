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

/// One open-addressing slot: the key's bytes next to its string, so a hit reads one place.
struct Slot {
    key: &'static [u8],
    string: Option<Py<PyString>>,
}

struct KeyTable {
    slots: Vec<Slot>,
}

static TABLE: PyOnceLock<KeyTable> = PyOnceLock::new();

/// A cheap hash from the length and three sampled bytes: known keys differ there, and
/// probing sorts out the rest. Much cheaper than hashing every byte of every key.
#[inline]
fn key_hash(bytes: &[u8]) -> usize {
    let n = bytes.len();
    if n == 0 {
        return 0;
    }
    let x = (n as u32)
        ^ (u32::from(bytes[0]) << 8)
        ^ (u32::from(bytes[n - 1]) << 16)
        ^ (u32::from(bytes[n / 2]) << 24)
        ^ (u32::from(bytes[(n * 3) / 4]) << 4);
    (x.wrapping_mul(0x9e37_79b1) >> 22) as usize
}

fn build(py: Python<'_>) -> KeyTable {
    let mut slots: Vec<Slot> = (0..SLOTS)
        .map(|_| Slot {
            key: b"",
            string: None,
        })
        .collect();
    for key in KNOWN_KEYS {
        let mut slot = key_hash(key.as_bytes()) % SLOTS;
        while slots[slot].string.is_some() {
            slot = (slot + 1) % SLOTS;
        }
        slots[slot] = Slot {
            key: key.as_bytes(),
            string: Some(PyString::intern(py, key).unbind()),
        };
    }
    KeyTable { slots }
}

/// Equality of two short slices of the same length without a `memcmp` call: word loads,
/// the last one overlapping.
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        let half =
            |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The shared string for a known key.
#[inline]
fn lookup<'py>(py: Python<'py>, bytes: &[u8]) -> Option<&'py Py<PyString>> {
    let table = TABLE.get_or_init(py, || build(py));
    let mut slot = key_hash(bytes) % SLOTS;
    loop {
        let entry = &table.slots[slot];
        let string = entry.string.as_ref()?;
        if entry.key.len() == bytes.len() && same_bytes(entry.key, bytes) {
            return Some(string);
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
