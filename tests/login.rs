//! The whole browser journey through the proxy, by plain HTTP calls and a small cookie jar:
//! start login → follow the rewritten redirect → fetch the flow → post the form to the rewritten
//! action → session cookie on the public origin → the application gets a valid token → logout →
//! anonymous again. Every URL the client follows is one the proxy handed out.

use crate::util::login_flow::csrf_token;
use crate::util::{jwt, proxy::bearer_of, FakeOry, ProxyProcess, Req, Resp, Upstream};
use std::collections::BTreeMap;

/// Cookies the "browser" holds for the public origin.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    /// Stores every `Set-Cookie` of a response, asserting each belongs to the public origin
    /// (no `Domain`, no `Secure` on http, no `SameSite=None`).
    fn store(&mut self, r: &Resp) {
        for c in r.header_all("set-cookie") {
            let lower = c.to_ascii_lowercase();
            assert!(!lower.contains("domain="), "cookie with a Domain: {c}");
            assert!(!lower.contains("secure"), "Secure cookie on http: {c}");
            assert!(!lower.contains("samesite=none"), "{c}");
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attrs.to_ascii_lowercase().contains("max-age=0") {
                self.0.remove(name.trim());
            } else {
                self.0
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&self, url: &str) -> Req {
        let r = Req::get(url);
        if self.0.is_empty() {
            r
        } else {
            r.header("Cookie", &self.header())
        }
    }
}

/// The public URL's `http://localhost:PORT` reached on 127.0.0.1 (where the proxy listens).
fn reach(proxy: &ProxyProcess, public_url: &str) -> String {
    let public = format!("http://{}", proxy.public_authority());
    let path = public_url
        .strip_prefix(&public)
        .unwrap_or_else(|| panic!("{public_url} is not on the public origin {public}"));
    proxy.url(path)
}

#[test]
fn login_and_logout_through_the_proxy() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(&upstream.url(), &ory.url(), &[]);
    let public = format!("http://{}", proxy.public_authority());
    let sdk = ory.url();
    let mut jar = Jar::default();

    // 1. The application's "Sign in" link.
    let r = jar
        .get(&proxy.url(&format!(
            "/.ory/self-service/login/browser?return_to={public}/dashboard"
        )))
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    jar.store(&r);
    assert!(
        jar.0.keys().any(|k| k.starts_with("csrf_token_")),
        "no CSRF cookie: {:?}",
        r.headers
    );
    let ui = r.header("location").expect("location").to_owned();
    assert!(
        ui.starts_with(&format!("{public}/.ory/ui/login?flow=")),
        "{ui}"
    );
    let flow_id = ui.rsplit('=').next().unwrap().to_owned();

    // 2. The login page: HTML whose form posts to the public origin.
    let r = jar.get(&reach(&proxy, &ui)).send();
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(!html.contains(&sdk), "the SDK origin leaked: {html}");
    assert!(
        html.contains(&format!(
            "action=\"{public}/.ory/self-service/login?flow={flow_id}\""
        )),
        "{html}"
    );
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );

    // 3. The flow as JSON (what an SPA reads), with the CSRF cookie.
    let r = jar
        .get(&proxy.url(&format!("/.ory/self-service/login/flows?id={flow_id}")))
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let flow = r.json();
    let action = flow["ui"]["action"].as_str().expect("action").to_owned();
    assert_eq!(
        action,
        format!("{public}/.ory/self-service/login?flow={flow_id}")
    );
    assert!(!r.text().contains(&sdk), "{}", r.text());
    let csrf = csrf_token(&flow);

    // 4. Post the form to the rewritten action.
    let form = format!("csrf_token={csrf}&identifier=alice%40example.org&password=secret");
    let r = Req::post(&reach(&proxy, &action))
        .header("Cookie", &jar.header())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    jar.store(&r);
    assert!(jar.0.contains_key("ory_kratos_session"), "{:?}", r.headers);
    let back = r.header("location").expect("location").to_owned();
    assert_eq!(back, format!("{public}/dashboard"));

    // 5. The application sees who signed in.
    let r = jar.get(&reach(&proxy, &back)).send();
    assert_eq!(r.status, 200);
    let seen = upstream.last_request();
    assert_eq!(seen.path(), "/dashboard");
    let token = bearer_of(&seen).expect("a signed-in request carries a token");
    let claims = jwt::verify(&proxy, &token).claims;
    assert_eq!(claims["iss"], sdk);
    assert_eq!(
        claims["session"]["identity"]["traits"]["email"],
        "alice@example.org"
    );

    // 6. Logout: the URL Ory hands out points at the public origin.
    let r = jar
        .get(&proxy.url("/.ory/self-service/logout/browser"))
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let logout_url = r.json()["logout_url"]
        .as_str()
        .expect("logout_url")
        .to_owned();
    assert!(
        logout_url.starts_with(&format!("{public}/.ory/self-service/logout?token=")),
        "{logout_url}"
    );
    let old_cookies = jar.header();
    let r = jar.get(&reach(&proxy, &logout_url)).send();
    assert_eq!(r.status, 303, "{}", r.text());
    jar.store(&r);
    assert!(!jar.0.contains_key("ory_kratos_session"));
    assert_eq!(
        r.header("location"),
        Some(format!("{public}/.ory/ui/login").as_str())
    );

    // 7. Anonymous again, with the jar and even with the old cookie replayed.
    jar.get(&proxy.url("/dashboard")).send();
    assert_eq!(bearer_of(&upstream.last_request()), None);
    Req::get(&proxy.url("/dashboard"))
        .header("Cookie", &old_cookies)
        .send();
    assert_eq!(bearer_of(&upstream.last_request()), None);
}

#[test]
fn login_without_return_to_lands_on_the_default_redirect_url() {
    let ory = FakeOry::start();
    let upstream = Upstream::start();
    let proxy = ProxyProcess::start(
        &upstream.url(),
        &ory.url(),
        &[
            "--default-redirect-url",
            "https://app.example.org/welcome-back",
        ],
    );
    let mut jar = Jar::default();
    let r = jar
        .get(&proxy.url("/.ory/self-service/login/browser"))
        .send();
    jar.store(&r);
    let ui = r.header("location").expect("location").to_owned();
    let flow_id = ui.rsplit('=').next().unwrap().to_owned();
    let flow = jar
        .get(&proxy.url(&format!("/.ory/self-service/login/flows?id={flow_id}")))
        .send()
        .json();
    let csrf = csrf_token(&flow);
    let r = Req::post(&reach(&proxy, flow["ui"]["action"].as_str().unwrap()))
        .header("Cookie", &jar.header())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={csrf}&identifier=bob%40example.org&password=x"
        ))
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    // Ory's own welcome page is replaced by --default-redirect-url.
    assert_eq!(
        r.header("location"),
        Some("https://app.example.org/welcome-back")
    );
}
