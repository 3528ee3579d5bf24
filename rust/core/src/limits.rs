//! Parser limits, given to the constructor (no globals).

/// Upper bounds the framer enforces on each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes from a message's first byte through the LF of its last non-empty line.
    pub max_message_bytes: usize,
    /// Non-empty lines in one message.
    pub max_fields: usize,
    /// Bytes of a legacy `Response: Follows` message up to its final empty line.
    pub max_follows_bytes: usize,
}

/// Spans are `u32`, so no message may reach 4 GiB; larger limits are clamped to this.
pub const MAX_LIMIT: usize = (u32::MAX - 64) as usize;

impl Limits {
    /// Limits with every value clamped to what the span representation can hold.
    #[must_use]
    pub fn new(max_message_bytes: usize, max_fields: usize, max_follows_bytes: usize) -> Self {
        Self {
            max_message_bytes: max_message_bytes.min(MAX_LIMIT),
            max_fields: max_fields.min(MAX_LIMIT),
            max_follows_bytes: max_follows_bytes.min(MAX_LIMIT),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(1 << 20, 8192, 8 << 20)
    }
}
