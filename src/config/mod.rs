//! Validated settings: raw flags and environment variables turned into typed values.
//!
//! Every check that can fail at start-up lives here, with a message that quotes the culprit, so
//! the request path can take its inputs for granted. The configuration is the bottom of the
//! crate: plain data and its parsers, importing only the value parsers of [`crate::policy`] and
//! the Go command's habits ([`crate::compat`]). [`Config::from_raw`] checks one concern per
//! module: `places` (the URLs and the address), [`limits`] (lifetimes, timeouts, caps),
//! [`mode`] (proxy or tunnel, the session options), [`deploy`] (production options).

pub mod choices;
pub mod deploy;
pub mod limits;
pub mod mode;
mod places;
pub mod raw;
#[cfg(test)]
pub(crate) mod tests;
pub mod tls;

use crate::policy::origin::Origin;
use std::time::Duration;

pub use choices::{LogFormat, SessionClaim};
pub use deploy::Deploy;
pub use limits::{
    DEFAULT_CLIENT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_JWT_TTL_SECS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MIN_DATA_RATE, DEFAULT_SESSION_CACHE_TTL, DEFAULT_SESSION_TIMEOUT,
    DEFAULT_SHUTDOWN_GRACE, DEFAULT_UPSTREAM_TIMEOUT,
};
pub use mode::Mode;
pub use raw::{parse_duration, removed_flag, RawArgs};

use mode::{identity_headers, session_options, tunnel_usage};
use raw::{flag_or_env, split_list};

/// Everything the proxy needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Proxy or tunnel mode.
    pub mode: Mode,
    /// The application.
    pub upstream: Origin,
    /// The URL browsers use; resolved after binding when it defaults to `http://localhost:<port>`.
    pub public: Origin,
    /// Whether `public` was given (otherwise it follows the bound port).
    pub public_explicit: bool,
    /// Where Ory is.
    pub sdk: Origin,
    /// A path prefix of the SDK URL (empty for Ory Network), without a trailing slash.
    pub sdk_path: String,
    /// `iss` of every token: the SDK URL without a trailing slash.
    pub issuer: String,
    /// Address to listen on: an IP address or `localhost`; `::` (the default) falls back to
    /// `0.0.0.0` where IPv6 is missing.
    pub bind: String,
    pub port: u16,
    /// `Domain` for every `Set-Cookie` (port stripped); `None` removes `Domain`.
    pub cookie_domain: Option<String>,
    /// Session lookup and tokens (off with `--no-jwt`).
    pub jwt: bool,
    pub open: bool,
    /// Where `/.ory/ui/welcome` redirects go.
    pub default_redirect_url: String,
    /// Extra CORS origins (patterns, `*` per label).
    pub allowed_cors_origins: Vec<String>,
    /// Extra allowed CORS request headers.
    pub additional_cors_headers: Vec<String>,
    pub rewrite_host: bool,
    pub debug: bool,
    pub quiet: bool,
    /// How long a whoami answer is reused (`--session-cache-ttl`); zero turns the cache off.
    pub session_cache_ttl: std::time::Duration,
    /// Token lifetime in seconds (`--jwt-ttl`), at least 1. Default 60.
    pub jwt_ttl_secs: u64,
    /// `--jwks-file`: the private key set to sign with; `None` draws a fresh key per start.
    pub jwks_file: Option<std::path::PathBuf>,
    /// `--tls-cert` and `--tls-key`: HTTPS on the proxy's own port ([`crate::http::tls`]).
    pub tls: Option<tls::TlsFiles>,
    /// `--ca-file`: PEM certificates trusted for `https://` next hops instead of Mozilla's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// `--metrics`: serve `/.ory/proxy/metrics`. Default off.
    pub metrics: bool,
    /// `--log-format`. Default text.
    pub log_format: LogFormat,
    /// Time to the upstream's (or Ory's) response head, and for each body read. Default 120 s.
    pub upstream_timeout: Duration,
    /// Time to connect to the upstream or Ory. Default 5 s.
    pub connect_timeout: Duration,
    /// Time for one whoami attempt. Default 10 s.
    pub session_timeout: Duration,
    /// Idle time on a client connection (each read and write). Default 60 s.
    pub client_timeout: Duration,
    /// Time in-flight requests get to finish on SIGTERM/SIGINT. Default 10 s.
    pub shutdown_grace: Duration,
    /// Open client connections kept (`--max-connections`). Default 4096.
    pub max_connections: usize,
    /// Least bytes/s a client sends a body or reads an answer at, after a 5 s grace
    /// (`--min-data-rate`, [`crate::http::rate`]); 0 is off. Default 240.
    pub min_data_rate: u64,
    /// `ORY_PROJECT_API_KEY`, sent as `Ory-Base-URL-Rewrite-Token`.
    pub project_api_key: Option<String>,
    /// Which setting named Ory (`--sdk-url`, `--project acme`, …), for the banner.
    pub sdk_source: String,
    /// One-line notes for the banner: Go flags without effect, a project that lost to an SDK URL.
    pub notes: Vec<String>,
    /// `--jwt-session`: how much of the session goes into the token. Default `full`.
    pub jwt_session: SessionClaim,
    /// `--require-session`: normalised path prefixes that need a session (see
    /// [`crate::policy::protect`]). Default none.
    pub require_session: Vec<String>,
    /// `--require-aal2`: normalised path prefixes that need a session at `aal2` (a second
    /// factor), matched as `require_session` is. Default none.
    pub require_aal2: Vec<String>,
    /// `--identity-header NAME=PATH`: session values sent to the upstream as request fields
    /// (see [`crate::policy::identity`]). Default none.
    pub identity_headers: Vec<crate::policy::identity::IdentityHeader>,
    /// Key reload polling, trusted proxies, the metrics address ([`deploy`]).
    pub deploy: Deploy,
}

