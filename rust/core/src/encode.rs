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
            EncodeErrorKind::NameControl => {
                "action name contains a CR, LF or NUL character".to_owned()
            }
            EncodeErrorKind::NameSyntax => "action name contains ':' or whitespace".to_owned(),
            EncodeErrorKind::KeyEmpty => format!("field #{i} has an empty key"),
            EncodeErrorKind::KeyControl => {
                format!("key of field #{i} contains a CR, LF or NUL character")
            }
            EncodeErrorKind::KeySyntax => format!("key of field #{i} contains ':' or whitespace"),
            EncodeErrorKind::ValueControl => {
                format!("value of field '{key}' contains a CR, LF or NUL character")
            }
            EncodeErrorKind::FieldLineTooLong(n) => {
                format!("line for field '{key}' is {n} bytes; Asterisk's limit is {MAX_LINE_BYTES} including CRLF")
            }
            EncodeErrorKind::ActionLineTooLong(n) => {
                format!(
                    "action line is {n} bytes; Asterisk's limit is {MAX_LINE_BYTES} including CRLF"
                )
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

/// Builds one action line by line, checking as it goes (the checks run in the contract's
/// order: the name, then each field in turn, then the line count).
#[derive(Debug)]
pub struct ActionEncoder {
    out: Vec<u8>,
    lines: usize,
}

impl ActionEncoder {
    /// Starts an action; checks the name and the Action line.
    pub fn new(name: &[u8]) -> Result<Self, EncodeError> {
        let fail = |kind| Err(EncodeError { kind, field: 0 });
        if name.is_empty() {
            return fail(EncodeErrorKind::NameEmpty);
        }
        if has_control(name) {
            return fail(EncodeErrorKind::NameControl);
        }
        if has_separator(name) {
            return fail(EncodeErrorKind::NameSyntax);
        }
        let line = b"Action: ".len() + name.len() + 2;
        if line > MAX_LINE_BYTES {
            return fail(EncodeErrorKind::ActionLineTooLong(line));
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"Action: ");
        out.extend_from_slice(name);
        out.extend_from_slice(b"\r\n");
        Ok(Self { out, lines: 1 })
    }

    /// Checks the key of field `index` (before its value is even looked at).
    pub fn check_key(index: usize, key: &[u8]) -> Result<(), EncodeError> {
        let kind = if key.is_empty() {
            EncodeErrorKind::KeyEmpty
        } else if has_control(key) {
            EncodeErrorKind::KeyControl
        } else if has_separator(key) {
            EncodeErrorKind::KeySyntax
        } else {
            return Ok(());
        };
        Err(EncodeError { kind, field: index })
    }

    /// Adds field `index` whose key passed [`Self::check_key`].
    pub fn push_checked(
        &mut self,
        index: usize,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), EncodeError> {
        if has_control(value) {
            return Err(EncodeError {
                kind: EncodeErrorKind::ValueControl,
                field: index,
            });
        }
        let line = key.len() + 2 + value.len() + 2;
        if line > MAX_LINE_BYTES {
            return Err(EncodeError {
                kind: EncodeErrorKind::FieldLineTooLong(line),
                field: index,
            });
        }
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
        self.lines += 1;
        Ok(())
    }

    /// Adds field `index`: key checks, then value checks.
    pub fn push(&mut self, index: usize, key: &[u8], value: &[u8]) -> Result<(), EncodeError> {
        Self::check_key(index, key)?;
        self.push_checked(index, key, value)
    }

    /// Checks the line count and returns the bytes, empty line included.
    pub fn finish(mut self) -> Result<Vec<u8>, EncodeError> {
        if self.lines > MAX_LINES {
            return Err(EncodeError {
                kind: EncodeErrorKind::TooManyLines(self.lines),
                field: 0,
            });
        }
        self.out.extend_from_slice(b"\r\n");
        Ok(self.out)
    }
}

/// Checks and encodes one action (see [`ActionEncoder`]).
pub fn encode_action<'a, I>(name: &[u8], fields: I) -> Result<Vec<u8>, EncodeError>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
{
    let mut encoder = ActionEncoder::new(name)?;
    for (i, (key, value)) in fields.into_iter().enumerate() {
        encoder.push(i, key, value)?;
    }
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(name: &str, fields: &[(&str, &str)]) -> Result<Vec<u8>, String> {
        encode_action(
            name.as_bytes(),
            fields.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
        )
        .map_err(|e| e.text(fields.get(e.field).map_or("", |f| f.0)))
    }

    #[test]
    fn encodes_crlf_lines_and_an_empty_line() {
        assert_eq!(encode("Ping", &[]).unwrap(), b"Action: Ping\r\n\r\n");
        assert_eq!(
            encode("Originate", &[("Channel", "Local/1@x"), ("Variable", "A=1"), ("Variable", ""), ("Data", " x ")])
                .unwrap(),
            b"Action: Originate\r\nChannel: Local/1@x\r\nVariable: A=1\r\nVariable: \r\nData:  x \r\n\r\n"
        );
    }

    #[test]
    fn refusals_in_order() {
        assert_eq!(encode("", &[("", "")]).unwrap_err(), "action name is empty");
        assert_eq!(
            encode("Pi\rng", &[]).unwrap_err(),
            "action name contains a CR, LF or NUL character"
        );
        assert_eq!(
            encode("Pi\0 ng", &[]).unwrap_err(),
            "action name contains a CR, LF or NUL character"
        );
        assert_eq!(
            encode("Ping ", &[]).unwrap_err(),
            "action name contains ':' or whitespace"
        );
        assert_eq!(
            encode("a:b", &[]).unwrap_err(),
            "action name contains ':' or whitespace"
        );
        assert_eq!(
            encode("a\tb", &[]).unwrap_err(),
            "action name contains ':' or whitespace"
        );
        assert_eq!(
            encode("P", &[("A", "1"), ("", "x")]).unwrap_err(),
            "field #1 has an empty key"
        );
        assert_eq!(
            encode("P", &[("A\n", "\n")]).unwrap_err(),
            "key of field #0 contains a CR, LF or NUL character"
        );
        assert_eq!(
            encode("P", &[("A B", "\n")]).unwrap_err(),
            "key of field #0 contains ':' or whitespace"
        );
        assert_eq!(
            encode("P", &[("Secret", "x\r\nAction: Bad")]).unwrap_err(),
            "value of field 'Secret' contains a CR, LF or NUL character"
        );
        // A later field's problem does not hide an earlier one.
        assert_eq!(
            encode("P", &[("K", "\0"), ("", "")]).unwrap_err(),
            "value of field 'K' contains a CR, LF or NUL character"
        );
    }

    #[test]
    fn line_limits() {
        let name = "A".repeat(1014);
        assert!(encode(&name, &[]).is_ok());
        let name = "A".repeat(1015);
        assert_eq!(
            encode(&name, &[]).unwrap_err(),
            "action line is 1025 bytes; Asterisk's limit is 1024 including CRLF"
        );
        let value = "v".repeat(1017);
        assert!(encode("P", &[("Key", &value)]).is_ok());
        let value = "v".repeat(1018);
        assert_eq!(
            encode("P", &[("Key", &value)]).unwrap_err(),
            "line for field 'Key' is 1025 bytes; Asterisk's limit is 1024 including CRLF"
        );
        let fields = vec![("K", "v"); 127];
        assert!(encode("P", &fields).is_ok());
        let fields = vec![("K", "v"); 128];
        assert_eq!(
            encode("P", &fields).unwrap_err(),
            "action has 129 lines; Asterisk's limit is 128"
        );
    }
}
