//! The incremental framer: bytes in, complete messages and per-message errors out.
//!
//! Each `feed` scans the caller's chunk in place. Only an unfinished message is copied into
//! the framer's buffer, and that copy is extended line by line, so the search resumes where
//! it stopped (O(n) even on byte-by-byte input). After a size error the rest of the message
//! is skipped without being stored.

use memchr::memchr;

use crate::classify::{
    banner_version, is_action_id_key, is_banner, is_follows_header_key, is_follows_value, Kind,
};
use crate::error::{ErrorKind, ProtocolError};
use crate::fields::find_colon;
use crate::follows::{EndFinder, MAX_END_LEN};
use crate::limits::Limits;
use crate::message::{Field, MessageView, Span};

/// Receives the framer's output, in stream order.
pub trait Sink {
    /// A complete message; the view borrows the framer's scratch space.
    fn message(&mut self, msg: MessageView<'_>);
    /// A bad message, reported in its place.
    fn error(&mut self, err: ProtocolError);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follows {
    No,
    /// After `Response: Follows`, while lines are `Privilege`/`ActionID` fields.
    Header,
    /// The raw body starts at `start`; no end sequence starts before `search`.
    Body { start: usize, search: usize },
}

#[derive(Clone, Copy, Debug)]
enum Issue {
    NoColon(usize),
    NoCr(usize),
}

/// What one scan over a message's bytes found.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// The message ends just before `end`.
    Done { end: usize, output: Option<Span> },
    /// A banner or an empty line outside a message: consumed, nothing to report.
    Skip(usize),
    /// Every complete line was processed; the message needs more bytes.
    NeedMore,
    /// The message went over a limit: report it, then discard from `resume` on.
    Overflow { kind: ErrorKind, resume: usize, at_line_start: bool },
    /// A complete Follows message that is too large.
    OverflowDone { kind: ErrorKind, end: usize },
}

/// Per-message scan state plus the span tables being built (reused between messages).
#[derive(Debug)]
struct Scanner {
    limits: Limits,
    strict: bool,
    banner_check: bool,
    version: Option<Vec<u8>>,
    finder: EndFinder,
    line_start: usize,
    lines: usize,
    follows: Follows,
    kind: Kind,
    fields: Vec<Field>,
    extra: Vec<Span>,
    action_id: Option<u32>,
    issue: Option<Issue>,
}

/// Could this unfinished first line still become `Response: Follows`? Then its size limit
/// is not known yet.
fn could_be_follows_line(part: &[u8]) -> bool {
    const WITH_SPACE: &[u8] = b"response: follows\r";
    const WITHOUT_SPACE: &[u8] = b"response:follows\r";
    let prefix_of = |full: &[u8]| part.len() <= full.len() && part.eq_ignore_ascii_case(&full[..part.len()]);
    prefix_of(WITH_SPACE) || prefix_of(WITHOUT_SPACE)
}

impl Scanner {
    fn new(limits: Limits, strict: bool) -> Self {
        Self {
            limits,
            strict,
            banner_check: true,
            version: None,
            finder: EndFinder::default(),
            line_start: 0,
            lines: 0,
            follows: Follows::No,
            kind: Kind::Unknown,
            fields: Vec::with_capacity(32),
            extra: Vec::new(),
            action_id: None,
            issue: None,
        }
    }

    /// Starts a new message at offset 0 of the bytes given to `step`.
    #[inline]
    fn begin(&mut self) {
        self.line_start = 0;
        self.lines = 0;
        self.follows = Follows::No;
        self.kind = Kind::Unknown;
        self.fields.clear();
        self.extra.clear();
        self.action_id = None;
        self.issue = None;
    }

    fn size_limit(&self) -> (usize, ErrorKind) {
        if self.follows == Follows::No {
            let n = self.limits.max_message_bytes;
            (n, ErrorKind::MessageTooLarge(n))
        } else {
            let n = self.limits.max_follows_bytes;
            (n, ErrorKind::FollowsTooLarge(n))
        }
    }

