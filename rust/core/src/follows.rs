//! Finding the end of a legacy `Response: Follows` message:
//! `--END COMMAND--`, a line end, then an empty line, wherever it stands in the body.

use memchr::memmem::Finder;

pub const MARKER: &[u8] = b"--END COMMAND--";
/// The longest end sequence: marker + CRLF + CRLF.
pub const MAX_END_LEN: usize = MARKER.len() + 4;

/// Where a complete end sequence was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// First byte of the marker.
    pub marker: usize,
    /// First byte of the final empty line (the message's size for the limit).
    pub empty_line: usize,
    /// Just after the final LF.
    pub end: usize,
}

enum Eol {
    Yes(usize),
    No,
    Incomplete,
}

#[inline]
fn eol(hay: &[u8], at: usize) -> Eol {
    match hay.get(at) {
        None => Eol::Incomplete,
        Some(b'\n') => Eol::Yes(at + 1),
        Some(b'\r') => match hay.get(at + 1) {
            None => Eol::Incomplete,
            Some(b'\n') => Eol::Yes(at + 2),
            Some(_) => Eol::No,
        },
        Some(_) => Eol::No,
    }
}

/// A reusable searcher for the end sequence.
#[derive(Clone, Debug)]
pub struct EndFinder {
    finder: Finder<'static>,
}

impl Default for EndFinder {
    fn default() -> Self {
        Self {
            finder: Finder::new(MARKER),
        }
    }
}

impl EndFinder {
    /// Searches `hay[from..]`. `Err(resume)`: no end sequence starts before `resume`, so a
    /// later search (with more bytes appended) may start there.
    pub fn find(&self, hay: &[u8], from: usize) -> Result<End, usize> {
        let mut pos = from;
        loop {
            let Some(i) = self.finder.find(&hay[pos..]) else {
                return Err(pos.max(hay.len().saturating_sub(MARKER.len() - 1)));
            };
            let marker = pos + i;
            let empty_line = match eol(hay, marker + MARKER.len()) {
                Eol::Yes(at) => at,
                Eol::Incomplete => return Err(marker),
                Eol::No => {
                    pos = marker + 1;
                    continue;
                }
            };
            match eol(hay, empty_line) {
                Eol::Yes(end) => {
                    return Ok(End {
                        marker,
                        empty_line,
                        end,
                    })
                }
                Eol::Incomplete => return Err(marker),
                Eol::No => pos = marker + 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sequence() {
        let f = EndFinder::default();
        let hay = b"abc\n--END COMMAND--\r\n\r\nrest";
        assert_eq!(
            f.find(hay, 0),
            Ok(End {
                marker: 4,
                empty_line: 21,
                end: 23
            })
        );
        assert_eq!(
            f.find(b"x--END COMMAND--\n\n", 0),
            Ok(End {
                marker: 1,
                empty_line: 17,
                end: 18
            })
        );
        // Not followed by line end + empty line: keep looking.
        assert_eq!(
            f.find(
                b"--END COMMAND-- no\n--END COMMAND--\nx\n--END COMMAND--\r\n\n",
                0
            ),
            Ok(End {
                marker: 37,
                empty_line: 54,
                end: 55
            })
        );
        assert_eq!(f.find(b"--END COMMAND--\r\r\n\r\n", 0), Err(6));
    }

    #[test]
    fn incomplete_resumes_at_candidate() {
        let f = EndFinder::default();
        assert_eq!(f.find(b"abc--END COMMAND--\r\n", 0), Err(3));
        assert_eq!(f.find(b"abc--END COMMAND--\r\n\r", 0), Err(3));
        assert_eq!(f.find(b"abc--END COMM", 0), Err(0));
        assert_eq!(f.find(b"0123456789abcdefghij--END", 0), Err(20 - 14 + 5));
    }
}
