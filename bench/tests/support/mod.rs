//! What the harness's tests share: the two binaries under test and the `.hgrm` reader.

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `tickfill-bench`, built by cargo for this test.
pub fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tickfill-bench"))
}

/// The engine binary `tickfill` built beside the harness in the same target dir (a
/// workspace member's tests cannot name another package's binary, so it is found where
/// cargo puts it: `cargo test --workspace` builds it before any test runs).
pub fn engine() -> PathBuf {
    let p = harness().with_file_name("tickfill");
    assert!(
        p.is_file(),
        "{} is not built: run `cargo build --locked -p tickfill` first, or test with \
         `cargo test --workspace`",
        p.display()
    );
    p
}

/// The total count of an `.hgrm` file (its `Total count` footer).
pub fn total_count(hgrm: &str) -> u64 {
    let line = hgrm.lines().find(|l| l.contains("Total count")).expect("footer");
    line.rsplit('=')
        .next()
        .and_then(|n| n.trim().trim_end_matches(']').trim().parse().ok())
        .expect("count")
}

/// Runs `cmd` (a bench writing into `out`), asserts it succeeded, and returns the one
/// report folder it wrote there and its name.
pub fn run_into(mut cmd: Command, out: &Path) -> (PathBuf, String) {
    let run = cmd.arg("--out").arg(out).output().expect("the bench runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{cmd:?} failed:\n{stderr}");
    let dirs: Vec<_> =
        std::fs::read_dir(out).expect("out dir").flatten().filter(|e| e.path().is_dir()).collect();
    assert_eq!(dirs.len(), 1, "one report folder");
    let dir = dirs[0].path();
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    (dir, name)
}
