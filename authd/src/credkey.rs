//! The credential key: 32 random octets in a file kept outside the
//! database, under which the store encrypts the NT password hashes that
//! MS-CHAPv2 needs (RFC 2759 section 8.3).
//!
//! An NT hash is password-equivalent for MS-CHAPv2, so it is never stored
//! in clear: a copy of the database alone yields nothing usable, only a
//! copy of the database together with the key file does.
//!
//! The file is created on first use with mode 0600, atomically (written
//! under a temporary name opened with `O_EXCL`, then hard-linked into
//! place, which fails rather than replaces), and never overwritten. A file
//! that group or others may read or write is refused, as is one that does
//! not hold exactly 32 octets.
//!
//! A sealed value is text, `v1:KEYID:HEX`: the format version, the key's
//! id (8 hex digits, the first 4 octets of SHA-256 over a label and the
//! key: it tells keys apart, so one can be rotated later, and reveals
//! nothing of the key), then hex of the 96-bit random nonce followed by
//! the AES-256-GCM ciphertext and tag. The authenticated data binds the
//! version, the key id and the user name, so a value copied into another
//! user's row does not decrypt.

#![forbid(unsafe_code)]

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use eap_methods::mschapv2::{NT_HASH_LEN, NtHash};
use zeroize::Zeroizing;

/// Length of the key, octets (AES-256).
pub const KEY_LEN: usize = 32;
/// The key file's name when the configuration names none: beside the
/// configuration file, or in the data directory of the embedded default.
pub const DEFAULT_FILE: &str = "credential.key";

const VERSION: &str = "v1";
const TAG_LEN: usize = 16;
const ID_LEN: usize = 4;
/// Domain separation of the key id and of the authenticated data.
const ID_LABEL: &[u8] = b"authd credential key id\0";
const AAD_LABEL: &[u8] = b"authd nt hash\0";

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("credential key {}: {reason}", path.display())]
pub struct CredentialKeyError {
    /// The key file.
    pub path: PathBuf,
    /// What is wrong, and what to do about it.
    pub reason: String,
}

