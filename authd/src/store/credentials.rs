//! Password credentials: the Argon2id hash (RFC 9106) that PAP and
//! TTLS-PAP check, and the NT hash (RFC 2759 section 8.3) that MS-CHAPv2
//! needs, kept encrypted under the credential key ([`crate::credkey`]).
//!
//! Both are written together: a password change either stores a fresh NT
//! hash or clears the old one, never leaving a stale one behind. Hashing
//! is the slow part (Argon2id), so it happens before a transaction opens:
//! [`Store::prepare_password`] and [`Store::prepare_import`] hash, the
//! writes only store what they made.

#![forbid(unsafe_code)]

use super::BeginWrite;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use eap_methods::mschapv2::NtHash;

use super::{Pool, Store, StoreError, hash_password, unix_micros, unix_now, validate};
use crate::credkey::CredentialKey;

/// What the store holds for a user's MS-CHAPv2 authentication.
pub enum NtCredential {
    /// No such user.
    UnknownUser,
    /// The user exists but has no NT hash: its password was set with
    /// `--no-mschap`, or without a credential key, or it has no password;
    /// or this server has no credential key loaded.
    NoCredential,
    /// The user's NT hash, decrypted.
    Hash(NtHash),
}

impl fmt::Debug for NtCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NtCredential::UnknownUser => "UnknownUser",
            NtCredential::NoCredential => "NoCredential",
            NtCredential::Hash(_) => "Hash(..)",
        })
    }
}

/// A password ready to be stored for one user: its Argon2id PHC string and,
/// when asked for and a key is configured, its NT hash sealed for that
/// user's name. Neither is shown by `Debug`.
pub struct PreparedPassword {
    user: String,
    argon2: String,
    nt_sealed: Option<String>,
}

impl PreparedPassword {
    /// Whether an NT hash (for MS-CHAPv2) is part of it.
    pub fn has_nt_hash(&self) -> bool {
        self.nt_sealed.is_some()
    }
}

impl fmt::Debug for PreparedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedPassword")
            .field("user", &self.user)
            .field("has_nt_hash", &self.has_nt_hash())
            .finish_non_exhaustive()
    }
}

/// One user of an import: created, or updated if it exists, with this
/// password, group and VLAN (`None`: no group, no VLAN of its own). Made
/// by [`Store::prepare_import`], which checks every field.
#[derive(Debug)]
pub struct UserImport {
    group: Option<String>,
    vlan: Option<String>,
    password: PreparedPassword,
}

impl UserImport {
    /// The user's name.
    pub fn name(&self) -> &str {
        &self.password.user
    }

    /// The cheap checks of [`Store::prepare_import`], without hashing: a
    /// valid user name, a password that is not empty, a valid VLAN.
    pub fn check(name: &str, password: &str, vlan: Option<&str>) -> Result<(), StoreError> {
        validate::user_name(name)?;
        validate::password(password)?;
        if let Some(g) = vlan {
            validate::vlan(g)?;
        }
        Ok(())
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Users that did not exist.
    pub created: u64,
    /// Users that existed: password, group and VLAN replaced.
    pub updated: u64,
    /// Users stored with an NT hash (MS-CHAPv2).
    pub with_nt_hash: u64,
}

impl Store {
    /// The same store, sealing and opening NT hashes with `key`. Without
    /// one, passwords are stored as Argon2id only and every user's
    /// [`NtCredential`] is `NoCredential`.
    pub fn with_credential_key(mut self, key: CredentialKey) -> Store {
        self.credential_key = Some(Arc::new(key));
        self
    }

    /// The credential key in use, if any.
    pub fn credential_key(&self) -> Option<&CredentialKey> {
        self.credential_key.as_deref()
    }

