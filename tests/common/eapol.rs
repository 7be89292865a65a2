//! Runners for `eapol_test` (wpa_supplicant's RADIUS test client): its
//! network blocks for EAP-TLS and the password methods, the configuration
//! file, one run against authd, and reading its hexdumps.

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{Creds, SECRET, require_tool, wait_bounded};

/// Which TLS versions a peer may use (wpa_supplicant `phase1` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsChoice {
    /// TLS 1.2 only.
    Only12,
    /// TLS 1.3 only.
    Only13,
}

impl TlsChoice {
    pub fn phase1(self) -> &'static str {
        match self {
            TlsChoice::Only12 => {
                "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=0 tls_disable_tlsv1_3=1"
            }
            TlsChoice::Only13 => {
                "tls_disable_tlsv1_0=1 tls_disable_tlsv1_1=1 tls_disable_tlsv1_2=1 tls_disable_tlsv1_3=0"
            }
        }
    }
}

/// The `network={...}` block shared by eapol_test and wpa_supplicant.
pub fn network_block(creds: &Creds, ca_cert: &Path, tls: TlsChoice) -> String {
    format!(
        "network={{\n\
         \tkey_mgmt=IEEE8021X\n\
         \teap=TLS\n\
         \tidentity=\"{}\"\n\
         \tca_cert=\"{}\"\n\
         \tclient_cert=\"{}\"\n\
         \tprivate_key=\"{}\"\n\
         \teapol_flags=0\n\
         \tphase1=\"{}\"\n\
         }}\n",
        creds.name,
        ca_cert.display(),
        creds.cert.display(),
        creds.key.display(),
        tls.phase1(),
    )
}

/// A password method of wpa_supplicant: PEAP-MSCHAPv2 or EAP-TTLS with one
/// of its inner methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordMethod {
    /// PEAPv0 with EAP-MSCHAPv2.
    Peap,
    /// EAP-TTLS with PAP (RFC 5281 section 11.2.5).
    TtlsPap,
    /// EAP-TTLS with MS-CHAP-V2 in AVPs (RFC 5281 section 11.2.4).
    TtlsMschapv2,
    /// EAP-TTLS with EAP-MSCHAPv2 in EAP-Message AVPs.
    TtlsEapMschapv2,
}

impl PasswordMethod {
    pub const ALL: [PasswordMethod; 4] = [
        PasswordMethod::Peap,
        PasswordMethod::TtlsPap,
        PasswordMethod::TtlsMschapv2,
        PasswordMethod::TtlsEapMschapv2,
    ];

    /// wpa_supplicant's `eap=`.
    pub fn eap(self) -> &'static str {
        match self {
            PasswordMethod::Peap => "PEAP",
            _ => "TTLS",
        }
    }

    /// wpa_supplicant's `phase2=`.
    pub fn phase2(self) -> &'static str {
        match self {
            PasswordMethod::Peap => "auth=MSCHAPV2",
            PasswordMethod::TtlsPap => "auth=PAP",
            PasswordMethod::TtlsMschapv2 => "auth=MSCHAPV2",
            PasswordMethod::TtlsEapMschapv2 => "autheap=MSCHAPV2",
        }
    }

    /// How authd names it on its Access-Accept line (`method=`, `inner=`).
    pub fn logged(self) -> (&'static str, &'static str) {
        match self {
            PasswordMethod::Peap => ("PEAP", "eap-mschapv2"),
            PasswordMethod::TtlsPap => ("EAP-TTLS", "pap"),
            PasswordMethod::TtlsMschapv2 => ("EAP-TTLS", "mschapv2"),
            PasswordMethod::TtlsEapMschapv2 => ("EAP-TTLS", "eap-mschapv2"),
        }
    }

    /// A short name for files and messages.
    pub fn label(self) -> &'static str {
        match self {
            PasswordMethod::Peap => "peap",
            PasswordMethod::TtlsPap => "ttls-pap",
            PasswordMethod::TtlsMschapv2 => "ttls-mschapv2",
            PasswordMethod::TtlsEapMschapv2 => "ttls-eap-mschapv2",
        }
    }
}

/// A password user as wpa_supplicant presents itself.
#[derive(Debug, Clone)]
pub struct PasswordPeer<'a> {
    pub method: PasswordMethod,
    /// The inner identity (and, without `anonymous`, the outer one).
    pub identity: &'a str,
    /// The outer identity (`anonymous_identity`), when it differs.
    pub anonymous: Option<&'a str>,
    pub password: &'a str,
    pub tls: TlsChoice,
}

