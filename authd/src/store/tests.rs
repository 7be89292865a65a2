use super::*;

#[test]
fn verify_in_reused_memory_agrees_with_verify() {
    let hash = hash_password("correct horse").unwrap();
    let mut memory = Vec::new();
    for _ in 0..2 {
        assert!(verify_password_in(&hash, b"correct horse", &mut memory));
        assert!(!verify_password_in(&hash, b"correct horsf", &mut memory));
    }
    assert_eq!(
        memory.len(),
        19 * 1024,
        "default m = 19 MiB in 1 KiB blocks"
    );
    assert!(verify_password(&hash, "correct horse"));
    assert!(!verify_password_in(
        "$argon2id$v=19$garbage",
        b"x",
        &mut memory
    ));
    assert!(!verify_password_in("", b"", &mut memory));
}

#[test]
fn backend_by_scheme() {
    assert_eq!(Backend::of_url("sqlite://a.db").unwrap(), Backend::Sqlite);
    assert_eq!(Backend::of_url("sqlite:a.db").unwrap(), Backend::Sqlite);
    assert_eq!(
        Backend::of_url("postgres://h/db").unwrap(),
        Backend::Postgres
    );
    assert_eq!(
        Backend::of_url("PostgreSQL://h/db").unwrap(),
        Backend::Postgres
    );
    let e = Backend::of_url("mysql://u:pw@h/db").unwrap_err();
    assert!(matches!(e, StoreError::UnsupportedUrl(_)));
    assert!(!e.to_string().contains("pw"), "{e}");
}

#[tokio::test]
async fn connect_errors_show_no_password() {
    for url in [
        "postgres://authd:s3cret@db.example:99999/authd",
        "postgres://db.example/authd?pasword=s3cret",
        "postgres://db.example/authd?s3cret",
        "host=db.example user=authd password=s3cret",
        "mysql://authd:s3cret@db.example/authd",
    ] {
        let e = Store::connect(url).await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("s3cret"), "{url}: {shown}");
        assert!(shown.contains("URL"), "{url}: {shown}");
    }
    // Positive control: a known parameter passes the check, and the
    // check refuses what it should.
    unknown_postgres_parameter("postgres://db/authd?sslmode=require&password=x").unwrap();
    unknown_postgres_parameter("postgres://db/authd?options[search_path]=a").unwrap();
    let e = unknown_postgres_parameter("postgres://db/authd?sslmode=require&pasword=x");
    assert!(e.unwrap_err().to_string().contains("parameter 2"));
}

#[test]
fn password_hash_round_trip() {
    let h = hash_password("correct horse").unwrap();
    assert!(h.starts_with("$argon2id$"), "{h}");
    assert!(!h.contains("correct horse"));
    assert!(verify_password(&h, "correct horse"));
    assert!(!verify_password(&h, "correct hors"));
    assert!(!verify_password("not a hash", "x"));
    // Salted: the same password hashes differently.
    assert_ne!(h, hash_password("correct horse").unwrap());
}

#[test]
fn unix_time_round_trip() {
    for s in [0i64, 1, 1_700_000_000, -86_400] {
        assert_eq!(unix_seconds(system_time(s)), s);
    }
}