    /// Hashes `password` for user `name`: Argon2id always; the NT hash,
    /// sealed under the credential key, when `mschap` and a key is
    /// configured. Slow (Argon2id, about 19 MiB of memory): call it outside
    /// transactions, on a blocking thread where that matters.
    pub fn prepare_password(
        &self,
        name: &str,
        password: &str,
        mschap: bool,
    ) -> Result<PreparedPassword, StoreError> {
        validate::password(password)?;
        let argon2 = hash_password(password)?;
        let nt_sealed = match (mschap, self.credential_key()) {
            (true, Some(key)) => Some(
                key.seal_nt_hash(name, &NtHash::of_password(password))
                    .map_err(|_| StoreError::PasswordHash)?,
            ),
            _ => None,
        };
        Ok(PreparedPassword {
            user: name.to_owned(),
            argon2,
            nt_sealed,
        })
    }

    /// Checks and hashes one user of an import (see [`UserImport::check`]
    /// and [`Store::prepare_password`]).
    pub fn prepare_import(
        &self,
        name: &str,
        password: &str,
        group: Option<&str>,
        vlan: Option<&str>,
        mschap: bool,
    ) -> Result<UserImport, StoreError> {
        UserImport::check(name, password, vlan)?;
        if let Some(g) = group {
            validate::group_name(g)?;
        }
        Ok(UserImport {
            group: group.map(str::to_owned),
            vlan: vlan.map(str::to_owned),
            password: self.prepare_password(name, password, mschap)?,
        })
    }

    /// Sets a user's password: its Argon2id hash (PHC string) always, and
    /// its NT hash encrypted under the credential key when `mschap` and a
    /// key is configured; otherwise the NT hash is cleared, so an old one
    /// never outlives a password change. Returns whether an NT hash was
    /// stored. The password itself is never stored or logged.
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        mschap: bool,
    ) -> Result<bool, StoreError> {
        let prepared = self.prepare_password(name, password, mschap)?;
        self.set_prepared_password(&prepared).await?;
        Ok(prepared.has_nt_hash())
    }

