//! The command line: raw flags parsed in one function, then handed to [`crate::config`]. It
//! only parses: `main` runs what [`action`] returns and turns the outcome into an exit code.
//!
//! Parsing only collects strings and switches; every judgement about a value (is it a URL, a
//! port, a duration) happens in `config`, so that flags and environment variables are checked by
//! the same code and a usage error always quotes the culprit.

use crate::config::{removed_flag, Config, RawArgs};
use std::ffi::OsString;

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// `--help`: every flag, grouped, with examples.
    Help,
    /// `-h`: a short summary.
    ShortHelp,
    /// `ory-proxy tunnel --help` (or `-h`), `ory-proxy help tunnel`: tunnel mode's own help.
    TunnelHelp,
    Version,
    /// `--generate-jwks`: print a fresh private JWKS and exit.
    GenerateJwks,
    Run(Box<RawArgs>),
}

/// Parses the arguments (without the program name).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, lexopt::Error> {
    use lexopt::prelude::*;

    let args: Vec<OsString> = args.into_iter().collect();
    // The Go command's habits: `ory help [tunnel]`, `ory version`. Never a URL: an upstream has
    // a scheme (or gets "did you mean 'http://…'").
    let words: Vec<&str> = args.iter().map(|a| a.to_str().unwrap_or("")).collect();
    match words[..] {
        ["help"] => return Ok(Command::Help),
        ["help", "tunnel"] => return Ok(Command::TunnelHelp),
        ["version"] => return Ok(Command::Version),
        _ => {}
    }
    let mut raw = RawArgs::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") if raw.tunnel => return Ok(Command::TunnelHelp),
            Short('h') => return Ok(Command::ShortHelp),
            Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            Long("sdk-url") => raw.sdk_url = Some(parser.value()?.string()?),
            Long("port") => raw.port = Some(parser.value()?.string()?),
            Long("bind") => raw.bind = Some(parser.value()?.string()?),
            Long("cookie-domain") => raw.cookie_domain = Some(parser.value()?.string()?),
            Long("no-jwt") => raw.no_jwt = true,
            Long("open") => raw.open = true,
            Long("default-redirect-url") => {
                raw.default_redirect_url = Some(parser.value()?.string()?)
            }
            Long("allowed-cors-origins") => {
                raw.allowed_cors_origins.push(parser.value()?.string()?)
            }
            Long("additional-cors-headers") => {
                raw.additional_cors_headers.push(parser.value()?.string()?)
            }
            Long("rewrite-host") => raw.rewrite_host = true,
            Long(flag @ ("workers" | "max-queue")) => {
                return Err(lexopt::Error::Custom(
                    removed_flag(&format!("--{flag}")).into(),
                ))
            }
            Long("session-cache-ttl") => raw.session_cache_ttl = Some(parser.value()?.string()?),
            Long("jwt-ttl") => raw.jwt_ttl = Some(parser.value()?.string()?),
            Long("jwks-file") => raw.jwks_file = Some(parser.value()?.string()?),
            Long("ca-file") => raw.ca_file = Some(parser.value()?.string()?),
            Long("tls-cert") => raw.tls_cert = Some(parser.value()?.string()?),
            Long("tls-key") => raw.tls_key = Some(parser.value()?.string()?),
            Long("generate-jwks") => return Ok(Command::GenerateJwks),
            Long("metrics") => raw.metrics = true,
            Long("log-format") => raw.log_format = Some(parser.value()?.string()?),
            Long("upstream-timeout") => raw.upstream_timeout = Some(parser.value()?.string()?),
            Long("connect-timeout") => raw.connect_timeout = Some(parser.value()?.string()?),
            Long("session-timeout") => raw.session_timeout = Some(parser.value()?.string()?),
            Long("client-timeout") => raw.client_timeout = Some(parser.value()?.string()?),
            Long("shutdown-grace") => raw.shutdown_grace = Some(parser.value()?.string()?),
            Long("max-connections") => raw.max_connections = Some(parser.value()?.string()?),
            Long("min-data-rate") => raw.min_data_rate = Some(parser.value()?.string()?),
            Long("debug") => raw.debug = true,
            Long("jwt-session") => raw.jwt_session = Some(parser.value()?.string()?),
            Long("require-session") => raw.require_session.push(parser.value()?.string()?),
            Long("require-aal2") => raw.require_aal2.push(parser.value()?.string()?),
            Long("identity-header") => raw.identity_headers.push(parser.value()?.string()?),
            Long("jwks-reload-interval") => {
                raw.jwks_reload_interval = Some(parser.value()?.string()?)
            }
            Long("trusted-proxies") => raw.trusted_proxies.push(parser.value()?.string()?),
            Long("metrics-address") => raw.metrics_address = Some(parser.value()?.string()?),
            Short('q') | Long("quiet") => raw.quiet = true,
            Long("project") => raw.project = Some(parser.value()?.string()?),
            Long("dev") => raw.no_effect.push("--dev"),
            Long("yes") => raw.no_effect.push("--yes"),
            Value(v)
                if raw.upstream.is_none() && !raw.mode_given && (v == "tunnel" || v == "proxy") =>
            {
                raw.mode_given = true;
                raw.tunnel = v == "tunnel";
            }
            Value(v) if raw.upstream.is_none() => raw.upstream = Some(v.string()?),
            Value(v) if raw.public_url.is_none() => raw.public_url = Some(v.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Command::Run(Box::new(raw)))
}

