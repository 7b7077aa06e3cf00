//! The only `unsafe` code of the crate: the few Linux/Unix system calls that `std` does not offer.
//!
//! - [`set_keepalive`]: TCP keepalive probes on relayed (WebSocket) sockets.
//! - [`reset_on_close`]: `SO_LINGER` 0, so closing a socket sends a reset and drops what is
//!   still queued for the peer (a client cut for reading below `--min-data-rate` would otherwise
//!   keep megabytes of kernel buffer for as long as it trickles them out).
//! - [`stop_listening`]: `shutdown(2)` on a listening socket for a graceful shutdown (blocked
//!   `accept` calls return, new connections are refused).
//! - [`raise_fd_limit`]: the soft limit on open files up to the hard one (`setrlimit`), as Go
//!   does at start-up: each client connection is a descriptor (and often an upstream one), and
//!   the usual soft limit of 1024 is far below `--max-connections`.
//! - [`install_signals`]: SIGTERM, SIGINT and SIGHUP handlers that only `write(2)` the signal's number
//!   into a pipe (async-signal-safe); a normal thread reads the other end and learns which
//!   signal arrived ([`Signal`]).
//! - [`peek_nonblocking`]: whether anything (bytes or the end) is waiting on a socket, in one
//!   `recv(MSG_PEEK | MSG_DONTWAIT)` instead of std's blocking `peek` (or three calls around
//!   `set_nonblocking`); asked of every kept upstream connection when it is put away and taken.
//!
//! Audit notes: every block below passes pointers to stack values of the exact type and size the
//! call expects, checks every return value, and never lets the kernel write past a buffer. File
//! descriptors obtained here are immediately wrapped in owning `std` types (closed on drop).
#![allow(unsafe_code)]

use std::io;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// A signal the proxy handles, as its watcher thread receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: graceful shutdown.
    Terminate,
    /// SIGINT: graceful shutdown.
    Interrupt,
    /// SIGHUP: read `--jwks-file` again.
    Hangup,
}

impl Signal {
    /// The signal a byte from the pipe stands for.
    pub fn from_byte(b: u8) -> Option<Signal> {
        match libc::c_int::from(b) {
            libc::SIGTERM => Some(Signal::Terminate),
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGHUP => Some(Signal::Hangup),
            _ => None,
        }
    }
}

/// The signals that get a handler.
const HANDLED: [libc::c_int; 3] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Sets an integer socket option on `fd`.
fn set_int_option(fd: i32, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `fd` comes from a live socket owned by the caller; the option value is a valid
    // `c_int` whose size is passed alongside it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// TCP keepalive on a relayed socket: probes after 60 s of silence, every 10 s, 6 tries, so a
/// peer that vanished without a FIN (a laptop closed, a NAT entry dropped) is noticed within
/// about two minutes instead of holding an idle WebSocket's relay threads forever.
pub fn set_keepalive(stream: &TcpStream) -> io::Result<()> {
    let fd = stream.as_raw_fd();
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 60)?;
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 10)?;
    set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 6)
}

/// Makes closing `stream` abortive: a reset instead of a FIN, and whatever is still queued for
/// the peer is dropped instead of delivered.
pub fn reset_on_close(stream: &TcpStream) -> io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd belongs to a live socket; the option value is a `linger` on the stack
    // whose exact size is passed alongside it.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Stops a listening socket from accepting (`shutdown(2)`): new connections are refused and a
/// blocked `accept` (the accept thread, on another handle of the same socket) returns an error,
/// while connections accepted before stay open.
pub fn stop_listening(listener: &TcpListener) -> io::Result<()> {
    // SAFETY: plain call on a descriptor owned by `listener`, alive for the call.
    if unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the soft limit on open file descriptors to the hard limit; returns the new limit.
pub fn raise_fd_limit() -> io::Result<u64> {
    // SAFETY: `limit` is a live rlimit the kernel fills (getrlimit) or reads (setrlimit).
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) != 0 {
                return Err(io::Error::last_os_error());
            }
            limit = wanted;
        }
        Ok(limit.rlim_cur as u64)
    }
}

