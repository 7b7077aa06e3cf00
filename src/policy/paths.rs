//! Paths as the servers behind the proxy read them, for the two decisions that depend on it:
//! refusing dot-segments and matching `--require-session` prefixes.
//!
//! The proxy forwards the path exactly as the client sent it, and the application's server
//! then reads it its own way: Werkzeug decodes `%2F` and `%2e` before routing, Express matches
//! case-insensitively, Rails strips a `.json` format suffix, Java servers drop `;jsessionid`,
//! Windows servers trim trailing dots and spaces. No single reading is right, so:
//!
//! - a dot-segment (`.` or `..`, raw or encoded) is refused outright, since whether and when a
//!   server resolves it decides which route it reaches (`/admin/%2e%2e` reached Flask's
//!   `/admin/<path>` view while the proxy resolved it to `/`). Browsers never send one;
//! - prefix matching errs on the side of protecting: every reading that could turn a path into
//!   a protected one is applied to the copy that is compared (see [`match_key`]).

/// Decodes `%XX` escapes once (invalid ones are kept as they are).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Whether the path of an origin-form target (up to `?`) has a dot-segment: a segment that is
/// `.` or `..` once percent-escapes are decoded (any case: `%2e`, `.%2E`), with `/`, `\`,
/// `%2F` and `%5C` all read as separators and a `;parameter` cut off (`..;x` is `..` to a Java
/// server).
pub fn has_dot_segment(target: &str) -> bool {
    let path = &target[..target.find('?').unwrap_or(target.len())];
    percent_decode(path)
        .split(|&b| b == b'/' || b == b'\\')
        .any(|segment| {
            let end = segment
                .iter()
                .position(|&b| b == b';')
                .unwrap_or(segment.len());
            matches!(&segment[..end], b"." | b"..")
        })
}

/// The copy of a path that `--require-session` prefixes are compared on, as `/seg/seg`
/// (`/` when nothing is left): percent-escapes decoded once, `\` read as `/`, empty and `.`
/// segments dropped, `..` resolved, and each segment [`segment_key`]ed.
pub fn match_key(raw: &str) -> String {
    let decoded = String::from_utf8_lossy(&percent_decode(raw)).replace('\\', "/");
    let mut segments: Vec<String> = Vec::new();
    for segment in decoded.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => {
                let key = segment_key(s);
                if !key.is_empty() {
                    segments.push(key);
                }
            }
        }
    }
    format!("/{}", segments.join("/"))
}

/// One segment as compared: cut at the first `.` that is not its first character (a format
/// suffix, `admin.json`; `.well-known` keeps its name), trailing dots, whitespace and NULs
/// trimmed (`admin%20`, `admin%00`), and case folded (`ADMIN`, and `ſ` or `K` that some
/// matchers fold to `s` and `k`).
fn segment_key(segment: &str) -> String {
    let cut = match segment.char_indices().skip(1).find(|&(_, c)| c == '.') {
        Some((i, _)) => &segment[..i],
        None => segment,
    };
    let trimmed = cut.trim_end_matches(|c: char| c == '.' || c == '\0' || c.is_whitespace());
    trimmed.to_uppercase().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        for dotted in [
            "/.",
            "/..",
            "/./admin",
            "/admin/..",
            "/admin/../x",
            "/admin/%2e%2e",
            "/admin/%2E%2e",
            "/admin/.%2E/x",
            "/%2e/admin",
            "/admin%2F..",
            "/admin%2f%2E",
            "/admin\\..\\x",
            "/admin%5c..",
            "/admin/..;x/y",
            "/admin/.;",
            "/a/..?x=1",
        ] {
            assert!(has_dot_segment(dotted), "{dotted}");
        }
        for clean in [
            "/",
            "/admin",
            "/admin/...",
            "/admin/.hidden",
            "/admin/x.",
            "/a..b",
            "/%252e%252e",
            "/x?a=/../..",
            "/%2",
            "/%",
            "/.ory/proxy",
        ] {
            assert!(!has_dot_segment(clean), "{clean}");
        }
    }

    #[test]
    fn match_keys() {
        for (raw, key) in [
            ("/", "/"),
            ("", "/"),
            ("/admin", "/admin"),
            ("/ADMIN/X", "/admin/x"),
            ("/admin.json", "/admin"),
            ("/admin.", "/admin"),
            ("/admin%20", "/admin"),
            ("/admin%20.json", "/admin"),
            ("/admin%00", "/admin"),
            ("/admin;x/y", "/admin/y"),
            ("/admin%3Bx", "/admin"),
            ("/.well-known/x", "/.well-known/x"),
            ("/.ory", "/.ory"),
            ("/%2561dmin", "/%61dmin"),
            ("/a/..", "/"),
            ("/\u{17f}ecret", "/secret"),
            ("/\u{212a}ey", "/key"),
            ("/%FF", "/\u{fffd}"),
        ] {
            assert_eq!(match_key(raw), key, "{raw:?}");
        }
    }
}
