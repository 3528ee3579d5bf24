//! Replays every input that ever failed (tests/corpus/regressions/, shared with the Python
//! differential fuzz test) through the fuzz checks, plus a short deterministic fuzz pass.

use std::path::Path;

#[test]
fn regression_corpus_passes_the_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("the regression corpus exists") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "bin") {
            let data = std::fs::read(&path).expect("read a regression input");
            ami_fast_fuzz::check_framer(&data);
            ami_fast_fuzz::check_encode(&data);
            count += 1;
        }
    }
    assert!(count > 0, "no regression inputs found in {}", dir.display());
}

#[test]
fn encoder_inputs_round_trip_or_are_refused() {
    // An injection attempt is refused (check_encode returns early); a good action round-trips.
    ami_fast_fuzz::check_encode(b"Ping\xffKey\xffa\r\nAction: Originate");
    ami_fast_fuzz::check_encode(b"Originate\xffChannel\xffLocal/1@x\xffVariable\xffA=1");
}