    /// Processes the complete lines of `msg` (the message's bytes so far, from its first
    /// byte) starting at `line_start`.
    fn step(&mut self, msg: &[u8]) -> Step {
        loop {
            if let Follows::Body { start, search } = self.follows {
                return self.step_body(msg, start, search);
            }
            let ls = self.line_start;
            let Some(i) = memchr(b'\n', &msg[ls..]) else {
                return self.partial(msg);
            };
            let nl = ls + i;
            let cr = nl > ls && msg[nl - 1] == b'\r';
            let le = if cr { nl - 1 } else { nl };
            if self.follows == Follows::Header {
                let line = &msg[ls..le];
                let header = find_colon(line).is_some_and(|c| is_follows_header_key(&line[..c]));
                if !header {
                    self.follows = Follows::Body { start: ls, search: ls };
                    continue;
                }
            }
            if self.lines == 0 {
                if self.banner_check {
                    self.banner_check = false;
                    let line = &msg[ls..le];
                    // A banner longer than a message may be is treated as one, so the
                    // outcome does not depend on whether its LF came in the same chunk.
                    if is_banner(line) && nl < self.limits.max_message_bytes {
                        self.version = Some(banner_version(line).to_vec());
                        return Step::Skip(nl + 1);
                    }
                }
                if le == ls {
                    return Step::Skip(nl + 1);
                }
            } else if le == ls {
                if self.strict && !cr && self.issue.is_none() {
                    self.issue = Some(Issue::NoCr(ls));
                }
                return Step::Done { end: nl + 1, output: None };
            }
            self.lines += 1;
            self.line(msg, ls, le, cr);
            let (limit, kind) = self.size_limit();
            if nl + 1 > limit {
                return Step::Overflow { kind, resume: nl + 1, at_line_start: true };
            }
            if self.lines > self.limits.max_fields {
                let kind = ErrorKind::TooManyFields(self.limits.max_fields);
                return Step::Overflow { kind, resume: nl + 1, at_line_start: true };
            }
            self.line_start = nl + 1;
        }
    }

    /// Records one non-empty line `msg[ls..le]` (`cr`: it ended in CRLF).
    #[inline]
    fn line(&mut self, msg: &[u8], ls: usize, le: usize, cr: bool) {
        let line = &msg[ls..le];
        if let Some(c) = find_colon(line) {
            let index = self.fields.len();
            let field = Field { start: ls as u32, colon: (ls + c) as u32, end: le as u32 };
            self.fields.push(field);
            let key = &line[..c];
            if index == 0 {
                self.kind = Kind::from_first_key(key);
                if self.kind == Kind::Response && self.lines == 1 && is_follows_value(field.value(msg)) {
                    self.follows = Follows::Header;
                }
            }
            if self.action_id.is_none() && is_action_id_key(key) {
                self.action_id = Some(index as u32);
            }
        } else {
            self.extra.push(Span::new(ls, le));
            if self.strict && self.issue.is_none() {
                self.issue = Some(Issue::NoColon(ls));
            }
        }
        if self.strict && !cr && self.issue.is_none() {
            self.issue = Some(Issue::NoCr(ls));
        }
    }

    /// `msg` ends inside a line (outside a Follows body): is the message already certain
    /// to go over its limit?
    fn partial(&self, msg: &[u8]) -> Step {
        let part = &msg[self.line_start..];
        // An empty or lone-CR partial line may still be the terminating empty line.
        if part.is_empty() || part == b"\r" {
            return Step::NeedMore;
        }
        if self.lines == 0 && could_be_follows_line(part) {
            return Step::NeedMore;
        }
        let (limit, kind) = self.size_limit();
        // The line is not empty, so the message will hold at least its LF as well.
        if msg.len() + 1 > limit {
            return Step::Overflow { kind, resume: msg.len(), at_line_start: false };
        }
        Step::NeedMore
    }

