//! Filling a fresh list or tuple slot by slot: the direct macros on version-specific builds,
//! the checked functions under the limited API (`abi3`). Both steal the item's reference.

use pyo3::ffi;

/// Sets slot `i` of a new list made with `PyList_New(n)`, `i < n`, never set before.
///
/// # Safety
/// `list` is a valid list with an empty slot `i`; `item` is an owned reference.
#[inline(always)]
pub unsafe fn set_list_item(list: *mut ffi::PyObject, i: usize, item: *mut ffi::PyObject) {
    #[cfg(not(Py_LIMITED_API))]
    unsafe {
        ffi::PyList_SET_ITEM(list, i as ffi::Py_ssize_t, item);
    }
    #[cfg(Py_LIMITED_API)]
    unsafe {
        // Cannot fail for an index in range.
        ffi::PyList_SetItem(list, i as ffi::Py_ssize_t, item);
    }
}

/// Sets slot `i` of a new tuple made with `PyTuple_New(n)`, `i < n`, never set before.
///
/// # Safety
/// `tuple` is a fresh tuple with an empty slot `i`; `item` is an owned reference.
#[inline(always)]
pub unsafe fn set_tuple_item(tuple: *mut ffi::PyObject, i: usize, item: *mut ffi::PyObject) {
    #[cfg(not(Py_LIMITED_API))]
    unsafe {
        ffi::PyTuple_SET_ITEM(tuple, i as ffi::Py_ssize_t, item);
    }
    #[cfg(Py_LIMITED_API)]
    unsafe {
        // Cannot fail for an index in range of a fresh tuple.
        ffi::PyTuple_SetItem(tuple, i as ffi::Py_ssize_t, item);
    }
}
