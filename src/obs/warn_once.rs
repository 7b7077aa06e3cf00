//! Warnings that must be seen but must not flood: one per key (a denied CORS origin), again at
//! most every [`REPEAT_AFTER`], and at most [`MAX_PER_MINUTE`] in all.
//!
//! A denied origin is a configuration question ("add --allowed-cors-origins …"), asked by every
//! request a page makes; saying it once is enough for the person at the terminal. The keys come
//! from clients, so both the memory (at most [`MAX_KEYS`] keys; when full it starts over) and
//! the rate of lines are bounded even when a client sends a new `Origin` with every request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// After this long the same key is warned about again.
pub const REPEAT_AFTER: Duration = Duration::from_secs(3600);
/// Keys remembered; beyond this the memory is cleared (a key may then warn again).
pub const MAX_KEYS: usize = 1024;
/// Warnings in any one minute, over all keys.
pub const MAX_PER_MINUTE: u32 = 10;

/// Remembers which keys were warned about, and when.
#[derive(Debug, Default)]
pub struct WarnOnce {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<String, Instant>,
    minute: Option<Instant>,
    in_minute: u32,
}

impl WarnOnce {
    pub fn new() -> WarnOnce {
        WarnOnce::default()
    }

    /// Whether a warning about `key` should be written now (and records that it was).
    pub fn should_warn(&self, key: &str, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = s.seen.get(key) {
            if now.saturating_duration_since(*at) < REPEAT_AFTER {
                return false;
            }
        }
        match s.minute {
            Some(start) if now.saturating_duration_since(start) < Duration::from_secs(60) => {
                if s.in_minute >= MAX_PER_MINUTE {
                    return false;
                }
            }
            _ => {
                s.minute = Some(now);
                s.in_minute = 0;
            }
        }
        s.in_minute += 1;
        if s.seen.len() >= MAX_KEYS {
            s.seen.clear();
        }
        s.seen.insert(key.to_owned(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_key_then_again_after_an_hour() {
        let w = WarnOnce::new();
        let t = Instant::now();
        assert!(w.should_warn("http://a", t));
        assert!(!w.should_warn("http://a", t + Duration::from_secs(59)));
        assert!(w.should_warn("http://b", t));
        assert!(w.should_warn("http://a", t + REPEAT_AFTER + Duration::from_secs(61)));
    }

    #[test]
    fn a_flood_of_keys_is_rate_limited_and_bounded() {
        let w = WarnOnce::new();
        let t = Instant::now();
        let warned = (0..100)
            .filter(|i| w.should_warn(&format!("http://{i}"), t))
            .count();
        assert_eq!(warned, MAX_PER_MINUTE as usize);
        assert!(w.should_warn("http://late", t + Duration::from_secs(61)));
        for i in 0..(MAX_KEYS * 3) {
            w.should_warn(&i.to_string(), t + Duration::from_secs(120 + i as u64 * 7));
        }
        assert!(w.state.lock().unwrap().seen.len() <= MAX_KEYS);
    }
}
