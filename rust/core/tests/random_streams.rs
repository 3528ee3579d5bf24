//! Random streams built from AMI-shaped pieces (and garbage), with small limits: every
//! chunking must give the same items (`common::parse_with` checks every split point).

mod common;

use ami_fast_core::Limits;
use common::{parse_with, Rng};

const PIECES: &[&[u8]] = &[
    b"Asterisk Call Manager/11.0.0\r\n",
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1-0001\r\n\r\n",
    b"Response: Success\r\nActionID: a-1\r\nMessage: ok\r\n\r\n",
    b"Event: X\nK:v\nK: w\n\n",
    b"Event: Y\r\nNo colon here\r\nKey:\r\n\r\n\n",
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b"x",
    b"\r\n\r\n",
    b"Response: Follows\r\nPrivilege: Command\r\n",
    b"body line: 1\nbody\n",
    b"--END COMMAND--",
    b"--END COMMAND--\r\n\r\n",
    b"--END COMMAND--\n\n",
    b"Event: Big\r\nData: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
    b"Data: 0123456789012345678901234567890123456789012345678901234567890123456789\r\n",
    b"A: 1\r\nB: 2\r\nC: 3\r\n",
    b"Action: Ping\r\nActionID: p\r\n\r\n",
];

#[test]
fn random_piece_streams_are_chunking_independent() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..400 {
        let mut input = Vec::new();
        for _ in 0..rng.below(12) + 1 {
            input.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        // The Python API refuses byte limits under 64; below that, a banner or a Follows
        // first line longer than the limit is (by the contract's rules) chunking-dependent.
        let limits = match round % 3 {
            0 => Limits::default(),
            1 => Limits::new(64 + rng.below(80), 2 + rng.below(4), 64 + rng.below(100)),
            _ => Limits::new(64 + rng.below(8), 1 + rng.below(3), 64 + rng.below(8)),
        };
        let strict = round % 2 == 1;
        parse_with(&input, limits, strict);
    }
}
