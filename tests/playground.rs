//! `cargo run --example playground`: it starts, prints where to open it, and a browser-like
//! client can sign in, see the verified identity on the demo page, and sign out again.

use crate::util::browser_login::{submit_password_form, wait_for_flow_page};
use crate::util::login_flow::{set_cookie, sign_in};
use crate::util::webdriver::{no_browser, Browser};
use crate::util::Req;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The running playground; killed on drop.
struct Playground {
    child: Child,
    /// Everything it printed on stderr (the proxy's banner and access lines).
    log: Arc<Mutex<String>>,
    /// `http://localhost:PORT` as printed.
    public: String,
    /// The same port on 127.0.0.1, where the proxy listens.
    base: String,
}

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Playground {
    let mut child = Command::new(crate::util::proxy::example_binary("playground"))
        .args(["--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the playground");
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr");
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next().and_then(Result::ok));
        for _ in lines {} // keep the pipe drained
    });
    let first = rx
        .recv_timeout(Duration::from_secs(60))
        .ok()
        .flatten()
        .expect("the playground printed where to open it");
    let public = first
        .strip_prefix("playground: open ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    let port = public.rsplit(':').next().expect("port");
    Playground {
        child,
        log,
        base: format!("http://127.0.0.1:{port}"),
        public,
    }
}

