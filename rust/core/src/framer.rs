//! The incremental framer: bytes in, complete messages and per-message errors out.
//!
//! Each `feed` scans the caller's chunk in place. Only an unfinished message is copied into
//! the framer's buffer, and that copy is extended line by line, so the search resumes where
//! it stopped (O(n) even on byte-by-byte input). After a size error the rest of the message
//! is skipped without being stored.

use memchr::memchr;

use crate::classify::{banner_version, is_banner, is_follows_header_key, is_follows_value, Kind};
use crate::error::{ErrorKind, ProtocolError};
use crate::fields::{find_colon, value_start};
use crate::follows::{EndFinder, MAX_END_LEN};
use crate::limits::Limits;
use crate::message::{Field, Line, MessageView, Span};
use crate::scan::{find_end_lines, scan_line};

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
    /// After a `Response: Follows` first line ending at `second`: no end sequence starts
    /// before `search`.
    Body {
        second: usize,
        search: usize,
    },
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
    /// The message went over a limit: report it, then discard from `resume` on (a line
    /// start, or the end of the held bytes for a Follows message).
    Overflow {
        kind: ErrorKind,
        resume: usize,
        excerpt: usize,
    },
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
    /// The first line with a colon (classification and name).
    first: Option<Field>,
    /// Where the field lines end, once the message is complete.
    head: usize,
    /// The field lines seen so far (reused from message to message).
    spans: Vec<Line>,
    issue: Option<Issue>,
}

