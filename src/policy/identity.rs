//! Identity headers (`--identity-header NAME=PATH`): the session's values as plain request
//! fields, for applications that cannot verify a JWT (Grafana's auth proxy mode, Gitea, an old
//! PHP app), the way oauth2-proxy sends `X-Auth-Request-Email`.
//!
//! Such a field is only as trustworthy as the proxy's promise that no client can set it, so two
//! rules hold together: every configured name is removed from every client request, in any case
//! spelling (and a `_` twin is dropped anyway, [`super::headers::has_underscore`]), and the value
//! the proxy sends instead comes from Ory's session answer only. A value that could not travel
//! intact (a control character would split or end the field; a huge one would push the request
//! head past an upstream's limit) is not sent at all: a missing field is a clear "not signed
//! in", a cut one is a different user.
//!
//! Pure: parsing the flag's value at start-up, and reading values out of a whoami body.

use serde_json::Value;

/// The longest value sent; a longer one is not sent (and warned about).
pub const MAX_VALUE_BYTES: usize = 4096;

/// One `--identity-header NAME=PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader {
    /// The field name as configured (sent with this spelling).
    pub name: String,
    /// The dot path into the whoami session, split: `identity.traits.email`.
    pub path: Vec<String>,
}

/// Fields a configured name may not be: the proxy sets, removes or relies on them itself.
const RESERVED: &[&str] = &[
    "authorization",
    "cookie",
    "via",
    "x-request-id",
    "x-session-token",
];

impl IdentityHeader {
    /// Parses `NAME=PATH`; the error says what is wrong (the caller quotes the value).
    pub fn parse(spec: &str) -> Result<IdentityHeader, String> {
        let (name, path) = spec
            .split_once('=')
            .ok_or("must be NAME=PATH, e.g. X-Auth-Request-Email=identity.traits.email")?;
        let (name, path) = (name.trim(), path.trim());
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(format!("'{name}' is not a header field name"));
        }
        if name.contains('_') {
            return Err(format!(
                "'{name}' has '_', which servers drop or confuse with '-'; use '-'"
            ));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str())
            || lower.starts_with("ory-")
            || super::headers::is_hop_by_hop(name)
            || !super::headers::forward_request_header(name, &[], true)
        {
            return Err(format!(
                "{name} is a field the proxy sets or removes itself"
            ));
        }
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(|s| s.is_empty() || s.trim() != s) {
            return Err(format!(
                "'{path}' is not a dot path into the session, e.g. identity.traits.email"
            ));
        }
        Ok(IdentityHeader {
            name: name.to_owned(),
            path: segments,
        })
    }
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What a configured path yields for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Send this value.
    Value(String),
    /// Nothing to send: the path is missing, empty, `null`, an object, or an array holding
    /// more than strings, numbers and booleans.
    Nothing,
    /// Not sent: the value has a control character.
    ControlCharacter,
    /// Not sent: the value is over [`MAX_VALUE_BYTES`].
    TooLong(usize),
}

