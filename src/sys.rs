//! The one module with `unsafe`: socket options that `std` does not expose.
//!
//! Audited surface: each function makes a single `libc` call on a file descriptor borrowed from a
//! live `std` socket, with a correctly sized, initialised argument, and turns the return code into
//! an `io::Result`. Nothing here keeps or frees a descriptor.

use std::io;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

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
