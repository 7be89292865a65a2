//! MS-CHAPv2 (RFC 2759) and its key derivation (RFC 3079): the
//! cryptography shared by EAP-MSCHAPv2 (inside PEAP and TTLS) and
//! TTLS-MSCHAPv2.
//!
//! Written here rather than taken from a crate: no maintained crate offers
//! the RFC 2759 functions together with the RFC 3079 keys and a type that
//! keeps the NT hash out of logs and wipes it.
//!
//! The functions take their inputs as the RFC's pseudocode names them
//! (§8). In particular `user_name` is the RFC's UserName: the account name
//! *without* a Windows domain; [`user_name_without_domain`] turns the Name
//! field a peer sent into it.
//!
//! Secret values (the NT hash, the PasswordHashHash, the MPPE keys) are
//! held in types that are wiped on drop and implement neither `Debug` nor
//! `Display`. Comparisons of a received NT-Response or authenticator
//! response run in constant time.

use des::Des;
use des::cipher::{BlockCipherEncrypt, KeyInit};
use md4::{Digest, Md4};
use sha1::Sha1;
use zeroize::{Zeroize, Zeroizing};

use crate::keys::{KEY_LEN, Msk};

/// Length of the NT password hash (RFC 2759 §8.3: MD4, 16 octets).
pub const NT_HASH_LEN: usize = 16;

/// Length of the AuthenticatorChallenge and the PeerChallenge (RFC 2759
/// §3, §4: 16 octets).
pub const CHALLENGE_LEN: usize = 16;

/// Length of the ChallengeHash output (RFC 2759 §8.2: 8 octets).
pub const CHALLENGE_HASH_LEN: usize = 8;

/// Length of the NT-Response (RFC 2759 §4, §8.1: 24 octets).
pub const NT_RESPONSE_LEN: usize = 24;

/// Length of the authenticator response as a number (RFC 2759 §8.7: a
/// SHA-1 digest, 20 octets).
pub const AUTHENTICATOR_RESPONSE_LEN: usize = 20;

/// Length of the authenticator response as sent: `S=` and 40 hexadecimal
/// digits (RFC 2759 §5, §8.7: 42 octets).
pub const AUTHENTICATOR_RESPONSE_STR_LEN: usize = 2 + 2 * AUTHENTICATOR_RESPONSE_LEN;

/// Length of the MPPE MasterKey and of the 128-bit master session keys
/// (RFC 3079 §3.3, §3.4: 16 octets).
pub const MPPE_KEY_LEN: usize = 16;

/// The NT password hash, MD4 of the UTF-16LE password (RFC 2759 §8.3).
/// Password-equivalent for MS-CHAPv2: wiped on drop, no `Debug`.
///
/// The same type holds the PasswordHashHash (RFC 2759 §8.4), which is
/// as sensitive for the RFC 3079 keys.
#[derive(Clone)]
pub struct NtHash(Zeroizing<[u8; NT_HASH_LEN]>);

impl NtHash {
    /// Wraps hash octets.
    pub fn new(bytes: [u8; NT_HASH_LEN]) -> NtHash {
        NtHash(Zeroizing::new(bytes))
    }

    /// Copies a 16-octet slice; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<NtHash> {
        let arr: [u8; NT_HASH_LEN] = bytes.try_into().ok()?;
        Some(NtHash::new(arr))
    }

    /// NtPasswordHash (RFC 2759 §8.3) of a password: MD4 over the
    /// password's UTF-16 code units, little-endian, without a terminating
    /// zero.
    pub fn of_password(password: &str) -> NtHash {
        let mut md4 = Md4::new();
        for unit in password.encode_utf16() {
            md4.update(unit.to_le_bytes());
        }
        NtHash::from_digest(md4.finalize().as_mut_slice())
    }

    /// Takes the first 16 octets of a digest and wipes the digest.
    fn from_digest(digest: &mut [u8]) -> NtHash {
        let mut out = Zeroizing::new([0u8; NT_HASH_LEN]);
        for (o, d) in out.iter_mut().zip(digest.iter()) {
            *o = *d;
        }
        digest.zeroize();
        NtHash(out)
    }

    /// The hash octets.
    pub fn as_bytes(&self) -> &[u8; NT_HASH_LEN] {
        &self.0
    }
}

