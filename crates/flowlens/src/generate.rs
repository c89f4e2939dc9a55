//! `flowlens generate`: the man page (`flowlens(1)` and one page per subcommand, with
//! clap_mangen) and shell completions (clap_complete), generated from the command line itself
//! so they cannot drift from it. Hidden from `--help`; `scripts/package` calls it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap_complete::Shell;

/// Arguments of `flowlens generate`.
#[derive(Debug, clap::Args)]
pub(crate) struct GenerateArgs {
    /// What to write.
    #[command(subcommand)]
    what: What,
}

/// What `flowlens generate` writes.
#[derive(Debug, clap::Subcommand)]
enum What {
    /// Man pages: `flowlens.1` and `flowlens-<subcommand>.1` for each visible subcommand.
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The completion script for one shell (`flowlens.bash`, `_flowlens` for zsh,
    /// `flowlens.fish`, ...).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
        /// Directory to write the script into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// Runs `flowlens generate` over `cmd`, the binary's whole command line.
pub(crate) fn run(args: &GenerateArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    match &args.what {
        What::Man { out } => man(cmd, out)?,
        What::Completions { shell, out } => {
            create_dir(out)?;
            let mut cmd = cmd;
            let path = clap_complete::generate_to(*shell, &mut cmd, "flowlens", out)
                .with_context(|| format!("writing {shell} completions into {}", out.display()))?;
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `flowlens.1` and a page per visible subcommand into `out`.
fn man(cmd: clap::Command, out: &Path) -> anyhow::Result<()> {
    create_dir(out)?;
    let cmd = cmd.version(env!("CARGO_PKG_VERSION"));
    write_page(&cmd, &out.join("flowlens.1"))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("flowlens-{}", sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .version(env!("CARGO_PKG_VERSION"));
        write_page(&sub, &out.join(format!("{name}.1")))?;
    }
    Ok(())
}

/// Renders one man page to `path` and prints the path.
fn write_page(cmd: &clap::Command, path: &Path) -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut page)
        .with_context(|| format!("rendering {}", path.display()))?;
    fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}

/// `mkdir -p`, with the path in the error.
fn create_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}
