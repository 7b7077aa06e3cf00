//! The flags as given (strings and switches, not yet judged) and the small parsers every part of
//! the configuration shares: a flag or its variable, comma lists, durations.
//!
//! Lowest in the configuration so that [`crate::cli`] fills [`RawArgs`] and the validating
//! modules ([`super::mode`], [`super::deploy`], …) read it without importing each other.

/// Flags as given, not yet validated.
#[derive(Debug, Default, Clone)]
pub struct RawArgs {
    pub upstream: Option<String>,
    pub public_url: Option<String>,
    pub sdk_url: Option<String>,
    pub port: Option<String>,
    pub bind: Option<String>,
    pub cookie_domain: Option<String>,
    pub no_jwt: bool,
    pub open: bool,
    pub default_redirect_url: Option<String>,
    pub allowed_cors_origins: Vec<String>,
    pub additional_cors_headers: Vec<String>,
    pub rewrite_host: bool,
    pub session_cache_ttl: Option<String>,
    pub jwt_ttl: Option<String>,
    pub jwks_file: Option<String>,
    pub ca_file: Option<String>,
    /// `--tls-cert`, `--tls-key` (issue 18).
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub metrics: bool,
    pub log_format: Option<String>,
    pub upstream_timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub session_timeout: Option<String>,
    pub client_timeout: Option<String>,
    pub shutdown_grace: Option<String>,
    pub max_connections: Option<String>,
    pub min_data_rate: Option<String>,
    pub debug: bool,
    pub quiet: bool,
    /// `--project SLUG` (the Go command's name for an Ory Network project).
    pub project: Option<String>,
    /// Go command flags accepted without effect (`--dev`, `--yes`), in the order given.
    pub no_effect: Vec<&'static str>,
    /// `tunnel` as the first argument: tunnel mode (`proxy` names the default explicitly).
    pub tunnel: bool,
    pub mode_given: bool,
    /// `--jwt-session`, `--require-session` (issue 11).
    pub jwt_session: Option<String>,
    pub require_session: Vec<String>,
    /// `--require-aal2 PREFIX` (issue 18), as given.
    pub require_aal2: Vec<String>,
    /// `--identity-header NAME=PATH` (issue 18), as given.
    pub identity_headers: Vec<String>,
    /// `--jwks-reload-interval`, `--trusted-proxies`, `--metrics-address` (issue 12).
    pub jwks_reload_interval: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub metrics_address: Option<String>,
}

/// A flag's value, else a non-empty environment variable's, with the name to quote in errors.
pub(crate) fn flag_or_env(
    flag: &Option<String>,
    flag_name: &'static str,
    var: &'static str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(&'static str, String)> {
    match flag {
        Some(v) => Some((flag_name, v.clone())),
        None => env(var).filter(|v| !v.is_empty()).map(|v| (var, v)),
    }
}

/// Comma-separated values of a repeatable flag, trimmed, empty entries dropped.
pub(crate) fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a duration: `500ms`, `5s`, `2m`, `1h`, or plain seconds (`30`, `1.5`).
pub fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    let v = value.trim();
    let (number, unit_secs) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = v.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (v, 1.0)
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * unit_secs < 1e9 => {
            Ok(std::time::Duration::from_secs_f64(n * unit_secs))
        }
        _ => Err(format!(
            "'{value}' is not a duration (examples: 500ms, 5s, 2m, 1h, 30)"
        )),
    }
}

/// The usage error for a flag (or variable) that no longer exists: `--workers`, `--max-queue`.
pub fn removed_flag(name: &str) -> String {
    format!(
        "{name} was removed: each connection has its own thread; cap them with --max-connections"
    )
}
