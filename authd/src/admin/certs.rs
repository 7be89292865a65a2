//! `authd cert` and `authd pki`: certificates issued, revoked and listed,
//! and the files of a PKI.

use super::*;

pub(super) fn ca_paths(db: &DbArgs, ca: &CaArgs) -> (PathBuf, PathBuf) {
    (
        ca.ca_cert
            .clone()
            .unwrap_or_else(|| db.data_dir.join("ca.pem")),
        ca.ca_key
            .clone()
            .unwrap_or_else(|| db.data_dir.join("ca.key")),
    )
}

/// A file name for `user`: characters other than `A-Z a-z 0-9 @ . _ -`
/// become `_`, and a leading `.` too.
pub(super) fn file_stem(user: &str) -> String {
    let mut s: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    s
}

#[derive(Serialize)]
struct IssuedOutput {
    serial: String,
    user: String,
    subject: String,
    not_after: i64,
    certificate: PathBuf,
    private_key: PathBuf,
    pkcs12: Option<PathBuf>,
}

pub(super) async fn cert_command(
    store: &Store,
    db: &DbArgs,
    ca: &CaArgs,
    cmd: CertCommand,
    out: &mut String,
) -> Result<(), AdminError> {
    match cmd {
        CertCommand::Issue {
            user,
            out: dir,
            days,
            p12,
            rsa,
        } => {
            store.user(&user).await?;
            let stem = file_stem(&user);
            let cert_path = dir.join(format!("{stem}.pem"));
            let key_path = dir.join(format!("{stem}.key"));
            let p12_path = p12.then(|| dir.join(format!("{stem}.p12")));
            for p in [Some(&cert_path), Some(&key_path), p12_path.as_ref()]
                .into_iter()
                .flatten()
            {
                if p.exists() {
                    return Err(AdminError::Usage(format!(
                        "{} exists; not overwritten (use --out DIR)",
                        p.display()
                    )));
                }
            }
            if !dir.exists() {
                // Private keys go in here: owner only.
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
                    .map_err(|e| AdminError::Usage(format!("{}: {e}", dir.display())))?;
            }
            if !dir.is_dir() {
                return Err(AdminError::Usage(format!(
                    "{}: not a directory",
                    dir.display()
                )));
            }
            let p12_password = if p12 {
                Some(read_secret("PKCS#12 password", true)?)
            } else {
                None
            };
            let (ca_cert, ca_key) = ca_paths(db, ca);
            let authority = CertificateAuthority::load(&ca_cert, &ca_key)?;
            let key = match (rsa, authority.key_kind()) {
                (true, _) => KeyKind::Rsa2048,
                (false, KeyKind::EcdsaP384) => KeyKind::EcdsaP384,
                (false, _) => KeyKind::EcdsaP256,
            };
            let issued = authority.issue_client_for_days(&user, key, days)?;
            let not_after = store::unix_seconds(issued.not_after);
            let serial = hex::encode(&issued.serial);
            let subject = format!("CN={user}");
            // Recorded before the files are written: a certificate on disk
            // is always one the store can revoke.
            store
                .add_certificate(&NewCertificate {
                    issuer: certificate_issuer(&issued.cert_pem)?,
                    serial: serial.clone(),
                    subject: subject.clone(),
                    user: user.clone(),
                    not_after,
                })
                .await?;
            issued.write(&cert_path, &key_path)?;
            if let (Some(path), Some(password)) = (&p12_path, &p12_password) {
                let bundle = pkcs12(&issued, &authority.cert_pem(), &user, password)?;
                write_private(path, &bundle)?;
            }
            if db.json {
                return json(
                    out,
                    &IssuedOutput {
                        serial: store::normalize_serial(&serial)?,
                        user,
                        subject,
                        not_after,
                        certificate: cert_path,
                        private_key: key_path,
                        pkcs12: p12_path,
                    },
                );
            }
            let _ = writeln!(out, "issued certificate {serial} to user {user:?}");
            let _ = writeln!(out, "  valid until  {}", format_time(not_after));
            let _ = writeln!(out, "  certificate  {}", cert_path.display());
            let _ = writeln!(out, "  private key  {}", key_path.display());
            if let Some(p) = &p12_path {
                let _ = writeln!(out, "  PKCS#12      {}", p.display());
            }
            Ok(())
        }
        CertCommand::List { user } => {
            if let Some(u) = &user {
                store.user(u).await?;
            }
            let certs = store.list_certificates(user.as_deref()).await?;
            if db.json {
                return json(out, &certs);
            }
            cert_table(out, &certs);
            Ok(())
        }
        CertCommand::Revoke {
            serial,
            cert,
            reason,
        } => {
            let reason = RevocationReasonName::parse(&reason).ok_or_else(|| {
                AdminError::Usage(format!(
                    "unknown revocation reason {reason:?}; one of: {}",
                    RevocationReasonName::names().collect::<Vec<_>>().join(", ")
                ))
            })?;
            let since = crate::store::unix_seconds(SystemTime::now());
            let record = match (serial, cert) {
                (_, Some(path)) => {
                    let der = certificate_file(&path)?;
                    store
                        .revoke_presented_certificate(&der, reason, SystemTime::now())
                        .await?
                }
                (Some(serial), None) => {
                    store
                        .revoke_certificate(&serial, reason, SystemTime::now())
                        .await?
                }
                (None, None) => {
                    return Err(AdminError::Usage(
                        "name the certificate: SERIAL or --cert FILE".into(),
                    ));
                }
            };
            if db.json {
                return json(out, &record);
            }
            let _ = writeln!(
                out,
                "certificate {} of user {:?} revoked ({reason}); rejected from its next authentication",
                record.serial, record.user
            );
            disconnect::print_queued(store, since, out).await
        }
        CertCommand::Crl { days } => {
            if days == 0 {
                return Err(AdminError::Usage("--days must be at least 1".into()));
            }
            let (ca_cert, ca_key) = ca_paths(db, ca);
            let authority = CertificateAuthority::load(&ca_cert, &ca_key)?;
            // Only this CA's certificates: a serial means nothing in
            // another issuer's CRL (RFC 5280 section 5.1.2.3).
            let ca_subject = certificate_subject(&authority.cert_pem())?;
            let (number, revoked) = store.revoked_for_crl(&ca_subject).await?;
            let mut entries = Vec::with_capacity(revoked.len());
            for c in &revoked {
                let serial = hex::decode(&c.serial).map_err(|_| StoreError::Invalid {
                    what: "serial number in the store",
                    reason: c.serial.clone(),
                })?;
                let reason = c
                    .reason
                    .as_deref()
                    .and_then(RevocationReasonName::parse)
                    .and_then(crl_reason);
                entries.push((
                    serial,
                    store::system_time(c.revoked_at.unwrap_or(0)),
                    reason,
                ));
            }
            let now = SystemTime::now();
            let next = now + Duration::from_secs(86_400) * days;
            let pem = authority.crl(&entries, now, next, number)?;
            out.push_str(&pem);
            if !pem.ends_with('\n') {
                out.push('\n');
            }
            Ok(())
        }
    }
}

