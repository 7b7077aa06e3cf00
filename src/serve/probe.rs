//! The start-up reachability check: right after the banner, in the background, is the
//! application there, is Ory? A warning in the words of [`crate::error_text`] for each that is
//! not. Part of starting the proxy, not of observing it: the connect itself is
//! [`crate::obs::health::probe`], shared with the readiness endpoint.

use crate::config::{Config, Mode};
use crate::error_text;
use crate::obs::{health, logger};

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
