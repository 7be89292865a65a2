//! Certificates issued and revoked, keyed by issuer and serial (a serial
//! is unique only per issuer, RFC 5280 §4.1.2.2).

use super::BeginWrite;
use super::*;

impl Store {
    // ----- certificates ------------------------------------------------

    /// Records a certificate issued to an existing user.
    pub async fn add_certificate(&self, cert: &NewCertificate) -> Result<(), StoreError> {
        let serial = normalize_serial(&cert.serial)?;
        let issuer = cert.issuer.key();
        let detail = format!(
            "user={} subject={} issuer={} not_after={}",
            cert.user, cert.subject, cert.issuer.text, cert.not_after
        );
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            if count!(tx, "SELECT COUNT(*) FROM users WHERE name = $1", &cert.user) == 0 {
                return Err(StoreError::NotFound { kind: "user", name: cert.user.clone() });
            }
            sqlx::query(
                "INSERT INTO certificates \
                 (issuer, issuer_name, serial, subject, user_name, issued_at, not_after) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&issuer)
            .bind(&cert.issuer.text)
            .bind(&serial)
            .bind(&cert.subject)
            .bind(&cert.user)
            .bind(now)
            .bind(cert.not_after)
            .execute(&mut *tx)
            .await
            .map_err(unique("certificate", &serial))?;
            audit!(tx, &self.actor, "cert.issue", &serial, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Certificates, newest first; only `user`'s when given.
    pub async fn list_certificates(
        &self,
        user: Option<&str>,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        let rows: Vec<model::CertificateRow> = with_pool!(self, pool => {
            match user {
                Some(u) => sqlx::query_as(AssertSqlSafe(format!(
                    "{} WHERE user_name = $1 ORDER BY issued_at DESC, serial, issuer",
                    model::CERT_SELECT
                )))
                .bind(u)
                .fetch_all(pool)
                .await?,
                None => sqlx::query_as(AssertSqlSafe(format!(
                    "{} ORDER BY issued_at DESC, serial, issuer",
                    model::CERT_SELECT
                )))
                .fetch_all(pool)
                .await?,
            }
        });
        Ok(rows.into_iter().map(CertificateRecord::from).collect())
    }

    /// One certificate by serial (hex, any case, colons allowed). A serial
    /// recorded for several issuers is ambiguous: an error that says so.
    pub async fn certificate(&self, serial: &str) -> Result<CertificateRecord, StoreError> {
        let serial = normalize_serial(serial)?;
        let rows: Vec<model::CertificateRow> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(format!(
                "{} WHERE serial = $1 ORDER BY issuer",
                model::CERT_SELECT
            )))
            .bind(&serial)
            .fetch_all(pool)
            .await?
        });
        one_by_serial(rows, serial)
    }

