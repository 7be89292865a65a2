//! `[radsec]`: RADIUS over TLS (RFC 6614), and the `[[client]]` keys of
//! RadSec clients.
//!
//! The listener is on when `[listen] radsec` names an address. Its server
//! certificate, key and the CA(s) that issue the certificates of RadSec
//! clients default to `[tls]`'s. A `[[client]]` with `certificate_name` is
//! a RadSec client: the certificate it presents names it (a SAN dNSName,
//! else the subject CN, RFC 6614 §2.3), its `address` is a fence the TCP
//! source address must also fall within (`0.0.0.0/0` for any IPv4
//! source, `::/0` for any IPv6 one), and its shared secret is the fixed "radsec" (RFC 6614 §2.3),
//! so `secret` is left out. Such a client is never looked up by source
//! address on the UDP port.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ClientConfig, Config, Secret, TlsConfig, TlsVersion};

/// The shared secret of RADIUS over TLS (RFC 6614 §2.3).
pub const RADSEC_SECRET: &str = "radsec";

/// The `[radsec]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RadsecConfig {
    /// Server certificate chain (PEM), default `[tls] certificate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PathBuf>,
    /// Its private key, default `[tls] private_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PathBuf>,
    /// CA(s) that issue RadSec client certificates (may hold CRLs),
    /// default `[tls] ca`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Seconds a new connection has to finish the TLS handshake.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_secs: u64,
    /// Seconds without a request after which a connection is closed
    /// (a peer that sends Status-Server as its watchdog stays open).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Connections open at once, handshakes included.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections one RadSec client may hold open at once.
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
    /// RADIUS/1.1 (RFC 9765), negotiated by ALPN: `allow` (the default,
    /// RFC 9765 §3.3), `require` or `forbid`.
    #[serde(default)]
    pub radius_1_1: Radius11Mode,
    /// Octets all RadSec connections together may hold in requests in
    /// progress and replies not yet written; each request is charged
    /// [`RADSEC_REQUEST_CHARGE`] (a request and its reply of 4096 octets
    /// at most). A connection that finds the budget spent stops reading
    /// until replies drain (`crate::radsec`'s backpressure).
    #[serde(default = "default_max_buffered_bytes")]
    pub max_buffered_bytes: usize,
}

/// What one RadSec request in progress is charged against
/// `[radsec] max_buffered_bytes`: its packet and its reply, 4096 octets at
/// most each (RFC 6613 §2.1 keeps RFC 2865's maximum).
pub const RADSEC_REQUEST_CHARGE: usize = 2 * 4096;

/// `[radsec] radius_1_1`: which of RADIUS/1.1 and classic RadSec the
/// listener speaks (RFC 9765 §3.3; [`crate::radsec`] applies it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Radius11Mode {
    /// ALPN "radius/1.1" when the client offers it (TLS 1.3 only),
    /// classic RadSec ("radius/1.0", or no ALPN) otherwise.
    #[default]
    Allow,
    /// Only RADIUS/1.1: a client that does not offer it is refused.
    Require,
    /// Only classic RadSec: a client that offers only "radius/1.1" gets
    /// the TLS alert no_application_protocol (RFC 7301 §3.2).
    Forbid,
}

fn default_handshake_timeout() -> u64 {
    10
}

fn default_idle_timeout() -> u64 {
    300
}

fn default_max_connections() -> usize {
    1024
}

fn default_max_connections_per_client() -> usize {
    8
}

fn default_max_buffered_bytes() -> usize {
    32 << 20
}

impl Default for RadsecConfig {
    fn default() -> RadsecConfig {
        RadsecConfig {
            certificate: None,
            private_key: None,
            ca: None,
            handshake_timeout_secs: default_handshake_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            max_connections: default_max_connections(),
            max_connections_per_client: default_max_connections_per_client(),
            radius_1_1: Radius11Mode::default(),
            max_buffered_bytes: default_max_buffered_bytes(),
        }
    }
}

