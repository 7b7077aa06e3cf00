//! Real frameworks behind the proxy (issue 15): a Flask app (Werkzeug's server, WSGI) and an
//! Express 5 app, each with an admin view at `/admin` and `/admin/<rest>`, a catch-all, and a
//! count of how often the admin view ran. The proxy's reading of a path only matters where it
//! differs from theirs, so `--require-session /admin` is attacked with the spellings they route
//! to the admin view (`/ADMIN` in Express, `/admin/%2e%2e` in Werkzeug, …), sent raw so no
//! client normalises them first; `--require-aal2 /admin` is attacked with the same spellings by
//! an `aal1` session.

use crate::util::client::{raw_exchange, RawResponse};
use crate::util::external::{self, ExternalServer};
use crate::util::flask;
use crate::util::{FakeOry, ProxyProcess};
use serde_json::Value;

/// Flask's routes ([`flask`]): `/admin`, `/admin/<path:sub>` (the admin view), `/hits` (how
/// often it ran) and a catch-all; every answer is JSON naming the view, the `Authorization` it
/// saw and the WSGI environ's `HTTP_X_FORWARDED_FOR`.
const FLASK_APP: &str = r#"
hits = [0]
METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']
def report(view):
    return jsonify(view=view, path=request.path,
                   authorization=request.headers.get('Authorization'),
                   xff=request.environ.get('HTTP_X_FORWARDED_FOR'),
                   request_id=request.environ.get('HTTP_X_REQUEST_ID'),
                   underscored=sorted(k for k in request.headers.keys() if '_' in k))
@app.route('/admin', methods=METHODS)
@app.route('/admin/<path:sub>', methods=METHODS)
def admin(sub=''):
    hits[0] += 1
    return report('admin')
@app.route('/hits')
def count():
    return jsonify(hits=hits[0])
@app.route('/', defaults={'rest': ''}, methods=METHODS)
@app.route('/<path:rest>', methods=METHODS)
def other(rest):
    return report('other')
"#;

/// Express 5: the same views (`/admin` and `/admin/*splat`, case-insensitive as Express routes
/// by default).
const EXPRESS_APP: &str = r#"
const express = require('express');
const app = express();
let hits = 0;
const report = (view) => (req, res) => res.json({
  view, path: req.path, authorization: req.headers.authorization || null });
app.all('/admin', (req, res, next) => { hits++; next(); }, report('admin'));
app.all('/admin/*splat', (req, res, next) => { hits++; next(); }, report('admin'));
app.get('/hits', (req, res) => res.json({ hits }));
app.use(report('other'));
const server = app.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
"#;

/// The Flask app on Werkzeug's server.
fn flask() -> Option<ExternalServer> {
    flask::start(FLASK_APP, "werkzeug")
}

/// The Flask app on the standard library's WSGI server (`wsgiref`), which folds `_` and `-`
/// into one environ variable and joins duplicates with `,` (Werkzeug's drops fields with `_`).
fn flask_on_wsgiref() -> Option<ExternalServer> {
    flask::start(FLASK_APP, "wsgiref")
}

fn express() -> Option<ExternalServer> {
    let mut cmd = external::node()?;
    cmd.args(["-e", EXPRESS_APP]);
    Some(ExternalServer::start(cmd))
}

/// Sends `GET <target>` byte for byte (no client normalises it) with `extra` fields, and
/// `Accept: */*` unless they have one.
fn raw_get(proxy: &ProxyProcess, target: &str, extra: &str) -> (u16, String) {
    let accept = if extra.contains("Accept:") {
        ""
    } else {
        "Accept: */*\r\n"
    };
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: app.test\r\n{accept}{extra}Connection: close\r\n\r\n"
    );
    let r = RawResponse::parse(&raw_exchange(proxy.addr, req.as_bytes()));
    (r.status, r.text())
}

/// Like [`raw_get`], the whole answer.
fn raw_response(proxy: &ProxyProcess, target: &str, extra: &str) -> RawResponse {
    let req =
        format!("GET {target} HTTP/1.1\r\nHost: app.test\r\n{extra}Connection: close\r\n\r\n");
    RawResponse::parse(&raw_exchange(proxy.addr, req.as_bytes()))
}

