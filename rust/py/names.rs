//! A small per-parser cache of message names (event names, response statuses), so
//! `msg.name` is a shared string. Direct-mapped and bounded: a collision just replaces the
//! slot. It belongs to one `Parser`, so it needs no lock.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::keys::hash;
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

impl NameCache {
    #[inline]
    pub fn get(&mut self, py: Python<'_>, bytes: &[u8]) -> PyResult<Py<PyString>> {
        if bytes.len() > MAX_LEN {
            return Ok(new_str(py, bytes)?.unbind());
        }
        let slot = &mut self.slots[hash(bytes) % SLOTS];
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
