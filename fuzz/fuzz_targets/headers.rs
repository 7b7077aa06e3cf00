//! Request heads and header filters on arbitrary input: `http::head` (where a head ends, httparse,
//! the SPEC §7 rules and RFC 9112 §6 framing), the hop-by-hop filters, and the upstream
//! response-head parser of the WebSocket handshake. Nothing may panic, and the verdicts must be
//! consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ory_proxy::http::framing::BodyFraming;
use ory_proxy::http::head;
use ory_proxy::policy::headers;
use ory_proxy::proxy::heads;

fuzz_target!(|data: &[u8]| check(data));

fn check(data: &[u8]) {
    // The response-head parser sees raw bytes.
    if let Ok(h) = heads::parse_response(data) {
        assert!((100..=599).contains(&h.status));
        for (name, value) in &h.headers {
            assert!(!name.as_str().is_empty());
            assert!(!value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | b'\0')));
        }
    }

    // A request head, as the connection reads it.
    let Some(end) = head::head_end(data, 0) else {
        return;
    };
    assert!(end <= data.len());
    let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 1));
    let r = head::parse(&data[..end], peer);
    if r.refusal.is_some() {
        return;
    }
    // Accepted: a token method, a visible-ASCII target without a fragment, a Host on 1.1.
    assert!(!r.method.is_empty() && r.method.bytes().all(|b| b.is_ascii_graphic()));
    assert!(r.target.bytes().all(|b| b.is_ascii_graphic()) && !r.target.contains('#'));
    assert!(r.method != "CONNECT" && r.method != "TRACE");
    let named = |n: &str| -> Vec<&[u8]> {
        r.header_bytes()
            .filter(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v)
            .collect()
    };
    assert!(r.minor_version == 0 || named("host").len() == 1);
    let lengths = named("content-length");
    let codings = named("transfer-encoding");
    match r.framing {
        BodyFraming::None => assert!(lengths.is_empty() && codings.is_empty()),
        BodyFraming::Length(n) => {
            assert!(codings.is_empty() && !lengths.is_empty());
            assert!(n <= ory_proxy::http::framing::MAX_BODY_LENGTH);
            for v in &lengths {
                assert!(v.iter().all(u8::is_ascii_digit), "{v:?}");
                let text = std::str::from_utf8(v).unwrap();
                assert_eq!(text.parse::<u64>().ok(), Some(n), "{v:?}");
            }
        }
        BodyFraming::Chunked => {
            assert!(lengths.is_empty());
            assert_eq!(codings.len(), 1);
            assert!(codings[0].eq_ignore_ascii_case(b"chunked"));
        }
    }

    // Whatever the filters let through to the next hop is never hop-by-hop, never named by
    // Connection, and never the client's Authorization when the proxy owns it.
    let pairs: Vec<(&str, &str)> = r.header_pairs().collect();
    let connection_named = headers::connection_tokens(pairs.iter().copied());
    for (name, _) in &pairs {
        if headers::forward_request_header(name, &connection_named, false) {
            assert!(!headers::is_hop_by_hop(name));
            assert!(!name.eq_ignore_ascii_case("authorization"));
            assert!(!name.eq_ignore_ascii_case("host"));
            assert!(!connection_named
                .iter()
                .any(|t| t.eq_ignore_ascii_case(name)));
        }
        if headers::forward_response_header(name, &connection_named) {
            assert!(!headers::is_hop_by_hop(name));
            assert!(!name.eq_ignore_ascii_case("content-length"));
        }
    }
}
