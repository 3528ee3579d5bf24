//! The raw Rust core alone, no Python: the ceiling for the Python-visible parse numbers.
//!
//! Reads a stream file (written by `ami_fast._bench.gen_stream`), cuts it into 64 KiB chunks
//! as the Python benchmarks do, and runs `Framer::feed` over them with a sink that only counts
//! messages and `Hangup` events (the "event name only" consumer). `Framer::feed` frames each
//! message and splits its lines (the field spans), the work the Python parser does before it
//! builds objects. Prints one JSON line, with wall and CPU times.
//!
//! cargo bench -p ami-fast-core --bench parse -- STREAM_FILE [REPEAT]

use std::time::Instant;

use ami_fast_core::{Framer, Limits, MessageView, ProtocolError, Sink};

const CHUNK: usize = 64 * 1024;

#[derive(Default)]
struct Count {
    messages: u64,
    hits: u64,
    errors: u64,
    lines: u64,
}

/// CPU time of this process (what Python's `time.process_time` reads).
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

impl Sink for Count {
    fn message(&mut self, msg: MessageView<'_>) {
        self.messages += 1;
        self.lines += msg.lines.len() as u64;
        if msg.name() == Some(b"Hangup".as_slice()) {
            self.hits += 1;
        }
    }

    fn error(&mut self, _err: ProtocolError) {
        self.errors += 1;
    }
}

fn main() {
    // `cargo bench` adds `--bench`; everything that starts with `--` is ignored.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: parse STREAM_FILE [REPEAT]");
        std::process::exit(2);
    };
    let repeat: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(20);
    let data = std::fs::read(path).expect("cannot read the stream file");
    let chunks: Vec<&[u8]> = data.chunks(CHUNK).collect();

    let mut times = Vec::with_capacity(repeat);
    let mut cpu = f64::INFINITY;
    let mut last = Count::default();
    for _ in 0..repeat.max(1) {
        let mut framer = Framer::new(Limits::default(), false);
        let mut sink = Count::default();
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        for chunk in &chunks {
            framer.feed(chunk, &mut sink);
        }
        cpu = cpu.min(cpu_seconds() - cpu_start);
        times.push(start.elapsed().as_secs_f64());
        last = std::hint::black_box(sink);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{{\"messages\": {}, \"hits\": {}, \"errors\": {}, \"lines\": {}, \"bytes\": {}, \"median_s\": {:.9}, \"best_s\": {:.9}, \"best_cpu_s\": {:.9}, \"msgs_per_s\": {:.1}, \"mb_per_s\": {:.3}}}",
        last.messages,
        last.hits,
        last.errors,
        last.lines,
        data.len(),
        median,
        times[0],
        cpu,
        last.messages as f64 / median,
        data.len() as f64 / median / 1e6,
    );
}
