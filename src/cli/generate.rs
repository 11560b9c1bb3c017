//! `completions SHELL` and `man`: shell completion scripts and man pages,
//! generated from the command line's own definition so they never drift.
//! Neither reads the config.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

const BIN: &str = "circle-relay";

/// The completion script for `shell` on stdout.
pub(super) fn completions(shell: Shell) -> anyhow::Result<()> {
    // Generated into memory first: clap_complete panics on a failed write, and
    // a closed pipe (`completions bash | head`) must stay an ordinary error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    write_stdout(&script)
}

/// `circle-relay.1` on stdout, or every page (one per command and
/// subcommand) written into `dir`.
pub(super) fn man(dir: Option<&Path>) -> anyhow::Result<()> {
    let command = Cli::command();
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            Ok(())
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            write_stdout(&page)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}
