//! packaging/authd.service as systemd reads it: `systemd-analyze verify`
//! (unknown keys, bad values, an ExecStart that is not executable) and
//! `systemd-analyze security --offline` (the exposure score of the
//! sandbox), each beside a unit that must fail the same check.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TempDir, require_tool};

const UNIT: &str = include_str!("../packaging/authd.service");
/// The highest exposure `systemd-analyze security` may score the unit,
/// in tenths (systemd's `--threshold` scale: 20 is "2.0").
const EXPOSURE_THRESHOLD: &str = "20";

/// The unit with its binary at the one cargo built, written as
/// `authd.service` into `dir` (systemd names the unit after the file).
fn unit_file(dir: &Path, text: &str) -> PathBuf {
    let text = text.replace("/usr/local/bin/authd", env!("CARGO_BIN_EXE_authd"));
    let path = dir.join("authd.service");
    fs::write(&path, text).unwrap();
    path
}

fn analyze(args: &[&str], unit: &Path) -> Output {
    require_tool("systemd-analyze");
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("run systemd-analyze")
}

/// systemd's complaints about this unit (not about other units installed
/// on the machine, which verify loads too).
fn complaints(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("authd.service"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn unit_verifies_without_complaint() {
    let dir = TempDir::new("unit-verify");
    let out = analyze(&["verify"], &unit_file(dir.path(), UNIT));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(complaints(&out), Vec::<String>::new());

    // The check can fail: a misspelt key is reported (systemd only warns,
    // so the complaint is what the check above looks for) ...
    let typo = TempDir::new("unit-typo");
    let out = analyze(
        &["verify"],
        &unit_file(
            typo.path(),
            &UNIT.replace("NoNewPrivileges=", "NoNewPrivilegs="),
        ),
    );
    let said = complaints(&out);
    assert!(said.iter().any(|l| l.contains("Unknown key")), "{out:?}");
    // ... and a binary that is not there fails outright.
    let gone = TempDir::new("unit-gone");
    let text = UNIT.replace("/usr/local/bin/authd", "/nonexistent/authd");
    let path = gone.path().join("authd.service");
    fs::write(&path, text).unwrap();
    assert!(!analyze(&["verify"], &path).status.success());
}

#[test]
fn sandbox_exposure_is_low() {
    let dir = TempDir::new("unit-security");
    let unit = unit_file(dir.path(), UNIT);
    let threshold = format!("--threshold={EXPOSURE_THRESHOLD}");
    let out = analyze(&["security", "--offline=true", &threshold], &unit);
    assert!(
        out.status.success(),
        "exposure above {EXPOSURE_THRESHOLD}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The same service without its hardening scores far above.
    let bare = TempDir::new("unit-bare");
    let plain: String = UNIT
        .lines()
        .filter(|l| {
            !l.contains('=')
                || [
                    "Description",
                    "Exec",
                    "Restart",
                    "User",
                    "Group",
                    "Type",
                    "WantedBy",
                ]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let out = analyze(
        &["security", "--offline=true", &threshold],
        &unit_file(bare.path(), &plain),
    );
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// What the README promises of the unit (weak alone; the two tests above
/// are what systemd itself makes of it).
#[test]
fn unit_runs_unprivileged_checks_first_and_reloads_with_hup() {
    for line in [
        "User=authd",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "StateDirectory=authd",
        "ConfigurationDirectory=authd",
        "ExecStartPre=/usr/local/bin/authd check --config /etc/authd/authd.toml",
        "ExecStart=/usr/local/bin/authd serve --config /etc/authd/authd.toml",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(UNIT.lines().any(|l| l == line), "missing {line}");
    }
}
