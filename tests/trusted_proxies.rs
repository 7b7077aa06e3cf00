//! `--trusted-proxies`: a trusted peer's `X-Forwarded-*` headers are kept (the chain appended
//! to), anyone else's are replaced; the access log names the first untrusted address from the
//! right. All traffic is on loopback, so the loopback address is trusted in some tests and not
//! in others.

use crate::util::{FakeOry, ProxyProcess, Req, Stack, Upstream};

/// A request with a client-made forwarding chain, through the stack's proxy; returns what the
/// upstream received as `(X-Forwarded-For, -Proto, -Host)`.
fn forwarded(stack: &Stack) -> (String, String, String) {
    via(&stack.proxy, &stack.upstream)
}

fn via(proxy: &ProxyProcess, upstream: &Upstream) -> (String, String, String) {
    let r = Req::get(&proxy.url("/where"))
        .header("X-Forwarded-For", "203.0.113.9, 198.51.100.7")
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "app.example.org")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = upstream.last_request();
    let h = |name: &str| seen.header(name).unwrap_or("<absent>").to_owned();
    (
        h("x-forwarded-for"),
        h("x-forwarded-proto"),
        h("x-forwarded-host"),
    )
}

fn logged_client(proxy: &ProxyProcess) -> String {
    let line = proxy.wait_for_log(|l| l.contains(" GET /where "));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("client="))
        .unwrap_or_else(|| panic!("no client in {line}"))
        .to_owned()
}

#[test]
fn a_trusted_peer_keeps_its_chain_and_the_log_names_the_browser() {
    let stack = Stack::start(&["--trusted-proxies", "10.0.0.0/8,127.0.0.1"]);
    let (xff, proto, host) = forwarded(&stack);
    assert_eq!(xff, "203.0.113.9, 198.51.100.7, 127.0.0.1");
    assert_eq!(proto, "https");
    assert_eq!(host, "app.example.org");
    assert_eq!(logged_client(&stack.proxy), "198.51.100.7");
}

#[test]
fn an_untrusted_peer_has_a_spoofed_chain_replaced() {
    // Loopback is not in the list: the client's headers are its own claims.
    let stack = Stack::start(&["--trusted-proxies", "10.0.0.0/8"]);
    let (xff, proto, host) = forwarded(&stack);
    assert_eq!(xff, "127.0.0.1");
    assert_eq!(proto, "http");
    assert_eq!(host, stack.proxy.addr.to_string());
    assert_eq!(logged_client(&stack.proxy), "127.0.0.1");
}

#[test]
fn nobody_is_trusted_by_default() {
    let stack = Stack::start(&[]);
    let (xff, proto, _) = forwarded(&stack);
    assert_eq!((xff.as_str(), proto.as_str()), ("127.0.0.1", "http"));
    assert_eq!(logged_client(&stack.proxy), "127.0.0.1");
}

#[test]
fn ipv6_cidrs_and_ipv4_mapped_networks_from_the_variable() {
    // An IPv6 list that covers the IPv4 loopback only through its IPv4-mapped form, as a
    // dual-stack listener sees an IPv4 peer.
    let (ory, upstream) = (FakeOry::start(), Upstream::start());
    let proxy = ProxyProcess::start_args(
        &[&upstream.url(), "--sdk-url", &ory.url()],
        &[(
            "ORY_PROXY_TRUSTED_PROXIES",
            "fd00::/8, ::ffff:127.0.0.0/104",
        )],
    );
    let (xff, _, _) = via(&proxy, &upstream);
    assert_eq!(xff, "203.0.113.9, 198.51.100.7, 127.0.0.1");
    assert_eq!(logged_client(&proxy), "198.51.100.7");
    let only_v6 = Stack::start(&["--trusted-proxies", "::1/128,fd00::/8"]);
    assert_eq!(forwarded(&only_v6).0, "127.0.0.1");
}

#[test]
fn a_bad_list_is_a_usage_error_naming_the_entry() {
    crate::util::usage::assert_refused(
        &[
            "http://127.0.0.1:1",
            "--sdk-url",
            "http://127.0.0.1:2",
            "--trusted-proxies",
            "10.0.0.0/8,lb.internal",
        ],
        &[],
        "--trusted-proxies: 'lb.internal' is not an IP address or CIDR",
    );
}