    /// Searches a Follows body for its end sequence.
    fn step_body(&mut self, msg: &[u8], start: usize, search: usize) -> Step {
        let limit = self.limits.max_follows_bytes;
        match self.finder.find(msg, search) {
            Ok(end) => {
                let mut out_end = end.marker;
                if out_end > start && msg[out_end - 1] == b'\n' {
                    out_end -= 1;
                }
                if end.empty_line > limit {
                    return Step::OverflowDone { kind: ErrorKind::FollowsTooLarge(limit), end: end.end };
                }
                Step::Done { end: end.end, output: Some(Span::new(start, out_end)) }
            }
            Err(resume) => {
                self.follows = Follows::Body { start, search: resume };
                // The final empty line cannot start before the last byte held (a complete
                // end would have been found). Checking only this keeps the excerpt (the
                // first `limit` bytes at most) the same however the stream is cut.
                if msg.len().saturating_sub(1) > limit {
                    let kind = ErrorKind::FollowsTooLarge(limit);
                    return Step::Overflow { kind, resume: msg.len(), at_line_start: false };
                }
                Step::NeedMore
            }
        }
    }

    /// Partial data appended to a held message: like `step`, without rescanning the line.
    fn recheck(&mut self, msg: &[u8]) -> Step {
        match self.follows {
            Follows::Body { start, search } => self.step_body(msg, start, search),
            _ => self.partial(msg),
        }
    }
}

/// Where a discarded (too large) ordinary message stands at the end of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinePos {
    Mid,
    Start,
    StartCr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Idle,
    /// `buf` holds the start of an unfinished message.
    Pending,
    /// Skipping an oversized message up to its next empty line.
    DiscardLines(LinePos),
    /// Skipping an oversized Follows message up to its end marker (`tail` keeps the last
    /// bytes, which may hold the start of the marker).
    DiscardFollows,
}

/// The AMI stream framer (see `docs/parser-contract.md`).
#[derive(Debug)]
pub struct Framer {
    scanner: Scanner,
    mode: Mode,
    buf: Vec<u8>,
    tail: Vec<u8>,
    /// Bytes fed since construction or reset.
    fed: u64,
    /// Stream offset of `buf[0]`.
    msg_offset: u64,
}

impl Framer {
    #[must_use]
    pub fn new(limits: Limits, strict: bool) -> Self {
        Self {
            scanner: Scanner::new(limits, strict),
            mode: Mode::Idle,
            buf: Vec::new(),
            tail: Vec::new(),
            fed: 0,
            msg_offset: 0,
        }
    }

    #[must_use]
    pub fn limits(&self) -> Limits {
        self.scanner.limits
    }

    #[must_use]
    pub fn strict(&self) -> bool {
        self.scanner.strict
    }

    /// The banner's version bytes, once the banner was seen.
    #[must_use]
    pub fn version(&self) -> Option<&[u8]> {
        self.scanner.version.as_deref()
    }

    /// Bytes held for an unfinished message.
    #[must_use]
    pub fn buffered(&self) -> usize {
        match self.mode {
            Mode::Pending => self.buf.len(),
            _ => 0,
        }
    }

    /// Bytes fed since construction or the last reset.
    #[must_use]
    pub fn stream_offset(&self) -> u64 {
        self.fed
    }

    /// Back to the initial state (the banner check included); keeps the allocations.
    pub fn reset(&mut self) {
        let (limits, strict) = (self.scanner.limits, self.scanner.strict);
        self.scanner = Scanner::new(limits, strict);
        self.mode = Mode::Idle;
        self.buf.clear();
        self.tail.clear();
        self.fed = 0;
        self.msg_offset = 0;
    }

