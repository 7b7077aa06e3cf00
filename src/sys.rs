//! The only `unsafe` code of the crate: a few Linux/Unix system calls that `std` does not offer.
//!
//! - [`set_listener_nodelay`]: `TCP_NODELAY` on the listener, copied by Linux to every accepted
//!   connection. Without it a response written as a head and then a body (two small segments)
//!   waits for the client's delayed ACK, about 40 ms per request.
//! - [`set_keepalive`]: TCP keepalive probes on relayed (WebSocket) sockets.
//! - [`set_listener_timeouts`]: `SO_RCVTIMEO`/`SO_SNDTIMEO` on the listening socket. `tiny_http`
//!   sets no socket timeouts at all; on Linux, accepted sockets inherit these options from the
//!   listener, so every client connection gets them without access to `tiny_http`'s accept loop.
//! - [`stop_listening`]: `shutdown(2)` on the listening socket for a graceful shutdown.
//! - [`install_shutdown_signals`]: SIGTERM and SIGINT handlers that only `write(2)` one byte into
//!   a pipe (async-signal-safe); a normal thread reads the other end.
//! - [`find_client_socket`]: a second handle (`dup`) on the socket of a connection that
//!   `tiny_http` owns, found by its addresses. `tiny_http` never exposes its sockets, but the
//!   proxy needs one to relay an upgraded connection in both directions at once and to close a
//!   connection whose framing can no longer be trusted.
//! - [`client_sockets`] and [`bytes_read`]: which accepted connections are open and how many
//!   bytes the process has read from each (`TCP_INFO` minus the unread queue), so the
//!   [`crate::http::watchdog`] can cut a request head that grows past its limit while `tiny_http` is
//!   still reading it.
//!
//! Audit notes: every block below passes pointers to stack values of the exact type and size the
//! call expects, checks every return value, and never lets the kernel write past a buffer. File
//! descriptors obtained here are immediately wrapped in owning `std` types (closed on drop).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// Whether the peer of `stream` has closed its sending side (its FIN is all that is left to
/// read), without consuming anything or blocking: a `recv` with `MSG_PEEK | MSG_DONTWAIT`, so
/// the shared file description stays blocking for `tiny_http`.
pub fn peer_closed(stream: &TcpStream) -> bool {
    let mut byte = 0u8;
    // SAFETY: the buffer is one live stack byte and its length is passed as 1; `stream` owns
    // its descriptor for the duration of the call.
    let rc = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    rc == 0
}

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

