//! Who holds a port: said when `bind` fails with "Address already in use", so the message names
//! the way out (the program to stop, or another `--port`) instead of only the OS error.
//!
//! Linux lists listening sockets in `/proc/net/tcp{,6}` (state `0A`, with the socket's inode)
//! and each process's open descriptors as `socket:[inode]` links under `/proc/<pid>/fd`. Only
//! processes of the same user (or all, for root) can be looked into; when nothing is found the
//! message just says another program has the port. Read once, on a failed start, never on the
//! request path.

use std::fs;

/// `ory-proxy (pid 4242)` for the process listening on TCP `port`, when the system says.
pub fn holder_of(port: u16) -> Option<String> {
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .flat_map(|text| listening_inodes(&text, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let comm = fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let comm = comm.trim();
            let comm = if comm.is_empty() { "a process" } else { comm };
            return Some(format!("{comm} (pid {pid})"));
        }
    }
    None
}

/// The inodes of the sockets listening on `port` in one `/proc/net/tcp`-style table.
fn listening_inodes(table: &str, port: u16) -> Vec<String> {
    let port_hex = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (cols.get(1)?, cols.get(3)?, cols.get(9)?);
            (local.ends_with(&port_hex) && *state == "0A" && *inode != "0")
                .then(|| (*inode).to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_process_listening() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = holder_of(port).expect("this test's own listener");
        assert!(
            found.ends_with(&format!("(pid {})", std::process::id())),
            "{found}"
        );
    }

    #[test]
    fn reads_the_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12345 1 0\n   1: 0100007F:0FA0 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 999 1 0\n";
        assert_eq!(listening_inodes(table, 4000), vec!["12345".to_owned()]);
        assert!(listening_inodes(table, 4001).is_empty());
    }
}
