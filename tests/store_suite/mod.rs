//! The store test suite, run against SQLite (`store_sqlite.rs`) and a
//! throwaway PostgreSQL cluster (`store_postgres.rs`), plus the helpers both
//! need: temporary directories, certificates, and the PostgreSQL cluster.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use authd::config::Secret;
use authd::credkey::CredentialKey;
use authd::pki::{CertificateAuthority, KeyKind};
use authd::policy::{Decision, IdentitySource, Policy};
use authd::store::{
    Authorization, CertificateStatus, Change, ClientEntry, ClientSync, GroupUpdate, IssuerName,
    NewCertificate, NtCredential, RevocationReasonName, Store, StoreError, UserAttributes,
    UserUpdate,
};
use eap_methods::mschapv2::NtHash;

mod certs;
mod support;

use certs::{certificates_and_policy, same_serial_other_issuer};
pub use support::*;

fn attrs(group: Option<&str>, vlan: Option<&str>, timeout: Option<u32>) -> UserAttributes {
    UserAttributes {
        group: group.map(str::to_owned),
        vlan: vlan.map(str::to_owned),
        session_timeout: timeout,
    }
}

fn der(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .expect("PEM certificate")
        .to_vec()
}

/// The issuer Name of a PEM certificate.
fn issuer(pem: &str) -> IssuerName {
    let der = der(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("certificate");
    IssuerName {
        der: cert.issuer().as_raw().to_vec(),
        text: cert.issuer().to_string(),
    }
}

/// The subject Name (DER) of a PEM certificate: the issuer of what it signs.
fn subject(pem: &str) -> Vec<u8> {
    let der = der(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("certificate");
    cert.subject().as_raw().to_vec()
}

/// Runs every check on an empty store at `url`.
pub async fn run_suite(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    // A second connect on a migrated database is a no-op.
    let again = Store::connect(url).await.expect("connect again");
    again.close().await;
    users_and_groups(&store).await;
    clients(&store).await;
    certificates_and_policy(&store).await;
    same_serial_other_issuer(&store).await;
    passwords(&store).await;
    demo_seed(&store).await;
    audit(&store).await;
    ticket_keys_and_changes(&store).await;
    nt_credentials(&store, url).await;
    user_import(&store).await;
    store.close().await;
}

/// Runs one SQL statement with text arguments on the database at `url`,
/// behind the store's back (to tamper with rows as an attacker would).
async fn raw_sql(url: &str, sql: &str, args: &[&str]) -> u64 {
    use sqlx::Connection;
    if url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for a in args {
            q = q.bind(*a);
        }
        let n = q.execute(&mut conn).await.unwrap().rows_affected();
        conn.close().await.ok();
        n
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
        for a in args {
            q = q.bind(*a);
        }
        let n = q.execute(&mut conn).await.unwrap().rows_affected();
        conn.close().await.ok();
        n
    }
}

fn nt_bytes(c: NtCredential) -> [u8; 16] {
    match c {
        NtCredential::Hash(h) => *h.as_bytes(),
        other => panic!("expected an NT hash, got {other:?}"),
    }
}

/// The NT hash for MS-CHAPv2: stored encrypted under the credential key,
/// bound to its user, replaced or cleared with every password change.
async fn nt_credentials(store: &Store, url: &str) {
    let keyed = store
        .clone()
        .with_credential_key(CredentialKey::from_bytes(&[0x11; 32]));
    for name in ["nt-alice", "nt-bob", "nt-carol"] {
        keyed
            .add_user(name, &attrs(None, None, None), true)
            .await
            .unwrap();
    }
    // Round trip, against the RFC 2759 section 9.2 vector too.
    assert!(
        keyed
            .set_password("nt-alice", "clientPass", true)
            .await
            .unwrap()
    );
    let alice = nt_bytes(keyed.nt_credential("nt-alice").await.unwrap());
    assert_eq!(alice, *NtHash::of_password("clientPass").as_bytes());
    assert_eq!(hex::encode(alice), "44ebba8d5312b8d611474411f56989ae");
    assert!(
        keyed
            .verify_password("nt-alice", "clientPass")
            .await
            .unwrap()
    );
    let user = keyed.user("nt-alice").await.unwrap();
    assert!(user.has_password && user.has_nt_hash);

    // Argon2id only (--no-mschap): no credential for MS-CHAPv2, PAP works.
    assert!(
        !keyed
            .set_password("nt-bob", "bobPass", false)
            .await
            .unwrap()
    );
    assert!(matches!(
        keyed.nt_credential("nt-bob").await.unwrap(),
        NtCredential::NoCredential
    ));
    assert!(keyed.verify_password("nt-bob", "bobPass").await.unwrap());
    let user = keyed.user("nt-bob").await.unwrap();
    assert!(user.has_password && !user.has_nt_hash);
    // No password at all, and no such user.
    assert!(matches!(
        keyed.nt_credential("nt-carol").await.unwrap(),
        NtCredential::NoCredential
    ));
    assert!(matches!(
        keyed.nt_credential("nt-nobody").await.unwrap(),
        NtCredential::UnknownUser
    ));
    assert!(matches!(
        keyed.set_password("nt-nobody", "x", true).await,
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    // Asked for, but no key: Argon2id only.
    assert!(
        !store
            .set_password("nt-carol", "carolPass", true)
            .await
            .unwrap()
    );
    assert!(matches!(
        keyed.nt_credential("nt-carol").await.unwrap(),
        NtCredential::NoCredential
    ));

    // A password change replaces the NT hash...
    assert!(
        keyed
            .set_password("nt-alice", "newPass", true)
            .await
            .unwrap()
    );
    let changed = nt_bytes(keyed.nt_credential("nt-alice").await.unwrap());
    assert_eq!(changed, *NtHash::of_password("newPass").as_bytes());
    assert_ne!(changed, alice);
    assert!(
        !keyed
            .verify_password("nt-alice", "clientPass")
            .await
            .unwrap()
    );
    // ... and one without it clears it: no stale NT hash of the old one.
    assert!(
        !keyed
            .set_password("nt-alice", "pap-only", false)
            .await
            .unwrap()
    );
    assert!(matches!(
        keyed.nt_credential("nt-alice").await.unwrap(),
        NtCredential::NoCredential
    ));
    assert!(keyed.verify_password("nt-alice", "pap-only").await.unwrap());

    // A ciphertext copied into another user's row does not decrypt there,
    // and says whose row it is; the original row still works.
    assert!(
        keyed
            .set_password("nt-alice", "clientPass", true)
            .await
            .unwrap()
    );
    let copied = raw_sql(
        url,
        "UPDATE users SET nt_hash_encrypted = \
         (SELECT nt_hash_encrypted FROM users WHERE name = $1) WHERE name = $2",
        &["nt-alice", "nt-bob"],
    )
    .await;
    assert_eq!(copied, 1);
    assert!(keyed.user("nt-bob").await.unwrap().has_nt_hash);
    let e = keyed.nt_credential("nt-bob").await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Credential { user, .. } if user == "nt-bob"),
        "{e}"
    );
    assert!(e.to_string().contains("`nt-bob`"), "{e}");
    assert!(e.to_string().contains("another user's row"), "{e}");
    assert_eq!(
        nt_bytes(keyed.nt_credential("nt-alice").await.unwrap()),
        alice
    );

    // Another key: an error that says so; without a key: no credential.
    let other = store
        .clone()
        .with_credential_key(CredentialKey::from_bytes(&[0x22; 32]));
    let e = other.nt_credential("nt-alice").await.unwrap_err();
    assert!(matches!(e, StoreError::Credential { .. }), "{e}");
    assert!(e.to_string().contains("another"), "{e}");
    assert!(matches!(
        store.nt_credential("nt-alice").await.unwrap(),
        NtCredential::NoCredential
    ));
    // Counted for the server's warning at start: alice's and the copy in
    // bob's row, under the first key; none under the first key itself.
    assert_eq!(other.nt_hashes_under_other_keys().await.unwrap(), 2);
    assert_eq!(keyed.nt_hashes_under_other_keys().await.unwrap(), 0);

    // A ciphertext altered in place fails too.
    raw_sql(
        url,
        "UPDATE users SET nt_hash_encrypted = \
         substr(nt_hash_encrypted, 1, length(nt_hash_encrypted) - 1) || \
         CASE WHEN substr(nt_hash_encrypted, length(nt_hash_encrypted), 1) = '0' \
         THEN '1' ELSE '0' END WHERE name = $1",
        &["nt-alice"],
    )
    .await;
    assert!(matches!(
        keyed.nt_credential("nt-alice").await,
        Err(StoreError::Credential { .. })
    ));

    // Nothing of the hashes in the audit log or in Debug output.
    let log = format!("{:?}", keyed.audit_log(1000).await.unwrap());
    for leak in ["v1:", "44ebba8d", "argon2", "clientPass", "newPass"] {
        assert!(!log.contains(leak), "audit log leaks {leak}");
    }
    assert!(log.contains("nt_hash=set") && log.contains("nt_hash=none"));
    let shown = format!(
        "{keyed:?} {:?}",
        NtCredential::Hash(NtHash::of_password("x"))
    );
    assert!(
        !shown.contains("0x11") && !shown.contains("1111"),
        "{shown}"
    );
    for name in ["nt-alice", "nt-bob", "nt-carol"] {
        store.delete_user(name).await.unwrap();
    }
}

/// Import: every user in one transaction, or none.
async fn user_import(store: &Store) {
    let keyed = store
        .clone()
        .with_credential_key(CredentialKey::from_bytes(&[0x33; 32]));
    keyed
        .add_group("imp-staff", Some("30"), None)
        .await
        .unwrap();
    keyed
        .add_user("imp-old", &attrs(None, Some("99"), Some(60)), false)
        .await
        .unwrap();
    let prepare = |name: &str, pw: &str, group: Option<&str>, mschap: bool| {
        keyed.prepare_import(name, pw, group, None, mschap).unwrap()
    };
    // A bad record aborts all of it and names its index.
    let bad = [
        prepare("imp-new", "pw-new", Some("imp-staff"), true),
        prepare("imp-x", "pw-x", Some("imp-nope"), true),
    ];
    let e = keyed.import_users("users.csv", &bad).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::InRecord { index: 1, source } if matches!(**source, StoreError::NotFound { kind: "group", .. })),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("record 2: group `imp-nope`"),
        "{e}"
    );
    assert!(keyed.user("imp-new").await.is_err(), "nothing written");
    let twice = [
        prepare("imp-new", "a", None, true),
        prepare("imp-new", "b", None, true),
    ];
    assert!(matches!(
        keyed.import_users("users.csv", &twice).await,
        Err(StoreError::InRecord { index: 1, .. })
    ));
    assert!(keyed.prepare_import("imp-y", "", None, None, true).is_err());
    assert!(
        keyed
            .prepare_import(" imp-y", "pw", None, None, true)
            .is_err()
    );
    assert!(
        keyed
            .prepare_import("imp-y", "pw", None, Some("0"), true)
            .is_err()
    );

    // Positive control: a good batch creates and updates.
    let good = [
        prepare("imp-new", "pw-new", Some("imp-staff"), true),
        prepare("imp-old", "pw-old", None, false),
    ];
    let summary = keyed.import_users("users.csv", &good).await.unwrap();
    assert_eq!(
        (summary.created, summary.updated, summary.with_nt_hash),
        (1, 1, 1)
    );
    assert!(keyed.verify_password("imp-new", "pw-new").await.unwrap());
    assert!(keyed.verify_password("imp-old", "pw-old").await.unwrap());
    assert_eq!(
        nt_bytes(keyed.nt_credential("imp-new").await.unwrap()),
        *NtHash::of_password("pw-new").as_bytes()
    );
    assert!(matches!(
        keyed.nt_credential("imp-old").await.unwrap(),
        NtCredential::NoCredential
    ));
    let new = keyed.user("imp-new").await.unwrap();
    assert!(new.enabled && new.group.as_deref() == Some("imp-staff"));
    // An existing user gets the file's group and VLAN (none), and keeps
    // its enabled flag and Session-Timeout.
    let old = keyed.user("imp-old").await.unwrap();
    assert_eq!(
        (old.enabled, old.vlan, old.session_timeout),
        (false, None, Some(60))
    );
    let log = keyed.audit_log(5).await.unwrap();
    let entry = log
        .iter()
        .rev()
        .find(|e| e.action == "user.import")
        .unwrap();
    assert_eq!(entry.object, "users.csv");
    assert_eq!(entry.detail, "created=1 updated=1 nt_hash=1");
    for name in ["imp-new", "imp-old"] {
        keyed.delete_user(name).await.unwrap();
    }
    keyed.delete_group("imp-staff").await.unwrap();
}

