//! The admin CLI end to end: the real `authd` binary against a temporary
//! SQLite database and PKI directory.

#[path = "admin_cli_support.rs"]
mod support;

use support::*;

#[test]
fn users_groups_and_errors() {
    let cli = Cli::new();
    // No database yet: a clear error, nothing created.
    let missing = TempDir::new("admin-cli-missing");
    let err = cli.fails(
        &[
            "user",
            "list",
            "--database",
            &format!("sqlite://{}/x/authd.db", missing.path().display()),
        ],
        "",
    );
    assert!(err.contains("does not exist"), "{err}");

    let out = cli.ok(&["pki", "init"]);
    assert!(out.contains("ca.pem"), "{out}");
    assert_eq!(mode(&cli.data.path().join("ca.key")), 0o600);
    let err = cli.fails(&["pki", "init"], "");
    assert!(err.contains("not overwritten"), "{err}");

    cli.ok(&[
        "group",
        "add",
        "staff",
        "--vlan",
        "10",
        "--session-timeout",
        "3600",
    ]);
    cli.ok(&["user", "add", "alice", "--group", "staff"]);
    cli.ok(&["user", "add", "bob", "--vlan", "20", "--disabled"]);
    assert_eq!(mode(&cli.data.path().join("authd.db")), 0o600);

    let err = cli.fails(&["user", "add", "alice"], "");
    assert!(err.contains("user `alice` already exists"), "{err}");
    let err = cli.fails(&["user", "add", "carol", "--group", "nope"], "");
    assert!(err.contains("group `nope` does not exist"), "{err}");
    let err = cli.fails(&["user", "disable", "nobody"], "");
    assert!(err.contains("user `nobody` does not exist"), "{err}");
    let err = cli.fails(&["user", "add", "dave", "--vlan", "9999"], "");
    assert!(err.contains("VLAN"), "{err}");
    let err = cli.fails(&["group", "delete", "staff"], "");
    assert!(err.contains("in use"), "{err}");

    let users = cli.json(&["user", "list"]);
    let users = users.as_array().expect("array");
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["name"], "alice");
    assert_eq!(users[0]["enabled"], true);
    assert_eq!(users[0]["group"], "staff");
    assert_eq!(users[1]["name"], "bob");
    assert_eq!(users[1]["enabled"], false);
    assert_eq!(users[1]["vlan"], "20");

    let table = cli.ok(&["user", "list"]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("NAME"), "{table}");
    assert!(lines.next().unwrap().starts_with("alice"), "{table}");

    cli.ok(&["user", "enable", "bob"]);
    cli.ok(&["user", "set", "bob", "--group", "staff", "--no-vlan"]);
    let show = cli.json(&["user", "show", "bob"]);
    assert_eq!(show["user"]["enabled"], true);
    assert_eq!(show["user"]["vlan"], serde_json::Value::Null);
    assert_eq!(show["effective_vlan"], "10");
    assert_eq!(show["effective_session_timeout"], 3600);
    let err = cli.fails(&["user", "set", "bob"], "");
    assert!(err.contains("nothing to change"), "{err}");

    // Password from stdin (not a terminal).
    cli.ok_with(&["user", "passwd", "alice"], "s3cret pass\n");
    assert_eq!(
        cli.json(&["user", "show", "alice"])["user"]["has_password"],
        true
    );
    let err = cli.fails(&["user", "passwd", "alice"], "");
    assert!(err.contains("empty"), "{err}");
    let err = cli.fails(&["user", "passwd", "nobody"], "x\n");
    assert!(err.contains("does not exist"), "{err}");

    let groups = cli.json(&["group", "list"]);
    assert_eq!(groups[0]["name"], "staff");
    assert_eq!(groups[0]["members"], 2);

    cli.ok(&["user", "delete", "bob"]);
    let err = cli.fails(&["user", "show", "bob"], "");
    assert!(err.contains("does not exist"), "{err}");

    // Every change is in the audit log, with the actor, and no secret.
    let audit = cli.json(&["audit", "--limit", "100"]);
    let audit = audit.as_array().unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "group.add",
            "user.add",
            "user.add",
            "user.enable",
            "user.set",
            "user.passwd",
            "user.delete"
        ]
    );
    assert!(audit.iter().all(|e| e["actor"] == "cli:tester"));
    assert!(!serde_json::to_string(audit).unwrap().contains("s3cret"));
}

