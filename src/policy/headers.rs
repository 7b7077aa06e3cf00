//! Which headers cross the proxy, in either direction (SPEC §3).
//!
//! A proxy must not forward what belongs to one connection (hop-by-hop headers, RFC 9110 §7.6.1,
//! including every header the `Connection` header names), must not forward framing it does not
//! re-create (`Content-Length`, `Transfer-Encoding`: framing is recomputed), and must not trust
//! what a client claims about the proxy itself (`X-Forwarded-*`, Ory's control headers). The
//! filters here are pure functions over name/value pairs so they can be tested without sockets.

/// Headers that describe one connection and never cross a proxy.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Request headers the proxy sets itself (or deliberately drops), so a client's value never
/// passes: framing, `Host`, the `X-Forwarded-*` family, and Ory's control headers.
const SET_BY_PROXY: &[&str] = &[
    "host",
    "content-length",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "ory-base-url-rewrite",
    "ory-base-url-rewrite-token",
    "ory-no-custom-domain-redirect",
    "ory-ratelimit-action",
];

/// Whether `name` is hop-by-hop by definition.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// The header names listed in every `Connection` header of a message, lowercased.
pub fn connection_tokens<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut tokens = Vec::new();
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("connection") {
            tokens.extend(
                value
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .filter(|t| !t.is_empty()),
            );
        }
    }
    tokens
}

/// Whether a request field name has an `_`. CGI, WSGI, PHP and Rack turn `-` into `_` when they
/// make `HTTP_X_FORWARDED_FOR` of a field, so `X_Forwarded_For` lands in the same variable as
/// the proxy's `X-Forwarded-For`, ahead of it: such fields are dropped, as nginx does by default
/// (`underscores_in_headers off`). Browsers never send one.
pub fn has_underscore(name: &str) -> bool {
    name.contains('_')
}

/// Whether a client request header is copied to the next hop as is.
///
/// `connection_named` are the tokens of the request's `Connection` header. `authorization`
/// tells whether the client's `Authorization` may pass (Ory requests and `--no-jwt`).
pub fn forward_request_header(
    name: &str,
    connection_named: &[String],
    authorization: bool,
) -> bool {
    if has_underscore(name)
        || is_hop_by_hop(name)
        || SET_BY_PROXY.iter().any(|h| h.eq_ignore_ascii_case(name))
    {
        return false;
    }
    if !authorization && name.eq_ignore_ascii_case("authorization") {
        return false;
    }
    !connection_named
        .iter()
        .any(|t| t.eq_ignore_ascii_case(name))
}

/// Whether a response header from Ory or the upstream is copied to the client as is.
/// Framing headers are dropped too: the proxy writes its own.
pub fn forward_response_header(name: &str, connection_named: &[String]) -> bool {
    !(is_hop_by_hop(name)
        || name.eq_ignore_ascii_case("content-length")
        || connection_named
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_dropped() {
        let headers = [
            ("Connection", "keep-alive, X-Secret"),
            ("connection", "Foo"),
        ];
        let named = connection_tokens(headers.iter().copied());
        assert_eq!(named, ["keep-alive", "x-secret", "foo"]);
        for h in [
            "Connection",
            "Keep-Alive",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "Upgrade",
            "Proxy-Authorization",
            "Proxy-Connection",
            "X-Secret",
            "foo",
        ] {
            assert!(!forward_request_header(h, &named, true), "{h}");
            assert!(!forward_response_header(h, &named), "{h}");
        }
        for h in [
            "Accept",
            "Cookie",
            "X-Session-Token",
            "X-Request-Id",
            "Content-Type",
        ] {
            assert!(forward_request_header(h, &named, false), "{h}");
        }
        assert!(forward_response_header("Set-Cookie", &named));
        assert!(!forward_response_header("Content-Length", &named));
    }

    #[test]
    fn proxy_controlled_headers_never_pass_from_the_client() {
        for h in [
            "Host",
            "X-Forwarded-For",
            "x-forwarded-proto",
            "X-Forwarded-Host",
            "Forwarded",
            "Ory-Base-URL-Rewrite",
            "Ory-Base-URL-Rewrite-Token",
            "Ory-No-Custom-Domain-Redirect",
            "Ory-RateLimit-Action",
            "Content-Length",
        ] {
            assert!(!forward_request_header(h, &[], true), "{h}");
        }
    }

    #[test]
    fn underscore_twins_never_pass() {
        for h in [
            "X_Forwarded_For",
            "x_request_id",
            "_",
            "Accept_",
            "Ory_Base_URL_Rewrite",
        ] {
            assert!(has_underscore(h), "{h}");
            assert!(!forward_request_header(h, &[], true), "{h}");
        }
        assert!(!has_underscore("X-Forwarded-For"));
    }

    #[test]
    fn authorization_only_when_allowed() {
        assert!(!forward_request_header("Authorization", &[], false));
        assert!(forward_request_header("authorization", &[], true));
    }
}
