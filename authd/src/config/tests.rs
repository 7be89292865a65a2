use super::*;

const MINIMAL: &str = r#"
[tls]
certificate = "pki/server.pem"
private_key = "pki/server.key"
ca = "pki/ca.pem"
"#;

fn origin() -> &'static Path {
    Path::new("/etc/authd/authd.toml")
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, origin())
}

fn syntax(text: &str) -> (usize, usize, Option<String>, String, String) {
    match parse(text) {
        Err(e @ ConfigError::Syntax { .. }) => {
            let shown = e.to_string();
            let ConfigError::Syntax {
                line,
                column,
                key,
                message,
                ..
            } = e
            else {
                unreachable!()
            };
            (line, column, key, message, shown)
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.listen.auth, "127.0.0.1:1812".parse().unwrap());
    assert_eq!(c.listen.acct, None);
    assert!(c.clients.is_empty());
    assert_eq!(c.tls.min_version, TlsVersion::Tls12);
    assert_eq!(c.tls.max_version, TlsVersion::Tls13);
    assert!(c.tls.crl.is_empty());
    assert_eq!(c.eap.fragment_size, 1398);
    assert_eq!(c.eap.session_idle_timeout_secs, 30);
    assert_eq!(c.eap.max_sessions, 65536);
    assert_eq!(c.eap.max_tls_message_len, 65536);
    assert_eq!(c.eap.max_sessions_memory, 512 * 1024 * 1024);
    assert_eq!(c.pap.max_waiting, 256);
    assert_eq!(c.pap.max_wait_ms, 2000);
    assert_eq!(c.store_breaker, StoreBreakerConfig::default());
    assert_eq!(c.radius.duplicate_cache_secs, 10);
    assert_eq!(c.radius.duplicate_cache_entries, 65536);
    assert_eq!(c.log.format, LogFormat::Human);
    assert_eq!(c.log.level, "info");
    assert!(c.database.is_none());
}

#[test]
fn peer_identity_source() {
    use IdentitySource;
    assert_eq!(
        parse(MINIMAL).unwrap().tls.peer_identity,
        IdentitySource::CommonName
    );
    let c = parse(&format!("{MINIMAL}peer_identity = \"san_email\"\n")).unwrap();
    assert_eq!(c.tls.peer_identity, IdentitySource::SanEmail);
    assert!(parse(&format!("{MINIMAL}peer_identity = \"serial\"\n")).is_err());
}

#[test]
fn crl_policies_default_to_reject() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.tls.crl_missing, CrlPolicy::Reject);
    assert_eq!(c.tls.crl_expired, CrlPolicy::Reject);
    let c = parse(&format!(
        "{MINIMAL}crl_missing = \"allow\"\ncrl_expired = \"allow\"\n"
    ))
    .unwrap();
    assert_eq!(c.tls.crl_missing, CrlPolicy::Allow);
    assert_eq!(c.tls.crl_expired, CrlPolicy::Allow);
    let (_, _, key, _, shown) = syntax(&format!("{MINIMAL}crl_missing = \"ignore\"\n"));
    assert_eq!(key.as_deref(), Some("tls.crl_missing"), "{shown}");
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let text = format!("{MINIMAL}crl = [\"pki/a.crl\", \"/var/b.crl\"]\n");
    let c = parse(&text).unwrap();
    assert_eq!(c.tls.certificate, Path::new("/etc/authd/pki/server.pem"));
    assert_eq!(c.tls.private_key, Path::new("/etc/authd/pki/server.key"));
    assert_eq!(c.tls.ca, Path::new("/etc/authd/pki/ca.pem"));
    assert_eq!(
        c.tls.crl,
        vec![
            PathBuf::from("/etc/authd/pki/a.crl"),
            PathBuf::from("/var/b.crl")
        ]
    );
    // A bare file name has an empty parent: paths stay relative to it.
    let c = Config::parse(MINIMAL, Path::new("authd.toml")).unwrap();
    assert_eq!(c.tls.ca, Path::new("pki/ca.pem"));
}

