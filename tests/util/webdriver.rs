//! A headless Chromium driven over the W3C WebDriver protocol (plain JSON over HTTP to
//! `chromedriver`), for tests that need a real browser: cookies, redirects and forms exactly as a
//! user's browser handles them.
//!
//! [`Browser::start`] finds `chromedriver` and Chromium (`CHROMEDRIVER` / `CHROME_BIN` override
//! the search), starts the driver on a free loopback port and opens a session with a fresh
//! profile directory; dropping the [`Browser`] ends the session, stops the driver and removes the
//! profile. Every session keeps Chromium's own network log (chromedriver's `performance` log),
//! which [`Browser::responses`] and [`Browser::assert_no_404`] read ([`super::netlog`]). When no
//! browser is installed, `start` returns `None` so the test can say so loudly; with
//! `ORY_PROXY_TEST_REQUIRE_BROWSER=1` (set by `.ci/run`) it panics instead, so CI never skips
//! silently.

use super::client::{Req, Resp};
use super::proxy::free_port;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::netlog::NetLog;
pub use super::netlog::Response;

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long any wait in a browser test may take (generous: CI machines are busy).
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The Chromium flags every test browser starts with.
pub const CHROME_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1024,768",
];

/// A browser session; everything stops on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    profile: PathBuf,
    /// What the browser's network log said so far (reading it drains chromedriver's buffer).
    network: Mutex<NetLog>,
}

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// Whether the environment demands the browser tests run (CI).
pub fn browser_required() -> bool {
    std::env::var("ORY_PROXY_TEST_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Says loudly that the browser test `what` was skipped (no browser installed): for the `else`
/// of [`Browser::start`].
pub fn no_browser(what: &str) {
    eprintln!(
        "\n\n*** SKIPPED browser test ({what}): chromium and chromedriver are not installed \
         (apt-get install chromium chromium-driver; .ci/run does) ***\n"
    );
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or `None` when they are not
    /// installed (and not required).
    pub fn start() -> Option<Browser> {
        Browser::start_with(&[])
    }

    /// [`Browser::start`] with more Chromium flags (e.g. a certificate's SPKI pin).
    pub fn start_with(extra_args: &[String]) -> Option<Browser> {
        let driver_bin = find_program("CHROMEDRIVER", &["chromedriver"]);
        let chrome_bin = find_program(
            "CHROME_BIN",
            &["chromium", "chromium-browser", "google-chrome", "chrome"],
        );
        let (Some(driver_bin), Some(chrome_bin)) = (driver_bin, chrome_bin) else {
            assert!(
                !browser_required(),
                "ORY_PROXY_TEST_REQUIRE_BROWSER=1 but chromedriver or chromium is not installed"
            );
            return None;
        };
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver_bin.display()));
        let base = format!("http://127.0.0.1:{port}");
        let profile = std::env::temp_dir().join(format!(
            "ory-proxy-chrome-{}-{}",
            std::process::id(),
            super::random_hex(12)
        ));
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            profile,
            network: Mutex::default(),
        };
        browser.wait_for_driver();
        let mut args: Vec<String> = CHROME_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", browser.profile.display()));
        args.extend(extra_args.iter().cloned());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            // The DevTools Network events of every page, for `responses`.
            "goog:loggingPrefs": {"performance": "ALL"},
            "goog:chromeOptions": {"binary": chrome_bin.to_string_lossy(), "args": args},
        }}});
        let r = browser.call("POST", "/session", Some(caps));
        browser.session = r["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {r}"))
            .to_owned();
        Some(browser)
    }

    fn wait_for_driver(&mut self) {
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        loop {
            if let Ok(r) = Req::get(&format!("{}/status", self.base)).try_send() {
                if r.status == 200 && r.json()["value"]["ready"] == true {
                    return;
                }
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!("chromedriver exited at start-up: {status}");
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One WebDriver command; returns its `value`, panicking on a WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.try_call(method, path, body);
        assert!(
            r.status == 200,
            "webdriver {method} {path}: {} {}",
            r.status,
            r.text()
        );
        r.json()["value"].clone()
    }

    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        let url = format!("{}{path}", self.base);
        let mut req = Req::new(method, &url);
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        req.send()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Navigates to `url` and waits for the page load.
    pub fn goto(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({"url": url})),
        );
    }

    /// The current page's URL.
    pub fn url(&self) -> String {
        self.call("GET", &self.session_path("/url"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current page's HTML.
    pub fn source(&self) -> String {
        self.call("GET", &self.session_path("/source"), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector, if there is one now.
    pub fn find(&self, css: &str) -> Option<String> {
        let r = self.try_call(
            "POST",
            &self.session_path("/element"),
            Some(json!({"using": "css selector", "value": css})),
        );
        if r.status != 200 {
            return None;
        }
        r.json()["value"][ELEMENT].as_str().map(str::to_owned)
    }

    /// Waits until an element matching `css` exists; panics with the page's URL and source.
    pub fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + BROWSER_TIMEOUT;
        loop {
            if let Some(e) = self.find(css) {
                return e;
            }
            if Instant::now() > deadline {
                panic!(
                    "no element {css:?} at {} after {BROWSER_TIMEOUT:?}; page:\n{}",
                    self.url(),
                    self.source()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, element: &str) {
        self.call(
            "POST",
            &self.session_path(&format!("/element/{element}/click")),
            Some(json!({})),
        );
    }

    pub fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &self.session_path(&format!("/element/{element}/value")),
            Some(json!({"text": text})),
        );
    }

    pub fn text(&self, element: &str) -> String {
        self.call(
            "GET",
            &self.session_path(&format!("/element/{element}/text")),
            None,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The cookies the browser holds for the current page (WebDriver cookie objects).
    pub fn cookies(&self) -> Vec<Value> {
        self.call("GET", &self.session_path("/cookie"), None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Sets a cookie for the current page's origin.
    pub fn add_cookie(&self, name: &str, value: &str) {
        self.call(
            "POST",
            &self.session_path("/cookie"),
            Some(json!({"cookie": {"name": name, "value": value, "path": "/"}})),
        );
    }

    /// Resizes the window (the viewport a screenshot shows).
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.session_path("/window/rect"),
            Some(json!({"width": width, "height": height})),
        );
    }

    /// A PNG of the current viewport.
    pub fn screenshot_png(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = self.call("GET", &self.session_path("/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("the screenshot is base64")
    }

    pub fn profile_dir(&self) -> &Path {
        &self.profile
    }

    /// Reads what is new in the browser's network log; returns whether there was anything.
    fn read_network_log(&self) -> bool {
        let entries = self.call(
            "POST",
            &self.session_path("/se/log"),
            Some(json!({"type": "performance"})),
        );
        let entries = entries.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut log = self.network.lock().unwrap();
        for entry in entries {
            log.add(entry);
        }
        !entries.is_empty()
    }

    /// Every http(s) response the browser received in this session, in order: documents,
    /// scripts, icons, `fetch`es, whatever the page asked for, as Chromium itself saw them
    /// (DevTools' `Network.responseReceived`). First waits until the network is idle: no request
    /// without its answer and a quiet moment (the icon is asked for after the page loads).
    pub fn responses(&self) -> Vec<Response> {
        let quiet = Duration::from_millis(500);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last_news = Instant::now();
        loop {
            if self.read_network_log() {
                last_news = Instant::now();
            }
            let log = self.network.lock().unwrap();
            if (log.pending() == 0 && last_news.elapsed() >= quiet) || Instant::now() > deadline {
                return log.responses().to_vec();
            }
            drop(log);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Panics, listing them, if any response the browser received was a 404 (see
    /// [`Browser::responses`], which it returns for further checks).
    pub fn assert_no_404(&self) -> Vec<Response> {
        let all = self.responses();
        let missing: Vec<&str> = all
            .iter()
            .filter(|r| r.status == 404)
            .map(|r| r.url.as_str())
            .collect();
        assert!(
            missing.is_empty(),
            "the browser's network log has {} response(s) 404 Not Found:\n  {}\nall it received:\n{}",
            missing.len(),
            missing.join("\n  "),
            super::netlog::listing(&all)
        );
        all
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ =
                Req::new("DELETE", &format!("{}/session/{}", self.base, self.session)).try_send();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
