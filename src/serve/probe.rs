//! The start-up reachability check: right after the banner, in the background, is the
//! application there, is Ory? A warning in the words of [`crate::error_text`] for each that is
//! not. Part of starting the proxy, not of observing it: the connect itself is
//! [`crate::obs::health::probe`], shared with the readiness endpoint.

use crate::config::{Config, Mode};
use crate::error_text;
use crate::obs::{health, logger};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// At start-up, checks in the background that the application and Ory accept a connection,
/// and warns (in the words of [`crate::error_text`]) about each that does not. Never blocks or
/// stops the start: the application may simply come up after the proxy.
pub fn probe_at_start(config: &Config) {
    let hops = error_text::Hops::new(&config.upstream.origin, &config.issuer, &config.sdk_source);
    // In tunnel mode the application is never forwarded to (it only calls the tunnel).
    let tunnel = config.mode == Mode::Tunnel;
    let upstream = format!("{}:{}", config.upstream.host, config.upstream.port);
    let ory = format!("{}:{}", config.sdk.host, config.sdk.port);
    let spawned = std::thread::Builder::new()
        .name("start-probe".into())
        .spawn(move || {
            let ory_check = std::thread::spawn(move || health::probe(&ory, health::PROBE_TIMEOUT));
            let upstream_check = if tunnel {
                Ok(())
            } else {
                health::probe(&upstream, health::PROBE_TIMEOUT)
            };
            let ory_check = ory_check.join().unwrap_or(Ok(()));
            for (failed, error) in [
                (
                    upstream_check,
                    crate::error::Error::UpstreamUnreachable as fn(String) -> _,
                ),
                (ory_check, crate::error::Error::OryUnreachable),
            ] {
                if let Err(why) = failed {
                    let explained = error_text::explain(&error(why), &hops);
                    logger::warn(&format!("start-up check: {}", explained.summary));
                }
            }
        });
    if let Err(e) = spawned {
        logger::warn(&format!("start-up check not run: {e}"));
    }
}

/// Warns when a next hop is one of the addresses the proxy listens on: the upstream (proxy
/// mode), or Ory's URL. Requests sent there come back and are answered 508 Loop Detected
/// ([`crate::proxy`]); the warning says so before the first one. Only a hop whose port is a
/// listening port is resolved, so a remote name costs no lookup.
pub fn warn_on_self_loop(config: &Config, listening: &[SocketAddr]) {
    let mut hops = Vec::new();
    if config.mode == Mode::Proxy {
        hops.push((
            &config.upstream,
            format!("the upstream {}", config.upstream.origin),
            "start your application on another port and pass its URL".to_owned(),
        ));
    }
    let setting = config
        .sdk_source
        .split([' ', '='])
        .next()
        .unwrap_or("--sdk-url");
    hops.push((
        &config.sdk,
        format!("Ory's URL {} ({setting})", config.issuer),
        format!("check {setting}"),
    ));
    for (origin, what, fix) in hops {
        if !listening.iter().any(|l| l.port() == origin.port) {
            continue;
        }
        let resolved: Vec<SocketAddr> = (origin.host.trim_matches(['[', ']']), origin.port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .unwrap_or_default();
        if let Some(own) = listening
            .iter()
            .find(|l| resolved.iter().any(|r| is_own(*r, **l)))
        {
            logger::warn(&format!(
                "{what} is this proxy's own address (it listens on {own}): requests sent there \
                 come back here and get 508 Loop Detected — {fix}"
            ));
        }
    }
}

/// Whether a connection to `next` reaches the listener bound to `listening`: the same address,
/// or a loopback (or unspecified) address on a listener bound to all addresses.
fn is_own(next: SocketAddr, listening: SocketAddr) -> bool {
    if next.port() != listening.port() {
        return false;
    }
    let (n, l) = (next.ip(), listening.ip());
    let n_v4 = match n {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(n, IpAddr::V4),
        v4 => v4,
    };
    n == l
        || n_v4 == l
        || (l.is_unspecified() && (n.is_loopback() || n_v4.is_loopback() || n.is_unspecified()))
}

#[cfg(test)]
mod tests {
    use super::is_own;

    #[test]
    fn own_addresses_are_the_bound_one_or_loopback_on_a_wildcard() {
        let at = |s: &str| s.parse().unwrap();
        assert!(is_own(at("127.0.0.1:4000"), at("127.0.0.1:4000")));
        assert!(is_own(at("127.0.0.1:4000"), at("[::]:4000")));
        assert!(is_own(at("[::1]:4000"), at("0.0.0.0:4000")));
        assert!(is_own(at("[::ffff:127.0.0.1]:4000"), at("127.0.0.1:4000")));
        assert!(!is_own(at("127.0.0.1:3000"), at("127.0.0.1:4000")));
        assert!(!is_own(at("127.0.0.2:4000"), at("127.0.0.1:4000")));
        assert!(!is_own(at("10.0.0.1:4000"), at("[::1]:4000")));
    }
}
