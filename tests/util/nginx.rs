//! nginx (Debian's package) as the load balancer in front of several proxies, configured from
//! `examples/nginx-replicas.conf` itself so the documented configuration is the tested one.
//!
//! nginx runs in the foreground as a single process (`master_process off`), so killing the child
//! on drop stops it completely. Without nginx installed the caller is told to skip, unless
//! `ORY_PROXY_TEST_REQUIRE_NGINX=1` (set by `.ci/run`) makes that a failure.

use super::files::TempDir;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The documented configuration.
pub const EXAMPLE_CONF: &str = include_str!("../../examples/nginx-replicas.conf");

/// A running nginx; killed on drop.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    dir: TempDir,
}

/// The nginx binary: `$NGINX`, `nginx` on the `PATH`, or Debian's `/usr/sbin/nginx`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NGINX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
}

/// Whether the environment demands the nginx tests run (CI).
pub fn required() -> bool {
    std::env::var("ORY_PROXY_TEST_REQUIRE_NGINX").is_ok_and(|v| v == "1")
}

/// `examples/nginx-replicas.conf` with its replica list replaced by `replicas` and its listen
/// address by `listen`; with `bind`, nginx connects to the replicas from that address
/// (`proxy_bind`), so they see another peer than the browser's 127.0.0.1.
pub fn example_config(replicas: &[SocketAddr], listen: SocketAddr, bind: Option<IpAddr>) -> String {
    let mut out = String::new();
    let mut replaced = false;
    for line in EXAMPLE_CONF.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("server 127.0.0.1:400") {
            if !replaced {
                for r in replicas {
                    out.push_str(&format!("    server {r} max_fails=3 fail_timeout=10s;\n"));
                }
                replaced = true;
            }
            continue;
        }
        if trimmed == "listen 80;" {
            out.push_str(&format!("    listen {listen};\n"));
            if let Some(ip) = bind {
                out.push_str(&format!("    proxy_bind {ip};\n"));
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(replaced, "the example lists no replicas");
    out
}

impl Nginx {
    /// Starts nginx with the example configuration in front of `replicas`; `None` when nginx is
    /// not installed and not required.
    pub fn start(replicas: &[SocketAddr]) -> Option<Nginx> {
        Nginx::start_bound(replicas, None)
    }

    /// [`Nginx::start`], connecting to the replicas from `bind` (see [`example_config`]).
    pub fn start_bound(replicas: &[SocketAddr], bind: Option<IpAddr>) -> Option<Nginx> {
        let Some(bin) = find() else {
            assert!(
                !required(),
                "ORY_PROXY_TEST_REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx)"
            );
            eprintln!("SKIPPED: nginx is not installed (apt-get install nginx)");
            return None;
        };
        let dir = TempDir::new("nginx");
        let listen: SocketAddr = format!("127.0.0.1:{}", super::proxy::free_port())
            .parse()
            .expect("address");
        dir.write("replicas.conf", example_config(replicas, listen, bind));
        let d = dir.path().display();
        let main = format!(
            "daemon off;\nmaster_process off;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/replicas.conf;\n}}\n"
        );
        let conf = dir.write("nginx.conf", main);
        let mut child = Command::new(&bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&listen, Duration::from_secs(1)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "nginx never accepted on {listen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Nginx {
            child,
            addr: listen,
            dir,
        })
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// nginx's error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
