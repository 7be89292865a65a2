//! Password users end to end: `authd serve` with a SQLite store whose users
//! the admin CLI created, and eapol_test (wpa_supplicant 2.10) speaking
//! PEAPv0 with EAP-MSCHAPv2 and EAP-TTLS with PAP, MS-CHAP-V2 and
//! EAP-MSCHAPv2 (RFC 5281), on TLS 1.2 and TLS 1.3 (RFC 9427).
//!
//! Each success is checked as eapol_test sees it (`MPPE keys OK`: the
//! MS-MPPE keys of the Access-Accept equal the MSK the peer derived; with
//! `-e`, the EAP-Key-Name equals the Session-Id it derived; the TLS version
//! it negotiated) and as the server logs it (one `Access-Accept` line naming
//! the inner identity, the method and the round trips). Each reject is
//! checked on the wire (Access-Reject, EAP-Failure, MS-CHAPv2 `E=691`
//! whatever the cause) and in the log (one `Access-Reject` line with the
//! reason).

#[path = "common/mod.rs"]
mod common;

use std::path::Path;

use authd::config::{Config, EapMethod};
use common::{
    EapolRun, PasswordMethod, PasswordPeer, Server, TempDir, TestPki, TlsChoice, run_eapol_test,
};

const PASSWORD: &str = "correct horse battery";

/// What a server logs once per accepted conversation.
const ACCEPT: &str = "Access-Accept client=";
/// What a server logs once per rejected conversation.
const REJECT: &str = "Access-Reject:";

/// RADIUS round trips (Access-Requests) FreeRADIUS 3.2.1 takes per method
/// with `fragment_size = 1024`, as eapol_test 2.10 counts them with
/// Framed-MTU 1400 and EAP-TLS proposed first (measured against FreeRADIUS
/// in that setting; the README's round-trip table): authd must take fewer.
fn freeradius_round_trips(method: PasswordMethod, tls: TlsChoice) -> u32 {
    match (method, tls) {
        (PasswordMethod::Peap, TlsChoice::Only12) => 10,
        (PasswordMethod::Peap, TlsChoice::Only13) => 9,
        (PasswordMethod::TtlsPap, _) => 6,
        (PasswordMethod::TtlsMschapv2, _) => 7,
        (PasswordMethod::TtlsEapMschapv2, _) => 9,
    }
}

/// A running authd with a store, and the configuration the CLI shares.
struct Fixture {
    dir: TempDir,
    pki: TestPki,
    server: Server,
}

impl Fixture {
    /// A server offering `methods` (most preferred first), its store
    /// holding users the CLI added:
    /// - bob, alice: password with NT hash (every method);
    /// - carol: the same, disabled;
    /// - dave: `--no-mschap` (Argon2id only).
    fn start(name: &str, methods: &[EapMethod]) -> Fixture {
        Fixture::start_with(name, methods, |_| {})
    }

    /// As [`Fixture::start`], with `edit` applied to the configuration.
    fn start_with(name: &str, methods: &[EapMethod], edit: impl FnOnce(&mut Config)) -> Fixture {
        common::require_tool("eapol_test");
        let dir = TempDir::new(name);
        let pki = TestPki::create(dir.path());
        let port = common::free_udp_port();
        let config = common::write_store_config(dir.path(), &pki, port, |c| {
            c.eap.methods = methods.to_vec();
            edit(c);
        });

        cli(&config, &["user", "add", "bob", "--password"], PASSWORD);
        cli(&config, &["user", "add", "alice", "--password"], PASSWORD);
        cli(
            &config,
            &["user", "add", "carol", "--password", "--disabled"],
            PASSWORD,
        );
        cli(
            &config,
            &["user", "add", "dave", "--password", "--no-mschap"],
            PASSWORD,
        );
        assert!(
            dir.path().join("credential.key").is_file(),
            "the CLI did not create the credential key beside the configuration"
        );

        let server = Server::spawn(config, port);
        Fixture { dir, pki, server }
    }