impl Config {
    /// Validates raw flags; `env` looks up environment variables (injected for tests).
    pub fn from_raw(raw: &RawArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mode = if raw.tunnel {
            tunnel_usage(raw)?;
            Mode::Tunnel
        } else {
            Mode::Proxy
        };
        let places = places::Places::from_raw(raw, mode, env)?;
        let limits = limits::Limits::from_raw(raw, env)?;
        let ca_file = flag_or_env(&raw.ca_file, "--ca-file", "ORY_PROXY_CA_FILE", env)
            .map(|(_, path)| std::path::PathBuf::from(path));
        let tls = tls::TlsFiles::from_raw(raw, env)?;
        let jwks_file = flag_or_env(&raw.jwks_file, "--jwks-file", "ORY_PROXY_JWKS_FILE", env)
            .map(|(_, path)| std::path::PathBuf::from(path));
        let metrics = raw.metrics
            || match env("ORY_PROXY_METRICS").as_deref().map(str::trim) {
                None | Some("" | "0" | "false") => false,
                Some("1" | "true") => true,
                Some(other) => {
                    return Err(format!(
                        "ORY_PROXY_METRICS '{other}' must be 1, true, 0 or false"
                    ))
                }
            };
        let log_format =
            match flag_or_env(&raw.log_format, "--log-format", "ORY_PROXY_LOG_FORMAT", env) {
                Some((name, v)) => LogFormat::parse(&v)
                    .ok_or_else(|| format!("{name} '{v}' must be 'text' or 'json'"))?,
                None => LogFormat::Text,
            };
        let mode::SessionOptions {
            claim: jwt_session,
            require_session,
            require_aal2,
        } = match mode {
            Mode::Proxy => session_options(raw, env)?,
            Mode::Tunnel => mode::SessionOptions {
                claim: Default::default(),
                require_session: Vec::new(),
                require_aal2: Vec::new(),
            },
        };
        let identity_headers = match mode {
            Mode::Proxy => identity_headers(raw, env)?,
            Mode::Tunnel => Vec::new(),
        };
        let deploy = Deploy::from_raw(raw, jwks_file.is_some(), env)?;
        let places::Places {
            upstream,
            public,
            public_explicit,
            sdk,
            sdk_path,
            sdk_source,
            sdk_note,
            bind,
            port,
            cookie_domain,
            default_redirect_url,
            allowed_cors_origins,
        } = places;
        Ok(Config {
            mode,
            issuer: format!("{}{}", sdk.origin, sdk_path),
            upstream,
            public,
            public_explicit,
            sdk,
            sdk_path,
            bind,
            port,
            cookie_domain,
            jwt: !raw.no_jwt && mode == Mode::Proxy,
            open: raw.open,
            default_redirect_url,
            allowed_cors_origins,
            additional_cors_headers: split_list(&raw.additional_cors_headers),
            rewrite_host: raw.rewrite_host,
            debug: raw.debug,
            quiet: raw.quiet,
            session_cache_ttl: limits.session_cache_ttl,
            jwt_ttl_secs: limits.jwt_ttl_secs,
            jwks_file,
            tls,
            ca_file,
            metrics,
            log_format,
            upstream_timeout: limits.upstream_timeout,
            connect_timeout: limits.connect_timeout,
            session_timeout: limits.session_timeout,
            client_timeout: limits.client_timeout,
            shutdown_grace: limits.shutdown_grace,
            max_connections: limits.max_connections,
            min_data_rate: limits.min_data_rate,
            project_api_key: env("ORY_PROJECT_API_KEY").filter(|v| !v.is_empty()),
            notes: (raw
                .no_effect
                .iter()
                .map(|f| crate::compat::no_effect_note(f)))
            .chain(sdk_note)
            .collect(),
            sdk_source,
            jwt_session,
            require_session,
            require_aal2,
            identity_headers,
            deploy,
        })
    }

    /// Fixes the public URL once the real port is known (for `--port 0` without a public URL).
    pub fn set_bound_port(&mut self, port: u16) {
        self.port = port;
        if !self.public_explicit {
            let public = Origin::default_public(port, self.tls.is_some());
            let old = std::mem::replace(&mut self.public, public);
            if self.default_redirect_url == old.origin {
                self.default_redirect_url = self.public.origin.clone();
            }
        }
    }

    /// Where Ory's paths start on the public URL: `/.ory` in proxy mode, the root in tunnel
    /// mode (sent in `Ory-Base-URL-Rewrite` and used by every rewrite).
    pub fn ory_prefix(&self) -> &'static str {
        match self.mode {
            Mode::Proxy => "/.ory",
            Mode::Tunnel => "",
        }
    }
}
