//! `Set-Cookie` rewriting: Ory's and the application's cookies made valid for the public URL.
//!
//! A cookie set by a next hop names that hop's domain and may carry attributes (`Secure`,
//! `SameSite=None`, `Partitioned`) that a browser rejects on a plain-http public URL, which
//! silently breaks sign-in. This module is the one rule for all of them; it works on one header
//! value at a time and keeps whatever it does not recognise.

/// Rewrites one `Set-Cookie` value.
///
/// The `name=value` pair is kept byte for byte (even without `=`, or quoted, or empty). Among
/// the attributes, `Domain` becomes `--cookie-domain` or disappears, `Secure` is present
/// exactly when the public URL is https, and without `Secure` a `SameSite=None` becomes `Lax`
/// (browsers reject `None` without `Secure`) and `Partitioned` is dropped (it requires
/// `Secure`). Everything else, unknown attributes and `Expires` dates with commas included,
/// keeps its text and order. `__Host-` cookies never get a `Domain` (browsers reject them).
///
/// `cookie_domain` is `--cookie-domain` (port already stripped); `secure` is whether the public
/// URL is https.
pub fn rewrite_set_cookie(value: &str, cookie_domain: Option<&str>, secure: bool) -> String {
    let mut segments = value.split(';');
    let pair = segments.next().unwrap_or_default();
    let name = pair.split_once('=').map_or("", |(n, _)| n.trim());
    let host_only = name
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("__Host-"));
    let domain = cookie_domain.filter(|_| !host_only);

    let mut out = String::with_capacity(value.len() + 32);
    out.push_str(pair);
    let mut domain_written = false;
    let mut secure_written = false;
    for segment in segments {
        let (attr, attr_value) = match segment.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (segment.trim(), None),
        };
        if attr.eq_ignore_ascii_case("domain") {
            if let (Some(d), false) = (domain, domain_written) {
                out.push_str("; Domain=");
                out.push_str(d);
                domain_written = true;
            }
            continue;
        }
        if attr.eq_ignore_ascii_case("secure") {
            if secure && !secure_written {
                out.push(';');
                out.push_str(segment);
                secure_written = true;
            }
            continue;
        }
        if !secure {
            if attr.eq_ignore_ascii_case("samesite")
                && attr_value.is_some_and(|v| v.eq_ignore_ascii_case("none"))
            {
                out.push_str("; SameSite=Lax");
                continue;
            }
            if attr.eq_ignore_ascii_case("partitioned") {
                continue;
            }
        }
        out.push(';');
        out.push_str(segment);
    }
    if let (Some(d), false) = (domain, domain_written) {
        out.push_str("; Domain=");
        out.push_str(d);
    }
    if secure && !secure_written {
        out.push_str("; Secure");
    }
    out
}
