//! `authd` with no arguments, the README's first command: it must start on
//! the embedded default (127.0.0.1:1812, a development PKI generated into
//! `./authd-data` on first start) and the `eapol_test` command it prints
//! must succeed against it. The fixed port 1812 belongs to whatever runs on
//! the machine, so the test runs authd and eapol_test in a network
//! namespace of its own (needs root, like the hostapd test).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{LOG_WAIT, TempDir, require_tool, wait_bounded, wait_for_text};

/// A network namespace with only loopback up; deleted on drop.
struct Netns(String);

impl Netns {
    fn create() -> Netns {
        let name = format!("authd-d{}", std::process::id());
        let ns = Netns(name);
        for args in [
            vec!["netns", "add", &ns.0],
            vec!["netns", "exec", &ns.0, "ip", "link", "set", "lo", "up"],
        ] {
            let out = Command::new("ip").args(&args).output().expect("run ip");
            assert!(
                out.status.success(),
                "ip {args:?}: {} (this test needs root)",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        ns
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// `authd` without arguments in `cwd`, inside `ns`; killed on drop.
struct Authd {
    child: Child,
    log: std::path::PathBuf,
}

impl Authd {
    fn start(ns: &Netns, cwd: &Path, log_name: &str) -> Authd {
        let log = cwd.join(log_name);
        let out = fs::File::create(&log).unwrap();
        let child = ns
            .command(env!("CARGO_BIN_EXE_authd"))
            .current_dir(cwd)
            .env_remove("AUTHD_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start authd");
        let mut authd = Authd { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !authd
            .output()
            .contains("listening for RADIUS authentication")
        {
            if let Ok(Some(status)) = authd.child.try_wait() {
                panic!("authd exited ({status}):\n{}", authd.output());
            }
            assert!(
                Instant::now() < deadline,
                "authd did not start:\n{}",
                authd.output()
            );
            thread::sleep(Duration::from_millis(100));
        }
        authd
    }

    fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails the test unless `needle` shows up in the output within
    /// [`LOG_WAIT`] (the banner comes after the `listening` line).
    #[track_caller]
    fn expect_output(&self, needle: &str) {
        assert!(
            wait_for_text(|| self.output(), needle, 1, LOG_WAIT),
            "no `{needle}` in the output of authd:\n{}",
            self.output()
        );
    }

    /// The eapol_test command line the banner suggests.
    fn suggested_eapol_test(&self) -> Vec<String> {
        self.expect_output("try it: ");
        let out = self.output();
        let line = out
            .lines()
            .find_map(|l| {
                l.split_once("try it: ")
                    .map(|(_, cmd)| cmd.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no `try it:` line in the banner:\n{out}"));
        line.split_whitespace().map(str::to_owned).collect()
    }
}

impl Drop for Authd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("----- authd -----\n{}----- end -----", self.output());
        }
    }
}

/// Runs the suggested command inside `ns` and returns its output.
fn run_suggested(ns: &Netns, cwd: &Path, cmd: &[String]) -> String {
    assert_eq!(
        cmd.first().map(String::as_str),
        Some("eapol_test"),
        "{cmd:?}"
    );
    let out_path = cwd.join("eapol_test.out");
    let out = fs::File::create(&out_path).unwrap();
    let mut child = ns
        .command("eapol_test")
        .args(&cmd[1..])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run eapol_test");
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let output = fs::read_to_string(&out_path).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "{cmd:?} failed ({status:?}):\n{output}"
    );
    output
}

#[test]
fn no_argument_default_answers_the_command_it_prints() {
    require_tool("eapol_test");
    require_tool("ip");
    let dir = TempDir::new("embedded-default");
    let ns = Netns::create();

    let authd = Authd::start(&ns, dir.path(), "first.log");
    authd.expect_output("new PKI generated");
    assert!(dir.path().join("authd-data").is_dir());
    let cmd = authd.suggested_eapol_test();
    let output = run_suggested(&ns, dir.path(), &cmd);
    assert!(
        output.contains("MPPE keys OK: 1  mismatch: 0") && output.contains("SUCCESS"),
        "{output}\n----- authd -----\n{}",
        authd.output()
    );
    drop(authd);

    // A second start keeps the PKI (the demo user's files stay valid).
    let again = Authd::start(&ns, dir.path(), "second.log");
    again.expect_output("existing PKI");
    let output = run_suggested(&ns, dir.path(), &again.suggested_eapol_test());
    assert!(output.contains("MPPE keys OK: 1  mismatch: 0"), "{output}");
}
