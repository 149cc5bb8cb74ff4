//! `cargo xtask build` end to end: Debian's packer against a moto server, with the test
//! template, and the outputs it leaves under `build/`.

mod build_support;

use build_support::*;

#[test]
fn a_build_without_a_profile_makes_the_ami_and_names_it_in_the_outputs() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let github_output = root.path().join("github_output");
    std::fs::write(&github_output, "earlier=kept\n").unwrap();
    let mut args = build_args(&moto, root.path());
    args.extend(["--tag".into(), "t1".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = xtask(home.path(), None, &args)
        .env("GITHUB_OUTPUT", &github_output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let ami = read_json(&root.path().join("build/ami.json"));
    let ami_id = ami["ami_id"].as_str().unwrap().to_owned();
    assert!(ami_id.starts_with("ami-"), "{ami}");
    assert_eq!(ami["region"], "us-east-1");
    assert_eq!(ami["tag"], "t1");
    assert_eq!(ami["commit"], git_head());
    assert_eq!(ami["source_ami"], "ami-03cf127a");
    assert_eq!(ami["local"], false);
    assert_eq!(ami["amis"], serde_json::json!({ "us-east-1": ami_id }));
    assert_eq!(read_json(&root.path().join("build/t1/ami.json")), ami);

    // The AMI is real in moto, tagged with the commit it was built from.
    let images = own_images(&moto, "us-east-1");
    assert!(images.contains(&ami_id), "{images}");
    assert!(images.contains("<key>build_commit</key>"), "{images}");
    assert!(
        images.contains(&format!("<value>{}</value>", git_head())),
        "{images}"
    );
    assert!(
        images.contains(&format!("<name>{}</name>", ami["name"].as_str().unwrap())),
        "{images}"
    );

    let env = std::fs::read_to_string(root.path().join("build/ami.env")).unwrap();
    assert_eq!(
        env,
        format!("AMI_ID={ami_id}\nAMI_REGION=us-east-1\nAMI_IDS=us-east-1={ami_id}\n")
    );
    let cfn = read_json(&root.path().join("build/t1/cfn-parameters.json"));
    assert_eq!(
        cfn,
        serde_json::json!([{"ParameterKey": "AmiId", "ParameterValue": ami_id}])
    );
    assert_eq!(
        std::fs::read_to_string(&github_output).unwrap(),
        format!(
            "earlier=kept\nami_id={ami_id}\nregion=us-east-1\namis={{\"us-east-1\":\"{ami_id}\"}}\n"
        )
    );
    assert!(
        stderr.contains(&ami_id),
        "the summary names the AMI: {stderr}"
    );
    // Packer cleaned up after itself on the way.
    assert_eq!(running_instances(&moto), 0);
    assert_eq!(packer_leftovers(&moto), (0, 0));
}

#[test]
fn every_region_of_this_run_is_in_the_outputs_and_earlier_runs_are_not() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let mut args = build_args(&moto, root.path());
    args.extend(["--var".into(), r#"ami_regions=["us-west-2"]"#.into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let first = xtask(home.path(), None, &args).output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let first = read_json(&root.path().join("build/ami.json"));

    let second = xtask(home.path(), None, &args).output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let ami = read_json(&root.path().join("build/ami.json"));

    let amis = ami["amis"].as_object().unwrap();
    assert_eq!(amis.keys().collect::<Vec<_>>(), ["us-east-1", "us-west-2"]);
    assert_eq!(ami["ami_id"], amis["us-east-1"]);
    assert_ne!(ami["packer_run_uuid"], first["packer_run_uuid"]);
    for region in ["us-east-1", "us-west-2"] {
        assert_ne!(
            amis[region], first["amis"][region],
            "{region} is this run's copy"
        );
        let images = own_images(&moto, region);
        assert!(images.contains(amis[region].as_str().unwrap()), "{images}");
    }
    // The manifest kept both runs: the selection, not a fresh file, made the difference.
    let manifest = read_json(&root.path().join("manifest.json"));
    assert_eq!(manifest["builds"].as_array().unwrap().len(), 2);
    let env = std::fs::read_to_string(root.path().join("build/ami.env")).unwrap();
    assert!(
        env.contains(&format!(
            "AMI_IDS=us-east-1={},us-west-2={}",
            amis["us-east-1"].as_str().unwrap(),
            amis["us-west-2"].as_str().unwrap()
        )),
        "{env}"
    );
}

#[test]
fn a_corrupt_manifest_stops_the_build_before_any_instance_starts() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    std::fs::write(root.path().join("manifest.json"), "{\"builds\": [").unwrap();
    let args = build_args(&moto, root.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = xtask(home.path(), None, &args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("cargo xtask clean"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(all_instances(&moto), 0);
    assert!(!root.path().join("build").exists());
}

#[test]
fn outputs_are_made_again_from_the_manifest_and_clean_removes_them() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let args = build_args(&moto, root.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = xtask(home.path(), None, &args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = read_json(&root.path().join("build/ami.json"));
    std::fs::remove_dir_all(root.path().join("build")).unwrap();

    let rootarg = root.path().display().to_string();
    let out = xtask(
        home.path(),
        None,
        &[
            "outputs",
            "--root",
            &rootarg,
            "--tag",
            "by-hand",
            "--cfn-parameter-key",
            "EcsAmi",
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = read_json(&root.path().join("build/by-hand/ami.json"));
    assert_eq!(again["ami_id"], built["ami_id"]);
    assert_eq!(again["tag"], "by-hand");
    let cfn = read_json(&root.path().join("build/cfn-parameters.json"));
    assert_eq!(cfn[0]["ParameterKey"], "EcsAmi");

    let out = xtask(home.path(), None, &["clean", "--root", &rootarg])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.path().join("build").exists());
    assert!(!root.path().join("manifest.json").exists());

    let out = xtask(home.path(), None, &["outputs", "--root", &rootarg])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("manifest.json does not exist"), "{stderr}");
    assert!(!root.path().join("build").exists(), "nothing written");
}
