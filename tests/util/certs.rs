//! Self-signed certificates for the HTTPS tests, made by the `openssl` command (a client the
//! project did not write makes the files an operator would make: see docs/operations.md).

use crate::util::files::TempDir;
use std::path::PathBuf;
use std::process::Command;

/// A certificate for `localhost` and 127.0.0.1 with its key, as PEM files.
pub struct Cert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Cert {
    /// Makes `<name>.crt` and `<name>.key` in `dir`; `key_format` is what the key file holds:
    /// "ec" (PKCS#8 from `openssl req`), "sec1" (`EC PRIVATE KEY`) or "rsa" (an RSA key).
    pub fn make(dir: &TempDir, name: &str, key_format: &str) -> Cert {
        let cert = dir.path().join(format!("{name}.crt"));
        let key = dir.path().join(format!("{name}.key"));
        let newkey = match key_format {
            "rsa" => "rsa:2048",
            _ => "ec",
        };
        let mut req = Command::new("openssl");
        req.args(["req", "-x509", "-newkey", newkey]);
        if newkey == "ec" {
            req.args(["-pkeyopt", "ec_paramgen_curve:prime256v1"]);
        }
        req.args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert);
        run(&mut req);
        match key_format {
            "sec1" => run(Command::new("openssl")
                .args(["ec", "-in"])
                .arg(&key)
                .arg("-out")
                .arg(&key)),
            "rsa" => run(Command::new("openssl")
                .args(["rsa", "-traditional", "-in"])
                .arg(&key)
                .arg("-out")
                .arg(&key)),
            _ => {}
        }
        Cert { cert, key }
    }

    /// The proxy's flags for this pair.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.cert.display().to_string(),
            "--tls-key".into(),
            self.key.display().to_string(),
        ]
    }

    /// base64 of the SHA-256 of the certificate's public key (Chromium's SPKI pin).
    pub fn spki_sha256(&self) -> String {
        let script = format!(
            "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | base64",
            self.cert.display()
        );
        let out = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh");
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("the openssl command (Debian package openssl)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