    /// Runs eapol_test (`-e`: also compare the Session-Id) as `peer`.
    fn run(&self, label: &str, peer: &PasswordPeer, extra: &[&str]) -> EapolRun {
        let conf =
            common::write_password_eapol_conf(self.dir.path(), label, peer, &self.pki.ca_cert);
        let mut args = vec!["-e"];
        args.extend_from_slice(extra);
        run_eapol_test(&conf, self.server.port, &args)
    }

    /// Runs `peer` and returns what eapol_test printed and the server's
    /// line for it (the `needle` line after those already logged).
    fn run_logged(
        &self,
        label: &str,
        peer: &PasswordPeer,
        extra: &[&str],
        needle: &str,
    ) -> (EapolRun, String) {
        let before = self.server.log().matches(needle).count();
        let run = self.run(label, peer, extra);
        let line = self.nth_line(needle, before, &run);
        (run, line)
    }

    /// The `n`th (from 0) log line holding `needle`, waiting for it.
    fn nth_line(&self, needle: &str, n: usize, run: &EapolRun) -> String {
        assert!(
            self.server
                .wait_for_log_count(needle, n + 1, common::LOG_WAIT),
            "no `{needle}` line #{n} in the server log; eapol_test:\n{}\n----- authd -----\n{}",
            run.output,
            self.server.log()
        );
        self.server
            .log()
            .lines()
            .filter(|l| l.contains(needle))
            .nth(n)
            .unwrap()
            .to_owned()
    }
}

/// Runs the admin CLI with `--config config` and a password line.
fn cli(config: &Path, args: &[&str], password: &str) -> String {
    common::admin_cli(config, args, &format!("{password}\n"))
}

fn peer(method: PasswordMethod, identity: &str, tls: TlsChoice) -> PasswordPeer<'_> {
    PasswordPeer {
        method,
        identity,
        anonymous: None,
        password: PASSWORD,
        tls,
    }
}

fn tls_name(tls: TlsChoice) -> (&'static str, &'static str) {
    match tls {
        TlsChoice::Only12 => ("TLSv1.2", "TLSv1_2"),
        TlsChoice::Only13 => ("TLSv1.3", "TLSv1_3"),
    }
}

/// The value of `key=` in a log line (quotes kept).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!(" {key}=");
    let start = line.find(&needle)? + needle.len();
    line[start..].split_whitespace().next()
}

/// Access-Requests eapol_test sent (each answered: retransmissions would
/// show as `Next RADIUS client retransmit` lines without an answer).
fn access_requests(run: &EapolRun) -> u32 {
    run.output
        .matches("RADIUS message: code=1 (Access-Request)")
        .count() as u32
}

/// The attribute values of the Access-Accept eapol_test received, as it
/// prints them (`Attribute 1 (User-Name) length=5` then `Value: 'bob'`).
fn accept_attribute(run: &EapolRun, name: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut in_accept = false;
    let mut pending = false;
    for line in run.output.lines() {
        if line.starts_with("RADIUS message: ") {
            in_accept = line.contains("(Access-Accept)");
            pending = false;
        } else if in_accept && line.trim_start().starts_with("Attribute ") {
            pending = line.contains(&format!("({name})"));
        } else if in_accept
            && pending
            && let Some(v) = line.trim().strip_prefix("Value: ")
        {
            values.push(v.to_owned());
            pending = false;
        } else if !line.starts_with(' ') {
            in_accept = false;
        }
    }
    values
}

#[track_caller]
fn assert_accepted(run: &EapolRun, keys_ok: u32, server: &Server) {
    let want = format!("MPPE keys OK: {keys_ok}  mismatch: 0");
    assert!(
        run.success() && run.contains(&want),
        "eapol_test did not succeed with `{want}` ({:?}):\n{}\n----- authd -----\n{}",
        run.status,
        run.output,
        server.log()
    );
    assert_eq!(
        run.output
            .matches("Locally derived EAP Session-Id matches EAP-Key-Name from server")
            .count() as u32,
        keys_ok,
        "Session-Id and EAP-Key-Name differ:\n{}",
        run.output
    );
    assert!(
        !run.contains("Access-Reject"),
        "an Access-Reject:\n{}",
        run.output
    );
}