    /// One certificate by issuer key ([`issuer_key`]) and serial.
    async fn certificate_of(
        &self,
        issuer: &str,
        serial: &str,
    ) -> Result<CertificateRecord, StoreError> {
        let row: Option<model::CertificateRow> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(format!(
                "{} WHERE issuer = $1 AND serial = $2",
                model::CERT_SELECT
            )))
            .bind(issuer)
            .bind(serial)
            .fetch_optional(pool)
            .await?
        });
        row.map(CertificateRecord::from)
            .ok_or(StoreError::NotFound {
                kind: "certificate",
                name: serial.to_owned(),
            })
    }

    /// Revocation state of the certificate with issuer Name `issuer` (DER)
    /// and DER serial bytes `serial`. A row recorded before issuers were
    /// (issuer '') answers for its serial when no row of that issuer does.
    pub async fn certificate_status(
        &self,
        issuer: &[u8],
        serial: &[u8],
    ) -> Result<CertificateStatus, StoreError> {
        let serial = validate::serial_hex(serial);
        let issuer = issuer_key(issuer);
        let row: Option<model::CertificateRow> = with_pool!(self, pool => {
            sqlx::query_as(AssertSqlSafe(format!(
                "{} WHERE serial = $1 AND issuer IN ($2, '') ORDER BY issuer DESC LIMIT 1",
                model::CERT_SELECT
            )))
            .bind(&serial)
            .bind(&issuer)
            .fetch_optional(pool)
            .await?
        });
        Ok(match row.map(CertificateRecord::from) {
            None => CertificateStatus::Unknown,
            Some(c) => match c.revoked_at {
                Some(at) => CertificateStatus::Revoked {
                    user: c.user,
                    at,
                    reason: c.reason,
                },
                None => CertificateStatus::Valid { user: c.user },
            },
        })
    }

    /// Revokes the recorded certificate with this serial at `at`. Revoking
    /// a revoked certificate is an error that says when it was revoked; a
    /// serial recorded for several issuers is an error too (revoke by
    /// certificate, [`Store::revoke_presented_certificate`]).
    pub async fn revoke_certificate(
        &self,
        serial: &str,
        reason: RevocationReasonName,
        at: SystemTime,
    ) -> Result<CertificateRecord, StoreError> {
        let found = self.certificate(serial).await?;
        let at = unix_seconds(at);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE certificates SET revoked_at = $1, reason = $2 \
                 WHERE issuer = $3 AND serial = $4 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(reason.as_str())
            .bind(&found.issuer)
            .bind(&found.serial)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Invalid {
                    what: "certificate",
                    reason: format!("`{}` is already revoked", found.serial),
                });
            }
            let queued = enqueue_disconnects!(tx, disconnect::Target::Certificate { issuer: &found.issuer, serial: &found.serial }, "cert.revoke", &self.actor);
            audit!(tx, &self.actor, "cert.revoke", &found.serial, revoke_detail(&found.issuer_name, reason));
            tx.commit().await?;
            self.disconnects_queued(queued);
        });
        self.certificate_of(&found.issuer, &found.serial).await
    }

    /// Revokes the certificate `der` (DER), whoever issued it: by its
    /// issuer and serial, recording it first if the store does not know it
    /// (a certificate of another CA trusted by `[tls] ca`). Its user is the
    /// one recorded, else its subject common name (else the subject).
    pub async fn revoke_presented_certificate(
        &self,
        der: &[u8],
        reason: RevocationReasonName,
        at: SystemTime,
    ) -> Result<CertificateRecord, StoreError> {
        let cert = PresentedCertificate::parse(der)?;
        let issuer = cert.issuer.key();
        let at = unix_seconds(at);
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<model::CertificateRow> = sqlx::query_as(AssertSqlSafe(format!(
                "{} WHERE serial = $1 AND issuer IN ($2, '') ORDER BY issuer DESC LIMIT 1",
                model::CERT_SELECT
            )))
            .bind(&cert.serial)
            .bind(&issuer)
            .fetch_optional(&mut *tx)
            .await?;
            match row.map(CertificateRecord::from) {
                Some(r) if r.revoked_at.is_some() => {
                    return Err(StoreError::Invalid {
                        what: "certificate",
                        reason: format!("`{}` of {} is already revoked", r.serial, cert.issuer.text),
                    });
                }
                Some(r) => {
                    // A row without its issuer recorded gets it now.
                    sqlx::query(
                        "UPDATE certificates SET revoked_at = $1, reason = $2, \
                         issuer = $3, issuer_name = $4 WHERE issuer = $5 AND serial = $6",
                    )
                    .bind(at)
                    .bind(reason.as_str())
                    .bind(&issuer)
                    .bind(&cert.issuer.text)
                    .bind(&r.issuer)
                    .bind(&r.serial)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO certificates (issuer, issuer_name, serial, subject, \
                         user_name, issued_at, not_after, revoked_at, reason) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&issuer)
                    .bind(&cert.issuer.text)
                    .bind(&cert.serial)
                    .bind(&cert.subject)
                    .bind(&cert.user)
                    .bind(now)
                    .bind(cert.not_after)
                    .bind(at)
                    .bind(reason.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let queued = enqueue_disconnects!(tx, disconnect::Target::Certificate { issuer: &issuer, serial: &cert.serial }, "cert.revoke", &self.actor);
            audit!(tx, &self.actor, "cert.revoke", &cert.serial, revoke_detail(&cert.issuer.text, reason));
            tx.commit().await?;
            self.disconnects_queued(queued);
        });
        self.certificate_of(&issuer, &cert.serial).await
    }

    /// The revoked certificates (for a CRL) and a new CRL number: the
    /// counter is incremented, so every CRL gets a larger one (RFC 5280
    /// section 5.2.3). The CRL's creation is audited.
    /// Only certificates of `issuer` (Name DER, the CA that signs the CRL)
    /// are listed, and those recorded before issuers were.
    pub async fn revoked_for_crl(
        &self,
        issuer: &[u8],
    ) -> Result<(u64, Vec<CertificateRecord>), StoreError> {
        let issuer = issuer_key(issuer);
        let (number, rows): (i64, Vec<model::CertificateRow>) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let number = sqlx::query_scalar::<_, i64>(
                "UPDATE counters SET value = value + 1 WHERE name = 'crl_number' RETURNING value",
            )
            .fetch_one(&mut *tx)
            .await?;
            let rows = sqlx::query_as(AssertSqlSafe(format!(
                "{} WHERE revoked_at IS NOT NULL AND issuer IN ($1, '') \
                 ORDER BY revoked_at, serial",
                model::CERT_SELECT
            )))
            .bind(&issuer)
            .fetch_all(&mut *tx)
            .await?;
            audit!(tx, &self.actor, "cert.crl", format!("crl_number={number}"), format!("revoked={}", rows.len()));
            tx.commit().await?;
            (number, rows)
        });
        Ok((
            u64::try_from(number).unwrap_or(0),
            rows.into_iter().map(CertificateRecord::from).collect(),
        ))
    }

    /// Seeds the embedded development default, once per database: adds
    /// user `name` (unless it exists) and records its certificate (PEM).
    /// Returns whether it seeded now; later calls, even after the user was
    /// deleted, change nothing.
    pub async fn seed_demo_user(&self, name: &str, cert_pem: &str) -> Result<bool, StoreError> {
        let der = crate::certs::pem_certificate_der(cert_pem)
            .ok_or_else(|| StoreError::invalid("demo certificate", "no PEM certificate"))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| StoreError::invalid("demo certificate", e.to_string()))?;
        let serial = validate::serial_hex(cert.raw_serial());
        let subject = cert.subject().to_string();
        let issuer = issuer_key(cert.issuer().as_raw());
        let issuer_name = cert.issuer().to_string();
        let not_after = cert.validity().not_after.timestamp();
        let now = unix_now();
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let marked = sqlx::query("INSERT INTO counters (name, value) VALUES ('demo_seeded', 1)")
                .execute(&mut *tx)
                .await;
            match marked {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            if count!(tx, "SELECT COUNT(*) FROM users WHERE name = $1", name) == 0 {
                sqlx::query("INSERT INTO users (name, enabled, created_at) VALUES ($1, TRUE, $2)")
                    .bind(name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                audit!(tx, &self.actor, "user.add", name, "embedded default demo user");
            }
            let recorded = sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM certificates WHERE issuer = $1 AND serial = $2",
            )
            .bind(&issuer)
            .bind(&serial)
            .fetch_one(&mut *tx)
            .await?;
            if recorded == 0 {
                sqlx::query(
                    "INSERT INTO certificates \
                     (issuer, issuer_name, serial, subject, user_name, issued_at, not_after) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&issuer)
                .bind(&issuer_name)
                .bind(&serial)
                .bind(&subject)
                .bind(name)
                .bind(now)
                .bind(not_after)
                .execute(&mut *tx)
                .await?;
                audit!(tx, &self.actor, "cert.issue", &serial, format!("user={name} embedded default demo certificate"));
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// What a password check needs about `name`: its Argon2id hash (`None`
    /// without a password) and its authorization; `None` if there is no
    /// such user.
    pub async fn password_authorization(
        &self,
        name: &str,
    ) -> Result<Option<(Option<String>, Authorization)>, StoreError> {
        let row: Option<model::PasswordRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.enabled AS enabled, u.group_name AS group_name, \
                        u.vlan AS vlan, u.session_timeout AS session_timeout, \
                        g.vlan AS group_vlan, g.session_timeout AS group_session_timeout, \
                        u.password_hash AS password_hash \
                 FROM users u LEFT JOIN groups g ON g.name = u.group_name \
                 WHERE u.name = $1",
            )
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| (r.password_hash, Authorization::from(r.authorization))))
    }

    /// The change generation: it moves with every audited change (users,
    /// groups, certificates, clients). One cheap query, for servers to poll
    /// before trusting what they cached.
    pub async fn changes_generation(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>("SELECT value FROM counters WHERE name = 'changes'")
                .fetch_one(pool)
                .await?
        }))
    }
}

