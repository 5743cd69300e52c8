//! Object keys as they appear in manifests, reports and inventory files: URL-encoded.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986's unreserved characters and '/', so encoded keys never contain a
/// comma, quote, space or newline and can sit unquoted in a CSV field.
const KEY_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes an object key as AWS writes it in manifests and reports: every byte of the
/// UTF-8 key except `A-Z a-z 0-9 - _ . ~ /` becomes `%XX` with upper-case hex.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ENCODE_SET).to_string()
}

/// Decodes a URL-encoded key from a manifest, report or inventory file.
///
/// Strict: a `%` not followed by two hex digits, or bytes that are not UTF-8 once decoded, are
/// errors rather than passed through, so a broken manifest fails instead of naming the wrong
/// object. A literal `+` decodes to a space, because S3 decodes manifests as form encoding (and
/// S3 Inventory writes spaces that way); a real plus sign must be written `%2B`, which
/// [`encode_key`] always does.
pub fn decode_key(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    unescape(s, &mut out)?;
    String::from_utf8(out).map_err(|_| not_utf8(s))
}

/// [`decode_key`] into a buffer the caller reuses (cleared first): no allocation per key once
/// the buffer has grown, for readers of millions of rows.
pub fn decode_key_into<'b>(s: &str, out: &'b mut Vec<u8>) -> Result<&'b str, String> {
    out.clear();
    unescape(s, out)?;
    std::str::from_utf8(out).map_err(|_| not_utf8(s))
}

fn not_utf8(s: &str) -> String {
    format!("key `{s}` is not valid UTF-8 once decoded")
}

fn unescape(s: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex_value(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex_value(*b));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    // Show the escape by characters so a multi-byte letter is not cut in half.
                    let escape: String = s[i..].chars().take(3).collect();
                    return Err(format!("broken percent escape `{escape}` in `{s}`"));
                };
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(())
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(key: &str) {
        let encoded = encode_key(key);
        assert!(
            !encoded.contains([',', '"', ' ', '\n', '\r', '+']),
            "{encoded}"
        );
        assert_eq!(decode_key(&encoded).unwrap(), key, "via {encoded}");
    }

    #[test]
    fn encodes_like_aws() {
        assert_eq!(
            encode_key("a b+c,d=e%f/é~_-.txt"),
            "a%20b%2Bc%2Cd%3De%25f/%C3%A9~_-.txt"
        );
        assert_eq!(
            encode_key("photos/jpgs/objectkey4"),
            "photos/jpgs/objectkey4"
        );
    }

    #[test]
    fn round_trips() {
        let keys = super::super::fixture("manifests/plain.keys.txt");
        for key in std::str::from_utf8(&keys).unwrap().lines() {
            round_trip(key);
        }
        for key in [
            "%",
            "%25",
            "+",
            "a+b",
            ",",
            "  spaced  out ",
            "naïve/日本語/🙂",
            "\"q\"\n\r",
        ] {
            round_trip(key);
        }
        round_trip(&"k".repeat(1024));
        round_trip(&"é".repeat(512));
    }

    #[test]
    fn plus_is_a_space_and_hex_is_case_insensitive() {
        assert_eq!(decode_key("a+b%2bc%2Bd").unwrap(), "a b+c+d");
        assert_eq!(decode_key("caf%c3%a9").unwrap(), "café");
    }

    #[test]
    fn rejects_broken_escapes_and_bad_utf8() {
        assert_eq!(
            decode_key("broken%G1key").unwrap_err(),
            "broken percent escape `%G1` in `broken%G1key`"
        );
        assert!(decode_key("end%").unwrap_err().contains("`%`"));
        assert!(decode_key("end%4").unwrap_err().contains("`%4`"));
        assert!(decode_key("x%é").unwrap_err().contains("`%é`"));
        assert!(decode_key("%C3%28").unwrap_err().contains("UTF-8"));
    }
}
