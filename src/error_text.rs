//! What an error means for the person reading it: which hop failed, in words that name the
//! target and the fix, and an HTML page for browsers.
//!
//! [`crate::error::Error`] carries the low-level reason (`io: Connection refused (os error
//! 111)`); that is right for the JSON body, which API clients already parse, but a developer
//! starting the proxy for the first time needs `cannot reach your application at
//! http://127.0.0.1:3000 (connection refused) — is it running?`. The wording is decided here,
//! once, from the error and the configured hops, so the request path only asks for it: one log
//! line per failed request, and a page when the client is a browser. Start-up uses the same
//! words for its reachability warning.

use crate::error::Error;
use crate::status::reason_phrase;

/// The hops an error can be about, as configured.
#[derive(Debug, Clone)]
pub struct Hops {
    /// The application's origin, e.g. `http://127.0.0.1:3000`.
    pub upstream: String,
    /// Ory's URL (origin and path prefix).
    pub ory: String,
    /// The setting that named Ory (`--sdk-url`, `--project`, `ORY_SDK_URL`, …), for "check …".
    pub ory_setting: String,
}

impl Hops {
    /// `upstream`: the application's origin; `ory`: Ory's URL; `sdk_source`: the setting that
    /// named Ory as the banner says it (`--project acme`), of which the name is kept.
    pub fn new(upstream: &str, ory: &str, sdk_source: &str) -> Hops {
        let setting = sdk_source.split([' ', '=']).next().unwrap_or("--sdk-url");
        Hops {
            upstream: upstream.to_owned(),
            ory: ory.to_owned(),
            ory_setting: setting.to_owned(),
        }
    }
}

/// An error in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// One line: what happened, to which target, and what to do.
    pub summary: String,
    /// Which hop failed: `your application`, `Ory`, `the session lookup`, `the request`, …
    pub hop: &'static str,
    /// What to check, for the HTML page.
    pub check: String,
}

/// What a low-level reason says, in the terms a user can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Refused,
    Unresolvable,
    ConnectTimeout,
    Timeout,
    Tls,
    Other,
}

fn cause_of(reason: &str) -> Cause {
    let r = reason.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| r.contains(n));
    if any(&["refused"]) {
        Cause::Refused
    } else if any(&[
        "lookup address",
        "name or service not known",
        "host not found",
        "name resolution",
        "nodename nor servname",
        "no address associated",
        "cannot resolve",
    ]) {
        Cause::Unresolvable
    } else if any(&["timeout: connect", "timeout: resolve"]) || r == "connect" {
        Cause::ConnectTimeout
    } else if any(&[
        "timed out",
        "timeout",
        "receive response",
        "receive body",
        "per read",
    ]) {
        Cause::Timeout
    } else if any(&["tls", "certificate", "rustls", "handshake"]) {
        Cause::Tls
    } else {
        Cause::Other
    }
}

