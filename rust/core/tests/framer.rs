//! Framing edge cases from docs/parser-contract.md, each parsed whole, byte by byte, at
//! every split point and at random splits (see `common::parse_with`).

mod common;

use ami_fast_core::{ErrorKind, Kind, Limits};
use common::*;

#[test]
fn crlf_messages_with_banner() {
    let input =
        b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: 1\r\nMessage: ok\r\n\r\n\
Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n";
    let (out, version) = parse_with(input, Limits::default(), false);
    assert_eq!(version.as_deref(), Some(&b"11.0.0"[..]));
    assert_eq!(out.len(), 2);
    let r = msg(&out[0]);
    assert_eq!(r.kind, Kind::Response);
    assert_eq!(r.name(), Some(&b"Success"[..]));
    assert_eq!(r.action_id(), Some(&b"1"[..]));
    assert_eq!(r.offset, 30);
    assert_eq!(
        r.raw,
        b"Response: Success\r\nActionID: 1\r\nMessage: ok\r\n\r\n"
    );
    let e = msg(&out[1]);
    assert_eq!(e.kind, Kind::Event);
    assert_eq!(e.name(), Some(&b"FullyBooted"[..]));
    assert_eq!(e.action_id(), None);
    assert_eq!(e.offset, 30 + r.raw.len() as u64);
    assert_eq!(
        items_of(e),
        pairs(&[("Event", "FullyBooted"), ("Privilege", "system,all")])
    );
}

#[test]
fn lf_only_and_mixed_line_ends() {
    let out = parse(b"Event: A\nX: 1\n\nEvent: B\r\nY: 2\n\r\nEvent: C\nZ: 3\r\n\n");
    assert_eq!(out.len(), 3);
    assert_eq!(msg(&out[0]).raw, b"Event: A\nX: 1\n\n");
    assert_eq!(items_of(msg(&out[1])), pairs(&[("Event", "B"), ("Y", "2")]));
    assert_eq!(msg(&out[1]).raw, b"Event: B\r\nY: 2\n\r\n");
    // `\r\n\n`: the CoreShowChannelMap ending.
    assert_eq!(msg(&out[2]).raw, b"Event: C\nZ: 3\r\n\n");
}

#[test]
fn blank_runs_are_skipped_and_offsets_count_them() {
    let out = parse(b"\r\n\n\r\nEvent: A\r\n\r\n\r\n\r\n\nEvent: B\r\n\r\n\n");
    assert_eq!(out.len(), 2);
    assert_eq!(msg(&out[0]).offset, 5);
    assert_eq!(msg(&out[1]).offset, 5 + 12 + 5);
}

#[test]
fn only_one_cr_is_removed_and_lone_cr_lines_are_not_empty() {
    let out = parse(b"Event: A\r\r\nK: v\r\n\r\r\n\r\n");
    assert_eq!(out.len(), 1);
    let m = msg(&out[0]);
    assert_eq!(items_of(m), pairs(&[("Event", "A\r"), ("K", "v")]));
    assert_eq!(m.extra_lines(), vec![&b"\r"[..]]);
}

#[test]
fn field_splitting() {
    let out = parse(b"Event: E\r\nEmpty:\r\nSpace: \r\nNoSpace:v\r\nTwo:  v \r\nKey : x\r\nOutput: a: b\r\n\r\n");
    let m = msg(&out[0]);
    assert_eq!(
        items_of(m),
        pairs(&[
            ("Event", "E"),
            ("Empty", ""),
            ("Space", ""),
            ("NoSpace", "v"),
            ("Two", " v "),
            ("Key ", "x"),
            ("Output", "a: b"),
        ])
    );
}

#[test]
fn repeated_keys_and_colonless_lines_are_kept_in_order() {
    let out =
        parse(b"Event: E\r\nV: 1\r\ngarbage line\r\nV: 2\r\n--END SMS EVENT--\r\nv: 3\r\n\r\n");
    let m = msg(&out[0]);
    assert_eq!(
        items_of(m),
        pairs(&[("Event", "E"), ("V", "1"), ("V", "2"), ("v", "3")])
    );
    assert_eq!(
        m.extra_lines(),
        vec![&b"garbage line"[..], &b"--END SMS EVENT--"[..]]
    );
}

