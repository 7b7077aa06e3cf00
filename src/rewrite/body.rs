//! Rewriting URLs inside Ory's bodies, and deciding which bodies may be rewritten at all.
//!
//! Ory's flow JSON and HTML pages name the SDK URL (form actions, links), which the browser must
//! reach through the proxy instead. Only bodies that are textual, stored as is (no
//! `Content-Encoding`) and at most [`MAX_REWRITE_BODY`] bytes are buffered for that; everything
//! else, event streams in particular, streams through untouched.

/// The largest Ory body that is buffered and rewritten; larger bodies stream untouched.
pub const MAX_REWRITE_BODY: u64 = 16 * 1024 * 1024;

/// Whether an Ory body of this `Content-Type` is text the proxy may rewrite: `text/*` (but not
/// `text/event-stream`, which must stream), JSON, JavaScript, XML and form data.
pub fn is_textual(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    match kind {
        "text" => sub != "event-stream",
        "application" => {
            matches!(
                sub,
                "json"
                    | "javascript"
                    | "x-javascript"
                    | "ecmascript"
                    | "xml"
                    | "xhtml+xml"
                    | "x-www-form-urlencoded"
            ) || sub.ends_with("+json")
                || sub.ends_with("+xml")
        }
        _ => false,
    }
}

/// Whether a `Content-Encoding` value means the body is stored as is.
pub fn is_identity_encoding(content_encoding: Option<&str>) -> bool {
    match content_encoding.map(str::trim) {
        None | Some("") => true,
        Some(e) => e.eq_ignore_ascii_case("identity"),
    }
}

/// Replaces `needle` (a URL without a trailing slash) by `replacement` wherever it stands as a
/// whole origin: a match followed by a host or port character (`http://ory:4433` inside
/// `http://ory:44331`, or `https://ory.example` inside `https://ory.example.evil`) is skipped.
pub(crate) fn replace_origin(body: &[u8], needle: &[u8], replacement: &[u8]) -> Option<Vec<u8>> {
    if needle.is_empty() || body.len() < needle.len() {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + needle.len() <= body.len() {
        let Some(found) = find(&body[i..], needle) else {
            break;
        };
        let start = i + found;
        let end = start + needle.len();
        let continues = body.get(end).is_some_and(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'@')
        });
        if !continues {
            let o = out.get_or_insert_with(|| Vec::with_capacity(body.len() + 256));
            o.extend_from_slice(&body[copied..start]);
            o.extend_from_slice(replacement);
            copied = end;
        }
        i = end;
    }
    let mut o = out?;
    o.extend_from_slice(&body[copied..]);
    Some(o)
}

/// The first index of `needle` in `haystack` (a first-byte scan, then a compare).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let pos = haystack[i..=last_start].iter().position(|&b| b == first)?;
        let at = i + pos;
        if &haystack[at..at + needle.len()] == needle {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textual_types() {
        for t in [
            "text/html; charset=utf-8",
            "TEXT/PLAIN",
            "application/json",
            "application/problem+json",
            "application/javascript",
            "application/xml",
            "application/atom+xml",
            "application/x-www-form-urlencoded",
        ] {
            assert!(is_textual(t), "{t}");
        }
        for t in [
            "image/png",
            "application/octet-stream",
            "text/event-stream",
            "",
            "json",
            "font/woff2",
        ] {
            assert!(!is_textual(t), "{t}");
        }
        assert!(is_identity_encoding(None));
        assert!(is_identity_encoding(Some("identity")));
        assert!(!is_identity_encoding(Some("gzip")));
    }
}
