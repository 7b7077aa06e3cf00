//! Tests of the validation of flags and variables into a [`Config`].

use super::*;
use std::time::Duration;

pub(crate) fn raw(upstream: &str) -> RawArgs {
    RawArgs {
        upstream: Some(upstream.to_owned()),
        sdk_url: Some("https://slug.projects.oryapis.com/".to_owned()),
        ..RawArgs::default()
    }
}

pub(crate) fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn defaults() {
    let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
    assert_eq!(c.upstream.origin, "http://localhost:3000");
    assert_eq!(c.upstream.authority, "localhost:3000");
    assert_eq!(c.public.origin, "http://localhost:4000");
    assert_eq!(c.issuer, "https://slug.projects.oryapis.com");
    assert_eq!(c.sdk.authority, "slug.projects.oryapis.com");
    assert_eq!(c.port, 4000);
    assert_eq!(c.default_redirect_url, "http://localhost:4000");
    assert!(c.jwt);
    assert_eq!(c.bind, "::");
    assert_eq!(c.max_connections, DEFAULT_MAX_CONNECTIONS);
    assert_eq!(c.min_data_rate, DEFAULT_MIN_DATA_RATE);
    assert_eq!(c.upstream_timeout, DEFAULT_UPSTREAM_TIMEOUT);
    assert_eq!(c.client_timeout, DEFAULT_CLIENT_TIMEOUT);
}

#[test]
fn timeouts_from_flags_and_env() {
    let mut r = raw("http://localhost:3000");
    r.upstream_timeout = Some("1.5s".into());
    let env = |k: &str| match k {
        "ORY_PROXY_CLIENT_TIMEOUT" => Some("2m".to_owned()),
        "ORY_PROXY_SHUTDOWN_GRACE" => Some("500ms".to_owned()),
        _ => None,
    };
    let c = Config::from_raw(&r, &env).unwrap();
    assert_eq!(c.upstream_timeout, Duration::from_millis(1500));
    assert_eq!(c.client_timeout, Duration::from_secs(120));
    assert_eq!(c.shutdown_grace, Duration::from_millis(500));
    assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let removed = |k: &str| (k == "ORY_PROXY_WORKERS").then(|| "8".to_owned());
    let e = Config::from_raw(&r, &removed).unwrap_err();
    assert!(e.contains("ORY_PROXY_WORKERS was removed"), "{e}");
    r.connect_timeout = Some("0s".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("--connect-timeout '0s'"), "{e}");
    r.connect_timeout = Some("soon".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("--connect-timeout") && e.contains("soon"), "{e}");
}

#[test]
fn url_errors_name_the_problem() {
    let cases = [
        ("ftp://x", "must use http or https"),
        ("localhost:3000", "must"),
        ("http://localhost:3000/app", "must not contain a path"),
        ("http://localhost:3000/?a=1", "must not contain a query"),
        ("http://localhost:3000/#x", "fragment"),
        ("http://u:p@localhost:3000", "user info"),
    ];
    for (url, msg) in cases {
        let e = Config::from_raw(&raw(url), &no_env).unwrap_err();
        assert!(e.contains(msg) && e.contains(url), "{url}: {e}");
    }
    let mut r = raw("http://localhost:3000");
    r.public_url = Some("https://example.org/app".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("public URL must not contain a path"), "{e}");
    r.public_url = Some("https://example.org:1234/".into());
    let c = Config::from_raw(&r, &no_env).unwrap();
    assert_eq!(c.public.origin, "https://example.org:1234");
}

#[test]
fn sdk_url_from_env_and_missing() {
    let mut r = raw("http://localhost:3000");
    r.sdk_url = None;
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("--sdk-url") && e.contains("ORY_SDK_URL"), "{e}");
    let env = |k: &str| match k {
        "ORY_SDK_URL" => Some("http://127.0.0.1:4433".to_owned()),
        "PORT" => Some("8080".to_owned()),
        _ => None,
    };
    let c = Config::from_raw(&r, &env).unwrap();
    assert_eq!(c.issuer, "http://127.0.0.1:4433");
    assert_eq!(c.port, 8080);
    assert_eq!(c.public.origin, "http://localhost:8080");
}

#[test]
fn cookie_domain_port_stripped() {
    let mut r = raw("http://localhost:3000");
    r.cookie_domain = Some("example.org:4000".into());
    let c = Config::from_raw(&r, &no_env).unwrap();
    assert_eq!(c.cookie_domain.as_deref(), Some("example.org"));
}

#[test]
fn operations_flags() {
    use crate::obs::logger::LogFormat;
    let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
    assert_eq!(
        (c.jwks_file, c.metrics, c.log_format),
        (None, false, LogFormat::Text)
    );
    let env = |k: &str| match k {
        "ORY_PROXY_JWKS_FILE" => Some("/etc/keys.json".to_owned()),
        "ORY_PROXY_METRICS" => Some("1".to_owned()),
        "ORY_PROXY_LOG_FORMAT" => Some("json".to_owned()),
        _ => None,
    };
    let c = Config::from_raw(&raw("http://localhost:3000"), &env).unwrap();
    assert_eq!(
        c.jwks_file.as_deref(),
        Some(std::path::Path::new("/etc/keys.json"))
    );
    assert!(c.metrics);
    assert_eq!(c.log_format, LogFormat::Json);
    let mut r = raw("http://localhost:3000");
    r.log_format = Some("yaml".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("--log-format 'yaml'"), "{e}");
    let bad_env = |k: &str| (k == "ORY_PROXY_METRICS").then(|| "yes".to_owned());
    let e = Config::from_raw(&raw("http://localhost:3000"), &bad_env).unwrap_err();
    assert!(e.contains("ORY_PROXY_METRICS 'yes'"), "{e}");
}

#[test]
fn cache_and_token_lifetimes() {
    let c = Config::from_raw(&raw("http://localhost:3000"), &no_env).unwrap();
    assert_eq!(c.session_cache_ttl, Duration::from_secs(5));
    assert_eq!(c.jwt_ttl_secs, 60);
    let mut r = raw("http://localhost:3000");
    r.session_cache_ttl = Some("0".into());
    r.jwt_ttl = Some("2m".into());
    let c = Config::from_raw(&r, &no_env).unwrap();
    assert_eq!(c.session_cache_ttl, Duration::ZERO);
    assert_eq!(c.jwt_ttl_secs, 120);
    let env = |k: &str| match k {
        "ORY_PROXY_SESSION_CACHE_TTL" => Some("250ms".to_owned()),
        "ORY_PROXY_JWT_TTL" => Some("10".to_owned()),
        _ => None,
    };
    let c = Config::from_raw(&raw("http://localhost:3000"), &env).unwrap();
    assert_eq!(c.session_cache_ttl, Duration::from_millis(250));
    assert_eq!(c.jwt_ttl_secs, 10);
    r.jwt_ttl = Some("500ms".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(e.contains("--jwt-ttl") && e.contains("at least 1s"), "{e}");
    r.jwt_ttl = None;
    r.session_cache_ttl = Some("soon".into());
    let e = Config::from_raw(&r, &no_env).unwrap_err();
    assert!(
        e.contains("--session-cache-ttl") && e.contains("soon"),
        "{e}"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
    assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
    assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
    for bad in ["", "s", "-1s", "5x", "1e99h", "NaN"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}
