//! What the running server writes to its log: warnings at start about
//! weak configuration, peer-supplied strings that cannot forge lines or
//! reach the terminal, and Access-Reject lines limited per client and
//! reason.

#[path = "common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::Duration;
use std::{io::Write, thread};

use common::radius::{exchange, pap_request};
use common::{Server, TempDir, TestPki};
use radius_proto::Code;

const SHORT: &str = "shared secret of 8 characters or fewer";

/// The log lines holding both `a` and `b`.
fn lines_with(log: &str, a: &str, b: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(a) && l.contains(b))
        .count()
}

#[test]
fn short_shared_secrets_are_warned_at_start() {
    let dir = TempDir::new("logs-short-secret");
    let pki = TestPki::create(dir.path());
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    // A NAS client in the store, its secret on stdin.
    let mut cli = Command::new(env!("CARGO_BIN_EXE_authd"))
        .args(["client", "add", "store-ap", "10.9.9.11", "--database", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run authd client add");
    cli.stdin.take().unwrap().write_all(b"tiny5\n").unwrap();
    let out = cli.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let server = Server::start_with(
        dir.path(),
        &pki,
        &format!(
            "[database]\nurl = \"{url}\"\n\n\
             [[client]]\nname = \"short-ap\"\naddress = \"10.9.9.9/32\"\nsecret = \"abc12345\"\n\n\
             [[client]]\nname = \"long-ap\"\naddress = \"10.9.9.10/32\"\nsecret = \"abc123456\"\n"
        ),
    );
    server.expect_log(SHORT);
    // The warnings come before the listening line: once it is there, all
    // of them are.
    server.expect_log("listening");
    let log = server.log();
    assert_eq!(lines_with(&log, SHORT, "short-ap"), 1, "{log}");
    assert_eq!(lines_with(&log, SHORT, "store-ap"), 1, "{log}");
    // 9 characters, and the loopback client's 10: no warning.
    assert_eq!(lines_with(&log, SHORT, "long-ap"), 0, "{log}");
    assert_eq!(lines_with(&log, SHORT, "loopback"), 0, "{log}");
    // Never the secret itself.
    assert!(!log.contains("abc12345") && !log.contains("tiny5"), "{log}");
}

#[test]
fn peer_strings_are_escaped_and_reject_lines_limited() {
    let dir = TempDir::new("logs-peer-strings");
    let pki = TestPki::create(dir.path());
    // No store: PAP requests are rejected (pap_disabled), naming the user.
    let server = Server::start(dir.path(), &pki);
    let secret = common::SECRET.as_bytes();
    let forged = "bob\n2026-01-01T00:00:00.000000Z  INFO authd::handler: Access-Accept user=\"admin\"\x1b[31m";
    let (code, _) = exchange(server.port, &pap_request(1, forged, "x", secret), secret)
        .unwrap_or_else(|| panic!("no answer:\n{}", server.log()));
    assert_eq!(code, Code::AccessReject);
    server.expect_log("pap_disabled");
    let log = server.log();
    // Positive control: the name is in the reject line, escaped.
    let line = log
        .lines()
        .find(|l| l.contains("pap_disabled"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("bob\\") && line.contains("admin"), "{line}");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00")),
        "a forged line:\n{log}"
    );
    assert!(!log.contains('\x1b'), "an escape sequence reached the log");
    assert!(
        !log.lines()
            .any(|l| l.contains("Access-Accept") && !l.contains("pap_disabled")),
        "{log}"
    );

    // 30 rejects of one client for one reason in well under a few seconds:
    // at most 10 lines a second, then a line saying how many were held
    // back. Every one is answered.
    for id in 2..32u8 {
        let (code, _) = exchange(server.port, &pap_request(id, "carol", "x", secret), secret)
            .unwrap_or_else(|| panic!("no answer:\n{}", server.log()));
        assert_eq!(code, Code::AccessReject);
    }
    thread::sleep(Duration::from_millis(1100));
    let (code, _) = exchange(server.port, &pap_request(40, "dave", "x", secret), secret)
        .unwrap_or_else(|| panic!("no answer:\n{}", server.log()));
    assert_eq!(code, Code::AccessReject);
    server.expect_log("\"dave\"");
    let log = server.log();
    let lines = lines_with(&log, "Access-Reject", "pap_disabled");
    assert!((2..31).contains(&lines), "{lines} reject lines:\n{log}");
    let held_back: u64 = log
        .lines()
        .filter(|l| l.contains("pap_disabled"))
        .filter_map(|l| {
            let v = l.split("suppressed=").nth(1)?;
            v.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum();
    assert_eq!(
        held_back as usize + lines,
        32,
        "every reject is either a line or counted in one:\n{log}"
    );
}
