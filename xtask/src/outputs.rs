//! The build's outputs under `build/` (and `build/<tag>/`), made from `manifest.json`; and
//! `cargo xtask outputs`, which makes them for a build run by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;
use xshell::Shell;

use crate::{git, manifest, timefmt};

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
pub(crate) fn ami_json(o: &Outputs) -> String {
    let doc = json!({
        "tag": o.tag,
        "commit": o.commit,
        "build_time": o.build_time,
        "packer_run_uuid": o.packer_run_uuid,
        "build": o.build,
        "region": o.region,
        "ami_id": o.ami_id,
        "amis": o.amis,
        "name": o.name,
        "source_ami": o.source_ami,
        "local": o.local,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// `build/ami.env`: sourceable by a shell, readable by `docker --env-file`.
pub(crate) fn ami_env(o: &Outputs) -> String {
    format!(
        "AMI_ID={}\nAMI_REGION={}\nAMI_IDS={}\n",
        o.ami_id,
        o.region,
        o.amis
            .iter()
            .map(|(region, ami)| format!("{region}={ami}"))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// `build/cfn-parameters.json`: `aws cloudformation deploy --parameter-overrides file://…`.
pub(crate) fn cfn_parameters(o: &Outputs, key: &str) -> String {
    let doc = json!([{ "ParameterKey": key, "ParameterValue": o.ami_id }]);
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The lines appended to `$GITHUB_OUTPUT`: `name=value`, each value on one line.
pub(crate) fn github_output(o: &Outputs) -> String {
    format!(
        "ami_id={}\nregion={}\namis={}\n",
        o.ami_id,
        o.region,
        serde_json::to_string(&o.amis).unwrap_or_default()
    )
}

/// The table printed on stderr when the outputs are written.
pub(crate) fn summary(o: &Outputs, build_dir: &Path) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "\nAMI built{}:",
        if o.local { " (local rehearsal)" } else { "" }
    );
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(text, "  {k:<10} {v}");
    };
    row("ami_id", &o.ami_id);
    row("region", &o.region);
    for (region, ami) in o.amis.iter().filter(|(r, _)| **r != o.region) {
        row("copy", &format!("{ami} ({region})"));
    }
    row("tag", &o.tag);
    row("commit", &o.commit);
    row("outputs", &build_dir.join(&o.tag).display().to_string());
    text
}

/// Writes the three files under `build_dir` and `build_dir/<tag>/`, then appends to
/// `$GITHUB_OUTPUT` when it is set. Every file is written to a temporary name first and
/// renamed only when all of them are ready, so a failure leaves the old outputs whole.
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

    fn sample() -> Outputs {
        Outputs {
            tag: "v1.2.0-3-gabc1234".into(),
            commit: "abc1234def".into(),
            build_time: "2026-11-25T17:25:49Z".into(),
            packer_run_uuid: "run-2".into(),
            build: "ecs".into(),
            region: "us-east-1".into(),
            ami_id: "ami-new".into(),
            amis: BTreeMap::from([
                ("eu-west-1".into(), "ami-copy".into()),
                ("us-east-1".into(), "ami-new".into()),
            ]),
            name: Some("packer-ecs-2026".into()),
            source_ami: None,
            local: false,
        }
    }

    #[test]
    fn ami_json_has_every_documented_field() {
        let doc: serde_json::Value = serde_json::from_str(&ami_json(&sample())).unwrap();
        assert_eq!(
            doc,
            json!({
                "tag": "v1.2.0-3-gabc1234",
                "commit": "abc1234def",
                "build_time": "2026-11-25T17:25:49Z",
                "packer_run_uuid": "run-2",
                "build": "ecs",
                "region": "us-east-1",
                "ami_id": "ami-new",
                "amis": {"eu-west-1": "ami-copy", "us-east-1": "ami-new"},
                "name": "packer-ecs-2026",
                "source_ami": null,
                "local": false,
            })
        );
    }

    #[test]
    fn the_env_file_lists_every_region() {
        assert_eq!(
            ami_env(&sample()),
            "AMI_ID=ami-new\nAMI_REGION=us-east-1\nAMI_IDS=eu-west-1=ami-copy,us-east-1=ami-new\n"
        );
    }

    #[test]
    fn cloudformation_parameters_use_the_chosen_key() {
        let doc: serde_json::Value =
            serde_json::from_str(&cfn_parameters(&sample(), "EcsAmi")).unwrap();
        assert_eq!(
            doc,
            json!([{"ParameterKey": "EcsAmi", "ParameterValue": "ami-new"}])
        );
    }

    #[test]
    fn github_output_is_one_name_value_line_each() {
        assert_eq!(
            github_output(&sample()),
            "ami_id=ami-new\nregion=us-east-1\namis={\"eu-west-1\":\"ami-copy\",\"us-east-1\":\"ami-new\"}\n"
        );
    }

    #[test]
    fn tags_must_name_one_folder() {
        assert!(check_tag("v1.2.0-dirty").is_ok());
        for bad in ["", "..", "a/b", ".hidden", "a b"] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
        assert_eq!(sanitize_tag("release/1.0-3-gabc"), "release-1.0-3-gabc");
    }

    #[test]
    fn the_summary_names_the_ami_and_its_copies() {
        let text = summary(&sample(), Path::new("build"));
        assert!(text.contains("ami-new"), "{text}");
        assert!(text.contains("ami-copy (eu-west-1)"), "{text}");
        assert!(text.contains("build/v1.2.0-3-gabc1234"), "{text}");
    }
}
