//! Options for running the proxy in production, validated together: key reload by polling
//! (`--jwks-reload-interval`), the load balancers whose `X-Forwarded-*` are believed
//! (`--trusted-proxies`), and a separate address for metrics and health (`--metrics-address`).
//!
//! They live apart from [`super::Config`] because they belong together (an operator deploying
//! behind a balancer sets them at once) and each needs its own parsing; `Config` carries the
//! result as one field.

use super::raw::{flag_or_env, parse_duration, RawArgs};
use crate::policy::forwarded::TrustedProxies;
use std::net::SocketAddr;
use std::time::Duration;

/// The validated production options.
#[derive(Debug, Clone, Default)]
pub struct Deploy {
    /// `--jwks-reload-interval`: how often the key file's modification time is looked at;
    /// `None` (the default) reloads only on SIGHUP.
    pub jwks_reload_interval: Option<Duration>,
    /// `--trusted-proxies`: peers whose `X-Forwarded-*` headers are kept. Default: nobody.
    pub trusted_proxies: TrustedProxies,
    /// `--metrics-address`: where `/metrics` and `/health/*` are served besides the public port;
    /// with it, `/.ory/proxy/metrics` is no longer served on the public port.
    pub metrics_address: Option<SocketAddr>,
}

/// The shortest `--jwks-reload-interval`: a `stat` per interval is cheap, but below a second
/// a typo (`1ms`) would spin for nothing.
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

impl Deploy {
    /// Validates the options; `jwks_file` tells whether there is a file to reload.
    pub fn from_raw(
        raw: &RawArgs,
        jwks_file: bool,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Deploy, String> {
        let jwks_reload_interval = match flag_or_env(
            &raw.jwks_reload_interval,
            "--jwks-reload-interval",
            "ORY_PROXY_JWKS_RELOAD_INTERVAL",
            env,
        ) {
            None => None,
            Some((name, v)) => {
                let d = parse_duration(&v).map_err(|e| format!("{name} {e}"))?;
                if d < MIN_RELOAD_INTERVAL {
                    return Err(format!("{name} '{v}' must be at least 1s"));
                }
                if !jwks_file {
                    return Err(format!(
                        "{name} needs --jwks-file: without a key file there is nothing to reload"
                    ));
                }
                Some(d)
            }
        };
        let trusted_list = if raw.trusted_proxies.is_empty() {
            env("ORY_PROXY_TRUSTED_PROXIES")
                .filter(|v| !v.trim().is_empty())
                .map(|v| ("ORY_PROXY_TRUSTED_PROXIES", vec![v]))
        } else {
            Some(("--trusted-proxies", raw.trusted_proxies.clone()))
        };
        let trusted_proxies = match trusted_list {
            None => TrustedProxies::default(),
            Some((name, list)) => {
                TrustedProxies::parse(&list).map_err(|e| format!("{name}: {e}"))?
            }
        };
        let metrics_address = match flag_or_env(
            &raw.metrics_address,
            "--metrics-address",
            "ORY_PROXY_METRICS_ADDRESS",
            env,
        ) {
            None => None,
            Some((name, v)) => Some(parse_address(&v).map_err(|e| format!("{name} {e}"))?),
        };
        Ok(Deploy {
            jwks_reload_interval,
            trusted_proxies,
            metrics_address,
        })
    }
}

/// `ADDR:PORT` with an IP address (`127.0.0.1:9464`, `[::1]:9464`); `localhost:PORT` means the
/// IPv4 loopback. A host name is refused: which address it resolves to must not be a surprise
/// for a port that shows request counts.
fn parse_address(value: &str) -> Result<SocketAddr, String> {
    let v = value.trim();
    if let Some(port) = v.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("'{value}' has no valid port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    v.parse().map_err(|_| {
        format!("'{value}' must be an IP address and a port, e.g. 127.0.0.1:9464 or [::1]:9464")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(raw: RawArgs, jwks: bool, vars: &[(&str, &str)]) -> Result<Deploy, String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Deploy::from_raw(&raw, jwks, &|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_off() {
        let d = deploy(RawArgs::default(), true, &[]).unwrap();
        assert_eq!(d.jwks_reload_interval, None);
        assert!(d.trusted_proxies.is_empty());
        assert_eq!(d.metrics_address, None);
    }

    #[test]
    fn reload_interval_needs_a_key_file_and_a_second() {
        let raw = RawArgs {
            jwks_reload_interval: Some("30s".into()),
            ..RawArgs::default()
        };
        let d = deploy(raw.clone(), true, &[]).unwrap();
        assert_eq!(d.jwks_reload_interval, Some(Duration::from_secs(30)));
        let e = deploy(raw, false, &[]).unwrap_err();
        assert_eq!(
            e,
            "--jwks-reload-interval needs --jwks-file: without a key file there is nothing to reload"
        );
        let e = deploy(
            RawArgs::default(),
            true,
            &[("ORY_PROXY_JWKS_RELOAD_INTERVAL", "10ms")],
        )
        .unwrap_err();
        assert_eq!(
            e,
            "ORY_PROXY_JWKS_RELOAD_INTERVAL '10ms' must be at least 1s"
        );
    }

    #[test]
    fn trusted_proxies_from_flags_or_the_variable() {
        let raw = RawArgs {
            trusted_proxies: vec!["10.0.0.0/8".into(), "::1,192.168.0.1".into()],
            ..RawArgs::default()
        };
        let d = deploy(raw, false, &[("ORY_PROXY_TRUSTED_PROXIES", "1.1.1.1")]).unwrap();
        assert!(d.trusted_proxies.contains("::1".parse().unwrap()));
        assert!(d.trusted_proxies.contains("10.2.3.4".parse().unwrap()));
        assert!(!d.trusted_proxies.contains("1.1.1.1".parse().unwrap()));
        let d = deploy(
            RawArgs::default(),
            false,
            &[("ORY_PROXY_TRUSTED_PROXIES", "fd00::/8, 127.0.0.1")],
        )
        .unwrap();
        assert!(d.trusted_proxies.contains("fd00::1".parse().unwrap()));
        let e = deploy(
            RawArgs::default(),
            false,
            &[("ORY_PROXY_TRUSTED_PROXIES", "10.0.0.0/40")],
        )
        .unwrap_err();
        assert_eq!(
            e,
            "ORY_PROXY_TRUSTED_PROXIES: '10.0.0.0/40': the prefix length must be 0 to 32"
        );
    }

    #[test]
    fn metrics_address_is_an_ip_and_a_port() {
        let with = |v: &str| {
            deploy(
                RawArgs {
                    metrics_address: Some(v.into()),
                    ..RawArgs::default()
                },
                false,
                &[],
            )
        };
        assert_eq!(
            with("127.0.0.1:9464").unwrap().metrics_address,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert_eq!(
            with("[::1]:0").unwrap().metrics_address,
            Some("[::1]:0".parse().unwrap())
        );
        assert_eq!(
            with("localhost:9464").unwrap().metrics_address,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        for bad in ["9464", "example.org:9464", "127.0.0.1", "localhost:x"] {
            let e = with(bad).unwrap_err();
            assert!(e.starts_with(&format!("--metrics-address '{bad}'")), "{e}");
        }
    }
}
