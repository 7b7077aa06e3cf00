//! HTTPS on the proxy's own port (`--tls-cert`, `--tls-key`): the certificate chain and key,
//! read and checked before the port is taken, and swapped whole on SIGHUP.
//!
//! rustls is already in the tree as the client to `https://` next hops ([`crate::proxy::tls`]),
//! with the `ring` provider; the server side uses the same crate and provider, TLS 1.2 and 1.3
//! only (rustls offers nothing older) and ALPN `http/1.1` (the proxy speaks nothing else, so a
//! client offering only `h2` is refused in the handshake rather than misunderstood after it).
//!
//! Each connection takes a snapshot of the live configuration when it starts, so a reload never
//! changes a handshake half-way; a pair that fails to load keeps the old one and says why in one
//! error line (as `--jwks-file` does, [`crate::ory::reload`]).

use crate::obs::logger;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The first byte of every TLS record carrying a handshake (a ClientHello starts with it).
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// The server configuration connections take, replaceable while the proxy runs.
pub struct LiveTls {
    current: RwLock<Arc<ServerConfig>>,
    cert: PathBuf,
    key: PathBuf,
}

impl LiveTls {
    /// Reads `cert` (a PEM chain, leaf first) and `key` (PEM PKCS#8, SEC1 or RSA); the error
    /// names the file and the reason.
    pub fn load(cert: &Path, key: &Path) -> Result<LiveTls, String> {
        Ok(LiveTls {
            current: RwLock::new(Arc::new(server_config(cert, key)?)),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        })
    }

    /// The configuration for one new connection.
    pub fn current(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reads the pair again and, when it is valid, serves it to new connections.
    pub fn reload(&self) -> Result<String, String> {
        let config = server_config(&self.cert, &self.key).map_err(|reason| {
            format!("TLS certificate reload failed, keeping the old certificate: {reason}")
        })?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(format!(
            "TLS certificate reloaded from '{}' and '{}'",
            self.cert.display(),
            self.key.display()
        ))
    }

    /// [`LiveTls::reload`], logged: one info line, or one error line.
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(line) => logger::info(&line),
            Err(line) => logger::error(&line),
        }
    }
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {flag} '{}': {e}", path.display()))
}

/// Builds the server configuration from the two files.
fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, String> {
    let pem = read(cert, "--tls-cert")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert '{}': {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert '{}': no PEM certificate in it",
            cert.display()
        ));
    }
    let pem = read(key, "--tls-key")?;
    let private = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
        format!(
            "--tls-key '{}': no PKCS#8, SEC1 or RSA private key in PEM ({e})",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!(
                "--tls-cert '{}' and --tls-key '{}' do not make a pair: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_name_the_path() {
        let dir = std::env::temp_dir().join(format!("ory-proxy-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = LiveTls::load(&dir.join("nope.pem"), &empty).err().unwrap();
        assert!(
            err.contains("--tls-cert") && err.contains("nope.pem"),
            "{err}"
        );
        let err = LiveTls::load(&empty, &empty).err().unwrap();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}