#[test]
fn classification_by_first_field() {
    let out = parse(
        b"event: lower\r\n\r\nRESPONSE: Error\r\n\r\nAction: Ping\r\nactionid: a1\r\nActionID: a2\r\n\r\n\
Foo: bar\r\nEvent: X\r\n\r\nno colon first\r\nEvent: Y\r\n\r\njust garbage\r\n\r\n\
Event: OriginateResponse\r\nResponse: Success\r\n\r\n",
    );
    let kinds: Vec<_> = out.iter().map(|i| msg(i).kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Event,
            Kind::Response,
            Kind::Action,
            Kind::Unknown,
            Kind::Event,
            Kind::Unknown,
            Kind::Event
        ]
    );
    assert_eq!(msg(&out[0]).name(), Some(&b"lower"[..]));
    assert_eq!(msg(&out[2]).action_id(), Some(&b"a1"[..]));
    assert_eq!(msg(&out[3]).name(), None);
    // The first *field* classifies, even after a colon-less line.
    assert_eq!(msg(&out[4]).name(), Some(&b"Y"[..]));
    assert_eq!(msg(&out[5]).fields.len(), 0);
    assert_eq!(msg(&out[6]).name(), Some(&b"OriginateResponse"[..]));
}

#[test]
fn banner_rules() {
    // Not first line: an ordinary (colon-less) message line.
    let (out, version) = parse_with(
        b"Event: A\r\n\r\nAsterisk Call Manager/1.0\r\n\r\n",
        Limits::default(),
        false,
    );
    assert_eq!(version, None);
    assert_eq!(out.len(), 2);
    assert_eq!(
        msg(&out[1]).extra_lines(),
        vec![&b"Asterisk Call Manager/1.0"[..]]
    );
    // A first line with a colon is input, not a banner.
    let (out, version) = parse_with(b"Response: Manager/1\r\n\r\n", Limits::default(), false);
    assert_eq!(version, None);
    assert_eq!(msg(&out[0]).name(), Some(&b"Manager/1"[..]));
    // Without `Manager` or without `/`: ordinary input glued to the next lines.
    let (out, version) = parse_with(b"Hello/1\r\nEvent: A\r\n\r\n", Limits::default(), false);
    assert_eq!(version, None);
    assert_eq!(msg(&out[0]).extra_lines(), vec![&b"Hello/1"[..]]);
    assert_eq!(msg(&out[0]).offset, 0);
    // LF-only banner, proxy prefix, version after the last slash.
    let (out, version) = parse_with(
        b"Asterisk Manager Proxy/a/2.1\nEvent: A\n\n",
        Limits::default(),
        false,
    );
    assert_eq!(version.as_deref(), Some(&b"2.1"[..]));
    assert_eq!(msg(&out[0]).offset, 29);
    // A blank first line uses up the banner check.
    let (out, version) = parse_with(
        b"\r\nAsterisk Call Manager/1.0\r\nEvent: A\r\n\r\n",
        Limits::default(),
        false,
    );
    assert_eq!(version, None);
    assert_eq!(
        msg(&out[0]).extra_lines(),
        vec![&b"Asterisk Call Manager/1.0"[..]]
    );
    // Banner alone, then EOF: no error.
    let (out, version) = parse_with(
        b"Asterisk Call Manager/11.0.0\r\n",
        Limits::default(),
        false,
    );
    assert!(out.is_empty());
    assert_eq!(version.as_deref(), Some(&b"11.0.0"[..]));
}

#[test]
fn partial_banner_is_an_unfinished_message_at_eof() {
    let (out, version) = parse_with(b"Asterisk Call Manager/11", Limits::default(), false);
    assert_eq!(version, None);
    let e = err(&out[0]);
    assert_eq!(e.kind, ErrorKind::Truncated(24));
    assert_eq!(e.offset, 0);
    assert_eq!(e.raw.as_deref(), Some(&b"Asterisk Call Manager/11"[..]));
}

