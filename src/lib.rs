//! dockwright: a Dockerfile auto-fixer.
//!
//! bytes -> syntax tree (lossless, BuildKit-faithful) -> transforms (findings
//! and byte-range edits) -> verification -> diff or atomic write.

/// `println!` that does not panic when stdout is closed early
/// (`dockwright explain apt-layer | head`): the rest is dropped.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

pub mod app;
pub mod cli;
pub mod config;
pub mod diff;
pub mod edit;
pub mod engine;
pub mod exit;
pub mod facts;
pub mod files;
pub mod folders;
pub mod group;
pub mod inspect;
pub mod journal;
pub mod others;
pub mod report;
pub mod suppress;
pub mod syntax;
pub mod transform;
#[path = "../transforms/mod.rs"]
pub mod transforms;
pub mod undo;

use clap::Parser;

/// Parses the command line and runs it; the process exit status.
pub fn main() -> std::process::ExitCode {
    files::handle_interrupts();
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() { exit::EXIT_ERROR } else { 0 });
        }
    };
    match app::run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(exit::EXIT_ERROR)
        }
    }
}
