//! Reads packer's `manifest.json` and picks out what this run built: pure, no I/O.
//!
//! Packer appends to the manifest across runs, so only the builds whose `packer_run_uuid`
//! equals `last_run_uuid` belong to the run just finished.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

/// One build of the last run, as the manifest describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Build {
    /// The source's label (`amazon-ebs.NAME` → `NAME`).
    pub(crate) name: String,
    pub(crate) run_uuid: String,
    /// Seconds since the Unix epoch.
    pub(crate) build_time: i64,
    /// Region → AMI ID, every region the AMI was made or copied to.
    pub(crate) amis: BTreeMap<String, String>,
    /// The template's `custom_data`: `region`, `source_ami`, `ami_name` where it gives them.
    pub(crate) custom: BTreeMap<String, String>,
}

/// The run's `last_run_uuid`, if the manifest has one: used to tell a new run from an old.
pub(crate) fn last_run_uuid(text: &str) -> anyhow::Result<Option<String>> {
    let doc = parse(text)?;
    Ok(doc
        .get("last_run_uuid")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Checks that `text` is a manifest packer can append to.
pub(crate) fn check(text: &str) -> anyhow::Result<()> {
    parse(text).map(drop)
}

fn parse(text: &str) -> anyhow::Result<Value> {
    if text.trim().is_empty() {
        bail!("manifest is empty");
    }
    let doc: Value = serde_json::from_str(text).context("manifest is not valid JSON")?;
    if !doc.is_object() || !doc.get("builds").is_some_and(Value::is_array) {
        bail!("manifest has no \"builds\" list");
    }
    Ok(doc)
}

/// The builds of the last run, in manifest order.
pub(crate) fn last_run(text: &str) -> anyhow::Result<Vec<Build>> {
    let doc = parse(text)?;
    let last = doc
        .get("last_run_uuid")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("manifest has no last_run_uuid"))?;
    let builds = doc["builds"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut out = Vec::new();
    for (i, build) in builds.iter().enumerate() {
        if build.get("packer_run_uuid").and_then(Value::as_str) != Some(last) {
            continue;
        }
        out.push(read_build(build).with_context(|| format!("manifest build #{}", i + 1))?);
    }
    if out.is_empty() {
        bail!("manifest has no build from its last run ({last})");
    }
    Ok(out)
}

fn read_build(build: &Value) -> anyhow::Result<Build> {
    let field = |key: &str| {
        build
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("no {key}"))
    };
    let custom = build
        .get("custom_data")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Build {
        name: field("name")?.to_owned(),
        run_uuid: field("packer_run_uuid")?.to_owned(),
        build_time: build
            .get("build_time")
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow!("no build_time"))?,
        amis: artifact_amis(field("artifact_id")?)?,
        custom,
    })
}

/// `us-east-1:ami-1,us-west-2:ami-2` → {us-east-1: ami-1, us-west-2: ami-2}.
pub(crate) fn artifact_amis(artifact_id: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut amis = BTreeMap::new();
    for pair in artifact_id
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (region, ami) = pair
            .split_once(':')
            .filter(|(r, a)| !r.is_empty() && a.starts_with("ami-"))
            .ok_or_else(|| anyhow!("artifact_id {artifact_id:?} is not region:ami pairs"))?;
        amis.insert(region.to_owned(), ami.to_owned());
    }
    if amis.is_empty() {
        bail!("artifact_id is empty");
    }
    Ok(amis)
}