/// A 16-octet MPPE key of RFC 3079 §3.4: the MasterKey, or a 128-bit
/// master session key (MasterSendKey, MasterReceiveKey). Wiped on drop, no
/// `Debug`.
#[derive(Clone)]
pub struct MppeKey(Zeroizing<[u8; MPPE_KEY_LEN]>);

impl MppeKey {
    /// Wraps key octets.
    pub fn new(bytes: [u8; MPPE_KEY_LEN]) -> MppeKey {
        MppeKey(Zeroizing::new(bytes))
    }

    /// The key octets. A 40- or 56-bit start key (RFC 3079 §3.1, §3.2:
    /// SessionKeyLength 8) is the first 8 of them.
    pub fn as_bytes(&self) -> &[u8; MPPE_KEY_LEN] {
        &self.0
    }

    fn from_digest(digest: &mut [u8]) -> MppeKey {
        let mut out = Zeroizing::new([0u8; MPPE_KEY_LEN]);
        for (o, d) in out.iter_mut().zip(digest.iter()) {
            *o = *d;
        }
        digest.zeroize();
        MppeKey(out)
    }
}

/// Constant-time equality of two equally long octet strings: every octet
/// is looked at whatever the first difference.
fn ct_eq<const N: usize>(a: &[u8; N], b: &[u8; N]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    core::hint::black_box(diff) == 0
}

/// HashNtPasswordHash (RFC 2759 §8.4): MD4 of the NT hash, the
/// PasswordHashHash that enters the authenticator response (§8.7) and the
/// MPPE MasterKey (RFC 3079 §3.4).
pub fn hash_nt_password_hash(hash: &NtHash) -> NtHash {
    let mut md4 = Md4::new();
    md4.update(hash.as_bytes());
    NtHash::from_digest(md4.finalize().as_mut_slice())
}

