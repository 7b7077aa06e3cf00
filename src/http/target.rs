//! The request-target's forms (RFC 9112 §3.2): origin-form (`/path?query`) and absolute-form
//! (`http://host/path`), which carries the request's host itself. Pure string functions, used
//! by the framing checks (the authority must be a valid host) and by routing.

/// The origin-form target (`/path?query`) of a raw request-target; absolute-form targets
/// (`http://host/path`, RFC 9112 §3.2.2) are reduced to their path. `None` for anything else.
pub fn origin_form(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return Some(target);
    }
    let rest = after_scheme(target)?;
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => Some(&rest[i..]),
        // `http://host?x` has an empty path: RFC 9112 says send `/?x`; rare enough to refuse.
        Some(_) => None,
        None => Some("/"),
    }
}

/// What follows `http://` or `https://` (either in any case) at the start of a target.
fn after_scheme(target: &str) -> Option<&str> {
    let lower = target
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("http://") {
        Some(&target[7..])
    } else if lower.starts_with("https://") {
        Some(&target[8..])
    } else {
        None
    }
}

/// The authority (`host[:port]`) of an absolute-form target, `None` for any other form. With an
/// absolute-form target the request's host is this one, not the `Host` field (RFC 9112 §3.2.2).
pub fn absolute_authority(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return None;
    }
    let rest = after_scheme(target)?;
    Some(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_form_targets() {
        assert_eq!(origin_form("/a?b"), Some("/a?b"));
        assert_eq!(origin_form("http://h:1/a?b"), Some("/a?b"));
        assert_eq!(absolute_authority("http://h:1/a?b"), Some("h:1"));
        assert_eq!(absolute_authority("HTTPS://h"), Some("h"));
        assert_eq!(absolute_authority("/a"), None);
        assert_eq!(origin_form("HTTPS://h"), Some("/"));
        assert_eq!(origin_form("*"), None);
        assert_eq!(origin_form("h/a"), None);
        assert_eq!(origin_form(""), None);
    }
}
