//! `cargo xtask build --profile … --mfa-token …` with a role+MFA profile: the session is
//! assumed with the code, reaches packer only through its environment, and builds the AMI.

mod build_support;

use build_support::*;

const BASE_KEY: &str = "AKIDBASEPROFILE";
const BASE_SECRET: &str = "base-profile-secret";
const MFA_CODE: &str = "123456";

#[test]
fn a_role_with_mfa_is_assumed_and_its_session_reaches_packer_only_through_the_environment() {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let aws = home.path().join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("config"),
        "[profile build]\n\
         role_arn = arn:aws:iam::123456789012:role/packer-build\n\
         mfa_serial = arn:aws:iam::123456789012:mfa/alice\n\
         source_profile = base\n\
         region = us-east-1\n\
         \n\
         [profile base]\n\
         region = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!("[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"),
    )
    .unwrap();
    moto.start_recording().unwrap();

    let mut args = build_args(&moto, root.path());
    args.extend(
        [
            "--profile",
            "build",
            "--mfa-token",
            MFA_CODE,
            "--var",
            "sleep_seconds=3",
            "--tag",
            "role",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = xtask(home.path(), None, &args);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "someone-else")
        .env("AWS_ENDPOINT_URL_STS", moto.endpoint());
    let mut build = SlowBuild::start(cmd);
    build.wait_for_output("provisioner-started");

    // Packer, while it runs: its command line and its environment.
    let packer = children(build.child.id());
    assert_eq!(packer.len(), 1);
    let argv = cmdline(packer[0]);
    let environ: Vec<String> = std::fs::read(format!("/proc/{}/environ", packer[0]))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split('\0')
                .map(str::to_owned)
                .collect()
        })
        .unwrap();
    let var = |name: &str| {
        environ
            .iter()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .map(str::to_owned)
    };
    let key = var("AWS_ACCESS_KEY_ID").expect("the session's key id");
    let secret = var("AWS_SECRET_ACCESS_KEY").expect("the session's secret");
    let token = var("AWS_SESSION_TOKEN").expect("the session's token");
    assert_ne!(
        key, BASE_KEY,
        "packer got the role's session, not the source keys"
    );
    assert_eq!(var("AWS_PROFILE"), None, "AWS_PROFILE is removed");
    for secret in [secret.as_str(), token.as_str(), MFA_CODE, BASE_SECRET] {
        assert!(!argv.contains(secret), "a secret in packer's argv: {argv}");
    }

    let status = build.wait();
    let output = build.output();
    assert!(status.success(), "{output}");
    for secret in [secret.as_str(), token.as_str(), BASE_SECRET] {
        assert!(!output.contains(secret), "a secret in the output");
    }

    let recording = recorded_requests(&moto.recording().unwrap());
    let assume = recording
        .iter()
        .find(|line| line.contains("Action=AssumeRole"))
        .unwrap_or_else(|| panic!("no AssumeRole recorded: {recording:?}"));
    assert!(assume.contains(MFA_CODE), "{assume}");
    assert!(
        assume.contains("mfa%2Falice") || assume.contains("mfa/alice"),
        "{assume}"
    );
    // Packer's EC2 calls were signed with the session's key.
    assert!(
        recording
            .iter()
            .any(|l| l.contains("Action=RunInstances") && l.contains(&key)),
        "{recording:?}"
    );

    let ami = read_json(&root.path().join("build/role/ami.json"));
    let ami_id = ami["ami_id"].as_str().unwrap();
    let images = own_images(&moto, "us-east-1");
    assert!(images.contains(ami_id), "{images}");
    assert!(images.contains(&git_head()), "{images}");
}