#[test]
fn clients() {
    let text = format!(
        "{MINIMAL}\n[[client]]\nname = \"ap1\"\naddress = \"10.0.0.0/8\"\nsecret = \"s3cret\"\n\n\
         [[client]]\nname = \"lo\"\naddress = \"::1\"\nsecret = \"x\"\nrequire_message_authenticator = false\n"
    );
    let c = parse(&text).unwrap();
    assert_eq!(c.clients.len(), 2);
    assert_eq!(c.clients[0].name, "ap1");
    assert!(c.clients[0].address.contains("10.1.2.3".parse().unwrap()));
    assert_eq!(c.clients[0].secret.expose(), b"s3cret");
    assert!(c.clients[0].require_message_authenticator);
    assert!(!c.clients[1].require_message_authenticator);
    let dbg = format!("{:?}", c.clients[0]);
    assert!(dbg.contains("<redacted>"), "{dbg}");
    assert!(!dbg.contains("s3cret"), "{dbg}");
}

#[test]
fn debug_shows_no_secret() {
    let text = format!(
        "{MINIMAL}\n[[client]]\nname = \"ap1\"\naddress = \"10.0.0.0/8\"\nsecret = \"client-s3cret\"\n\n\
         [database]\nurl = \"postgres://authd:db-s3cret@db.example/authd?password=q-s3cret\"\n"
    );
    let c = parse(&text).unwrap();
    // Positive control: the values are there to be leaked.
    assert_eq!(c.clients[0].secret.expose(), b"client-s3cret");
    assert!(c.database.as_ref().unwrap().url.contains("db-s3cret"));
    for dbg in [
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{:?}", c.clients[0]),
        format!("{:?}", c.database),
    ] {
        assert!(!dbg.contains("s3cret"), "{dbg}");
    }
    let dbg = format!("{c:?}");
    assert!(dbg.contains("ap1") && dbg.contains("10.0.0.0"), "{dbg}");
    assert!(
        dbg.contains("postgres://authd:***@db.example/authd?password=***"),
        "{dbg}"
    );
}

#[test]
fn unknown_key_names_line_column_and_key() {
    let text = "[listen]\nauth = \"127.0.0.1:1812\"\n\n[tls]\ncertificate = \"a\"\nprivate_key = \"b\"\nca = \"c\"\nmin_verison = \"1.2\"\n";
    let (line, column, key, message, shown) = syntax(text);
    assert_eq!((line, column), (8, 1), "{shown}");
    assert_eq!(key.as_deref(), Some("tls.min_verison"), "{shown}");
    assert!(message.contains("min_verison"), "{message}");
    assert!(shown.starts_with("/etc/authd/authd.toml:8:1: "), "{shown}");
}

#[test]
fn unknown_table_is_an_error() {
    let text = format!("{MINIMAL}\n[eapp]\nfragment_size = 1000\n");
    let (line, _, key, message, shown) = syntax(&text);
    assert_eq!(line, 7, "{shown}");
    assert!(message.contains("eapp"), "{message}");
    assert_eq!(key.as_deref(), Some("eapp"), "{shown}");
}

#[test]
fn unknown_key_in_client_table() {
    let text = format!(
        "{MINIMAL}\n[[client]]\nname = \"a\"\naddress = \"10.0.0.0/8\"\nsecret = \"s\"\nsecert = \"t\"\n"
    );
    let (line, _, key, _, shown) = syntax(&text);
    assert_eq!(line, 11, "{shown}");
    assert_eq!(key.as_deref(), Some("client.secert"), "{shown}");
}

