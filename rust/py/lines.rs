//! A message's line table, copied from the framer's records into the message object.
//!
//! Ordinary messages (at most [`INLINE`] lines, field lines under 64 KiB) keep it inline as
//! `u16` pairs, so building a message allocates nothing for it; larger ones use a boxed
//! slice of the core's `Line`.

use ami_fast_core::{Line, NO_COLON};

/// Inline capacity: a 20-field event plus a few channel variables.
const INLINE: usize = 40;

pub enum Lines {
    /// `(nl, colon)` per line; `u16::MAX` is "no colon".
    Small { len: u8, lines: [[u16; 2]; INLINE] },
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
    /// The table for `lines`, the lines of `raw[..head]`, and how many of them are fields.
    #[inline]
    pub fn new(lines: &[Line], head: usize) -> (Self, usize) {
        let mut extra = 0;
        let table = if lines.len() <= INLINE && head <= usize::from(u16::MAX) {
            // Every offset is below `head`, so it fits; `NO_COLON as u16` is `u16::MAX`.
            let mut small = [[0u16; 2]; INLINE];
            for (slot, line) in small.iter_mut().zip(lines) {
                *slot = [line.nl as u16, line.colon as u16];
                extra += usize::from(line.colon == NO_COLON);
            }
            Self::Small {
                len: lines.len() as u8,
                lines: small,
            }
        } else {
            extra = lines.iter().filter(|l| l.colon == NO_COLON).count();
            Self::Large(lines.into())
        };
        (table, lines.len() - extra)
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Self::Small { len, .. } => usize::from(*len),
            Self::Large(lines) => lines.len(),
        }
    }

    /// `(nl, colon)` of line `i` (`colon` is `usize::MAX` when there is none).
    #[inline(always)]
    fn get(&self, i: usize) -> (usize, usize) {
        match self {
            Self::Small { lines, .. } => {
                let [nl, colon] = lines[i];
                let colon = if colon == u16::MAX {
                    usize::MAX
                } else {
                    usize::from(colon)
                };
                (usize::from(nl), colon)
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
            Self::Small { len, lines } => walk(
                raw,
                lines[..usize::from(*len)].iter().map(|&[nl, colon]| {
                    let colon = if colon == u16::MAX {
                        usize::MAX
                    } else {
                        usize::from(colon)
                    };
                    (usize::from(nl), colon)
                }),
                f,
            ),
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
        let (nl, colon) = self.lines.get(self.i);
        let start = self.start;
        let le = nl - usize::from(nl > start && self.raw[nl - 1] == b'\r');
        self.i += 1;
        self.start = nl + 1;
        Some(Pos { start, colon, le })
    }
}
