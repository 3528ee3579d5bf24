//! A framed message: its own bytes plus the [`Line`] table the framer recorded while it
//! looked for the message's end (so nobody scans the bytes a second time).

use crate::classify::{is_action_id_key, Kind};
use crate::fields::value_start;
use crate::scan::scan_line;

/// A half-open byte range `[start, end)` inside one message's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[inline]
    #[must_use]
    pub fn new(start: usize, end: usize) -> Self {
        // Limits are clamped below u32::MAX, so message offsets always fit.
        Self {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline]
    #[must_use]
    pub fn slice(self, raw: &[u8]) -> &[u8] {
        &raw[self.start as usize..self.end as usize]
    }
}

/// One `Key: value` line: it starts at `start`, its first colon is at `colon` and its text
/// (line end removed) stops at `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Field {
    pub start: u32,
    pub colon: u32,
    pub end: u32,
}

impl Field {
    #[inline]
    #[must_use]
    pub fn key(self, raw: &[u8]) -> &[u8] {
        &raw[self.start as usize..self.colon as usize]
    }

    #[inline]
    #[must_use]
    pub fn value(self, raw: &[u8]) -> &[u8] {
        let end = self.end as usize;
        &raw[value_start(raw, self.colon as usize, end)..end]
    }

    /// The span of the value.
    #[inline]
    #[must_use]
    pub fn value_span(self, raw: &[u8]) -> Span {
        let end = self.end as usize;
        Span::new(value_start(raw, self.colon as usize, end), end)
    }
}

/// `Line::colon` of a line without a colon.
pub const NO_COLON: u32 = u32::MAX;

/// One non-empty line of a message's field lines, as the framer saw it: its LF is at `nl`
/// and its first colon at `colon` ([`NO_COLON`] when there is none). It starts just after
/// the previous line's LF (the first line at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    pub nl: u32,
    pub colon: u32,
}

impl Line {
    #[inline]
    #[must_use]
    pub fn new(nl: usize, colon: Option<usize>) -> Self {
        Self {
            nl: nl as u32,
            colon: colon.map_or(NO_COLON, |c| c as u32),
        }
    }
}

/// Every field and colon-less line of a message's field lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldTable {
    /// Fields in line order (for a legacy Follows message: its header lines only).
    pub fields: Vec<Field>,
    /// Colon-less lines in order (without line end).
    pub extra: Vec<Span>,
    /// Index in `fields` of the first `ActionID` field.
    pub action_id: Option<u32>,
}

impl FieldTable {
    /// Splits `raw[..head]`, a run of complete lines, into fields and colon-less lines.
    #[must_use]
    pub fn parse(raw: &[u8], head: usize) -> Self {
        let lines = &raw[..head];
        let mut table = Self {
            fields: Vec::with_capacity(24),
            ..Self::default()
        };
        let mut pos = 0;
        while let Some((nl, colon)) = scan_line(lines, pos) {
            let le = if nl > pos && lines[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            match colon {
                // `scan_line` only reports a colon before the LF, hence before `le`.
                Some(c) => {
                    let index = table.fields.len() as u32;
                    table.fields.push(Field {
                        start: pos as u32,
                        colon: c as u32,
                        end: le as u32,
                    });
                    if table.action_id.is_none() && is_action_id_key(&lines[pos..c]) {
                        table.action_id = Some(index);
                    }
                }
                None => table.extra.push(Span::new(pos, le)),
            }
            pos = nl + 1;
        }
        table
    }

    /// The same table from the framer's line records.
    #[must_use]
    pub fn from_lines(raw: &[u8], lines: &[Line]) -> Self {
        let mut table = Self {
            fields: Vec::with_capacity(lines.len()),
            ..Self::default()
        };
        let mut start = 0usize;
        for line in lines {
            let nl = line.nl as usize;
            let le = if nl > start && raw[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            if line.colon == NO_COLON {
                table.extra.push(Span::new(start, le));
            } else {
                let c = line.colon as usize;
                if table.action_id.is_none() && is_action_id_key(&raw[start..c]) {
                    table.action_id = Some(table.fields.len() as u32);
                }
                table.fields.push(Field {
                    start: start as u32,
                    colon: line.colon,
                    end: le as u32,
                });
            }
            start = nl + 1;
        }
        table
    }

    #[must_use]
    pub fn action_id<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        self.action_id.map(|i| self.fields[i as usize].value(raw))
    }
}

/// A complete message as the framer hands it over (borrowing the framer's input).
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    /// From the first byte of the first line through the terminating empty line's LF.
    pub raw: &'a [u8],
    /// Stream offset of `raw[0]`.
    pub offset: u64,
    pub kind: Kind,
    /// The first field's value, unless the kind is unknown.
    pub name: Option<Span>,
    /// `raw[..head]` are the field lines: for an ordinary message everything before the
    /// terminating empty line, for a legacy Follows message its header lines.
    pub head: usize,
    /// The lines of `raw[..head]`, in order.
    pub lines: &'a [Line],
    /// Legacy command output (body before the end marker, one trailing LF removed).
    pub output: Option<Span>,
}

impl<'a> MessageView<'a> {
    #[must_use]
    pub fn name(&self) -> Option<&'a [u8]> {
        self.name.map(|s| s.slice(self.raw))
    }

    /// The fields, from the recorded lines.
    #[must_use]
    pub fn table(&self) -> FieldTable {
        let table = FieldTable::from_lines(self.raw, self.lines);
        debug_assert_eq!(table, FieldTable::parse(self.raw, self.head));
        table
    }

    #[must_use]
    pub fn to_owned(&self) -> OwnedMessage {
        let table = self.table();
        OwnedMessage {
            raw: self.raw.to_vec(),
            offset: self.offset,
            kind: self.kind,
            name: self.name,
            head: self.head,
            fields: table.fields,
            extra: table.extra,
            action_id: table.action_id,
            output: self.output,
        }
    }
}

/// An owned copy of a [`MessageView`] with its fields parsed (for tests and Rust users).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedMessage {
    pub raw: Vec<u8>,
    pub offset: u64,
    pub kind: Kind,
    pub name: Option<Span>,
    pub head: usize,
    pub fields: Vec<Field>,
    pub extra: Vec<Span>,
    pub action_id: Option<u32>,
    pub output: Option<Span>,
}

impl OwnedMessage {
    #[must_use]
    pub fn name(&self) -> Option<&[u8]> {
        self.name.map(|s| s.slice(&self.raw))
    }

    #[must_use]
    pub fn action_id(&self) -> Option<&[u8]> {
        self.action_id
            .map(|i| self.fields[i as usize].value(&self.raw))
    }

    #[must_use]
    pub fn items(&self) -> Vec<(&[u8], &[u8])> {
        let raw = &self.raw[..];
        self.fields
            .iter()
            .map(|f| (f.key(raw), f.value(raw)))
            .collect()
    }

    #[must_use]
    pub fn extra_lines(&self) -> Vec<&[u8]> {
        self.extra.iter().map(|s| s.slice(&self.raw)).collect()
    }

    #[must_use]
    pub fn output(&self) -> Option<&[u8]> {
        self.output.map(|s| s.slice(&self.raw))
    }
}