/// The value at `path` in a parsed session: strings as they are, numbers and booleans as text,
/// arrays of those joined with `,`; a segment of digits indexes an array.
pub fn find(session: &Value, path: &[String]) -> Found {
    let mut at = session;
    for segment in path {
        let next = match at {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return Found::Nothing,
        }
    }
    let text = match at {
        Value::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
            match parts {
                Some(parts) => parts.join(","),
                None => return Found::Nothing,
            }
        }
        other => match scalar(other) {
            Some(t) => t,
            None => return Found::Nothing,
        },
    };
    if text.is_empty() {
        Found::Nothing
    } else if text.chars().any(char::is_control) {
        Found::ControlCharacter
    } else if text.len() > MAX_VALUE_BYTES {
        Found::TooLong(text.len())
    } else {
        Found::Value(text)
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a client's field name is one of the configured ones (any case spelling).
pub fn is_configured(headers: &[IdentityHeader], name: &str) -> bool {
    headers.iter().any(|h| h.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn parsing() {
        let h = IdentityHeader::parse(" X-Auth-Request-Email = identity.traits.email ").unwrap();
        assert_eq!(h.name, "X-Auth-Request-Email");
        assert_eq!(h.path, ["identity", "traits", "email"]);
        for (bad, why) in [
            ("X-User", "NAME=PATH"),
            ("=identity.id", "not a header field name"),
            ("X User=identity.id", "not a header field name"),
            ("X:User=identity.id", "not a header field name"),
            ("X_User=identity.id", "'_'"),
            ("Host=identity.id", "sets or removes itself"),
            ("authorization=identity.id", "sets or removes itself"),
            ("Cookie=identity.id", "sets or removes itself"),
            ("X-Forwarded-For=identity.id", "sets or removes itself"),
            ("Connection=identity.id", "sets or removes itself"),
            ("Ory-Anything=identity.id", "sets or removes itself"),
            ("X-User=", "dot path"),
            ("X-User=identity..id", "dot path"),
            ("X-User=identity.", "dot path"),
        ] {
            let e = IdentityHeader::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn values() {
        let s = json!({
            "authenticator_assurance_level": "aal2",
            "identity": {
                "id": "i-1",
                "traits": {"email": "a@example.org", "empty": "", "nested": {"x": 1}},
                "metadata_public": {"role": "admin", "groups": ["a", "b", 3, true], "mixed": ["a", {}],
                                    "n": 42, "ok": false, "none": null},
                "verifiable_addresses": [{"value": "v@example.org"}]
            }
        });
        for (p, want) in [
            ("identity.id", Found::Value("i-1".into())),
            (
                "identity.traits.email",
                Found::Value("a@example.org".into()),
            ),
            ("authenticator_assurance_level", Found::Value("aal2".into())),
            (
                "identity.metadata_public.groups",
                Found::Value("a,b,3,true".into()),
            ),
            ("identity.metadata_public.n", Found::Value("42".into())),
            ("identity.metadata_public.ok", Found::Value("false".into())),
            (
                "identity.verifiable_addresses.0.value",
                Found::Value("v@example.org".into()),
            ),
            ("identity.verifiable_addresses.1.value", Found::Nothing),
            ("identity.metadata_public.mixed", Found::Nothing),
            ("identity.metadata_public.none", Found::Nothing),
            ("identity.traits.nested", Found::Nothing),
            ("identity.traits.empty", Found::Nothing),
            ("identity.traits.missing", Found::Nothing),
            ("identity.id.deeper", Found::Nothing),
        ] {
            assert_eq!(find(&s, &path(p)), want, "{p}");
        }
    }

    #[test]
    fn unsafe_values_are_not_sent() {
        for bad in [
            "a\r\nX-Admin: 1",
            "a\nb",
            "a\0",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            let s = json!({ "v": bad });
            assert_eq!(find(&s, &path("v")), Found::ControlCharacter, "{bad:?}");
        }
        let s = json!({ "v": "x".repeat(MAX_VALUE_BYTES) });
        assert!(matches!(find(&s, &path("v")), Found::Value(_)));
        let s = json!({ "v": "x".repeat(MAX_VALUE_BYTES + 1) });
        assert_eq!(find(&s, &path("v")), Found::TooLong(MAX_VALUE_BYTES + 1));
        let s = json!({ "v": "José Ürlaub" });
        assert_eq!(find(&s, &path("v")), Found::Value("José Ürlaub".into()));
    }

    #[test]
    fn configured_names_match_in_any_case() {
        let h = [IdentityHeader::parse("X-Auth-Request-Email=identity.traits.email").unwrap()];
        for n in [
            "X-Auth-Request-Email",
            "x-auth-request-email",
            "X-AUTH-REQUEST-EMAIL",
        ] {
            assert!(is_configured(&h, n), "{n}");
        }
        assert!(!is_configured(&h, "X-Auth-Request-User"));
    }
}
