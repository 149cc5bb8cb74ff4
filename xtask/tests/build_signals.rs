//! Interrupting `cargo xtask build`: a Ctrl-C at the terminal or a SIGTERM to xtask lets
//! packer cancel the build and delete what it made in AWS (here moto), and xtask fails.

mod build_support;

use build_support::*;

fn interrupted_build_cleans_up(send: impl FnOnce(u32)) {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let mut args = build_args(&moto, root.path());
    args.extend(["--var".into(), "sleep_seconds=120".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut build = SlowBuild::start(xtask(home.path(), None, &args));
    build.wait_for_output("provisioner-started");
    assert_eq!(running_instances(&moto), 1, "the build instance is up");
    let packer: Vec<u32> = children(build.child.id());
    assert_eq!(packer.len(), 1, "xtask runs packer as its child");

    send(build.child.id());
    let status = build.wait();

    let output = build.output();
    assert!(!status.success(), "{output}");
    assert!(output.contains("Cancelling build"), "{output}");
    assert!(
        !std::path::Path::new(&format!("/proc/{}", packer[0])).exists(),
        "packer was waited for, not orphaned"
    );
    assert_eq!(running_instances(&moto), 0, "{output}");
    assert_eq!(packer_leftovers(&moto), (0, 0), "{output}");
    assert!(!root.path().join("build").exists(), "no outputs");
}

#[test]
fn ctrl_c_at_the_terminal_lets_packer_clean_up_and_the_build_fails() {
    interrupted_build_cleans_up(|xtask| {
        // A terminal sends SIGINT to the whole foreground process group.
        assert_eq!(unsafe { libc::kill(-(xtask as i32), libc::SIGINT) }, 0);
    });
}

#[test]
fn sigterm_to_xtask_reaches_packer_which_cleans_up_and_the_build_fails() {
    interrupted_build_cleans_up(|xtask| {
        assert_eq!(unsafe { libc::kill(xtask as i32, libc::SIGTERM) }, 0);
    });
}
