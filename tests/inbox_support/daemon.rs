//! The `circle-relay` binary as tests run it: a circle's config on the
//! stack, the daemon as a real process, one-shot CLI commands.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::*;

/// The `circle-relay` binary run as a real process (`run`); killed when dropped.
pub struct DaemonProcess {
    child: std::process::Child,
    /// Where its log goes when a test waits for a line of it ([`Self::logged`]).
    log: Option<PathBuf>,
}

impl DaemonProcess {
    pub fn run(config: &std::path::Path) -> Self {
        Self::run_with_env(config, &[])
    }

    /// `run` with extra environment (e.g. `CIRCLE_RELAY_CLOCK_OFFSET_FILE`).
    pub fn run_with_env(config: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let child = Self::command(config, env)
            .spawn()
            .expect("start circle-relay run");
        Self { child, log: None }
    }

    /// `run` with its log (at `RUST_LOG`, e.g. "info") written to `log`, so a
    /// test can wait for what the daemon says it did ([`Self::until_logged`]).
    pub fn run_logged(config: &std::path::Path, rust_log: &str, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("create the daemon's log file");
        let child = Self::command(config, &[("RUST_LOG", rust_log)])
            .stderr(file)
            .spawn()
            .expect("start circle-relay run");
        Self {
            child,
            log: Some(log),
        }
    }

    fn command(config: &std::path::Path, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_circle-relay"));
        command
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied());
        command
    }

    /// What the daemon has logged so far (started with [`Self::run_logged`]).
    pub fn logged(&self) -> String {
        let log = self.log.as_ref().expect("the daemon runs with run_logged");
        std::fs::read_to_string(log).unwrap_or_default()
    }

    /// Waits (up to `within`) until the daemon's log holds `line`.
    pub async fn until_logged(&self, line: &str, within: Duration) {
        self.until_logged_times(line, 1, within).await;
    }

    /// Waits (up to `within`) until the daemon's log holds `line` `n` times
    /// (to wait for it once more: [`Self::times_logged`] + 1).
    pub async fn until_logged_times(&self, line: &str, n: usize, within: Duration) {
        let start = std::time::Instant::now();
        while self.times_logged(line) < n {
            assert!(
                start.elapsed() < within,
                "the daemon (pid {}) did not log {line:?} (time {n}) within {within:?}:\n{}",
                self.pid(),
                self.logged()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How often the daemon's log holds `line` so far.
    pub fn times_logged(&self, line: &str) -> usize {
        self.logged().matches(line).count()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to finish anything or release a lease.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (e.g. "STOP", "CONT") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A circle on the mail stack as [`circle_config`] makes it, on SQLite in
/// `dir` with a test token secret and `admins` (user names), and `members`
/// (CSV) imported.
pub fn setup_circle(
    dir: &std::path::Path,
    relay_user: &str,
    admins: &[&str],
    members: &str,
    extra: &str,
) -> PathBuf {
    let config = circle_config(
        dir,
        relay_user,
        &format!("sqlite://{}", dir.join("relay.db").display()),
        admins,
        &format!("[security]\ntoken_secret = \"an-end-to-end-secret\"\n{extra}"),
    );
    import_members(&config, members);
    config
}

/// [`circle_config`] with `relayadmin` as the admin.
pub fn write_config(dir: &std::path::Path, relay_user: &str, db_url: &str, extra: &str) -> PathBuf {
    circle_config(dir, relay_user, db_url, &["relayadmin"], extra)
}

/// Writes a config for a circle at `relay_user@circle.test` that reads its
/// IMAP inbox and sends over SMTP on the mail stack, on the database at
/// `db_url`, `admins` (user names), anyone may post; `extra` is appended
/// (more sections: `[security]` is required).
pub fn circle_config(
    dir: &std::path::Path,
    relay_user: &str,
    db_url: &str,
    admins: &[&str],
    extra: &str,
) -> PathBuf {
    let config = dir.join("circle-relay.toml");
    let admins: Vec<String> = admins.iter().map(|a| format!("\"{a}@{DOMAIN}\"")).collect();
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Care Circle\"\naddress = \"{relay_user}@{DOMAIN}\"\nadmins = [{admins}]\nposting = \"anyone\"\n\
             [database]\nurl = \"{db_url}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"{host}\"\nport = {imap}\ntls = \"none\"\nusername = \"{relay_user}\"\npassword = \"test\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"{host}\"\nport = {smtp}\ntls = \"none\"\n\
             {extra}\n",
            admins = admins.join(", "),
            host = IMAP.0,
            imap = IMAP.1,
            smtp = SMTP.1,
        ),
    )
    .expect("write config");
    config
}

/// `circle-relay members import` of `csv` with `config`; panics on failure.
pub fn import_members(config: &std::path::Path, csv: &str) {
    let file = config.with_file_name("members.csv");
    std::fs::write(&file, csv).expect("write members.csv");
    cli(config, &["members", "import", &file.display().to_string()]);
}

/// Runs `circle-relay --config CONFIG ARGS…`, which must succeed; its stdout.
pub fn cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("circle-relay runs");
    assert!(
        out.status.success(),
        "circle-relay {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `email`'s status as `members list` shows it (`None`: not in the directory).
pub fn member_status(config: &std::path::Path, email: &str) -> Option<String> {
    cli(config, &["members", "list"]).lines().find_map(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        (cols.get(2) == Some(&email)).then(|| cols[1].to_string())
    })
}