/// The host of a URL (`acme.projects.oryapis.com` of `https://acme.projects.oryapis.com`).
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.starts_with('[') {
        return authority.split_once(']').map_or(authority, |(h, _)| h);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// The summary and what to check for a failure to reach `who` at `url`.
fn unreachable(who: &str, url: &str, reason: &str, fix_flag: &str) -> (String, String) {
    let check_flag = format!("check {fix_flag}");
    match cause_of(reason) {
        Cause::Refused => (
            format!("cannot reach {who} at {url} (connection refused) — is it running?"),
            format!("that {who} is running and listening at {url}; {check_flag}"),
        ),
        Cause::Unresolvable => (
            format!(
                "cannot resolve {who}'s host '{}' — {check_flag}",
                host_of(url)
            ),
            format!("the host name in {fix_flag} ({url}) and your DNS"),
        ),
        Cause::ConnectTimeout => (
            format!(
                "cannot reach {who} at {url} (no answer to the connection within \
                 --connect-timeout) — is the address right and reachable from here?"
            ),
            format!("{fix_flag} ({url}), firewalls, or raise --connect-timeout"),
        ),
        Cause::Tls => (
            format!("cannot talk TLS with {who} at {url} ({reason}) — {check_flag}"),
            format!("the scheme (http or https) and certificate of {url}"),
        ),
        Cause::Timeout | Cause::Other => (
            format!("cannot reach {who} at {url} ({reason}) — {check_flag}"),
            format!("that {who} at {url} is up and speaks HTTP/1.1"),
        ),
    }
}

/// Words for `error`, with the configured hops as the targets.
pub fn explain(error: &Error, hops: &Hops) -> Explained {
    let app = "your application";
    let (hop, (summary, check)) = match error {
        Error::UpstreamUnreachable(r) => (
            app,
            unreachable(app, &hops.upstream, r, "the <upstream> argument"),
        ),
        Error::OryUnreachable(r) => ("Ory", unreachable("Ory", &hops.ory, r, &hops.ory_setting)),
        Error::SessionLookupFailed(r) => {
            let whoami = format!("{}/sessions/whoami", hops.ory);
            let (summary, check) = match cause_of(r) {
                Cause::Other | Cause::Timeout => (
                    format!("the session lookup at {whoami} failed twice ({r}) — is Ory healthy?"),
                    format!("Ory's status, and {} ({})", hops.ory_setting, hops.ory),
                ),
                _ => unreachable("Ory", &hops.ory, r, &hops.ory_setting),
            };
            ("the session lookup (Ory)", (summary, check))
        }
        Error::UpstreamTimeout(r) => (app, timeout(app, &hops.upstream, r, "--upstream-timeout")),
        Error::OryTimeout(r) if r.starts_with("session lookup") => (
            "the session lookup (Ory)",
            timeout("Ory", &hops.ory, r, "--session-timeout"),
        ),
        Error::OryTimeout(r) => ("Ory", timeout("Ory", &hops.ory, r, "--upstream-timeout")),
        Error::RateLimited { .. } => (
            "the session lookup (Ory)",
            (
                "Ory rate-limited the session lookup — retry after a moment; a busy page \
                 with many assets can raise --session-cache-ttl"
                    .to_owned(),
                "Ory's rate limits for your project".to_owned(),
            ),
        ),
        Error::Overloaded => (
            "this proxy",
            (
                "the proxy is at its limit — retry in a moment".to_owned(),
                "the load on the proxy, --max-connections".to_owned(),
            ),
        ),
        Error::BadHandshake(_) => (
            "the WebSocket server behind the proxy",
            (
                error.to_string(),
                "that the WebSocket server answers the handshake as RFC 6455 §4.2.2 says \
                 (Upgrade: websocket, the Sec-WebSocket-Accept of the request's key)"
                    .to_owned(),
            ),
        ),
        Error::HeadTooLarge(_) => (
            "the request",
            (
                format!("{error} — usually too many or too large cookies for this site"),
                "the cookies your browser holds for this site (clear them and retry)".to_owned(),
            ),
        ),
        Error::LoopDetected { ory: false } => (
            app,
            (
                format!(
                    "the upstream points back at this proxy: {} is ory-proxy itself, not your \
                     application — start your application on another port and pass its URL",
                    hops.upstream
                ),
                "the <upstream> argument: your application's address, not the proxy's".to_owned(),
            ),
        ),
        Error::LoopDetected { ory: true } => (
            "Ory",
            (
                format!(
                    "Ory's URL points back at this proxy: {} is ory-proxy itself, not Ory — \
                     check {}",
                    hops.ory, hops.ory_setting
                ),
                format!("{}: Ory's address, not the proxy's", hops.ory_setting),
            ),
        ),
        other => (
            "the request",
            (other.to_string(), "the request that was sent".to_owned()),
        ),
    };
    Explained {
        summary,
        hop,
        check,
    }
}

fn timeout(who: &str, url: &str, reason: &str, flag: &str) -> (String, String) {
    if cause_of(reason) == Cause::ConnectTimeout {
        return unreachable(who, url, reason, "--connect-timeout");
    }
    (
        format!("{who} at {url} did not answer in time ({reason}) — is it stuck? raise {flag} if it is just slow"),
        format!("that {who} at {url} answers, or raise {flag}"),
    )
}

/// Whether the client prefers an HTML page to JSON: its `Accept` names `text/html` before (or
/// with a higher `q` than) any JSON type. Browsers' navigations do; `fetch` and API clients don't.
pub fn wants_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let mut html = 0.0f32;
    let mut json = 0.0f32;
    for (position, item) in accept.split(',').enumerate() {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        // Earlier entries win ties, as browsers list what they prefer first.
        let weight = q - position as f32 * 0.0001;
        if media == "text/html" || media == "application/xhtml+xml" {
            html = html.max(weight);
        } else if media == "application/json" || media.ends_with("+json") {
            json = json.max(weight);
        }
    }
    html > 0.0 && html > json
}

/// The page a browser gets for one of the proxy's own errors: what happened, which hop, what to
/// check, and the request id to find the log line by.
pub fn html_page(error: &Error, explained: &Explained, request_id: &str) -> String {
    let status = error.status();
    let phrase = reason_phrase(status);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{status} {phrase}</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;\
         padding:0 1rem;color:#1f2933}}h1{{font-size:1.4rem}}dt{{font-weight:600;margin-top:.8rem}}\
         dd{{margin:0}}code{{background:#f0f2f5;padding:.1rem .3rem;border-radius:3px}}\
         footer{{margin-top:2rem;color:#66717d;font-size:.85rem}}</style></head>\n<body>\
         <h1>{status} {phrase}</h1>\n<p>{summary}</p>\n<dl>\
         <dt>Which hop</dt><dd>{hop}</dd>\
         <dt>What to check</dt><dd>{check}</dd>\
         <dt>Request id</dt><dd><code>{id}</code> (the proxy's log line for this request carries it)</dd>\
         </dl>\n<footer>Answered by ory-proxy, not by your application.</footer>\n</body></html>\n",
        summary = escape(&capitalized(&explained.summary)),
        hop = escape(explained.hop),
        check = escape(&explained.check),
        id = escape(request_id),
    )
}

/// `text` with its first letter in upper case, for a sentence on a page.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