fn key_error(path: &Path, reason: impl Into<String>) -> CredentialKeyError {
    CredentialKeyError {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Why a sealed value does not open. Says nothing of the key or of the
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not `v1:KEYID:HEX` of the right length.
    #[error("not a sealed value of a format this version knows")]
    Format,
    /// Sealed under another key than the one loaded.
    #[error("encrypted under another credential key ({sealed}; the key loaded is {loaded})")]
    OtherKey {
        /// The id the value names.
        sealed: String,
        /// The id of the key loaded.
        loaded: String,
    },
    /// Right key id, but the tag does not verify: altered, or copied from
    /// another user's row.
    #[error("does not authenticate: altered, or copied from another user's row")]
    Tampered,
}

/// The credential key, ready to seal and open NT hashes. The raw octets
/// are not kept (only aws-lc's key schedule); `Debug` shows the key id.
pub struct CredentialKey {
    id: [u8; ID_LEN],
    key: LessSafeKey,
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialKey")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl CredentialKey {
    /// A key from its octets.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> CredentialKey {
        let mut input = Zeroizing::new(Vec::with_capacity(ID_LABEL.len() + KEY_LEN));
        input.extend_from_slice(ID_LABEL);
        input.extend_from_slice(bytes);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest.as_ref()[..ID_LEN]);
        // AES-256-GCM accepts any 32 octets: this cannot fail.
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).expect("32-octet AES-256 key");
        CredentialKey {
            id,
            key: LessSafeKey::new(unbound),
        }
    }

    /// A fresh random key, in memory only.
    pub fn generate() -> Result<CredentialKey, aws_lc_rs::error::Unspecified> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        aws_lc_rs::rand::fill(&mut bytes[..])?;
        Ok(CredentialKey::from_bytes(&bytes))
    }

    /// The key's id: 8 hex digits, not secret.
    pub fn id(&self) -> String {
        hex::encode(self.id)
    }

    /// Reads the key file at `path`, refusing one that group or others may
    /// read or write, or that does not hold exactly 32 octets.
    pub fn load(path: &Path) -> Result<CredentialKey, CredentialKeyError> {
        let mut file = File::open(path).map_err(|e| key_error(path, e.to_string()))?;
        // The file opened, not the path: no race with a rename in between.
        let meta = file
            .metadata()
            .map_err(|e| key_error(path, e.to_string()))?;
        if !meta.is_file() {
            return Err(key_error(path, "not a regular file"));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(key_error(
                path,
                format!(
                    "mode {mode:04o} lets group or others read or write it; \
                     it must be private to the server's user (chmod 600)"
                ),
            ));
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(KEY_LEN + 1));
        // One octet more than a key, to tell a longer file.
        Read::by_ref(&mut file)
            .take(KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| key_error(path, e.to_string()))?;
        let key: &[u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            key_error(
                path,
                format!(
                    "holds {}{} octets, a credential key is {KEY_LEN}",
                    bytes.len(),
                    if bytes.len() > KEY_LEN {
                        " or more"
                    } else {
                        ""
                    }
                ),
            )
        })?;
        Ok(CredentialKey::from_bytes(key))
    }

    /// Reads the key file at `path`, creating it with a new random key
    /// (mode 0600) if there is none. Returns the key and whether it was
    /// created now. Never overwrites: if another process creates the file
    /// first, its key is read.
    pub fn load_or_create(path: &Path) -> Result<(CredentialKey, bool), CredentialKeyError> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => return CredentialKey::load(path).map(|k| (k, false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(key_error(path, e.to_string())),
        }
        if create(path)? {
            // Read back what was written: the same checks as any start.
            CredentialKey::load(path).map(|k| (k, true))
        } else {
            CredentialKey::load(path).map(|k| (k, false))
        }
    }

    /// Seals `hash` for user `user`: `v1:KEYID:HEX`.
    /// Fails only if the system has no random numbers for the nonce.
    pub fn seal_nt_hash(
        &self,
        user: &str,
        hash: &NtHash,
    ) -> Result<String, aws_lc_rs::error::Unspecified> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)?;
        let mut sealed = Zeroizing::new(hash.as_bytes().to_vec());
        self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(self.aad(user)),
            &mut *sealed,
        )?;
        let mut body = Vec::with_capacity(NONCE_LEN + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        Ok(format!("{VERSION}:{}:{}", self.id(), hex::encode(body)))
    }

    /// Opens a value [`CredentialKey::seal_nt_hash`] sealed for `user`.
    pub fn open_nt_hash(&self, user: &str, sealed: &str) -> Result<NtHash, OpenError> {
        let mut parts = sealed.split(':');
        let (Some(VERSION), Some(id), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Format);
        };
        let id_ok = id.len() == 2 * ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit());
        if !id_ok {
            return Err(OpenError::Format);
        }
        if !id.eq_ignore_ascii_case(&self.id()) {
            return Err(OpenError::OtherKey {
                sealed: id.to_ascii_lowercase(),
                loaded: self.id(),
            });
        }
        let body = Zeroizing::new(hex::decode(body).map_err(|_| OpenError::Format)?);
        if body.len() != NONCE_LEN + NT_HASH_LEN + TAG_LEN {
            return Err(OpenError::Format);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Format)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(self.aad(user)), &mut buf[..])
            .map_err(|_| OpenError::Tampered)?;
        NtHash::from_slice(plain).ok_or(OpenError::Format)
    }

    /// The authenticated data: label, version, key id, user name.
    fn aad(&self, user: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(AAD_LABEL.len() + 8 + user.len());
        aad.extend_from_slice(AAD_LABEL);
        aad.extend_from_slice(VERSION.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&self.id);
        aad.extend_from_slice(user.as_bytes());
        aad
    }
}

