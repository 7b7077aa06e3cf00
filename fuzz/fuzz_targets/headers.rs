//! Request-head checks and header filters on arbitrary input: `framing::check_request` (size,
//! count and RFC 9112 §6 framing), the hop-by-hop filters, and the upstream response-head parser
//! of the WebSocket handshake. Nothing may panic, and the verdicts must be consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ory_proxy::http::framing::{self, BodyFraming, Refusal};
use ory_proxy::{headers, tunnel};

fuzz_target!(|data: &[u8]| {
    // The response-head parser sees raw bytes.
    if let Ok(head) = tunnel::parse_response_head(data) {
        assert!((100..=599).contains(&head.status));
        for (name, value) in &head.headers {
            assert!(!name.is_empty());
            assert!(!value.contains(['\r', '\n', '\0']));
        }
    }

    // A request head: first line "METHOD target", then "name: value" lines.
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let pairs: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n, v.trim()))
        .collect();
    let verdict = framing::check_request(method, target, pairs.iter().copied());
    let named = |n: &'static str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| *v)
            .collect()
    };
    let lengths = named("content-length");
    let codings = named("transfer-encoding");
    let size: usize = method.len()
        + target.len()
        + 12
        + pairs
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>();
    match &verdict {
        Ok(BodyFraming::None) => {
            assert!(lengths.is_empty() && codings.is_empty());
        }
        Ok(BodyFraming::Length(n)) => {
            assert!(codings.is_empty());
            assert!(!lengths.is_empty());
            // Every Content-Length is exactly this plain decimal number.
            for v in &lengths {
                assert!(v.bytes().all(|b| b.is_ascii_digit()), "{v:?}");
                assert_eq!(v.parse::<u64>().ok(), Some(*n), "{v:?}");
            }
        }
        Ok(BodyFraming::Chunked) => {
            assert!(lengths.is_empty());
            assert_eq!(codings.len(), 1);
            assert!(codings[0].eq_ignore_ascii_case("chunked"));
        }
        Err(Refusal::TooLarge(_)) => {
            assert!(size > framing::MAX_HEAD_BYTES || pairs.len() > framing::MAX_HEADERS);
        }
        Err(Refusal::Ambiguous(_)) => {}
    }
    if verdict.is_ok() {
        assert!(size <= framing::MAX_HEAD_BYTES && pairs.len() <= framing::MAX_HEADERS);
    }

    // Whatever the filters let through to the next hop is never hop-by-hop, never named by
    // Connection, and never the client's Authorization when the proxy owns it.
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
});
