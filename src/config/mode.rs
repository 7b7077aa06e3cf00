//! What kind of process this is, and the checks of the options that only make sense in one
//! kind: proxy mode (in front of an application) or tunnel mode (Ory on its own port beside a
//! single-page app), `--jwt-session`, `--require-session`, `--require-aal2` and
//! `--identity-header`.
//!
//! Kept apart from [`super::Config`] so the rules of issue 11 read in one place: which flags
//! tunnel mode refuses (rather than silently ignoring them), and why the session options need
//! the session lookup that `--no-jwt` turns off.

use super::raw::{flag_or_env, split_list, RawArgs};
use super::SessionClaim;
use crate::policy::identity::IdentityHeader;

/// What the process is: the proxy in front of an application, or a tunnel to Ory beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `ory-proxy [proxy] <upstream> [<public-url>]`: SPEC §1-§5.
    Proxy,
    /// `ory-proxy tunnel <application-url> [<tunnel-url>]`: everything to Ory, path unchanged,
    /// no session work; `upstream` is the application (for CORS and the welcome redirect) and
    /// `public` the tunnel URL.
    Tunnel,
}

/// The flags that make no sense in tunnel mode, where nothing reaches the application and no
/// session is looked up: a usage error rather than a silently ignored flag. (Their variables are
/// ignored: a shell may set them for the proxy.)
pub(crate) fn tunnel_usage(raw: &RawArgs) -> Result<(), String> {
    let given = [
        ("--no-jwt", raw.no_jwt),
        ("--rewrite-host", raw.rewrite_host),
        ("--jwt-session", raw.jwt_session.is_some()),
        ("--require-session", !raw.require_session.is_empty()),
        ("--require-aal2", !raw.require_aal2.is_empty()),
        ("--identity-header", !raw.identity_headers.is_empty()),
        ("--jwt-ttl", raw.jwt_ttl.is_some()),
        ("--jwks-file", raw.jwks_file.is_some()),
        ("--session-cache-ttl", raw.session_cache_ttl.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) => Err(format!(
            "{flag} cannot be used in tunnel mode (no request reaches the application, no \
             session lookup, no token)"
        )),
        None => Ok(()),
    }
}

/// What `--jwt-session`, `--require-session` and `--require-aal2` (or their variables) ask for.
pub(crate) struct SessionOptions {
    pub(crate) claim: SessionClaim,
    pub(crate) require_session: Vec<String>,
    pub(crate) require_aal2: Vec<String>,
}

