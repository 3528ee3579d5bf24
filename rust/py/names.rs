//! A small per-parser cache of message names (event names, response statuses), so
//! `msg.name` is a shared, interned string (`msg.name == "Hangup"` is then an identity check
//! when it matches). Direct-mapped and bounded: a collision just replaces the slot. It
//! belongs to one `Parser`, so it needs no lock.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::keys::same_bytes;
use super::strings::new_str;

const SLOTS: usize = 512;
/// Longer names are not cached (event names and response statuses are shorter).
const MAX_LEN: usize = 32;

/// A name's bytes, kept inline so a hit reads one place.
struct Slot {
    len: u8,
    bytes: [u8; MAX_LEN],
    string: Option<Py<PyString>>,
}

pub struct NameCache {
    slots: Box<[Slot]>,
}

impl Default for NameCache {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS)
                .map(|_| Slot {
                    len: 0,
                    bytes: [0; MAX_LEN],
                    string: None,
                })
                .collect(),
        }
    }
}

/// A cheap hash of a short name: its length and first and last (up to) eight bytes.
#[inline(always)]
fn hash(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let x = if n >= 8 {
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        word(0) ^ word(n - 8).rotate_left(29)
    } else {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    };
    ((x ^ n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % SLOTS
}

/// A new name string, interned when it is plain UTF-8.
#[cold]
fn new_name(py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyString>> {
    Ok(match std::str::from_utf8(bytes) {
        Ok(text) => PyString::intern(py, text).unbind(),
        Err(_) => new_str(py, bytes)?.unbind(),
    })
}

impl NameCache {
    #[inline]
    pub fn get(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyString>> {
        let n = bytes.len();
        if n > MAX_LEN {
            return Ok(new_str(py, bytes)?.unbind());
        }
        let slot = &mut self.slots[hash(bytes)];
        if usize::from(slot.len) == n && same_bytes(&slot.bytes[..n], bytes) {
            if let Some(string) = &slot.string {
                return Ok(string.clone_ref(py));
            }
        }
        let string = new_name(py, bytes)?;
        slot.len = n as u8;
        slot.bytes[..n].copy_from_slice(bytes);
        slot.string = Some(string.clone_ref(py));
        Ok(string)
    }

    pub fn clear(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.len = 0;
            slot.string = None;
        }
    }
}
