//! The playground: ory-proxy working end to end on your machine, without an Ory account.
//!
//! ```text
//! cargo run --release --example playground            # http://localhost:4000
//! cargo run --release --example playground -- --port 4001
//! ```
//!
//! Three pieces in one process, all on loopback:
//! - the fake identity server of the integration tests (`tests/util/ory.rs`, included below, so
//!   the playground and the tests share one fake): Kratos-shaped login, whoami and logout; any
//!   email and password sign in;
//! - a tiny demo application that verifies the proxy's token with the published JWKS, the way
//!   your application should, and shows who is signed in, the `Authorization` header it
//!   received and what happened on the way (`page.rs`), with sign-in, sign-up and sign-out;
//! - ory-proxy itself (the library's `server::serve`, the code the binary runs) on
//!   `http://localhost:4000`, in front of both.
//!
//! Nothing here is for production: the identity server accepts every password. To put the
//! fake in front of your own application instead, keep it running on its own:
//! `cargo run --release --example fake-ory` (see `examples/fake-ory/main.rs`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

// The fake identity server, included from the integration-test harness (its modules, listed
// once for both examples).
include!("../fake-ory/modules.rs");

#[path = "../fake-ory/port_arg.rs"]
mod port_arg;

mod page;

use server::{Action, Recorded, Reply, TestServer};

/// The demo account printed in the instructions (the fake accepts any email and password).
const DEMO_EMAIL: &str = "demo@example.org";
const DEMO_PASSWORD: &str = "demo";

fn main() {
    let port = match port_arg::port_from_args(4000) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("playground: {e} (usage: playground [--port N])");
            std::process::exit(2);
        }
    };
    let ory = ory::FakeOry::start();
    // The proxy's socket first: its port is the public URL the other pieces need.
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "playground: cannot listen on 127.0.0.1:{port}: {e}; try --port {}",
                port.wrapping_add(1).max(1024)
            );
            std::process::exit(1);
        }
    };
    let proxy_port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let public = format!("http://localhost:{proxy_port}");
    // The app reaches the proxy on loopback (for the JWKS and the logout URL).
    let app = DemoApp::start(public.clone(), format!("http://127.0.0.1:{proxy_port}"));

    let raw = ory_proxy::config::RawArgs {
        upstream: Some(app.url()),
        sdk_url: Some(ory.url()),
        bind: Some("127.0.0.1".into()),
        port: Some(proxy_port.to_string()),
        ..Default::default()
    };
    let config = match ory_proxy::config::Config::from_raw(&raw, &|_| None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("playground: {e}");
            std::process::exit(1);
        }
    };
    // The first stdout line is stable: the playground test reads the URL from it. The proxy's
    // banner (on stderr) follows with the URLs of the demo app and the fake Ory, so they are
    // not repeated here.
    println!("playground: open {public}");
    println!(
        "  sign in with {DEMO_EMAIL} / {DEMO_PASSWORD} (any email and password work) or create \
         an account; Ctrl-C stops everything"
    );
    if let Err(e) = ory_proxy::serve::serve(listener, config) {
        eprintln!("playground: {e}");
        std::process::exit(1);
    }
    drop((app, ory));
}

/// The demo application: `/` shows the verified identity, `/logout` signs out.
struct DemoApp {
    server: TestServer,
}

impl DemoApp {
    fn start(public: String, proxy: String) -> DemoApp {
        let jwks: Arc<Mutex<Option<Value>>> = Arc::new(Mutex::new(None));
        let server = TestServer::start(move |_| {
            Arc::new(move |req: &Recorded| -> Action {
                match (req.method.as_str(), req.path()) {
                    ("GET", "/") => home(req, &public, &proxy, &jwks).into(),
                    ("GET", "/logout") => logout(req, &public, &proxy).into(),
                    // Browsers ask for an icon; a 404 in the network log would look like a bug.
                    ("GET", "/favicon.svg" | "/favicon.ico") => Reply::new(200)
                        .header("Content-Type", "image/svg+xml")
                        .header("Cache-Control", "max-age=86400")
                        .body(page::FAVICON)
                        .into(),
                    _ => Reply::new(404)
                        .header("Content-Type", "text/plain; charset=utf-8")
                        .body("not found")
                        .into(),
                }
            })
        });
        DemoApp { server }
    }

    fn url(&self) -> String {
        self.server.url()
    }
}

fn html(page: String) -> Reply {
    Reply::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Cache-Control", "no-store")
        .body(page)
}

fn home(req: &Recorded, public: &str, proxy: &str, jwks: &Mutex<Option<Value>>) -> Reply {
    let Some(authorization) = req.header("authorization") else {
        return html(page::signed_out(public, (DEMO_EMAIL, DEMO_PASSWORD)));
    };
    let token = authorization
        .strip_prefix("Bearer ")
        .unwrap_or(authorization);
    match verify(token, proxy, jwks) {
        Ok((header, claims)) => html(page::signed_in(&page::SignedIn {
            public,
            authorization,
            header: &header,
            claims: &claims,
            now: unix_now(),
        })),
        Err(why) => html(page::rejected(&why)),
    }
}

/// Asks Ory (through the proxy) for a logout URL for this browser's session and sends it there.
fn logout(req: &Recorded, public: &str, proxy: &str) -> Reply {
    let home = Reply::new(303).header("Location", &format!("{public}/"));
    let Some(cookie) = req.header("cookie") else {
        return home;
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let answer = agent
        .get(format!("{proxy}/.ory/self-service/logout/browser"))
        .header("Cookie", cookie)
        .header("Accept", "application/json")
        .call();
    let url = answer.ok().and_then(|mut r| {
        let v: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
        v["logout_url"].as_str().map(str::to_owned)
    });
    match url {
        Some(url) => Reply::new(303).header("Location", &format!("{url}&return_to={public}/")),
        None => home,
    }
}

/// Verifies an ES256 token with the proxy's JWKS (fetched again when the key id is unknown, as a
/// rotation would need); returns its header and claims.
fn verify(token: &str, proxy: &str, jwks: &Mutex<Option<Value>>) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err("not a compact JWS".into());
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p).map_err(|e| e.to_string());
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("unexpected alg {}", header["alg"]));
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let mut cached = jwks.lock().unwrap_or_else(|p| p.into_inner());
    let mut jwk = find_key(cached.as_ref(), kid);
    if jwk.is_none() {
        let text = ureq::get(format!("{proxy}/.ory/jwks.json"))
            .call()
            .map_err(|e| format!("fetching the JWKS: {e}"))?
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("reading the JWKS: {e}"))?;
        let fetched: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        *cached = Some(fetched);
        jwk = find_key(cached.as_ref(), kid);
    }
    let jwk = jwk.ok_or_else(|| format!("no key '{kid}' in the JWKS"))?;
    let mut sec1 = vec![4u8];
    sec1.extend(decode(jwk["x"].as_str().unwrap_or(""))?);
    sec1.extend(decode(jwk["y"].as_str().unwrap_or(""))?);
    let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|e| e.to_string())?;
    let signature = Signature::from_slice(&decode(s)?).map_err(|e| e.to_string())?;
    key.verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| "bad signature".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(c)?).map_err(|e| e.to_string())?;
    let now = unix_now();
    if !claims["exp"].as_i64().is_some_and(|exp| exp > now) {
        return Err("expired".into());
    }
    Ok((header, claims))
}

fn find_key(jwks: Option<&Value>, kid: &str) -> Option<Value> {
    jwks?["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
}
