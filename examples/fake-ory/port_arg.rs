//! The command line of both examples: `[--port N]` (or `--port=N`), nothing else.

/// The port asked for with `--port`, else `default`; an error message for anything else.
pub fn port_from_args(default: u16) -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = default;
    while let Some(a) = args.next() {
        let value = match a.as_str() {
            "--port" => args.next().ok_or("--port needs a value")?,
            other => match other.strip_prefix("--port=") {
                Some(v) => v.to_owned(),
                None => return Err(format!("unexpected argument '{other}'")),
            },
        };
        port = value
            .parse()
            .map_err(|_| format!("'{value}' is not a port number"))?;
    }
    Ok(port)
}
