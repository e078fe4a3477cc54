//! Man pages for every packaged binary, generated at build time.
//!
//! `lava-server` and `lava-dev` pages come from their clap definitions (clap_mangen, one page
//! per subcommand); the server's are in the `lava-cli` crate, so the server is not linked here.
//! `lava-dispatch`, `pduclient` and `lava-dispatcher` keep their command lines in their
//! binaries, so their pages are made from `--help` output, help2man style.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory as _;

use crate::changelog::gzip_to;
use crate::{Error, Result};

/// Binaries whose pages come from `--help` (skipped when not built).
pub const HELP_BINARIES: [&str; 3] = ["lava-dispatch", "pduclient", "lava-dispatcher"];

/// Writes `NAME.1.gz` pages into `out` and returns their paths. `bin_dir` holds the built
/// binaries for the `--help` pages.
pub fn generate(out: &Path, bin_dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let mut written = Vec::new();
    let commands = [lava_cli::Cli::command(), crate::cli::Cli::command()];
    for cmd in commands {
        clap_pages(cmd, out, &mut written)?;
    }
    for name in HELP_BINARIES {
        let bin = bin_dir.join(name);
        if !bin.exists() {
            continue;
        }
        let help = run_help(&bin)?;
        let path = out.join(format!("{name}.1.gz"));
        gzip_to(from_help(name, &help).as_bytes(), &path)?;
        written.push(path);
    }
    Ok(written)
}

/// One page for `cmd` and one per subcommand (`lava-server-manage-migrate.1.gz`).
fn clap_pages(cmd: clap::Command, out: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let cmd = cmd.disable_help_subcommand(true);
    let mut cmd = cmd;
    cmd.build();
    let name = cmd.get_name().to_string();
    walk(&cmd, name.clone(), name, out, written)
}

/// `name` is the page name (`lava-server-manage`), `line` the command (`lava-server manage`).
fn walk(
    cmd: &clap::Command,
    name: String,
    line: String,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let page = cmd
        .clone()
        .display_name(name.clone())
        .bin_name(line.clone());
    let mut buf = Vec::new();
    let path = out.join(format!("{name}.1.gz"));
    clap_mangen::Man::new(page)
        .render(&mut buf)
        .map_err(Error::io(&path))?;
    gzip_to(&buf, &path)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_name = sub.get_name();
        walk(
            sub,
            format!("{name}-{sub_name}"),
            format!("{line} {sub_name}"),
            out,
            written,
        )?;
    }
    Ok(())
}

fn run_help(bin: &Path) -> Result<String> {
    let command = format!("{} --help", bin.display());
    crate::command::stdout(Command::new(bin).arg("--help"), &command)
}

/// A roff page from clap's `--help` text: the first line is the synopsis, the `Usage:` line
/// the synopsis section, the rest kept verbatim.
pub fn from_help(name: &str, help: &str) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('-', "\\-");
    let mut lines = help.lines();
    let about = lines.next().unwrap_or(name).trim();
    let mut page = format!(
        ".TH {} 1\n.SH NAME\n{} \\- {}\n",
        name.to_uppercase(),
        escape(name),
        escape(about)
    );
    let mut body = String::new();
    for line in lines {
        if let Some(usage) = line.strip_prefix("Usage: ") {
            page.push_str(&format!(".SH SYNOPSIS\n.B {}\n", escape(usage.trim())));
        } else {
            let l = escape(line);
            // A line starting with '.' or '\'' would be a roff request.
            if l.starts_with(['.', '\'']) {
                body.push_str("\\&");
            }
            body.push_str(&l);
            body.push('\n');
        }
    }
    page.push_str(".SH DESCRIPTION\n.nf\n");
    page.push_str(body.trim_matches('\n'));
    page.push_str("\n.fi\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_becomes_a_page() {
        let page = from_help(
            "pduclient",
            "Talk to pdudaemon\n\nUsage: pduclient [OPTIONS]\n\nOptions:\n  -h, --help\n",
        );
        assert!(page.starts_with(".TH PDUCLIENT 1\n.SH NAME\npduclient \\- Talk to pdudaemon\n"));
        assert!(page.contains(".SH SYNOPSIS\n.B pduclient [OPTIONS]\n"));
        assert!(page.contains("\\-h, \\-\\-help"));
    }
}
