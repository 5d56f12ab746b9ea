//! The `clearance` binary.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    clearance::cli::Cli::parse().run()
}
