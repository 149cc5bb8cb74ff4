//! Interrupting `cargo xtask build`: a Ctrl-C at the terminal or a SIGTERM to xtask lets
//! packer cancel the build and delete what it made in AWS (here moto), and xtask fails.

mod build_support;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use build_support::*;

/// A build whose provisioner sleeps, started in its own process group as a shell starts a
/// foreground job; its stdout and stderr are collected as they come.
struct SlowBuild {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl SlowBuild {
    fn start(moto: &moto::Moto, home: &TempDir, root: &TempDir) -> SlowBuild {
        let mut args = build_args(moto, root.path());
        args.extend(["--var".into(), "sleep_seconds=120".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = xtask(home.path(), None, &args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setpgid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setpgid(0, 0) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let mut child = cmd.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        SlowBuild { child, output }
    }

    fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    fn wait_for_output(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.output().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "xtask ended ({status}) before {needle:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "xtask did not end:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SlowBuild {
    fn drop(&mut self) {
        // Whatever happened, leave no process of the test behind.
        let pgid = self.child.id() as i32;
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

fn interrupted_build_cleans_up(send: impl FnOnce(u32)) {
    let moto = moto::Moto::start(&python()).unwrap();
    let home = TempDir::new("home");
    let root = TempDir::new("root");
    let mut build = SlowBuild::start(&moto, &home, &root);
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
