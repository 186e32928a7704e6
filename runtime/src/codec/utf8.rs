//! Received strings: the UTF-8 check, with a fast path for ASCII, and the
//! copy of a string that must not share the receive buffer.
//!
//! Most strings on the wire are ASCII. `std::str::from_utf8` walks a short
//! unaligned string a byte at a time (about 85 instructions for 16 bytes);
//! `<[u8]>::is_ascii` reads it a word at a time (a handful). Strings with
//! any non-ASCII byte take the full check, so every error is still the
//! standard library's, naming the first invalid byte.

use std::str::Utf8Error;
use std::sync::Arc;

use faststr::FastStr;

/// The longest string `FastStr` keeps inline (faststr 0.2's capacity). Were
/// it to shrink, longer strings would still come out right, through
/// `from_arc_str`'s own check, only with an allocation more.
const INLINE: usize = 30;

/// `bytes` as a `&str`, or the error naming the first byte that is not
/// valid UTF-8.
#[inline]
pub(crate) fn check(bytes: &[u8]) -> Result<&str, Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and a sequence of such bytes is
        // valid UTF-8 (each one is a whole one-byte code point).
        return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes)
}

/// A received string as an owned `FastStr`: inline when short, else one
/// `Arc<str>` allocation. (`FastStr::new` makes two for a long string: a
/// `Vec` turned into `Bytes`, then an `Arc` around it.)
#[inline]
pub(crate) fn copied(s: &str) -> FastStr {
    if s.len() <= INLINE {
        FastStr::new(s)
    } else {
        FastStr::from_arc_str(Arc::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::{check, copied};

    #[test]
    fn copies_are_equal_to_their_source_at_every_length() {
        for len in [0, 1, 29, 30, 31, 32, 1024] {
            let s = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(copied(&s), s.as_str(), "length {}", s.len());
        }
    }

    #[test]
    fn ascii_multibyte_and_invalid_input_are_told_apart() {
        assert_eq!(check(b"").unwrap(), "");
        assert_eq!(
            check(b"abcdefghijklmnopqrstuvwxyz").unwrap(),
            "abcdefghijklmnopqrstuvwxyz"
        );
        assert_eq!(
            check("h\u{e9}llo \u{1f980}".as_bytes()).unwrap(),
            "h\u{e9}llo \u{1f980}"
        );
        // A lone continuation byte, a truncated sequence, an overlong
        // encoding and a surrogate: all refused, at the right offset.
        for (bad, valid_up_to) in [
            (&b"abc\x80def"[..], 3),
            (&b"0123456789abcdef\xe2\x82"[..], 16),
            (&b"\xc0\xafxyz"[..], 0),
            (&b"ok\xed\xa0\x80"[..], 2),
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.valid_up_to(), valid_up_to, "{bad:?}");
        }
    }
}
