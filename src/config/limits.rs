//! How long and how many: the session cache and token lifetimes, the timeouts of each hop, the
//! shutdown grace, the connection cap and the minimum data rate. One concern of [`super::Config::from_raw`]: every
//! value here is a duration or a count with a default, read from a flag or its variable.

use super::raw::{flag_or_env, parse_duration, RawArgs};
use std::time::Duration;

/// Default `--session-cache-ttl`.
pub const DEFAULT_SESSION_CACHE_TTL: Duration = Duration::from_secs(5);
/// Default `--jwt-ttl`, in seconds.
pub const DEFAULT_JWT_TTL_SECS: u64 = 60;
/// Default `--upstream-timeout`.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(120);
/// Default `--connect-timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--session-timeout`.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--client-timeout`.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default `--min-data-rate` (Kestrel's), bytes per second.
pub const DEFAULT_MIN_DATA_RATE: u64 = 240;
/// Default `--shutdown-grace`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The validated lifetimes, timeouts and caps, moved into [`super::Config`] field by field.
pub(super) struct Limits {
    pub(super) session_cache_ttl: Duration,
    pub(super) jwt_ttl_secs: u64,
    pub(super) upstream_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) session_timeout: Duration,
    pub(super) client_timeout: Duration,
    pub(super) shutdown_grace: Duration,
    pub(super) max_connections: usize,
    pub(super) min_data_rate: u64,
}

impl Limits {
    pub(super) fn from_raw(
        raw: &RawArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Limits, String> {
        let session_cache_ttl = match flag_or_env(
            &raw.session_cache_ttl,
            "--session-cache-ttl",
            "ORY_PROXY_SESSION_CACHE_TTL",
            env,
        ) {
            Some((name, v)) => parse_duration(&v).map_err(|e| format!("{name} {e}"))?,
            None => DEFAULT_SESSION_CACHE_TTL,
        };
        let jwt_ttl_secs = match flag_or_env(&raw.jwt_ttl, "--jwt-ttl", "ORY_PROXY_JWT_TTL", env) {
            Some((name, v)) => {
                let d = parse_duration(&v).map_err(|e| format!("{name} {e}"))?;
                if d < Duration::from_secs(1) {
                    return Err(format!("{name} '{v}' must be at least 1s"));
                }
                d.as_secs()
            }
            None => DEFAULT_JWT_TTL_SECS,
        };
        let duration =
            |value: &Option<String>, flag: &'static str, var: &'static str, default: Duration| {
                match flag_or_env(value, flag, var, env) {
                    Some((name, v)) => match parse_duration(&v) {
                        Ok(d) if !d.is_zero() => Ok(d),
                        Ok(_) => Err(format!("{name} '{v}' must be longer than zero")),
                        Err(e) => Err(format!("{name} {e}")),
                    },
                    None => Ok(default),
                }
            };
        let upstream_timeout = duration(
            &raw.upstream_timeout,
            "--upstream-timeout",
            "ORY_PROXY_UPSTREAM_TIMEOUT",
            DEFAULT_UPSTREAM_TIMEOUT,
        )?;
        let connect_timeout = duration(
            &raw.connect_timeout,
            "--connect-timeout",
            "ORY_PROXY_CONNECT_TIMEOUT",
            DEFAULT_CONNECT_TIMEOUT,
        )?;
        let session_timeout = duration(
            &raw.session_timeout,
            "--session-timeout",
            "ORY_PROXY_SESSION_TIMEOUT",
            DEFAULT_SESSION_TIMEOUT,
        )?;
        let client_timeout = duration(
            &raw.client_timeout,
            "--client-timeout",
            "ORY_PROXY_CLIENT_TIMEOUT",
            DEFAULT_CLIENT_TIMEOUT,
        )?;
        let max_connections = match flag_or_env(
            &raw.max_connections,
            "--max-connections",
            "ORY_PROXY_MAX_CONNECTIONS",
            env,
        ) {
            Some((name, v)) => match v.trim().parse::<usize>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => return Err(format!("{name} '{v}' must be a number from 1 to 1000000")),
            },
            None => DEFAULT_MAX_CONNECTIONS,
        };
        let min_data_rate = match flag_or_env(
            &raw.min_data_rate,
            "--min-data-rate",
            "ORY_PROXY_MIN_DATA_RATE",
            env,
        ) {
            Some((name, v)) => match v.trim().parse::<u64>() {
                Ok(n) if n <= 1_000_000_000 => n,
                _ => {
                    return Err(format!(
                        "{name} '{v}' must be bytes per second, 0 (off) to 1000000000"
                    ))
                }
            },
            None => DEFAULT_MIN_DATA_RATE,
        };
        let shutdown_grace = duration(
            &raw.shutdown_grace,
            "--shutdown-grace",
            "ORY_PROXY_SHUTDOWN_GRACE",
            DEFAULT_SHUTDOWN_GRACE,
        )?;
        Ok(Limits {
            session_cache_ttl,
            jwt_ttl_secs,
            upstream_timeout,
            connect_timeout,
            session_timeout,
            client_timeout,
            shutdown_grace,
            max_connections,
            min_data_rate,
        })
    }
}
