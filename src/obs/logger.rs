//! Log lines on stderr: the banner, errors, warnings and `--debug` detail; the access lines are
//! formatted in [`super::access`] with the same settings and helpers.
//!
//! A proxy logs on its hot path, so a line is formatted into one buffer and written with a single
//! `write_all` on the locked stderr; nothing is logged at all for the levels that are switched
//! off. The settings are set once at start-up and read without locking afterwards.
//!
//! Two formats (`--log-format`): `text` for people, and `json` for log pipelines, one object per
//! line with `time`, `level` and `msg`, plus the access fields. Either way an access line carries
//! the path without its query (a query can hold a logout token, a code or a return address) and
//! never a header value: cookies, session tokens and the minted JWT stay out of logs.

use super::printable;
use std::io::Write;
use std::sync::OnceLock;
use std::time::SystemTime;

pub use crate::config::LogFormat;

#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) quiet: bool,
    pub(super) debug: bool,
    pub(super) format: LogFormat,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets the log level and format once; later calls are ignored.
pub fn init(quiet: bool, debug: bool, format: LogFormat) {
    let _ = SETTINGS.set(Settings {
        quiet,
        debug,
        format,
    });
}

pub(super) fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or(Settings {
        quiet: false,
        debug: false,
        format: LogFormat::Text,
    })
}

/// Whether `--debug` is on (callers skip building expensive messages otherwise).
pub fn debug_enabled() -> bool {
    settings().debug
}

fn write_line(level: &str, message: &str) {
    let line = format_line(settings().format, SystemTime::now(), level, message);
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// One plain line (not an access line) in `format`, newline included.
fn format_line(format: LogFormat, now: SystemTime, level: &str, message: &str) -> String {
    let time = crate::obs::timefmt::rfc3339_millis(now);
    match format {
        // One message is one line that reads as what it holds: control, format (bidi) and
        // line-separator characters that reached it through a peer's bytes are escaped.
        LogFormat::Text => format!("{time} {level} {}\n", printable::text(message)),
        LogFormat::Json => {
            let mut line = String::with_capacity(message.len() + 64);
            line.push_str("{\"time\":\"");
            line.push_str(&time);
            line.push_str("\",\"level\":\"");
            line.push_str(&level.to_ascii_lowercase());
            line.push_str("\",\"msg\":");
            push_json_str(&mut line, message);
            line.push_str("}\n");
            line
        }
    }
}

/// A line that always prints: something went wrong.
pub fn error(message: &str) {
    write_line("ERROR", message);
}

/// A line that always prints: something the operator should fix, though the proxy runs.
pub fn warn(message: &str) {
    write_line("WARN", message);
}

/// An informational line, silenced by `-q`.
pub fn info(message: &str) {
    if !settings().quiet {
        write_line("INFO", message);
    }
}

/// A `--debug` line; `message` is only built when debugging is on.
pub fn debug(message: impl FnOnce() -> String) {
    if settings().debug {
        write_line("DEBUG", &message());
    }
}

/// The banner, silenced by `-q`: the text as it is in the text format; in the JSON format one
/// object whose `msg` is the text's first line (`ory-proxy listening on ADDR`) and which carries
/// `fields` (`None` is written as `null`).
pub fn banner(text: &str, fields: &[(&str, Option<String>)]) {
    let s = settings();
    if s.quiet {
        return;
    }
    let out = match s.format {
        LogFormat::Text => text.to_owned(),
        LogFormat::Json => banner_json(SystemTime::now(), text, fields),
    };
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

fn banner_json(now: SystemTime, text: &str, fields: &[(&str, Option<String>)]) -> String {
    let mut line = format_line(
        LogFormat::Json,
        now,
        "INFO",
        text.lines().next().unwrap_or(""),
    );
    line.truncate(line.trim_end().len() - 1); // reopen the object: drop `}`
    for (name, value) in fields {
        line.push(',');
        push_json_str(&mut line, name);
        line.push(':');
        match value {
            Some(v) => push_json_str(&mut line, v),
            None => line.push_str("null"),
        }
    }
    line.push_str("}\n");
    line
}

/// The longest path logged; longer ones are cut (with `…`) so a line stays bounded.
pub const MAX_LOGGED_PATH: usize = 1024;

/// The path of a request-target as log lines show it: without the query (it may hold flow ids,
/// codes or tokens) and cut to [`MAX_LOGGED_PATH`] bytes. The line's writer escapes what does
/// not print ([`printable`]), so a client can neither split a log line nor make it read
/// differently.
pub fn path_of(target: &str) -> std::borrow::Cow<'_, str> {
    loggable_path(target)
}

pub(super) fn loggable_path(target: &str) -> std::borrow::Cow<'_, str> {
    let path = target.split('?').next().unwrap_or(target);
    let mut cut = path.len().min(MAX_LOGGED_PATH);
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut == path.len() {
        return std::borrow::Cow::Borrowed(path);
    }
    std::borrow::Cow::Owned(format!("{}…", &path[..cut]))
}

