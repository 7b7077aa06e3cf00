//! The signing keys a process starts with: the `--jwks-file` set or a fresh key, and the notes
//! to log about them once the banner is out.

use crate::ory::jwt::KeySet;
use std::io;

/// The signing keys and what to say about them once the banner is out.
pub struct Keys {
    pub set: Option<KeySet>,
    /// Log lines (`true` for a warning) written after the banner, whose first line is fixed.
    pub notes: Vec<(bool, String)>,
}

/// The signing keys: the `--jwks-file` set (`jwks_file`), or a fresh key; none when `jwt` is
/// off (`--no-jwt`, tunnel mode).
pub fn load(jwt: bool, jwks_file: Option<&std::path::Path>) -> io::Result<Keys> {
    if !jwt {
        return Ok(Keys {
            set: None,
            notes: Vec::new(),
        });
    }
    let Some(path) = jwks_file else {
        return Ok(Keys {
            set: Some(KeySet::generate()?),
            notes: Vec::new(),
        });
    };
    let keys = crate::ory::keyfile::load(path).map_err(io::Error::other)?;
    let mut notes = Vec::new();
    if crate::ory::keyfile::readable_by_others(path) {
        notes.push((
            true,
            format!(
                "key file '{}' is readable by other users; consider chmod 600",
                path.display()
            ),
        ));
    }
    let kids: Vec<&str> = keys.iter().map(|k| k.kid.as_str()).collect();
    notes.push((
        false,
        format!(
            "signing with key '{}' from '{}'; published: {}",
            kids[0],
            path.display(),
            kids.join(", ")
        ),
    ));
    Ok(Keys {
        set: Some(KeySet::new(keys)),
        notes,
    })
}
