//! Runs the real `ory-proxy` binary: as a server on a free loopback port (killed on drop), or to
//! completion for command-line tests.
//!
//! The proxy prints `ory-proxy listening on 127.0.0.1:PORT` as its first stderr line; the
//! launcher reads the port from it and keeps collecting stderr in a background thread so tests
//! can assert on log lines ([`ProxyProcess::wait_for_log`]). The environment is scrubbed of
//! `ORY_*` and `PORT` so a developer's shell cannot change what a test sees.
//!
//! The binary is the one Cargo built for this test run, unless `ORY_PROXY_BIN` names another
//! file: CI points it at the static release binary of `scripts/dist.sh`, so the very file that
//! ships is the one tested.

use super::server::Recorded;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The binary Cargo built alongside these tests.
pub const BUILT_BIN: &str = env!("CARGO_BIN_EXE_ory-proxy");

/// The binary under test: `ORY_PROXY_BIN` when set (and not empty), else [`BUILT_BIN`].
pub fn bin() -> std::ffi::OsString {
    std::env::var_os("ORY_PROXY_BIN")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| BUILT_BIN.into())
}

/// Builds an example (`playground`, `fake-ory`; a no-op when `cargo test` already did) next to
/// the binary under test and returns its path.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let bin = std::path::PathBuf::from(BUILT_BIN);
    let profile_dir = bin.parent().expect("profile directory").to_path_buf();
    let target_dir = profile_dir.parent().expect("target directory");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "--example", name, "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    let status = cargo
        .status()
        .unwrap_or_else(|e| panic!("run cargo build --example {name}: {e}"));
    assert!(
        status.success(),
        "building the example {name} failed: {status}"
    );
    profile_dir.join("examples").join(name)
}

/// How long start-up may take on a loaded machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `Command` for the binary with a clean environment plus `env`.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("ORY_") || k == "PORT" {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Finished {
    /// The exit code (`None` when killed by a signal or by the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the binary to completion (killed after 60 s) with these arguments and extra variables.
pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut child = command(args, env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ory-proxy");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + START_TIMEOUT;
    let status: Option<ExitStatus> = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    Finished {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = r.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// A running proxy; killed on drop.
pub struct ProxyProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl ProxyProcess {
    /// Starts `ory-proxy <upstream> --sdk-url <sdk> <extra…>` on 127.0.0.1 and a free port.
    pub fn start(upstream: &str, sdk_url: &str, extra: &[&str]) -> ProxyProcess {
        let mut args = vec![upstream, "--sdk-url", sdk_url];
        args.extend_from_slice(extra);
        ProxyProcess::start_args(&args, &[])
    }

    /// Like [`ProxyProcess::start`] on a free port picked beforehand, with the public URL
    /// `http://127.0.0.1:PORT` (its [`ProxyProcess::url`]), where a browser reaches it, instead of
    /// the default `http://localhost:PORT`.
    pub fn start_public(upstream: &str, sdk_url: &str, extra: &[&str]) -> ProxyProcess {
        let port = free_port().to_string();
        let public = format!("http://127.0.0.1:{port}");
        let args = [&[public.as_str(), "--port", &port][..], extra].concat();
        ProxyProcess::start(upstream, sdk_url, &args)
    }

    /// Starts the binary with exactly these arguments and variables, plus `--bind 127.0.0.1`
    /// (unless `--bind` is given) and `--port 0` (unless `--port` is given). Under `-q` there is no banner to read the port
    /// from, so a free port is picked beforehand and polled until it accepts.
    pub fn start_args(args: &[&str], env: &[(&str, &str)]) -> ProxyProcess {
        let quiet = args.iter().any(|a| *a == "-q" || *a == "--quiet");
        let has_port = args
            .iter()
            .any(|a| *a == "--port" || a.starts_with("--port="));
        let picked;
        let mut all: Vec<&str> = args.to_vec();
        if !args
            .iter()
            .any(|a| *a == "--bind" || a.starts_with("--bind="))
        {
            all.extend(["--bind", "127.0.0.1"]);
        }
        if !has_port {
            picked = if quiet {
                free_port().to_string()
            } else {
                "0".into()
            };
            all.extend(["--port", picked.as_str()]);
        }
        let mut child = command(&all, env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ory-proxy");
        let log = Arc::new(Mutex::new(String::new()));
        let (first_tx, first_rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            let mut first = Some(first_tx);
            // Lossy, line by line: a byte that is not UTF-8 must not end the collection.
            let mut reader = BufReader::new(stderr);
            let mut raw = Vec::new();
            loop {
                raw.clear();
                match reader.read_until(b'\n', &mut raw) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if raw.last() == Some(&b'\n') {
                    raw.pop();
                }
                let line = String::from_utf8_lossy(&raw).into_owned();
                if let Some(tx) = first.take() {
                    let _ = tx.send(line.clone());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut process = ProxyProcess {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            log,
        };
        if quiet {
            let port = all[all.iter().position(|a| *a == "--port").unwrap() + 1];
            process.addr = format!("127.0.0.1:{port}").parse().expect("port");
            process.wait_until_accepting();
            return process;
        }
        let first = match first_rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let status = process.child.try_wait().ok().flatten();
                panic!(
                    "ory-proxy {all:?} printed no first line (exit: {status:?}); stderr:\n{}",
                    process.stderr()
                );
            }
        };
        let addr = listening_addr(&first)
            .unwrap_or_else(|| panic!("unexpected first stderr line: {first:?}"));
        process.addr = addr;
        process
    }

    fn wait_until_accepting(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("ory-proxy exited ({status}); stderr:\n{}", self.stderr());
            }
            assert!(Instant::now() < deadline, "ory-proxy never accepted");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `localhost:PORT`, the authority of the default public URL.
    pub fn public_authority(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits (generously) until a stderr line satisfies `pred`; returns that line.
    pub fn wait_for_log(&self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(line) = self.stderr().lines().find(|l| pred(l)) {
                return line.to_owned();
            }
            if Instant::now() > deadline {
                panic!("no matching stderr line; stderr:\n{}", self.stderr());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id (for signal tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the first stderr line: `ory-proxy listening on ADDR`, or under
/// `--log-format json` a JSON object whose `msg` is that text.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let text = if line.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        v["msg"].as_str()?.to_owned()
    } else {
        line.to_owned()
    };
    text.strip_prefix("ory-proxy listening on ")?
        .trim()
        .parse()
        .ok()
}

/// A loopback port that was free a moment ago and that the system does not hand out by itself.
///
/// It lies outside the ephemeral range, from which `bind` to port 0 and outgoing connections
/// draw: a port taken from that range and released could be given to a listener or a client
/// socket of another test running at the same time (seen under load: a "dead" upstream came
/// alive). Outside it only an explicit bind can take the port.
pub fn free_port() -> u16 {
    let (low, high) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    for _ in 0..1000 {
        let port = 1024 + (super::random_u64() % (65536 - 1024)) as u16;
        if (low..=high).contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port outside the ephemeral range {low}-{high}");
}

/// The bearer token a request carried, if any.
pub fn bearer_of(req: &Recorded) -> Option<String> {
    let auth = req.header("authorization")?;
    auth.strip_prefix("Bearer ").map(str::to_owned)
}
