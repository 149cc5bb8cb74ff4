//! Runs a child program in the foreground the way a shell would, so that signals reach it
//! and it is never orphaned: `packer build` (which cleans up its AWS resources only when it
//! is interrupted, not when it is killed or loses its reader) and `cargo xtask exec`.
//!
//! - stdio is inherited, and the child stays in the terminal's foreground process group,
//!   so a Ctrl-C at the terminal reaches it directly;
//! - while the child runs, SIGINT does nothing to xtask (a no-op handler rather than
//!   `SIG_IGN`, which the child would inherit), so xtask lives to wait for the clean-up;
//! - SIGTERM and SIGHUP sent to xtask are passed on to the child;
//! - xtask waits for the child and hands its exit status on.

use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Context;

/// The running child's pid, for the signal handler; 0 when there is none.
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn ignore(_: libc::c_int) {}

extern "C" fn pass_on(signal: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
    }
}

fn set_handler(signal: libc::c_int, handler: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: the handlers only touch an atomic and call kill, both async-signal-safe.
    unsafe { libc::signal(signal, handler) }
}

/// Set once a SIGINT, SIGTERM or SIGHUP arrived while [`catch_interrupts`] was in force.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn remember(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// For a command that holds resources of its own between children (the local rehearsal's
/// moto and sandbox): from now on an interrupt is remembered instead of killing xtask, so
/// the command can stop at its next [`check_interrupted`] and tear down what it started.
pub(crate) fn catch_interrupts() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        set_handler(signal, remember as *const () as libc::sighandler_t);
    }
}

/// An error once an interrupt was caught by [`catch_interrupts`].
pub(crate) fn check_interrupted() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        anyhow::bail!("interrupted");
    }
    Ok(())
}

/// Runs `command` to completion with signals handled as described above.
pub(crate) fn run(mut command: Command) -> anyhow::Result<ExitStatus> {
    let program = command.get_program().to_string_lossy().into_owned();
    // Handlers go in before the child exists, so no signal finds xtask unprotected; exec
    // resets caught signals to their defaults, so the child gets none of them.
    let old = [
        (
            libc::SIGINT,
            set_handler(libc::SIGINT, ignore as *const () as libc::sighandler_t),
        ),
        (
            libc::SIGTERM,
            set_handler(libc::SIGTERM, pass_on as *const () as libc::sighandler_t),
        ),
        (
            libc::SIGHUP,
            set_handler(libc::SIGHUP, pass_on as *const () as libc::sighandler_t),
        ),
    ];
    let result = command
        .spawn()
        .with_context(|| format!("start {program}"))
        .and_then(|mut child| {
            CHILD.store(child.id() as i32, Ordering::SeqCst);
            let status = child.wait().with_context(|| format!("wait for {program}"));
            CHILD.store(0, Ordering::SeqCst);
            status
        });
    for (signal, handler) in old {
        set_handler(signal, handler);
    }
    result
}

/// The exit code to hand on for a child's status: its code, or 128 + the signal that
/// ended it, as shells report it.
pub(crate) fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(signal)) => (128 + signal).clamp(0, 255) as u8,
        (None, None) => 1,
    }
}