impl RadsecConfig {
    /// The TLS settings of the listener: `[tls]` with this table's files,
    /// TLS 1.2 and 1.3 (RFC 6614 §2.3 asks 1.1 or later; 1.2 is the
    /// floor here), no session resumption (connections are long-lived),
    /// and none of EAP's 192-bit restriction.
    pub fn tls(&self, base: &TlsConfig) -> TlsConfig {
        let mut tls = base.clone();
        if let Some(p) = &self.certificate {
            tls.certificate = p.clone();
        }
        if let Some(p) = &self.private_key {
            tls.private_key = p.clone();
        }
        if let Some(p) = &self.ca {
            tls.ca = p.clone();
        }
        tls.min_version = TlsVersion::Tls12;
        tls.max_version = TlsVersion::Tls13;
        tls.resumption = false;
        tls.suite_b_192 = false;
        tls
    }

    pub(super) fn resolve_paths(&mut self, base: &Path) {
        for p in [&mut self.certificate, &mut self.private_key, &mut self.ca]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }
}

/// The secret a `[[client]]` gets when it names none: only RadSec clients
/// may leave it out ([`validate`] says so).
pub(super) fn default_secret() -> Secret {
    Secret::new(RADSEC_SECRET).unwrap_or_else(|| unreachable!("a non-empty literal"))
}

impl ClientConfig {
    /// Whether this client talks RadSec (it has a `certificate_name`).
    pub fn is_radsec(&self) -> bool {
        self.certificate_name.is_some()
    }
}