/// The JSON at the end of a `Connection: close` answer (either app sends a plain body).
fn json_of(body: &str) -> Value {
    let start = body
        .find('{')
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    let end = body
        .rfind('}')
        .unwrap_or_else(|| panic!("no JSON in {body:?}"));
    serde_json::from_str(&body[start..=end]).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

fn admin_hits(app: &ExternalServer) -> u64 {
    let out = crate::util::Req::get(&format!("{}/hits", app.url())).send();
    out.json()["hits"].as_u64().expect("hits")
}

/// Spellings that are under `/admin` to some server: 401 without a session.
const COVERED: &[&str] = &[
    "/admin",
    "/admin/",
    "/admin/x",
    "/admin?x=1",
    "/ADMIN",
    "/Admin",
    "/ADMIN/x",
    "/aDmIn/users",
    "/admin.json",
    "/ADMIN.JSON",
    "/admin.html/x",
    "/admin;x",
    "/admin;jsessionid=1/x",
    "/admin%3Bx",
    "/admin%20",
    "/admin%09",
    "/admin%00",
    "/admin%00/x",
    "/admin.",
    "/admin...",
    "/admin%2e",
    "//admin",
    "///admin/x",
    "/%61dmin",
    "/%41DMIN/x",
    "/admin%2Fx",
    "/%2Fadmin",
    "/\\admin",
    "/admin\\x",
    "/%5cadmin",
    "/admin/%252e%252e",
];

/// Spellings with a dot-segment, raw or encoded: 400 on every route.
const DOTTED: &[&str] = &[
    "/admin/..",
    "/admin/%2e%2e",
    "/admin/%2E%2E",
    "/admin/.%2E",
    "/admin/%2e.",
    "/admin%2F..",
    "/admin%2f%2e%2e",
    "/./admin",
    "/%2e/admin",
    "/x/../admin",
    "/admin/./x",
    "/admin/..;/x",
    "/admin\\..\\x",
    "/public/%2e%2e/admin",
];

/// Paths that are not under `/admin`: they reach the app's catch-all anonymously.
const OPEN: &[&str] = &[
    "/administrator",
    "/admins",
    "/adminx/a",
    "/x/admin",
    "/admin-panel",
    "/.admin",
    "/public/admin.json",
    "/",
];

fn no_admin_view_runs_anonymously(app: ExternalServer, name: &str) {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &["--require-session", "/admin"]);
    for target in COVERED {
        let (status, body) = raw_get(&proxy, target, "");
        assert_eq!(status, 401, "{name} {target}: {body}");
        assert!(body.contains("needs a session"), "{name} {target}: {body}");
    }
    for target in DOTTED {
        let (status, body) = raw_get(&proxy, target, "");
        assert_eq!(status, 400, "{name} {target}: {body}");
        assert!(body.contains("dot-segment"), "{name} {target}: {body}");
    }
    // A browser navigation to a disguised spelling is sent to the login flow.
    let (status, _) = raw_get(&proxy, "/ADMIN.json", "Accept: text/html\r\n");
    assert_eq!(status, 303, "{name}");
    assert_eq!(
        admin_hits(&app),
        0,
        "{name}: the admin view ran anonymously"
    );
    for target in OPEN {
        let (status, body) = raw_get(&proxy, target, "");
        assert_eq!(status, 200, "{name} {target}: {body}");
        let seen = json_of(&body);
        assert_eq!(seen["view"], "other", "{name} {target}");
        assert_eq!(seen["authorization"], Value::Null, "{name} {target}");
    }
    assert_eq!(admin_hits(&app), 0, "{name}");

    // Signed in, the admin view runs and sees a token.
    let session = ory.create_session("admin@example.org");
    let cookie = format!("Cookie: {}\r\n", session.cookie());
    for target in ["/admin", "/admin/x/y"] {
        let (status, body) = raw_get(&proxy, target, &cookie);
        assert_eq!(status, 200, "{name} {target}: {body}");
        let seen = json_of(&body);
        assert_eq!(seen["view"], "admin", "{name} {target}");
        let auth = seen["authorization"].as_str().unwrap_or_default();
        assert!(auth.starts_with("Bearer ey"), "{name} {target}: {auth}");
    }
    assert_eq!(admin_hits(&app), 2, "{name}");
    let (status, _) = raw_get(&proxy, "/admin/%2e%2e", &cookie);
    assert_eq!(
        status, 400,
        "{name}: a dot-segment is refused signed in too"
    );
}

#[test]
fn flask_admin_views_never_run_anonymously() {
    let Some(app) = flask() else { return };
    no_admin_view_runs_anonymously(app, "flask");
}

#[test]
fn express_admin_views_never_run_anonymously() {
    let Some(app) = express() else { return };
    no_admin_view_runs_anonymously(app, "express");
}