/// The rcgen reason code; `unspecified` is left out of the CRL entry, as
/// RFC 5280 section 5.3.1 recommends.
pub(super) fn crl_reason(r: RevocationReasonName) -> Option<crate::pki::RevocationReason> {
    use crate::pki::RevocationReason as R;
    Some(match r {
        RevocationReasonName::KeyCompromise => R::KeyCompromise,
        RevocationReasonName::CaCompromise => R::CaCompromise,
        RevocationReasonName::AffiliationChanged => R::AffiliationChanged,
        RevocationReasonName::Superseded => R::Superseded,
        RevocationReasonName::CessationOfOperation => R::CessationOfOperation,
        RevocationReasonName::CertificateHold => R::CertificateHold,
        RevocationReasonName::PrivilegeWithdrawn => R::PrivilegeWithdrawn,
        RevocationReasonName::AaCompromise => R::AaCompromise,
        _ => return None,
    })
}

pub(super) fn cert_table(out: &mut String, certs: &[store::CertificateRecord]) {
    let rows = certs
        .iter()
        .map(|c| {
            let state = match (c.revoked_at, &c.reason) {
                (Some(at), reason) => format!("revoked {} ({})", format_time(at), opt(reason)),
                (None, _) => "valid".to_owned(),
            };
            vec![
                c.serial.clone(),
                c.user.clone(),
                c.subject.clone(),
                format_time(c.not_after),
                state,
            ]
        })
        .collect();
    table(
        out,
        &["SERIAL", "USER", "SUBJECT", "NOT-AFTER", "STATUS"],
        rows,
    );
}

