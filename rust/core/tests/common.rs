//! Helpers shared by the framer tests: feed in many chunkings, compare, pretty-print.

#![allow(dead_code)]

use ami_fast_core::{CollectSink, ErrorKind, Framer, Limits, OwnedMessage, ProtocolError};

pub type Item = Result<OwnedMessage, ProtocolError>;

/// Feeds `chunks` then EOF; returns every item, the version and `buffered` before EOF.
pub fn run_chunks(
    chunks: &[&[u8]],
    limits: Limits,
    strict: bool,
) -> (Vec<Item>, Option<Vec<u8>>, usize) {
    let mut framer = Framer::new(limits, strict);
    let mut sink = CollectSink::default();
    for chunk in chunks {
        framer.feed(chunk, &mut sink);
    }
    let version = framer.version().map(<[u8]>::to_vec);
    let buffered = framer.buffered();
    framer.feed_eof(&mut sink);
    assert_eq!(framer.buffered(), 0);
    assert_eq!(framer.stream_offset(), 0);
    (sink.items, version, buffered)
}

/// Deterministic xorshift, so split tests need no extra crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Parses `input` whole, byte by byte, at every single split point and at random splits;
/// asserts the outputs agree and returns them.
pub fn parse_with(input: &[u8], limits: Limits, strict: bool) -> (Vec<Item>, Option<Vec<u8>>) {
    let (whole, version, buffered) = run_chunks(&[input], limits, strict);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let (by_byte, v2, b2) = run_chunks(&bytes, limits, strict);
    assert_eq!(by_byte, whole, "byte by byte differs");
    assert_eq!((v2, b2), (version.clone(), buffered));
    if input.len() <= 600 {
        for cut in 0..=input.len() {
            let (split, v3, b3) = run_chunks(&[&input[..cut], &input[cut..]], limits, strict);
            assert_eq!(split, whole, "split at {cut} differs");
            assert_eq!((v3, b3), (version.clone(), buffered));
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ input.len() as u64);
    for _ in 0..20 {
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let n = 1 + rng.below(40.min(input.len() - at));
            chunks.push(&input[at..at + n]);
            at += n;
        }
        let (random, _, _) = run_chunks(&chunks, limits, strict);
        assert_eq!(random, whole, "random split differs");
    }
    (whole, version)
}

pub fn parse(input: &[u8]) -> Vec<Item> {
    parse_with(input, Limits::default(), false).0
}

pub fn msg(item: &Item) -> &OwnedMessage {
    match item {
        Ok(m) => m,
        Err(e) => panic!("expected a message, got {e:?}"),
    }
}

pub fn err(item: &Item) -> &ProtocolError {
    match item {
        Ok(m) => panic!("expected an error, got {m:?}"),
        Err(e) => e,
    }
}

pub fn items_of(m: &OwnedMessage) -> Vec<(String, String)> {
    m.items()
        .into_iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn kind_of(item: &Item) -> ErrorKind {
    err(item).kind
}
