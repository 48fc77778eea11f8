//! The `trackwire` binary: parses the command line and hands over to the
//! library.

use std::process::ExitCode;

use clap::Parser;
use trackwire::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let system = actix_rt::System::new();
    match system.block_on(cli::execute(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