/// The checks of the RadSec settings: an error message, or `Ok`.
pub(super) fn validate(config: &Config) -> Result<(), String> {
    for (i, c) in config.clients.iter().enumerate() {
        let fixed = c.secret.expose() == RADSEC_SECRET.as_bytes();
        match &c.certificate_name {
            Some(name) => {
                if name.trim().is_empty() {
                    return Err(format!("client `{}`: certificate_name is empty", c.name));
                }
                if !fixed {
                    return Err(format!(
                        "client `{}` has certificate_name (a RadSec client): its shared secret is \
                         the fixed \"radsec\" (RFC 6614 section 2.3); remove `secret`",
                        c.name
                    ));
                }
                if let Some(prev) = config.clients[..i].iter().find(|p| {
                    p.certificate_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                }) {
                    return Err(format!(
                        "clients `{}` and `{}` have the same certificate_name `{name}`",
                        prev.name, c.name
                    ));
                }
            }
            None if fixed => {
                return Err(format!(
                    "client `{}` has no `secret` (only a RadSec client, with certificate_name, \
                     goes without one)",
                    c.name
                ));
            }
            None => {}
        }
    }
    if config.radsec.max_connections == 0 || config.radsec.max_connections_per_client == 0 {
        return Err(
            "[radsec] max_connections and max_connections_per_client must be at least 1".into(),
        );
    }
    if config.radsec.max_buffered_bytes < RADSEC_REQUEST_CHARGE
        || config.radsec.max_buffered_bytes > u32::MAX as usize
    {
        return Err(format!(
            "[radsec] max_buffered_bytes must be between {RADSEC_REQUEST_CHARGE} (one request and its reply) and {}",
            u32::MAX
        ));
    }
    if config.radsec.handshake_timeout_secs == 0 || config.radsec.idle_timeout_secs == 0 {
        return Err(
            "[radsec] handshake_timeout_secs and idle_timeout_secs must be at least 1".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::ConfigError;
    use super::*;

    const BASE: &str = r#"
[listen]
radsec = "127.0.0.1:2083"
[tls]
certificate = "pki/server.pem"
private_key = "pki/server.key"
ca = "pki/ca.pem"
"#;

    fn parse(extra: &str) -> Result<Config, ConfigError> {
        Config::parse(
            &format!("{BASE}{extra}"),
            Path::new("/etc/authd/authd.toml"),
        )
    }

    fn invalid(extra: &str) -> String {
        match parse(extra) {
            Err(ConfigError::Invalid { message, .. }) => message,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn radsec_client_without_secret_and_defaults() {
        let c = parse(
            "[[client]]\nname = \"proxy\"\naddress = \"0.0.0.0/0\"\n\
             certificate_name = \"proxy.example.org\"\n",
        )
        .unwrap();
        assert_eq!(c.listen.radsec, Some("127.0.0.1:2083".parse().unwrap()));
        assert!(c.clients[0].is_radsec());
        assert_eq!(c.clients[0].secret.expose(), b"radsec");
        let tls = c.radsec.tls(&c.tls);
        assert_eq!(tls.certificate, c.tls.certificate);
        assert_eq!(tls.ca, Path::new("/etc/authd/pki/ca.pem"));
        assert!(!tls.resumption);
        assert_eq!(c.radsec.max_connections_per_client, 8);
        assert_eq!(c.radsec.max_buffered_bytes, 32 << 20);
        // The round trip through to_toml keeps the client a RadSec client.
        let back = Config::parse(&c.to_toml(), Path::new("/x/authd.toml")).unwrap();
        assert_eq!(
            back.clients[0].certificate_name.as_deref(),
            Some("proxy.example.org")
        );
    }

    #[test]
    fn radsec_table_overrides_and_resolves_paths() {
        let c = parse(
            "[radsec]\nca = \"radsec-ca.pem\"\ncertificate = \"/abs/rs.pem\"\nidle_timeout_secs = 60\n",
        )
        .unwrap();
        let tls = c.radsec.tls(&c.tls);
        assert_eq!(tls.ca, Path::new("/etc/authd/radsec-ca.pem"));
        assert_eq!(tls.certificate, Path::new("/abs/rs.pem"));
        assert_eq!(tls.private_key, Path::new("/etc/authd/pki/server.key"));
        assert_eq!(c.radsec.idle_timeout_secs, 60);
        assert!(matches!(
            parse("[radsec]\nbogus = 1\n"),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn radius_1_1_mode_defaults_to_allow() {
        assert_eq!(parse("").unwrap().radsec.radius_1_1, Radius11Mode::Allow);
        for (text, mode) in [
            ("allow", Radius11Mode::Allow),
            ("require", Radius11Mode::Require),
            ("forbid", Radius11Mode::Forbid),
        ] {
            let c = parse(&format!("[radsec]\nradius_1_1 = \"{text}\"\n")).unwrap();
            assert_eq!(c.radsec.radius_1_1, mode);
        }
        assert!(matches!(
            parse("[radsec]\nradius_1_1 = \"yes\"\n"),
            Err(ConfigError::Syntax { .. })
        ));
    }

    #[test]
    fn buffer_budget_holds_at_least_one_request() {
        let c = parse("[radsec]\nmax_buffered_bytes = 8192\n").unwrap();
        assert_eq!(c.radsec.max_buffered_bytes, RADSEC_REQUEST_CHARGE);
        let m = invalid("[radsec]\nmax_buffered_bytes = 8191\n");
        assert!(m.contains("max_buffered_bytes"), "{m}");
    }

    #[test]
    fn secrets_and_names_are_checked() {
        // A UDP client must name its secret.
        let m = invalid("[[client]]\nname = \"ap\"\naddress = \"10.0.0.1\"\n");
        assert!(m.contains("no `secret`"), "{m}");
        // A RadSec client with another secret.
        let m = invalid(
            "[[client]]\nname = \"p\"\naddress = \"::/0\"\ncertificate_name = \"p.example\"\nsecret = \"other\"\n",
        );
        assert!(m.contains("RFC 6614"), "{m}");
        // Two clients, one certificate name (case-insensitive, as DNS).
        let m = invalid(
            "[[client]]\nname = \"a\"\naddress = \"::/0\"\ncertificate_name = \"P.example\"\n\
             [[client]]\nname = \"b\"\naddress = \"::/0\"\ncertificate_name = \"p.example\"\n",
        );
        assert!(m.contains("same certificate_name"), "{m}");
        // Control: a UDP client with a secret next to a RadSec client.
        assert!(
            parse(
                "[[client]]\nname = \"ap\"\naddress = \"10.0.0.1\"\nsecret = \"s3cret\"\n\
                 [[client]]\nname = \"p\"\naddress = \"::/0\"\ncertificate_name = \"p.example\"\n"
            )
            .is_ok()
        );
    }
}