/// TLS ticket keys: one per generation (racing servers agree), expired ones
/// hidden and deleted; the change generation moves with audited changes.
async fn ticket_keys_and_changes(store: &Store) {
    use authd::store::TicketKeyRecord;
    let key = |generation: i64, fill: u8, not_before: i64, not_after: i64| TicketKeyRecord {
        generation,
        secret: zeroize::Zeroizing::new(vec![fill; 32]),
        not_before,
        not_after,
    };
    let now = 1_900_000_000;
    assert!(store.ticket_keys(now).await.unwrap().is_empty());
    assert!(
        store
            .add_ticket_key(&key(10, 1, now - 100, now + 50), now)
            .await
            .unwrap()
    );
    // Another server lost the race for generation 10: its key is not stored.
    assert!(
        !store
            .add_ticket_key(&key(10, 2, now - 100, now + 50), now)
            .await
            .unwrap()
    );
    assert!(
        store
            .add_ticket_key(&key(11, 3, now, now + 500), now)
            .await
            .unwrap()
    );
    let keys = store.ticket_keys(now).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], key(10, 1, now - 100, now + 50));
    assert_eq!(keys[1], key(11, 3, now, now + 500));
    // Past generation 10's not_after: hidden, and deleted by the next add.
    let later = now + 60;
    assert_eq!(store.ticket_keys(later).await.unwrap().len(), 1);
    assert!(
        store
            .add_ticket_key(&key(12, 4, later, later + 500), later)
            .await
            .unwrap()
    );
    let keys = store.ticket_keys(now).await.unwrap();
    assert_eq!(
        keys.iter().map(|k| k.generation).collect::<Vec<_>>(),
        [11, 12],
        "expired generation 10 deleted"
    );
    // Debug output never shows the secret.
    assert!(!format!("{:?}", keys[0]).contains("3, 3"));

    let before = store.changes_generation().await.unwrap();
    store.add_group("changes-probe", None, None).await.unwrap();
    assert!(store.changes_generation().await.unwrap() > before);
}