/// `--require-aal2 /admin` with the same spellings: 401 anonymously, 403 (with the step-up
/// challenge) at `aal1`, 400 for a dot-segment; the admin view runs only at `aal2`.
fn no_admin_view_runs_without_a_second_factor(app: ExternalServer, name: &str) {
    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &["--require-aal2", "/admin"]);
    let aal1 = ory.create_session("one@example.org");
    let cookie = format!("Cookie: {}\r\n", aal1.cookie());
    for target in COVERED {
        let (status, body) = raw_get(&proxy, target, "");
        assert_eq!(status, 401, "{name} {target}: {body}");
        let r = raw_response(&proxy, target, &cookie);
        assert_eq!(r.status, 403, "{name} {target}: {r:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"insufficient_user_authentication\""),
            "{name} {target}"
        );
    }
    for target in DOTTED {
        let (status, body) = raw_get(&proxy, target, &cookie);
        assert_eq!(status, 400, "{name} {target}: {body}");
    }
    let r = raw_response(
        &proxy,
        "/ADMIN.json",
        &format!("{cookie}Accept: text/html\r\n"),
    );
    assert_eq!(r.status, 303, "{name}: {r:?}");
    let location = r.header("location").unwrap_or_default();
    assert!(
        location.contains("login/browser?aal=aal2&return_to="),
        "{name}: {location}"
    );
    for target in OPEN {
        let (status, body) = raw_get(&proxy, target, &cookie);
        assert_eq!(status, 200, "{name} {target}: {body}");
        assert_eq!(json_of(&body)["view"], "other", "{name} {target}");
    }
    assert_eq!(
        admin_hits(&app),
        0,
        "{name}: the admin view ran without aal2"
    );
    let aal2 = ory.step_up(&aal1);
    let (status, body) = raw_get(
        &proxy,
        "/admin/x",
        &format!("Cookie: {}\r\n", aal2.cookie()),
    );
    assert_eq!(status, 200, "{name}: {body}");
    assert_eq!(json_of(&body)["view"], "admin", "{name}");
    assert_eq!(admin_hits(&app), 1, "{name}");
}

#[test]
fn flask_admin_views_need_a_second_factor() {
    let Some(app) = flask() else { return };
    no_admin_view_runs_without_a_second_factor(app, "flask");
}

#[test]
fn express_admin_views_need_a_second_factor() {
    let Some(app) = express() else { return };
    no_admin_view_runs_without_a_second_factor(app, "express");
}

/// The frameworks really do route the spellings to their admin views when asked directly: the
/// attack the proxy has to stop is real (and the apps above report it when it happens).
#[test]
fn the_frameworks_route_the_disguises_to_their_admin_views() {
    let (Some(flask), Some(express)) = (flask(), express()) else {
        return;
    };
    let direct = |app: &ExternalServer, target: &str| {
        let req = format!("GET {target} HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n");
        let addr = ([127, 0, 0, 1], app.port).into();
        let r = RawResponse::parse(&raw_exchange(addr, req.as_bytes()));
        json_of(&r.text())["view"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(direct(&flask, "/admin/%2e%2e"), "admin");
    assert_eq!(direct(&flask, "/admin%2Fx"), "admin");
    assert_eq!(direct(&express, "/ADMIN"), "admin");
    assert_eq!(direct(&express, "/Admin/x"), "admin");
}

const TWINS: &str =
    "X_Forwarded_For: 6.6.6.6\r\nX_Request_Id: evil\r\nx_forwarded_proto: gopher\r\n";

/// `X_Forwarded_For` is `HTTP_X_FORWARDED_FOR` to a WSGI app, like `X-Forwarded-For`: the
/// proxy drops every field with an `_` in its name, so the client's value never comes first.
#[test]
fn underscore_twins_never_reach_a_wsgi_app() {
    let Some(app) = flask_on_wsgiref() else {
        return;
    };
    // Sent to the app directly, the twin does land in the variable (the attack is real).
    let direct = format!("GET /x HTTP/1.1\r\nHost: app.test\r\n{TWINS}Connection: close\r\n\r\n");
    let addr = ([127, 0, 0, 1], app.port).into();
    // Not the proxy: wsgiref's own answer, which says HTTP/1.0.
    let r = RawResponse::reading()
        .version("HTTP/1.0")
        .parse(&raw_exchange(addr, direct.as_bytes()));
    let seen = json_of(&r.text());
    assert_eq!(seen["xff"], "6.6.6.6", "{seen}");
    assert_eq!(seen["request_id"], "evil", "{seen}");

    let ory = FakeOry::start();
    let proxy = ProxyProcess::start(&app.url(), &ory.url(), &["--debug"]);
    let (status, body) = raw_get(&proxy, "/x", TWINS);
    assert_eq!(status, 200, "{body}");
    let seen = json_of(&body);
    assert_eq!(seen["xff"], "127.0.0.1", "{seen}");
    let request_id = seen["request_id"].as_str().unwrap_or_default();
    assert!(!request_id.contains("evil"), "{seen}");
    assert_eq!(seen["underscored"], serde_json::json!([]), "{seen}");
    proxy.wait_for_log(|l| l.contains("dropped request field X_Forwarded_For"));

    // To Ory, too.
    raw_get(&proxy, "/.ory/self-service/login/api", TWINS);
    let to_ory = ory.forwarded_requests();
    assert_eq!(to_ory.len(), 1);
    let names: Vec<&str> = to_ory[0].headers.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().all(|n| !n.contains('_')), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("x-forwarded-for")),
        "{names:?}"
    );
}