/// What is waiting on `stream`, without waiting and without taking it: `Ok(None)` nothing,
/// `Ok(Some(0))` the peer closed its side, `Ok(Some(n))` at least `n` (≥ 1) bytes.
#[cfg(unix)]
pub fn peek_nonblocking(stream: &TcpStream) -> io::Result<Option<usize>> {
    let mut byte = 0u8;
    loop {
        // SAFETY: `byte` is one live, writable byte and the length passed is 1; the descriptor
        // belongs to `stream`, alive for the call. MSG_PEEK leaves the byte in the socket.
        let n = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(e),
        }
    }
}

/// What is waiting on `stream` (see the Unix version), in three calls.
#[cfg(not(unix))]
pub fn peek_nonblocking(stream: &TcpStream) -> io::Result<Option<usize>> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    let result = match stream.peek(&mut byte) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    };
    stream.set_nonblocking(false)?;
    result
}

/// Write end of the signal pipe, for the handler; -1 until installed.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        // Signal numbers of interest are below 256.
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is one live byte. The result is
        // ignored on purpose: a full pipe already holds a pending wake-up.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Installs the signal handlers; returns the pipe end that receives one byte per signal (the
/// signal's number, see [`Signal::from_byte`]).
pub fn install_signals() -> io::Result<std::fs::File> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so fds[0] is a fresh descriptor owned by nobody else. The write
    // end stays a raw descriptor for the handler and lives as long as the process.
    let read_end = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let file = std::fs::File::from(read_end);
    // The read end must block (the watcher thread waits on it); the handler's end must not.
    // SAFETY: F_SETFL on our own descriptor with flags derived from F_GETFL.
    unsafe {
        let flags = libc::fcntl(fds[0], libc::F_GETFL);
        libc::fcntl(fds[0], libc::F_SETFL, flags & !libc::O_NONBLOCK);
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    for signal in HANDLED {
        // SAFETY: a zeroed sigaction is a valid starting value; the handler is an
        // `extern "C" fn(c_int)` as `sa_sigaction` expects without SA_SIGINFO.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    #[test]
    fn a_stopped_listener_refuses_new_connections_but_keeps_old_ones() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut old = TcpStream::connect(addr).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        stop_listening(&listener).unwrap();
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
        assert!(listener.accept().is_err());
        old.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        accepted.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"x");
    }

    #[test]
    fn a_peek_sees_nothing_then_bytes_then_the_end_and_never_waits() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        // With no read timeout a blocking peek would hang the test here.
        assert_eq!(peek_nonblocking(&ours).unwrap(), None);
        peer.write_all(b"xy").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while peek_nonblocking(&ours).unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "bytes never seen");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(peek_nonblocking(&ours).unwrap(), Some(1));
        // A peek takes nothing: the bytes are still there to read.
        let mut b = [0u8; 2];
        (&ours).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"xy");
        assert_eq!(peek_nonblocking(&ours).unwrap(), None);
        drop(peer);
        while peek_nonblocking(&ours).unwrap().is_none() {
            assert!(std::time::Instant::now() < deadline, "the end never seen");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(peek_nonblocking(&ours).unwrap(), Some(0));
    }

    #[test]
    fn the_fd_limit_is_at_least_what_it_was() {
        let n = raise_fd_limit().unwrap();
        assert!(n >= 256, "{n}");
        assert_eq!(raise_fd_limit().unwrap(), n);
    }

    #[test]
    fn signal_bytes() {
        assert_eq!(
            Signal::from_byte(libc::SIGTERM as u8),
            Some(Signal::Terminate)
        );
        assert_eq!(
            Signal::from_byte(libc::SIGINT as u8),
            Some(Signal::Interrupt)
        );
        assert_eq!(Signal::from_byte(libc::SIGHUP as u8), Some(Signal::Hangup));
        assert_eq!(Signal::from_byte(0), None);
    }
}
