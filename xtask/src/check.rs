//! `cargo xtask check`: a table of the tools and the credential source a build would use,
//! without prompting; non-zero when a build would fail.

use std::path::PathBuf;

use xshell::{Shell, cmd};

use crate::{packer, session, tools};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    session: session::Opts,
    /// The template folder whose packer floor applies (default: packer/ in the repository).
    #[arg(long, value_name = "DIR")]
    template: Option<PathBuf>,
}

/// How a row bears on a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    Ok,
    /// Missing, but a build still runs (`validate` needs it, or an output is poorer).
    Warn,
    /// A build would fail.
    Fail,
}

pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) mark: Mark,
    pub(crate) detail: String,
}

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let template = match self.template {
            Some(t) => std::env::current_dir()?.join(t),
            None => crate::project_root().join("packer"),
        };
        let rows = [
            packer_row(sh, &template),
            simple_row(
                sh,
                &tools::SHELLCHECK,
                "--version",
                "needed by `cargo xtask validate`",
            ),
            simple_row(
                sh,
                &tools::GIT,
                "--version",
                "the AMI's build_commit would be \"unknown\"",
            ),
            credentials_row(&self.session),
        ];
        print!("{}", render(&rows));
        if rows.iter().any(|r| r.mark == Mark::Fail) {
            anyhow::bail!("a build would fail: fix the rows marked ✗ above");
        }
        Ok(())
    }
}

fn packer_row(sh: &Shell, template: &std::path::Path) -> Row {
    let floor = packer::template_floor(template);
    let (mark, detail) = match packer::inspect(sh, floor) {
        Err(err) => (Mark::Fail, format!("{err:#}")),
        Ok(found) => {
            let plugin = if !packer::plugin_needed(found.version) {
                "amazon builder built in".to_owned()
            } else {
                match packer::amazon_installed(sh, &found) {
                    Ok(true) => "amazon plugin installed".to_owned(),
                    // A build installs it: not a failure.
                    Ok(false) => {
                        "amazon plugin not installed yet (a build runs packer init)".to_owned()
                    }
                    Err(err) => format!("cannot list plugins: {err:#}"),
                }
            };
            (
                Mark::Ok,
                format!(
                    "{} {} (needs ≥ {floor}; {plugin})",
                    found.path.display(),
                    found.version
                ),
            )
        }
    };
    Row {
        name: "packer",
        mark,
        detail,
    }
}

fn simple_row(sh: &Shell, tool: &tools::Tool, flag: &str, without: &str) -> Row {
    let (mark, detail) = match tool.find() {
        Err(err) => (Mark::Warn, format!("{err:#}; without it {without}")),
        Ok(path) => {
            let version = cmd!(sh, "{path} {flag}")
                .ignore_stderr()
                .read()
                .ok()
                .and_then(|out| tools::Version::find_in(&out))
                .map(|v| v.to_string())
                .unwrap_or_else(|| "version unknown".into());
            (Mark::Ok, format!("{} {version}", path.display()))
        }
    };
    Row {
        name: tool.name,
        mark,
        detail,
    }
}

fn credentials_row(opts: &session::Opts) -> Row {
    let (mark, detail) = match session::describe(opts) {
        Ok(line) => (Mark::Ok, line),
        Err(err) => (Mark::Fail, format!("{err:#}")),
    };
    Row {
        name: "credentials",
        mark,
        detail,
    }
}

/// The table, one row a line: mark, name, detail.
pub(crate) fn render(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    rows.iter()
        .map(|row| {
            let mark = match row.mark {
                Mark::Ok => "✓",
                Mark::Warn => "!",
                Mark::Fail => "✗",
            };
            format!("{mark} {:<width$}  {}\n", row.name, row.detail)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lines_up_names_and_marks_each_row() {
        let rows = [
            Row {
                name: "packer",
                mark: Mark::Fail,
                detail: "packer not found on PATH".into(),
            },
            Row {
                name: "credentials",
                mark: Mark::Ok,
                detail: "default chain".into(),
            },
        ];
        assert_eq!(
            render(&rows),
            "✗ packer       packer not found on PATH\n✓ credentials  default chain\n"
        );
    }
}
