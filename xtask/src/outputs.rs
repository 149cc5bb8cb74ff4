//! The build's outputs under `build/` (and `build/<tag>/`), made from `manifest.json`; and
//! `cargo xtask outputs`, which makes them for a build run by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{git, manifest, timefmt};

mod render;

pub(crate) use render::summary;
use render::{ami_env, ami_json, cfn_parameters, github_output};

/// What goes into the outputs besides the manifest.
#[derive(clap::Args, Clone, Debug)]
pub(crate) struct OutputOpts {
    /// Name of this build's copy of the outputs, `build/<TAG>/` (default: `git describe
    /// --tags --always --dirty`, else the UTC time).
    #[arg(long, value_name = "TAG")]
    pub(crate) tag: Option<String>,
    /// The CloudFormation parameter `build/cfn-parameters.json` sets to the AMI ID.
    #[arg(long, value_name = "KEY", default_value = "AmiId")]
    pub(crate) cfn_parameter_key: String,
}

/// Where packer runs and the outputs go; the repository root unless a test moves it.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct Place {
    /// The folder packer runs in, holding `manifest.json` and `build/` (default: the
    /// repository root).
    #[arg(long, value_name = "DIR", hide = true)]
    pub(crate) root: Option<PathBuf>,
}

impl Place {
    pub(crate) fn dir(&self) -> PathBuf {
        self.root.clone().unwrap_or_else(crate::project_root)
    }
    pub(crate) fn manifest(&self) -> PathBuf {
        self.dir().join("manifest.json")
    }
    pub(crate) fn build_dir(&self) -> PathBuf {
        self.dir().join("build")
    }
}

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    opts: OutputOpts,
    #[command(flatten)]
    place: Place,
    /// The build to describe when the last run made several (its source name).
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    /// The region packer built in, when the manifest's custom_data does not say.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let outputs = from_manifest(
            &self.place.manifest(),
            &self.opts,
            self.only.as_deref(),
            self.region.as_deref(),
            false,
        )?;
        write(
            &self.place.build_dir(),
            &outputs,
            &self.opts.cfn_parameter_key,
        )?;
        eprint!("{}", summary(&outputs, &self.place.build_dir()));
        Ok(())
    }
}

/// Everything the outputs say about one AMI build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outputs {
    pub(crate) tag: String,
    pub(crate) commit: String,
    pub(crate) build_time: String,
    pub(crate) packer_run_uuid: String,
    pub(crate) build: String,
    pub(crate) region: String,
    pub(crate) ami_id: String,
    pub(crate) amis: BTreeMap<String, String>,
    pub(crate) name: Option<String>,
    pub(crate) source_ami: Option<String>,
    /// Made by the local rehearsal against stand-ins, not in AWS.
    pub(crate) local: bool,
}

/// Reads the manifest and gathers the outputs of its last run; writes nothing.
pub(crate) fn from_manifest(
    path: &Path,
    opts: &OutputOpts,
    only: Option<&str>,
    region: Option<&str>,
    local: bool,
) -> anyhow::Result<Outputs> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} does not exist (run `cargo xtask build`, or packer with the manifest post-processor)",
            path.display()
        ),
        Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
    };
    let build = manifest::last_run(&text)
        .and_then(|builds| manifest::pick(builds, only))
        .with_context(|| format!("{} cannot be used", path.display()))?;
    let region = build.build_region(region)?;
    let repo = crate::project_root();
    let tag = match &opts.tag {
        Some(tag) => check_tag(tag)?.to_owned(),
        None => git::describe(&repo)
            .map(|d| sanitize_tag(&d))
            .unwrap_or_else(|| timefmt::compact(timefmt::now())),
    };
    let commit = build
        .custom
        .get("build_commit")
        .cloned()
        .or_else(|| git::commit(&repo))
        .unwrap_or_else(|| "unknown".into());
    Ok(Outputs {
        tag,
        commit,
        build_time: timefmt::rfc3339(build.build_time),
        packer_run_uuid: build.run_uuid,
        ami_id: build.amis[&region].clone(),
        region,
        name: build.custom.get("ami_name").cloned(),
        source_ami: build.custom.get("source_ami").cloned(),
        build: build.name,
        amis: build.amis,
        local,
    })
}

/// A `--tag` must be usable as one folder name.
pub(crate) fn check_tag(tag: &str) -> anyhow::Result<&str> {
    let ok = !tag.is_empty()
        && !tag.starts_with('.')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c));
    if !ok {
        bail!("tag {tag:?} cannot name a folder (use letters, digits, '.', '_', '+', '-')");
    }
    Ok(tag)
}

/// `git describe` may give `release/1.0-3-gabc`: keep it readable as one folder name.
fn sanitize_tag(described: &str) -> String {
    let tag: String = described
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    tag.trim_start_matches('.').to_owned()
}

/// `build/ami.json`.
pub(crate) fn write(build_dir: &Path, o: &Outputs, cfn_key: &str) -> anyhow::Result<()> {
    let files = [
        ("ami.json", ami_json(o)),
        ("ami.env", ami_env(o)),
        ("cfn-parameters.json", cfn_parameters(o, cfn_key)),
    ];
    let tagged = build_dir.join(&o.tag);
    std::fs::create_dir_all(&tagged).with_context(|| format!("create {}", tagged.display()))?;
    let mut staged = Vec::new();
    for dir in [&tagged, &build_dir.to_path_buf()] {
        for (name, text) in &files {
            let path = dir.join(name);
            let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            if let Err(err) = std::fs::write(&temp, text) {
                for (temp, _) in &staged {
                    let _ = std::fs::remove_file(temp);
                }
                return Err(err).with_context(|| format!("write {}", temp.display()));
            }
            staged.push((temp, path));
        }
    }
    for (temp, path) in &staged {
        std::fs::rename(temp, path).with_context(|| format!("write {}", path.display()))?;
    }
    if let Some(file) = std::env::var_os("GITHUB_OUTPUT").filter(|f| !f.is_empty()) {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&file)
            .and_then(|mut f| f.write_all(github_output(o).as_bytes()))
            .with_context(|| {
                format!("append to $GITHUB_OUTPUT ({})", Path::new(&file).display())
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_must_name_one_folder() {
        assert!(check_tag("v1.2.0-dirty").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
        assert_eq!(sanitize_tag("release/1.0-3-gabc"), "release-1.0-3-gabc");
    }
}
