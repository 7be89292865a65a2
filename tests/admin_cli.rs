//! The admin CLI end to end: the real `authd` binary against a temporary
//! SQLite database and PKI directory.

#[path = "store_suite/mod.rs"]
mod suite;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use suite::TempDir;

struct Cli {
    data: TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            data: TempDir::new("admin-cli"),
        }
    }

    /// Runs `authd ARGS --data-dir DATA` with `stdin` piped in.
    fn run_with(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(args)
            .arg("--data-dir")
            .arg(self.data.path())
            .env_remove("AUTHD_DATA_DIR")
            .env("USER", "tester")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run authd");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(args, stdin);
        assert!(
            out.status.success(),
            "authd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; returns its stderr.
    fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(args, stdin);
        assert!(!out.status.success(), "authd {args:?} succeeded");
        assert_eq!(out.status.code(), Some(1), "authd {args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("authd: error: "), "{err}");
        err
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).expect("JSON output")
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn pem_der(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    let (_, der) = <(rustls_pki_types::pem::SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes())
        .expect("PEM");
    der
}

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

/// The store of a CLI's data directory, opened as the server would, with
/// the credential key the CLI created.
fn keyed_store(cli: &Cli) -> (tokio::runtime::Runtime, authd::store::Store) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = authd::credkey::CredentialKey::load(&cli.data.path().join("credential.key"))
        .expect("credential key");
    let store = rt
        .block_on(authd::store::Store::connect(&authd::store::default_url(
            cli.data.path(),
        )))
        .unwrap()
        .with_credential_key(key);
    (rt, store)
}

fn nt_hash_of(
    rt: &tokio::runtime::Runtime,
    store: &authd::store::Store,
    user: &str,
) -> Option<[u8; 16]> {
    use authd::store::NtCredential;
    match rt.block_on(store.nt_credential(user)).unwrap() {
        NtCredential::Hash(h) => Some(*h.as_bytes()),
        NtCredential::NoCredential => None,
        NtCredential::UnknownUser => panic!("no user {user}"),
    }
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

#[test]
fn user_import() {
    use eap_methods::mschapv2::NtHash;
    let cli = Cli::new();
    cli.ok(&["pki", "init"]);
    cli.ok(&["group", "add", "staff", "--vlan", "10"]);
    cli.ok_with(&["user", "add", "bob", "--password"], "old bob\n");
    let files = TempDir::new("admin-cli-import");
    let good = files.path().join("good.csv");
    std::fs::write(
        &good,
        "name,password,group,vlan\r\n\
         bob,\"new, \"\"quoted\"\" pw\",staff,\r\n\
         carol,carol pw,,20\r\n\
         \"dave, jr\",dave pw,staff,30\r\n",
    )
    .unwrap();
    let out = cli.ok(&["user", "import", good.to_str().unwrap()]);
    assert!(out.contains("2 user(s) created, 1 updated"), "{out}");
    assert!(out.contains("NT hash"), "{out}");
    let users = cli.json(&["user", "list"]);
    let names: Vec<_> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bob", "carol", "dave, jr"]);
    let bob = cli.json(&["user", "show", "bob"]);
    assert_eq!(bob["user"]["group"], "staff");
    assert_eq!(bob["effective_vlan"], "10");
    assert_eq!(cli.json(&["user", "show", "carol"])["user"]["vlan"], "20");
    {
        let (rt, store) = keyed_store(&cli);
        for (user, pw) in [
            ("bob", "new, \"quoted\" pw"),
            ("carol", "carol pw"),
            ("dave, jr", "dave pw"),
        ] {
            assert!(
                rt.block_on(store.verify_password(user, pw)).unwrap(),
                "{user}"
            );
            assert_eq!(
                nt_hash_of(&rt, &store, user),
                Some(*NtHash::of_password(pw).as_bytes()),
                "{user}"
            );
        }
        assert!(
            !rt.block_on(store.verify_password("bob", "old bob"))
                .unwrap()
        );
        rt.block_on(store.close());
    }

    // A bad file: every bad line named, and nothing written, not even the
    // good lines before them.
    let bad = files.path().join("bad.csv");
    std::fs::write(
        &bad,
        "erin,erin pw,,\n\
         bob,changed,nope,\n\
         frank,pw\n\
         gina,,,\n\
         \" hank\",pw,,\n\
         erin,again,,\n",
    )
    .unwrap();
    let before = cli.json(&["user", "list"]);
    let audit_before = cli
        .json(&["audit", "--limit", "1000"])
        .as_array()
        .unwrap()
        .len();
    let err = cli.fails(&["user", "import", bad.to_str().unwrap()], "");
    for needle in [
        "bad.csv: nothing imported",
        "line 2: group `nope` does not exist",
        "line 3: 2 field(s), expected 4",
        "line 4: invalid password: must not be empty",
        "line 5: invalid user name",
        "line 6: user `erin` is already on line 1",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        !err.contains("changed") && !err.contains("erin pw"),
        "{err}"
    );
    assert_eq!(cli.json(&["user", "list"]), before);
    assert_eq!(
        cli.json(&["audit", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        audit_before
    );
    {
        let (rt, store) = keyed_store(&cli);
        assert!(
            rt.block_on(store.verify_password("bob", "new, \"quoted\" pw"))
                .unwrap()
        );
        rt.block_on(store.close());
    }
    let err = cli.fails(
        &[
            "user",
            "import",
            files.path().join("none.csv").to_str().unwrap(),
        ],
        "",
    );
    assert!(err.contains("none.csv"), "{err}");

    // --no-mschap, from stdin: Argon2id only.
    let out = cli.ok_with(
        &["user", "import", "-", "--no-mschap"],
        "ivan,ivan pw,staff,\n",
    );
    assert!(out.contains("1 user(s) created, 0 updated"), "{out}");
    assert!(out.contains("Argon2id only"), "{out}");
    {
        let (rt, store) = keyed_store(&cli);
        assert!(
            rt.block_on(store.verify_password("ivan", "ivan pw"))
                .unwrap()
        );
        assert_eq!(nt_hash_of(&rt, &store, "ivan"), None);
        rt.block_on(store.close());
    }

    // The import is audited with its counts, never a password.
    let audit = cli.json(&["audit", "--limit", "1000"]);
    let imports: Vec<_> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "user.import")
        .collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["detail"], "created=2 updated=1 nt_hash=3");
    assert_eq!(imports[1]["detail"], "created=1 updated=0 nt_hash=0");
    let text = serde_json::to_string(&audit).unwrap();
    for pw in ["quoted", "carol pw", "dave pw", "ivan pw"] {
        assert!(!text.contains(pw), "audit log leaks {pw}");
    }
}

#[test]
fn credential_key_location() {
    use eap_methods::mschapv2::NtHash;
    let dir = TempDir::new("admin-cli-key");
    let url = format!("sqlite://{}/authd.db", dir.path().display());
    let missing = dir.path().join("no-data-dir");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_authd"))
            .args(args)
            .arg("--data-dir")
            .arg(&missing)
            .env_remove("AUTHD_DATA_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // --database alone, no data directory: no key the server could share,
    // so Argon2id only, with a warning that says how to name the key.
    let (ok, out, err) = run(
        &["user", "add", "u1", "--password", "--database", &url],
        "pw one\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("Argon2id only"), "{out}");
    assert!(
        err.contains("warning: no credential key") && err.contains("--credential-key"),
        "{err}"
    );
    assert!(!missing.exists());

    // --credential-key FILE: created there (0600), NT hash stored.
    let named = dir.path().join("named.key");
    let (ok, out, err) = run(
        &[
            "user",
            "passwd",
            "u1",
            "--database",
            &url,
            "--credential-key",
            named.to_str().unwrap(),
        ],
        "pw two\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("MS-CHAPv2"), "{out}");
    assert_eq!(mode(&named), 0o600);

    // --config FILE: its [database] credential_key, relative to the file.
    let config = dir.path().join("authd.toml");
    std::fs::write(
        &config,
        format!(
            "[tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca = \"ca.pem\"\n\n\
             [database]\nurl = \"{url}\"\ncredential_key = \"config.key\"\n"
        ),
    )
    .unwrap();
    let (ok, out, err) = run(
        &["user", "passwd", "u1", "--config", config.to_str().unwrap()],
        "pw three\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("MS-CHAPv2"), "{out}");
    let config_key = dir.path().join("config.key");
    assert_eq!(mode(&config_key), 0o600);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(authd::store::Store::connect(&url)).unwrap();
    let keyed = store
        .clone()
        .with_credential_key(authd::credkey::CredentialKey::load(&config_key).unwrap());
    assert_eq!(
        nt_hash_of(&rt, &keyed, "u1"),
        Some(*NtHash::of_password("pw three").as_bytes())
    );
    // The key named earlier is another key: the hash does not open under it.
    let other = store.with_credential_key(authd::credkey::CredentialKey::load(&named).unwrap());
    assert!(rt.block_on(other.nt_credential("u1")).is_err());
    rt.block_on(keyed.close());

    // A key file named but unusable is an error, not a silent fallback.
    let (ok, _, err) = run(
        &[
            "user",
            "passwd",
            "u1",
            "--database",
            &url,
            "--credential-key",
            dir.path().join("nope/k").to_str().unwrap(),
        ],
        "pw four\n",
    );
    assert!(!ok);
    assert!(
        err.contains("does not exist") && err.contains("--no-mschap"),
        "{err}"
    );
}

/// `authd session disconnect`: without a store there is nothing to
/// disconnect; with one, what it queued and that no server picked it up.
#[test]
fn session_disconnect() {
    let cli = Cli::new();
    let dir = TempDir::new("admin-cli-das");
    let config = dir.path().join("authd.toml");
    std::fs::write(
        &config,
        "[tls]\ncertificate = \"s.pem\"\nprivate_key = \"s.key\"\nca = \"ca.pem\"\n",
    )
    .unwrap();
    let err = cli.fails(
        &[
            "session",
            "disconnect",
            "--user",
            "bob",
            "--config",
            config.to_str().unwrap(),
        ],
        "",
    );
    assert!(err.contains("nothing to disconnect"), "{err}");
    let err = cli.fails(&["session", "disconnect"], "");
    assert!(err.contains("ID or --user"), "{err}");
    let err = cli.fails(&["session", "disconnect", "no-such-session"], "");
    assert!(err.contains("no-such-session"), "{err}");

    // A session of bob in the store (as accounting records it): queued,
    // and with no server running it stays pending.
    cli.ok(&["user", "add", "bob"]);
    let url = format!("sqlite://{}/authd.db", cli.data.path().display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO acct_sessions (session_key, acct_session_id, user_name, nas_name, \
             nas_address, auth_user, last_update, created_at) \
             VALUES ('k1', '0123456789ABCDEF', 'bob', 'ap1', '192.0.2.1', 'bob', 1, 1)",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.ok();
    });
    let out = cli.ok(&["session", "disconnect", "--user", "bob", "--wait", "1"]);
    assert!(out.contains("1 Disconnect-Request(s) queued"), "{out}");
    assert!(out.contains("session k1 user \"bob\" NAS \"ap1\""), "{out}");
    assert!(
        out.contains("is a server running on this database?"),
        "{out}"
    );
    // Still pending: a second request for the same session is not queued,
    // and disabling bob queues nothing new either.
    let out = cli.ok(&["session", "disconnect", "0123456789ABCDEF", "--wait", "0"]);
    assert!(out.contains("0 Disconnect-Request(s) queued"), "{out}");
    let out = cli.ok(&["user", "disable", "bob"]);
    assert!(out.contains("disabled"), "{out}");
    assert!(!out.contains("queued"), "{out}");
    let audit = cli.ok(&["audit"]);
    assert!(audit.contains("session.disconnect"), "{audit}");
}
