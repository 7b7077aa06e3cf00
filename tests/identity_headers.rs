//! `--identity-header NAME=PATH` (issue 18 §2): a signed-in request reaches the upstream with
//! the session's values; every configured name is removed from every client request in any case
//! spelling, so an anonymous client's forged copy never arrives and a signed-in client's is
//! replaced, never doubled; a value with a control character or over 4 KiB is not sent and is
//! warned about once; `--no-jwt` makes the flag a usage error. A Flask app (the recipe in
//! docs/beyond.md) reads `X-Auth-Request-Email` on Werkzeug's server and on `wsgiref`, which
//! folds `_` into `-` and joins duplicate fields with `,`: a doubled or twin field would show.

use crate::util::client::{raw_exchange, RawResponse};
use crate::util::flask;
use crate::util::usage::assert_refused;
use crate::util::ws::{WsClient, WsEcho};
use crate::util::{FakeOry, ProxyProcess, Req, Stack};
use serde_json::{json, Value};

const FLAGS: &[&str] = &[
    "--identity-header",
    "X-Auth-Request-Email=identity.traits.email",
    "--identity-header",
    "X-Auth-Request-User=identity.id,X-Groups=identity.metadata_public.groups",
    "--identity-header",
    "X-Aal=authenticator_assurance_level",
    "--identity-header",
    "X-Missing=identity.traits.nickname",
];

/// Every configured name, in spellings a client might forge it with.
const FORGED: &str = "X-Auth-Request-Email: forged@evil.test\r\n\
                      x-auth-request-email: forged2@evil.test\r\n\
                      X-AUTH-REQUEST-USER: forged-id\r\n\
                      x-GrOuPs: admin\r\n\
                      X-Aal: aal2\r\n\
                      x-missing: forged\r\n\
                      X_Auth_Request_Email: twin@evil.test\r\n";

/// `GET <target>` written byte for byte with `extra` fields (no client normalises the names).
fn raw_get(proxy: &ProxyProcess, target: &str, extra: &str) -> RawResponse {
    let req =
        format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n{extra}Connection: close\r\n\r\n");
    RawResponse::parse(&raw_exchange(proxy.addr, req.as_bytes()))
}

fn with_groups(s: &mut Value) {
    s["identity"]["metadata_public"] = json!({"groups": ["editors", "admins"]});
}

#[test]
fn signed_in_values_reach_the_upstream_and_forged_copies_never_do() {
    let s = Stack::start(FLAGS);
    let session = s.ory.create_session_with("ada@example.org", with_groups);

    // Signed in, no forged copy: the session's values, once each.
    let cookie = format!("Cookie: {}\r\n", session.cookie());
    assert_eq!(raw_get(&s.proxy, "/a", &cookie).status, 200);
    let seen = s.upstream.last_request();
    for (name, value) in [
        ("X-Auth-Request-Email", "ada@example.org"),
        ("X-Auth-Request-User", session.identity_id.as_str()),
        ("X-Groups", "editors,admins"),
        ("X-Aal", "aal1"),
    ] {
        assert_eq!(seen.header_all(name), [value], "{name}: {:?}", seen.headers);
    }
    assert!(!seen.has_header("X-Missing"), "{:?}", seen.headers);

    // Signed in with forged copies: replaced, never doubled (by cookie and by token).
    for creds in [cookie, format!("X-Session-Token: {}\r\n", session.token)] {
        assert_eq!(
            raw_get(&s.proxy, "/b", &format!("{creds}{FORGED}")).status,
            200
        );
        let seen = s.upstream.last_request();
        assert_eq!(seen.header_all("x-auth-request-email"), ["ada@example.org"]);
        assert_eq!(
            seen.header_all("x-auth-request-user"),
            [session.identity_id.as_str()]
        );
        assert_eq!(seen.header_all("x-groups"), ["editors,admins"]);
        assert_eq!(seen.header_all("x-aal"), ["aal1"]);
        assert!(!seen.has_header("x-missing"), "{:?}", seen.headers);
        assert!(
            !seen.has_header("x_auth_request_email"),
            "{:?}",
            seen.headers
        );
    }

    // Anonymous (no credentials, or a session Ory does not know): no copy arrives.
    for creds in ["", "Cookie: ory_kratos_session=unknown\r\n"] {
        assert_eq!(
            raw_get(&s.proxy, "/c", &format!("{creds}{FORGED}")).status,
            200
        );
        let seen = s.upstream.last_request();
        for name in [
            "x-auth-request-email",
            "x-auth-request-user",
            "x-groups",
            "x-aal",
            "x-missing",
        ] {
            assert!(!seen.has_header(name), "{name}: {:?}", seen.headers);
        }
        assert!(
            !seen.has_header("x_auth_request_email"),
            "{:?}",
            seen.headers
        );
    }

    // Nor does one reach Ory.
    let r = raw_get(&s.proxy, "/.ory/self-service/login/browser", FORGED);
    assert_eq!(r.status, 303);
    let at_ory = s.ory.last_request();
    assert!(
        at_ory.path().ends_with("/self-service/login/browser"),
        "{}",
        at_ory.target
    );
    assert!(
        !at_ory.has_header("x-auth-request-email"),
        "{:?}",
        at_ory.headers
    );
    assert!(!at_ory.has_header("x-aal"), "{:?}", at_ory.headers);
}