    /// Frames `data`, handing every complete message or error to `sink` in order.
    pub fn feed<S: Sink>(&mut self, data: &[u8], sink: &mut S) {
        let base = self.fed;
        self.fed += data.len() as u64;
        let mut p = 0;
        while p < data.len() {
            p = match self.mode {
                Mode::Idle => self.feed_in_place(data, p, base, sink),
                Mode::Pending => self.feed_pending(data, p, sink),
                Mode::DiscardLines(pos) => self.discard_lines(data, p, pos),
                Mode::DiscardFollows => self.discard_follows(data, p),
            };
        }
    }

    /// End of stream: reports an unfinished message (a lone CR does not count), then resets.
    pub fn feed_eof<S: Sink>(&mut self, sink: &mut S) {
        if self.mode == Mode::Pending && self.buf != b"\r" {
            let mut err =
                ProtocolError::new(ErrorKind::Truncated(self.buf.len()), self.msg_offset, &self.buf);
            err.raw = Some(self.buf.clone());
            sink.error(err);
        }
        self.reset();
    }

    /// Scans `data[p..]` in place while no message is pending.
    fn feed_in_place<S: Sink>(&mut self, data: &[u8], mut p: usize, base: u64, sink: &mut S) -> usize {
        while p < data.len() {
            let msg = &data[p..];
            let offset = base + p as u64;
            self.scanner.begin();
            match self.scanner.step(msg) {
                Step::Done { end, output } => {
                    emit(&self.scanner, &msg[..end], offset, output, sink);
                    p += end;
                }
                Step::Skip(end) => p += end,
                Step::NeedMore => {
                    self.buf.clear();
                    self.buf.extend_from_slice(msg);
                    self.msg_offset = offset;
                    self.mode = Mode::Pending;
                    return data.len();
                }
                Step::Overflow { kind, resume, at_line_start } => {
                    sink.error(ProtocolError::new(kind, offset, excerpt(kind, &msg[..resume])));
                    self.enter_discard(&msg[..resume], at_line_start);
                    return p + resume;
                }
                Step::OverflowDone { kind, end } => {
                    sink.error(ProtocolError::new(kind, offset, excerpt(kind, &msg[..end])));
                    p += end;
                }
            }
        }
        p
    }

