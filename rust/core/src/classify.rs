//! Message kind from the first field's key (ASCII case-insensitive).

/// What a message is, decided by its first field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Event,
    Response,
    Action,
    Unknown,
}

impl Kind {
    /// The kind of a message whose first field has this key.
    #[inline]
    #[must_use]
    pub fn from_first_key(key: &[u8]) -> Self {
        // Dispatch on length, then compare whole words with ASCII letters folded to lower
        // case (`b | 0x20` is a given lower-case letter only for that letter in either case).
        let word4 =
            |at: usize| u32::from_le_bytes([key[at], key[at + 1], key[at + 2], key[at + 3]]);
        match key.len() {
            5 if word4(0) | 0x2020_2020 == u32::from_le_bytes(*b"even")
                && key[4] | 0x20 == b't' =>
            {
                Self::Event
            }
            8 if (u64::from(word4(0)) | u64::from(word4(4)) << 32) | 0x2020_2020_2020_2020
                == u64::from_le_bytes(*b"response") =>
            {
                Self::Response
            }
            6 if word4(0) | 0x2020_2020 == u32::from_le_bytes(*b"acti")
                && word4(2) | 0x2020_2020 == u32::from_le_bytes(*b"tion") =>
            {
                Self::Action
            }
            _ => Self::Unknown,
        }
    }

    /// The Python-visible name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Response => "response",
            Self::Action => "action",
            Self::Unknown => "unknown",
        }
    }
}

/// `ActionID`, ASCII case-insensitive.
#[inline]
#[must_use]
pub fn is_action_id_key(key: &[u8]) -> bool {
    key.len() == 8 && key.eq_ignore_ascii_case(b"ActionID")
}

/// A header line of a legacy Follows message after its `Response` line.
#[inline]
#[must_use]
pub fn is_follows_header_key(key: &[u8]) -> bool {
    is_action_id_key(key) || key.eq_ignore_ascii_case(b"Privilege")
}

/// The value that starts legacy command output (`Response: Follows`).
#[inline]
#[must_use]
pub fn is_follows_value(value: &[u8]) -> bool {
    value.eq_ignore_ascii_case(b"Follows")
}

/// The banner rule: no colon, contains `Manager` and `/`. `line` has no line end.
#[must_use]
pub fn is_banner(line: &[u8]) -> bool {
    !line.contains(&b':')
        && line.contains(&b'/')
        && memchr::memmem::find(line, b"Manager").is_some()
}

/// The version in a banner line: the text after the last `/`.
#[must_use]
pub fn banner_version(line: &[u8]) -> &[u8] {
    match memchr::memrchr(b'/', line) {
        Some(i) => &line[i + 1..],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Kind::from_first_key(b"Event"), Kind::Event);
        assert_eq!(Kind::from_first_key(b"eVENT"), Kind::Event);
        assert_eq!(Kind::from_first_key(b"RESPONSE"), Kind::Response);
        assert_eq!(Kind::from_first_key(b"action"), Kind::Action);
        assert_eq!(Kind::from_first_key(b"Event "), Kind::Unknown);
        assert_eq!(Kind::from_first_key(b"Events"), Kind::Unknown);
        assert_eq!(Kind::from_first_key(b""), Kind::Unknown);
    }

    /// The word comparison agrees with `eq_ignore_ascii_case` for every byte in every place.
    #[test]
    fn kinds_match_a_plain_comparison() {
        let reference = |key: &[u8]| {
            if key.eq_ignore_ascii_case(b"Event") {
                Kind::Event
            } else if key.eq_ignore_ascii_case(b"Response") {
                Kind::Response
            } else if key.eq_ignore_ascii_case(b"Action") {
                Kind::Action
            } else {
                Kind::Unknown
            }
        };
        for word in [&b"Event"[..], b"Response", b"Action", b"Eventt", b"Respons"] {
            for at in 0..word.len() {
                for byte in 0..=255u8 {
                    let mut key = word.to_vec();
                    key[at] = byte;
                    assert_eq!(Kind::from_first_key(&key), reference(&key), "{key:?}");
                }
            }
        }
    }

    #[test]
    fn banner() {
        assert!(is_banner(b"Asterisk Call Manager/11.0.0"));
        assert!(is_banner(b"Asterisk Manager Proxy/1.0"));
        assert!(!is_banner(b"Asterisk Call Manager 11"));
        assert!(!is_banner(b"Response: Manager/1"));
        assert!(!is_banner(b"asterisk call manager/1"));
        assert_eq!(banner_version(b"Asterisk Call Manager/11.0.0"), b"11.0.0");
        assert_eq!(banner_version(b"A Manager/x/2.0"), b"2.0");
    }
}
