//! `cargo xtask build`: checks the tools, sets up packer's plugins, gets a session when a
//! profile is given, runs `packer build` in the foreground, and writes the outputs.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use xshell::Shell;

use crate::packer::{self, OnError};
use crate::{child, git, local, manifest, outputs, session, timefmt};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    session: session::Opts,
    /// The template folder (default: packer/ in the repository).
    #[arg(long, value_name = "DIR")]
    template: Option<PathBuf>,
    /// A template variable, `KEY=VALUE` (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// A file of template variables (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    var_files: Vec<PathBuf>,
    /// Build only this source (its name, as in `amazon-ebs.NAME`).
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    /// What packer does when a step fails.
    #[arg(long, value_enum, default_value_t = OnError::Cleanup)]
    on_error: OnError,
    /// The region to build in (`-var region=…`).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The CPU architecture, x86_64 or arm64 (`-var arch=…`).
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// The instance's time zone, e.g. Europe/Paris (`-var timezone=…`).
    #[arg(long, value_name = "TZ")]
    timezone: Option<String>,
    /// Refuse a session that ends sooner than this (`90s`, `30m`, `2h`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = timefmt::parse_duration)]
    min_ttl: Duration,
    #[command(flatten)]
    outputs: outputs::OutputOpts,
    #[command(flatten)]
    place: outputs::Place,
    /// Rehearse the build offline: moto for AWS, a sandboxed instance over SSH, a
    /// throwaway role profile; then check the image and run its first-run script.
    #[arg(long, conflicts_with_all = ["profile", "mfa_token"])]
    local: bool,
    /// Set by `--local` on the build it runs: marks the outputs as local.
    #[arg(long, hide = true)]
    rehearsal: bool,
}

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let cwd = std::env::current_dir().context("read the current folder")?;
        let mut vars = Vec::new();
        for (key, value) in [
            ("region", &self.region),
            ("arch", &self.arch),
            ("timezone", &self.timezone),
        ] {
            if let Some(value) = value {
                vars.push((key.to_owned(), value.clone()));
            }
        }
        vars.extend(self.vars);
        // The build region, for the outputs when the manifest does not record it.
        let region = vars
            .iter()
            .rev()
            .find(|(key, _)| key == "region")
            .map(|(_, value)| value.clone());
        if self.local {
            let var = |name: &str| {
                vars.iter()
                    .rev()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
            };
            return local::run(
                sh,
                local::Request {
                    build_args: std::env::args_os()
                        .skip_while(|arg| arg != "build")
                        .skip(1)
                        .filter(|arg| arg != "--local")
                        .collect(),
                    region: region.unwrap_or_else(|| "us-east-1".into()),
                    timezone: var("timezone"),
                    place: self.place.dir(),
                    tag_given: self.outputs.tag.is_some(),
                },
            );
        }
        let plan = Plan {
            template: self
                .template
                .map(|t| cwd.join(t))
                .unwrap_or_else(|| crate::project_root().join("packer")),
            vars,
            var_files: self.var_files.iter().map(|f| cwd.join(f)).collect(),
            only: self.only,
            on_error: self.on_error,
            session: self.session,
            min_ttl: self.min_ttl,
            env: Vec::new(),
            outputs: self.outputs,
            place: self.place,
            region,
            local: self.rehearsal,
        };
        run(sh, &plan).map(drop)
    }
}

/// Everything one build needs; `cargo xtask build --local` makes its own and calls [`run`].
pub(crate) struct Plan {
    /// The template folder, absolute (packer runs in `place`, not here).
    pub(crate) template: PathBuf,
    /// `-var`s, after `build_commit` (which is always set from git): later ones win.
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) var_files: Vec<PathBuf>,
    pub(crate) only: Option<String>,
    pub(crate) on_error: OnError,
    pub(crate) session: session::Opts,
    pub(crate) min_ttl: Duration,
    /// Extra environment for packer alone (endpoints, a throwaway AWS_CONFIG_FILE, …).
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) outputs: outputs::OutputOpts,
    pub(crate) place: outputs::Place,
    /// The region built in, for outputs when the manifest's custom_data lacks it.
    pub(crate) region: Option<String>,
    /// Mark the outputs as made by the local rehearsal.
    pub(crate) local: bool,
}

