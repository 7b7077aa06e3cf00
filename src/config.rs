//! Validated settings: raw flags and environment variables turned into typed values.
//!
//! Every check that can fail at start-up lives here, with a message that quotes the culprit, so
//! the request path can take its inputs for granted.

use crate::cli::RawArgs;
use crate::policy::origin::Origin;
use std::time::Duration;

pub use crate::mode::Mode;
use crate::mode::{session_options, tunnel_usage};

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
    /// `--ca-file`: PEM certificates trusted for `https://` next hops instead of Mozilla's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// `--metrics`: serve `/.ory/proxy/metrics`. Default off.
    pub metrics: bool,
    /// `--log-format`. Default text.
    pub log_format: crate::obs::logger::LogFormat,
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
    /// `ORY_PROJECT_API_KEY`, sent as `Ory-Base-URL-Rewrite-Token`.
    pub project_api_key: Option<String>,
    /// Which setting named Ory (`--sdk-url`, `--project acme`, …), for the banner.
    pub sdk_source: String,
    /// One-line notes for the banner: Go flags without effect, a project that lost to an SDK URL.
    pub notes: Vec<String>,
    /// `--jwt-session`: how much of the session goes into the token. Default `full`.
    pub jwt_session: crate::ory::claims::SessionClaim,
    /// `--require-session`: normalised path prefixes that need a session (see
    /// [`crate::policy::protect`]). Default none.
    pub require_session: Vec<String>,
    /// Key reload polling, trusted proxies, the metrics address ([`crate::deploy`]).
    pub deploy: crate::deploy::Deploy,
}

