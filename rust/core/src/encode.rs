//! Action encoding with the checks Asterisk's input limits call for.

use std::fmt;

/// One line, CRLF included, that Asterisk accepts (`inbuf[1025]` in manager.c).
pub const MAX_LINE_BYTES: usize = 1024;
/// Lines per action, the Action line included (`AST_MAX_MANHEADERS`).
pub const MAX_LINES: usize = 128;

/// Why an action was refused. `field` indexes the caller's field list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeErrorKind {
    NameEmpty,
    NameControl,
    NameSyntax,
    KeyEmpty,
    KeyControl,
    KeySyntax,
    ValueControl,
    /// A field line of this many bytes (CRLF included).
    FieldLineTooLong(usize),
    /// The Action line of this many bytes.
    ActionLineTooLong(usize),
    /// This many lines in all.
    TooManyLines(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeError {
    pub kind: EncodeErrorKind,
    /// The field concerned (0-based), for field errors.
    pub field: usize,
}

impl EncodeError {
    /// The error text; `key` is the field's key as the caller spelled it. Values never
    /// appear (they may be secrets).
    #[must_use]
    pub fn text(&self, key: &str) -> String {
        let i = self.field;
        match self.kind {
            EncodeErrorKind::NameEmpty => "action name is empty".to_owned(),
            EncodeErrorKind::NameControl => "action name contains a CR, LF or NUL character".to_owned(),
            EncodeErrorKind::NameSyntax => "action name contains ':' or whitespace".to_owned(),
            EncodeErrorKind::KeyEmpty => format!("field #{i} has an empty key"),
            EncodeErrorKind::KeyControl => format!("key of field #{i} contains a CR, LF or NUL character"),
            EncodeErrorKind::KeySyntax => format!("key of field #{i} contains ':' or whitespace"),
            EncodeErrorKind::ValueControl => {
                format!("value of field '{key}' contains a CR, LF or NUL character")
            }
            EncodeErrorKind::FieldLineTooLong(n) => {
                format!("line for field '{key}' is {n} bytes; Asterisk's limit is {MAX_LINE_BYTES} including CRLF")
            }
            EncodeErrorKind::ActionLineTooLong(n) => {
                format!("action line is {n} bytes; Asterisk's limit is {MAX_LINE_BYTES} including CRLF")
            }
            EncodeErrorKind::TooManyLines(n) => {
                format!("action has {n} lines; Asterisk's limit is {MAX_LINES}")
            }
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text("<key>"))
    }
}

impl std::error::Error for EncodeError {}

#[inline]
fn has_control(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

#[inline]
fn has_separator(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == b':' || b == b' ' || b == b'\t')
}

/// Checks and encodes one action into `out` (cleared first). On error `out` is left empty.
///
/// Checks run in this order: the name, then each field in turn (key, value, line length),
/// then the line count.
pub fn encode_action<'a, I>(name: &[u8], fields: I, out: &mut Vec<u8>) -> Result<(), EncodeError>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    out.clear();
    let fail = |kind, field| Err(EncodeError { kind, field });
    if name.is_empty() {
        return fail(EncodeErrorKind::NameEmpty, 0);
    }
    if has_control(name) {
        return fail(EncodeErrorKind::NameControl, 0);
    }
    if has_separator(name) {
        return fail(EncodeErrorKind::NameSyntax, 0);
    }
    let action_line = b"Action: ".len() + name.len() + 2;
    if action_line > MAX_LINE_BYTES {
        return fail(EncodeErrorKind::ActionLineTooLong(action_line), 0);
    }
    out.extend_from_slice(b"Action: ");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\r\n");
    let mut count = 0;
    for (i, (key, value)) in fields.into_iter().enumerate() {
        count = i + 1;
        let kind = if key.is_empty() {
            Some(EncodeErrorKind::KeyEmpty)
        } else if has_control(key) {
            Some(EncodeErrorKind::KeyControl)
        } else if has_separator(key) {
            Some(EncodeErrorKind::KeySyntax)
        } else if has_control(value) {
            Some(EncodeErrorKind::ValueControl)
        } else {
            let line = key.len() + 2 + value.len() + 2;
            (line > MAX_LINE_BYTES).then_some(EncodeErrorKind::FieldLineTooLong(line))
        };
        if let Some(kind) = kind {
            out.clear();
            return fail(kind, i);
        }
        out.extend_from_slice(key);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if count + 1 > MAX_LINES {
        out.clear();
        return fail(EncodeErrorKind::TooManyLines(count + 1), 0);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}
