//! `cargo xtask creds` and `exec` against a real moto STS, checked through moto's
//! recorder, a real bash and the real AWS CLI.

#[path = "../src/moto.rs"]
#[allow(dead_code)]
mod moto;
mod support;

use support::*;

#[test]
fn every_assume_role_argument_of_the_profile_reaches_sts() {
    let moto = moto::Moto::start(&python()).unwrap();
    moto.start_recording().unwrap();
    let home = Home::new("");
    let (out, stdout, stderr) = run(home.xtask(
        &moto.endpoint(),
        &["creds", "--profile", "build", "--mfa-token", "123456"],
    ));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("export AWS_SESSION_TOKEN="), "{stdout}");
    let calls = sts_calls(&moto.recording().unwrap());
    let call = calls
        .iter()
        .find(|c| c["Action"] == "AssumeRole")
        .unwrap_or_else(|| panic!("no AssumeRole in {calls:?}"));
    assert_eq!(call["RoleArn"], ROLE);
    assert_eq!(call["RoleSessionName"], "alice-build");
    assert_eq!(call["SerialNumber"], SERIAL);
    assert_eq!(call["TokenCode"], "123456");
    assert_eq!(call["DurationSeconds"], "1800");
    assert_eq!(call["ExternalId"], "ext-42");
}
