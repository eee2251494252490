//! `tickfill bench`: runs the latency benchmark harness, the executable `tickfill-bench`
//! built beside this one (its own workspace package, `bench/`, so the engine carries no
//! load generator), with the same arguments; its exit code is this command's.

use anyhow::{Context, bail};
use clap::Args;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;

/// How to build the harness, said when it is missing.
pub const BUILD_IT: &str = "cargo build --release -p tickfill-bench";

/// Everything after `bench`, passed to `tickfill-bench` unchanged (`tickfill bench --help`
/// lists its options).
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// The harness's arguments, e.g. `--quick`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

/// Replaces this process with `tickfill-bench` (so signals and the exit code are the
/// harness's own), or says how to build it when it is not beside this executable.
pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let harness = exe.with_file_name("tickfill-bench");
    if !harness.is_file() {
        bail!(
            "the benchmark harness is a separate executable, {}, which is not built: \
             build it with `{BUILD_IT}` (without --release for a debug build beside a \
             debug tickfill), or both with `cargo build --release --workspace`",
            harness.display()
        );
    }
    let err = std::process::Command::new(&harness).args(&a.args).exec();
    Err(err).with_context(|| format!("running {}", harness.display()))
}