#[track_caller]
fn assert_rejected(run: &EapolRun) {
    assert!(
        run.status.is_some_and(|s| !s.success()),
        "eapol_test should fail ({:?}):\n{}",
        run.status,
        run.output
    );
    assert!(
        run.contains("(Access-Reject)") && run.contains("CTRL-EVENT-EAP-FAILURE"),
        "no Access-Reject with EAP-Failure:\n{}",
        run.output
    );
    assert!(
        !run.contains("(Access-Accept)") && !run.contains("MPPE keys OK: 1"),
        "accepted:\n{}",
        run.output
    );
}

/// Every method on both TLS versions: keys and Session-Id agree, the TLS
/// version is the one asked for, the server names the user, method and
/// version, and each takes fewer round trips than FreeRADIUS.
#[test]
fn every_method_on_tls12_and_tls13() {
    let f = Fixture::start(
        "pw-methods",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
    );
    let mut table = Vec::new();
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        for method in PasswordMethod::ALL {
            let (wire_version, logged_version) = tls_name(tls);
            let label = format!("{}-{wire_version}", method.label());
            let (run, line) = f.run_logged(&label, &peer(method, "bob", tls), &[], ACCEPT);
            assert_accepted(&run, 1, &f.server);
            assert!(
                run.contains(&format!("SSL: Using TLS version {wire_version}")),
                "{label}: {wire_version} not negotiated:\n{}",
                run.output
            );
            let other = match tls {
                TlsChoice::Only12 => "TLSv1.3",
                TlsChoice::Only13 => "TLSv1.2",
            };
            assert!(
                !run.contains(&format!("SSL: Using TLS version {other}")),
                "{label}: {other} used:\n{}",
                run.output
            );

            let (m, inner) = method.logged();
            assert_eq!(field(&line, "user"), Some("\"bob\""), "{line}");
            assert_eq!(field(&line, "method"), Some(m), "{line}");
            assert_eq!(
                field(&line, "inner"),
                Some(&*format!("\"{inner}\"")),
                "{line}"
            );
            assert_eq!(
                field(&line, "tls"),
                Some(&*format!("Some({logged_version})")),
                "{line}"
            );
            assert_eq!(field(&line, "resumed"), Some("false"), "{line}");

            // The server's count and the peer's agree; fewer than
            // FreeRADIUS.
            let logged: u32 = field(&line, "round_trips").unwrap().parse().unwrap();
            assert_eq!(
                logged,
                access_requests(&run),
                "{label}: the server counted other round trips than eapol_test sent:\n{line}"
            );
            let freeradius = freeradius_round_trips(method, tls);
            assert!(
                logged < freeradius,
                "{label}: {logged} round trips, FreeRADIUS takes {freeradius}"
            );
            table.push(format!("{label}: {logged} (FreeRADIUS {freeradius})"));
        }
    }
    eprintln!("round trips:\n  {}", table.join("\n  "));
}

