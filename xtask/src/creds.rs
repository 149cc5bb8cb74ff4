//! `cargo xtask creds`: prints the session for a shell to `eval` (or as JSON for
//! `credential_process`); secrets go to stdout only, a one-line summary to stderr.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use xshell::Shell;

use crate::export::{self, Format};
use crate::session::{self, Opts, Session};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    opts: Opts,
    /// How to print the session.
    #[arg(long, value_enum, default_value_t = Format::Env)]
    format: Format,
    /// How long the session must still last (`90s`, `15m`, `2h`); a cached one with less
    /// is renewed.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = crate::timefmt::parse_duration)]
    min_ttl: Duration,
    /// Print no summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

impl Args {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let session = session::resolve(&self.opts, self.min_ttl)?;
        let text = export::render(self.format, &session.env());
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            // A reader that went away (`| head`) is not an error worth a line.
            Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.context("write the session to stdout")?,
        }
        if !self.quiet {
            eprintln!("{}", summary(&session));
        }
        Ok(())
    }
}

/// `role arn:… (account …), expires 18:32 CET (in 59 min)`.
pub(crate) fn summary(session: &Session) -> String {
    let mut line = session.identity();
    if let Some(expiry) = session.expiry() {
        let left = session.remaining().unwrap_or_default();
        line.push_str(&format!(
            ", expires {} ({})",
            local_time(expiry),
            in_words(left)
        ));
    }
    line
}

/// "in 59 min", "in 3 h 05 min".
fn in_words(left: Duration) -> String {
    let minutes = left.as_secs() / 60;
    match minutes {
        0 => "in less than a minute".into(),
        m if m < 60 => format!("in {m} min"),
        m => format!("in {} h {:02} min", m / 60, m % 60),
    }
}

/// The time in the local time zone (`TZ`, else /etc/localtime), as `2026-11-25 18:32 CET`.
fn local_time(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as libc::time_t;
    // SAFETY: localtime_r and strftime write only into the buffers given to them.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return crate::cache::format_time(t);
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%Y-%m-%d %H:%M %Z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_as_words() {
        assert_eq!(in_words(Duration::from_secs(59 * 60 + 30)), "in 59 min");
        assert_eq!(
            in_words(Duration::from_secs(3 * 3600 + 5 * 60)),
            "in 3 h 05 min"
        );
        assert_eq!(in_words(Duration::from_secs(20)), "in less than a minute");
    }
}
