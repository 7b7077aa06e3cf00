//! Log lines on stderr: the banner, one access line per request, errors, and `--debug` detail.
//!
//! A proxy logs on its hot path, so a line is formatted into one buffer and written with a single
//! `write_all` on the locked stderr; nothing is logged at all for the levels that are switched
//! off. The settings are set once at start-up and read without locking afterwards.

use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy)]
struct Settings {
    quiet: bool,
    debug: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets the log level once; later calls are ignored.
pub fn init(quiet: bool, debug: bool) {
    let _ = SETTINGS.set(Settings { quiet, debug });
}

fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or(Settings {
        quiet: false,
        debug: false,
    })
}

/// Whether `--debug` is on (callers skip building expensive messages otherwise).
pub fn debug_enabled() -> bool {
    settings().debug
}

fn write_line(level: &str, message: &str) {
    let line = format!(
        "{} {level} {message}\n",
        crate::timefmt::rfc3339_millis(SystemTime::now())
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A line that always prints: something went wrong.
pub fn error(message: &str) {
    write_line("ERROR", message);
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

/// Raw text for the banner (no timestamp), silenced by `-q`.
pub fn banner(text: &str) {
    if !settings().quiet {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
}

/// One access line: method, path without the query (it may hold secrets), status, duration.
pub fn access(method: &str, target: &str, status: u16, elapsed: Duration) {
    if settings().quiet {
        return;
    }
    let path = target.split('?').next().unwrap_or(target);
    write_line(
        "INFO",
        &format!(
            "{method} {path} {status} {:.2}ms",
            elapsed.as_secs_f64() * 1000.0
        ),
    );
}