/// The outer identity may be anything (`anonymous@example.org`): the user
/// is the inner identity, in the log and in the Access-Accept's User-Name.
/// `DOMAIN\alice` is alice.
#[test]
fn inner_identity_is_the_user() {
    let f = Fixture::start(
        "pw-identity",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
    );
    for (method, tls) in [
        (PasswordMethod::Peap, TlsChoice::Only13),
        (PasswordMethod::TtlsPap, TlsChoice::Only12),
        (PasswordMethod::TtlsEapMschapv2, TlsChoice::Only13),
    ] {
        let label = format!("anon-{}", method.label());
        let mut p = peer(method, "bob", tls);
        p.anonymous = Some("anonymous@example.org");
        let (run, line) = f.run_logged(&label, &p, &[], ACCEPT);
        assert_accepted(&run, 1, &f.server);
        // The peer really sent the anonymous name outside.
        assert!(
            run.contains("Value: 'anonymous@example.org'"),
            "{label}: no anonymous outer identity on the wire:\n{}",
            run.output
        );
        assert_eq!(field(&line, "user"), Some("\"bob\""), "{line}");
        assert_eq!(
            field(&line, "outer_identity"),
            Some("\"anonymous@example.org\""),
            "{line}"
        );
        assert_eq!(
            accept_attribute(&run, "User-Name"),
            ["'bob'"],
            "{label}: User-Name of the Access-Accept:\n{}",
            run.output
        );
    }

    // Windows names the user DOMAIN\user: the default strips the domain,
    // also from the name MS-CHAPv2 hashes.
    for method in [PasswordMethod::Peap, PasswordMethod::TtlsMschapv2] {
        let label = format!("domain-{}", method.label());
        let (run, line) = f.run_logged(
            &label,
            &peer(method, "EXAMPLE\\alice", TlsChoice::Only12),
            &[],
            ACCEPT,
        );
        assert_accepted(&run, 1, &f.server);
        assert_eq!(field(&line, "user"), Some("\"alice\""), "{line}");
    }
    // And a plain name is the same user (positive control of the mapping:
    // the domain is what was removed).
    let (run, line) = f.run_logged(
        "plain-alice",
        &peer(PasswordMethod::Peap, "alice", TlsChoice::Only12),
        &[],
        ACCEPT,
    );
    assert_accepted(&run, 1, &f.server);
    assert_eq!(field(&line, "user"), Some("\"alice\""), "{line}");
}

/// Wrong password, unknown user, disabled user and a user without an NT
/// hash all get the same Access-Reject with MS-CHAPv2 `E=691`; the log
/// says which. The user without an NT hash gets in with TTLS-PAP.
#[test]
fn rejects_look_alike_on_the_wire_and_say_why_in_the_log() {
    let f = Fixture::start(
        "pw-rejects",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
    );
    let cases: [(&str, &str, &str, &str); 4] = [
        ("wrong", "bob", "not the password", "wrong_password"),
        ("unknown", "zoe", PASSWORD, "unknown_user"),
        ("disabled", "carol", PASSWORD, "user_disabled"),
        ("no-nt", "dave", PASSWORD, "no_nt_credential"),
    ];
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        for (what, user, password, reason) in cases {
            let label = format!("reject-{what}-{}", tls_name(tls).0);
            let mut p = peer(PasswordMethod::Peap, user, tls);
            p.password = password;
            let before_accepts = f.server.log().matches(ACCEPT).count();
            let (run, line) = f.run_logged(&label, &p, &[], REJECT);
            assert_rejected(&run);
            // The same MS-CHAPv2 failure (E=691, no retry) whatever the
            // cause.
            assert!(
                run.contains("EAP-MSCHAPV2: error 691")
                    && run.contains(
                        "EAP-MSCHAPV2: failure message: 'Authentication failed' \
                         (retry not allowed, error 691)"
                    ),
                "{label}: no MS-CHAPv2 E=691 failure on the wire:\n{}",
                run.output
            );
            assert_eq!(
                field(&line, "reason"),
                Some(&*format!("\"{reason}\"")),
                "{label}: {line}"
            );
            assert_eq!(
                field(&line, "user"),
                Some(&*format!("\"{user}\"")),
                "{label}: {line}"
            );
            assert_eq!(
                f.server.log().matches(ACCEPT).count(),
                before_accepts,
                "{label}: accepted in the log"
            );
        }
    }
    // One reject line per rejected conversation.
    assert_eq!(
        f.server.log().matches(REJECT).count(),
        2 * cases.len(),
        "{}",
        f.server.log()
    );

    // Positive controls: bob with the right password, and dave (Argon2id
    // only) with TTLS-PAP.
    for (label, p) in [
        (
            "control-bob-peap",
            peer(PasswordMethod::Peap, "bob", TlsChoice::Only13),
        ),
        (
            "control-dave-ttls-pap",
            peer(PasswordMethod::TtlsPap, "dave", TlsChoice::Only13),
        ),
        (
            "control-dave-ttls-pap-12",
            peer(PasswordMethod::TtlsPap, "dave", TlsChoice::Only12),
        ),
    ] {
        let (run, line) = f.run_logged(label, &p, &[], ACCEPT);
        assert_accepted(&run, 1, &f.server);
        assert_eq!(
            field(&line, "user"),
            Some(&*format!("\"{}\"", p.identity)),
            "{line}"
        );
    }
    // dave cannot use MS-CHAPv2 inside TTLS either.
    let (run, line) = f.run_logged(
        "reject-no-nt-ttls-mschapv2",
        &peer(PasswordMethod::TtlsMschapv2, "dave", TlsChoice::Only13),
        &[],
        REJECT,
    );
    assert_rejected(&run);
    assert_eq!(
        field(&line, "reason"),
        Some("\"no_nt_credential\""),
        "{line}"
    );
}

