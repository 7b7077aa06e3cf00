//! One access line per request: method, path (never the query), status, time, bytes, route,
//! session outcome, request id; for a request the proxy answered with its own error, that error
//! in words (then the line is the request's only one and prints even under `-q`), and
//! `cors=denied` when the request's `Origin` was refused.

use super::logger::{loggable_path, push_json_str, settings, LogFormat};
use super::printable;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, SystemTime};

/// What one access line says about a request.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    pub method: &'a str,
    /// The raw request-target; only its path is logged.
    pub target: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    /// Response body bytes written to the client.
    pub bytes: u64,
    /// `ory`, `upstream` or `local`.
    pub route: &'a str,
    /// `none` (no credentials or not looked up), `active`, `anonymous`, `rate_limited`, `error`.
    pub session: &'a str,
    pub request_id: &'a str,
    /// The client's address: the TCP peer, or behind `--trusted-proxies` the first untrusted
    /// address of `X-Forwarded-For` from the right.
    pub client: &'a str,
}

/// What an access line may say beyond [`Access`]: a CORS denial, and for a request the proxy
/// answered with its own error, that error in words (then the line is the request's only one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome<'a> {
    /// The request's `Origin` was denied (`cors=denied`).
    pub cors_denied: bool,
    /// The proxy's own error, explained (`error="…"`); the line then prints at `ERROR` level,
    /// even under `-q`.
    pub error: Option<&'a str>,
}

/// One access line (silenced by `-q`).
pub fn access(a: &Access<'_>) {
    access_with(a, &Outcome::default())
}

/// One access line with what else happened to the request. A failed request's line prints even
/// under `-q`: it is the request's error line.
pub fn access_with(a: &Access<'_>, outcome: &Outcome<'_>) {
    let s = settings();
    if s.quiet && outcome.error.is_none() {
        return;
    }
    let line = format_access(s.format, SystemTime::now(), a, outcome);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

fn format_access(format: LogFormat, now: SystemTime, a: &Access<'_>, o: &Outcome<'_>) -> String {
    let path = loggable_path(a.target);
    let ms = a.elapsed.as_secs_f64() * 1000.0;
    let time = crate::obs::timefmt::rfc3339_millis(now);
    let level = if o.error.is_some() { "ERROR" } else { "INFO" };
    let mut line = String::with_capacity(path.len() + 200);
    match format {
        LogFormat::Text => {
            // `write!` to a String cannot fail.
            let _ = write!(
                line,
                "{time} {level} {} {path} {} {ms:.2}ms {}B route={} session={} id={} client={}",
                a.method, a.status, a.bytes, a.route, a.session, a.request_id, a.client
            );
            if o.cors_denied {
                line.push_str(" cors=denied");
            }
            if let Some(error) = o.error {
                let _ = write!(line, " error=\"{}\"", error.replace('"', "'"));
            }
            // Peers' bytes (path, error words) never reach the line raw.
            if let Cow::Owned(escaped) = printable::text(&line) {
                line = escaped;
            }
            line.push('\n');
        }
        LogFormat::Json => {
            line.push_str("{\"time\":\"");
            line.push_str(&time);
            line.push_str("\",\"level\":\"");
            line.push_str(&level.to_ascii_lowercase());
            line.push_str("\",\"msg\":\"access\",\"method\":");
            push_json_str(&mut line, a.method);
            line.push_str(",\"path\":");
            push_json_str(&mut line, &path);
            let _ = write!(
                line,
                ",\"status\":{},\"duration_ms\":{ms:.3},\"bytes\":{},\"route\":",
                a.status, a.bytes
            );
            push_json_str(&mut line, a.route);
            line.push_str(",\"session\":");
            push_json_str(&mut line, a.session);
            line.push_str(",\"request_id\":");
            push_json_str(&mut line, a.request_id);
            line.push_str(",\"client\":");
            push_json_str(&mut line, a.client);
            if o.cors_denied {
                line.push_str(",\"cors\":\"denied\"");
            }
            if let Some(error) = o.error {
                line.push_str(",\"error\":");
                push_json_str(&mut line, error);
            }
            line.push_str("}\n");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(target: &str) -> Access<'_> {
        Access {
            method: "GET",
            target,
            status: 200,
            elapsed: Duration::from_micros(1234),
            bytes: 42,
            route: "upstream",
            session: "active",
            request_id: "req-1",
            client: "192.0.2.7",
        }
    }

    #[test]
    fn json_access_line_parses_and_drops_the_query() {
        let line = format_access(
            LogFormat::Json,
            SystemTime::UNIX_EPOCH,
            &sample("/a\"b\\c?token=secret"),
            &Outcome::default(),
        );
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["time"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["level"], "info");
        assert_eq!(v["msg"], "access");
        assert_eq!(v["method"], "GET");
        assert_eq!(v["path"], "/a\"b\\c");
        assert_eq!(v["status"], 200);
        assert_eq!(v["duration_ms"], 1.234);
        assert_eq!(v["bytes"], 42);
        assert_eq!(v["route"], "upstream");
        assert_eq!(v["session"], "active");
        assert_eq!(v["request_id"], "req-1");
        assert_eq!(v["client"], "192.0.2.7");
        assert!(!line.contains("secret"));
    }

    #[test]
    fn text_access_line() {
        let line = format_access(
            LogFormat::Text,
            SystemTime::UNIX_EPOCH,
            &sample("/p?x=1"),
            &Outcome::default(),
        );
        assert_eq!(
            line,
            "1970-01-01T00:00:00.000Z INFO GET /p 200 1.23ms 42B route=upstream session=active id=req-1 client=192.0.2.7\n"
        );
    }

    #[test]
    fn a_failed_request_is_one_line_with_its_error_and_cors_denial() {
        let mut a = sample("/p");
        a.status = 502;
        let o = Outcome {
            cors_denied: true,
            error: Some("cannot reach \"x\"\n— is it running?"),
        };
        let line = format_access(LogFormat::Text, SystemTime::UNIX_EPOCH, &a, &o);
        assert_eq!(
            line,
            "1970-01-01T00:00:00.000Z ERROR GET /p 502 1.23ms 42B route=upstream \
             session=active id=req-1 client=192.0.2.7 cors=denied error=\"cannot reach 'x'\\u{a}— is it running?\"\n"
        );
        let bidi = format_access(
            LogFormat::Text,
            SystemTime::UNIX_EPOCH,
            &sample("/\u{202e}x\u{2028}"),
            &o,
        );
        assert!(bidi.contains(" GET /\\u{202e}x\\u{2028} 200 "), "{bidi}");
        let bidi = format_access(
            LogFormat::Json,
            SystemTime::UNIX_EPOCH,
            &sample("/\u{202e}\u{200b}"),
            &o,
        );
        assert!(bidi.contains(r#""path":"/\u202e\u200b""#), "{bidi}");
        a.status = 431;
        let line = format_access(LogFormat::Json, SystemTime::UNIX_EPOCH, &a, &o);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["cors"], "denied");
        assert_eq!(v["error"], "cannot reach \"x\"\n— is it running?");
    }
}
