//! Protocol errors found while framing: the kind, and where it happened.

use std::fmt;

/// Bytes of a bad message kept in [`ProtocolError::excerpt`].
pub const EXCERPT_BYTES: usize = 64;

/// What went wrong. `usize` payloads are limits or byte counts; `u64` ones stream offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The message went over `max_message_bytes`.
    MessageTooLarge(usize),
    /// A legacy Follows message went over `max_follows_bytes`.
    FollowsTooLarge(usize),
    /// The message has more non-empty lines than `max_fields`.
    TooManyFields(usize),
    /// Strict mode: a line without a colon, at this stream offset.
    LineWithoutColon(u64),
    /// Strict mode: a line ending in a bare LF, at this stream offset.
    LineWithoutCr(u64),
    /// End of stream inside a message holding this many bytes.
    Truncated(usize),
}

impl ErrorKind {
    /// `MessageTooLargeError` in Python (else plain `ProtocolError`).
    #[must_use]
    pub fn is_too_large(self) -> bool {
        matches!(
            self,
            Self::MessageTooLarge(_) | Self::FollowsTooLarge(_) | Self::TooManyFields(_)
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MessageTooLarge(n) => write!(f, "message exceeds max_message_bytes ({n})"),
            Self::FollowsTooLarge(n) => write!(f, "command output exceeds max_follows_bytes ({n})"),
            Self::TooManyFields(n) => write!(f, "message exceeds max_fields ({n})"),
            Self::LineWithoutColon(at) => write!(f, "line without a colon at offset {at}"),
            Self::LineWithoutCr(at) => write!(f, "line ending without CR at offset {at}"),
            Self::Truncated(n) => {
                write!(
                    f,
                    "connection closed in the middle of a message ({n} bytes)"
                )
            }
        }
    }
}

/// One bad message, reported in its place in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub kind: ErrorKind,
    /// Stream offset of the message's first byte.
    pub offset: u64,
    /// The first [`EXCERPT_BYTES`] bytes of the message.
    pub excerpt: Vec<u8>,
    /// The message's ActionID (undecoded), when it was read.
    pub action_id: Option<Vec<u8>>,
    /// The whole message when it was kept; `None` when it was discarded for size.
    pub raw: Option<Vec<u8>>,
}

impl ProtocolError {
    /// An error whose message bytes start with `head` (only its first 64 bytes are kept).
    #[cold]
    #[must_use]
    pub fn new(kind: ErrorKind, offset: u64, head: &[u8]) -> Self {
        Self {
            kind,
            offset,
            excerpt: head[..head.len().min(EXCERPT_BYTES)].to_vec(),
            action_id: None,
            raw: None,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for ProtocolError {}