/// Writes a new random key to `path`: under a temporary name created with
/// `O_EXCL` and mode 0600, synced, then hard-linked to `path`, so no
/// reader ever sees a partial file and an existing file is never replaced.
/// `false` if `path` appeared meanwhile (another process created it).
fn create(path: &Path) -> Result<bool, CredentialKeyError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(key_error(
            path,
            format!("directory {} does not exist", dir.display()),
        ));
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    aws_lc_rs::rand::fill(&mut key[..]).map_err(|_| key_error(path, "no random numbers"))?;
    let mut tag = [0u8; 6];
    aws_lc_rs::rand::fill(&mut tag).map_err(|_| key_error(path, "no random numbers"))?;
    let name = path
        .file_name()
        .map_or_else(|| DEFAULT_FILE.into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(
        ".{name}.{}.{}",
        std::process::id(),
        hex::encode(tag)
    ));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| f.write_all(&key[..]).and_then(|()| f.sync_all()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(key_error(path, format!("cannot create it: {e}")));
    }
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            // The new directory entry survives a crash.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(key_error(path, format!("cannot create it: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "authd-credkey-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_once_private_and_never_overwritten() {
        let dir = Dir::new("create");
        let path = dir.0.join(DEFAULT_FILE);
        let (first, created) = CredentialKey::load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        let bytes = std::fs::read(&path).unwrap();
        let (again, created) = CredentialKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.id(), first.id());
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "not rewritten");
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(&dir.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [DEFAULT_FILE]);
        // Someone else's file at the path is kept as it is.
        assert!(!create(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn refuses_readable_or_short_files() {
        let dir = Dir::new("refuse");
        let path = dir.0.join("k");
        std::fs::write(&path, [7u8; KEY_LEN]).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
            let e = CredentialKey::load(&path).unwrap_err().to_string();
            assert!(e.contains(&format!("mode {bad:04o}")), "{e}");
            assert!(e.contains("chmod 600") && e.contains("/k"), "{e}");
            // Not replaced either.
            assert!(CredentialKey::load_or_create(&path).is_err());
        }
        // Positive control: the same file with mode 0600 (or 0400) loads.
        for good in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(good)).unwrap();
            CredentialKey::load(&path).unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        for len in [0, KEY_LEN - 1, KEY_LEN + 1] {
            std::fs::write(&path, vec![1u8; len]).unwrap();
            let e = CredentialKey::load(&path).unwrap_err().to_string();
            assert!(e.contains(&format!("holds {len}")), "{e}");
        }
        let e = CredentialKey::load(&dir.0).unwrap_err().to_string();
        assert!(e.contains("regular file"), "{e}");
        let e = CredentialKey::load_or_create(&dir.0.join("no/such/dir/k"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
    }

    #[test]
    fn seal_and_open() {
        let key = CredentialKey::from_bytes(&[3u8; KEY_LEN]);
        let hash = NtHash::of_password("clientPass");
        let sealed = key.seal_nt_hash("alice", &hash).unwrap();
        assert!(sealed.starts_with(&format!("v1:{}:", key.id())), "{sealed}");
        assert!(!sealed.contains(&hex::encode(hash.as_bytes())));
        let opened = key.open_nt_hash("alice", &sealed).unwrap();
        assert_eq!(opened.as_bytes(), hash.as_bytes());
        // A random nonce: the same hash seals differently each time.
        let other = key.seal_nt_hash("alice", &hash).unwrap();
        assert_ne!(sealed, other);
        assert_eq!(
            key.open_nt_hash("alice", &other).unwrap().as_bytes(),
            hash.as_bytes()
        );
        // Bound to the user name.
        assert_eq!(
            key.open_nt_hash("bob", &sealed).err(),
            Some(OpenError::Tampered)
        );
        assert_eq!(
            key.open_nt_hash("alice ", &sealed).err(),
            Some(OpenError::Tampered)
        );
        // Any altered octet fails.
        let last = sealed.len() - 1;
        let flipped = if sealed.ends_with('0') { "1" } else { "0" };
        let altered = format!("{}{flipped}", &sealed[..last]);
        assert_eq!(
            key.open_nt_hash("alice", &altered).err(),
            Some(OpenError::Tampered)
        );
        // Another key is told apart by its id.
        let wrong = CredentialKey::from_bytes(&[4u8; KEY_LEN]);
        assert_ne!(wrong.id(), key.id());
        assert_eq!(
            wrong.open_nt_hash("alice", &sealed).err(),
            Some(OpenError::OtherKey {
                sealed: key.id(),
                loaded: wrong.id()
            })
        );
        // Another key that claims the same id still fails on the tag.
        let forged = sealed.replacen(&key.id(), &wrong.id(), 1);
        assert_eq!(
            wrong.open_nt_hash("alice", &forged).err(),
            Some(OpenError::Tampered)
        );
        for bad in [
            "",
            "v1",
            "v2:00000000:00",
            &format!("v1:{}:zz", key.id()),
            &format!("v1:{}:{}", key.id(), "00".repeat(20)),
            &format!("{sealed}:x"),
        ] {
            assert_eq!(
                key.open_nt_hash("alice", bad).err(),
                Some(OpenError::Format),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_only_the_id() {
        let key = CredentialKey::from_bytes(&[0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.id()), "{shown}");
        assert!(!shown.contains("abab"), "{shown}");
    }
}