#[test]
fn a_websocket_handshake_gets_the_same_treatment() {
    let ory = FakeOry::start();
    let echo = WsEcho::start();
    let proxy = ProxyProcess::start(&echo.url(), &ory.url(), FLAGS);
    let session = ory.create_session_with("ws@example.org", with_groups);
    let cookie = session.cookie();
    for (i, creds) in [vec![("Cookie", cookie.as_str())], vec![]]
        .into_iter()
        .enumerate()
    {
        let mut headers = creds;
        headers.extend([
            ("x-auth-request-email", "forged@evil.test"),
            ("X-GROUPS", "admin"),
        ]);
        let mut ws = WsClient::connect(proxy.addr, "/live", &headers)
            .unwrap_or_else(|head| panic!("no 101: {head:?}"));
        assert_eq!(ws.read_text(), format!("hello {}", i + 1));
        let (_, seen) = echo.handshake(i).expect("a handshake");
        let all = |name: &str| -> Vec<&str> {
            seen.iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let (email, groups): (&[&str], &[&str]) = if i == 0 {
            (&["ws@example.org"], &["editors,admins"])
        } else {
            (&[], &[])
        };
        assert_eq!(all("x-auth-request-email"), email, "{seen:?}");
        assert_eq!(all("x-groups"), groups, "{seen:?}");
    }
}

#[test]
fn unsafe_values_are_not_sent_and_warned_about_once() {
    let s = Stack::start(&[
        "--identity-header",
        "X-Name=identity.traits.name,X-Bio=identity.traits.bio,X-Email=identity.traits.email",
    ]);
    let session = s.ory.create_session_with("bo@example.org", |v| {
        v["identity"]["traits"]["name"] = json!("Bo\r\nX-Admin: 1");
        v["identity"]["traits"]["bio"] = json!("b".repeat(4097));
    });
    for _ in 0..3 {
        let r = Req::get(&s.proxy.url("/x"))
            .header("Cookie", &session.cookie())
            .header("X-Name", "forged")
            .send();
        assert_eq!(r.status, 200);
        let seen = s.upstream.last_request();
        assert_eq!(seen.header_all("x-email"), ["bo@example.org"]);
        for name in ["x-name", "x-bio", "x-admin"] {
            assert!(!seen.has_header(name), "{name}: {:?}", seen.headers);
        }
    }
    // A value of exactly 4 KiB still goes.
    let fits = s.ory.create_session_with("cy@example.org", |v| {
        v["identity"]["traits"]["bio"] = json!("c".repeat(4096));
    });
    Req::get(&s.proxy.url("/y"))
        .header("Cookie", &fits.cookie())
        .send();
    assert_eq!(
        s.upstream.last_request().header("x-bio").map(str::len),
        Some(4096)
    );

    let log = s.proxy.stderr();
    let name_lines: Vec<_> = log
        .lines()
        .filter(|l| l.contains("identity header X-Name"))
        .collect();
    assert_eq!(name_lines.len(), 1, "{log}");
    assert!(
        name_lines[0].contains("identity.traits.name has a control character")
            && name_lines[0].contains(&session.identity_id)
            && !name_lines[0].contains("X-Admin"),
        "{}",
        name_lines[0]
    );
    let bio_lines: Vec<_> = log
        .lines()
        .filter(|l| l.contains("identity header X-Bio"))
        .collect();
    assert_eq!(bio_lines.len(), 1, "{log}");
    assert!(
        bio_lines[0].contains("is 4097 bytes, over 4096"),
        "{}",
        bio_lines[0]
    );
}

#[test]
fn usage_errors_quote_the_culprit() {
    let base = [
        "http://127.0.0.1:3000",
        "--sdk-url",
        "http://127.0.0.1:4433",
    ];
    assert_refused(
        &[
            &base[..],
            &["--identity-header", "X-User=identity.id", "--no-jwt"],
        ]
        .concat(),
        &[],
        "--identity-header 'X-User=identity.id' needs the session lookup that --no-jwt turns off",
    );
    assert_refused(
        &[&base[..], &["--no-jwt"]].concat(),
        &[(
            "ORY_PROXY_IDENTITY_HEADERS",
            "X-Email=identity.traits.email",
        )],
        "ORY_PROXY_IDENTITY_HEADERS 'X-Email=identity.traits.email'",
    );
    for (bad, why) in [
        ("X-User", "must be NAME=PATH"),
        (
            "Authorization=identity.id",
            "Authorization is a field the proxy sets",
        ),
        ("X_User=identity.id", "'_'"),
    ] {
        let r = assert_refused(
            &[&base[..], &["--identity-header", bad]].concat(),
            &[],
            &format!("--identity-header '{bad}': "),
        );
        assert!(r.stderr.contains(why), "{}", r.stderr);
    }
}

/// The recipe of docs/beyond.md: a Flask view that trusts `X-Auth-Request-Email` (its routes,
/// [`flask`]).
const FLASK_APP: &str = r#"
@app.route('/whoami')
def whoami():
    return jsonify(email=request.headers.get('X-Auth-Request-Email'),
                   environ=request.environ.get('HTTP_X_AUTH_REQUEST_EMAIL'))
"#;

#[test]
fn a_flask_app_reads_the_email_and_never_a_forged_one() {
    for server in ["werkzeug", "wsgiref"] {
        let Some(app) = flask::start(FLASK_APP, server) else {
            return;
        };
        let ory = FakeOry::start();
        let proxy = ProxyProcess::start(
            &app.url(),
            &ory.url(),
            &[
                "--identity-header",
                "X-Auth-Request-Email=identity.traits.email",
            ],
        );
        let session = ory.create_session("grace@example.org");
        let forged = "X-Auth-Request-Email: forged@evil.test\r\n\
                      x-auth-request-email: forged2@evil.test\r\n\
                      X_Auth_Request_Email: twin@evil.test\r\n";
        let cookie = format!("Cookie: {}\r\n", session.cookie());
        for (extra, want) in [
            (cookie.clone(), json!("grace@example.org")),
            (format!("{cookie}{forged}"), json!("grace@example.org")),
            (forged.to_owned(), Value::Null),
            (String::new(), Value::Null),
        ] {
            let r = raw_get(&proxy, "/whoami", &extra);
            assert_eq!(r.status, 200, "{server}");
            let json = r.json();
            assert_eq!(json["email"], want, "{server} {extra:?}: {json}");
            assert_eq!(json["environ"], want, "{server} {extra:?}: {json}");
        }
    }
}