/// Default `--session-cache-ttl`.
pub const DEFAULT_SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
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
/// Default `--shutdown-grace`.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Config {
    /// Validates raw flags; `env` looks up environment variables (injected for tests).
    pub fn from_raw(raw: &RawArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let mode = if raw.tunnel {
            tunnel_usage(raw)?;
            Mode::Tunnel
        } else {
            Mode::Proxy
        };
        let (app_name, public_name) = match mode {
            Mode::Proxy => ("upstream URL", "public URL"),
            Mode::Tunnel => ("application URL", "tunnel URL"),
        };
        let upstream_raw = raw.upstream.as_deref().ok_or(match mode {
            Mode::Proxy => {
                "missing <upstream>: the URL of your application, e.g. http://localhost:3000"
            }
            Mode::Tunnel => {
                "missing <application-url>: where your application runs, e.g. http://localhost:3000"
            }
        })?;
        let upstream = Origin::parse(
            app_name,
            upstream_raw,
            &format!("{app_name} must not contain a path"),
        )?;

        let sdk_choice =
            crate::compat::choose_sdk(raw.sdk_url.as_deref(), raw.project.as_deref(), env)?;
        let sdk_raw = sdk_choice.url.clone();
        let (sdk, sdk_path) = Origin::parse_with_path("SDK URL", &sdk_raw)?;

        let port = match &raw.port {
            Some(p) => parse_port("--port", p)?,
            None => match env("PORT").filter(|v| !v.is_empty()) {
                Some(p) => parse_port("PORT", &p)?,
                None => 4000,
            },
        };
        let bind = raw
            .bind
            .clone()
            .or_else(|| env("ORY_PROXY_BIND").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "::".to_owned());
        if bind != "localhost" && bind.parse::<std::net::IpAddr>().is_err() {
            return Err(format!(
                "--bind '{bind}' is not an IP address (or 'localhost')"
            ));
        }
        for var in ["ORY_PROXY_WORKERS", "ORY_PROXY_MAX_QUEUE"] {
            if env(var).is_some() {
                return Err(crate::cli::removed_flag(var));
            }
        }

        let (public, public_explicit) = match &raw.public_url {
            Some(u) => (
                Origin::parse(
                    public_name,
                    u,
                    &format!("{public_name} must not contain a path"),
                )?,
                true,
            ),
            None => (Origin::default_public(port), false),
        };

        let default_redirect_url = match &raw.default_redirect_url {
            Some(u) => {
                Origin::parse_with_path("--default-redirect-url", u)?;
                u.clone()
            }
            None if mode == Mode::Tunnel => upstream.origin.clone(),
            None => public.origin.clone(),
        };

        let cookie_domain = match raw.cookie_domain.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(d) => Some(strip_port(d).to_owned()),
        };

        let mut allowed_cors_origins = split_list(&raw.allowed_cors_origins);
        if mode == Mode::Tunnel {
            // The application calls the tunnel from its own origin, with credentials.
            allowed_cors_origins.push(upstream.origin.clone());
        }
        for o in &allowed_cors_origins {
            crate::policy::cors::OriginPattern::parse(o)?;
        }

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
                if d < std::time::Duration::from_secs(1) {
                    return Err(format!("{name} '{v}' must be at least 1s"));
                }
                d.as_secs()
            }
            None => DEFAULT_JWT_TTL_SECS,
        };

        let ca_file = flag_or_env(&raw.ca_file, "--ca-file", "ORY_PROXY_CA_FILE", env)
            .map(|(_, path)| std::path::PathBuf::from(path));
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
                Some((name, v)) => crate::obs::logger::LogFormat::parse(&v)
                    .ok_or_else(|| format!("{name} '{v}' must be 'text' or 'json'"))?,
                None => crate::obs::logger::LogFormat::Text,
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
        let shutdown_grace = duration(
            &raw.shutdown_grace,
            "--shutdown-grace",
            "ORY_PROXY_SHUTDOWN_GRACE",
            DEFAULT_SHUTDOWN_GRACE,
        )?;

        let (jwt_session, require_session) = match mode {
            Mode::Proxy => session_options(raw, env)?,
            Mode::Tunnel => (Default::default(), Vec::new()),
        };
        let issuer = format!("{}{}", sdk.origin, sdk_path);
        let deploy = crate::deploy::Deploy::from_raw(raw, jwks_file.is_some(), env)?;
        Ok(Config {
            mode,
            upstream,
            public,
            public_explicit,
            sdk,
            sdk_path,
            issuer,
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
            session_cache_ttl,
            jwt_ttl_secs,
            jwks_file,
            ca_file,
            metrics,
            log_format,
            upstream_timeout,
            connect_timeout,
            session_timeout,
            client_timeout,
            shutdown_grace,
            max_connections,
            project_api_key: env("ORY_PROJECT_API_KEY").filter(|v| !v.is_empty()),
            notes: (raw
                .no_effect
                .iter()
                .map(|f| crate::compat::no_effect_note(f)))
            .chain(sdk_choice.note)
            .collect(),
            sdk_source: sdk_choice.source,
            jwt_session,
            require_session,
            deploy,
        })
    }

    /// Fixes the public URL once the real port is known (for `--port 0` without a public URL).
    pub fn set_bound_port(&mut self, port: u16) {
        self.port = port;
        if !self.public_explicit {
            let old = std::mem::replace(&mut self.public, Origin::default_public(port));
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

fn parse_port(name: &str, value: &str) -> Result<u16, String> {
    value
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("{name} '{value}' is not a port number (0-65535)"))
}

fn strip_port(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => domain,
    }
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::time::Duration;

    pub(crate) fn raw(upstream: &str) -> RawArgs {
        RawArgs {
            upstream: Some(upstream.to_owned()),
            sdk_url: Some("https://slug.projects.oryapis.com/".to_owned()),
            ..RawArgs::default()
        }
    }

    pub(crate) fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
        assert_eq!(c.upstream.origin, "http://localhost:3000");
        assert_eq!(c.upstream.authority, "localhost:3000");
        assert_eq!(c.public.origin, "http://localhost:4000");
        assert_eq!(c.issuer, "https://slug.projects.oryapis.com");
        assert_eq!(c.sdk.authority, "slug.projects.oryapis.com");
        assert_eq!(c.port, 4000);
        assert_eq!(c.default_redirect_url, "http://localhost:4000");
        assert!(c.jwt);
        assert_eq!(c.bind, "::");
        assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(c.upstream_timeout, DEFAULT_UPSTREAM_TIMEOUT);
        assert_eq!(c.client_timeout, DEFAULT_CLIENT_TIMEOUT);
    }

    #[test]
    fn timeouts_from_flags_and_env() {
        let mut r = raw("http://localhost:3000");
        r.upstream_timeout = Some("1.5s".into());
        let env = |k: &str| match k {
            "ORY_PROXY_CLIENT_TIMEOUT" => Some("2m".to_owned()),
            "ORY_PROXY_SHUTDOWN_GRACE" => Some("500ms".to_owned()),
            _ => None,
        };
        let c = Config::from_raw(&r, &env).unwrap();
        assert_eq!(c.upstream_timeout, Duration::from_millis(1500));
        assert_eq!(c.client_timeout, Duration::from_secs(120));
        assert_eq!(c.shutdown_grace, Duration::from_millis(500));
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        let removed = |k: &str| (k == "ORY_PROXY_WORKERS").then(|| "8".to_owned());
        let e = Config::from_raw(&r, &removed).unwrap_err();
        assert!(e.contains("ORY_PROXY_WORKERS was removed"), "{e}");
        r.connect_timeout = Some("0s".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("--connect-timeout '0s'"), "{e}");
        r.connect_timeout = Some("soon".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("--connect-timeout") && e.contains("soon"), "{e}");
    }

    #[test]
    fn url_errors_name_the_problem() {
        let cases = [
            ("ftp://x", "must use http or https"),
            ("localhost:3000", "must"),
            ("http://localhost:3000/app", "must not contain a path"),
            ("http://localhost:3000/?a=1", "must not contain a query"),
            ("http://localhost:3000/#x", "fragment"),
            ("http://u:p@localhost:3000", "user info"),
        ];
        for (url, msg) in cases {
            let e = Config::from_raw(&raw(url), &no_env).unwrap_err();
            assert!(e.contains(msg) && e.contains(url), "{url}: {e}");
        }
        let mut r = raw("http://localhost:3000");
        r.public_url = Some("https://example.org/app".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("public URL must not contain a path"), "{e}");
        r.public_url = Some("https://example.org:1234/".into());
        let c = Config::from_raw(&r, &no_env).unwrap();
        assert_eq!(c.public.origin, "https://example.org:1234");
    }

    #[test]
    fn sdk_url_from_env_and_missing() {
        let mut r = raw("http://localhost:3000");
        r.sdk_url = None;
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("--sdk-url") && e.contains("ORY_SDK_URL"), "{e}");
        let env = |k: &str| match k {
            "ORY_SDK_URL" => Some("http://127.0.0.1:4433".to_owned()),
            "PORT" => Some("8080".to_owned()),
            _ => None,
        };
        let c = Config::from_raw(&r, &env).unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:4433");
        assert_eq!(c.port, 8080);
        assert_eq!(c.public.origin, "http://localhost:8080");
    }

    #[test]
    fn cookie_domain_port_stripped() {
        let mut r = raw("http://localhost:3000");
        r.cookie_domain = Some("example.org:4000".into());
        let c = Config::from_raw(&r, &no_env).unwrap();
        assert_eq!(c.cookie_domain.as_deref(), Some("example.org"));
    }

    #[test]
    fn operations_flags() {
        use crate::obs::logger::LogFormat;
        let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
        assert_eq!(
            (c.jwks_file, c.metrics, c.log_format),
            (None, false, LogFormat::Text)
        );
        let env = |k: &str| match k {
            "ORY_PROXY_JWKS_FILE" => Some("/etc/keys.json".to_owned()),
            "ORY_PROXY_METRICS" => Some("1".to_owned()),
            "ORY_PROXY_LOG_FORMAT" => Some("json".to_owned()),
            _ => None,
        };
        let c = Config::from_raw(&raw("http://localhost:3000"), &env).unwrap();
        assert_eq!(
            c.jwks_file.as_deref(),
            Some(std::path::Path::new("/etc/keys.json"))
        );
        assert!(c.metrics);
        assert_eq!(c.log_format, LogFormat::Json);
        let mut r = raw("http://localhost:3000");
        r.log_format = Some("yaml".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("--log-format 'yaml'"), "{e}");
        let bad_env = |k: &str| (k == "ORY_PROXY_METRICS").then(|| "yes".to_owned());
        let e = Config::from_raw(&raw("http://localhost:3000"), &bad_env).unwrap_err();
        assert!(e.contains("ORY_PROXY_METRICS 'yes'"), "{e}");
    }

    #[test]
    fn cache_and_token_lifetimes() {
        let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::from_secs(5));
        assert_eq!(c.jwt_ttl_secs, 60);
        let mut r = raw("http://localhost:3000");
        r.session_cache_ttl = Some("0".into());
        r.jwt_ttl = Some("2m".into());
        let c = Config::from_raw(&r, &no_env).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::ZERO);
        assert_eq!(c.jwt_ttl_secs, 120);
        let env = |k: &str| match k {
            "ORY_PROXY_SESSION_CACHE_TTL" => Some("250ms".to_owned()),
            "ORY_PROXY_JWT_TTL" => Some("10".to_owned()),
            _ => None,
        };
        let c = Config::from_raw(&raw("http://localhost:3000"), &env).unwrap();
        assert_eq!(c.session_cache_ttl, Duration::from_millis(250));
        assert_eq!(c.jwt_ttl_secs, 10);
        r.jwt_ttl = Some("500ms".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("--jwt-ttl") && e.contains("at least 1s"), "{e}");
        r.jwt_ttl = None;
        r.session_cache_ttl = Some("soon".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(
            e.contains("--session-cache-ttl") && e.contains("soon"),
            "{e}"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        for bad in ["", "s", "-1s", "5x", "1e99h", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
