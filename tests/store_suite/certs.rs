//! The certificate half of the store suite: issuance records, revocation,
//! the policy's certificate checks, one serial under two issuers.

use super::*;

pub(super) async fn certificates_and_policy(store: &Store) {
    let ca = CertificateAuthority::generate("suite CA", 2).unwrap();
    store
        .add_user("erin", &attrs(Some("staff"), Some("42"), Some(600)), true)
        .await
        .unwrap();
    let issued = ca
        .issue_client_for_days("erin", KeyKind::EcdsaP256, 1)
        .unwrap();
    let serial = hex::encode(&issued.serial);
    let not_after = authd::store::unix_seconds(issued.not_after);
    let ca_name = issuer(&issued.cert_pem);
    let new = NewCertificate {
        issuer: ca_name.clone(),
        serial: serial.to_uppercase(),
        subject: "CN=erin".into(),
        user: "erin".into(),
        not_after,
    };
    store.add_certificate(&new).await.unwrap();
    assert!(matches!(
        store.add_certificate(&new).await,
        Err(StoreError::Duplicate {
            kind: "certificate",
            ..
        })
    ));
    assert!(matches!(
        store
            .add_certificate(&NewCertificate {
                user: "nobody".into(),
                serial: "01".into(),
                ..new.clone()
            })
            .await,
        Err(StoreError::NotFound { kind: "user", .. })
    ));
    let rec = store.certificate(&serial).await.unwrap();
    assert_eq!(rec.serial, serial, "stored lowercase");
    assert_eq!(
        (rec.user.as_str(), rec.not_after, rec.revoked_at),
        ("erin", not_after, None)
    );
    assert_eq!(
        store
            .certificate_status(&ca_name.der, &issued.serial)
            .await
            .unwrap(),
        CertificateStatus::Valid {
            user: "erin".into()
        }
    );
    // A leading zero octet in the DER value is the same serial.
    let mut padded = vec![0u8];
    padded.extend_from_slice(&issued.serial);
    assert_eq!(
        store
            .certificate_status(&ca_name.der, &padded)
            .await
            .unwrap(),
        CertificateStatus::Valid {
            user: "erin".into()
        }
    );
    assert_eq!(
        store.list_certificates(Some("erin")).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.list_certificates(Some("alice")).await.unwrap().len(),
        0
    );

    let policy = Policy::with_store(store.clone());
    let leaf = der(&issued.cert_pem);
    match policy.authorize_peer("anything", Some(&leaf)).await {
        Decision::Accept(a) => {
            assert_eq!(a.user_name, "erin");
            assert_eq!(a.vlan.as_deref(), Some("42"));
            assert_eq!(a.session_timeout, Some(600));
        }
        other => panic!("{other:?}"),
    }
    // Disabled, then enabled again: takes effect at once.
    store.set_user_enabled("erin", false).await.unwrap();
    assert_reject(&policy, &leaf, "user_disabled").await;
    store.set_user_enabled("erin", true).await.unwrap();
    assert!(matches!(
        policy.authorize_peer("x", Some(&leaf)).await,
        Decision::Accept(_)
    ));

    // A certificate unknown to the store, for an unknown user.
    let stranger = ca
        .issue_client_for_days("mallory", KeyKind::EcdsaP256, 1)
        .unwrap();
    assert_reject(&policy, &der(&stranger.cert_pem), "unknown_user").await;
    // Unknown to the store but for a known user: the TLS layer vouched for it.
    let other = ca
        .issue_client_for_days("alice", KeyKind::EcdsaP256, 1)
        .unwrap();
    assert!(matches!(
        policy
            .authorize_peer("x", Some(&der(&other.cert_pem)))
            .await,
        Decision::Accept(_)
    ));
    // Recorded for another user than it names.
    store
        .add_certificate(&NewCertificate {
            issuer: ca_name.clone(),
            serial: hex::encode(&other.serial),
            subject: "CN=alice".into(),
            user: "bob".into(),
            not_after,
        })
        .await
        .unwrap();
    assert_reject(&policy, &der(&other.cert_pem), "certificate_user_mismatch").await;

    // Revoked: rejected, and listed for the CRL.
    let ca_subject = subject(&ca.cert_pem());
    let (n1, none) = store.revoked_for_crl(&ca_subject).await.unwrap();
    assert!(none.is_empty());
    let rec = store
        .revoke_certificate(
            &serial.to_uppercase(),
            RevocationReasonName::KeyCompromise,
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(rec.reason.as_deref(), Some("keyCompromise"));
    assert!(rec.revoked_at.is_some());
    assert_reject(&policy, &leaf, "certificate_revoked").await;
    let again = store
        .revoke_certificate(&serial, RevocationReasonName::Superseded, SystemTime::now())
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already revoked"), "{again}");
    assert!(matches!(
        store
            .revoke_certificate(
                "0badc0de",
                RevocationReasonName::Unspecified,
                SystemTime::now()
            )
            .await,
        Err(StoreError::NotFound {
            kind: "certificate",
            ..
        })
    ));
    let (n2, revoked) = store.revoked_for_crl(&ca_subject).await.unwrap();
    assert!(n2 > n1, "CRL numbers grow");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].serial, serial);

    // Identity from a SAN: the rfc822Name of a certificate issued to an address.
    store
        .add_user("frank@example.org", &UserAttributes::default(), true)
        .await
        .unwrap();
    let frank = ca
        .issue_client_for_days("frank@example.org", KeyKind::EcdsaP256, 1)
        .unwrap();
    let by_san = Policy::with_store(store.clone()).identity_source(IdentitySource::SanEmail);
    assert!(
        matches!(by_san.authorize_peer("x", Some(&der(&frank.cert_pem))).await, Decision::Accept(a) if a.user_name == "frank@example.org")
    );
    let by_dns = Policy::with_store(store.clone()).identity_source(IdentitySource::SanDns);
    assert_reject(
        &by_dns,
        &der(&frank.cert_pem),
        "certificate_without_identity",
    )
    .await;

    // Deleting a user revokes its remaining certificates.
    let erin2 = ca
        .issue_client_for_days("erin", KeyKind::EcdsaP256, 1)
        .unwrap();
    store
        .add_certificate(&NewCertificate {
            serial: hex::encode(&erin2.serial),
            ..new.clone()
        })
        .await
        .unwrap();
    assert_eq!(store.delete_user("erin").await.unwrap(), 1);
    match store
        .certificate_status(&ca_name.der, &erin2.serial)
        .await
        .unwrap()
    {
        CertificateStatus::Revoked { reason, .. } => {
            assert_eq!(reason.as_deref(), Some("cessationOfOperation"))
        }
        other => panic!("{other:?}"),
    }
    assert_reject(&policy, &der(&erin2.cert_pem), "certificate_revoked").await;
    assert!(store.delete_user("erin").await.is_err());

    // Without a store: accept under the certificate name.
    match Policy::new()
        .authorize_peer("x", Some(&der(&stranger.cert_pem)))
        .await
    {
        Decision::Accept(a) => assert_eq!((a.user_name.as_str(), a.vlan), ("mallory", None)),
        other => panic!("{other:?}"),
    }
}

