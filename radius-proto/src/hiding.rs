//! Hidden attribute values: User-Password (RFC 2865 §5.2), MS-MPPE-Send-Key /
//! MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3) and Tunnel-Password
//! (RFC 2868 §3.5).
//!
//! All three use the same MD5 stream construction over 16-octet blocks:
//!
//! ```text
//! b(1) = MD5(Secret | RequestAuthenticator [| Salt])   c(1) = p(1) xor b(1)
//! b(i) = MD5(Secret | c(i-1))                          c(i) = p(i) xor b(i)
//! ```
//!
//! The Request Authenticator is the one of the Access-Request (also when the
//! value travels in the Access-Accept that answers it). Decrypted secrets are
//! returned in [`Zeroizing`] buffers; intermediate plaintext and key stream
//! are wiped as well.

use zeroize::Zeroizing;

use crate::Error;
use crate::auth::md5;

const BLOCK: usize = 16;

/// Longest User-Password (RFC 2865 §5.2).
pub const MAX_USER_PASSWORD_LEN: usize = 128;
/// Longest MPPE key whose hidden form still fits in one Vendor-Specific
/// attribute: 2 (salt) + 240 (1 + key, padded) + 6 (VSA header) <= 253.
pub const MAX_MPPE_KEY_LEN: usize = 239;
/// Longest Tunnel-Password whose hidden form fits in one attribute:
/// 1 (tag) + 2 (salt) + 240 (1 + password, padded) <= 253.
pub const MAX_TUNNEL_PASSWORD_LEN: usize = 239;

fn padded_len(n: usize) -> usize {
    n.div_ceil(BLOCK).max(1) * BLOCK
}

/// Runs the RFC 2865 §5.2 stream over `data` (a multiple of 16 octets) in
/// place. `salt` is empty for User-Password (RFC 2548 §2.4.2 and RFC 2868
/// §3.5 add it after the Request Authenticator). b(i+1) is computed only
/// when a block i+1 follows: n blocks cost n MD5s, not n + 1.
fn crypt(data: &mut [u8], secret: &[u8], request_authenticator: &[u8], salt: &[u8], decrypt: bool) {
    let mut b = Zeroizing::new(md5(&[secret, request_authenticator, salt]));
    let mut blocks = data.chunks_mut(BLOCK).peekable();
    while let Some(block) = blocks.next() {
        let mut c = [0u8; BLOCK];
        if decrypt {
            c[..block.len()].copy_from_slice(block);
        }
        for (x, k) in block.iter_mut().zip(b.iter()) {
            *x ^= k;
        }
        if blocks.peek().is_none() {
            break;
        }
        if !decrypt {
            c[..block.len()].copy_from_slice(block);
        }
        *b = md5(&[secret, &c[..block.len()]]);
    }
}

/// Hides a User-Password (RFC 2865 §5.2): NUL-padded to a multiple of 16
/// (at least 16), at most 128 octets, else [`Error::ValueTooLong`].
pub fn encrypt_user_password(
    password: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Vec<u8>, Error> {
    if password.len() > MAX_USER_PASSWORD_LEN {
        return Err(Error::ValueTooLong);
    }
    let mut buf = Zeroizing::new(vec![0u8; padded_len(password.len())]);
    buf[..password.len()].copy_from_slice(password);
    crypt(&mut buf, secret, request_authenticator, &[], false);
    Ok(buf.to_vec())
}

/// Recovers a User-Password (RFC 2865 §5.2), stripping the trailing NUL
/// padding. The hidden value must be 16..=128 octets, a multiple of 16, else
/// [`Error::BadHiddenValue`]. A wrong secret yields garbage, not an error:
/// the password check itself is the authenticator.
pub fn decrypt_user_password(
    hidden: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    if hidden.is_empty() || hidden.len() % BLOCK != 0 || hidden.len() > MAX_USER_PASSWORD_LEN {
        return Err(Error::BadHiddenValue);
    }
    let mut buf = Zeroizing::new(hidden.to_vec());
    crypt(&mut buf, secret, request_authenticator, &[], true);
    let end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    buf.truncate(end);
    Ok(buf)
}

/// Shared by MPPE keys and Tunnel-Password: plaintext = length octet |
/// secret | zero padding to a multiple of 16, hidden with `salt` (high bit
/// forced on, RFC 2548 §2.4.2 / RFC 2868 §3.5).
fn hide_salted(
    plain: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    mut salt: [u8; 2],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let len_octet = u8::try_from(plain.len()).map_err(|_| Error::ValueTooLong)?;
    salt[0] |= 0x80;
    let mut buf = Zeroizing::new(vec![0u8; padded_len(1 + plain.len())]);
    buf[0] = len_octet;
    buf[1..=plain.len()].copy_from_slice(plain);
    crypt(&mut buf, secret, request_authenticator, &salt, false);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&buf);
    Ok(())
}