/// `[eap] methods` decides what is proposed and what a Nak may switch to.
#[test]
fn method_negotiation() {
    // PEAP only: an EAP-TLS-only peer Naks it and gets EAP-Failure, the
    // log naming what it wanted.
    let f = Fixture::start("pw-peap-only", &[EapMethod::Peap]);
    let conf = common::write_eapol_conf(
        f.dir.path(),
        "tls-only",
        &f.pki.good,
        &f.pki.ca_cert,
        TlsChoice::Only13,
    );
    let before = f.server.log().matches(REJECT).count();
    let run = run_eapol_test(&conf, f.server.port, &[]);
    assert_rejected(&run);
    assert!(
        run.contains("CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=25 -> NAK"),
        "PEAP was not proposed, or not refused:\n{}",
        run.output
    );
    let line = f.nth_line(REJECT, before, &run);
    assert_eq!(
        field(&line, "reason"),
        Some("\"no_common_method\""),
        "{line}"
    );
    // EAP-TLS is type 13.
    assert!(
        line.contains("the peer's Nak asks for EAP-TLS (13)"),
        "the reject line does not name the method the peer asked for: {line}"
    );
    assert!(!f.server.log().contains(ACCEPT));
    // Positive control: PEAP gets in on the same server, proposed first
    // (no Nak: one round trip fewer than with EAP-TLS proposed).
    let (run, line) = f.run_logged(
        "peap-only-peap",
        &peer(PasswordMethod::Peap, "bob", TlsChoice::Only13),
        &[],
        ACCEPT,
    );
    assert_accepted(&run, 1, &f.server);
    assert!(!run.contains("EAP: Building EAP-Nak"), "{}", run.output);
    assert_eq!(field(&line, "method"), Some("PEAP"), "{line}");

    // TTLS first, then PEAP: a PEAP peer Naks TTLS and gets in with PEAP.
    let f = Fixture::start("pw-ttls-peap", &[EapMethod::Ttls, EapMethod::Peap]);
    let (run, line) = f.run_logged(
        "ttls-peap-peap",
        &peer(PasswordMethod::Peap, "bob", TlsChoice::Only12),
        &[],
        ACCEPT,
    );
    assert_accepted(&run, 1, &f.server);
    assert!(
        run.contains("EAP: Building EAP-Nak (requested type 21 "),
        "the peer did not Nak TTLS:\n{}",
        run.output
    );
    assert_eq!(field(&line, "method"), Some("PEAP"), "{line}");
    // And a TTLS peer on that server is not asked to Nak anything.
    let (run, line) = f.run_logged(
        "ttls-peap-ttls",
        &peer(PasswordMethod::TtlsPap, "bob", TlsChoice::Only12),
        &[],
        ACCEPT,
    );
    assert_accepted(&run, 1, &f.server);
    assert!(!run.contains("EAP: Building EAP-Nak"), "{}", run.output);
    assert_eq!(field(&line, "method"), Some("EAP-TTLS"), "{line}");
}

