//! What the admin CLI tests share: the real `authd` binary run against a
//! temporary data directory, and the store behind it.

#![allow(dead_code)]

#[path = "store_suite/mod.rs"]
pub mod suite;

pub use std::io::Write;
pub use std::os::unix::fs::PermissionsExt;
pub use std::path::Path;
pub use std::process::{Command, Output, Stdio};

pub use suite::TempDir;

pub struct Cli {
    pub data: TempDir,
}

impl Cli {
    pub fn new() -> Cli {
        Cli {
            data: TempDir::new("admin-cli"),
        }
    }

    /// Runs `authd ARGS --data-dir DATA` with `stdin` piped in.
    pub fn run_with(&self, args: &[&str], stdin: &str) -> Output {
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

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, "")
    }

    pub fn ok_with(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(args, stdin);
        assert!(
            out.status.success(),
            "authd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; returns its stderr.
    pub fn fails(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_with(args, stdin);
        assert!(!out.status.success(), "authd {args:?} succeeded");
        assert_eq!(out.status.code(), Some(1), "authd {args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("authd: error: "), "{err}");
        err
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).expect("JSON output")
    }
}

pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

pub fn pem_der(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    let (_, der) = <(rustls_pki_types::pem::SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes())
        .expect("PEM");
    der
}

/// The store of a CLI's data directory, opened as the server would, with
/// the credential key the CLI created.
pub fn keyed_store(cli: &Cli) -> (tokio::runtime::Runtime, authd::store::Store) {
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

pub fn nt_hash_of(
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
