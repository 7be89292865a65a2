//! The admin CLI end to end, continued: user import, where the credential
//! key lives, and `authd session disconnect`.

#[path = "admin_cli_support.rs"]
mod support;

use support::*;

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
