//! A small per-parser cache of message names (event names, response statuses), so
//! `msg.name` is a shared string. Direct-mapped and bounded: a collision just replaces the
//! slot. It belongs to one `Parser`, so it needs no lock.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::strings::new_str;

const SLOTS: usize = 512;
/// Longer names are not worth caching (and are not event names).
const MAX_LEN: usize = 64;

/// The name's bytes and its string.
type Slot = Option<(Box<[u8]>, Py<PyString>)>;

pub struct NameCache {
    slots: Vec<Slot>,
}

impl Default for NameCache {
    fn default() -> Self {
        Self {
            slots: (0..SLOTS).map(|_| None).collect(),
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

impl NameCache {
    #[inline]
    pub fn get(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyString>> {
        if bytes.len() > MAX_LEN {
            return Ok(new_str(py, bytes)?.unbind());
        }
        let slot = &mut self.slots[hash(bytes)];
        if let Some((key, value)) = slot {
            if **key == *bytes {
                return Ok(value.clone_ref(py));
            }
        }
        let value = new_str(py, bytes)?.unbind();
        *slot = Some((bytes.into(), value.clone_ref(py)));
        Ok(value)
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
    }
}
