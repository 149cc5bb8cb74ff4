//! `cargo xtask bench`: times `creds` (cache hit, fresh AssumeRole) next to the original
//! Makefile's step (three `aws configure get` and `aws sts assume-role`), all against one
//! moto server on loopback, and prints the medians with the goals. `cargo xtask bench
//! local` times warm runs of the whole offline rehearsal, `cargo xtask build --local`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::Shell;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// What to time.
    #[arg(value_enum, default_value_t = Case::Creds)]
    case: Case,
    /// Runs of each case; the median is reported (default: 10 for creds, 3 for local).
    #[arg(long)]
    runs: Option<usize>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Case {
    /// `creds` with a cache hit and a fresh AssumeRole, next to the Makefile's step.
    Creds,
    /// `build --local`, warm: the whole offline rehearsal (goal: 30 s at most).
    Local,
}

const CONFIG: &str = "[profile bench]\nrole_arn = arn:aws:iam::123456789012:role/bench\n\
source_profile = base\nrole_session_name = bench\n\
mfa_serial = arn:aws:iam::123456789012:mfa/bench\nregion = eu-west-1\n\n\
[profile base]\nregion = eu-west-1\n";
const CREDENTIALS: &str = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n\
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n";

impl Args {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let runs = self.runs.unwrap_or(match self.case {
            Case::Creds => 10,
            Case::Local => 3,
        });
        if runs == 0 {
            bail!("--runs must be at least 1");
        }
        match self.case {
            Case::Creds => creds(sh, runs),
            Case::Local => local(sh, runs),
        }
    }
}

/// Warm runs of `xtask build --local`, outputs in a scratch folder; one run first so
/// that set-up (installs, the first packer start) is not counted.
fn local(sh: &Shell, runs: usize) -> anyhow::Result<()> {
    let root = sh.create_temp_dir().context("create a scratch folder")?;
    let xtask = std::env::current_exe().context("find the xtask binary")?;
    let rehearsal = || {
        let mut cmd = Command::new(&xtask);
        cmd.args(["build", "--local", "--root"])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    time(1, rehearsal, || Ok(()))?;
    let median = time(runs, rehearsal, || Ok(()))?;
    println!(
        "median of {runs} warm runs of `cargo xtask build --local` (load average {}): {:.1} s \
         (goal ≤ 30 s: {})",
        load_average(),
        median.as_secs_f64(),
        if median <= Duration::from_secs(30) {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .next()
        .unwrap_or("unknown")
        .to_string()
}

fn creds(sh: &Shell, runs: usize) -> anyhow::Result<()> {
    let python = crate::setup::moto_python(sh)?;
    let aws = crate::setup::aws_cli(sh)?;
    let moto = crate::moto::Moto::start(&python)?;
    let home = sh.create_temp_dir().context("create a temporary HOME")?;
    let home = home.path();
    std::fs::create_dir_all(home.join(".aws")).context("create the temporary ~/.aws")?;
    std::fs::write(home.join(".aws/config"), CONFIG).context("write ~/.aws/config")?;
    std::fs::write(home.join(".aws/credentials"), CREDENTIALS)
        .context("write ~/.aws/credentials")?;
    let xtask = std::env::current_exe().context("find the xtask binary")?;
    let script = crate::project_root().join("xtask/bench/makefile_step.sh");
    let base = |program: &Path| {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    let creds = || {
        let mut cmd = base(&xtask);
        cmd.args([
            "creds",
            "--profile",
            "bench",
            "--mfa-token",
            "123456",
            "--quiet",
        ]);
        cmd
    };
    let cache = home.join(".aws/cli/cache");
    let makefile = time(
        runs,
        || {
            let mut cmd = base(Path::new("bash"));
            cmd.arg(&script)
                .env("AWS", &aws)
                .env("AWS_PROFILE", "bench")
                .env("SOURCE_PROFILE", "base")
                .env("MFA_CODE", "123456");
            cmd
        },
        || Ok(()),
    )?;
    let fresh = time(runs, creds, || {
        // Each run finds no cached session.
        match std::fs::remove_dir_all(&cache) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    })?;
    let hit = time(runs, creds, || Ok(()))?;
    // Other work on the machine slows the Python CLI far more than xtask: say how busy it was.
    let load = load_average();
    println!(
        "median of {} runs against moto at {} (load average {load}):",
        runs,
        moto.endpoint()
    );
    println!(
        "  Makefile step (3 × aws configure get + aws sts assume-role): {}",
        ms(makefile)
    );
    report("creds, fresh AssumeRole", fresh, makefile, 5);
    report("creds, cache hit", hit, makefile, 10);
    Ok(())
}

/// The median wall time of `runs` runs of `make()`, with `before()` ahead of each; the
/// command's own exit status must be zero.
fn time(
    runs: usize,
    make: impl Fn() -> Command,
    before: impl Fn() -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        before()?;
        let mut cmd = make();
        let program: PathBuf = cmd.get_program().into();
        let start = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("run {}", program.display()))?;
        times.push(start.elapsed());
        if !out.status.success() {
            bail!(
                "{} failed during the benchmark: {}",
                program.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, t: Duration, baseline: Duration, goal: u32) {
    let ratio = baseline.as_secs_f64() / t.as_secs_f64().max(1e-9);
    let verdict = if ratio >= f64::from(goal) {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "  {name}: {} ({ratio:.1}× faster; goal ≥ {goal}×: {verdict})",
        ms(t)
    );
}
