//! The fake Ory's login flow driven over plain HTTP, as a single-page app runs it: the cookies
//! an answer sets, the flow's CSRF token, and the whole password sign-in through a proxy.

use super::client::{Req, Resp};
use serde_json::Value;

/// The `name=value` of the first `Set-Cookie` whose name starts with `prefix` (with `""`, of the
/// first one).
pub fn set_cookie(r: &Resp, prefix: &str) -> Option<String> {
    r.header_all("set-cookie")
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.starts_with(prefix))
}

/// The value of a flow's `csrf_token` node (Kratos' flow JSON).
pub fn csrf_token(flow: &Value) -> String {
    flow["ui"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .expect("csrf token")
        .to_owned()
}

/// Signs `email` in with `password` through the proxy listening at `base` (`http://HOST:PORT`)
/// whose public URL is `public`: starts the login flow as JSON (asserting 200 and a CSRF
/// cookie), then posts the form to the flow's action, which must be on `public`, with that
/// cookie. Returns the post's answer, asserted 303.
pub fn sign_in(base: &str, public: &str, email: &str, password: &str) -> Resp {
    let r = Req::get(&format!("{base}/.ory/self-service/login/browser"))
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let csrf_cookie = set_cookie(&r, "csrf_token_").expect("CSRF cookie");
    let flow = r.json();
    let action = flow["ui"]["action"].as_str().expect("action").to_owned();
    let path = action
        .strip_prefix(public)
        .unwrap_or_else(|| panic!("action {action} is not on {public}"));
    let csrf = csrf_token(&flow);
    let identifier = email.replace('@', "%40");
    let r = Req::post(&format!("{base}{path}"))
        .header("Cookie", &csrf_cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={csrf}&identifier={identifier}&password={password}"
        ))
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    r
}
