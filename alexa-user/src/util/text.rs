//! Error messages are one line: a log line per failure, and a caller that
//! reads the first line of stderr gets all of it. Text quoted from a file
//! (a CSV cell, a JSON key) may hold line breaks; they are shown escaped.

use std::borrow::Cow;

/// `s` with every control character escaped (`\n`, `\u{1b}`, ...).
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("plain `ack`"), "plain `ack`");
        assert_eq!(one_line("a\nb\r\tc\u{1b}"), "a\\nb\\r\\tc\\u{1b}");
        assert_eq!(one_line("zürich ✓"), "zürich ✓");
    }
}
