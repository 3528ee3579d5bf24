//! A framed message as spans into its own bytes.

use crate::classify::Kind;
use crate::fields::value_start;

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
        Self { start: start as u32, end: end as u32 }
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
}

/// A complete message as the framer hands it over: borrowed bytes plus span tables.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    /// From the first byte of the first line through the terminating empty line's LF.
    pub raw: &'a [u8],
    /// Stream offset of `raw[0]`.
    pub offset: u64,
    pub kind: Kind,
    /// Fields in line order (for a legacy Follows message: its header lines only).
    pub fields: &'a [Field],
    /// Colon-less lines in order (without line end).
    pub extra: &'a [Span],
    /// Index in `fields` of the first `ActionID` field.
    pub action_id: Option<u32>,
    /// Legacy command output (body before the end marker, one trailing LF removed).
    pub output: Option<Span>,
}

impl<'a> MessageView<'a> {
    /// The first field's value, unless the kind is unknown.
    #[must_use]
    pub fn name(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Unknown => None,
            _ => self.fields.first().map(|f| f.value(self.raw)),
        }
    }

    #[must_use]
    pub fn action_id(&self) -> Option<&'a [u8]> {
        self.action_id.map(|i| self.fields[i as usize].value(self.raw))
    }

    /// Every `(key, value)` in line order.
    pub fn items(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        let raw = self.raw;
        self.fields.iter().map(move |f| (f.key(raw), f.value(raw)))
    }

    #[must_use]
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage {
            raw: self.raw.to_vec(),
            offset: self.offset,
            kind: self.kind,
            fields: self.fields.to_vec(),
            extra: self.extra.to_vec(),
            action_id: self.action_id,
            output: self.output,
        }
    }
}

/// An owned copy of a [`MessageView`] (for tests and Rust users).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedMessage {
    pub raw: Vec<u8>,
    pub offset: u64,
    pub kind: Kind,
    pub fields: Vec<Field>,
    pub extra: Vec<Span>,
    pub action_id: Option<u32>,
    pub output: Option<Span>,
}

impl OwnedMessage {
    #[must_use]
    pub fn view(&self) -> MessageView<'_> {
        MessageView {
            raw: &self.raw,
            offset: self.offset,
            kind: self.kind,
            fields: &self.fields,
            extra: &self.extra,
            action_id: self.action_id,
            output: self.output,
        }
    }

    #[must_use]
    pub fn name(&self) -> Option<&[u8]> {
        self.view().name()
    }

    #[must_use]
    pub fn action_id(&self) -> Option<&[u8]> {
        self.view().action_id()
    }

    #[must_use]
    pub fn items(&self) -> Vec<(&[u8], &[u8])> {
        let raw = &self.raw[..];
        self.fields.iter().map(|f| (f.key(raw), f.value(raw))).collect()
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
