use super::*;

#[test]
fn db_args_debug_shows_no_password() {
    let args = DbArgs {
        config: None,
        database: Some("postgres://authd:s3cret@db.example/authd".into()),
        data_dir: PathBuf::from("authd-data"),
        credential_key: None,
        json: true,
    };
    let dbg = format!("{args:?}");
    assert!(!dbg.contains("s3cret"), "{dbg}");
    assert!(
        dbg.contains("postgres://authd:***@db.example/authd") && dbg.contains("authd-data"),
        "{dbg}"
    );
}

#[test]
fn formats_times() {
    assert_eq!(format_time(0), "1970-01-01 00:00:00Z");
    assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00Z");
    assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20Z");
    assert_eq!(format_time(-1), "1969-12-31 23:59:59Z");
    assert_eq!(format_time(253_402_300_799), "9999-12-31 23:59:59Z");
}

#[test]
fn file_stems_are_safe() {
    assert_eq!(file_stem("alice@example.org"), "alice@example.org");
    assert_eq!(file_stem("../etc/passwd"), "_._etc_passwd");
    assert_eq!(file_stem("Bob Smith"), "Bob_Smith");
}

#[test]
fn tables_align() {
    let mut out = String::new();
    table(
        &mut out,
        &["NAME", "VLAN"],
        vec![
            vec!["alice".into(), "10".into()],
            vec!["b".into(), "-".into()],
        ],
    );
    assert_eq!(out, "NAME   VLAN\nalice  10\nb      -\n");
}

#[test]
fn changes_from_flags() {
    assert_eq!(change(Some(1), false), Change::Set(1));
    assert_eq!(change::<u32>(None, true), Change::Clear);
    assert_eq!(change::<u32>(None, false), Change::Keep);
}