    /// Extends the pending message line by line until it completes.
    fn feed_pending<S: Sink>(&mut self, data: &[u8], mut p: usize, sink: &mut S) -> usize {
        loop {
            let rest = &data[p..];
            let step = if let Some(i) = memchr(b'\n', rest) {
                self.buf.extend_from_slice(&rest[..=i]);
                p += i + 1;
                self.scanner.step(&self.buf)
            } else {
                self.buf.extend_from_slice(rest);
                p = data.len();
                self.scanner.recheck(&self.buf)
            };
            match step {
                Step::NeedMore => {
                    if p == data.len() {
                        return p;
                    }
                }
                Step::Done { end, output } => {
                    debug_assert_eq!(end, self.buf.len());
                    emit(&self.scanner, &self.buf[..end], self.msg_offset, output, sink);
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
                Step::Skip(_) => {
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
                Step::Overflow { kind, resume, at_line_start } => {
                    let head = excerpt(kind, &self.buf[..resume]);
                    sink.error(ProtocolError::new(kind, self.msg_offset, head));
                    let held = std::mem::take(&mut self.buf);
                    self.enter_discard(&held[..resume], at_line_start);
                    self.buf = held;
                    self.buf.clear();
                    return p;
                }
                Step::OverflowDone { kind, end } => {
                    sink.error(ProtocolError::new(kind, self.msg_offset, excerpt(kind, &self.buf[..end])));
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
            }
        }
    }

    /// `held`: the oversized message's bytes seen so far.
    fn enter_discard(&mut self, held: &[u8], at_line_start: bool) {
        if self.scanner.follows == Follows::No {
            self.mode = Mode::DiscardLines(if at_line_start { LinePos::Start } else { LinePos::Mid });
        } else {
            self.tail.clear();
            self.tail.extend_from_slice(&held[held.len().saturating_sub(MAX_END_LEN - 1)..]);
            self.mode = Mode::DiscardFollows;
        }
    }

    fn discard_lines(&mut self, data: &[u8], mut i: usize, mut pos: LinePos) -> usize {
        loop {
            match pos {
                LinePos::Start | LinePos::StartCr => match data.get(i) {
                    None => break,
                    Some(b'\n') => {
                        self.mode = Mode::Idle;
                        return i + 1;
                    }
                    Some(b'\r') if pos == LinePos::Start => {
                        pos = LinePos::StartCr;
                        i += 1;
                    }
                    Some(_) => pos = LinePos::Mid,
                },
                LinePos::Mid => match memchr(b'\n', &data[i..]) {
                    None => break,
                    Some(k) => {
                        i += k + 1;
                        pos = LinePos::Start;
                    }
                },
            }
        }
        self.mode = Mode::DiscardLines(pos);
        data.len()
    }

    fn discard_follows(&mut self, data: &[u8], p: usize) -> usize {
        let rest = &data[p..];
        let finder = &self.scanner.finder;
        // An end sequence may begin in the kept tail: search a small window across the seam.
        let mut window = [0u8; 2 * MAX_END_LEN];
        let head = rest.len().min(MAX_END_LEN);
        let t = self.tail.len();
        window[..t].copy_from_slice(&self.tail);
        window[t..t + head].copy_from_slice(&rest[..head]);
        let found = match finder.find(&window[..t + head], 0) {
            Ok(end) => Some(end.end.saturating_sub(t)),
            Err(_) => finder.find(rest, 0).ok().map(|end| end.end),
        };
        if let Some(consumed) = found {
            self.tail.clear();
            self.mode = Mode::Idle;
            return p + consumed;
        }
        let keep = MAX_END_LEN - 1;
        if rest.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&rest[rest.len() - keep..]);
        } else {
            self.tail.extend_from_slice(rest);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
        data.len()
    }
}

/// The start of an oversized message for its error's excerpt. Only bytes that every
/// chunking has seen when the overflow is detected count (up to the size limit), so the
/// excerpt does not depend on how the stream was cut.
fn excerpt(kind: ErrorKind, held: &[u8]) -> &[u8] {
    match kind {
        ErrorKind::MessageTooLarge(n) | ErrorKind::FollowsTooLarge(n) => &held[..held.len().min(n)],
        _ => held,
    }
}

/// Hands a complete message (or, in strict mode, its first problem) to the sink.
fn emit<S: Sink>(scanner: &Scanner, raw: &[u8], offset: u64, output: Option<Span>, sink: &mut S) {
    let view = MessageView {
        raw,
        offset,
        kind: scanner.kind,
        fields: &scanner.fields,
        extra: &scanner.extra,
        action_id: scanner.action_id,
        output,
    };
    match scanner.issue {
        None => sink.message(view),
        Some(issue) => sink.error(strict_error(issue, &view)),
    }
}

#[cold]
fn strict_error(issue: Issue, view: &MessageView<'_>) -> ProtocolError {
    let kind = match issue {
        Issue::NoColon(at) => ErrorKind::LineWithoutColon(view.offset + at as u64),
        Issue::NoCr(at) => ErrorKind::LineWithoutCr(view.offset + at as u64),
    };
    let mut err = ProtocolError::new(kind, view.offset, view.raw);
    err.action_id = view.action_id().map(<[u8]>::to_vec);
    err.raw = Some(view.raw.to_vec());
    err
}

/// A sink that keeps owned copies (tests, benchmarks, Rust users).
#[derive(Debug, Default)]
pub struct CollectSink {
    pub items: Vec<Result<crate::message::OwnedMessage, ProtocolError>>,
}

impl Sink for CollectSink {
    fn message(&mut self, msg: MessageView<'_>) {
        self.items.push(Ok(msg.to_owned()));
    }

    fn error(&mut self, err: ProtocolError) {
        self.items.push(Err(err));
    }
}
