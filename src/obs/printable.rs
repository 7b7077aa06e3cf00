//! Which characters a log line may carry raw, and how the others are written.
//!
//! Peers put bytes into log lines (a path, an `Origin`, a bad `Content-Length` value). A control
//! character can split a line or drive a terminal; a format character (U+202E RIGHT-TO-LEFT
//! OVERRIDE, U+200B ZERO WIDTH SPACE) makes a line read differently from what it holds; U+2028
//! and U+2029 break lines in editors and JavaScript. So every character of Unicode's categories
//! Cc, Cf, Zl and Zp is written escaped: `\u{202e}` in text lines, `\u202e` in JSON.
//!
//! The standard library knows Cc (`char::is_control`) but not Cf, and no crate is pulled in for
//! one table: [`FORMAT`] is Unicode 17's Cf, which changes rarely (two additions since 2019).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Unicode general category Cf (format), inclusive ranges, from `DerivedGeneralCategory.txt`.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Whether `c` must not reach a log line raw: Unicode Cc, Cf, Zl (U+2028) or Zp (U+2029).
pub fn is_unprintable(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || u == 0x2028
        || u == 0x2029
        || (u >= 0xAD && FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&u)))
}

/// `s` for a text line: every [`is_unprintable`] character written as `\u{hex}`.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unprintable(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `c` as JSON's `\uXXXX` escape (a surrogate pair above U+FFFF).
pub fn push_json_escape(out: &mut String, c: char) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        let _ = write!(out, "\\u{unit:04x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories() {
        for c in [
            '\0',
            '\n',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9f}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{200f}',
            '\u{202e}',
            '\u{2028}',
            '\u{2029}',
            '\u{2066}',
            '\u{feff}',
            '\u{fffb}',
            '\u{1343f}',
            '\u{e0001}',
            '\u{e007f}',
        ] {
            assert!(is_unprintable(c), "{:x}", u32::from(c));
        }
        for c in [
            ' ',
            'a',
            '~',
            '\u{a0}',
            '\u{e9}',
            '\u{2010}',
            '\u{2027}',
            '\u{202f}',
            '\u{2065}',
            '\u{fffc}',
            '\u{1f600}',
            '\u{e0080}',
            '\u{13440}',
        ] {
            assert!(!is_unprintable(c), "{:x}", u32::from(c));
        }
    }

    #[test]
    fn escapes() {
        assert!(matches!(text("plain é"), Cow::Borrowed("plain é")));
        assert_eq!(
            text("a\u{202e}b\u{2028}c\u{200b}\n\u{e0001}"),
            "a\\u{202e}b\\u{2028}c\\u{200b}\\u{a}\\u{e0001}"
        );
        let mut json = String::new();
        push_json_escape(&mut json, '\u{202e}');
        push_json_escape(&mut json, '\u{e0001}');
        assert_eq!(json, "\\u202e\\udb40\\udc01");
    }
}
