//! A libFuzzer-free fuzz loop for the stable toolchain: random AMI-shaped streams (pieces,
//! mutations, random bytes) through the same checks as the cargo-fuzz targets.
//!
//! `cargo run --release --bin fuzz_loop --no-default-features -- SECONDS [SEED]`
//! Prints the number of executions. A failing input is written to `crash-<seed>-<n>.bin`
//! (replay it with `cargo fuzz run framer crash-...bin` or `fuzz_loop --replay FILE`).

use std::time::{Duration, Instant};

const PIECES: &[&[u8]] = &[
    b"Asterisk Call Manager/11.0.0\r\n",
    b"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/1-0001\r\n\r\n",
    b"Response: Success\r\nActionID: a-1\r\nMessage: ok\r\n\r\n",
    b"Response: Follows\r\nPrivilege: Command\r\nActionID: x\r\n",
    b"--END COMMAND--\r\n\r\n",
    b"--END COMMAND--\n\n",
    b"--END COMMAND--",
    b"\r\n",
    b"\n",
    b"\r",
    b":",
    b"Key: value\r\n",
    b"no colon\n",
    b"EventList: start\r\n",
    b"\x00",
    b"\xff\xfe",
    b"Output: line\r\n",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn input(rng: &mut Rng) -> Vec<u8> {
    let mut out: Vec<u8> = (0..6).map(|_| rng.next() as u8).collect();
    for _ in 0..1 + rng.below(24) {
        match rng.below(10) {
            0 => out.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
            1 => out.extend(std::iter::repeat_n(b'A', rng.below(400))),
            _ => out.extend_from_slice(PIECES[rng.below(PIECES.len())]),
        }
    }
    // A few point mutations.
    for _ in 0..rng.below(3) {
        if !out.is_empty() {
            let at = rng.below(out.len());
            out[at] = rng.next() as u8;
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--replay") {
        let data = std::fs::read(&args[2]).expect("read the input");
        ami_fast_fuzz::check_framer(&data);
        ami_fast_fuzz::check_encode(&data);
        println!("ok");
        return;
    }
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut execs: u64 = 0;
    while Instant::now() < deadline {
        for _ in 0..256 {
            let data = input(&mut rng);
            let result = std::panic::catch_unwind(|| {
                ami_fast_fuzz::check_framer(&data);
                ami_fast_fuzz::check_encode(&data);
            });
            if result.is_err() {
                let path = format!("crash-{seed}-{execs}.bin");
                std::fs::write(&path, &data).expect("write the crash input");
                eprintln!("failure; input written to {path}");
                std::process::exit(1);
            }
            execs += 1;
        }
    }
    println!("fuzz_loop: {execs} executions in {seconds} s, no failure");
}
