//! A small process-wide cache of short field values (`call,all`, `<unknown>`, `Up`, `en`,
//! context names...), which repeat from message to message: reading them gives a shared
//! `str` instead of allocating (and later freeing) a new one.
//!
//! Messages outlive the `feed()` that made them and may be read from any thread, so the
//! cache cannot belong to a parser. It is locked once per bulk read (`items()`,
//! `get_fields()`), never per value, and only with `try_lock`: a contended or re-entered
//! cache is simply skipped, so it can never block or deadlock.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::strings::new_str;

const SLOTS: usize = 1024;
/// Longer values are mostly unique (channel names, IDs): caching them would only churn.
const MAX_LEN: usize = 16;

#[derive(Default)]
struct Slot {
    len: u8,
    words: [u64; 2],
    string: Option<Py<PyString>>,
}

pub struct ValueCache {
    slots: Vec<Slot>,
}

static CACHE: Mutex<Option<ValueCache>> = Mutex::new(None);

/// With the length, the identity of a value of 1..=16 bytes, read without copying: two
/// (possibly overlapping) words from its start and its end.
#[inline]
fn words(bytes: &[u8]) -> [u64; 2] {
    let n = bytes.len();
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes(
            bytes[at..at + 4].try_into().unwrap_or([0; 4]),
        ))
    };
    if n >= 8 {
        [u64_at(0), u64_at(n - 8)]
    } else if n >= 4 {
        [u32_at(0), u32_at(n - 4)]
    } else {
        [
            u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8,
            u64::from(bytes[n - 1]),
        ]
    }
}

impl ValueCache {
    /// A shared string for a short value, or a new one.
    #[inline]
    pub fn get<'py>(&mut self, py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
        if bytes.is_empty() || bytes.len() > MAX_LEN {
            return new_str(py, bytes);
        }
        let w = words(bytes);
        let h =
            (w[0] ^ w[1].rotate_left(29) ^ bytes.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let slot = &mut self.slots[(h >> 53) as usize % SLOTS];
        if let Some(string) = &slot.string {
            if usize::from(slot.len) == bytes.len() && slot.words == w {
                return Ok(string.bind(py).clone());
            }
        }
        let string = new_str(py, bytes)?;
        *slot = Slot {
            len: bytes.len() as u8,
            words: w,
            string: Some(string.clone().unbind()),
        };
        Ok(string)
    }
}

/// The cache while the guard lives; `None` when another reader holds it.
pub struct Lease(Option<MutexGuard<'static, Option<ValueCache>>>);

impl Lease {
    pub fn take() -> Self {
        let mut guard = CACHE.try_lock().ok();
        if let Some(cache) = guard.as_deref_mut() {
            if cache.is_none() {
                *cache = Some(ValueCache {
                    slots: (0..SLOTS).map(|_| Slot::default()).collect(),
                });
            }
        }
        Self(guard)
    }

    #[inline]
    pub fn value<'py>(&mut self, py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyString>> {
        match self.0.as_deref_mut() {
            Some(Some(cache)) => cache.get(py, bytes),
            _ => new_str(py, bytes),
        }
    }
}
