//! What the proxy says once it listens: where to browse, where Ory and the keys are, and which
//! upstream and Ory it talks to. Kept apart from the server so the wording can change without
//! touching the connection layer.

use crate::config::Config;
use crate::obs::logger;
use std::net::SocketAddr;

/// Prints the banner to stderr (through the logger, so `--quiet` and `--log-format` apply).
pub fn print(config: &Config, bound: SocketAddr) {
    // The first line is stable: tests and scripts read the bound address from it.
    let mut text = format!("ory-proxy listening on {bound}\n");
    text.push_str(&format!(
        "  open your application at  {}\n",
        config.public.origin
    ));
    text.push_str(&format!(
        "  Ory is reachable at       {}/.ory\n",
        config.public.origin
    ));
    if config.jwt {
        text.push_str(&format!(
            "  token keys (JWKS) at      {}/.ory/jwks.json\n",
            config.public.origin
        ));
    } else {
        text.push_str("  --no-jwt: no session lookup, no token\n");
    }
    text.push_str(&format!(
        "  upstream {}  ·  Ory {}{}\n",
        config.upstream.origin, config.sdk.origin, config.sdk_path
    ));
    logger::banner(&text);
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