/// Inverse of [`hide_salted`] on `salt | C`.
fn unhide_salted(
    value: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (salt, cipher) = value.split_at_checked(2).ok_or(Error::BadHiddenValue)?;
    if cipher.is_empty() || cipher.len() % BLOCK != 0 {
        return Err(Error::BadHiddenValue);
    }
    let mut buf = Zeroizing::new(cipher.to_vec());
    crypt(&mut buf, secret, request_authenticator, salt, true);
    let n = usize::from(*buf.first().ok_or(Error::BadHiddenValue)?);
    // The padding after the secret is not checked: some senders do not zero it.
    match buf.get(1..=n) {
        Some(s) => Ok(Zeroizing::new(s.to_vec())),
        None => Err(Error::BadHiddenValue),
    }
}

/// Hides an MS-MPPE-Send-Key / MS-MPPE-Recv-Key (RFC 2548 §2.4.2, §2.4.3).
/// The result is the vendor attribute's value: Salt (2 octets, high bit forced
/// on) then the hidden key-length octet, key and zero padding.
///
/// `salt` must differ between the attributes of one packet (RFC 2548 §2.4.2);
/// the caller draws it at random.
///
/// # Panics
///
/// If `key` is longer than 255 octets, which the key-length octet cannot
/// express (no MPPE key comes close; [`try_encrypt_mppe_key`] returns an error
/// instead).
pub fn encrypt_mppe_key(
    key: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Vec<u8> {
    try_encrypt_mppe_key(key, secret, request_authenticator, salt)
        .expect("MPPE key longer than 255 octets")
}

/// [`encrypt_mppe_key`] that refuses keys longer than [`MAX_MPPE_KEY_LEN`]
/// (they would not fit in a Vendor-Specific attribute) with
/// [`Error::ValueTooLong`].
pub fn try_encrypt_mppe_key(
    key: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Result<Vec<u8>, Error> {
    if key.len() > 255 {
        return Err(Error::ValueTooLong);
    }
    let mut out = Vec::with_capacity(2 + padded_len(1 + key.len()));
    hide_salted(key, secret, request_authenticator, salt, &mut out)?;
    Ok(out)
}

/// Recovers the key from an MS-MPPE-Send-Key / MS-MPPE-Recv-Key value
/// (RFC 2548 §2.4.2). Errors with [`Error::BadHiddenValue`] when the value is
/// not 2 + a non-zero multiple of 16 octets or the decrypted key-length octet
/// points past the data (the usual sign of a wrong secret).
pub fn decrypt_mppe_key(
    value: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    unhide_salted(value, secret, request_authenticator)
}

/// Hides a Tunnel-Password (RFC 2868 §3.5). The result is the attribute's
/// value: Tag, Salt (high bit forced on), then the hidden Data-Length octet,
/// password and zero padding.
///
/// Errors: [`Error::InvalidTag`] for a tag above 0x1F,
/// [`Error::ValueTooLong`] for a password above [`MAX_TUNNEL_PASSWORD_LEN`].
pub fn encrypt_tunnel_password(
    password: &[u8],
    tag: u8,
    secret: &[u8],
    request_authenticator: &[u8; 16],
    salt: [u8; 2],
) -> Result<Vec<u8>, Error> {
    if tag > crate::dict::MAX_TAG {
        return Err(Error::InvalidTag);
    }
    if password.len() > MAX_TUNNEL_PASSWORD_LEN {
        return Err(Error::ValueTooLong);
    }
    let mut out = Vec::with_capacity(3 + padded_len(1 + password.len()));
    out.push(tag);
    hide_salted(password, secret, request_authenticator, salt, &mut out)?;
    Ok(out)
}

/// Recovers `(tag, password)` from a Tunnel-Password value (RFC 2868 §3.5).
/// Errors with [`Error::BadHiddenValue`] on a malformed value or an
/// impossible Data-Length octet.
pub fn decrypt_tunnel_password(
    value: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<(u8, Zeroizing<Vec<u8>>), Error> {
    let (&tag, rest) = value.split_first().ok_or(Error::BadHiddenValue)?;
    let password = unhide_salted(rest, secret, request_authenticator)?;
    Ok((tag, password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;
    use crate::packet::Packet;
    use crate::packet::tests::RFC2865_7_1_REQUEST;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("valid hex in test vector")
    }

    const SEQ_AUTH: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn rfc2865_7_1_user_password() {
        let p = Packet::new_checked(&RFC2865_7_1_REQUEST[..]).unwrap();
        let hidden = p.attr(dict::USER_PASSWORD).unwrap();
        let pw = decrypt_user_password(hidden, b"xyzzy5461", p.authenticator()).unwrap();
        assert_eq!(&pw[..], b"arctangent");
        let again = encrypt_user_password(b"arctangent", b"xyzzy5461", p.authenticator()).unwrap();
        assert_eq!(again, hidden);
        // A wrong secret does not give the password back.
        let wrong = decrypt_user_password(hidden, b"xyzzy5462", p.authenticator()).unwrap();
        assert_ne!(&wrong[..], b"arctangent");
    }

    #[test]
    fn freeradius_user_password_vector() {
        // FreeRADIUS src/tests/unit/protocols/radius/rfc2868.txt: User-Password
        // "bob", secret "testing123", authenticator 00 01 .. 0f.
        let hidden = hex("f4816bca74fd7a1a104607240014828b");
        assert_eq!(
            encrypt_user_password(b"bob", b"testing123", &SEQ_AUTH).unwrap(),
            hidden
        );
        assert_eq!(
            &decrypt_user_password(&hidden, b"testing123", &SEQ_AUTH).unwrap()[..],
            b"bob"
        );
    }

    #[test]
    fn user_password_lengths() {
        let auth = [0x42; 16];
        for len in [0usize, 1, 15, 16, 17, 31, 32, 100, 128] {
            let pw: Vec<u8> = (0..len).map(|i| (i % 200) as u8 + 1).collect();
            let hidden = encrypt_user_password(&pw, b"s", &auth).unwrap();
            assert_eq!(hidden.len(), padded_len(len));
            assert_eq!(
                &decrypt_user_password(&hidden, b"s", &auth).unwrap()[..],
                pw
            );
        }
        assert_eq!(
            encrypt_user_password(&[1; 129], b"s", &auth),
            Err(Error::ValueTooLong)
        );
        for bad in [0usize, 15, 17, 144] {
            assert_eq!(
                decrypt_user_password(&vec![0; bad], b"s", &auth).unwrap_err(),
                Error::BadHiddenValue
            );
        }
    }

    #[test]
    fn openbsd_mppe_key_vector() {
        // OpenBSD regress/lib/libradius/test25.c: MS-MPPE key, secret
        // "hogehogefugafuga", salt 80 36.
        let ra: [u8; 16] = hex("678ae6ed696e1bd10ae2fea105d46a56").try_into().unwrap();
        let value = hex("8036 f4abbe2117fb3e4a7874dce91c5b0449 8ec7720f168688562dbc88e21cab6271");
        let key = hex("fc6ea418373d8e90c136fae3735e37d1");
        let secret = b"hogehogefugafuga";
        assert_eq!(&decrypt_mppe_key(&value, secret, &ra).unwrap()[..], key);
        assert_eq!(encrypt_mppe_key(&key, secret, &ra, [0x80, 0x36]), value);
        // The high bit of the salt is forced on.
        assert_eq!(encrypt_mppe_key(&key, secret, &ra, [0x00, 0x36]), value);
    }

    #[test]
    fn mppe_round_trip_and_errors() {
        let ra = [9u8; 16];
        let key: Vec<u8> = (0..32).collect();
        let v = encrypt_mppe_key(&key, b"secret", &ra, [0x12, 0x34]);
        // 2 salt + (1 + 32 -> 48).
        assert_eq!(v.len(), 50);
        assert_eq!(v[0], 0x92);
        assert_eq!(&decrypt_mppe_key(&v, b"secret", &ra).unwrap()[..], &key[..]);
        // Longest key that fits one VSA.
        let long = vec![7u8; MAX_MPPE_KEY_LEN];
        let v = encrypt_mppe_key(&long, b"secret", &ra, [0x80, 1]);
        assert_eq!(v.len(), 242);
        assert_eq!(
            &decrypt_mppe_key(&v, b"secret", &ra).unwrap()[..],
            &long[..]
        );
        assert_eq!(
            try_encrypt_mppe_key(&[0; 256], b"secret", &ra, [0x80, 1]),
            Err(Error::ValueTooLong)
        );
        for bad in [0usize, 1, 2, 17, 19, 33] {
            assert_eq!(
                decrypt_mppe_key(&vec![0x80; bad], b"secret", &ra).unwrap_err(),
                Error::BadHiddenValue
            );
        }
        // A key-length octet pointing past the data: force it by
        // re-encrypting a block whose first octet is 0xff.
        let mut forged = vec![0x80, 0];
        let mut block = [0u8; 16];
        block[0] = 0xff;
        crypt(&mut block, b"secret", &ra, &[0x80, 0], false);
        forged.extend_from_slice(&block);
        assert_eq!(
            decrypt_mppe_key(&forged, b"secret", &ra).unwrap_err(),
            Error::BadHiddenValue
        );
    }

    #[test]
    fn freeradius_tunnel_password_vectors() {
        // FreeRADIUS src/tests/unit/protocols/radius/rfc2868.txt (secret
        // "testing123", authenticator 00 01 .. 0f); its padding after the
        // password is not zero, which the decoder must tolerate.
        for (value, password) in [
            ("00 9973 051de6c557307dacd5daa599f4e26e7e", &b"foo"[..]),
            ("00 9dc5 c469233a1657b35c97823c97ec6b7ef1", b"bar"),
            ("00 c06f 255f09b7dc0e4a1a465605f48f7c0ba4", b"barbar"),
        ] {
            let (tag, pw) = decrypt_tunnel_password(&hex(value), b"testing123", &SEQ_AUTH).unwrap();
            assert_eq!(tag, 0);
            assert_eq!(&pw[..], password);
        }
    }

    #[test]
    fn tunnel_password_round_trip_and_errors() {
        let ra = [3u8; 16];
        for len in [0usize, 1, 15, 16, 100, MAX_TUNNEL_PASSWORD_LEN] {
            let pw = vec![b'p'; len];
            let v = encrypt_tunnel_password(&pw, 5, b"sec", &ra, [1, 2]).unwrap();
            assert!(v.len() <= 253);
            assert_eq!(v[0], 5);
            assert_eq!(v[1], 0x81);
            assert_eq!((v.len() - 3) % 16, 0);
            let (tag, back) = decrypt_tunnel_password(&v, b"sec", &ra).unwrap();
            assert_eq!(tag, 5);
            assert_eq!(&back[..], &pw[..]);
        }
        assert_eq!(
            encrypt_tunnel_password(b"x", 0x20, b"sec", &ra, [1, 2]),
            Err(Error::InvalidTag)
        );
        assert_eq!(
            encrypt_tunnel_password(&[0; 240], 0, b"sec", &ra, [1, 2]),
            Err(Error::ValueTooLong)
        );
        for bad in [0usize, 1, 3, 18, 20] {
            assert_eq!(
                decrypt_tunnel_password(&vec![0; bad], b"sec", &ra).unwrap_err(),
                Error::BadHiddenValue
            );
        }
    }
}