impl Playground {
    /// The access lines (every request through the proxy) answered 404.
    fn not_found(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.contains(" 404 "))
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn playground_starts_and_a_demo_user_can_sign_in_and_out() {
    let pg = start();
    assert!(pg.public.starts_with("http://localhost:"), "{}", pg.public);

    // Signed out: the page says so and links to the login flow.
    let r = Req::get(&format!("{}/", pg.base)).send();
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.text();
    assert!(page.contains("not signed in"), "{page}");
    assert!(page.contains("/.ory/self-service/login/browser"), "{page}");

    // Sign in through the proxy, as a browser SPA would (JSON flow, CSRF cookie).
    let r = sign_in(&pg.base, &pg.public, "demo@example.org", "demo");
    let session = set_cookie(&r, "ory_kratos_session=").expect("session cookie");

    // Signed in: the demo app verified the token and shows the identity.
    let r = Req::get(&format!("{}/", pg.base))
        .header("Cookie", &session)
        .send();
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(
        page.contains("Signed in as <b>demo@example.org</b>"),
        "{page}"
    );
    assert!(page.contains("This app verified it"), "{page}");
    assert!(page.contains("id=\"authorization\""), "{page}");

    // Sign out: the app sends the browser to Ory's logout URL on the public origin.
    let r = Req::get(&format!("{}/logout", pg.base))
        .header("Cookie", &session)
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").expect("location").to_owned();
    let path = to
        .strip_prefix(&pg.public)
        .unwrap_or_else(|| panic!("logout URL {to} is not on {}", pg.public));
    let r = Req::get(&format!("{}{path}", pg.base))
        .header("Cookie", &session)
        .send();
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(
        r.header("location"),
        Some(format!("{}/", pg.public).as_str())
    );
    let r = Req::get(&format!("{}/", pg.base))
        .header("Cookie", &session)
        .send();
    assert!(r.text().contains("not signed in"), "{}", r.text());
}

/// Where the README's screenshot lives; rewritten when `ORY_PROXY_UPDATE_SCREENSHOTS=1`.
const SCREENSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/playground.png");

#[test]
fn a_real_browser_walks_the_playground() {
    let Some(browser) = Browser::start() else {
        return no_browser("playground");
    };
    let pg = start();
    browser.set_window_size(1100, 1060);

    // Signed out: a sign-in and a sign-up button.
    browser.goto(&format!("{}/", pg.public));
    browser.wait_for("#anon");
    let signup = browser.wait_for("#signup");
    browser.click(&signup);

    // Sign up on the fake Ory's page, served on the public origin.
    wait_for_flow_page(&browser, &pg.public, "registration");
    assert!(browser
        .source()
        .contains("<label for=\"identifier\">Email</label>"));
    submit_password_form(&browser, "newcomer@example.org", "a new password");

    // Signed in: who, what happened, the header the app received, readable times.
    let explain = browser.wait_for("#explain");
    assert_eq!(browser.url(), format!("{}/", pg.public));
    let source = browser.source();
    assert!(
        source.contains("Signed in as <b>newcomer@example.org</b>"),
        "{source}"
    );
    let what = browser.text(&explain);
    for step in [
        "session cookie",
        "/sessions/whoami",
        "Authorization",
        "/.ory/jwks.json",
    ] {
        assert!(what.contains(step), "{step} not in {what}");
    }
    let header = browser.text(&browser.wait_for("#authorization"));
    assert!(header.starts_with("Bearer eyJ"), "{header}");
    assert!(source.contains("(expires in "), "{source}");
    let shot = browser.screenshot_png();
    assert!(shot.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let target = PathBuf::from(crate::util::proxy::BUILT_BIN)
        .parent()
        .expect("profile directory")
        .join("playground.png");
    std::fs::write(&target, &shot).expect("write the screenshot");
    if std::env::var("ORY_PROXY_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(SCREENSHOT, &shot).expect("write docs/playground.png");
    }

    // Sign out from the top bar, then sign in again with the demo account.
    let signout = browser.wait_for("header #signout");
    browser.click(&signout);
    browser.wait_for("#anon");
    assert_eq!(browser.url(), format!("{}/", pg.public));
    let signin = browser.wait_for("#signin");
    browser.click(&signin);
    submit_password_form(&browser, "demo@example.org", "demo");
    browser.wait_for("#explain");
    assert!(browser
        .source()
        .contains("Signed in as <b>demo@example.org</b>"));
    browser.click(&browser.wait_for("header #signout"));
    browser.wait_for("#anon");
    // Everything the browser asked for on the walk, from its own network log (wherever it went,
    // the icon and the pages' scripts included): none was answered 404, and the sign-in page's
    // script and the app's icon were asked for and found (they were 404 once).
    let seen = browser.assert_no_404();
    for path in ["/favicon.svg", "/.ory/.well-known/ory/webauthn.js"] {
        let url = format!("{}{path}", pg.public);
        assert!(
            seen.iter().any(|r| r.url == url && r.status == 200),
            "{url} was not loaded; the browser received:\n{}",
            crate::util::netlog::listing(&seen)
        );
    }
    // The proxy's access log adds the demo app's own requests through it (the JWKS, the logout
    // URL), which the browser never sees.
    let log = pg.log.lock().unwrap().clone();
    assert_eq!(pg.not_found(), Vec::<String>::new(), "{log}");
    eprintln!(
        "playground browser test: screenshot at {}",
        target.display()
    );
}

#[test]
fn the_sign_in_page_says_where_the_user_was_going() {
    let pg = start();
    let going = format!("{}/orders?id=1&x=<b>", pg.public);
    let r = Req::get(&format!(
        "{}/.ory/self-service/login/browser?return_to={}",
        pg.base,
        going
            .replace('&', "%26")
            .replace('?', "%3F")
            .replace('<', "%3C")
            .replace('>', "%3E")
    ))
    .header("Accept", "text/html")
    .send();
    assert_eq!(r.status, 303, "{}", r.text());
    let to = r.header("location").expect("location").to_owned();
    let path = to
        .strip_prefix(&pg.public)
        .unwrap_or_else(|| panic!("{to}"));
    let csrf = set_cookie(&r, "csrf_token_").expect("CSRF cookie");
    let page = Req::get(&format!("{}{path}", pg.base))
        .header("Cookie", &csrf)
        .send();
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(&format!(
            "<p class=\"going\">Afterwards you go back to <code>{}/orders?id=1&amp;x=&lt;b&gt;</code></p>",
            pg.public
        )),
        "{html}"
    );
    // The sign-up link keeps it, and the page's script and icon are served, not 404.
    assert!(
        html.contains(
            "/.ory/self-service/registration/browser?return_to=http%3A%2F%2Flocalhost%3A"
        ),
        "{html}"
    );
    let js = Req::get(&format!("{}/.ory/.well-known/ory/webauthn.js", pg.base)).send();
    assert_eq!(js.status, 200);
    assert!(
        html.contains("<link rel=\"icon\" href=\"data:,\">"),
        "{html}"
    );
    let icon = Req::get(&format!("{}/favicon.ico", pg.base)).send();
    assert_eq!(
        (icon.status, icon.header("content-type")),
        (200, Some("image/svg+xml"))
    );
}