/// Two CAs, one serial: a certificate of each. Each CA is self-signed
/// with rcgen here, since authd's PKI always picks a random serial.
fn same_serial_pair(serial: &[u8]) -> [(String, Vec<u8>); 2] {
    ["Outside CA One", "Outside CA Two"].map(|cn| {
        let mut ca = rcgen::CertificateParams::default();
        ca.distinguished_name.push(rcgen::DnType::CommonName, cn);
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let mut leaf = rcgen::CertificateParams::default();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "grace");
        leaf.serial_number = Some(rcgen::SerialNumber::from_slice(serial));
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = leaf.signed_by(&key, &issuer).unwrap().pem();
        (ca_pem, der(&pem))
    })
}

/// A serial is unique only per issuer (RFC 5280 section 4.1.2.2): two
/// certificates with one serial from two CAs are revoked independently.
pub(super) async fn same_serial_other_issuer(store: &Store) {
    store
        .add_user("grace", &UserAttributes::default(), true)
        .await
        .unwrap();
    let serial = [0x51, 0x5e, 0x71, 0xa1];
    let [(ca1, one), (ca2, two)] = same_serial_pair(&serial);
    let (ca1, ca2) = (subject(&ca1), subject(&ca2));
    assert_ne!(ca1, ca2);
    let policy = Policy::with_store(store.clone());
    // Positive control: both get in while neither is revoked.
    for leaf in [&one, &two] {
        assert!(matches!(
            policy.authorize_peer("x", Some(leaf)).await,
            Decision::Accept(_)
        ));
    }
    let rec = store
        .revoke_presented_certificate(&one, RevocationReasonName::KeyCompromise, SystemTime::now())
        .await
        .unwrap();
    assert_eq!(
        (
            rec.serial.as_str(),
            rec.user.as_str(),
            rec.issuer_name.as_str()
        ),
        ("515e71a1", "grace", "CN=Outside CA One")
    );
    assert!(rec.revoked_at.is_some());
    assert!(matches!(
        store.certificate_status(&ca1, &serial).await.unwrap(),
        CertificateStatus::Revoked { .. }
    ));
    assert_eq!(
        store.certificate_status(&ca2, &serial).await.unwrap(),
        CertificateStatus::Unknown,
        "the other CA's certificate with the same serial is untouched"
    );
    assert_reject(&policy, &one, "certificate_revoked").await;
    assert!(matches!(
        policy.authorize_peer("x", Some(&two)).await,
        Decision::Accept(_)
    ));
    // Revoking it again says so; the other one can still be revoked.
    let again = store
        .revoke_presented_certificate(&one, RevocationReasonName::Superseded, SystemTime::now())
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already revoked"), "{again}");
    store
        .revoke_presented_certificate(&two, RevocationReasonName::Superseded, SystemTime::now())
        .await
        .unwrap();
    assert_reject(&policy, &two, "certificate_revoked").await;
    // The serial alone no longer names one certificate.
    let ambiguous = store.certificate("515e71a1").await.unwrap_err();
    assert!(ambiguous.to_string().contains("2 issuers"), "{ambiguous}");
    // A CRL of one CA lists only its own certificates.
    let (_, listed) = store.revoked_for_crl(&ca2).await.unwrap();
    let from_two: Vec<_> = listed
        .iter()
        .filter(|c| c.serial == "515e71a1")
        .map(|c| c.issuer_name.as_str())
        .collect();
    assert_eq!(from_two, ["CN=Outside CA Two"]);
    store.delete_user("grace").await.unwrap();
}

async fn assert_reject(policy: &Policy, leaf: &[u8], label: &str) {
    match policy.authorize_peer("anything", Some(leaf)).await {
        Decision::Reject { label: l, why } => {
            assert_eq!(l, label, "{why}");
            assert!(!why.is_empty());
        }
        other => panic!("expected reject {label}, got {other:?}"),
    }
}