fn revoke_detail(issuer_name: &str, reason: RevocationReasonName) -> String {
    if issuer_name.is_empty() {
        format!("reason={}", reason.as_str())
    } else {
        format!("issuer={issuer_name} reason={}", reason.as_str())
    }
}

/// The one row of a serial looked up without its issuer.
fn one_by_serial(
    mut rows: Vec<model::CertificateRow>,
    serial: String,
) -> Result<CertificateRecord, StoreError> {
    match rows.len() {
        0 => Err(StoreError::NotFound {
            kind: "certificate",
            name: serial,
        }),
        1 => Ok(CertificateRecord::from(rows.remove(0))),
        n => Err(StoreError::Invalid {
            what: "certificate",
            reason: format!(
                "serial `{serial}` is recorded for {n} issuers; name the certificate file instead"
            ),
        }),
    }
}

/// What revoking a certificate by its file needs from it.
struct PresentedCertificate {
    issuer: IssuerName,
    serial: String,
    subject: String,
    user: String,
    not_after: i64,
}

impl PresentedCertificate {
    fn parse(der: &[u8]) -> Result<PresentedCertificate, StoreError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| StoreError::invalid("certificate", e.to_string()))?;
        let subject = cert.subject().to_string();
        let user = crate::certs::common_name(cert.subject())
            .filter(|cn| !cn.is_empty())
            .map_or_else(|| subject.clone(), str::to_owned);
        Ok(PresentedCertificate {
            issuer: IssuerName {
                der: cert.issuer().as_raw().to_vec(),
                text: cert.issuer().to_string(),
            },
            serial: validate::serial_hex(cert.raw_serial()),
            subject,
            user,
            not_after: cert.validity().not_after.timestamp(),
        })
    }
}
