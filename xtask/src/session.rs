//! The one entry point to credentials: resolves the session a command should hand on.
//!
//! Interface contract (the credential engine fills it in; `build`, `exec`, `check` and
//! `local` call only this):
//! - [`Opts`]: the flags every command that needs credentials flattens in;
//! - [`resolve`]: a session valid for at least `min_ttl` (may prompt for an MFA code);
//! - [`describe`]: what a build would use, in one line, without prompting;
//! - [`Session::env`]: the variables to set on a child (`AWS_PROFILE` must be removed).

use std::time::Duration;

/// Flags shared by every command that may need credentials.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct Opts {
    /// The AWS profile to use (default: $AWS_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The MFA code, instead of a prompt (six digits).
    #[arg(long, value_name = "CODE")]
    pub(crate) mfa_token: Option<String>,
}

/// A resolved set of credentials.
pub(crate) struct Session {}

impl Session {
    /// The environment a child gets: key id, secret, token, expiry, region.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// When the session ends, if it does.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        None
    }
}

/// The profile named by `--profile`, else `AWS_PROFILE`.
pub(crate) fn profile_name(opts: &Opts) -> Option<String> {
    opts.profile
        .clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
}

/// A session that stays valid for at least `min_ttl`.
pub(crate) fn resolve(_opts: &Opts, _min_ttl: Duration) -> anyhow::Result<Session> {
    anyhow::bail!("the credential engine is not written yet")
}

/// One line saying which credentials a build would use, without prompting for MFA.
pub(crate) fn describe(_opts: &Opts) -> anyhow::Result<String> {
    anyhow::bail!("the credential engine is not written yet")
}
