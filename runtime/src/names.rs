//! Names a peer sent (methods, services, paths), made safe to quote back in
//! an error message or a log line: at most [`MAX_ECHOED_NAME`] bytes.
//!
//! A peer chooses these names, so their length is the peer's too: an error
//! that quotes one in full lets a client make the server send (and log)
//! as many bytes as it likes.

use std::borrow::Cow;

/// The most bytes of a peer's name quoted in an error message: 128.
pub(crate) const MAX_ECHOED_NAME: usize = 128;

/// `name` cut to at most [`MAX_ECHOED_NAME`] bytes on a character boundary,
/// with `…` appended when cut.
pub(crate) fn truncated(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_ECHOED_NAME {
        return Cow::Borrowed(name);
    }
    let mut end = MAX_ECHOED_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &name[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(truncated("EchoUnary"), "EchoUnary");
        assert_eq!(truncated(""), "");
        let exact = "x".repeat(MAX_ECHOED_NAME);
        assert_eq!(truncated(&exact), exact);
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let long = "m".repeat(10_000);
        let cut = truncated(&long);
        assert_eq!(cut, format!("{}…", "m".repeat(MAX_ECHOED_NAME)));
        // A 3-byte character straddling the limit is dropped whole.
        let straddling = format!("{}€€", "a".repeat(MAX_ECHOED_NAME - 1));
        let cut = truncated(&straddling);
        assert_eq!(cut, format!("{}…", "a".repeat(MAX_ECHOED_NAME - 1)));
    }
}