/// The one build the outputs describe: the one named by `only`, else the run's only build.
pub(crate) fn pick(builds: Vec<Build>, only: Option<&str>) -> anyhow::Result<Build> {
    let names = || {
        builds
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match only {
        Some(want) => {
            // `--only` may carry packer's `amazon-ebs.` prefix; the manifest has the label.
            let want = want.rsplit('.').next().unwrap_or(want);
            let found = builds.iter().position(|b| b.name == want);
            match found {
                Some(i) => Ok(builds[i].clone()),
                None => bail!(
                    "the last run has no build named {want:?} (it has: {})",
                    names()
                ),
            }
        }
        None if builds.len() == 1 => Ok(builds.into_iter().next().expect("one build")),
        None => bail!(
            "the last run made {} builds ({}): choose one with --only NAME",
            builds.len(),
            names()
        ),
    }
}

impl Build {
    /// The region packer built in: `custom_data.region`, else `hint` (the `--region`
    /// given), else the only region there is.
    pub(crate) fn build_region(&self, hint: Option<&str>) -> anyhow::Result<String> {
        let region = self
            .custom
            .get("region")
            .map(String::as_str)
            .or(hint)
            .or_else(|| match self.amis.len() {
                1 => self.amis.keys().next().map(String::as_str),
                _ => None,
            })
            .ok_or_else(|| {
                anyhow!(
                    "the manifest does not say which of {} packer built in (pass --region)",
                    self.amis.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
        if !self.amis.contains_key(region) {
            bail!(
                "build region {region} has no AMI in the manifest (it has: {})",
                self.amis.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        Ok(region.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_RUNS: &str = r#"{
      "builds": [
        {"name": "ecs", "builder_type": "amazon-ebs", "build_time": 1700000000, "files": null,
         "artifact_id": "us-east-1:ami-old", "packer_run_uuid": "run-1",
         "custom_data": {"region": "us-east-1"}},
        {"name": "ecs", "builder_type": "amazon-ebs", "build_time": 1700000100, "files": null,
         "artifact_id": "eu-west-1:ami-copy,us-east-1:ami-new", "packer_run_uuid": "run-2",
         "custom_data": {"region": "us-east-1", "source_ami": "ami-src", "n": 3}}
      ],
      "last_run_uuid": "run-2"
    }"#;

    #[test]
    fn only_the_last_runs_builds_are_taken() {
        let builds = last_run(TWO_RUNS).unwrap();
        assert_eq!(builds.len(), 1);
        let build = &builds[0];
        assert_eq!(build.run_uuid, "run-2");
        assert_eq!(build.build_time, 1700000100);
        assert_eq!(
            build.amis,
            BTreeMap::from([
                ("eu-west-1".into(), "ami-copy".into()),
                ("us-east-1".into(), "ami-new".into())
            ])
        );
        assert_eq!(build.custom.get("source_ami").unwrap(), "ami-src");
        assert!(!build.custom.contains_key("n"), "non-strings are left out");
    }

    #[test]
    fn a_missing_empty_or_corrupt_manifest_is_refused() {
        assert!(last_run("").unwrap_err().to_string().contains("empty"));
        assert!(last_run("{\"builds\": [").is_err());
        assert!(last_run("[]").is_err());
        let no_match =
            r#"{"builds": [{"name": "a", "packer_run_uuid": "x"}], "last_run_uuid": "y"}"#;
        assert!(
            last_run(no_match)
                .unwrap_err()
                .to_string()
                .contains("no build from its last run")
        );
        assert!(check("{\"builds\": []}").is_ok());
        assert!(check("not json").is_err());
    }

    #[test]
    fn artifact_ids_are_split_into_regions() {
        assert_eq!(
            artifact_amis("us-east-1:ami-1,us-west-2:ami-2").unwrap(),
            BTreeMap::from([
                ("us-east-1".into(), "ami-1".into()),
                ("us-west-2".into(), "ami-2".into())
            ])
        );
        assert!(artifact_amis("ami-1").is_err());
        assert!(artifact_amis("").is_err());
    }

    #[test]
    fn the_build_region_comes_from_custom_data_then_the_flag_then_the_only_one() {
        let mut build = last_run(TWO_RUNS).unwrap().remove(0);
        assert_eq!(build.build_region(Some("eu-west-1")).unwrap(), "us-east-1");
        build.custom.clear();
        assert_eq!(build.build_region(Some("eu-west-1")).unwrap(), "eu-west-1");
        let err = build.build_region(None).unwrap_err().to_string();
        assert!(err.contains("pass --region"), "{err}");
        assert!(build.build_region(Some("ap-south-1")).is_err());
        build.amis.remove("eu-west-1");
        assert_eq!(build.build_region(None).unwrap(), "us-east-1");
    }

    #[test]
    fn several_builds_need_a_name() {
        let build = |name: &str| Build {
            name: name.into(),
            run_uuid: "r".into(),
            build_time: 0,
            amis: BTreeMap::new(),
            custom: BTreeMap::new(),
        };
        let builds = vec![build("x86"), build("arm")];
        let err = pick(builds.clone(), None).unwrap_err().to_string();
        assert!(err.contains("--only"), "{err}");
        assert_eq!(pick(builds.clone(), Some("arm")).unwrap().name, "arm");
        assert_eq!(
            pick(builds.clone(), Some("amazon-ebs.x86")).unwrap().name,
            "x86"
        );
        assert!(pick(builds, Some("riscv")).is_err());
    }
}
