//! `cargo run --example fake-ory`: the fake identity server on its own, kept running beside your
//! own application. It starts on the port asked for, says how to point a proxy at it, and a
//! proxy in front of an application signs a user in through it and hands the application a
//! token that verifies with the proxy's JWKS.

use crate::util::jwt;
use crate::util::proxy::{bearer_of, example_binary};
use crate::util::{ProxyProcess, Req, Resp, Upstream};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The running example; killed on drop.
struct FakeOryProcess {
    child: Child,
    /// The URL it printed.
    url: String,
    /// The lines it printed after the first.
    rest: Vec<String>,
}

impl Drop for FakeOryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(port: u16) -> FakeOryProcess {
    let mut child = Command::new(example_binary("fake-ory"))
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fake-ory");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(4)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("fake-ory printed its lines");
    let url = lines[0]
        .strip_prefix("fake-ory: an Ory-shaped identity server on ")
        .unwrap_or_else(|| panic!("unexpected first line {:?}", lines[0]))
        .to_owned();
    FakeOryProcess {
        child,
        url,
        rest: lines[1..].to_vec(),
    }
}

fn cookie(r: &Resp, prefix: &str) -> Option<String> {
    r.header_all("set-cookie")
        .into_iter()
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .find(|pair| pair.starts_with(prefix))
}

#[test]
fn a_proxy_signs_in_through_the_kept_fake() {
    let port = crate::util::proxy::free_port();
    let fake = start(port);
    assert_eq!(fake.url, format!("http://127.0.0.1:{port}"));
    assert_eq!(
        fake.rest[0],
        format!(
            "  point a proxy at it:  ory-proxy http://localhost:3000 --sdk-url {}",
            fake.url
        )
    );
    let app = Upstream::start();
    let proxy = ProxyProcess::start(&app.url(), &fake.url, &[]);
    let public = format!("http://{}", proxy.public_authority());

    // The login flow through the proxy, as a single-page app runs it (JSON, CSRF cookie).
    let r = Req::get(&proxy.url("/.ory/self-service/login/browser"))
        .header("Accept", "application/json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    let csrf_cookie = cookie(&r, "csrf_token_").expect("CSRF cookie");
    let flow = r.json();
    let action = flow["ui"]["action"].as_str().expect("action").to_owned();
    let path = action
        .strip_prefix(&public)
        .unwrap_or_else(|| panic!("action {action} is not on {public}"));
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .expect("csrf token")
        .to_owned();
    let r = Req::post(&proxy.url(path))
        .header("Cookie", &csrf_cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={csrf}&identifier=kept%40example.org&password=x"
        ))
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    let session = cookie(&r, "ory_kratos_session=").expect("session cookie");

    // Signed in: the application gets a token that verifies and names the user.
    let r = Req::get(&proxy.url("/account"))
        .header("Cookie", &session)
        .send();
    assert_eq!(r.status, 200);
    let token = bearer_of(&app.last_request()).expect("a token for the application");
    let claims = jwt::verify(&proxy, &token).claims;
    assert_eq!(claims["iss"], fake.url, "{claims}");
    assert_eq!(
        claims["session"]["identity"]["traits"]["email"], "kept@example.org",
        "{claims}"
    );
}
