//! Splitting one line into key and value: first colon, at most one space removed.

use memchr::memchr;

/// The position of the first `:` in `line`, if any.
#[inline]
#[must_use]
pub fn find_colon(line: &[u8]) -> Option<usize> {
    memchr(b':', line)
}

/// The start of the value of a field whose colon is at `colon`, in a line ending at `end`:
/// exactly one leading space (0x20) is skipped, nothing else.
#[inline]
#[must_use]
pub fn value_start(bytes: &[u8], colon: usize, end: usize) -> usize {
    let start = colon + 1;
    if start < end && bytes[start] == b' ' {
        start + 1
    } else {
        start
    }
}

/// Splits a line (without its line end) into `(key, value)`; `None` when it has no colon.
#[must_use]
pub fn split_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = find_colon(line)?;
    Some((
        &line[..colon],
        &line[value_start(line, colon, line.len())..],
    ))
}

#[cfg(test)]
mod tests {
    use super::split_field;

    #[test]
    fn first_colon_one_space() {
        assert_eq!(
            split_field(b"Key: value"),
            Some((&b"Key"[..], &b"value"[..]))
        );
        assert_eq!(
            split_field(b"Key:value"),
            Some((&b"Key"[..], &b"value"[..]))
        );
        assert_eq!(split_field(b"Key:"), Some((&b"Key"[..], &b""[..])));
        assert_eq!(split_field(b"Key: "), Some((&b"Key"[..], &b""[..])));
        assert_eq!(split_field(b"Key:  two"), Some((&b"Key"[..], &b" two"[..])));
        assert_eq!(split_field(b"Key : v"), Some((&b"Key "[..], &b"v"[..])));
        assert_eq!(
            split_field(b"Output: a: b"),
            Some((&b"Output"[..], &b"a: b"[..]))
        );
        assert_eq!(split_field(b": v"), Some((&b""[..], &b"v"[..])));
        assert_eq!(split_field(b"Key:\tv "), Some((&b"Key"[..], &b"\tv "[..])));
        assert_eq!(split_field(b"no colon here"), None);
    }
}