/// `--jwt-session`, `--require-session` and `--require-aal2` (or their variables); all need the
/// session lookup, so each is a usage error with `--no-jwt`.
pub(crate) fn session_options(
    raw: &RawArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SessionOptions, String> {
    let mode = flag_or_env(
        &raw.jwt_session,
        "--jwt-session",
        "ORY_PROXY_JWT_SESSION",
        env,
    );
    if let (true, Some((name, _))) = (raw.no_jwt, &mode) {
        return Err(format!(
            "{name} needs the session lookup that --no-jwt turns off"
        ));
    }
    let require_session = prefixes(
        raw,
        (&raw.require_session, "--require-session"),
        "ORY_PROXY_REQUIRE_SESSION",
        env,
    )?;
    let require_aal2 = prefixes(
        raw,
        (&raw.require_aal2, "--require-aal2"),
        "ORY_PROXY_REQUIRE_AAL2",
        env,
    )?;
    let claim = match mode {
        Some((name, v)) => SessionClaim::parse(&v)
            .ok_or_else(|| format!("{name} '{v}' must be 'full', 'identity' or 'none'"))?,
        None => SessionClaim::Full,
    };
    Ok(SessionOptions {
        claim,
        require_session,
        require_aal2,
    })
}

/// A list of protected prefixes from its flag (repeatable) or else its variable
/// (comma-separated), normalised as [`crate::policy::protect`] matches them.
fn prefixes(
    raw: &RawArgs,
    (given, flag): (&[String], &'static str),
    var: &'static str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, String> {
    let (prefixes, prefix_source) = if given.is_empty() {
        let from_env = env(var).unwrap_or_default();
        (split_list(&[from_env]), var)
    } else {
        (split_list(given), flag)
    };
    if raw.no_jwt && !prefixes.is_empty() {
        return Err(format!(
            "{prefix_source} needs the session lookup that --no-jwt turns off"
        ));
    }
    prefixes
        .iter()
        .map(|p| {
            crate::policy::protect::normalize_prefix(p).ok_or_else(|| {
                // `admin` for `/admin`: the slash is what went wrong.
                let slashed = format!("/{}", p.trim());
                let hint = if !p.trim().starts_with('/')
                    && crate::policy::protect::normalize_prefix(&slashed).is_some()
                {
                    format!("; did you mean '{slashed}'?")
                } else {
                    String::new()
                };
                format!("{prefix_source} '{p}' must be a path starting with '/', without a query, outside /.ory/ (never protected){hint}")
            })
        })
        .collect()
}

/// `--identity-header NAME=PATH` (or `ORY_PROXY_IDENTITY_HEADERS`, comma-separated): the values
/// come from the session lookup, so `--no-jwt` makes it a usage error; a name given twice (in
/// any case spelling) is one too, since only one value can be sent.
pub(crate) fn identity_headers(
    raw: &RawArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<IdentityHeader>, String> {
    let (specs, source) = if raw.identity_headers.is_empty() {
        let from_env = env("ORY_PROXY_IDENTITY_HEADERS").unwrap_or_default();
        (split_list(&[from_env]), "ORY_PROXY_IDENTITY_HEADERS")
    } else {
        (split_list(&raw.identity_headers), "--identity-header")
    };
    if let (true, Some(first)) = (raw.no_jwt, specs.first()) {
        return Err(format!(
            "{source} '{first}' needs the session lookup that --no-jwt turns off"
        ));
    }
    let mut headers: Vec<IdentityHeader> = Vec::with_capacity(specs.len());
    for spec in &specs {
        let header =
            IdentityHeader::parse(spec).map_err(|why| format!("{source} '{spec}': {why}"))?;
        if crate::policy::identity::is_configured(&headers, &header.name) {
            return Err(format!("{source} '{spec}': {} is given twice", header.name));
        }
        headers.push(header);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{no_env, raw};
    use crate::config::{Config, RawArgs};

    #[test]
    fn tunnel_mode() {
        let mut r = raw("http://localhost:3000");
        r.tunnel = true;
        let mut c = Config::from_raw(&r, &no_env).unwrap();
        assert_eq!(c.mode, Mode::Tunnel);
        assert!(!c.jwt);
        assert_eq!(c.ory_prefix(), "");
        assert_eq!(c.public.origin, "http://localhost:4000");
        assert_eq!(c.default_redirect_url, "http://localhost:3000");
        assert_eq!(c.allowed_cors_origins, ["http://localhost:3000"]);
        c.set_bound_port(4111);
        assert_eq!(c.public.origin, "http://localhost:4111");
        assert_eq!(c.default_redirect_url, "http://localhost:3000");
        r.default_redirect_url = Some("http://localhost:3000/home".into());
        r.public_url = Some("http://localhost:4000/x".into());
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("tunnel URL must not contain a path"), "{e}");
        r.public_url = None;
        assert_eq!(
            Config::from_raw(&r, &no_env).unwrap().default_redirect_url,
            "http://localhost:3000/home"
        );
        r.upstream = None;
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert!(e.contains("missing <application-url>"), "{e}");
        for (flag, edit) in [
            (
                "--no-jwt",
                (|r: &mut RawArgs| r.no_jwt = true) as fn(&mut RawArgs),
            ),
            ("--rewrite-host", |r| r.rewrite_host = true),
            ("--jwt-session", |r| r.jwt_session = Some("none".into())),
            ("--require-session", |r| {
                r.require_session = vec!["/".into()]
            }),
            ("--identity-header", |r| {
                r.identity_headers = vec!["X-User=identity.id".into()]
            }),
            ("--require-aal2", |r| r.require_aal2 = vec!["/admin".into()]),
        ] {
            let mut r = raw("http://localhost:3000");
            r.tunnel = true;
            edit(&mut r);
            let e = Config::from_raw(&r, &no_env).unwrap_err();
            assert!(e.starts_with(flag) && e.contains("tunnel mode"), "{e}");
        }
        // The session variables are ignored in tunnel mode.
        let env = |k: &str| {
            matches!(
                k,
                "ORY_PROXY_REQUIRE_SESSION" | "ORY_PROXY_IDENTITY_HEADERS"
            )
            .then(|| {
                if k.ends_with("SESSION") {
                    "/a"
                } else {
                    "X-User=identity.id"
                }
                .to_owned()
            })
        };
        let mut r = raw("http://localhost:3000");
        r.tunnel = true;
        assert!(Config::from_raw(&r, &env)
            .unwrap()
            .require_session
            .is_empty());
        assert!(Config::from_raw(&r, &env)
            .unwrap()
            .identity_headers
            .is_empty());
    }

    #[test]
    fn identity_header_flags_and_variable() {
        let mut r = raw("http://localhost:3000");
        r.identity_headers = vec![
            "X-Auth-Request-Email=identity.traits.email".into(),
            "X-Auth-Request-User=identity.id,X-Aal=authenticator_assurance_level".into(),
        ];
        let c = Config::from_raw(&r, &no_env).unwrap();
        let names: Vec<_> = c.identity_headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["X-Auth-Request-Email", "X-Auth-Request-User", "X-Aal"]
        );
        let env = |k: &str| {
            (k == "ORY_PROXY_IDENTITY_HEADERS").then(|| "X-A=identity.id, X-B=x".to_owned())
        };
        assert_eq!(
            Config::from_raw(&raw("http://localhost:3000"), &env)
                .unwrap()
                .identity_headers
                .len(),
            2
        );
        // The flag wins over the variable.
        assert_eq!(
            Config::from_raw(&r, &env).unwrap().identity_headers.len(),
            3
        );

        r.no_jwt = true;
        let e = Config::from_raw(&r, &no_env).unwrap_err();
        assert_eq!(
            e,
            "--identity-header 'X-Auth-Request-Email=identity.traits.email' needs the session \
             lookup that --no-jwt turns off"
        );
        let mut n = raw("http://localhost:3000");
        n.no_jwt = true;
        let e = Config::from_raw(&n, &env).unwrap_err();
        assert!(
            e.starts_with("ORY_PROXY_IDENTITY_HEADERS 'X-A=identity.id' needs"),
            "{e}"
        );

        let mut d = raw("http://localhost:3000");
        d.identity_headers = vec![
            "X-User=identity.id".into(),
            "x-user=identity.traits.email".into(),
        ];
        let e = Config::from_raw(&d, &no_env).unwrap_err();
        assert_eq!(
            e,
            "--identity-header 'x-user=identity.traits.email': x-user is given twice"
        );
        d.identity_headers = vec!["Host=identity.id".into()];
        let e = Config::from_raw(&d, &no_env).unwrap_err();
        assert!(
            e.starts_with("--identity-header 'Host=identity.id': Host is a field"),
            "{e}"
        );
    }
}
