//! Handing a `ureq` connection back to its pool before the client has the last bytes.

use std::io::{self, Read};

/// A body reader of known length that, on the read that completes the length, reads once more
/// before handing the last bytes out.
///
/// `ureq` returns a connection to its pool only on a read that finds the body's end. Probing for
/// that end *after* the client had the whole answer let the client's next request reach another
/// thread before the connection was back, so it opened a new upstream connection (a race seen
/// under load). A fulfilled `ureq` body answers the extra read with 0 at once, without touching
/// the socket.
pub struct EndProbing<R> {
    inner: R,
    left: u64,
}

impl<R: Read> EndProbing<R> {
    /// `length` is the body's declared length (`u64::MAX` when unknown). An empty body is
    /// probed at once, since no read of the copy will come.
    pub fn new(mut inner: R, length: u64) -> EndProbing<R> {
        if length == 0 {
            let _ = inner.read(&mut [0u8; 1]);
        }
        EndProbing {
            inner,
            left: length,
        }
    }
}

impl<R: Read> Read for EndProbing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        if self.left == 0 && n > 0 {
            let _ = self.inner.read(&mut [0u8; 1]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts reads, and how many found the end.
    struct Counting<'a> {
        data: &'a [u8],
        reads: usize,
        ends: usize,
    }

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let n = self.data.len().min(buf.len());
            self.ends += usize::from(n == 0);
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn end_probing_finds_the_end_before_the_last_bytes_go_out() {
        let mut inner = Counting {
            data: b"abcdef",
            reads: 0,
            ends: 0,
        };
        let mut r = EndProbing::new(&mut inner, 6);
        let mut buf = [0u8; 4];
        assert_eq!(r.read(&mut buf).unwrap(), 4);
        assert_eq!(r.read(&mut buf).unwrap(), 2);
        // The end was found within the read that returned the last bytes.
        assert_eq!(inner.ends, 1);
        let mut empty = Counting {
            data: b"",
            reads: 0,
            ends: 0,
        };
        EndProbing::new(&mut empty, 0);
        assert_eq!((empty.reads, empty.ends), (1, 1));
    }
}
