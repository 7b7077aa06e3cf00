//! Where things are: the application, the public URL, Ory, the address to listen on, the cookie
//! domain, the welcome redirect and the extra CORS origins. One concern of
//! [`super::Config::from_raw`]: the URLs checked together, because the mode decides what each
//! is called in an error and what the defaults are.

use super::mode::Mode;
use super::raw::{split_list, RawArgs};
use crate::policy::origin::Origin;

/// The validated places, moved into [`super::Config`] field by field.
pub(super) struct Places {
    pub(super) upstream: Origin,
    pub(super) public: Origin,
    pub(super) public_explicit: bool,
    pub(super) sdk: Origin,
    pub(super) sdk_path: String,
    pub(super) sdk_source: String,
    /// Said at start-up when a project was given too and lost to the SDK URL.
    pub(super) sdk_note: Option<String>,
    pub(super) bind: String,
    pub(super) port: u16,
    pub(super) cookie_domain: Option<String>,
    pub(super) default_redirect_url: String,
    pub(super) allowed_cors_origins: Vec<String>,
}

impl Places {
    pub(super) fn from_raw(
        raw: &RawArgs,
        mode: Mode,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Places, String> {
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
        let (sdk, sdk_path) = Origin::parse_with_path("SDK URL", &sdk_choice.url)?;

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
                return Err(super::raw::removed_flag(var));
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
            None => (
                Origin::default_public(port, super::tls::wanted(raw, env)),
                false,
            ),
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
        Ok(Places {
            upstream,
            public,
            public_explicit,
            sdk,
            sdk_path,
            sdk_source: sdk_choice.source,
            sdk_note: sdk_choice.note,
            bind,
            port,
            cookie_domain,
            default_redirect_url,
            allowed_cors_origins,
        })
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
