//! The development PKI the embedded default creates on first start.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{BACKDATE, CertificateAuthority, DAY, KeyKind, PkiError, io_err, write_new};

/// The files of a development PKI (see [`ensure_dev_pki`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The directory holding the files.
    pub dir: PathBuf,
    /// `ca.pem`: the CA certificate (trust anchor for both sides).
    pub ca_cert: PathBuf,
    /// `ca.key`: the CA key, to issue more certificates.
    pub ca_key: PathBuf,
    /// `server.pem`: the server's certificate (the leaf alone).
    pub server_cert: PathBuf,
    /// `server.key`: its key.
    pub server_key: PathBuf,
    /// `client.pem`: the demo user's certificate.
    pub client_cert: PathBuf,
    /// `client.key`: its key.
    pub client_key: PathBuf,
    /// `crl.pem`: a CRL from the CA, empty when created.
    pub crl: PathBuf,
    /// The demo user's name (the client certificate's CN).
    pub demo_user: String,
}

/// Common name of the development CA.
pub const DEV_CA_NAME: &str = "authd development CA";

impl DevPki {
    pub(crate) fn paths(dir: &Path, demo_user: &str) -> DevPki {
        DevPki {
            dir: dir.to_owned(),
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            crl: dir.join("crl.pem"),
            demo_user: demo_user.to_owned(),
        }
    }

    pub(super) fn files(&self) -> [&PathBuf; 7] {
        [
            &self.ca_cert,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
            &self.crl,
        ]
    }
}

/// Makes sure `dir` holds a development PKI and returns its paths, and
/// whether it was created now.
///
/// If none of the files exist, creates `dir` (mode 0700 when new) and writes
/// a CA ("authd development CA", 10 years), a server certificate (CN
/// "authd", SAN DNS "authd.local" and "localhost", signed directly by the CA
/// so the chain is the leaf alone and EAP-TLS takes fewer round trips), a
/// client certificate for `demo_user`, and an empty CRL. Keys are mode 0600.
///
/// Never overwrites: if all files exist they are used as they are (the demo
/// user is read from the client certificate); if only some exist, this is an
/// [`PkiError::Incomplete`] error naming the missing ones.
pub fn ensure_dev_pki(dir: &Path, demo_user: &str) -> Result<(DevPki, bool), PkiError> {
    let mut pki = DevPki::paths(dir, demo_user);
    let mut missing = Vec::new();
    let mut present = 0;
    for f in pki.files() {
        match fs::symlink_metadata(f) {
            Ok(_) => present += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(f.clone()),
            Err(e) => {
                return Err(PkiError::Io {
                    path: f.clone(),
                    source: e,
                });
            }
        }
    }
    if missing.is_empty() {
        pki.demo_user = certificate_common_name(&pki.client_cert)?;
        return Ok((pki, false));
    }
    if present > 0 {
        return Err(PkiError::Incomplete {
            dir: dir.to_owned(),
            missing,
        });
    }

    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
    }
    let ca = CertificateAuthority::generate(DEV_CA_NAME, 3650)?;
    let server = ca.issue_server(
        "authd",
        &["authd.local".to_owned(), "localhost".to_owned()],
        825,
    )?;
    let client = ca.issue_client_for_days(demo_user, KeyKind::EcdsaP256, 365)?;
    let now = SystemTime::now();
    let crl = ca.crl(
        &[],
        now.checked_sub(BACKDATE).unwrap_or(now),
        now + DAY * 30,
        1,
    )?;

    ca.save(&pki.ca_cert, &pki.ca_key)?;
    server.write(&pki.server_cert, &pki.server_key)?;
    client.write(&pki.client_cert, &pki.client_key)?;
    write_new(&pki.crl, crl.as_bytes(), 0o644)?;
    Ok((pki, true))
}

/// The subject CN of the certificate in PEM file `path`.
pub fn certificate_common_name(path: &Path) -> Result<String, PkiError> {
    let pem = fs::read_to_string(path).map_err(io_err(path))?;
    let invalid = |reason: &str| PkiError::InvalidFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let der = crate::certs::pem_block_der(&pem).ok_or_else(|| invalid("no PEM certificate"))?;
    let (_, x509) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| invalid(&format!("certificate does not parse: {e}")))?;
    let cn = crate::certs::common_name(x509.subject())
        .ok_or_else(|| invalid("certificate has no UTF-8 common name"))?;
    Ok(cn.to_owned())
}
