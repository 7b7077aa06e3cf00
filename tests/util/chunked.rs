//! A strict decoder of HTTP/1.1 chunked framing (RFC 9112 §7.1), fed bytes as they come off a
//! socket, for tests that read a streamed answer (or a forwarded upload) and must compare what
//! the framing carries, not search the framed bytes.
//!
//! Strict where a lenient reader would hide a framing bug: a chunk size is one or more hex
//! digits and nothing else (no sign, no spaces, no `0x`), optionally followed by an extension
//! (`;name[=value]`); every line ends in CRLF (a bare CR or LF is an error); the data of a chunk
//! is followed by exactly CRLF; the body ends with a last chunk (`0`), optional trailer fields
//! (`name: value`) and an empty line. Bytes after that end are kept in [`Chunked::rest`], so a
//! test can see a stray byte or the next pipelined answer.

/// Where the decoder is in the framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside the data of a chunk: this many bytes left.
    Data(u64),
    /// After a chunk's data: expecting exactly CRLF.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line.
    Trailer,
    /// The body is complete.
    Done,
}

/// The longest size or trailer line accepted (a runaway line is an error, not a wait).
const MAX_LINE: usize = 8 * 1024;

/// An incremental, strict chunked decoder.
#[derive(Debug)]
pub struct Chunked {
    state: State,
    /// Bytes of an incomplete line (or of `DataEnd`'s CRLF), or, once done, the bytes after
    /// the end of the body.
    pending: Vec<u8>,
    /// The size of every chunk seen, the last (`0`) included once seen.
    sizes: Vec<u64>,
    /// The trailer fields, as sent.
    trailers: Vec<String>,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked::new()
    }
}

impl Chunked {
    pub fn new() -> Chunked {
        Chunked {
            state: State::Size,
            pending: Vec::new(),
            sizes: Vec::new(),
            trailers: Vec::new(),
        }
    }

    /// Decodes `bytes` and returns the body data they carried. An error names the first
    /// framing fault; the decoder is not usable after one.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut input = bytes;
        while !input.is_empty() {
            match self.state {
                State::Done => {
                    self.pending.extend_from_slice(input);
                    break;
                }
                State::Data(left) => {
                    let n = (left.min(input.len() as u64)) as usize;
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.state = if left == n as u64 {
                        State::DataEnd
                    } else {
                        State::Data(left - n as u64)
                    };
                }
                State::DataEnd => {
                    let want = 2 - self.pending.len();
                    let n = want.min(input.len());
                    self.pending.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    if self.pending.len() == 2 {
                        if self.pending != b"\r\n" {
                            return Err(format!(
                                "chunk data not followed by CRLF but by {:?}",
                                String::from_utf8_lossy(&self.pending)
                            ));
                        }
                        self.pending.clear();
                        self.state = State::Size;
                    }
                }
                State::Size | State::Trailer => {
                    let Some(lf) = input.iter().position(|&b| b == b'\n') else {
                        self.pending.extend_from_slice(input);
                        if self.pending.len() > MAX_LINE {
                            return Err(format!("a line longer than {MAX_LINE} bytes"));
                        }
                        break;
                    };
                    self.pending.extend_from_slice(&input[..=lf]);
                    input = &input[lf + 1..];
                    let line = std::mem::take(&mut self.pending);
                    self.line(&line)?;
                }
            }
        }
        Ok(out)
    }

    /// One whole line, LF included.
    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        let shown = String::from_utf8_lossy(line).into_owned();
        let Some(text) = line.strip_suffix(b"\r\n") else {
            return Err(format!("line not ended by CRLF: {shown:?}"));
        };
        if text.contains(&b'\r') {
            return Err(format!("a bare CR in {shown:?}"));
        }
        let text = std::str::from_utf8(text).map_err(|_| format!("not ASCII: {shown:?}"))?;
        if self.state == State::Trailer {
            if text.is_empty() {
                self.state = State::Done;
                return Ok(());
            }
            let (name, _) = text
                .split_once(':')
                .ok_or_else(|| format!("trailer line without a colon: {shown:?}"))?;
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err(format!("trailer field name not a token: {shown:?}"));
            }
            self.trailers.push(text.to_owned());
            return Ok(());
        }
        let digits = text.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits == 0 {
            return Err(format!("chunk size not hex digits: {shown:?}"));
        }
        let (hex, ext) = text.split_at(digits);
        if !ext.is_empty() && !ext.trim_start_matches([' ', '\t']).starts_with(';') {
            return Err(format!("junk after the chunk size: {shown:?}"));
        }
        if ext.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!("control byte in a chunk extension: {shown:?}"));
        }
        let size =
            u64::from_str_radix(hex, 16).map_err(|_| format!("chunk size overflows: {shown:?}"))?;
        self.sizes.push(size);
        self.state = if size == 0 {
            State::Trailer
        } else {
            State::Data(size)
        };
        Ok(())
    }

    /// Whether the last chunk and the empty line after it (and any trailers) have arrived.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes that arrived after the end of the body.
    pub fn rest(&self) -> &[u8] {
        if self.is_done() {
            &self.pending
        } else {
            &[]
        }
    }

    /// The sizes of the chunks seen so far (the last chunk's `0` included once seen).
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// The trailer field lines, as sent.
    pub fn trailers(&self) -> &[String] {
        &self.trailers
    }
}

/// Decodes a whole chunked body: `(body, bytes after its end)`. An error when the framing is
/// broken or the body is incomplete.
pub fn decode(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut d = Chunked::new();
    let body = d.feed(bytes)?;
    if !d.is_done() {
        return Err(format!(
            "incomplete chunked body ({} data bytes, chunks {:?})",
            body.len(),
            d.sizes()
        ));
    }
    Ok((body, d.rest().to_vec()))
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_rejects() {
        let (body, rest) = decode(b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nA: b\r\n\r\nNEXT").unwrap();
        assert_eq!(body, b"hello!");
        assert_eq!(rest, b"NEXT");
        // Fed a byte at a time, the same.
        let mut d = Chunked::new();
        let mut one = Vec::new();
        for b in b"5\r\nhello\r\n1;x=y\r\n!\r\n0\r\nA: b\r\n\r\nNEXT" {
            one.extend(d.feed(&[*b]).unwrap());
        }
        assert_eq!((one.as_slice(), d.rest()), (&b"hello!"[..], &b"NEXT"[..]));
        assert_eq!(d.sizes(), [5, 1, 0]);
        assert_eq!(d.trailers(), ["A: b"]);
        for bad in [
            &b"+5\r\nhello\r\n0\r\n\r\n"[..],
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello\r\n0\r\n",
            b"5\r\nhel",
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"0\r\nno colon\r\n\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
