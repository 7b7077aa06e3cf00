//! Random bytes from the operating system.
//!
//! Signing keys and token ids (`jti`) need unpredictable bytes. Reading `/dev/urandom` through one
//! shared, already-open file keeps the crate budget (no `rand`/`getrandom` dependency of our own)
//! and costs one `read` system call per token. `&File` implements `Read`, so no lock is needed.

use std::fs::File;
use std::io::{self, Read};
use std::sync::OnceLock;

static URANDOM: OnceLock<io::Result<File>> = OnceLock::new();

/// Fills `buf` with random bytes from the operating system.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    match URANDOM.get_or_init(|| File::open("/dev/urandom")) {
        Ok(file) => {
            let mut reader: &File = file;
            reader.read_exact(buf)
        }
        Err(e) => Err(io::Error::new(e.kind(), format!("/dev/urandom: {e}"))),
    }
}

/// A fresh random (version 4) UUID in its lowercase hyphenated form.
pub fn uuid_v4() -> io::Result<String> {
    let mut b = [0u8; 16];
    fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    Ok(s)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(u, uuid_v4().unwrap());
    }
}
