//! The embedded development default: what `authd` with no arguments runs.
//!
//! Listens on 127.0.0.1:1812 (and 1813 for accounting), trusts 127.0.0.1 with
//! the secret `testing123`, and uses a development PKI generated in the data
//! directory on first start (never overwritten). It also writes, next to the
//! PKI, an `eapol_test` configuration for the demo user and the same settings
//! as `authd.toml`, a starting point for a real configuration.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::pki::{DevPki, ensure_dev_pki};

pub const DEMO_USER: &str = "alice";
pub const DEFAULT_SECRET: &str = "testing123";

pub struct Prepared {
    pub config: Config,
    pub pki: DevPki,
    /// What to tell the person who started authd.
    pub banner: String,
}

fn quoted(p: &Path) -> String {
    toml::Value::String(p.display().to_string()).to_string()
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The default configuration text for a PKI.
pub fn config_text(pki: &DevPki) -> String {
    format!(
        r#"# authd development configuration (generated; edit freely).
[listen]
auth = "127.0.0.1:1812"
acct = "127.0.0.1:1813"

[[client]]
name = "localhost"
address = "127.0.0.1/32"
secret = "{secret}"

[tls]
certificate = {cert}
private_key = {key}
ca = {ca}
crl = [{crl}]

[database]
url = {db}
"#,
        secret = DEFAULT_SECRET,
        cert = quoted(&absolute(&pki.server_cert)),
        key = quoted(&absolute(&pki.server_key)),
        ca = quoted(&absolute(&pki.ca_cert)),
        crl = quoted(&absolute(&pki.crl)),
        db = toml::Value::String(crate::store::default_url(&absolute(&pki.dir))),
    )
}

/// An `eapol_test` network block for the demo user.
pub fn eapol_test_conf(pki: &DevPki, tls13: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "network={{");
    let _ = writeln!(s, "    key_mgmt=IEEE8021X");
    let _ = writeln!(s, "    eap=TLS");
    let _ = writeln!(s, "    eapol_flags=0");
    let _ = writeln!(s, "    identity=\"{}\"", pki.demo_user);
    let _ = writeln!(s, "    ca_cert=\"{}\"", absolute(&pki.ca_cert).display());
    let _ = writeln!(
        s,
        "    client_cert=\"{}\"",
        absolute(&pki.client_cert).display()
    );
    let _ = writeln!(
        s,
        "    private_key=\"{}\"",
        absolute(&pki.client_key).display()
    );
    if tls13 {
        let _ = writeln!(s, "    phase1=\"tls_disable_tlsv1_3=0\"");
    }
    let _ = writeln!(s, "}}");
    s
}

/// Make sure the data directory holds a PKI and return the configuration.
pub fn prepare(data_dir: &Path) -> Result<Prepared, Box<dyn std::error::Error>> {
    let (pki, created) = ensure_dev_pki(data_dir, DEMO_USER)?;
    let text = config_text(&pki);
    let config_file = data_dir.join("authd.toml");
    if !config_file.exists() {
        std::fs::write(&config_file, &text)?;
    }
    let eapol_file = data_dir.join("eapol_test.conf");
    std::fs::write(&eapol_file, eapol_test_conf(&pki, true))?;
    let config = Config::parse(&text, &config_file)?;
    let banner = format!(
        "authd: running on the embedded development default ({}).\n\
         \x20 data directory: {}\n\
         \x20 CA certificate: {}\n\
         \x20 demo user {:?}: certificate {} key {}\n\
         \x20 NAS client: 127.0.0.1, secret {:?}\n\
         \x20 the same settings as a config file: {}\n\
         \x20 try it: eapol_test -c {} -a 127.0.0.1 -s {}",
        if created {
            "new PKI generated"
        } else {
            "existing PKI"
        },
        absolute(data_dir).display(),
        absolute(&pki.ca_cert).display(),
        pki.demo_user,
        absolute(&pki.client_cert).display(),
        absolute(&pki.client_key).display(),
        DEFAULT_SECRET,
        absolute(&config_file).display(),
        absolute(&eapol_file).display(),
        DEFAULT_SECRET,
    );
    Ok(Prepared {
        config,
        pki,
        banner,
    })
}
