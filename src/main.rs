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
            // Wrapping errors often repeat their cause's text: print only
            // the causes that say something new.
            let mut said = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(s) = source {
                let text = s.to_string();
                if !said.contains(&text) {
                    eprintln!("  caused by: {text}");
                    said.push_str(&text);
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
