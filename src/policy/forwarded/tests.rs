//! Tests of the trusted-proxy list and the forwarding headers.

use super::*;

fn trusted(list: &str) -> TrustedProxies {
    TrustedProxies::parse(&[list]).unwrap()
}

fn incoming<'a>(peer: &str, xff: &'a [&'a str]) -> Incoming<'a> {
    Incoming {
        peer: Some(peer.parse().unwrap()),
        xff,
        proto: Some("https"),
        host: Some("app.example"),
    }
}

#[test]
fn parses_addresses_and_cidrs_of_both_families() {
    let t = trusted("10.0.0.0/8, 192.168.1.7,::1 ,fd00::/8");
    for ip in ["10.1.2.3", "192.168.1.7", "::1", "fd12::34"] {
        assert!(t.contains(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["11.0.0.1", "192.168.1.8", "::2", "fe00::1"] {
        assert!(!t.contains(ip.parse().unwrap()), "{ip}");
    }
    assert_eq!(
        TrustedProxies::parse(&["10.0.0.0/8", "::1"]).unwrap(),
        trusted("10.0.0.0/8,::1")
    );
    // Host bits are ignored, /0 trusts a whole family.
    assert!(trusted("10.9.9.9/8").contains("10.200.0.1".parse().unwrap()));
    assert!(trusted("0.0.0.0/0").contains("8.8.8.8".parse().unwrap()));
    assert!(!trusted("0.0.0.0/0").contains("2001:db8::1".parse().unwrap()));
    assert!(trusted("::/0").contains("2001:db8::1".parse().unwrap()));
    assert!(trusted("[2001:db8::1]").contains("2001:db8::1".parse().unwrap()));
}

#[test]
fn ipv4_mapped_peers_match_ipv4_networks_and_back() {
    let t = trusted("10.0.0.0/8");
    assert!(t.contains("::ffff:10.0.0.5".parse().unwrap()));
    assert!(!t.contains("::ffff:11.0.0.5".parse().unwrap()));
    let mapped = trusted("::ffff:10.0.0.0/104");
    assert_eq!(mapped, t);
    assert!(mapped.contains("10.3.4.5".parse().unwrap()));
}

#[test]
fn bad_lists_name_the_culprit() {
    for (list, expected) in [
        (
            "10.0.0.0/33",
            "'10.0.0.0/33': the prefix length must be 0 to 32",
        ),
        ("::/129", "'::/129': the prefix length must be 0 to 128"),
        ("10.0.0.0/x", "'10.0.0.0/x': the prefix length"),
        ("example.org", "'example.org' is not an IP address or CIDR"),
        ("10.0.0.1,,10.0.0.2", "empty entry"),
        ("", "empty entry"),
    ] {
        let e = TrustedProxies::parse(&[list]).unwrap_err();
        assert!(e.contains(expected), "{list}: {e}");
    }
}

#[test]
fn untrusted_peer_has_everything_replaced() {
    let f = decide(
        &trusted("10.0.0.0/8"),
        &incoming("203.0.113.9:5000", &["1.2.3.4"]),
        "http",
        "localhost:4000",
    );
    assert_eq!(
        f,
        Forwarded {
            xff: "203.0.113.9".into(),
            proto: "http".into(),
            host: "localhost:4000".into(),
            client: "203.0.113.9".into(),
        }
    );
    // Nobody is trusted by default, not even loopback.
    let f = decide(
        &TrustedProxies::default(),
        &incoming("127.0.0.1:1", &["1.2.3.4"]),
        "http",
        "h",
    );
    assert_eq!(
        (f.xff.as_str(), f.client.as_str()),
        ("127.0.0.1", "127.0.0.1")
    );
}

#[test]
fn trusted_peer_chain_is_kept_and_appended_to() {
    let t = trusted("10.0.0.0/8");
    let f = decide(
        &t,
        &incoming("10.0.0.2:5000", &["198.51.100.7, 10.0.0.9", "10.0.0.3"]),
        "http",
        "localhost:4000",
    );
    assert_eq!(f.xff, "198.51.100.7, 10.0.0.9, 10.0.0.3, 10.0.0.2");
    assert_eq!(
        (f.proto.as_str(), f.host.as_str()),
        ("https", "app.example")
    );
    assert_eq!(f.client, "198.51.100.7");
}

#[test]
fn client_is_the_first_untrusted_address_from_the_right() {
    let t = trusted("10.0.0.0/8");
    // A client spoofing a chain in front of a trusted balancer: its fake entries are kept
    // in the header, but the address the balancer saw is the client.
    let f = decide(
        &t,
        &incoming("10.0.0.2:1", &["6.6.6.6, 198.51.100.7"]),
        "http",
        "h",
    );
    assert_eq!(f.xff, "6.6.6.6, 198.51.100.7, 10.0.0.2");
    assert_eq!(f.client, "198.51.100.7");
    // All hops trusted: the leftmost is the client.
    let f = decide(&t, &incoming("10.0.0.2:1", &["10.0.0.8"]), "http", "h");
    assert_eq!(f.client, "10.0.0.8");
    // No chain: the trusted peer itself.
    let f = decide(&t, &incoming("10.0.0.2:1", &[]), "http", "h");
    assert_eq!(
        (f.xff.as_str(), f.client.as_str()),
        ("10.0.0.2", "10.0.0.2")
    );
    // Garbage stops the walk at the last address before it.
    let f = decide(
        &t,
        &incoming("10.0.0.2:1", &["1.1.1.1, nonsense, 10.0.0.4"]),
        "http",
        "h",
    );
    assert_eq!(f.client, "10.0.0.4");
    // Entries with ports, and IPv6.
    let f = decide(
        &t,
        &incoming("10.0.0.2:1", &["[2001:db8::7]:443"]),
        "http",
        "h",
    );
    assert_eq!(f.client, "2001:db8::7");
    let f = decide(
        &t,
        &incoming("10.0.0.2:1", &["198.51.100.7:5555"]),
        "http",
        "h",
    );
    assert_eq!(f.client, "198.51.100.7");
}

#[test]
fn ipv6_and_mapped_peers() {
    let t = trusted("fd00::/8");
    let f = decide(&t, &incoming("[fd00::1]:1", &["2001:db8::5"]), "http", "h");
    assert_eq!(f.xff, "2001:db8::5, fd00::1");
    assert_eq!(f.client, "2001:db8::5");
    // An IPv4 client on a dual-stack listener is written as IPv4, trusted or not.
    let f = decide(
        &t,
        &incoming("[::ffff:192.0.2.1]:1", &["1.1.1.1"]),
        "http",
        "h",
    );
    assert_eq!(
        (f.xff.as_str(), f.client.as_str()),
        ("192.0.2.1", "192.0.2.1")
    );
    let t = trusted("192.0.2.0/24");
    let f = decide(
        &t,
        &incoming("[::ffff:192.0.2.1]:1", &["::ffff:1.1.1.1"]),
        "http",
        "h",
    );
    assert_eq!(f.xff, "::ffff:1.1.1.1, 192.0.2.1");
    assert_eq!(f.client, "1.1.1.1");
}

#[test]
fn empty_forwarded_values_fall_back_to_the_proxys_own() {
    let t = trusted("10.0.0.0/8");
    let req = Incoming {
        peer: Some("10.0.0.2:1".parse().unwrap()),
        xff: &[" "],
        proto: Some(""),
        host: None,
    };
    let f = decide(&t, &req, "http", "localhost:4000");
    assert_eq!(
        (f.xff.as_str(), f.proto.as_str(), f.host.as_str()),
        ("10.0.0.2", "http", "localhost:4000")
    );
    let no_peer = Incoming { peer: None, ..req };
    assert_eq!(decide(&t, &no_peer, "http", "h").xff, "unknown");
}