    /// Stores a password [`Store::prepare_password`] made, for the user it
    /// was made for.
    pub async fn set_prepared_password(&self, p: &PreparedPassword) -> Result<(), StoreError> {
        let detail = format!(
            "password changed; nt_hash={}",
            if p.has_nt_hash() { "set" } else { "none" }
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE users SET password_hash = $1, nt_hash_encrypted = $2 WHERE name = $3",
            )
            .bind(&p.argon2)
            .bind(&p.nt_sealed)
            .bind(&p.user)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound { kind: "user", name: p.user.clone() });
            }
            audit!(tx, &self.actor, "user.passwd", &p.user, detail);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The MS-CHAPv2 credential of `name`. A stored NT hash that does not
    /// decrypt (another key, or a value altered or copied from another
    /// user's row) is [`StoreError::Credential`], naming the user. Without a
    /// credential key every existing user is `NoCredential`.
    pub async fn nt_credential(&self, name: &str) -> Result<NtCredential, StoreError> {
        let row: Option<Option<String>> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT nt_hash_encrypted FROM users WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        let sealed = match row {
            None => return Ok(NtCredential::UnknownUser),
            Some(None) => return Ok(NtCredential::NoCredential),
            Some(Some(s)) => s,
        };
        let Some(key) = self.credential_key() else {
            return Ok(NtCredential::NoCredential);
        };
        key.open_nt_hash(name, &sealed)
            .map(NtCredential::Hash)
            .map_err(|e| StoreError::Credential {
                user: name.to_owned(),
                reason: e.to_string(),
            })
    }

    /// How many users have an NT hash that the loaded credential key cannot
    /// open because another key sealed it (all of them without a key): for
    /// a warning at start, when a key file was replaced or lost.
    pub async fn nt_hashes_under_other_keys(&self) -> Result<i64, StoreError> {
        let prefix = self
            .credential_key()
            .map_or_else(String::new, |k| format!("v1:{}:", k.id()));
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM users WHERE nt_hash_encrypted IS NOT NULL \
                 AND ($1 = '' OR substr(nt_hash_encrypted, 1, length($1)) <> $1)",
            )
            .bind(&prefix)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Creates or updates every user of `users` in one transaction, with
    /// one audit row (`user.import`, object `source`, the counts; never a
    /// password). Any failing user (unknown group, a name twice) aborts
    /// all of it: [`StoreError::InRecord`] with its index in `users`, and
    /// nothing is written. New users are enabled; an existing user keeps
    /// its enabled flag, Session-Timeout and certificates, and gets the
    /// password, group and VLAN of the import.
    pub async fn import_users(
        &self,
        source: &str,
        users: &[UserImport],
    ) -> Result<ImportSummary, StoreError> {
        let in_record = |index: usize, source: StoreError| StoreError::InRecord {
            index,
            source: Box::new(source),
        };
        let mut seen = HashSet::new();
        for (i, u) in users.iter().enumerate() {
            if !seen.insert(u.name()) {
                return Err(in_record(
                    i,
                    StoreError::invalid(
                        "import",
                        format!("user `{}` appears more than once", u.name()),
                    ),
                ));
            }
        }
        let with_nt_hash = users.iter().filter(|u| u.password.has_nt_hash()).count() as u64;
        let now = unix_now();
        let (created, updated) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (mut created, mut updated) = (0u64, 0u64);
            for (i, u) in users.iter().enumerate() {
                if let Some(group) = &u.group
                    && count!(tx, "SELECT COUNT(*) FROM groups WHERE name = $1", group) == 0
                {
                    return Err(in_record(i, StoreError::NotFound { kind: "group", name: group.clone() }));
                }
                if count!(tx, "SELECT COUNT(*) FROM users WHERE name = $1", u.name()) == 0 {
                    sqlx::query(
                        "INSERT INTO users (name, enabled, group_name, vlan, password_hash, \
                         nt_hash_encrypted, created_at) VALUES ($1, TRUE, $2, $3, $4, $5, $6)",
                    )
                    .bind(u.name())
                    .bind(&u.group)
                    .bind(&u.vlan)
                    .bind(&u.password.argon2)
                    .bind(&u.password.nt_sealed)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    created += 1;
                } else {
                    sqlx::query(
                        "UPDATE users SET group_name = $1, vlan = $2, password_hash = $3, \
                         nt_hash_encrypted = $4 WHERE name = $5",
                    )
                    .bind(&u.group)
                    .bind(&u.vlan)
                    .bind(&u.password.argon2)
                    .bind(&u.password.nt_sealed)
                    .bind(u.name())
                    .execute(&mut *tx)
                    .await?;
                    updated += 1;
                }
            }
            let detail = format!(
                "created={created} updated={updated} nt_hash={with_nt_hash}"
            );
            audit!(tx, &self.actor, "user.import", source, detail);
            tx.commit().await?;
            (created, updated)
        });
        Ok(ImportSummary {
            created,
            updated,
            with_nt_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_hash() {
        let c = NtCredential::Hash(NtHash::of_password("clientPass"));
        assert_eq!(format!("{c:?}"), "Hash(..)");
        let p = PreparedPassword {
            user: "alice".into(),
            argon2: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            nt_sealed: Some("v1:00000000:abcdef".into()),
        };
        let shown = format!("{p:?}");
        assert!(shown.contains("alice") && shown.contains("has_nt_hash: true"));
        assert!(
            !shown.contains("argon2") && !shown.contains("abcdef"),
            "{shown}"
        );
    }

    #[test]
    fn import_checks() {
        UserImport::check("alice", "pw", Some("10")).unwrap();
        UserImport::check("alice", "pw", None).unwrap();
        assert!(UserImport::check(" alice", "pw", None).is_err());
        assert!(UserImport::check("alice", "", None).is_err());
        assert!(UserImport::check("alice", "pw", Some("0")).is_err());
    }
}