/// ChallengeHash (RFC 2759 §8.2): the first 8 octets of
/// SHA-1(PeerChallenge | AuthenticatorChallenge | UserName).
///
/// `user_name` is the account name without any domain prefix (§8.2: "as
/// presented by the peer and excluding any prepended domain name"); see
/// [`user_name_without_domain`].
pub fn challenge_hash(
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
) -> [u8; CHALLENGE_HASH_LEN] {
    let mut sha = Sha1::new();
    sha.update(peer_challenge);
    sha.update(authenticator_challenge);
    sha.update(user_name);
    let digest = sha.finalize();
    let mut out = [0u8; CHALLENGE_HASH_LEN];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Spreads a 56-bit DES key over 8 octets, 7 key bits in the high bits of
/// each and an odd parity bit in the low bit (RFC 2759 §8.6, example in
/// §9.3). The DES engine ignores the parity bits; they are set so that the
/// keys are the ones the RFC shows.
fn des_key_with_parity(key: &[u8; 7]) -> Zeroizing<[u8; 8]> {
    let mut bits = Zeroizing::new([0u8; 8]);
    bits[1..].copy_from_slice(key);
    let value = Zeroizing::new(u64::from_be_bytes(*bits));
    let mut out = Zeroizing::new([0u8; 8]);
    for (i, octet) in out.iter_mut().enumerate() {
        // Bits 55..49 of the 56-bit key go to the first octet, and so on.
        let seven = ((*value >> (49 - 7 * i)) & 0x7f) as u8;
        let high = seven << 1;
        // Odd parity: the low bit makes the number of ones odd.
        *octet = high | u8::from(high.count_ones() & 1 == 0);
    }
    out
}

/// DesEncrypt (RFC 2759 §8.6): DES in ECB mode of one 8-octet block under
/// a 7-octet key.
fn des_encrypt(clear: &[u8; 8], key: &[u8; 7]) -> [u8; 8] {
    let key = des_key_with_parity(key);
    let cipher = Des::new(&(*key).into());
    let mut block = (*clear).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// ChallengeResponse (RFC 2759 §8.5): the NT hash zero-padded to 21
/// octets gives three 7-octet DES keys, each encrypting the 8-octet
/// challenge.
pub fn challenge_response(
    challenge: &[u8; CHALLENGE_HASH_LEN],
    hash: &NtHash,
) -> [u8; NT_RESPONSE_LEN] {
    let mut padded = Zeroizing::new([0u8; 21]);
    padded[..NT_HASH_LEN].copy_from_slice(hash.as_bytes());
    let mut key = Zeroizing::new([0u8; 7]);
    let mut out = [0u8; NT_RESPONSE_LEN];
    for i in 0..3 {
        key.copy_from_slice(&padded[7 * i..7 * i + 7]);
        out[8 * i..8 * i + 8].copy_from_slice(&des_encrypt(challenge, &key));
    }
    out
}

/// GenerateNTResponse (RFC 2759 §8.1) from the NT hash: the
/// ChallengeResponse of the ChallengeHash.
///
/// `user_name` is the account name without a domain (see
/// [`challenge_hash`]).
pub fn generate_nt_response(
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
    hash: &NtHash,
) -> [u8; NT_RESPONSE_LEN] {
    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    challenge_response(&challenge, hash)
}

/// Checks a received NT-Response against the one [`generate_nt_response`]
/// computes, in constant time (the authenticator's comparison of RFC 2759
/// §4; draft-kamath-pppext-eap-mschapv2 §2.2).
pub fn verify_nt_response(
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
    hash: &NtHash,
    received: &[u8; NT_RESPONSE_LEN],
) -> bool {
    let expected = generate_nt_response(authenticator_challenge, peer_challenge, user_name, hash);
    ct_eq(&expected, received)
}

/// "Magic server to client signing constant" (RFC 2759 §8.7, Magic1).
const AUTH_MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
/// "Pad to make it do more than one iteration" (RFC 2759 §8.7, Magic2).
const AUTH_MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";

/// GenerateAuthenticatorResponse (RFC 2759 §8.7) from the NT hash: the
/// 20-octet number the authenticator sends as `S=<40 hex digits>` to prove
/// it knows the password too.
///
/// `user_name` is the account name without a domain (see
/// [`challenge_hash`]).
pub fn generate_authenticator_response(
    hash: &NtHash,
    nt_response: &[u8; NT_RESPONSE_LEN],
    peer_challenge: &[u8; CHALLENGE_LEN],
    authenticator_challenge: &[u8; CHALLENGE_LEN],
    user_name: &[u8],
) -> [u8; AUTHENTICATOR_RESPONSE_LEN] {
    let hash_hash = hash_nt_password_hash(hash);
    let mut sha = Sha1::new();
    sha.update(hash_hash.as_bytes());
    sha.update(nt_response);
    sha.update(AUTH_MAGIC1);
    let mut digest = sha.finalize();

    let challenge = challenge_hash(peer_challenge, authenticator_challenge, user_name);
    let mut sha = Sha1::new();
    sha.update(digest.as_slice());
    sha.update(challenge);
    sha.update(AUTH_MAGIC2);
    digest.as_mut_slice().zeroize();
    let digest = sha.finalize();
    let mut out = [0u8; AUTHENTICATOR_RESPONSE_LEN];
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The authenticator response as the Success packet carries it: `S=`
/// followed by 40 hexadecimal digits, A-F in uppercase (RFC 2759 §5,
/// §8.7), 42 characters.
pub fn authenticator_response_string(response: &[u8; AUTHENTICATOR_RESPONSE_LEN]) -> String {
    let mut s = String::with_capacity(AUTHENTICATOR_RESPONSE_STR_LEN);
    s.push_str("S=");
    for b in response {
        s.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        s.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
    }
    s
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// CheckAuthenticatorResponse (RFC 2759 §8.8), the peer's half of mutual
/// authentication: `received` must be exactly the 42 octets `S=` and 40
/// hexadecimal digits, and the number must equal `expected` (compared in
/// constant time).
///
/// The sender MUST write A-F in uppercase (§5); lowercase digits are
/// accepted on receipt, as wpa_supplicant does, since the number is the
/// same.
pub fn check_authenticator_response(
    expected: &[u8; AUTHENTICATOR_RESPONSE_LEN],
    received: &[u8],
) -> bool {
    let Some(digits) = received.strip_prefix(b"S=") else {
        return false;
    };
    if digits.len() != 2 * AUTHENTICATOR_RESPONSE_LEN {
        return false;
    }
    let mut number = [0u8; AUTHENTICATOR_RESPONSE_LEN];
    for (out, pair) in number.iter_mut().zip(digits.chunks_exact(2)) {
        let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
            return false;
        };
        let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) else {
            return false;
        };
        *out = (hi << 4) | lo;
    }
    ct_eq(expected, &number)
}

/// The UserName of RFC 2759 §8.2 from the Name a peer sent: without the
/// Windows domain that may prefix it (`BIGCO\johndoe` -> `johndoe`, RFC
/// 2759 §4; draft-kamath-pppext-eap-mschapv2 §2.2).
///
/// Everything up to and including the *first* backslash is dropped, which
/// is what hostapd (`eap_server_mschapv2.c`), wpa_supplicant
/// (`mschapv2_remove_domain`) and FreeRADIUS (`with_ntdomain_hack`) do; a
/// Windows account name cannot itself contain a backslash. A name without
/// a backslash is returned whole.
pub fn user_name_without_domain(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b'\\') {
        Some(i) => name.get(i + 1..).unwrap_or_default(),
        None => name,
    }
}

/// "This is the MPPE Master Key" (RFC 3079 §3.4, Magic1).
const MPPE_MAGIC1: &[u8; 27] = b"This is the MPPE Master Key";
/// RFC 3079 §3.4 Magic2: the client's send key, the server's receive key.
const MPPE_MAGIC2: &[u8; 84] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
/// RFC 3079 §3.4 Magic3: the client's receive key, the server's send key.
const MPPE_MAGIC3: &[u8; 84] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";
/// RFC 3079 §3.4 SHSpad1 and SHSpad2.
const SHS_PAD1: [u8; 40] = [0x00; 40];
const SHS_PAD2: [u8; 40] = [0xf2; 40];

/// GetMasterKey (RFC 3079 §3.4): the first 16 octets of
/// SHA-1(PasswordHashHash | NT-Response | Magic1).
pub fn master_key(password_hash_hash: &NtHash, nt_response: &[u8; NT_RESPONSE_LEN]) -> MppeKey {
    let mut sha = Sha1::new();
    sha.update(password_hash_hash.as_bytes());
    sha.update(nt_response);
    sha.update(MPPE_MAGIC1);
    MppeKey::from_digest(sha.finalize().as_mut_slice())
}

/// GetAsymetricStartKey (RFC 3079 §3.4) with SessionKeyLength 16: the
/// 128-bit master session key for one direction, first 16 octets of
/// SHA-1(MasterKey | SHSpad1 | Magic | SHSpad2). Magic3 is the server's
/// send key and the client's receive key, Magic2 the other direction, so
/// `(is_send, is_server)` and `(!is_send, !is_server)` give the same key.
///
/// RFC 3079 §3.3 names the server's keys MasterSendKey
/// (`is_send = true, is_server = true`) and MasterReceiveKey
/// (`false, true`). 40- and 56-bit start keys are the first 8 octets.
pub fn asymmetric_start_key(master_key: &MppeKey, is_send: bool, is_server: bool) -> MppeKey {
    let magic = if is_send == is_server {
        MPPE_MAGIC3
    } else {
        MPPE_MAGIC2
    };
    let mut sha = Sha1::new();
    sha.update(master_key.as_bytes());
    sha.update(SHS_PAD1);
    sha.update(magic);
    sha.update(SHS_PAD2);
    MppeKey::from_digest(sha.finalize().as_mut_slice())
}

/// The EAP-MSCHAPv2 MSK from the NT hash and the NT-Response that crossed
/// the wire: MasterReceiveKey | MasterSendKey of the authenticator (RFC
/// 3079 §3.3), then 32 zero octets, 64 octets in all (\[MS-CHAP\] §3.1.5.1).
///
/// Both ends compute the same octets: the authenticator's receive key is
/// the peer's send key. hostapd and wpa_supplicant export the first 32
/// octets of it (`eap_mschapv2_getKey`: "MSK = server MS-MPPE-Recv-Key |
/// MS-MPPE-Send-Key"), which PEAP's cryptobinding uses as the inner
/// session key.
pub fn msk(hash: &NtHash, nt_response: &[u8; NT_RESPONSE_LEN]) -> Msk {
    let master = master_key(&hash_nt_password_hash(hash), nt_response);
    let receive = asymmetric_start_key(&master, false, true);
    let send = asymmetric_start_key(&master, true, true);
    let mut material = Zeroizing::new([0u8; KEY_LEN]);
    material[..MPPE_KEY_LEN].copy_from_slice(receive.as_bytes());
    material[MPPE_KEY_LEN..2 * MPPE_KEY_LEN].copy_from_slice(send.as_bytes());
    Msk::new(*material)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h<const N: usize>(s: &str) -> [u8; N] {
        let v = hex::decode(s.replace(' ', "")).unwrap();
        v.try_into().unwrap()
    }

    // RFC 2759 §9.2 "Hash Example" (the same inputs reappear in RFC 3079
    // §3.5.1-§3.5.3).
    const USER: &[u8] = b"User";
    const PASSWORD: &str = "clientPass";
    const AUTH_CHALLENGE: &str = "5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28";
    const PEER_CHALLENGE: &str = "21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E";
    const NT_RESPONSE: &str =
        "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF";

    /// RFC 2759 §9.2: Password "clientPass" ->
    /// PasswordHash 44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE.
    #[test]
    fn nt_password_hash_rfc2759_9_2() {
        assert_eq!(
            hex::encode(NtHash::of_password("clientPass").as_bytes()),
            "44ebba8d5312b8d611474411f56989ae"
        );
    }

    /// RFC 2759 §9.2: PasswordHashHash 41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1
    /// 2F A5 9F 3F.
    #[test]
    fn hash_nt_password_hash_rfc2759_9_2() {
        let hh = hash_nt_password_hash(&NtHash::of_password(PASSWORD));
        assert_eq!(
            hh.as_bytes(),
            &h::<16>("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F")
        );
    }

    /// RFC 2759 §9.2: 8-octet Challenge D0 2E 43 86 BC E9 12 26.
    #[test]
    fn challenge_hash_rfc2759_9_2() {
        assert_eq!(
            challenge_hash(&h(PEER_CHALLENGE), &h(AUTH_CHALLENGE), USER),
            h::<8>("D0 2E 43 86 BC E9 12 26")
        );
    }

    /// RFC 2759 §9.3 "Example of DES Key Generation": password "MyPw",
    /// its hash, and the two parity-corrected DES keys.
    #[test]
    fn des_key_generation_rfc2759_9_3() {
        let hash = NtHash::of_password("MyPw");
        assert_eq!(
            hash.as_bytes(),
            &h::<16>("FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC")
        );
        assert_eq!(
            *des_key_with_parity(&h("FC 15 6A F7 ED CD 6C")),
            h::<8>("FD 0B 5B 5E 7F 6E 34 D9")
        );
        assert_eq!(
            *des_key_with_parity(&h("0E DD E3 33 7D 42 7F")),
            h::<8>("0E 6E 79 67 37 EA 08 FE")
        );
    }

    /// RFC 2759 §9.2: 24-octet NT-Response.
    #[test]
    fn nt_response_rfc2759_9_2() {
        let hash = NtHash::of_password(PASSWORD);
        let nt = generate_nt_response(&h(AUTH_CHALLENGE), &h(PEER_CHALLENGE), USER, &hash);
        assert_eq!(nt, h::<24>(NT_RESPONSE));
        // The same from the §9.2 ChallengeHash directly (§8.5).
        assert_eq!(
            challenge_response(&h("D0 2E 43 86 BC E9 12 26"), &hash),
            h::<24>(NT_RESPONSE)
        );
    }

    #[test]
    fn verify_nt_response_right_and_wrong_password() {
        let (ac, pc) = (h(AUTH_CHALLENGE), h(PEER_CHALLENGE));
        let received = h::<24>(NT_RESPONSE);
        // Positive control: the RFC's response under the RFC's password.
        assert!(verify_nt_response(
            &ac,
            &pc,
            USER,
            &NtHash::of_password(PASSWORD),
            &received
        ));
        // A wrong password (one letter's case) fails.
        assert!(!verify_nt_response(
            &ac,
            &pc,
            USER,
            &NtHash::of_password("clientpass"),
            &received
        ));
        // So does the right password with another user name, or one
        // flipped bit of the response.
        let hash = NtHash::of_password(PASSWORD);
        assert!(!verify_nt_response(&ac, &pc, b"user", &hash, &received));
        let mut flipped = received;
        flipped[23] ^= 0x01;
        assert!(!verify_nt_response(&ac, &pc, USER, &hash, &flipped));
    }

    /// RFC 2759 §9.2: AuthenticatorResponse
    /// "S=407A5589115FD0D6209F510FE9C04566932CDA56".
    #[test]
    fn authenticator_response_rfc2759_9_2() {
        let hash = NtHash::of_password(PASSWORD);
        let r = generate_authenticator_response(
            &hash,
            &h(NT_RESPONSE),
            &h(PEER_CHALLENGE),
            &h(AUTH_CHALLENGE),
            USER,
        );
        let s = authenticator_response_string(&r);
        assert_eq!(s, "S=407A5589115FD0D6209F510FE9C04566932CDA56");
        assert_eq!(s.len(), AUTHENTICATOR_RESPONSE_STR_LEN);

        assert!(check_authenticator_response(&r, s.as_bytes()));
        assert!(check_authenticator_response(
            &r,
            b"S=407a5589115fd0d6209f510fe9c04566932cda56"
        ));
        for bad in [
            &b"S=407A5589115FD0D6209F510FE9C04566932CDA57"[..],
            b"S=407A5589115FD0D6209F510FE9C04566932CDA5",
            b"S=407A5589115FD0D6209F510FE9C04566932CDA560",
            b"s=407A5589115FD0D6209F510FE9C04566932CDA56",
            b"S=407A5589115FD0D6209F510FE9C04566932CDAG6",
            b"407A5589115FD0D6209F510FE9C04566932CDA56",
            b"S=",
            b"",
        ] {
            assert!(!check_authenticator_response(&r, bad), "{bad:?}");
        }
    }

    #[test]
    fn domain_prefix_is_dropped_through_the_first_backslash() {
        assert_eq!(user_name_without_domain(b"EXAMPLE\\alice"), b"alice");
        assert_eq!(user_name_without_domain(b"alice"), b"alice");
        assert_eq!(user_name_without_domain(b"A\\B\\c"), b"B\\c");
        assert_eq!(user_name_without_domain(b"EXAMPLE\\"), b"");
        assert_eq!(user_name_without_domain(b""), b"");
        // RFC 2759 §4: the domain never enters the ChallengeHash.
        let (ac, pc) = (h(AUTH_CHALLENGE), h(PEER_CHALLENGE));
        assert_eq!(
            challenge_hash(&pc, &ac, user_name_without_domain(b"DOMAIN\\User")),
            h::<8>("D0 2E 43 86 BC E9 12 26")
        );
    }

    /// RFC 3079 §3.5.3 "Sample 128-bit Key Derivation": MasterKey and
    /// SendStartKey128; §3.5.1 and §3.5.2: SendStartKey40 and
    /// SendStartKey56 are its first 8 octets.
    #[test]
    fn mppe_keys_rfc3079_3_5() {
        let hash = NtHash::of_password(PASSWORD);
        let mk = master_key(&hash_nt_password_hash(&hash), &h(NT_RESPONSE));
        assert_eq!(
            mk.as_bytes(),
            &h::<16>("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
        );
        // §3.3: MasterSendKey = GetAsymmetricStartKey(MasterKey, 16, TRUE,
        // TRUE), the server's send key.
        let send = asymmetric_start_key(&mk, true, true);
        assert_eq!(
            send.as_bytes(),
            &h::<16>("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
        );
        assert_eq!(send.as_bytes()[..8], h::<8>("8B 7C DC 14 9B 99 3A 1B"));
        // The client receives with the server's send key, and the other
        // direction is a different key.
        assert_eq!(
            asymmetric_start_key(&mk, false, false).as_bytes(),
            send.as_bytes()
        );
        let receive = asymmetric_start_key(&mk, false, true);
        assert_ne!(receive.as_bytes(), send.as_bytes());
        assert_eq!(
            asymmetric_start_key(&mk, true, false).as_bytes(),
            receive.as_bytes()
        );
    }

    #[test]
    fn msk_layout() {
        let hash = NtHash::of_password(PASSWORD);
        let msk = msk(&hash, &h(NT_RESPONSE));
        let mk = master_key(&hash_nt_password_hash(&hash), &h(NT_RESPONSE));
        let bytes = msk.as_bytes();
        assert_eq!(
            &bytes[..16],
            asymmetric_start_key(&mk, false, true).as_bytes()
        );
        // RFC 3079 §3.5.3 SendStartKey128, the server's send key, second.
        assert_eq!(
            bytes[16..32],
            h::<16>("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
        );
        assert_eq!(bytes[32..], [0u8; 32]);
    }
}
