//! Random bytes from the operating system.
//!
//! Signing keys and token ids (`jti`) need unpredictable bytes. `getrandom` asks the operating
//! system's generator (`getrandom(2)` on Linux, the platform's equivalent elsewhere) with no file
//! to open or keep, one system call per token.

use std::io;
use std::sync::OnceLock;

/// Fills `buf` with random bytes from the operating system.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    getrandom::getrandom(buf).map_err(|e| io::Error::other(format!("random bytes: {e}")))
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

/// A request id for a request that came without a usable `X-Request-Id`: 16 hex digits drawn
/// once per process, a dash, and a per-process counter. Unique across replicas with
/// overwhelming probability, and cheap: no system call per request.
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut b = [0u8; 8];
        // Without random bytes the ids are still unique within this process.
        let _ = fill(&mut b);
        u64::from_le_bytes(b)
    });
    format!(
        "{prefix:016x}-{:x}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

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

    #[test]
    fn request_ids_differ() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a[..17], b[..17]);
        assert!(a.len() >= 18 && a.as_bytes()[16] == b'-');
    }
}