#[test]
fn eof_cases() {
    let (out, _) = parse_with(
        b"Event: A\r\n\r\nEvent: B\r\nX: 1\r\n",
        Limits::default(),
        false,
    );
    assert_eq!(out.len(), 2);
    let e = err(&out[1]);
    assert_eq!(e.kind, ErrorKind::Truncated(16));
    assert_eq!(
        e.to_string(),
        "connection closed in the middle of a message (16 bytes)"
    );
    assert_eq!(e.offset, 12);
    assert_eq!(e.excerpt, b"Event: B\r\nX: 1\r\n");
    assert_eq!(e.raw.as_deref(), Some(&b"Event: B\r\nX: 1\r\n"[..]));
    assert_eq!(e.action_id, None);
    // Only empty lines or a lone CR held: nothing to report.
    assert!(parse(b"Event: A\r\n\r\n\r\n\r").len() == 1);
    assert!(parse(b"").is_empty());
    assert!(parse(b"\n\n").is_empty());
    // Partial line without LF.
    let out = parse(b"Event: A\r\n\r\nEv");
    assert_eq!(err(&out[1]).kind, ErrorKind::Truncated(2));
    let out = parse(b"\r\r");
    assert_eq!(err(&out[0]).kind, ErrorKind::Truncated(2));
}

#[test]
fn eof_resets_offsets_and_banner_check() {
    let mut framer = ami_fast_core::Framer::new(Limits::default(), false);
    let mut sink = ami_fast_core::CollectSink::default();
    framer.feed(
        b"Asterisk Call Manager/1.0\r\nEvent: A\r\n\r\nEvent: B",
        &mut sink,
    );
    assert_eq!(framer.buffered(), 8);
    framer.feed_eof(&mut sink);
    assert_eq!(framer.version(), None);
    framer.feed(b"Asterisk Call Manager/2.0\r\nEvent: C\r\n\r\n", &mut sink);
    assert_eq!(framer.version(), Some(&b"2.0"[..]));
    let offsets: Vec<u64> = sink
        .items
        .iter()
        .map(|i| match i {
            Ok(m) => m.offset,
            Err(e) => e.offset,
        })
        .collect();
    assert_eq!(offsets, [27, 39, 27]);
}

#[test]
fn follows_with_output() {
    let input = b"Response: Follows\r\nPrivilege: Command\r\nActionID: c1\r\n\
Channel              Location\r\nKey: not a field\r\n\r\nafter blank\n--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n";
    let out = parse(input);
    assert_eq!(out.len(), 2);
    let m = msg(&out[0]);
    assert_eq!(m.kind, Kind::Response);
    assert_eq!(m.name(), Some(&b"Follows"[..]));
    assert_eq!(m.action_id(), Some(&b"c1"[..]));
    assert_eq!(
        items_of(m),
        pairs(&[
            ("Response", "Follows"),
            ("Privilege", "Command"),
            ("ActionID", "c1")
        ])
    );
    assert_eq!(
        m.output(),
        Some(&b"Channel              Location\r\nKey: not a field\r\n\r\nafter blank"[..])
    );
    assert!(m.extra_lines().is_empty());
    assert_eq!(m.raw.len(), input.len() - 15);
    assert_eq!(msg(&out[1]).name(), Some(&b"Next"[..]));
}

#[test]
fn follows_empty_output_and_marker_mid_line() {
    let out = parse(b"response: follows\r\nPrivilege: Command\r\n--END COMMAND--\r\n\r\n");
    assert_eq!(msg(&out[0]).output(), Some(&b""[..]));
    let out = parse(b"Response: Follows\nno newline at end--END COMMAND--\n\n");
    assert_eq!(msg(&out[0]).output(), Some(&b"no newline at end"[..]));
    // Only one trailing LF is removed; CRLF is not special.
    let out = parse(b"Response: Follows\r\nx\n\n--END COMMAND--\r\n\r\n");
    assert_eq!(msg(&out[0]).output(), Some(&b"x\n"[..]));
    let out = parse(b"Response: Follows\r\nx\r\n--END COMMAND--\r\n\r\n");
    assert_eq!(msg(&out[0]).output(), Some(&b"x\r"[..]));
}