#[test]
fn bad_cidr_names_the_value() {
    let text =
        format!("{MINIMAL}\n[[client]]\nname = \"a\"\naddress = \"10.0.0.1/8\"\nsecret = \"s\"\n");
    let (line, column, key, message, shown) = syntax(&text);
    assert_eq!(line, 9, "{shown}");
    assert_eq!(column, 11, "{shown}");
    assert_eq!(key.as_deref(), Some("client.address"), "{shown}");
    assert!(message.contains("10.0.0.1/8"), "{message}");
    assert!(message.contains("10.0.0.0/8"), "{message}");
}

#[test]
fn empty_secret_is_rejected() {
    let text =
        format!("{MINIMAL}\n[[client]]\nname = \"a\"\naddress = \"10.0.0.0/8\"\nsecret = \"\"\n");
    let (line, _, key, message, _) = syntax(&text);
    assert_eq!(line, 10);
    assert_eq!(key.as_deref(), Some("client.secret"));
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn min_above_max_is_an_error() {
    let text = format!("{MINIMAL}min_version = \"1.3\"\nmax_version = \"1.2\"\n");
    let (line, _, _, message, shown) = syntax(&text);
    assert!(message.contains("min_version 1.3"), "{message}");
    // The span is the `[tls]` table.
    assert!(line >= 2, "{shown}");
}

#[test]
fn only_known_tls_versions() {
    let text = format!("{MINIMAL}min_version = \"1.1\"\n");
    let (line, column, key, _, shown) = syntax(&text);
    assert_eq!((line, column), (6, 15), "{shown}");
    assert_eq!(key.as_deref(), Some("tls.min_version"));
    let c = parse(&format!("{MINIMAL}min_version = \"1.3\"\n")).unwrap();
    assert_eq!(c.tls.min_version, TlsVersion::Tls13);
}

#[test]
fn missing_tls_section() {
    let (_, _, key, message, _) = syntax("[listen]\nauth = \"127.0.0.1:1\"\n");
    assert!(message.contains("missing field `tls`"), "{message}");
    assert!(
        key.as_deref().is_some_and(|k| k.ends_with("tls")),
        "{key:?}"
    );
}

#[test]
fn missing_required_key() {
    let text = "[tls]\ncertificate = \"a\"\nprivate_key = \"b\"\n";
    let (_, _, key, message, _) = syntax(text);
    assert!(message.contains("missing field `ca`"), "{message}");
    assert_eq!(key.as_deref(), Some("tls.ca"));
}

#[test]
fn eap_bounds() {
    for (body, needle) in [
        ("fragment_size = 10", "fragment_size 10"),
        (
            "fragment_size = 3999",
            "fragment_size 3999 must be within 64..=3998",
        ),
        ("max_sessions = 0", "max_sessions"),
        ("session_idle_timeout_secs = 0", "session_idle_timeout_secs"),
        ("max_tls_message_len = 1000", "max_tls_message_len 1000"),
        (
            "max_sessions_memory = 1048576",
            "max_sessions_memory 1048576",
        ),
    ] {
        let (_, _, _, message, _) = syntax(&format!("{MINIMAL}\n[eap]\n{body}\n"));
        assert!(message.contains(needle), "{message}");
    }
    let c = parse(&format!("{MINIMAL}\n[eap]\nfragment_size = 1000\n")).unwrap();
    assert_eq!(c.eap.fragment_size, 1000);
    // The largest that fits is accepted.
    let c = parse(&format!("{MINIMAL}\n[eap]\nfragment_size = 3998\n")).unwrap();
    assert_eq!(c.eap.fragment_size, 3998);
    assert_eq!(c.eap.max_sessions, 65536);
    let c = parse(&format!(
        "{MINIMAL}\n[eap]\nmax_sessions_memory = 16777216\n\n[store_breaker]\nfailures = 2\n"
    ))
    .unwrap();
    assert_eq!(c.eap.max_sessions_memory, 16 * 1024 * 1024);
    assert_eq!(c.store_breaker.failures, 2);
    assert_eq!(c.store_breaker.open_secs, 10);
}

#[test]
fn eap_methods_and_inner_names() {
    use crate::config::{EapMethod, InnerNames};
    let c = parse(MINIMAL).unwrap();
    assert_eq!(
        c.eap.methods,
        vec![EapMethod::Tls, EapMethod::Peap, EapMethod::Ttls]
    );
    let c = parse(&format!(
        "{MINIMAL}\n[eap]\nmethods = [\"ttls\", \"peap\"]\n"
    ))
    .unwrap();
    assert_eq!(c.eap.methods, vec![EapMethod::Ttls, EapMethod::Peap]);
    for (body, needle) in [
        ("methods = []", "at least one"),
        ("methods = [\"peap\", \"peap\"]", "twice"),
        ("methods = [\"md5\"]", "unknown variant"),
    ] {
        let (_, _, _, message, _) = syntax(&format!("{MINIMAL}\n[eap]\n{body}\n"));
        assert!(message.contains(needle), "{body}: {message}");
    }
    // The default: a DOMAIN\ prefix goes, a realm stays.
    let names = parse(MINIMAL).unwrap().eap.inner_names();
    assert_eq!(names, InnerNames::default());
    assert_eq!(names.user_name("EXAMPLE\\alice"), "alice");
    assert_eq!(names.user_name("alice@example.org"), "alice@example.org");
    assert_eq!(names.user_name("alice"), "alice");
    let c = parse(&format!(
        "{MINIMAL}\n[eap]\nstrip_nt_domain = false\nstrip_realm = true\n"
    ))
    .unwrap();
    let names = c.eap.inner_names();
    assert_eq!(names.user_name("EXAMPLE\\alice"), "EXAMPLE\\alice");
    assert_eq!(names.user_name("alice@example.org"), "alice");
    // Only the last @ starts the realm.
    assert_eq!(names.user_name("a@b@example.org"), "a@b");
}

#[test]
fn duplicate_client_names() {
    let text = format!(
        "{MINIMAL}\n[[client]]\nname = \"a\"\naddress = \"10.0.0.0/8\"\nsecret = \"s\"\n\
         [[client]]\nname = \"a\"\naddress = \"::1\"\nsecret = \"s\"\n"
    );
    match parse(&text) {
        Err(ConfigError::Invalid { message, .. }) => assert!(message.contains("`a`")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_syntax_reports_position() {
    let (line, _, _, _, shown) = syntax("[tls\ncertificate = 1\n");
    assert_eq!(line, 1, "{shown}");
}

#[test]
fn to_toml_round_trips() {
    let mut c = Config::new(TlsConfig::new(
        "/p/server.pem",
        "/p/server.key",
        "/p/ca.pem",
    ));
    c.tls.crl.push("/p/revoked.crl".into());
    c.tls.min_version = TlsVersion::Tls13;
    c.tls.crl_expired = CrlPolicy::Allow;
    c.listen.acct = Some("[::1]:1813".parse().unwrap());
    c.clients.push(ClientConfig {
        name: "lo".into(),
        address: "127.0.0.1".parse().unwrap(),
        secret: Secret::new("testing123").unwrap(),
        certificate_name: None,
        require_message_authenticator: true,
        limit_proxy_state: true,
        das_port: 3799,
    });
    c.log.format = LogFormat::Json;
    c.database = Some(DatabaseConfig {
        url: "sqlite:///var/lib/authd/authd.db".into(),
        credential_key: Some("/var/lib/authd/credential.key".into()),
    });
    let text = c.to_toml();
    let back = Config::parse(&text, Path::new("/x/authd.toml")).unwrap();
    assert_eq!(back.tls, c.tls);
    assert_eq!(back.listen, c.listen);
    assert_eq!(back.clients.len(), 1);
    assert_eq!(back.clients[0].secret, c.clients[0].secret);
    assert_eq!(back.clients[0].address, c.clients[0].address);
    assert_eq!(back.eap, c.eap);
    assert_eq!(back.radius, c.radius);
    assert_eq!(back.log, c.log);
    assert_eq!(back.database, c.database);
    assert!(text.contains("[[client]]"), "{text}");
}

#[test]
fn example_config_parses() {
    let text = include_str!("../../../config/authd.toml");
    let c = Config::parse(text, Path::new("/etc/authd/authd.toml")).unwrap();
    assert!(!c.clients.is_empty());
    // Accounting is not served yet (RFC 2866 §4.1): the example leaves
    // it commented out.
    assert!(c.listen.acct.is_none());
    assert!(text.contains("# acct = "), "the key is still documented");
    assert!(!c.tls.crl.is_empty());
    assert!(c.database.is_some());
    // Every section is written out in the example, so every key is covered.
    for table in [
        "[listen]",
        "[[client]]",
        "[tls]",
        "[eap]",
        "[radius]",
        "[store_breaker]",
        "[log]",
        "[database]",
    ] {
        assert!(text.contains(table), "{table}");
    }
}

#[test]
fn credential_key_path() {
    let db = |body: &str| {
        parse(&format!(
            "{MINIMAL}\n[database]\nurl = \"sqlite://a.db\"\n{body}"
        ))
        .unwrap()
        .database
        .unwrap()
    };
    // Default: credential.key beside the configuration file.
    assert_eq!(
        db("").credential_key.as_deref(),
        Some(Path::new("/etc/authd/credential.key"))
    );
    // Relative to the configuration file's directory, like the TLS files.
    assert_eq!(
        db("credential_key = \"keys/cred.key\"\n")
            .credential_key
            .as_deref(),
        Some(Path::new("/etc/authd/keys/cred.key"))
    );
    assert_eq!(
        db("credential_key = \"/srv/authd/cred.key\"\n")
            .credential_key
            .as_deref(),
        Some(Path::new("/srv/authd/cred.key"))
    );
    // Shown by Debug (a path, not the key), and a typo is an error.
    let dbg = format!("{:?}", db(""));
    assert!(dbg.contains("/etc/authd/credential.key"), "{dbg}");
    let (_, _, key, message, _) = syntax(&format!(
        "{MINIMAL}\n[database]\nurl = \"sqlite://a.db\"\ncredential_keys = \"k\"\n"
    ));
    assert!(message.contains("unknown field"), "{message}");
    assert_eq!(key.as_deref(), Some("database.credential_keys"));
    // Without a [database] there is no key either; built in code, none.
    assert!(parse(MINIMAL).unwrap().database.is_none());
    assert_eq!(DatabaseConfig::new("sqlite://a.db").credential_key, None);
}

#[test]
fn load_names_a_missing_file() {
    let e = Config::load(Path::new("/nonexistent/authd.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/authd.toml: "));
}

#[test]
fn line_column_counts_characters() {
    assert_eq!(line_column("ab\ncd", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("é=\nx", 2), (1, 2));
    assert_eq!(line_column("abc", 99), (1, 4));
}

#[test]
fn store_breaker_bounds() {
    for (body, needle) in [
        ("failures = 0", "failures 0"),
        ("open_secs = 0", "open_secs 0"),
        ("timeout_ms = 5", "timeout_ms 5"),
        ("timeout_msec = 5", "unknown field"),
    ] {
        let (_, _, _, message, _) = syntax(&format!("{MINIMAL}\n[store_breaker]\n{body}\n"));
        assert!(message.contains(needle), "{body}: {message}");
    }
    // Controls: the defaults, and one key set with the others defaulted.
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.store_breaker, StoreBreakerConfig::default());
    let c = parse(&format!("{MINIMAL}\n[store_breaker]\nfailures = 3\n")).unwrap();
    assert_eq!(c.store_breaker.failures, 3);
    assert_eq!(c.store_breaker.open_secs, 10);
}
