//! Name resolution for the `ureq` agents, on the calling thread.
//!
//! ureq's default resolver starts a thread for every lookup when a total budget applies to the
//! call (so that it can give up on a slow DNS answer), even when the host is an IP literal. The
//! whoami agent has such a budget (`--session-timeout`), so with the session cache off every
//! signed-in request started and ended a thread: in a profile under `wrk` about a fifth of the
//! proxy's CPU went to creating threads and unmapping their stacks (TLB shoot-downs across
//! cores). This resolver works on the calling thread instead: IP literals are parsed without a
//! lookup, names go to the system resolver, whose own timeouts (`resolv.conf`) bound a dead DNS
//! server — as they already did for forwards, whose agent has no total budget. The session
//! budget still bounds everything after the lookup.

use std::net::ToSocketAddrs;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// As many addresses as ureq keeps from its own resolver (the capacity of its array).
const MAX_ADDRS: usize = 16;

/// Resolves on the calling thread (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct InlineResolver;

impl Resolver for InlineResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        // An IPv6 literal comes with its brackets.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = match (uri.port_u16(), uri.scheme_str()) {
            (Some(port), _) => port,
            (None, Some("https")) => 443,
            (None, Some("http")) => 80,
            _ => return Err(ureq::Error::HostNotFound),
        };
        let found = (host, port).to_socket_addrs()?;
        let mut addrs = self.empty();
        for addr in config.ip_family().keep_wanted(found).take(MAX_ADDRS) {
            addrs.push(addr);
        }
        if addrs.is_empty() {
            Err(ureq::Error::HostNotFound)
        } else {
            Ok(addrs)
        }
    }
}

/// An agent with `config` that resolves through [`InlineResolver`].
pub(crate) fn agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        InlineResolver,
    )
}
