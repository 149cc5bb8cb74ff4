//! The outputs' text, without I/O: `ami.json`, `ami.env`, `cfn-parameters.json`, the
//! `$GITHUB_OUTPUT` lines and the summary on stderr.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::Outputs;

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
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
    fn the_summary_names_the_ami_and_its_copies() {
        let text = summary(&sample(), Path::new("build"));
        assert!(text.contains("ami-new"), "{text}");
        assert!(text.contains("ami-copy (eu-west-1)"), "{text}");
        assert!(text.contains("build/v1.2.0-3-gabc1234"), "{text}");
    }
}