/// Appends `s` as a JSON string literal (RFC 8259 §7), with every character that does not
/// print (C0, C1, Cf, U+2028, U+2029) as a `\uXXXX` escape.
pub(super) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if printable::is_unprintable(c) => printable::push_json_escape(out, c),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_plain_lines_escape_everything() {
        let line = format_line(
            LogFormat::Json,
            SystemTime::UNIX_EPOCH,
            "ERROR",
            "bad \"x\"\n\u{1}\u{7f} é",
        );
        assert_eq!(line.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "bad \"x\"\n\u{1}\u{7f} é");
    }

    #[test]
    fn long_and_odd_paths_are_bounded() {
        let long = format!("/{}", "é".repeat(2000));
        let p = loggable_path(&long);
        assert!(p.len() <= MAX_LOGGED_PATH + '…'.len_utf8() && p.ends_with('…'));
        assert_eq!(loggable_path("/a\tb?c"), "/a\tb");
        assert!(matches!(
            loggable_path("/ok?q"),
            std::borrow::Cow::Borrowed("/ok")
        ));
    }

    #[test]
    fn json_banner_is_one_object_with_fields() {
        let line = banner_json(
            SystemTime::UNIX_EPOCH,
            "ory-proxy listening on 127.0.0.1:4000\n  version 1\n",
            &[
                ("public", Some("http://localhost:4000".into())),
                ("jwks", None),
            ],
        );
        assert_eq!(line.lines().count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["msg"], "ory-proxy listening on 127.0.0.1:4000");
        assert_eq!(v["public"], "http://localhost:4000");
        assert!(v["jwks"].is_null());
    }

    #[test]
    fn formats_parse() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("text"), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("logfmt"), None);
    }

    #[test]
    fn text_lines_never_carry_control_characters() {
        use std::time::UNIX_EPOCH;
        let line = format_line(
            LogFormat::Text,
            UNIX_EPOCH,
            "ERROR",
            "GET /a\u{1b}[31mb: 502 x\ny",
        );
        assert_eq!(
            line,
            "1970-01-01T00:00:00.000Z ERROR GET /a\\u{1b}[31mb: 502 x\\u{a}y\n"
        );
        let bidi = format_line(
            LogFormat::Text,
            UNIX_EPOCH,
            "WARN",
            "o=\u{202e}\u{2028}\u{200b}",
        );
        assert_eq!(
            bidi,
            "1970-01-01T00:00:00.000Z WARN o=\\u{202e}\\u{2028}\\u{200b}\n"
        );
        let json = format_line(
            LogFormat::Json,
            UNIX_EPOCH,
            "WARN",
            "o=\u{202e}\u{85}\u{2029}\u{feff}",
        );
        assert!(
            json.contains(r#""msg":"o=\u202e\u0085\u2029\ufeff""#),
            "{json}"
        );
    }
}