/// eapol_test `-r1`: authenticate, then re-authenticate on the same TLS
/// session cache (wpa_supplicant's EAPOL re-authentication).
///
/// PEAP resumes on TLS 1.2 (session ID) and TLS 1.3 (ticket), and the
/// inner EAP-MSCHAPv2 runs again: both accepted, keys agree both times.
#[test]
fn peap_resumes_on_tls12_and_tls13() {
    let f = Fixture::start(
        "pw-resume-peap",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
    );
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        let label = format!("r1-peap-{}", tls_name(tls).0);
        let before = f.server.log().matches(ACCEPT).count();
        let run = f.run(&label, &peer(PasswordMethod::Peap, "bob", tls), &["-r1"]);
        assert_accepted(&run, 2, &f.server);
        assert!(
            run.contains("OpenSSL: Handshake finished - resumed=0")
                && run.contains("OpenSSL: Handshake finished - resumed=1"),
            "{label}: the second handshake did not resume:\n{}",
            run.output
        );
        let first = f.nth_line(ACCEPT, before, &run);
        let second = f.nth_line(ACCEPT, before + 1, &run);
        assert_eq!(field(&first, "resumed"), Some("false"), "{first}");
        assert_eq!(field(&second, "resumed"), Some("true"), "{second}");
        assert_eq!(field(&second, "user"), Some("\"bob\""), "{second}");
        assert_eq!(
            field(&second, "inner"),
            Some("\"eap-mschapv2\""),
            "{second}"
        );
        let trips: u32 = field(&second, "round_trips").unwrap().parse().unwrap();
        assert!(
            trips < freeradius_round_trips(PasswordMethod::Peap, tls),
            "{second}"
        );
        eprintln!("{label}: resumed in {trips} round trips");
    }
}

/// TTLS with `-r1` and resumption on (the default): wpa_supplicant 2.10
/// skips phase 2 whenever a TTLS session resumes ("EAP-TTLS: Session
/// resumption - skip phase 2"), and a ticket is issued before phase 2 says
/// anything about the user, so authd offers TTLS no resumption at all:
/// the second authentication is a full handshake with phase 2, and both
/// are accepted. (Before, the resumed session's empty acknowledgement was
/// refused as `inner_protocol` and the re-authentication rejected.)
#[test]
fn ttls_reauthentication_of_wpa_supplicant_2_10() {
    let f = Fixture::start(
        "pw-resume-ttls",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
    );
    for tls in [TlsChoice::Only12, TlsChoice::Only13] {
        for method in [
            PasswordMethod::TtlsPap,
            PasswordMethod::TtlsMschapv2,
            PasswordMethod::TtlsEapMschapv2,
        ] {
            let label = format!("r1-{}-{}", method.label(), tls_name(tls).0);
            let accepts = f.server.log().matches(ACCEPT).count();
            let run = f.run(&label, &peer(method, "bob", tls), &["-r1"]);
            assert_accepted(&run, 2, &f.server);
            assert!(
                !run.contains("OpenSSL: Handshake finished - resumed=1")
                    && !run.contains("EAP-TTLS: Session resumption - skip phase 2"),
                "{label}: TTLS resumed:\n{}",
                run.output
            );
            for n in [accepts, accepts + 1] {
                let accepted = f.nth_line(ACCEPT, n, &run);
                assert_eq!(field(&accepted, "resumed"), Some("false"), "{accepted}");
            }
        }
    }
}

/// With `[tls] resumption = false` every authentication is a full
/// handshake with phase 2, for PEAP too, and re-authentication succeeds.
#[test]
fn ttls_reauthentication_without_resumption() {
    let f = Fixture::start_with(
        "pw-noresume-ttls",
        &[EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls],
        |c| c.tls.resumption = false,
    );
    for (method, tls) in [
        (PasswordMethod::TtlsPap, TlsChoice::Only12),
        (PasswordMethod::TtlsMschapv2, TlsChoice::Only13),
        (PasswordMethod::TtlsEapMschapv2, TlsChoice::Only12),
        (PasswordMethod::Peap, TlsChoice::Only13),
    ] {
        let label = format!("r1-noresume-{}-{}", method.label(), tls_name(tls).0);
        let before = f.server.log().matches(ACCEPT).count();
        let run = f.run(&label, &peer(method, "bob", tls), &["-r1"]);
        assert_accepted(&run, 2, &f.server);
        assert!(
            !run.contains("OpenSSL: Handshake finished - resumed=1"),
            "{label}: resumed although resumption is off:\n{}",
            run.output
        );
        let second = f.nth_line(ACCEPT, before + 1, &run);
        assert_eq!(field(&second, "resumed"), Some("false"), "{second}");
    }
}