#[test]
fn follows_marker_needs_line_end_and_empty_line() {
    let input =
        b"Response: Follows\r\nMessage: a --END COMMAND-- b\r\n--END COMMAND--\r\nmore\r\n\r\n\
--END COMMAND--\r\n\r\n";
    let out = parse(input);
    assert_eq!(out.len(), 1);
    let m = msg(&out[0]);
    assert_eq!(m.raw, input);
    assert_eq!(items_of(m), pairs(&[("Response", "Follows")]));
    assert_eq!(
        m.output(),
        Some(&b"Message: a --END COMMAND-- b\r\n--END COMMAND--\r\nmore\r\n\r"[..])
    );
}

#[test]
fn follows_only_on_first_line_and_exact_value() {
    let out = parse(b"Event: X\r\nResponse: Follows\r\n\r\nResponse: Follows \r\n\r\n");
    assert_eq!(out.len(), 2);
    assert_eq!(msg(&out[0]).output, None);
    assert_eq!(msg(&out[1]).name(), Some(&b"Follows "[..]));
    assert_eq!(msg(&out[1]).output, None);
}

#[test]
fn follows_unfinished_at_eof() {
    let out = parse(b"Response: Follows\r\nPrivilege: Command\r\nbody\r\n\r\n");
    assert_eq!(err(&out[0]).kind, ErrorKind::Truncated(47));
}

fn limits(max_message_bytes: usize, max_fields: usize, max_follows_bytes: usize) -> Limits {
    Limits::new(max_message_bytes, max_fields, max_follows_bytes)
}

#[test]
fn message_size_limit_is_exact() {
    // "Event: A\r\nK: 12345\r\n" is 20 bytes.
    let ok = b"Event: A\r\nK: 12345\r\n\r\nEvent: B\r\n\r\n";
    let (out, _) = parse_with(ok, limits(20, 100, 100), false);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(Result::is_ok));
    let (out, _) = parse_with(ok, limits(19, 100, 100), false);
    assert_eq!(out.len(), 2);
    let e = err(&out[0]);
    assert_eq!(e.kind, ErrorKind::MessageTooLarge(19));
    assert_eq!(e.to_string(), "message exceeds max_message_bytes (19)");
    assert_eq!(
        (e.offset, e.raw.clone(), e.action_id.clone()),
        (0, None, None)
    );
    // Up to byte `max + 1`, where the overflow became certain (whatever the chunking).
    assert_eq!(e.excerpt, b"Event: A\r\nK: 12345\r\n\r");
    assert_eq!(msg(&out[1]).name(), Some(&b"B"[..]));
    assert_eq!(msg(&out[1]).offset, 22);
}

#[test]
fn endless_line_is_reported_before_its_end_and_not_stored() {
    let mut framer = ami_fast_core::Framer::new(limits(100, 100, 100), false);
    let mut sink = ami_fast_core::CollectSink::default();
    framer.feed(b"Event: A\r\nHuge: ", &mut sink);
    for _ in 0..1000 {
        framer.feed(&[b'x'; 1000], &mut sink);
        assert!(framer.buffered() <= 100);
    }
    assert_eq!(sink.items.len(), 1);
    assert_eq!(err(&sink.items[0]).kind, ErrorKind::MessageTooLarge(100));
    assert_eq!(
        err(&sink.items[0]).excerpt,
        b"Event: A\r\nHuge: "
            .iter()
            .chain([b'x'; 48].iter())
            .copied()
            .collect::<Vec<_>>()
    );
    framer.feed(b"\r\nMore: 1\r\n\r\nEvent: After\r\n\r\n", &mut sink);
    assert_eq!(sink.items.len(), 2);
    assert_eq!(msg(&sink.items[1]).name(), Some(&b"After"[..]));
    assert_eq!(msg(&sink.items[1]).offset, 16 + 1_000_000 + 13);
}

