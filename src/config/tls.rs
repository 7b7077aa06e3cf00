//! `--tls-cert` and `--tls-key`: the two files HTTPS on the proxy's port needs, given together
//! or not at all (one without the other is a usage error, exit 2, rather than a plain-HTTP
//! start the operator did not ask for). The files themselves are read at start
//! ([`crate::http::tls`]), so a broken pair stops the start with its path and reason.

use super::raw::{flag_or_env, RawArgs};
use std::path::PathBuf;

/// The certificate chain and private key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn from_raw(
        raw: &RawArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<TlsFiles>, String> {
        let cert = flag_or_env(&raw.tls_cert, "--tls-cert", "ORY_PROXY_TLS_CERT", env);
        let key = flag_or_env(&raw.tls_key, "--tls-key", "ORY_PROXY_TLS_KEY", env);
        match (cert, key) {
            (None, None) => Ok(None),
            (Some((_, cert)), Some((_, key))) => Ok(Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            })),
            (Some((name, _)), None) => Err(format!(
                "{name} needs --tls-key (ORY_PROXY_TLS_KEY): HTTPS takes the certificate and its key together"
            )),
            (None, Some((name, _))) => Err(format!(
                "{name} needs --tls-cert (ORY_PROXY_TLS_CERT): HTTPS takes the certificate and its key together"
            )),
        }
    }
}

/// Whether HTTPS was asked for (for the default public URL's scheme).
pub fn wanted(raw: &RawArgs, env: &dyn Fn(&str) -> Option<String>) -> bool {
    flag_or_env(&raw.tls_cert, "--tls-cert", "ORY_PROXY_TLS_CERT", env).is_some()
}
