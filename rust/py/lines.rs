//! A message's line table, copied from the framer's records into the message object.
//!
//! Ordinary messages (at most [`INLINE`] lines, none longer than 254 bytes) keep it inline as
//! two bytes per line, so building a message allocates nothing for it and the message struct
//! stays small enough to be moved without a `memcpy` call; others use a boxed slice of the
//! core's `Line`.

use ami_fast_core::{Line, NO_COLON};

/// Inline capacity: a 20-field event plus a few channel variables.
const INLINE: usize = 40;
/// `Small` colon offset of a line without a colon (offsets are at most 253).
const NONE8: u8 = u8::MAX;

pub enum Lines {
    /// Per line, relative to its start: the offset of its LF (1..=254) and of its first
    /// colon (`NONE8` when there is none). A line starts just after the previous line's LF.
    Small {
        len: u8,
        lines: [[u8; 2]; INLINE],
    },
    Large(Box<[Line]>),
}

/// One line of a message: `raw[start..le]` without its line end, first colon at `colon`.
#[derive(Clone, Copy, Debug)]
pub struct Pos {
    pub start: usize,
    /// `usize::MAX` for a line without a colon.
    pub colon: usize,
    pub le: usize,
}

impl Pos {
    #[inline]
    pub fn is_field(self) -> bool {
        self.colon != usize::MAX
    }

    #[inline]
    pub fn key(self, raw: &[u8]) -> &[u8] {
        &raw[self.start..self.colon]
    }

    /// The value starts after the colon and at most one space.
    #[inline]
    pub fn value_start(self, raw: &[u8]) -> usize {
        let v = self.colon + 1;
        v + usize::from(v < self.le && raw[v] == b' ')
    }

    #[inline]
    pub fn value(self, raw: &[u8]) -> &[u8] {
        &raw[self.value_start(raw)..self.le]
    }

    /// The whole line (for a field: key, colon and value), without its line end.
    #[inline]
    pub fn line(self, raw: &[u8]) -> &[u8] {
        &raw[self.start..self.le]
    }
}

impl Lines {
    /// The table for `lines`, the lines of a message, and how many of them are fields.
    #[inline]
    pub fn new(lines: &[Line]) -> (Self, usize) {
        let mut extra = 0;
        if lines.len() <= INLINE {
            let mut small = [[0u8; 2]; INLINE];
            let mut start = 0u32;
            let mut fits = true;
            for (slot, line) in small.iter_mut().zip(lines) {
                let nl = line.nl.wrapping_sub(start);
                fits &= nl < u32::from(NONE8);
                let colon = if line.colon == NO_COLON {
                    extra += 1;
                    NONE8
                } else {
                    (line.colon - start) as u8
                };
                *slot = [nl as u8, colon];
                start = line.nl + 1;
            }
            if fits {
                let table = Self::Small {
                    len: lines.len() as u8,
                    lines: small,
                };
                return (table, lines.len() - extra);
            }
        }
        extra = lines.iter().filter(|l| l.colon == NO_COLON).count();
        (Self::Large(lines.into()), lines.len() - extra)
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Self::Small { len, .. } => usize::from(*len),
            Self::Large(lines) => lines.len(),
        }
    }

    /// `(nl, colon)` of line `i`, which starts at `start` (`colon` is `usize::MAX` when
    /// there is none).
    #[inline(always)]
    fn get(&self, i: usize, start: usize) -> (usize, usize) {
        match self {
            Self::Small { lines, .. } => {
                let [nl, colon] = lines[i];
                let colon = if colon == NONE8 {
                    usize::MAX
                } else {
                    start + usize::from(colon)
                };
                (start + usize::from(nl), colon)
            }
            Self::Large(lines) => {
                let line = lines[i];
                let colon = if line.colon == NO_COLON {
                    usize::MAX
                } else {
                    line.colon as usize
                };
                (line.nl as usize, colon)
            }
        }
    }

    /// Every line in order.
    #[inline]
    pub fn iter<'a>(&'a self, raw: &'a [u8]) -> Iter<'a> {
        Iter {
            lines: self,
            raw,
            i: 0,
            start: 0,
        }
    }

    /// Every field (line with a colon) in order.
    #[inline]
    pub fn fields<'a>(&'a self, raw: &'a [u8]) -> impl Iterator<Item = Pos> + 'a {
        self.iter(raw).filter(|p| p.is_field())
    }

    /// Calls `f` on every field in order until it fails: the hot paths' loop, compiled
    /// once per representation so the inner loop has no dispatch.
    #[inline(always)]
    pub fn try_each_field<E>(
        &self,
        raw: &[u8],
        f: impl FnMut(Pos) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Self::Small { len, lines } => {
                let mut start = 0;
                walk(
                    raw,
                    lines[..usize::from(*len)].iter().map(|&[nl, colon]| {
                        let line = start;
                        start += usize::from(nl) + 1;
                        let colon = if colon == NONE8 {
                            usize::MAX
                        } else {
                            line + usize::from(colon)
                        };
                        (line + usize::from(nl), colon)
                    }),
                    f,
                )
            }
            Self::Large(lines) => walk(
                raw,
                lines.iter().map(|l| {
                    let colon = if l.colon == NO_COLON {
                        usize::MAX
                    } else {
                        l.colon as usize
                    };
                    (l.nl as usize, colon)
                }),
                f,
            ),
        }
    }
}

/// The fields among `(nl, colon)` lines, each handed to `f`.
#[inline(always)]
fn walk<E>(
    raw: &[u8],
    lines: impl Iterator<Item = (usize, usize)>,
    mut f: impl FnMut(Pos) -> Result<(), E>,
) -> Result<(), E> {
    let mut start = 0;
    for (nl, colon) in lines {
        if colon != usize::MAX {
            // A field line has its colon before any CR, so `nl > start` here.
            let le = nl - usize::from(raw[nl - 1] == b'\r');
            f(Pos { start, colon, le })?;
        }
        start = nl + 1;
    }
    Ok(())
}

pub struct Iter<'a> {
    lines: &'a Lines,
    raw: &'a [u8],
    i: usize,
    start: usize,
}

impl Iterator for Iter<'_> {
    type Item = Pos;

    #[inline]
    fn next(&mut self) -> Option<Pos> {
        if self.i == self.lines.len() {
            return None;
        }
        let (nl, colon) = self.lines.get(self.i, self.start);
        let start = self.start;
        let le = nl - usize::from(nl > start && self.raw[nl - 1] == b'\r');
        self.i += 1;
        self.start = nl + 1;
        Some(Pos { start, colon, le })
    }
}
