//! A run of the binary that must stop at the command line: a usage error.

use super::proxy::{run_cli, Finished};

/// Runs the binary with `args` and the variables `env` and asserts a usage error: exit code 2
/// and `needle` in its standard error. Returns the run, for further checks.
pub fn assert_refused(args: &[&str], env: &[(&str, &str)], needle: &str) -> Finished {
    let out = run_cli(args, env);
    assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
    assert!(
        out.stderr.contains(needle),
        "{args:?}: {needle:?} not in {}",
        out.stderr
    );
    out
}