/// Disables Nagle's algorithm on the listening socket; Linux copies the flag to every accepted
/// connection. Without it a response written as a head and then a body (two small segments)
/// waits for the client's delayed ACK, about 40 ms per request.
pub fn set_listener_nodelay(listener: &TcpListener) -> io::Result<()> {
    set_int_option(
        listener.as_raw_fd(),
        libc::IPPROTO_TCP,
        libc::TCP_NODELAY,
        1,
    )
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

fn timeval(d: Duration) -> libc::timeval {
    // A zero timeval means "no timeout" to the kernel; round tiny durations up to 1 µs.
    let micros = d.subsec_micros().max(if d.as_secs() == 0 { 1 } else { 0 });
    libc::timeval {
        tv_sec: d.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_usec: micros as libc::suseconds_t,
    }
}

fn set_timeval_option(fd: RawFd, option: libc::c_int, d: Duration) -> io::Result<()> {
    let tv = timeval(d);
    // SAFETY: `tv` is a live `timeval` and the length passed is exactly its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the receive and send timeouts that accepted sockets inherit (Linux).
pub fn set_listener_timeouts(listener: &TcpListener, timeout: Duration) -> io::Result<()> {
    set_timeval_option(listener.as_raw_fd(), libc::SO_RCVTIMEO, timeout)?;
    set_timeval_option(listener.as_raw_fd(), libc::SO_SNDTIMEO, timeout)
}

/// Stops a listening socket from accepting (`shutdown(2)`): new connections are refused and a
/// blocked `accept` (`tiny_http`'s accept thread, on another handle of the same socket) returns
/// an error, while connections accepted before stay open.
pub fn stop_listening(listener: &TcpListener) -> io::Result<()> {
    // SAFETY: plain call on a descriptor owned by `listener`, alive for the call.
    if unsafe { libc::shutdown(listener.as_raw_fd(), libc::SHUT_RDWR) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Write end of the signal pipe, for the handler; -1 until installed.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_shutdown_signal(_signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is one live byte. The result is
        // ignored on purpose: a full pipe already holds a pending wake-up.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// Installs SIGTERM and SIGINT handlers; returns the pipe end that receives one byte per signal.
pub fn install_shutdown_signals() -> io::Result<std::fs::File> {
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
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction is a valid starting value; the handler is an
        // `extern "C" fn(c_int)` as `sa_sigaction` expects without SA_SIGINFO.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_shutdown_signal as *const () as libc::sighandler_t;
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

/// Reads a socket address of `fd` with `getsockname` (`peer = false`) or `getpeername`.
fn socket_addr(fd: RawFd, peer: bool) -> Option<SocketAddr> {
    // SAFETY: a zeroed sockaddr_storage is valid; the kernel writes at most `len` bytes into it
    // and reports the real length, which is checked against the family's struct size.
    unsafe {
        let mut storage: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let ptr = (&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr>();
        let rc = if peer {
            libc::getpeername(fd, ptr, &mut len)
        } else {
            libc::getsockname(fd, ptr, &mut len)
        };
        if rc != 0 {
            return None;
        }
        match storage.ss_family as libc::c_int {
            libc::AF_INET if len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
                let a = &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
            }
            libc::AF_INET6 if len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
                let a = &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
                Some(SocketAddr::from((ip, u16::from_be(a.sin6_port))))
            }
            _ => None,
        }
    }
}

fn is_client_socket(fd: RawFd, listen_port: u16, peer: SocketAddr) -> bool {
    socket_addr(fd, false).is_some_and(|local| local.port() == listen_port)
        && socket_addr(fd, true).is_some_and(|p| same_addr(p, peer))
}

/// Compares addresses, treating an IPv4-mapped IPv6 address as its IPv4 form.
fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |s: SocketAddr| match s {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::from((v4, v6.port())),
            None => s,
        },
        s => s,
    };
    canon(a) == canon(b)
}

/// A new handle on the accepted connection whose local port is `listen_port` and whose peer is
/// `peer`: the socket `tiny_http` reads that client's requests from. `None` when no open
/// descriptor of this process matches (the connection is gone).
///
/// Costs one `readdir` of `/proc/self/fd` and two system calls per open descriptor, so it is
/// only used for upgrades and for closing broken connections, never per request.
pub fn find_client_socket(listen_port: u16, peer: SocketAddr) -> Option<TcpStream> {
    for fd in open_fds() {
        if !is_client_socket(fd, listen_port, peer) {
            continue;
        }
        if let Some(stream) = client_socket_at(fd, listen_port, peer) {
            return Some(stream);
        }
    }
    None
}

/// The descriptor numbers open in this process, from `/proc/self/fd` (none when it cannot be
/// read). A number may be closed or reused by the time it is used: callers check what it is.
fn open_fds() -> impl Iterator<Item = RawFd> {
    std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<RawFd>().ok())
}

/// A new handle (`dup`) on descriptor `fd` if it still is the accepted connection on
/// `listen_port` from `peer` (descriptor numbers are reused, so this is checked on the copy).
pub fn client_socket_at(fd: RawFd, listen_port: u16, peer: SocketAddr) -> Option<TcpStream> {
    // SAFETY: F_DUPFD_CLOEXEC only reads `fd`; if it was closed meanwhile the call fails,
    // and if the number was reused the check on the duplicate below rejects it.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return None;
    }
    // SAFETY: `dup` is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(dup) };
    let stream = TcpStream::from(owned);
    is_client_socket(stream.as_raw_fd(), listen_port, peer).then_some(stream)
}

/// The open descriptors of this process that are accepted connections on `listen_port`, one
/// per peer (`tiny_http` holds two descriptors per connection).
pub fn client_sockets(listen_port: u16) -> Vec<(RawFd, SocketAddr)> {
    let mut found: Vec<(RawFd, SocketAddr)> = Vec::new();
    for fd in open_fds() {
        if !socket_addr(fd, false).is_some_and(|local| local.port() == listen_port) {
            continue;
        }
        if let Some(peer) = socket_addr(fd, true) {
            if !found.iter().any(|(_, p)| *p == peer) {
                found.push((fd, peer));
            }
        }
    }
    found
}

/// Bytes the process has read from a TCP socket so far: bytes received (`tcpi_bytes_received`,
/// Linux 4.1+) minus those still waiting in the receive queue (`FIONREAD`). `None` when the
/// kernel does not say.
pub fn bytes_read(fd: RawFd) -> Option<u64> {
    // SAFETY: a zeroed tcp_info is valid; the kernel writes at most `len` bytes into it and
    // reports how many, which is checked to cover the field read. FIONREAD writes one c_int.
    unsafe {
        let mut info: libc::tcp_info = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        );
        let needed = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_received) + 8;
        if rc != 0 || (len as usize) < needed {
            return None;
        }
        let mut queued: libc::c_int = 0;
        if libc::ioctl(fd, libc::FIONREAD, &mut queued as *mut libc::c_int) != 0 {
            return None;
        }
        Some(
            info.tcpi_bytes_received
                .saturating_sub(queued.max(0) as u64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn finds_the_accepted_socket_by_peer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (_accepted, peer) = listener.accept().unwrap();
        let mut found = find_client_socket(port, peer).expect("socket found");
        found.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        let other: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert!(find_client_socket(port, other).is_none());
    }

    #[test]
    fn counts_bytes_read_from_client_sockets() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (mut accepted, peer) = listener.accept().unwrap();
        let sockets = client_sockets(port);
        let (fd, _) = *sockets.iter().find(|(_, p)| *p == peer).expect("listed");
        assert_eq!(bytes_read(fd), Some(0));
        client.write_all(b"hello world").unwrap();
        let mut buf = [0u8; 5];
        accepted.read_exact(&mut buf).unwrap();
        // Read 5, 6 still queued (poll: the bytes may still be on their way).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while bytes_read(fd) != Some(5) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(bytes_read(fd), Some(5));
    }

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
    fn listener_timeouts_are_inherited() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        set_listener_timeouts(&listener, Duration::from_millis(1500)).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let t = accepted.read_timeout().unwrap().expect("inherited timeout");
        assert!(
            t >= Duration::from_millis(1000) && t <= Duration::from_millis(2000),
            "{t:?}"
        );
    }
}