/// What the process is asked to do, once the command line is parsed and validated.
#[derive(Debug)]
pub enum Action {
    /// Print this text on stdout (help, version) and exit 0.
    Print(String),
    /// `--generate-jwks`.
    GenerateJwks,
    /// Serve with this configuration.
    Run(Box<Config>),
}

/// Parses and validates the arguments (without the program name); `env` looks up environment
/// variables. The error is a usage message, quoting the culprit.
pub fn action(
    args: impl IntoIterator<Item = OsString>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Action, String> {
    let command = match parse(args) {
        Ok(c) => c,
        Err(lexopt::Error::UnexpectedOption(flag)) => {
            let hint = crate::compat::suggest_flag(&flag)
                .map(|f| format!("; did you mean '{f}'?"))
                .unwrap_or_default();
            return Err(format!("unknown option '{flag}'{hint}"));
        }
        Err(e) => return Err(e.to_string()),
    };
    Ok(match command {
        Command::Help => Action::Print(crate::help::long()),
        Command::ShortHelp => Action::Print(crate::help::SHORT.to_owned()),
        Command::TunnelHelp => Action::Print(crate::help::TUNNEL.to_owned()),
        Command::Version => Action::Print(format!("ory-proxy {}\n", env!("CARGO_PKG_VERSION"))),
        Command::GenerateJwks => Action::GenerateJwks,
        Command::Run(raw) => Action::Run(Box::new(Config::from_raw(&raw, env)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, lexopt::Error> {
        parse(list.iter().map(OsString::from))
    }

    fn raw(list: &[&str]) -> RawArgs {
        match args(list).unwrap() {
            Command::Run(raw) => *raw,
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn positionals_and_flags() {
        let r = raw(&[
            "http://localhost:3000",
            "https://example.org",
            "--sdk-url=http://127.0.0.1:4433",
            "--port",
            "8080",
            "--allowed-cors-origins",
            "https://a.example",
            "--allowed-cors-origins=https://b.example,https://c.example",
            "-q",
            "--no-jwt",
        ]);
        assert_eq!(r.upstream.as_deref(), Some("http://localhost:3000"));
        assert_eq!(r.public_url.as_deref(), Some("https://example.org"));
        assert_eq!(r.sdk_url.as_deref(), Some("http://127.0.0.1:4433"));
        assert_eq!(r.port.as_deref(), Some("8080"));
        assert_eq!(r.allowed_cors_origins.len(), 2);
        assert!(r.quiet && r.no_jwt && !r.debug);
    }

    #[test]
    fn errors_quote_the_culprit() {
        let e = args(&["--port"]).unwrap_err().to_string();
        assert_eq!(e, "missing argument for option '--port'");
        let e = args(&["--frobnicate"]).unwrap_err().to_string();
        assert!(e.contains("'--frobnicate'"), "{e}");
        let e = args(&["a", "b", "c"]).unwrap_err().to_string();
        assert!(e.contains("\"c\""), "{e}");
    }

    #[test]
    fn removed_flags_name_the_replacement() {
        for flag in ["--workers", "--max-queue=3"] {
            let e = args(&["x", flag, "2"]).unwrap_err().to_string();
            assert!(
                e.contains("was removed") && e.contains("--max-connections"),
                "{e}"
            );
        }
        let help = crate::help::long();
        assert!(!help.contains("--workers") && !help.contains("--max-queue"));
    }

    #[test]
    fn tunnel_and_proxy_modes() {
        let t = raw(&[
            "--port",
            "1",
            "tunnel",
            "http://localhost:3000",
            "http://t:4000",
        ]);
        assert!(t.tunnel && t.mode_given);
        assert_eq!(t.upstream.as_deref(), Some("http://localhost:3000"));
        assert_eq!(t.public_url.as_deref(), Some("http://t:4000"));
        let p = raw(&["proxy", "http://localhost:3000"]);
        assert!(!p.tunnel && p.mode_given);
        assert_eq!(p.upstream.as_deref(), Some("http://localhost:3000"));
        let d = raw(&["http://localhost:3000", "tunnel"]);
        assert!(!d.tunnel && !d.mode_given);
        assert_eq!(d.public_url.as_deref(), Some("tunnel"));
        assert!(args(&["tunnel", "a", "b", "c"]).is_err());
    }

    #[test]
    fn help_and_version_win() {
        assert!(matches!(args(&["x", "--help"]).unwrap(), Command::Help));
        assert!(matches!(args(&["-h"]).unwrap(), Command::ShortHelp));
        assert!(matches!(args(&["-V"]).unwrap(), Command::Version));
        assert!(matches!(args(&["version"]).unwrap(), Command::Version));
        assert!(matches!(args(&["help"]).unwrap(), Command::Help));
        for tunnel in [
            &["help", "tunnel"][..],
            &["tunnel", "-h"],
            &["tunnel", "x", "--help"],
        ] {
            assert!(
                matches!(args(tunnel).unwrap(), Command::TunnelHelp),
                "{tunnel:?}"
            );
        }
        assert!(matches!(
            args(&["-h", "tunnel"]).unwrap(),
            Command::ShortHelp
        ));
        assert!(matches!(
            args(&["--generate-jwks"]).unwrap(),
            Command::GenerateJwks
        ));
    }

    #[test]
    fn help_mentions_every_flag() {
        let help = crate::help::long();
        for flag in [
            "--sdk-url",
            "--port",
            "--bind",
            "--cookie-domain",
            "--no-jwt",
            "--open",
            "--default-redirect-url",
            "--allowed-cors-origins",
            "--additional-cors-headers",
            "--rewrite-host",
            "--session-cache-ttl",
            "ORY_PROXY_SESSION_CACHE_TTL",
            "--jwt-ttl",
            "ORY_PROXY_JWT_TTL",
            "--jwks-file",
            "ORY_PROXY_JWKS_FILE",
            "--generate-jwks",
            "--metrics",
            "ORY_PROXY_METRICS",
            "--log-format",
            "ORY_PROXY_LOG_FORMAT",
            "--upstream-timeout",
            "--connect-timeout",
            "--session-timeout",
            "--client-timeout",
            "--shutdown-grace",
            "--max-connections",
            "--min-data-rate",
            "ORY_PROXY_MIN_DATA_RATE",
            "--debug",
            "--jwt-session",
            "ORY_PROXY_JWT_SESSION",
            "--require-session",
            "ORY_PROXY_REQUIRE_SESSION",
            "--identity-header",
            "ORY_PROXY_IDENTITY_HEADERS",
            "--require-aal2",
            "ORY_PROXY_REQUIRE_AAL2",
            "--tls-cert",
            "ORY_PROXY_TLS_CERT",
            "--tls-key",
            "ORY_PROXY_TLS_KEY",
            "--quiet",
            "--help",
            "--version",
            "ORY_SDK_URL",
            "PORT",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }
}
