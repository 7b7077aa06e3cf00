//! The idle connections to the upstream that [`crate::proxy::direct`] reuses, owned by the
//! [`crate::proxy::App`] (no process-wide state: two apps in one process, as in tests, never
//! share a connection).
//!
//! A kept connection is shared by users one after another, so the one thing this file must get
//! right is that nothing on a connection can be read as the next user's answer. A connection is
//! looked at when it is put away and again when it is taken, without waiting (one
//! `recv(MSG_PEEK|MSG_DONTWAIT)`, [`crate::sys::peek_nonblocking`]): anything waiting means it
//! is closed instead of used. The end of the connection waiting is the upstream's keep-alive
//! timeout, normal and silent; bytes waiting are an upstream bug (a late second answer, a body
//! longer than its `Content-Length`, a 408 on an idle connection) that the operator hears about
//! in one WARN per upstream, like Go's "unsolicited response on idle HTTP channel".
//!
//! The stack is LIFO: the most recently used connection is the likeliest to be alive and warm.
//! It holds at most [`MAX_IDLE`] connections, each for at most [`MAX_IDLE_AGE`].

use crate::http::input::Input;
use crate::obs::warn_once::WarnOnce;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Idle connections kept at most.
pub(crate) const MAX_IDLE: usize = 256;
/// An idle connection older than this is closed rather than used.
pub(crate) const MAX_IDLE_AGE: Duration = Duration::from_secs(15);

/// What a look at a connection between answers found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idle {
    /// Nothing waiting: the connection can carry the next request.
    Quiet,
    /// The upstream closed it (or it failed): dropped without a word.
    Closed,
    /// Bytes nobody asked for: dropped, and the operator is told.
    Stray,
}

/// Looks at a connection without waiting: bytes already read past the answer, or anything
/// waiting on the socket.
fn look(conn: &Input) -> Idle {
    if !conn.buffered().is_empty() {
        return Idle::Stray;
    }
    match crate::sys::peek_nonblocking(conn.stream()) {
        Ok(None) => Idle::Quiet,
        Ok(Some(0)) | Err(_) => Idle::Closed,
        Ok(Some(_)) => Idle::Stray,
    }
}

/// Idle connections to one upstream, most recently used last.
pub(crate) struct Pool {
    idle: Mutex<Vec<(Input, Instant)>>,
    /// The upstream's origin, for the warning.
    origin: String,
    warned: WarnOnce,
}

impl Pool {
    pub(crate) fn new(origin: &str) -> Pool {
        Pool {
            idle: Mutex::new(Vec::new()),
            origin: origin.to_owned(),
            warned: WarnOnce::new(),
        }
    }

    /// The most recently used idle connection that is not too old and has nothing waiting.
    pub(crate) fn take(&self) -> Option<Input> {
        loop {
            let conn = {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                idle.retain(|(_, since)| now.saturating_duration_since(*since) < MAX_IDLE_AGE);
                idle.pop().map(|(c, _)| c)?
            };
            match look(&conn) {
                Idle::Quiet => return Some(conn),
                Idle::Closed => {}
                Idle::Stray => self.warn_stray("while it was idle"),
            }
        }
    }

    /// Keeps a connection whose answer was read to its end, if nothing is left or waiting
    /// behind it. The caller decides that the answer's end was beyond doubt.
    pub(crate) fn put(&self, conn: Input) {
        match look(&conn) {
            Idle::Quiet => {}
            Idle::Closed => return,
            Idle::Stray => return self.warn_stray("after the end of an answer"),
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() >= MAX_IDLE {
            idle.remove(0);
        }
        idle.push((conn, Instant::now()));
    }

    /// Once per upstream (again after an hour): stray bytes are an upstream bug.
    fn warn_stray(&self, when: &str) {
        if self.warned.should_warn(&self.origin, Instant::now()) {
            crate::obs::logger::warn(&format!(
                "upstream {} sent bytes nobody asked for on a kept connection ({when}); the \
                 connection was closed, not reused. This is a bug in the application: an answer \
                 longer than its Content-Length, or a second answer to one request",
                self.origin
            ));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.idle.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;

    /// The upstream's end and our kept connection.
    fn pair() -> (TcpStream, Input) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (theirs, _) = l.accept().unwrap();
        (theirs, Input::new(Arc::new(ours)))
    }

    /// Waits until the kernel has what the peer wrote (loopback: at once, but not atomically).
    fn settle() {
        std::thread::sleep(Duration::from_millis(50));
    }

    #[test]
    fn a_quiet_connection_is_kept_and_taken_most_recent_first() {
        let pool = Pool::new("http://app");
        let (_a_peer, a) = pair();
        let (_b_peer, b) = pair();
        let b_addr = b.stream().local_addr().unwrap();
        pool.put(a);
        pool.put(b);
        assert_eq!(pool.len(), 2);
        let taken = pool.take().unwrap();
        assert_eq!(taken.stream().local_addr().unwrap(), b_addr);
        assert!(pool.take().is_some());
        assert!(pool.take().is_none());
    }

    #[test]
    fn bytes_or_a_close_waiting_keep_a_connection_out() {
        let pool = Pool::new("http://app");
        let (mut stray_peer, stray) = pair();
        stray_peer.write_all(b"HTTP/1.1 200 OK\r\n").unwrap();
        let (closed_peer, closed) = pair();
        drop(closed_peer);
        settle();
        pool.put(stray);
        pool.put(closed);
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn a_connection_that_turned_readable_while_idle_is_skipped() {
        let pool = Pool::new("http://app");
        let (_quiet_peer, quiet) = pair();
        let quiet_addr = quiet.stream().local_addr().unwrap();
        let (mut late_peer, late) = pair();
        let (closed_peer, closed) = pair();
        pool.put(quiet);
        pool.put(late);
        pool.put(closed);
        late_peer.write_all(b"HTTP/1.1 408 x\r\n\r\n").unwrap();
        drop(closed_peer);
        settle();
        let taken = pool.take().unwrap();
        assert_eq!(taken.stream().local_addr().unwrap(), quiet_addr);
        assert_eq!(pool.len(), 0);
    }

    #[test]
    fn stray_bytes_warn_once_per_upstream() {
        let pool = Pool::new("http://app");
        for _ in 0..3 {
            let (mut peer, conn) = pair();
            peer.write_all(b"x").unwrap();
            settle();
            pool.put(conn);
        }
        assert!(!pool.warned.should_warn("http://app", Instant::now()));
        assert!(pool.warned.should_warn("http://other", Instant::now()));
    }
}
