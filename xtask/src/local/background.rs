//! The rehearsal's own processes and folder: started in process groups of their own and
//! stopped, with everything they started, whatever way the rehearsal ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A folder of the rehearsal's own under `target/`, removed when dropped.
pub(crate) struct Workdir {
    path: PathBuf,
}

impl Workdir {
    pub(crate) fn create() -> anyhow::Result<Workdir> {
        let path = crate::project_root()
            .join("target")
            .join("local")
            .join(format!("run-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("remove stale {}", path.display()))?;
        }
        std::fs::create_dir_all(&path).with_context(|| format!("create {}", path.display()))?;
        Ok(Workdir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A process started in a process group of its own (so a Ctrl-C at the terminal reaches
/// packer, not the stand-ins packer still needs to clean up), stopped with its whole group
/// when dropped.
pub(crate) struct Background {
    child: Child,
    name: &'static str,
    /// Where its stdout and stderr go, to quote when it dies early.
    log: PathBuf,
}

impl Background {
    pub(crate) fn spawn(
        name: &'static str,
        mut command: Command,
        log: PathBuf,
    ) -> anyhow::Result<Background> {
        use std::os::unix::process::CommandExt;
        let file =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        // SAFETY: prctl is async-signal-safe. Should xtask die without running its
        // destructors (SIGKILL), the kernel stops the stand-in too.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        Ok(Background { child, name, log })
    }

    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            // The log dies with the rehearsal's folder: say what it said now.
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let said: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
            bail!(
                "{} exited early ({status}): {}",
                self.name,
                said[said.len().saturating_sub(3)..].join(" | ")
            );
        }
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub(super) fn wait_for_port(port: u16, what: &mut Background) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        what.check_running()?;
        if Instant::now() > deadline {
            bail!(
                "{} did not listen on 127.0.0.1:{port} within 20 s",
                what.name
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stand_in_that_dies_early_is_reported_with_what_it_said() {
        let dir = std::env::temp_dir().join(format!("xtask-bg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "echo starting; echo 'unshare: permission denied' >&2; exit 3",
        ]);
        let mut early = Background::spawn("the test stand-in", command, dir.join("log")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            if let Err(err) = early.check_running() {
                break err.to_string();
            }
            assert!(Instant::now() < deadline, "the stand-in did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            err,
            "the test stand-in exited early (exit status: 3): starting | unshare: permission denied"
        );
        drop(early);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
