//! `(key, value)` tuples for `items()` and `get_fields()`, with a small process-wide cache
//! for short field lines, which repeat from message to message (`Privilege: call,all`,
//! `ChannelStateDesc: Up`, `Language: en`...): a hit is one shared tuple instead of a new
//! tuple and a new value `str` (and their later deallocation).
//!
//! Messages outlive the `feed()` that made them and may be read from any thread, so the
//! cache cannot belong to a parser without every message holding a reference to it. It is
//! locked once per bulk read, never per value, and only with `try_lock`: a contended or
//! re-entered cache is simply skipped, so it can never block or deadlock.

use std::sync::{Mutex, MutexGuard};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::keys::{key_str, same_bytes};
use super::slots::set_tuple_item;
use super::lines::Pos;
use super::strings::new_str;

const SLOTS: usize = 4096;
/// Longer lines hold mostly unique values (channel names, IDs): caching them would churn.
const MAX_LINE: usize = 40;

struct Slot {
    len: u8,
    bytes: [u8; MAX_LINE],
    pair: Option<Py<PyTuple>>,
}

pub struct PairCache {
    slots: Box<[Slot]>,
}

static CACHE: Mutex<Option<PairCache>> = Mutex::new(None);

/// A hash of 1..=32 bytes from the length and up to three (overlapping) words.
#[inline(always)]
fn hash(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let x = if n >= 16 {
        word(0) ^ word(n - 8).rotate_left(23) ^ word(n / 2 - 4).rotate_left(41)
    } else if n >= 8 {
        word(0) ^ word(n - 8).rotate_left(23)
    } else {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    ((x ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize % SLOTS
}

/// A new `(key, value)` tuple for the field at `pos`.
#[inline]
pub fn new_pair<'py>(py: Python<'py>, raw: &[u8], pos: Pos) -> PyResult<Bound<'py, PyTuple>> {
    let key = key_str(py, pos.key(raw))?;
    let value = new_str(py, pos.value(raw))?;
    // SAFETY: a fresh 2-tuple whose two slots are set right away (references stolen).
    unsafe {
        let tuple = Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(2))?;
        set_tuple_item(tuple.as_ptr(), 0, key.into_ptr());
        set_tuple_item(tuple.as_ptr(), 1, value.into_ptr());
        Ok(tuple.cast_into_unchecked())
    }
}

impl PairCache {
    /// The tuple for the field at `pos`: a shared one on a hit (the hot path, kept small
    /// so it inlines into the caller's loop), else a new one, cached when short.
    #[inline(always)]
    pub fn pair<'py>(&mut self, py: Python<'py>, raw: &[u8], pos: Pos) -> PyResult<Bound<'py, PyTuple>> {
        let line = pos.line(raw);
        let n = line.len();
        if n > MAX_LINE {
            return new_pair(py, raw, pos);
        }
        let at = hash(line);
        let slot = &self.slots[at];
        // An empty slot has length 0, and a field line is never empty (it holds a colon).
        if usize::from(slot.len) == n && same_bytes(&slot.bytes[..n], line) {
            if let Some(pair) = &slot.pair {
                return Ok(pair.bind(py).clone());
            }
        }
        self.miss(py, raw, pos, at)
    }

    #[inline(never)]
    fn miss<'py>(&mut self, py: Python<'py>, raw: &[u8], pos: Pos, at: usize) -> PyResult<Bound<'py, PyTuple>> {
        let line = pos.line(raw);
        let pair = new_pair(py, raw, pos)?;
        let slot = &mut self.slots[at];
        slot.len = line.len() as u8;
        slot.bytes[..line.len()].copy_from_slice(line);
        slot.pair = Some(pair.clone().unbind());
        Ok(pair)
    }
}

/// The cache while the guard lives; `None` when another reader holds it.
pub struct Lease(Option<MutexGuard<'static, Option<PairCache>>>);

impl Lease {
    #[inline]
    pub fn take() -> Self {
        let mut guard = CACHE.try_lock().ok();
        if let Some(cache) = guard.as_deref_mut() {
            if cache.is_none() {
                *cache = Some(PairCache {
                    slots: (0..SLOTS)
                        .map(|_| Slot {
                            len: 0,
                            bytes: [0; MAX_LINE],
                            pair: None,
                        })
                        .collect(),
                });
            }
        }
        Self(guard)
    }

    /// The cache, unless another reader holds it.
    #[inline]
    pub fn cache(&mut self) -> Option<&mut PairCache> {
        self.0.as_deref_mut()?.as_mut()
    }

    /// The `(key, value)` tuple of the field at `pos`: shared when cached.
    #[inline]
    pub fn pair<'py>(&mut self, py: Python<'py>, raw: &[u8], pos: Pos) -> PyResult<Bound<'py, PyTuple>> {
        match self.cache() {
            Some(cache) => cache.pair(py, raw, pos),
            None => new_pair(py, raw, pos),
        }
    }
}