/// Runs the build the plan describes and writes its outputs; packer's failure comes back
/// as [`crate::Exit`] with packer's status.
pub(crate) fn run(sh: &Shell, plan: &Plan) -> anyhow::Result<outputs::Outputs> {
    if !plan.template.exists() {
        bail!(
            "template {} does not exist (pass --template DIR)",
            plan.template.display()
        );
    }
    let packer = packer::inspect(sh, packer::template_floor(&plan.template))?;

    // A corrupt manifest makes packer fail only after the AMI exists: refuse it up front.
    let manifest_path = plan.place.manifest();
    let before = match std::fs::read_to_string(&manifest_path) {
        Ok(text) => manifest::check(&text)
            .and_then(|()| manifest::last_run_uuid(&text))
            .with_context(|| {
                format!(
                    "{} is unusable, and packer would fail after building (remove it, or run `cargo xtask clean`)",
                    manifest_path.display()
                )
            })?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("read {}", manifest_path.display())),
    };

    packer::setup_plugins(sh, &packer, &plan.template)?;

    let mut command = Command::new(&packer.path);
    // Like the original Makefile: credentials only when a profile is named; otherwise the
    // environment goes through untouched, so CI's OIDC or an instance role keeps working.
    if session::profile_name(&plan.session).is_some() {
        let session = session::resolve(&plan.session, plan.min_ttl)?;
        check_ttl(session.remaining(), plan.min_ttl)?;
        command.env_remove("AWS_PROFILE");
        command.envs(session.env());
    }

    let commit = git::commit(&crate::project_root()).unwrap_or_else(|| "unknown".into());
    let mut vars = vec![("build_commit".to_owned(), commit)];
    vars.extend(plan.vars.iter().cloned());
    command
        .args(packer::build_args(
            &plan.template,
            &vars,
            &plan.var_files,
            plan.only.as_deref(),
            plan.on_error,
        ))
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .env("CHECKPOINT_DISABLE", "1")
        .current_dir(plan.place.dir());
    let status = child::run(command)?;
    match child::exit_code(status) {
        0 => {}
        code => return Err(crate::Exit(code).into()),
    }

    let after = std::fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|text| manifest::last_run_uuid(&text).ok().flatten());
    if after.is_none() || after == before {
        bail!(
            "packer finished but added no build to {} (the template needs a manifest post-processor writing manifest.json)",
            manifest_path.display()
        );
    }
    let outputs = outputs::from_manifest(
        &manifest_path,
        &plan.outputs,
        plan.only.as_deref(),
        plan.region.as_deref(),
        plan.local,
    )?;
    let build_dir = plan.place.build_dir();
    outputs::write(&build_dir, &outputs, &plan.outputs.cfn_parameter_key)?;
    eprint!("{}", outputs::summary(&outputs, &build_dir));
    Ok(outputs)
}

/// Never start a build that would lose its credentials half-way.
fn check_ttl(remaining: Option<Duration>, min_ttl: Duration) -> anyhow::Result<()> {
    match remaining {
        Some(left) if left < min_ttl => bail!(
            "the session ends in {} min, sooner than --min-ttl {} min (wait for a fresh session, or lower --min-ttl)",
            left.as_secs() / 60,
            min_ttl.as_secs() / 60
        ),
        _ => Ok(()),
    }
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ending_before_the_minimum_is_refused() {
        let min = Duration::from_secs(1800);
        assert!(check_ttl(Some(Duration::from_secs(600)), min).is_err());
        assert!(check_ttl(Some(Duration::from_secs(3600)), min).is_ok());
        assert!(check_ttl(None, min).is_ok());
    }

    #[test]
    fn variables_must_be_key_value() {
        assert_eq!(parse_var("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(parse_var("novalue").is_err());
        assert!(parse_var("=x").is_err());
    }
}

#[cfg(test)]
mod cli_tests {
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: super::Args,
    }

    #[test]
    fn the_flags_fit_together() {
        Cli::command().debug_assert();
    }
}