#[test]
fn size_error_resyncs_at_next_empty_line_in_every_chunking() {
    let mut input = b"Event: Big\r\n".to_vec();
    for i in 0..30 {
        input.extend_from_slice(format!("Key{i}: value {i}\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n\r\nEvent: Small\nA: b\n\n");
    let (out, _) = parse_with(&input, limits(64, 100, 100), false);
    assert_eq!(out.len(), 2);
    assert_eq!(kind_of(&out[0]), ErrorKind::MessageTooLarge(64));
    assert_eq!(msg(&out[1]).name(), Some(&b"Small"[..]));
    // A lone partial line that could still be the empty terminator is never an overflow.
    let (out, _) = parse_with(b"Event: A\r\nB: 12\r\n\r\n", limits(17, 100, 100), false);
    assert!(out[0].is_ok());
}

#[test]
fn max_fields() {
    let input = b"Event: A\r\nB: 1\r\nC: 2\r\n\r\nEvent: D\r\nE: 1\r\n\r\n";
    let (out, _) = parse_with(input, limits(1000, 3, 1000), false);
    assert!(out.iter().all(Result::is_ok));
    let (out, _) = parse_with(input, limits(1000, 2, 1000), false);
    assert_eq!(kind_of(&out[0]), ErrorKind::TooManyFields(2));
    assert_eq!(err(&out[0]).to_string(), "message exceeds max_fields (2)");
    assert_eq!(msg(&out[1]).name(), Some(&b"D"[..]));
    // Colon-less lines count too.
    let (out, _) = parse_with(b"Event: A\r\nx\r\ny\r\n\r\n", limits(1000, 2, 1000), false);
    assert_eq!(kind_of(&out[0]), ErrorKind::TooManyFields(2));
}

#[test]
fn follows_limit_and_resync() {
    let body = "line\n".repeat(40);
    let input = format!(
        "Response: Follows\r\nPrivilege: Command\r\n{body}--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    );
    let size = input.find("--END COMMAND--").unwrap() + 17;
    // Follows messages ignore max_message_bytes.
    let (out, _) = parse_with(input.as_bytes(), limits(20, 100, size), false);
    assert!(out[0].is_ok(), "{:?}", out[0]);
    assert_eq!(msg(&out[1]).name(), Some(&b"After"[..]));
    let (out, _) = parse_with(input.as_bytes(), limits(20, 100, size - 1), false);
    assert_eq!(out.len(), 2);
    assert_eq!(kind_of(&out[0]), ErrorKind::FollowsTooLarge(size - 1));
    assert_eq!(
        err(&out[0]).to_string(),
        format!("command output exceeds max_follows_bytes ({})", size - 1)
    );
    assert_eq!(msg(&out[1]).name(), Some(&b"After"[..]));
    let (out, _) = parse_with(input.as_bytes(), limits(20, 100, 50), false);
    assert_eq!(kind_of(&out[0]), ErrorKind::FollowsTooLarge(50));
    assert_eq!(msg(&out[1]).name(), Some(&b"After"[..]));
}

#[test]
fn follows_endless_body_costs_bounded_memory() {
    let mut framer = ami_fast_core::Framer::new(limits(100, 100, 1000), false);
    let mut sink = ami_fast_core::CollectSink::default();
    framer.feed(b"Response: Follows\r\n", &mut sink);
    for _ in 0..200 {
        framer.feed(b"output line\n--END COMMAND-- not yet\n\n", &mut sink);
        assert!(framer.buffered() <= 1000);
    }
    assert_eq!(sink.items.len(), 1);
    framer.feed(b"--END COMM", &mut sink);
    framer.feed(b"AND--\r", &mut sink);
    framer.feed(b"\n\r", &mut sink);
    framer.feed(b"\nEvent: After\r\n\r\n", &mut sink);
    assert_eq!(sink.items.len(), 2);
    assert_eq!(msg(&sink.items[1]).name(), Some(&b"After"[..]));
}

#[test]
fn strict_mode() {
    let strict = |input: &[u8]| parse_with(input, Limits::default(), true).0;
    let out = strict(b"Event: A\r\nActionID: x\r\nno colon\r\nK: v\n\r\nEvent: B\r\n\r\n");
    assert_eq!(out.len(), 2);
    let e = err(&out[0]);
    assert_eq!(e.kind, ErrorKind::LineWithoutColon(23));
    assert_eq!(e.to_string(), "line without a colon at offset 23");
    assert_eq!(e.action_id.as_deref(), Some(&b"x"[..]));
    assert_eq!(
        e.raw.as_deref(),
        Some(&b"Event: A\r\nActionID: x\r\nno colon\r\nK: v\n\r\n"[..])
    );
    assert_eq!(e.offset, 0);
    assert!(out[1].is_ok());
    // Bare LF: the first problem in line order wins.
    let out = strict(b"Event: A\r\nK: v\nno colon\r\n\r\n");
    assert_eq!(kind_of(&out[0]), ErrorKind::LineWithoutCr(10));
    assert_eq!(
        err(&out[0]).to_string(),
        "line ending without CR at offset 10"
    );
    // The terminating empty line counts too.
    let out = strict(b"Event: A\r\n\nEvent: B\r\n\r\n");
    assert_eq!(kind_of(&out[0]), ErrorKind::LineWithoutCr(10));
    assert!(out[1].is_ok());
    // Follows bodies are not checked.
    let out = strict(b"Response: Follows\r\nbody\nno colon\n--END COMMAND--\n\n");
    assert!(out[0].is_ok());
    // Lenient mode accepts all of it.
    let out = parse(b"Event: A\r\nno colon\r\nK: v\n\n");
    assert!(out[0].is_ok());
}

#[test]
fn utf8_and_binary_bytes_are_framed_not_decoded() {
    let out =
        parse("Event: Ünïcødé\r\nCallerIDName: \u{1F600}\r\nRaw: \u{00ff}\r\n\r\n".as_bytes());
    assert_eq!(msg(&out[0]).name(), Some("Ünïcødé".as_bytes()));
    let out = parse(b"Event: A\r\nLatin1: \xe9t\xe9\r\nNul: \x00\r\n\r\n");
    assert_eq!(msg(&out[0]).items()[1].1, b"\xe9t\xe9");
    assert_eq!(msg(&out[0]).items()[2].1, b"\x00");
}

#[test]
fn byte_by_byte_large_input_is_linear() {
    // A 2 MB message fed one byte at a time: quadratic rescanning would never finish.
    let mut input = b"Response: Success\r\n".to_vec();
    while input.len() < 2_000_000 {
        input.extend_from_slice(b"Output: some CLI output line that is fairly long\r\n");
    }
    input.extend_from_slice(b"\r\n");
    let mut framer = ami_fast_core::Framer::new(limits(4 << 20, 1 << 20, 1 << 20), false);
    let mut sink = ami_fast_core::CollectSink::default();
    for b in input.chunks(1) {
        framer.feed(b, &mut sink);
    }
    assert_eq!(sink.items.len(), 1);
    assert_eq!(msg(&sink.items[0]).raw.len(), input.len());
    // Same for a long Follows body.
    let mut input = b"Response: Follows\r\n".to_vec();
    while input.len() < 1_000_000 {
        input.extend_from_slice(b"--END COMMAND-- partial lines of text\n");
    }
    input.extend_from_slice(b"--END COMMAND--\r\n\r\n");
    for b in input.chunks(1) {
        framer.feed(b, &mut sink);
    }
    assert_eq!(sink.items.len(), 2);
}

#[test]
fn corpus_recordings() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/asterisk22");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("corpus missing at {}", dir.display());
    };
    let mut files = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".bin") || name.ends_with(".sent.bin") {
            continue;
        }
        files += 1;
        let data = std::fs::read(&path).unwrap();
        let (out, version) = parse_with(&data, Limits::default(), true);
        assert_eq!(version.as_deref(), Some(&b"11.0.0"[..]), "{name}");
        assert!(!out.is_empty());
        let total: usize = out.iter().map(|i| msg(i).raw.len()).sum();
        assert_eq!(
            total + 30,
            data.len(),
            "{name}: every byte belongs to a message"
        );
        for item in &out {
            let m = msg(item);
            assert_ne!(m.kind, Kind::Unknown, "{name}");
            assert!(m.extra.is_empty());
        }
    }
    assert!(files >= 8);
}
