//! What the proxy says once it listens: its version, every address it listens on, where to
//! browse, which application and which Ory it talks to (and which setting named Ory), where the
//! keys are, which paths need a session, and notes (a public port that is not the listening
//! port, Go flags without effect). Kept apart from the server so
//! the wording can change without touching the connection layer. Under `--log-format json` it
//! is one object with a field per URL, for log pipelines.

use crate::config::{Config, Mode};
use crate::obs::logger;
use std::net::SocketAddr;

/// Prints the banner to stderr (through the logger, so `--quiet` and `--log-format` apply).
pub fn print(config: &Config, listening: &[SocketAddr]) {
    let (text, fields) = render(config, listening);
    logger::banner(&text, &fields);
}

/// The text layout, and the fields of the one JSON object that replaces it under
/// `--log-format json` (the object's `msg` is the text's first line). `listening` holds every
/// bound address, the first one first (`--bind localhost` binds 127.0.0.1 and `[::1]`).
pub fn render(
    config: &Config,
    listening: &[SocketAddr],
) -> (String, Vec<(&'static str, Option<String>)>) {
    let bound = listening[0];
    let addresses = listening
        .iter()
        .map(SocketAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let public = &config.public.origin;
    let ory = format!("{}{}", config.sdk.origin, config.sdk_path);
    let jwks = config.jwt.then(|| format!("{public}/.ory/jwks.json"));
    let version = env!("CARGO_PKG_VERSION");
    let tunnel = config.mode == Mode::Tunnel;
    let mut rows: Vec<(&str, String, String)> = Vec::new();
    // One address is the first line; more (`--bind localhost`) are listed together.
    if listening.len() > 1 {
        rows.push((
            "listening",
            addresses.clone(),
            format!("(--bind {})", config.bind),
        ));
    }
    rows.extend([
        if tunnel {
            let what = "(tunnel mode: Ory's paths, no /.ory prefix, no token)";
            ("Ory tunnel", public.clone(), what.into())
        } else {
            let what = "(your app and Ory, through this proxy)";
            ("browse to", public.clone(), what.into())
        },
        (
            "your app",
            config.upstream.origin.clone(),
            if tunnel {
                "(may call the tunnel with credentials; gets the welcome redirect)".into()
            } else if config.jwt {
                "(gets Authorization: Bearer <jwt> when signed in)".into()
            } else {
                "(--no-jwt: no session lookup, no token)".into()
            },
        ),
        (
            "Ory",
            ory.clone(),
            if tunnel {
                format!("(from {}; browsers use the tunnel URL)", config.sdk_source)
            } else {
                format!("(from {}; browsers use /.ory)", config.sdk_source)
            },
        ),
    ]);
    if let Some(jwks) = &jwks {
        rows.push(("keys (JWKS)", jwks.clone(), "(to verify the token)".into()));
    }
    if !config.require_session.is_empty() {
        rows.push((
            "need sign-in",
            config.require_session.join(", "),
            "(--require-session: browsers go to the login flow, others get 401)".into(),
        ));
    }
    if !config.require_aal2.is_empty() {
        rows.push((
            "need 2FA",
            config.require_aal2.join(", "),
            "(--require-aal2: aal1 browsers go to the step-up login, others get 403)".into(),
        ));
    }
    let metrics = metrics_row(config);
    if let Some(url) = &metrics {
        let what = "(and /health/alive, /health/ready; not on the public port)";
        rows.push(("metrics", url.clone(), what.into()));
    }
    let width = rows.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    // The first line is stable: tests and scripts read the bound address from it.
    let mut text = format!("ory-proxy listening on {bound}\n  ory-proxy {version}\n");
    for (label, value, what) in &rows {
        text.push_str(&format!("  {label:<12} {value:<width$}  {what}\n"));
    }
    let mut notes = Vec::new();
    if let Some(note) = port_note(config, bound) {
        notes.push(note);
    }
    notes.extend(public_metrics_note(config));
    notes.extend(config.notes.iter().cloned());
    for note in &notes {
        text.push_str(&format!("  note: {note}\n"));
    }
    let fields = vec![
        ("listen", Some(bound.to_string())),
        ("listening", Some(addresses)),
        ("public", Some(public.clone())),
        ("upstream", Some(config.upstream.origin.clone())),
        ("ory", Some(ory)),
        ("ory_from", Some(config.sdk_source.clone())),
        ("jwks", jwks),
        (
            "require_session",
            (!config.require_session.is_empty()).then(|| config.require_session.join(", ")),
        ),
        (
            "require_aal2",
            (!config.require_aal2.is_empty()).then(|| config.require_aal2.join(", ")),
        ),
        ("metrics", metrics),
        ("version", Some(version.to_owned())),
        ("notes", (!notes.is_empty()).then(|| notes.join("; "))),
    ];
    (text, fields)
}

/// `--metrics-address`: where the operator endpoints are (the address really bound).
fn metrics_row(config: &Config) -> Option<String> {
    config
        .deploy
        .metrics_address
        .map(|addr| format!("http://{addr}/metrics"))
}

/// `--metrics` alone serves the page on the public port: say so, and how to move it.
fn public_metrics_note(config: &Config) -> Option<String> {
    (config.metrics && config.deploy.metrics_address.is_none()).then(|| {
        format!(
            "metrics are public at {}/.ory/proxy/metrics (anyone who reaches the proxy can read \
             them); --metrics-address 127.0.0.1:9464 serves them on a private address instead",
            config.public.origin
        )
    })
}

/// Said when browsers reach the proxy on another port than it listens on: something in front
/// (a load balancer, a tunnel, a container port mapping) must forward one to the other.
fn port_note(config: &Config, bound: SocketAddr) -> Option<String> {
    (config.public.port != bound.port()).then(|| {
        let (public, listen) = (config.public.port, bound.port());
        format!(
            "browsers come in on port {public} (the public URL), the proxy listens on {listen}: \
             a load balancer, tunnel or port mapping must forward {public} to {listen}"
        )
    })
}

/// Opens `url` in the default browser; a failure is one line, never fatal.
pub fn open_browser(url: &str) {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    match std::process::Command::new(program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            // Reap it in the background so it does not linger as a zombie.
            std::thread::spawn(move || {
                if let Ok(status) = child.wait() {
                    if !status.success() {
                        logger::error(&format!(
                            "could not open a browser ({program} {status}); open {} yourself",
                            "the URL above"
                        ));
                    }
                }
            });
        }
        Err(e) => logger::error(&format!(
            "could not open a browser ({program}: {e}); open the URL above yourself"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        match crate::cli::action(args.iter().map(std::ffi::OsString::from), &|_| None).unwrap() {
            crate::cli::Action::Run(config) => *config,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn labels_say_what_each_url_is() {
        let c = config(&[
            "http://127.0.0.1:3000",
            "--project",
            "acme",
            "--port",
            "4000",
        ]);
        let (text, fields) = render(&c, &["0.0.0.0:4000".parse().unwrap()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ory-proxy listening on 0.0.0.0:4000");
        assert_eq!(
            lines[1],
            format!("  ory-proxy {}", env!("CARGO_PKG_VERSION"))
        );
        assert!(
            lines[2].starts_with("  browse to    http://localhost:4000 "),
            "{text}"
        );
        assert!(
            lines[3].starts_with("  your app     http://127.0.0.1:3000 "),
            "{text}"
        );
        assert!(
            lines[4].contains("https://acme.projects.oryapis.com"),
            "{text}"
        );
        assert!(
            lines[4].ends_with("(from --project acme; browsers use /.ory)"),
            "{text}"
        );
        assert!(
            lines[5].contains("http://localhost:4000/.ory/jwks.json"),
            "{text}"
        );
        assert!(!text.contains("note:"), "{text}");
        let get = |k: &str| fields.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("listen").as_deref(), Some("0.0.0.0:4000"));
        assert_eq!(
            get("ory").as_deref(),
            Some("https://acme.projects.oryapis.com")
        );
        assert_eq!(get("notes"), None);
    }

    #[test]
    fn a_public_port_that_is_not_the_listening_port_is_noted() {
        let c = config(&[
            "http://a:1",
            "https://app.example.org",
            "--sdk-url",
            "http://o:2",
        ]);
        let (text, _) = render(&c, &["0.0.0.0:4000".parse().unwrap()]);
        assert!(
            text.contains(
                "  note: browsers come in on port 443 (the public URL), the proxy listens on 4000"
            ),
            "{text}"
        );
    }
}
