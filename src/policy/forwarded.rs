//! `X-Forwarded-*` behind load balancers: which peers are trusted (`--trusted-proxies`), what the
//! proxy sends on, and which address is the client's.
//!
//! A client can write anything into `X-Forwarded-For`, so by default the proxy replaces all three
//! `X-Forwarded-*` headers with what it knows itself (SPEC §3). Behind a load balancer that would
//! lose the browser's address: every request would seem to come from the balancer. So an operator
//! names the balancers (addresses and CIDRs, like Caddy's `trusted_proxies` or nginx's
//! `set_real_ip_from`); when the TCP peer is one of them, its `X-Forwarded-For` chain is kept and
//! the peer's own address appended (the chain then says the same thing nginx's
//! `$proxy_add_x_forwarded_for` would), and its `X-Forwarded-Proto`/`-Host` are kept. From any
//! other peer, the headers are replaced exactly as without the option.
//!
//! The client address for logs is found by walking the chain from the right, past every trusted
//! hop, to the first address that is not trusted: everything to its left was written by a party
//! nobody vouches for. (If every hop is trusted, the leftmost address is the client; an entry that
//! is not an address stops the walk at the last address before it.)
//!
//! Addresses are compared in their canonical form: a dual-stack listener sees an IPv4 client as
//! `::ffff:a.b.c.d`, which must match `a.b.c.d/…` and be logged and forwarded as `a.b.c.d`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// One trusted network: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8`, `192.168.1.7` or `::1` (a single address is a full-length
    /// prefix). Host bits after the prefix are ignored, as Go's `ParseCIDR` does.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let ip: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("'{text}' is not an IP address or CIDR"))?;
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= bits => n,
                _ => return Err(format!("'{text}': the prefix length must be 0 to {bits}")),
            },
        };
        // An IPv4-mapped network (::ffff:10.0.0.0/104) is the IPv4 network it maps.
        let (ip, prefix) = match ip {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (ip, prefix),
            },
            _ => (ip, prefix),
        };
        Ok(Cidr {
            net: mask(ip, prefix),
            prefix,
        })
    }

    /// Whether `ip` (already canonical) lies in this network.
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.net
            }
            _ => false,
        }
    }
}

/// `ip` with every bit after the first `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & keep))
        }
    }
}

/// The peers whose `X-Forwarded-*` headers are believed. Empty by default: nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses flag values: each a comma-separated list of addresses and CIDRs (blanks around
    /// items are ignored; an empty item is an error, so a stray comma is noticed).
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<TrustedProxies, String> {
        let mut list = Vec::new();
        for value in values {
            for item in value.as_ref().split(',').map(str::trim) {
                if item.is_empty() {
                    return Err("empty entry in the list (a stray comma?)".into());
                }
                list.push(Cidr::parse(item)?);
            }
        }
        Ok(TrustedProxies(list))
    }

    /// Whether no peer is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy (IPv4-mapped IPv6 addresses compare as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|c| c.contains(ip))
    }
}

/// What a request carried, as far as forwarding is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The TCP peer (`None` when unknown).
    pub peer: Option<SocketAddr>,
    /// The values of every `X-Forwarded-For` field, in order.
    pub xff: &'a [&'a str],
    /// The first `X-Forwarded-Proto` and `X-Forwarded-Host` values, if sent.
    pub proto: Option<&'a str>,
    pub host: Option<&'a str>,
}

/// The `X-Forwarded-*` values to send on, and the client address for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub xff: String,
    pub proto: String,
    pub host: String,
    /// The client's address: the first untrusted one from the right of the chain.
    pub client: String,
}

/// Decides the forwarding headers for one request. `own_proto` and `own_host` are what the proxy
/// would send without a trusted peer (the public URL's scheme, the client's `Host`).
pub fn decide(
    trusted: &TrustedProxies,
    req: &Incoming<'_>,
    own_proto: &str,
    own_host: &str,
) -> Forwarded {
    let peer = req.peer.map(|p| p.ip().to_canonical());
    let peer_text = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let replaced = Forwarded {
        xff: peer_text.clone(),
        proto: own_proto.to_owned(),
        host: own_host.to_owned(),
        client: peer_text.clone(),
    };
    let Some(peer) = peer.filter(|ip| trusted.contains(*ip)) else {
        return replaced;
    };
    let chain: Vec<&str> = req
        .xff
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut xff = chain.join(", ");
    if !xff.is_empty() {
        xff.push_str(", ");
    }
    xff.push_str(&peer_text);
    Forwarded {
        xff,
        proto: nonempty(req.proto).unwrap_or(own_proto).to_owned(),
        host: nonempty(req.host).unwrap_or(own_host).to_owned(),
        client: client_of(trusted, &chain, peer).to_string(),
    }
}

fn nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Walks `chain` (left to right as sent) from the right, starting at the trusted `peer`.
fn client_of(trusted: &TrustedProxies, chain: &[&str], peer: IpAddr) -> IpAddr {
    let mut client = peer;
    for entry in chain.iter().rev() {
        if !trusted.contains(client) {
            break;
        }
        match parse_entry(entry) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

/// An address as proxies write it into `X-Forwarded-For`: `1.2.3.4`, `2001:db8::1`, and the
/// forms with a port some add (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests;
