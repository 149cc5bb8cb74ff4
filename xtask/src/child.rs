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

/// A signal that arrived after the child was started but before its pid was known here;
/// 0 when there is none. Whoever swaps it out sends it, so it is sent exactly once.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn pass_on(signal: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        flush_pending(pid);
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, signal) };
        return;
    }
    PENDING.store(signal, Ordering::SeqCst);
    // The pid may have been stored in the meantime, after `run` looked for pending ones.
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        flush_pending(pid);
    }
}

/// Sends the pending signal, if any, to `pid`: whoever swaps it out sends it, so it is
/// sent exactly once.
fn flush_pending(pid: libc::pid_t) {
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, pending) };
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
    PENDING.store(0, Ordering::SeqCst);
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
            let pid = child.id() as i32;
            CHILD.store(pid, Ordering::SeqCst);
            // A SIGTERM that came while spawn() was returning is not lost.
            flush_pending(pid);
            let status = child.wait().with_context(|| format!("wait for {program}"));
            CHILD.store(0, Ordering::SeqCst);
            status
        });
    for (signal, handler) in old {
        set_handler(signal, handler);
    }
    // A signal that came with no child to take it (the start failed, or the child had just
    // ended) is xtask's own again: act on it as xtask would have without a child.
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        // SAFETY: raise has no memory-safety preconditions.
        unsafe { libc::raise(pending) };
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