async fn users_and_groups(store: &Store) {
    store
        .add_group("staff", Some("10"), Some(3600))
        .await
        .unwrap();
    store
        .add_group("guests", Some("guests"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.add_group("staff", None, None).await,
        Err(StoreError::Duplicate { kind: "group", .. })
    ));
    assert!(matches!(
        store.add_group("bad", Some("5000"), None).await,
        Err(StoreError::Invalid { what: "VLAN", .. })
    ));

    store
        .add_user("alice", &attrs(Some("staff"), None, None), true)
        .await
        .unwrap();
    store
        .add_user("bob", &attrs(Some("staff"), Some("20"), Some(60)), true)
        .await
        .unwrap();
    store
        .add_user("carol", &attrs(None, None, None), false)
        .await
        .unwrap();
    let dup = store
        .add_user("alice", &UserAttributes::default(), true)
        .await
        .unwrap_err();
    assert!(
        matches!(dup, StoreError::Duplicate { kind: "user", .. }),
        "{dup}"
    );
    assert_eq!(dup.to_string(), "user `alice` already exists");
    let nogroup = store
        .add_user("dave", &attrs(Some("nope"), None, None), true)
        .await
        .unwrap_err();
    assert!(
        matches!(nogroup, StoreError::NotFound { kind: "group", .. }),
        "{nogroup}"
    );
    assert!(
        store.user("dave").await.is_err(),
        "failed add left nothing behind"
    );

    let users = store.list_users().await.unwrap();
    let names: Vec<_> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert!(!users[2].enabled);
    assert_eq!(users[1].session_timeout, Some(60));
    assert!(!users[0].has_password);

    // User attributes override the group's; a user without a group has none.
    assert_eq!(
        store.authorization("alice").await.unwrap(),
        Some(Authorization {
            enabled: true,
            group: Some("staff".into()),
            vlan: Some("10".into()),
            session_timeout: Some(3600)
        })
    );
    let bob = store.authorization("bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.vlan.as_deref(), bob.session_timeout),
        (Some("20"), Some(60))
    );
    let carol = store.authorization("carol").await.unwrap().unwrap();
    assert!(!carol.enabled);
    assert_eq!((carol.vlan, carol.session_timeout), (None, None));
    assert_eq!(store.authorization("nobody").await.unwrap(), None);

    // Group changes reach members that do not override.
    store
        .update_group(
            "staff",
            &GroupUpdate {
                vlan: Change::Set("11".into()),
                session_timeout: Change::Clear,
            },
        )
        .await
        .unwrap();
    let alice = store.authorization("alice").await.unwrap().unwrap();
    assert_eq!(
        (alice.vlan.as_deref(), alice.session_timeout),
        (Some("11"), None)
    );

    store
        .update_user(
            "bob",
            &UserUpdate {
                group: Change::Set("guests".into()),
                vlan: Change::Clear,
                session_timeout: Change::Keep,
            },
        )
        .await
        .unwrap();
    let bob = store.authorization("bob").await.unwrap().unwrap();
    assert_eq!(
        (bob.vlan.as_deref(), bob.session_timeout),
        (Some("guests"), Some(60))
    );
    assert!(matches!(
        store.update_user("nobody", &UserUpdate::default()).await,
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    assert!(matches!(
        store
            .update_user(
                "bob",
                &UserUpdate {
                    group: Change::Set("nope".into()),
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound { kind: "group", .. })
    ));

    store.set_user_enabled("carol", true).await.unwrap();
    assert!(store.user("carol").await.unwrap().enabled);
    store.set_user_enabled("carol", false).await.unwrap();
    assert!(!store.user("carol").await.unwrap().enabled);
    assert!(store.set_user_enabled("nobody", true).await.is_err());

    let groups = store.list_groups().await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!((groups[0].name.as_str(), groups[0].members), ("guests", 1));
    assert_eq!((groups[1].name.as_str(), groups[1].members), ("staff", 1));
    let in_use = store.delete_group("staff").await.unwrap_err();
    assert!(matches!(in_use, StoreError::InUse { .. }), "{in_use}");
    store.add_group("empty", None, None).await.unwrap();
    store.delete_group("empty").await.unwrap();
    assert!(matches!(
        store.delete_group("empty").await,
        Err(StoreError::NotFound { kind: "group", .. })
    ));
}

fn entry(name: &str, net: &str, secret: &str) -> ClientEntry {
    ClientEntry {
        name: name.into(),
        net: net.parse().unwrap(),
        secret: radius_proto::SharedSecret::new(secret.as_bytes()),
        require_message_authenticator: true,
        limit_proxy_state: true,
    }
}

async fn clients(store: &Store) {
    let secret = Secret::new("store-secret").unwrap();
    let g0 = store.clients_generation().await.unwrap();
    let sync = ClientSync::new(
        store.clone(),
        vec![entry("ap1", "10.0.0.1", "config-secret")],
    );
    let first = sync
        .refresh()
        .await
        .unwrap()
        .expect("first refresh builds a table");
    assert_eq!(first.len(), 1);
    assert!(sync.refresh().await.unwrap().is_none(), "nothing changed");

    store
        .add_client("ap1", "10.0.0.5".parse().unwrap(), &secret, true)
        .await
        .unwrap();
    store
        .add_client("lab", "10.2.0.0/16".parse().unwrap(), &secret, false)
        .await
        .unwrap();
    assert!(store.clients_generation().await.unwrap() > g0);
    assert!(matches!(
        store
            .add_client("ap1", "10.0.0.6".parse().unwrap(), &secret, true)
            .await,
        Err(StoreError::Duplicate { kind: "client", .. })
    ));
    assert!(matches!(
        store
            .add_client("other", "10.2.0.0/16".parse().unwrap(), &secret, true)
            .await,
        Err(StoreError::Duplicate {
            kind: "client address",
            ..
        })
    ));

    let listed = store.list_clients().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].address, "10.2.0.0/16");
    assert!(!listed[1].require_message_authenticator);
    assert!(!format!("{listed:?}").contains("store-secret"));

    // The store's ap1 replaces the config's.
    let table = sync.refresh().await.unwrap().expect("changed");
    assert_eq!(table.len(), 2);
    assert!(table.lookup("10.0.0.1".parse().unwrap()).is_none());
    let ap1 = table.lookup("10.0.0.5".parse().unwrap()).unwrap();
    assert_eq!(ap1.secret.as_bytes(), b"store-secret");
    assert!(table.lookup("10.2.3.4".parse().unwrap()).is_some());

    store.remove_client("ap1").await.unwrap();
    assert!(matches!(
        store.remove_client("ap1").await,
        Err(StoreError::NotFound { kind: "client", .. })
    ));
    let table = sync.refresh().await.unwrap().expect("changed");
    // The config's ap1 is back.
    let ap1 = table.lookup("10.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(ap1.secret.as_bytes(), b"config-secret");
    let table = sync.set_config(vec![]);
    assert_eq!(table.len(), 1, "only the store's lab is left");
    store.remove_client("lab").await.unwrap();
}

async fn passwords(store: &Store) {
    // No credential key on this store: Argon2id only.
    assert!(
        !store
            .set_password("alice", "correct horse battery", true)
            .await
            .unwrap()
    );
    assert!(store.user("alice").await.unwrap().has_password);
    assert!(
        store
            .verify_password("alice", "correct horse battery")
            .await
            .unwrap()
    );
    assert!(!store.verify_password("alice", "wrong").await.unwrap());
    assert!(!store.verify_password("bob", "anything").await.unwrap());
    assert!(!store.verify_password("nobody", "anything").await.unwrap());
    assert!(matches!(
        store.set_password("nobody", "x", true).await,
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    assert!(store.set_password("alice", "", true).await.is_err());
}

async fn demo_seed(store: &Store) {
    let ca = CertificateAuthority::generate("seed CA", 2).unwrap();
    let demo = ca
        .issue_client_for_days("demo", KeyKind::EcdsaP256, 1)
        .unwrap();
    assert!(store.seed_demo_user("demo", &demo.cert_pem).await.unwrap());
    assert!(store.user("demo").await.unwrap().enabled);
    assert_eq!(
        store
            .certificate_status(&issuer(&demo.cert_pem).der, &demo.serial)
            .await
            .unwrap(),
        CertificateStatus::Valid {
            user: "demo".into()
        }
    );
    let rec = store.certificate(&hex::encode(&demo.serial)).await.unwrap();
    assert_eq!(rec.subject, "CN=demo");
    // Once per database: a deleted demo user stays deleted.
    assert!(!store.seed_demo_user("demo", &demo.cert_pem).await.unwrap());
    store.delete_user("demo").await.unwrap();
    assert!(!store.seed_demo_user("demo", &demo.cert_pem).await.unwrap());
    assert!(store.user("demo").await.is_err());
    assert!(store.seed_demo_user("x", "not PEM").await.is_err());
}

async fn audit(store: &Store) {
    let log = store.audit_log(1000).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "group.add",
        "user.add",
        "group.set",
        "user.set",
        "user.disable",
        "user.enable",
        "group.delete",
        "client.add",
        "client.remove",
        "cert.issue",
        "cert.revoke",
        "cert.crl",
        "user.delete",
        "user.passwd",
    ] {
        assert!(actions.contains(&a), "no {a} in {actions:?}");
    }
    // Failed changes leave no trace: one user.add per user added.
    assert_eq!(
        log.iter()
            .filter(|e| e.action == "user.add" && e.object == "alice")
            .count(),
        1
    );
    // Oldest first.
    assert!(log.windows(2).all(|w| w[0].at_micros <= w[1].at_micros));
    let text = format!("{log:?}");
    for secret in ["store-secret", "correct horse", "argon2"] {
        assert!(!text.contains(secret), "audit log leaks {secret}");
    }
    let last = store.audit_log(1).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0], log[log.len() - 1]);
    assert_eq!(log[0].actor, "authd");
}