pub(super) fn pki_command(cmd: PkiCommand, out: &mut String) -> Result<(), AdminError> {
    match cmd {
        PkiCommand::Init {
            dir,
            data_dir,
            ca_name,
            server_names,
            ca_days,
            server_days,
            p384,
        } => {
            let dir = dir.unwrap_or(data_dir);
            let files =
                ["ca.pem", "ca.key", "server.pem", "server.key", "crl.pem"].map(|f| dir.join(f));
            if let Some(existing) = files.iter().find(|f| f.exists()) {
                return Err(AdminError::Usage(format!(
                    "{} exists; not overwritten",
                    existing.display()
                )));
            }
            let common_name = server_names
                .first()
                .cloned()
                .ok_or_else(|| AdminError::Usage("give at least one --server-name".into()))?;
            if !dir.exists() {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)
                    .map_err(io_err(dir.display().to_string()))?;
            }
            let kind = if p384 {
                KeyKind::EcdsaP384
            } else {
                KeyKind::EcdsaP256
            };
            let authority = CertificateAuthority::generate_with(&ca_name, ca_days, kind)?;
            let server =
                authority.issue_server_with(&common_name, &server_names, server_days, kind)?;
            let now = SystemTime::now();
            let crl = authority.crl(&[], now, now + Duration::from_secs(30 * 86_400), 0)?;
            let [ca_cert, ca_key, server_cert, server_key, crl_path] = files;
            authority.save(&ca_cert, &ca_key)?;
            server.write(&server_cert, &server_key)?;
            fs::write(&crl_path, crl).map_err(io_err(crl_path.display().to_string()))?;
            let _ = writeln!(out, "created in {}:", dir.display());
            for (what, p) in [
                ("CA certificate", &ca_cert),
                ("CA key", &ca_key),
                ("server certificate", &server_cert),
                ("server key", &server_key),
                ("CRL", &crl_path),
            ] {
                let _ = writeln!(out, "  {what:<19} {}", p.display());
            }
            Ok(())
        }
    }
}

use std::os::unix::fs::DirBuilderExt;

pub(super) fn write_private(path: &Path, data: &[u8]) -> Result<(), AdminError> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err(path.display().to_string()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(io_err(path.display().to_string()))
}

/// The issuer of the certificate in `pem`.
pub(super) fn certificate_issuer(pem: &str) -> Result<store::IssuerName, AdminError> {
    let der = crate::certs::pem_block_der(pem)
        .ok_or_else(|| AdminError::Usage("certificate: no PEM block".into()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| AdminError::Usage(format!("certificate does not parse: {e}")))?;
    Ok(store::IssuerName {
        der: cert.issuer().as_raw().to_vec(),
        text: cert.issuer().to_string(),
    })
}

/// The subject Name (DER) of the certificate in `pem`.
pub(super) fn certificate_subject(pem: &str) -> Result<Vec<u8>, AdminError> {
    let der = crate::certs::pem_block_der(pem)
        .ok_or_else(|| AdminError::Usage("certificate: no PEM block".into()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| AdminError::Usage(format!("certificate does not parse: {e}")))?;
    Ok(cert.subject().as_raw().to_vec())
}

/// The DER of the (first) certificate of a PEM or DER file.
pub(super) fn certificate_file(path: &Path) -> Result<Vec<u8>, AdminError> {
    let bytes =
        std::fs::read(path).map_err(|e| AdminError::Usage(format!("{}: {e}", path.display())))?;
    let der = match std::str::from_utf8(&bytes)
        .ok()
        .and_then(crate::certs::pem_block_der)
    {
        Some(der) => der,
        None => bytes,
    };
    if x509_parser::parse_x509_certificate(&der).is_err() {
        return Err(AdminError::Usage(format!(
            "{}: not a certificate (PEM or DER)",
            path.display()
        )));
    }
    Ok(der)
}

/// A PKCS#12 bundle (RFC 7292) of the key, the certificate and the CA
/// certificate, encrypted with PBES2 AES-256-CBC and MACed with
/// HMAC-SHA-256 (RFC 9579), as OpenSSL 3 writes by default.
pub(super) fn pkcs12(
    issued: &crate::pki::Issued,
    ca_pem: &str,
    alias: &str,
    password: &str,
) -> Result<Vec<u8>, AdminError> {
    let bad =
        |what: &str, e: &dyn std::fmt::Display| AdminError::Usage(format!("PKCS#12: {what}: {e}"));
    let leaf = crate::certs::pem_block_der(&issued.cert_pem)
        .ok_or_else(|| bad("certificate", &"no PEM block"))?;
    let ca = crate::certs::pem_block_der(ca_pem)
        .ok_or_else(|| bad("CA certificate", &"no PEM block"))?;
    let key = Zeroizing::new(
        crate::certs::pem_block_der(&issued.key_pem).ok_or_else(|| bad("key", &"no PEM block"))?,
    );
    let leaf = p12_keystore::Certificate::from_der(&leaf).map_err(|e| bad("certificate", &e))?;
    let ca = p12_keystore::Certificate::from_der(&ca).map_err(|e| bad("CA certificate", &e))?;
    let key = p12_keystore::PrivateKey::from_der(&key).map_err(|e| bad("key", &e))?;
    let chain = p12_keystore::PrivateKeyChain::new(issued.serial.clone(), key, [leaf, ca]);
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry(alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    ks.writer(password).write().map_err(|e| bad("writing", &e))
}
