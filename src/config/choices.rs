//! The small choices a flag makes between named values: the log format and how much of the
//! session goes into a token. They are plain data, parsed here with the rest of the
//! configuration; what each choice does lives with its user ([`crate::obs::logger`],
//! [`crate::ory::claims`]), so the configuration imports neither.

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `2026-01-02T03:04:05.678Z INFO GET /path 200 1.23ms …`.
    #[default]
    Text,
    /// `{"time":"…","level":"info","msg":"access","method":"GET",…}`.
    Json,
}

impl LogFormat {
    /// `text` or `json` (case-insensitive).
    pub fn parse(value: &str) -> Option<LogFormat> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// `--jwt-session`: what the `session` claim holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionClaim {
    /// The whoami body as received.
    #[default]
    Full,
    /// The session's id, state, times and assurance level, and the identity's id, schema,
    /// state, traits and public metadata.
    Identity,
    /// No `session` claim.
    None,
}

impl SessionClaim {
    /// Parses a flag value: `full`, `identity` or `none` (any case).
    pub fn parse(value: &str) -> Option<SessionClaim> {
        match value.trim().to_ascii_lowercase().as_str() {
            "full" => Some(SessionClaim::Full),
            "identity" => Some(SessionClaim::Identity),
            "none" => Some(SessionClaim::None),
            _ => None,
        }
    }

    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionClaim::Full => "full",
            SessionClaim::Identity => "identity",
            SessionClaim::None => "none",
        }
    }
}
