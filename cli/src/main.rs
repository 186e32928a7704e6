//! `tonic-thrift`: describe, call and mock any Thrift service from its IDL,
//! over gRPC and TTHeader Streaming (every streaming mode) and TTHeader,
//! Framed and Buffered (ping-pong). Built on `tonic-thrift-generic`.
//!
//! ```sh
//! cargo install --path cli
//! tonic-thrift --help
//! ```

mod args;
mod call;
mod describe;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command, Idl};

/// A failure: its exit code and what to print on stderr.
pub(crate) struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    /// Bad usage or IDL: exit code 1.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

fn load(idl: &Idl) -> Result<tonic_thrift_build::descriptor::Descriptor, Failure> {
    let cwd = std::env::current_dir().ok();
    tonic_thrift_build::descriptor::load(&idl.idl, &idl.include, cwd.as_deref())
        .map_err(|e| Failure::usage(format!("cannot load {}:\n{e}", idl.idl.display())))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Describe { idl, target } => {
            let desc = load(&idl)?;
            let text = describe::describe(&desc, target.as_deref()).map_err(Failure::usage)?;
            print!("{text}");
            Ok(())
        }
        Command::Call { idl, call } => call::call(load(&idl)?, call).await,
        Command::Serve { idl, addr, mock } => serve::serve(load(&idl)?, &addr, mock).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tonic-thrift",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 1.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(u8::try_from(f.code).unwrap_or(1))
        }
    }
}