#[test]
fn clients() {
    let cli = Cli::new();
    cli.ok(&["pki", "init"]);
    let err = cli.fails(&["client", "add", "ap1", "10.0.0.0/33"], "secret\n");
    assert!(err.contains("invalid client address"), "{err}");
    let err = cli.fails(&["client", "add", "ap1", "10.0.0.1/24"], "secret\n");
    assert!(err.contains("10.0.0.0/24"), "suggests the network: {err}");
    let err = cli.fails(&["client", "add", "ap1", "10.0.0.0/24"], "\n");
    assert!(err.contains("empty"), "{err}");

    cli.ok_with(&["client", "add", "ap1", "10.0.0.0/24"], "topsecret\n");
    let err = cli.fails(&["client", "add", "ap2", "10.0.0.0/24"], "x\n");
    assert!(
        err.contains("client address `10.0.0.0/24` already exists"),
        "{err}"
    );
    let err = cli.fails(&["client", "add", "ap1", "10.0.1.0/24"], "x\n");
    assert!(err.contains("client `ap1` already exists"), "{err}");
    cli.ok_with(
        &[
            "client",
            "add",
            "ap2",
            "::1",
            "--no-require-message-authenticator",
        ],
        "x\n",
    );

    let list = cli.ok(&["client", "list", "--json"]);
    assert!(!list.contains("topsecret"));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["name"], "ap1");
    assert_eq!(list[0]["address"], "10.0.0.0/24");
    assert_eq!(list[1]["address"], "::1/128");
    assert_eq!(list[1]["require_message_authenticator"], false);

    cli.ok(&["client", "remove", "ap2"]);
    let err = cli.fails(&["client", "remove", "ap2"], "");
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(cli.json(&["client", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn certificates() {
    let cli = Cli::new();
    cli.ok(&["pki", "init", "--server-name", "radius.example.org"]);
    cli.ok(&["user", "add", "alice"]);
    let out_dir = TempDir::new("admin-cli-out");
    let out = out_dir.path().to_str().unwrap();

    let err = cli.fails(&["cert", "issue", "nobody", "--out", out], "");
    assert!(err.contains("user `nobody` does not exist"), "{err}");

    let issued = cli.ok_with(
        &["cert", "issue", "alice", "--out", out, "--p12", "--json"],
        "bundle-pw\n",
    );
    let issued: serde_json::Value = serde_json::from_str(&issued).unwrap();
    let serial = issued["serial"].as_str().unwrap().to_owned();
    assert_eq!(issued["user"], "alice");
    let cert_path = out_dir.path().join("alice.pem");
    let key_path = out_dir.path().join("alice.key");
    let p12_path = out_dir.path().join("alice.p12");
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&p12_path), 0o600);

    // The certificate: CN alice, clientAuth, signed by the CA, serial as recorded.
    let cert_pem = std::fs::read_to_string(&cert_path).unwrap();
    let cert_der = pem_der(&cert_pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&cert_der).unwrap();
    assert_eq!(
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "alice"
    );
    assert!(
        cert.extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .client_auth
    );
    assert_eq!(hex::encode(cert.raw_serial()), serial);
    let ca_der = pem_der(&std::fs::read_to_string(cli.data.path().join("ca.pem")).unwrap());
    let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
    cert.verify_signature(Some(ca.public_key())).unwrap();
    assert!(
        std::fs::read_to_string(&key_path)
            .unwrap()
            .contains("PRIVATE KEY")
    );

    // The PKCS#12 bundle opens with its password and holds key, leaf and CA.
    let p12 = std::fs::read(&p12_path).unwrap();
    assert!(p12_keystore::KeyStore::from_pkcs12(&p12, "wrong", Default::default()).is_err());
    let ks = p12_keystore::KeyStore::from_pkcs12(&p12, "bundle-pw", Default::default()).unwrap();
    let (_, chain) = ks.private_key_chain().expect("a key chain");
    assert_eq!(chain.certs().len(), 2);
    assert_eq!(chain.certs()[0].as_der(), &cert_der[..]);
    assert_eq!(chain.certs()[1].as_der(), &ca_der[..]);

    // Refuses to overwrite.
    let err = cli.fails(&["cert", "issue", "alice", "--out", out], "");
    assert!(err.contains("not overwritten"), "{err}");

    // An RSA certificate in another directory.
    let rsa_dir = TempDir::new("admin-cli-rsa");
    let text = cli.ok(&[
        "cert",
        "issue",
        "alice",
        "--rsa",
        "--days",
        "30",
        "--out",
        rsa_dir.path().to_str().unwrap(),
    ]);
    assert!(text.contains("issued certificate"), "{text}");
    let rsa_pem = std::fs::read_to_string(rsa_dir.path().join("alice.pem")).unwrap();
    let rsa_der = pem_der(&rsa_pem);
    let (_, rsa) = x509_parser::parse_x509_certificate(&rsa_der).unwrap();
    assert!(matches!(
        rsa.public_key().parsed().unwrap(),
        x509_parser::public_key::PublicKey::RSA(_)
    ));

    let list = cli.json(&["cert", "list", "alice"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["serial"] == serial.as_str())
    );
    let err = cli.fails(&["cert", "list", "nobody"], "");
    assert!(err.contains("does not exist"), "{err}");

    // Revoke (colons and upper case accepted), then the CRL lists it.
    let colons: Vec<String> = serial
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let err = cli.fails(&["cert", "revoke", &serial, "--reason", "bogus"], "");
    assert!(err.contains("keyCompromise"), "{err}");
    cli.ok(&[
        "cert",
        "revoke",
        &colons.join(":"),
        "--reason",
        "key-compromise",
    ]);
    let err = cli.fails(&["cert", "revoke", &serial], "");
    assert!(err.contains("already revoked"), "{err}");
    let err = cli.fails(&["cert", "revoke", "0badc0de"], "");
    assert!(err.contains("does not exist"), "{err}");
    let listed = cli.json(&["cert", "list"]);
    let revoked = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serial"] == serial.as_str())
        .unwrap();
    assert_eq!(revoked["reason"], "keyCompromise");

    let crl_pem = cli.ok(&["cert", "crl"]);
    assert!(crl_pem.starts_with("-----BEGIN X509 CRL-----"), "{crl_pem}");
    let crl_der = pem_der(&crl_pem);
    let (_, crl) = x509_parser::parse_x509_crl(&crl_der).unwrap();
    crl.verify_signature(ca.public_key()).unwrap();
    let entries: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(hex::encode(entries[0].raw_serial()), serial);
    assert_eq!(
        entries[0].reason_code().map(|(_, r)| r.0),
        Some(1),
        "keyCompromise (RFC 5280 section 5.3.1)"
    );
    let first_number = crl.crl_number().cloned();
    let crl2 = cli.ok(&["cert", "crl"]);
    let crl2_der = pem_der(&crl2);
    let (_, crl2) = x509_parser::parse_x509_crl(&crl2_der).unwrap();
    assert!(
        crl2.crl_number().cloned() > first_number,
        "CRL numbers grow"
    );

    // Deleting the user revokes the RSA certificate too.
    cli.ok(&["user", "delete", "alice"]);
    let crl3 = pem_der(&cli.ok(&["cert", "crl"]));
    let (_, crl3) = x509_parser::parse_x509_crl(&crl3).unwrap();
    assert_eq!(crl3.iter_revoked_certificates().count(), 2);
}

#[test]
fn database_selection() {
    let cli = Cli::new();
    // --database wins over the data directory.
    let other = TempDir::new("admin-cli-db");
    let url = format!("sqlite://{}/other.db", other.path().display());
    cli.ok(&["group", "add", "g", "--database", &url]);
    assert!(other.path().join("other.db").exists());
    assert!(!cli.data.path().join("authd.db").exists());

    // --config: its [database] url.
    let config = other.path().join("authd.toml");
    std::fs::write(
        &config,
        format!(
            "[tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca = \"ca.pem\"\n\n[database]\nurl = \"{url}\"\n"
        ),
    )
    .unwrap();
    let groups = cli.json(&["group", "list", "--config", config.to_str().unwrap()]);
    assert_eq!(groups[0]["name"], "g");

    let err = cli.fails(
        &["user", "list", "--database", "mysql://u:pw@localhost/x"],
        "",
    );
    assert!(err.contains("unsupported database URL"), "{err}");
    assert!(!err.contains("pw@"), "{err}");
    let err = cli.fails(
        &[
            "user",
            "list",
            "--database",
            &format!(
                "postgres://authd:pw@localhost/authd?host={}",
                other.path().display()
            ),
        ],
        "",
    );
    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(!err.contains(":pw@"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_authd"))
        .arg("schema-version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<i64>()
            .unwrap()
            > 0
    );
}

#[test]
fn passwords_and_the_credential_key() {
    use eap_methods::mschapv2::NtHash;
    let cli = Cli::new();
    cli.ok(&["pki", "init"]);
    let key = cli.data.path().join("credential.key");
    cli.ok(&["user", "add", "bob"]);
    // --no-mschap: Argon2id only, and no key needed.
    let out = cli.ok_with(&["user", "passwd", "bob", "--no-mschap"], "bob pass\n");
    assert!(out.contains("Argon2id only"), "{out}");
    assert!(!key.exists(), "no key file before one is needed");
    // Without it: the key file is created on first use, mode 0600.
    let out = cli.ok_with(&["user", "passwd", "bob"], "bob pass 2\n");
    assert!(out.contains("MS-CHAPv2"), "{out}");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    let bytes = std::fs::read(&key).unwrap();
    let show = cli.json(&["user", "show", "bob"]);
    assert_eq!(show["user"]["has_nt_hash"], true);
    {
        let (rt, store) = keyed_store(&cli);
        assert_eq!(
            nt_hash_of(&rt, &store, "bob"),
            Some(*NtHash::of_password("bob pass 2").as_bytes())
        );
        assert!(
            rt.block_on(store.verify_password("bob", "bob pass 2"))
                .unwrap()
        );
        rt.block_on(store.close());
    }
    // --no-mschap again clears the NT hash; the key file stays as it was.
    cli.ok_with(&["user", "passwd", "bob", "--no-mschap"], "bob pass 3\n");
    assert_eq!(
        cli.json(&["user", "show", "bob"])["user"]["has_nt_hash"],
        false
    );
    assert_eq!(
        std::fs::read(&key).unwrap(),
        bytes,
        "key file not rewritten"
    );
    cli.ok_with(
        &["user", "add", "dora", "--password", "--no-mschap"],
        "d pw\n",
    );
    assert_eq!(
        cli.json(&["user", "show", "dora"])["user"]["has_nt_hash"],
        false
    );
    cli.ok_with(&["user", "add", "erin", "--password"], "e pw\n");
    assert_eq!(
        cli.json(&["user", "show", "erin"])["user"]["has_nt_hash"],
        true
    );
    // --no-mschap means nothing without --password: a usage error.
    let out = cli.run_with(&["user", "add", "fred", "--no-mschap"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--password"));

    // A key file others can read is refused, with what to do; --no-mschap
    // needs no key and still works (positive control).
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = cli.fails(&["user", "passwd", "bob"], "x\n");
    assert!(
        err.contains("credential.key") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(err.contains("--no-mschap"), "{err}");
    cli.ok_with(&["user", "passwd", "bob", "--no-mschap"], "bob pass 4\n");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    cli.ok_with(&["user", "passwd", "bob"], "bob pass 5\n");
}