/// The `network={...}` block of a PEAP or TTLS password peer that checks
/// the server certificate against `ca_cert`.
pub fn password_network_block(peer: &PasswordPeer, ca_cert: &Path) -> String {
    let phase1 = match peer.method {
        PasswordMethod::Peap => format!("peapver=0 {}", peer.tls.phase1()),
        _ => peer.tls.phase1().to_owned(),
    };
    let anonymous = peer
        .anonymous
        .map(|a| format!("\tanonymous_identity=\"{a}\"\n"))
        .unwrap_or_default();
    // A backslash (DOMAIN\user) is written as is: wpa_supplicant reads
    // quoted strings without escapes.
    format!(
        "network={{\n\
         \tkey_mgmt=IEEE8021X\n\
         \teap={}\n\
         \tidentity=\"{}\"\n\
         {anonymous}\
         \tpassword=\"{}\"\n\
         \tca_cert=\"{}\"\n\
         \teapol_flags=0\n\
         \tphase1=\"{phase1}\"\n\
         \tphase2=\"{}\"\n\
         }}\n",
        peer.method.eap(),
        peer.identity,
        peer.password,
        ca_cert.display(),
        peer.method.phase2(),
    )
}

/// Writes an eapol_test configuration file for a password peer.
pub fn write_password_eapol_conf(
    dir: &Path,
    label: &str,
    peer: &PasswordPeer,
    ca_cert: &Path,
) -> PathBuf {
    let path = dir.join(format!("eapol-{label}.conf"));
    fs::write(&path, password_network_block(peer, ca_cert)).unwrap();
    path
}

/// Writes an eapol_test configuration file.
pub fn write_eapol_conf(
    dir: &Path,
    label: &str,
    creds: &Creds,
    ca_cert: &Path,
    tls: TlsChoice,
) -> PathBuf {
    let path = dir.join(format!("eapol-{label}.conf"));
    fs::write(&path, network_block(creds, ca_cert, tls)).unwrap();
    path
}

/// What one eapol_test run printed.
#[derive(Debug)]
pub struct EapolRun {
    /// Exit status; `None` if it ran past the time limit and was killed.
    pub status: Option<ExitStatus>,
    pub output: String,
}

impl EapolRun {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    pub fn contains(&self, needle: &str) -> bool {
        self.output.contains(needle)
    }

    /// The hexdump bytes of the first line starting with `title`, e.g.
    /// `EAP-TLS: Derived Session-Id - hexdump(len=65): 0d 01 ...`.
    pub fn hexdump(&self, title: &str) -> Option<Vec<u8>> {
        hexdump(&self.output, title)
    }
}

/// Parses the bytes of a wpa_supplicant/hostapd `hexdump` line whose title
/// is `title` (any prefix, such as a timestamp, is skipped).
pub fn hexdump(output: &str, title: &str) -> Option<Vec<u8>> {
    let needle = format!("{title} - hexdump(len=");
    output.lines().find_map(|line| {
        let rest = &line[line.find(&needle)? + needle.len()..];
        let (_, bytes) = rest.split_once("):")?;
        bytes
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).ok())
            .collect()
    })
}

/// Runs `eapol_test` against the server with the loopback secret.
pub fn run_eapol_test(conf: &Path, port: u16, extra: &[&str]) -> EapolRun {
    run_eapol_test_with_secret(conf, port, SECRET, extra)
}

pub fn run_eapol_test_with_secret(
    conf: &Path,
    port: u16,
    secret: &str,
    extra: &[&str],
) -> EapolRun {
    require_tool("eapol_test");
    let out_path = conf.with_extension("out");
    let out = fs::File::create(&out_path).unwrap();
    let mut child = Command::new("eapol_test")
        .arg(format!("-c{}", conf.display()))
        .arg("-a127.0.0.1")
        .arg(format!("-p{port}"))
        .arg(format!("-s{secret}"))
        .arg("-r0")
        .arg("-t10")
        .arg("-M02:00:00:00:00:01")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn eapol_test");
    let status = wait_bounded(&mut child, Duration::from_secs(30));
    let output = fs::read_to_string(&out_path).unwrap_or_default();
    EapolRun { status, output }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_lines_parse() {
        let out = "1700000000.1: EAP-TLS: Derived key - hexdump(len=4): 0a ff 00 10\n\
                   MS-MPPE-Recv-Key - hexdump(len=2): [REMOVED]\n";
        assert_eq!(
            hexdump(out, "EAP-TLS: Derived key"),
            Some(vec![0x0a, 0xff, 0, 0x10])
        );
        assert_eq!(hexdump(out, "MS-MPPE-Recv-Key"), None);
        assert_eq!(hexdump(out, "Other"), None);
    }
}
