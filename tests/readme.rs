//! The README's newcomer path, run as written (issue 17): its "Try it with your own app" commands
//! (the fake-ory example, `node verify.mjs`, `ory-proxy … --sdk-url …`) are taken from README.md,
//! its `verify.mjs` is saved and run with Node and the pinned `jose`, and curl signs in at the
//! URL the README says to open. A README whose commands, snippet or URL went wrong fails here.
//! Only the ports change (everything in the tests binds a free loopback port).

use crate::util::external::{self, curl, node};
use crate::util::files::TempDir;
use crate::util::login_flow::csrf_token;
use crate::util::proxy::{example_binary, free_port};
use crate::util::ProxyProcess;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const README: &str = include_str!("../README.md");

/// The fenced code blocks of a Markdown text: (info string, body).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// A child process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for a line on the child's stdout that `done` accepts; returns it.
fn first_line(child: &mut Child, done: impl Fn(&str) -> bool + Send + 'static) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if done(&line) {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("a line")
}

#[test]
fn the_readme_newcomer_path_signs_in_to_verify_mjs() {
    let (Some(mut app_cmd), Some(_)) = (node(), curl()) else {
        return;
    };
    let all = blocks(README);
    let verify = all
        .iter()
        .find(|(info, body)| info == "js" && body.starts_with("// verify.mjs"))
        .map(|(_, body)| body.clone())
        .expect("a js block starting with '// verify.mjs'");
    let commands: Vec<String> = all
        .iter()
        .find(|(info, body)| info == "sh" && body.contains("--example fake-ory"))
        .expect("the sh block that starts the fake Ory")
        .1
        .lines()
        .map(|l| l.split(" #").next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    let (ory_port, app_port) = (free_port().to_string(), free_port().to_string());
    let ports = |s: &str| {
        s.replace(":4433", &format!(":{ory_port}"))
            .replace(":3000", &format!(":{app_port}"))
    };

    // 1. The fake Ory.
    let rest = commands[0]
        .strip_prefix("cargo run --release --example fake-ory")
        .unwrap_or_else(|| panic!("{:?}", commands[0]));
    assert_eq!(rest, "", "{:?}", commands[0]);
    let mut fake = Command::new(example_binary("fake-ory"));
    fake.args(["--port", &ory_port])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut fake = Running(fake.spawn().expect("spawn fake-ory"));
    first_line(&mut fake.0, |l| l.starts_with("fake-ory: "));
    let issuer = format!("http://127.0.0.1:{ory_port}");

    // 3. The proxy, with the README's arguments (it starts before the app: the app needs its URL).
    let args = commands[2]
        .strip_prefix("ory-proxy ")
        .unwrap_or_else(|| panic!("{:?}", commands[2]));
    let args: Vec<String> = ports(args).split_whitespace().map(str::to_owned).collect();
    assert!(args.contains(&issuer), "{args:?}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = ProxyProcess::start_args(&args, &[]);
    let public = format!("http://localhost:{}", proxy.addr.port());

    // 2. The app: verify.mjs as the README prints it, beside the pinned jose.
    assert_eq!(commands[1], "node verify.mjs");
    let dir = TempDir::new("readme");
    dir.write("verify.mjs", &verify);
    let modules =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node_modules");
    std::os::unix::fs::symlink(&modules, dir.path().join("node_modules"))
        .expect("link node_modules");
    app_cmd
        .arg("verify.mjs")
        .current_dir(dir.path())
        .env("PORT", &app_port)
        .env("PROXY", format!("http://127.0.0.1:{}", proxy.addr.port()))
        .env("ORY_ISSUER", &issuer)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _app = Running(app_cmd.spawn().expect("node verify.mjs"));
    crate::util::wait_until("verify.mjs listening", || {
        std::net::TcpStream::connect(("localhost", app_port.parse::<u16>().unwrap())).ok()
    });

    // Signed out, then signed in at the URL the README says to open (curl keeps the cookies).
    let jar = dir.path().join("cookies.txt");
    let curl_run = |extra: &[&str]| {
        let mut cmd = curl().expect("curl");
        cmd.args(["-sS", "--max-time", "20", "-c"])
            .arg(&jar)
            .arg("-b")
            .arg(&jar)
            .args(extra);
        external::run_ok(cmd, Duration::from_secs(30))
    };
    assert_eq!(curl_run(&[&format!("{public}/")]), "not signed in\n");
    let open = README
        .split('<')
        .filter_map(|s| s.split_once('>').map(|(url, _)| url))
        .find(|url| url.starts_with("http://localhost:4000/.ory/self-service/login/browser"))
        .expect("the sign-in URL to open")
        .replace("localhost:4000", &public["http://".len()..]);
    let flow: serde_json::Value =
        serde_json::from_str(&curl_run(&["-H", "Accept: application/json", &open])).expect("flow");
    let action = flow["ui"]["action"].as_str().expect("action").to_owned();
    let csrf = csrf_token(&flow);
    let landed = curl_run(&[
        "-L",
        "--data-urlencode",
        &format!("csrf_token={csrf}"),
        "--data-urlencode",
        "identifier=readme@example.org",
        "--data-urlencode",
        "password=any",
        &action,
    ]);
    assert_eq!(landed, "signed in as readme@example.org\n");
}