/// `(first line end, line end without CR, CR present)` of the line starting at `ls`
/// whose LF is at `nl`.
#[inline]
fn line_end(msg: &[u8], ls: usize, nl: usize) -> (usize, bool) {
    if nl > ls && msg[nl - 1] == b'\r' {
        (nl - 1, true)
    } else {
        (nl, false)
    }
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
            first: None,
            head: 0,
            spans: Vec::with_capacity(64),
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
        self.first = None;
        self.head = 0;
        self.spans.clear();
        self.issue = None;
    }

    fn too_large(&self) -> ErrorKind {
        ErrorKind::MessageTooLarge(self.limits.max_message_bytes)
    }

    /// Processes the complete lines of `msg` (the message's bytes so far, from its first
    /// byte) starting at `line_start`.
    ///
    /// The byte limit is certain to be exceeded once byte `max + 1` of the message exists
    /// and no empty line ended it before; the field limit once line `max_fields + 1` ends.
    /// When both hold, the one certain at the earlier byte wins (a tie goes to bytes).
    fn step(&mut self, msg: &[u8]) -> Step {
        let max = self.limits.max_message_bytes;
        loop {
            if let Follows::Body { second, search } = self.follows {
                return self.step_body(msg, second, search);
            }
            let ls = self.line_start;
            if self.lines == 1 && !self.strict && self.first.is_some() {
                // Fast path: past the first line of an ordinary message, one pass finds its
                // end and splits its lines; the line-by-line path below handles the rest.
                if let Some((size, end)) =
                    find_end_lines(msg, ls - 1, max, self.limits.max_fields, &mut self.spans)
                {
                    self.head = size;
                    return Step::Done { end, output: None };
                }
                self.spans.truncate(1);
            }
            let Some((nl, colon)) = scan_line(msg, ls) else {
                return self.partial(msg);
            };
            let (le, cr) = line_end(msg, ls, nl);
            if self.lines == 0 {
                if self.banner_check {
                    self.banner_check = false;
                    let line = &msg[ls..le];
                    // Past byte max + 1 the line would already be an overflow when fed in
                    // pieces, so it is no banner whole either (chunking-independent).
                    if nl <= self.limits.max_message_bytes + 1 && is_banner(line) {
                        self.version = Some(banner_version(line).to_vec());
                        return Step::Skip(nl + 1);
                    }
                }
                if le == ls {
                    return Step::Skip(nl + 1);
                }
                if let Some(c) = colon.filter(|&c| c < le) {
                    let kind = Kind::from_first_key(&msg[ls..c]);
                    if kind == Kind::Response && is_follows_value(&msg[value_start(msg, c, le)..le])
                    {
                        // Legacy command output: its own limit, no field limit.
                        self.lines = 1;
                        self.line(msg, ls, nl, cr);
                        self.follows = Follows::Body {
                            second: nl + 1,
                            search: nl + 1,
                        };
                        continue;
                    }
                    // The first field, classified once (`record` keeps it).
                    self.first = Some(Field {
                        start: ls as u32,
                        colon: c as u32,
                        end: le as u32,
                    });
                    self.kind = kind;
                }
            } else if le == ls {
                if self.strict && !cr && self.issue.is_none() {
                    self.issue = Some(Issue::NoCr(ls));
                }
                self.head = ls;
                return Step::Done {
                    end: nl + 1,
                    output: None,
                };
            }
            if nl > max {
                return Step::Overflow {
                    kind: self.too_large(),
                    resume: nl + 1,
                    excerpt: max + 2,
                };
            }
            if self.lines >= self.limits.max_fields {
                let kind = ErrorKind::TooManyFields(self.limits.max_fields);
                return Step::Overflow {
                    kind,
                    resume: nl + 1,
                    excerpt: nl + 1,
                };
            }
            if nl == max {
                // Too large, but certain only once byte `max + 1` exists (twin rule):
                // look at this line again when more bytes came.
                if msg.len() < max + 2 {
                    return Step::NeedMore;
                }
                return Step::Overflow {
                    kind: self.too_large(),
                    resume: nl + 1,
                    excerpt: max + 2,
                };
            }
            self.lines += 1;
            self.record(msg, ls, nl, cr, colon.filter(|&c| c < le));
            self.line_start = nl + 1;
        }
    }

    /// Records one non-empty line `msg[ls..nl]` (`cr`: it ended in CRLF).
    fn line(&mut self, msg: &[u8], ls: usize, nl: usize, cr: bool) {
        let le = if cr { nl - 1 } else { nl };
        let colon = find_colon(&msg[ls..le]).map(|c| ls + c);
        self.record(msg, ls, nl, cr, colon);
    }

    /// Records one non-empty line `msg[ls..nl]` whose first colon is at `colon`: its span,
    /// the first field (kind, name) and strict-mode problems.
    #[inline]
    fn record(&mut self, msg: &[u8], ls: usize, nl: usize, cr: bool, colon: Option<usize>) {
        self.spans.push(Line::new(nl, colon));
        let le = if cr { nl - 1 } else { nl };
        match colon {
            Some(colon) => {
                if self.first.is_none() {
                    self.first = Some(Field {
                        start: ls as u32,
                        colon: colon as u32,
                        end: le as u32,
                    });
                    self.kind = Kind::from_first_key(&msg[ls..colon]);
                }
            }
            None => {
                if self.strict && self.issue.is_none() {
                    self.issue = Some(Issue::NoColon(ls));
                }
            }
        }
        if self.strict && !cr && self.issue.is_none() {
            self.issue = Some(Issue::NoCr(ls));
        }
    }

    /// `msg` ends inside a line (outside a Follows body): is byte `max + 1` there yet?
    fn partial(&mut self, msg: &[u8]) -> Step {
        let max = self.limits.max_message_bytes;
        if msg.len() >= max + 2 {
            // Too long for a banner as well.
            self.banner_check = false;
            return Step::Overflow {
                kind: self.too_large(),
                resume: self.line_start,
                excerpt: max + 2,
            };
        }
        Step::NeedMore
    }

    /// Searches a Follows body for its end sequence.
    fn step_body(&mut self, msg: &[u8], second: usize, search: usize) -> Step {
        let limit = self.limits.max_follows_bytes;
        let kind = ErrorKind::FollowsTooLarge(limit);
        match self.finder.find(msg, search) {
            Ok(end) => {
                if end.empty_line > limit {
                    return Step::OverflowDone { kind, end: end.end };
                }
                Step::Done {
                    end: end.end,
                    output: Some(self.follows_headers(msg, second, end.marker)),
                }
            }
            Err(resume) => {
                self.follows = Follows::Body {
                    second,
                    search: resume,
                };
                // No end yet: certain once byte `limit + 1` exists.
                if msg.len() >= limit + 2 {
                    return Step::Overflow {
                        kind,
                        resume: msg.len(),
                        excerpt: limit + 2,
                    };
                }
                Step::NeedMore
            }
        }
    }

    /// Finds the header lines of a complete Follows message (Privilege/ActionID fields
    /// after the first line, ending before the marker), checks them in strict mode and
    /// returns the output span.
    fn follows_headers(&mut self, msg: &[u8], second: usize, marker: usize) -> Span {
        let mut body = second;
        while let Some(i) = memchr(b'\n', &msg[body..marker]) {
            let nl = body + i;
            let (le, cr) = line_end(msg, body, nl);
            let line = &msg[body..le];
            if !find_colon(line).is_some_and(|c| is_follows_header_key(&line[..c])) {
                break;
            }
            self.line(msg, body, nl, cr);
            body = nl + 1;
        }
        self.head = body;
        let mut out_end = marker;
        if out_end > body && msg[out_end - 1] == b'\n' {
            out_end -= 1;
        }
        Span::new(body, out_end)
    }

    /// Partial data appended to a held message: like `step`, without rescanning the line.
    fn recheck(&mut self, msg: &[u8]) -> Step {
        match self.follows {
            Follows::Body { second, search } => self.step_body(msg, second, search),
            Follows::No => self.partial(msg),
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
            let mut err = ProtocolError::new(
                ErrorKind::Truncated(self.buf.len()),
                self.msg_offset,
                &self.buf,
            );
            err.raw = Some(self.buf.clone());
            sink.error(err);
        }
        self.reset();
    }

    /// Scans `data[p..]` in place while no message is pending.
    fn feed_in_place<S: Sink>(
        &mut self,
        data: &[u8],
        mut p: usize,
        base: u64,
        sink: &mut S,
    ) -> usize {
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
                Step::Overflow {
                    kind,
                    resume,
                    excerpt,
                } => {
                    sink.error(ProtocolError::new(
                        kind,
                        offset,
                        &msg[..excerpt.min(msg.len())],
                    ));
                    self.enter_discard(msg);
                    // The caller's loop discards the rest of the message from here.
                    return p + resume;
                }
                Step::OverflowDone { kind, end } => {
                    let excerpt = &msg[..(limit_of(kind) + 2).min(end)];
                    sink.error(ProtocolError::new(kind, offset, excerpt));
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
                    emit(
                        &self.scanner,
                        &self.buf[..end],
                        self.msg_offset,
                        output,
                        sink,
                    );
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
                Step::Skip(_) => {
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
                Step::Overflow {
                    kind,
                    resume,
                    excerpt,
                } => {
                    let held = std::mem::take(&mut self.buf);
                    sink.error(ProtocolError::new(
                        kind,
                        self.msg_offset,
                        &held[..excerpt.min(held.len())],
                    ));
                    self.enter_discard(&held);
                    // The held bytes after `resume` belong to the oversized message too.
                    if let Mode::DiscardLines(pos) = self.mode {
                        let used = self.discard_lines(&held, resume, pos);
                        debug_assert!(self.mode != Mode::Idle || used == held.len());
                    }
                    self.buf = held;
                    self.buf.clear();
                    return p;
                }
                Step::OverflowDone { kind, end } => {
                    let excerpt = &self.buf[..(limit_of(kind) + 2).min(end)];
                    sink.error(ProtocolError::new(kind, self.msg_offset, excerpt));
                    self.buf.clear();
                    self.mode = Mode::Idle;
                    return p;
                }
            }
        }
    }

    /// Switches to discarding an oversized message whose bytes so far are `held`.
    fn enter_discard(&mut self, held: &[u8]) {
        match self.scanner.follows {
            Follows::No => self.mode = Mode::DiscardLines(LinePos::Start),
            Follows::Body { second, .. } => {
                // The end sequence may already have begun (never inside the first line).
                let from = second.max(held.len().saturating_sub(MAX_END_LEN - 1));
                self.tail.clear();
                self.tail.extend_from_slice(&held[from.min(held.len())..]);
                self.mode = Mode::DiscardFollows;
            }
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

fn limit_of(kind: ErrorKind) -> usize {
    match kind {
        ErrorKind::MessageTooLarge(n)
        | ErrorKind::FollowsTooLarge(n)
        | ErrorKind::TooManyFields(n) => n,
        _ => 0,
    }
}

/// Hands a complete message (or, in strict mode, its first problem) to the sink.
fn emit<S: Sink>(scanner: &Scanner, raw: &[u8], offset: u64, output: Option<Span>, sink: &mut S) {
    let name = match scanner.kind {
        Kind::Unknown => None,
        _ => scanner.first.map(|f| f.value_span(raw)),
    };
    let view = MessageView {
        raw,
        offset,
        kind: scanner.kind,
        name,
        head: scanner.head,
        lines: &scanner.spans,
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
    err.action_id = view.table().action_id(view.raw).map(<[u8]>::to_vec);
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
