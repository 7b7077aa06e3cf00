//! Key rotation without a restart: the live key set, swapped whole when `--jwks-file` is read
//! again (on SIGHUP, or when its modification time changes under `--jwks-reload-interval`).
//!
//! Requests take a snapshot (`Arc<KeySet>`) and use it for everything they do with keys, so a
//! token is always signed by the key its header names, and a JWKS answer is one consistent
//! document. The swap is a pointer store under a lock held for no longer than that.
//!
//! The file is parsed and validated completely before anything changes (`keyfile::load`); a file
//! that fails keeps the old keys and says why in one error line (path and reason), so a botched
//! edit of a secret never takes the proxy down nor leaves it without keys. Tokens already handed
//! out stay valid for as long as their key is published; the token-reuse memory only hands out
//! again a token signed by the *current* signing key (see `token_reuse`).

use crate::obs::logger;
use crate::ory::jwt::KeySet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// The key set requests sign with and publish, replaceable while the proxy runs.
pub struct LiveKeys {
    current: RwLock<Arc<KeySet>>,
    /// The file to read again; `None` for a key drawn at start-up.
    path: Option<PathBuf>,
}

impl LiveKeys {
    pub fn new(set: KeySet, path: Option<PathBuf>) -> LiveKeys {
        LiveKeys {
            current: RwLock::new(Arc::new(set)),
            path,
        }
    }

    /// The key set for one request.
    pub fn current(&self) -> Arc<KeySet> {
        // A poisoned lock still holds a whole key set (the swap cannot panic half-way).
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The key file, if the keys came from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Reads the key file again and, when it is valid, makes it the live set. Returns the line
    /// to log: what signs now, or why nothing changed.
    pub fn reload(&self) -> Result<String, String> {
        let Some(path) = &self.path else {
            return Err("no --jwks-file to reload: the key drawn at start-up stays".into());
        };
        let keys = crate::ory::keyfile::load(path)
            .map_err(|reason| format!("key reload failed, keeping the old keys: {reason}"))?;
        let set = KeySet::new(keys);
        let line = format!(
            "keys reloaded from '{}': signing with key '{}'; published: {}",
            path.display(),
            set.kid(),
            set.kids().join(", ")
        );
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(line)
    }

    /// [`LiveKeys::reload`], logged: one info line on success, one error line otherwise (an
    /// info line when there is no file: nothing failed).
    pub fn reload_and_log(&self) {
        match self.reload() {
            Err(line) if self.path.is_none() => logger::info(&line),
            Ok(line) => logger::info(&line),
            Err(line) => logger::error(&line),
        }
    }
}

/// What identifies one version of a file on disk, for noticing a change without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    // `metadata` follows symlinks: a Kubernetes secret volume swaps a `..data` link, and the
    // file behind the link is what changed.
    std::fs::metadata(path).ok().map(|m| Stamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

/// `--jwks-reload-interval`: a thread that looks at the key file's modification time (and size)
/// every `interval` and reloads when it changed, for platforms that rotate mounted secrets
/// without sending a signal. A file that vanishes for a moment (an atomic replace) is simply
/// looked at again next time. Runs for the life of the process.
pub fn watch(keys: Arc<LiveKeys>, interval: Duration) -> std::io::Result<()> {
    let Some(path) = keys.path().map(Path::to_path_buf) else {
        return Ok(());
    };
    let mut seen = stamp(&path);
    std::thread::Builder::new()
        .name("jwks-watch".into())
        .stack_size(256 * 1024)
        .spawn(move || loop {
            std::thread::sleep(interval);
            let now = stamp(&path);
            if now.is_some() && now != seen {
                seen = now;
                keys.reload_and_log();
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ory::keyfile::{generate_private_jwks, parse};

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ory-proxy-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    fn two_key_file(first: &str, second: &str) -> String {
        let a: serde_json::Value = serde_json::from_str(first).unwrap();
        let b: serde_json::Value = serde_json::from_str(second).unwrap();
        serde_json::json!({"keys": [a["keys"][0], b["keys"][0]]}).to_string()
    }

    #[test]
    fn reload_swaps_the_whole_set_and_a_broken_file_keeps_it() {
        let path = temp_file("keys.json");
        let old = generate_private_jwks().unwrap();
        let new = generate_private_jwks().unwrap();
        let kid = |doc: &str| parse(doc.as_bytes()).unwrap()[0].kid.clone();
        std::fs::write(&path, &old).unwrap();
        let live = LiveKeys::new(
            KeySet::new(parse(old.as_bytes()).unwrap()),
            Some(path.clone()),
        );
        let before = live.current();
        assert_eq!(before.kid(), kid(&old));

        std::fs::write(&path, two_key_file(&new, &old)).unwrap();
        let line = live.reload().unwrap();
        assert_eq!(
            line,
            format!(
                "keys reloaded from '{}': signing with key '{}'; published: {}, {}",
                path.display(),
                kid(&new),
                kid(&new),
                kid(&old)
            )
        );
        let after = live.current();
        assert_eq!(after.kid(), kid(&new));
        assert_ne!(after.signer(), before.signer());
        // A snapshot taken before the swap is still whole.
        assert_eq!(before.kid(), kid(&old));

        std::fs::write(&path, b"{\"keys\":[]}").unwrap();
        let e = live.reload().unwrap_err();
        assert!(
            e.starts_with("key reload failed, keeping the old keys: key file '")
                && e.contains("keys.json")
                && e.contains("no keys"),
            "{e}"
        );
        assert!(Arc::ptr_eq(&live.current(), &after));
        std::fs::remove_file(&path).unwrap();
        assert!(live.reload().unwrap_err().contains("No such file"));
        assert!(Arc::ptr_eq(&live.current(), &after));
    }

    #[test]
    fn without_a_file_there_is_nothing_to_reload() {
        let live = LiveKeys::new(KeySet::generate().unwrap(), None);
        let kid = live.current().kid().to_owned();
        assert!(live.reload().unwrap_err().contains("no --jwks-file"));
        assert_eq!(live.current().kid(), kid);
    }

    #[test]
    fn stamp_changes_with_the_content() {
        let path = temp_file("stamp.json");
        std::fs::write(&path, "a").unwrap();
        let a = stamp(&path);
        std::fs::write(&path, "bb").unwrap();
        assert_ne!(stamp(&path), a);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(stamp(&path), None);
    }
}
