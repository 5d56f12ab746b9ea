//! The `clearance` binary.

use clap::Parser;
use std::process::ExitCode;

// jemalloc rather than the system allocator: the store's commits allocate and free a
// page-sized buffer per page they touch, and glibc's malloc took about a sixth of the
// server's CPU doing so under load (README, Performance).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    clearance::cli::Cli::parse().run()
}
