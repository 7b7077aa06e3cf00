//! Clients and servers the project did not write: Python (websockets, requests, h11, Flask,
//! prometheus_client), Node (built-in `fetch`, `ws`, Express) and curl. A feature a browser or a
//! client library consumes is proven through at least one of them, never only through the
//! project's own test client, which would share the proxy's misreadings.
//!
//! `scripts/test-deps.sh` installs the pinned Python packages in `target/test-deps/venv` and the
//! Node packages in `tests/clients/node_modules`; `.ci/run` runs it. When one is missing, a test
//! that needs it prints `SKIPPED` and returns, unless `ORY_PROXY_TEST_REQUIRE_CLIENTS=1` (set by
//! `.ci/run`), which makes it fail instead.
//!
//! A script is passed as an argument (`python -c`, `node -e`), its inputs as further arguments;
//! it prints what it saw on stdout (JSON where there is structure) and exits non-zero on any
//! protocol error, so the test asserts on both.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Whether a missing client fails the test (CI) instead of skipping it.
fn required() -> bool {
    std::env::var("ORY_PROXY_TEST_REQUIRE_CLIENTS").as_deref() == Ok("1")
}

fn missing(what: &str) -> Option<Command> {
    assert!(
        !required(),
        "ORY_PROXY_TEST_REQUIRE_CLIENTS=1 but {what} is missing (run scripts/test-deps.sh)"
    );
    eprintln!("\n\n*** SKIPPED: {what} is missing (scripts/test-deps.sh installs it) ***\n");
    None
}

/// The test virtualenv's Python (websockets, requests, h11, flask, prometheus_client importable),
/// or `None` (the caller returns: skipped) when it is not installed.
pub fn python() -> Option<Command> {
    let py = PathBuf::from(ROOT).join("target/test-deps/venv/bin/python");
    if !py.exists() {
        return missing("the Python test clients (target/test-deps/venv)");
    }
    let mut cmd = Command::new(py);
    cmd.env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    Some(cmd)
}

/// Node with `ws` and `express` resolvable (`require('ws')`), or `None` (skipped). `jose` (an
/// ES module, for the README's `verify.mjs`) is in the same folder; `import` ignores NODE_PATH,
/// so a module that imports it runs beside a `node_modules` link to that folder.
pub fn node() -> Option<Command> {
    let modules = PathBuf::from(ROOT).join("tests/clients/node_modules");
    let installed = ["ws", "express", "jose"]
        .iter()
        .all(|m| modules.join(m).exists());
    if !installed {
        return missing("the Node test clients (tests/clients/node_modules)");
    }
    if Command::new("node").arg("--version").output().is_err() {
        return missing("node");
    }
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", modules);
    Some(cmd)
}

/// curl, or `None` (skipped).
pub fn curl() -> Option<Command> {
    if Command::new("curl").arg("--version").output().is_err() {
        return missing("curl");
    }
    Some(Command::new("curl"))
}

/// Runs `cmd` to completion (killed after `limit`) and returns its output.
pub fn run(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start external client");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("external client output")
}

/// Runs `cmd` and returns its stdout, panicking with stdout and stderr when it failed.
pub fn run_ok(cmd: Command, limit: Duration) -> String {
    let out = run(cmd, limit);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "external client failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A server process the project did not write (a Flask or Express app, a `websockets` or `ws`
/// server) on a loopback port it chose itself and printed as its first stdout line
/// (`PORT <n>`); killed on drop.
pub struct ExternalServer {
    child: Child,
    pub port: u16,
}

impl ExternalServer {
    /// Starts `cmd`, which must bind 127.0.0.1:0 and print `PORT <n>` on its own line first.
    pub fn start(mut cmd: Command) -> ExternalServer {
        use std::io::{BufRead, BufReader};
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start external server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let port = lines.find_map(|l| l.ok()?.strip_prefix("PORT ")?.trim().parse().ok());
            let _ = tx.send(port);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let port: u16 = rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .expect("external server printed no 'PORT <n>' line");
        ExternalServer { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
