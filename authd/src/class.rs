//! The Class attribute authd puts in every Access-Accept (RFC 2865
//! section 5.25), and its reading when the NAS echoes it in accounting.
//!
//! RFC 2865 section 5.25: the NAS sends the Class unmodified in the
//! Accounting-Requests of the session (hostapd: `ieee802_1x_store_radius_class`
//! keeps the Access-Accept's Class attributes, `accounting_msg` copies them
//! into every Accounting-Request, and the PMKSA cache keeps them across
//! PMKSA caching, `pmksa_cache_auth.c`). So the Class ties a session's
//! accounting to the authentication that admitted it, also when the
//! accounting's User-Name is an anonymous outer identity.
//!
//! Format, version 1, printable ASCII, at most 253 octets:
//!
//! ```text
//! authd1;<method>;<id>;<serial>;<user>
//! ```
//!
//! - `method`: `tls`, `peap`, `ttls` or `pap`;
//! - `id`: unique per authentication: the Unix time in hex, `.`, 8 random
//!   octets in hex;
//! - `serial`: the client certificate's serial (lowercase hex, as the
//!   store writes serials), empty without a certificate;
//! - `user`: the user authd authorized, every octet outside `!`..`~` and
//!   each of `%`, `;`, `*` written `%XX`; a user whose escaped name does not
//!   fit is written as a single `*` (not recorded), never truncated (a
//!   prefix of one name may be another user's name).

use std::fmt::Write as _;

/// The prefix of a version 1 Class.
pub const PREFIX: &str = "authd1;";
/// Longest attribute value (RFC 2865 section 5).
pub const MAX_LEN: usize = 253;

/// How the user was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Tls,
    Peap,
    Ttls,
    Pap,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Tls => "tls",
            Method::Peap => "peap",
            Method::Ttls => "ttls",
            Method::Pap => "pap",
        }
    }

    fn from_label(s: &str) -> Option<Method> {
        Some(match s {
            "tls" => Method::Tls,
            "peap" => Method::Peap,
            "ttls" => Method::Ttls,
            "pap" => Method::Pap,
            _ => return None,
        })
    }

    /// The method of an EAP authentication.
    pub fn of_eap(t: eap_methods::codec::EapType) -> Option<Method> {
        use eap_methods::codec::EapType;
        match t {
            EapType::Tls => Some(Method::Tls),
            EapType::Peap => Some(Method::Peap),
            EapType::Ttls => Some(Method::Ttls),
            _ => None,
        }
    }
}

/// What a Class of ours names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    pub method: Method,
    /// `None` when the name did not fit (written as `*`).
    pub user: Option<String>,
    pub serial: Option<String>,
    pub id: String,
}

fn escape_into(out: &mut String, s: &str) {
    for &b in s.as_bytes() {
        if (b'!'..=b'~').contains(&b) && !matches!(b, b'%' | b';' | b'*') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A fresh Class for an authentication of `user` by `method` at
/// `unix_time`, with the certificate `serial` (normalized hex) if any.
pub fn issue(method: Method, user: &str, serial: Option<&str>, unix_time: i64) -> String {
    let mut random = [0u8; 8];
    rand::fill(&mut random);
    encode(method, user, serial, unix_time, random)
}

/// [`issue`] with the random part given (tests).
pub fn encode(
    method: Method,
    user: &str,
    serial: Option<&str>,
    unix_time: i64,
    random: [u8; 8],
) -> String {
    // One allocation: every part is written into `out` (a PAP answer from
    // the cache issues one of these per request).
    let mut out = String::with_capacity(MAX_LEN);
    out.push_str(PREFIX);
    out.push_str(method.label());
    let _ = write!(out, ";{:x}.", unix_time.max(0));
    for b in random {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
    }
    out.push(';');
    // A serial is at most 21 octets (42 hex digits); anything else is not
    // a serial of ours and is left out rather than cut.
    if let Some(s) = serial.filter(|s| s.len() <= 42 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        out.push_str(s);
    }
    out.push(';');
    let name_at = out.len();
    escape_into(&mut out, user);
    if out.len() > MAX_LEN {
        // Everything escaped is ASCII: any length is a char boundary.
        out.truncate(name_at);
        out.push('*');
    }
    out
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The serial of DER certificate `der` as the store writes serials
/// (lowercase hex, no leading zero octets).
pub fn certificate_serial(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    crate::store::normalize_serial(&hex::encode(cert.raw_serial())).ok()
}

/// The Class of an EAP authentication: the method, the authorized `user`,
/// and the serial of the client certificate when the peer presented one.
pub fn for_eap(peer: &eap_methods::server::PeerVerified, user: &str, unix_time: i64) -> String {
    let serial = peer
        .peer_certificates
        .first()
        .and_then(|c| certificate_serial(c.as_ref()));
    for_eap_serial(peer, user, serial.as_deref(), unix_time)
}

/// [`for_eap`] with the certificate's serial already read (the
/// verification cache keeps it, as the store writes serials).
pub fn for_eap_serial(
    peer: &eap_methods::server::PeerVerified,
    user: &str,
    serial: Option<&str>,
    unix_time: i64,
) -> String {
    let method = Method::of_eap(peer.method).unwrap_or(Method::Tls);
    issue(method, user, serial, unix_time)
}

/// Reads a Class value back; `None` when it is not a version 1 Class of
/// authd (another server's, or altered).
pub fn parse(value: &[u8]) -> Option<ClassInfo> {
    if value.len() > MAX_LEN {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let rest = text.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(4, ';');
    let method = Method::from_label(parts.next()?)?;
    let id = parts.next()?;
    let serial = parts.next()?;
    let user = parts.next()?;
    let (time, random) = id.split_once('.')?;
    if time.is_empty()
        || !time.bytes().all(|b| b.is_ascii_hexdigit())
        || random.len() != 16
        || !random.bytes().all(|b| b.is_ascii_hexdigit())
        || serial.len() > 42
        || !serial.bytes().all(|b| b.is_ascii_hexdigit())
        || user.contains(';')
    {
        return None;
    }
    let user = match user {
        "*" => None,
        u => Some(unescape(u)?),
    };
    Some(ClassInfo {
        method,
        user,
        serial: (!serial.is_empty()).then(|| serial.to_owned()),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_serial() {
        let c = encode(Method::Tls, "alice", Some("3a4b"), 0x6750_0000, [0xab; 8]);
        assert_eq!(c, "authd1;tls;67500000.abababababababab;3a4b;alice");
        let info = parse(c.as_bytes()).unwrap();
        assert_eq!(info.method, Method::Tls);
        assert_eq!(info.user.as_deref(), Some("alice"));
        assert_eq!(info.serial.as_deref(), Some("3a4b"));
        assert_eq!(info.id, "67500000.abababababababab");
        // Every hex digit, each nibble in its place.
        let random = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
        let c = encode(Method::Pap, "bob", None, 0xabc, random);
        assert_eq!(c, "authd1;pap;abc.0123456789abcdef;;bob");
    }

    #[test]
    fn peer_chosen_names_are_escaped_and_read_back() {
        let user = "bob;method=pap%*\u{e9} x\n";
        let c = encode(Method::Peap, user, None, 1, [0; 8]);
        assert!(c.len() <= MAX_LEN);
        assert!(c.bytes().all(|b| (b'!'..=b'~').contains(&b)), "{c}");
        assert_eq!(c.matches(';').count(), 4, "{c}");
        let info = parse(c.as_bytes()).unwrap();
        assert_eq!(info.user.as_deref(), Some(user));
        assert_eq!(info.method, Method::Peap);
        assert_eq!(info.serial, None);
    }

    #[test]
    fn a_name_too_long_is_not_recorded_rather_than_cut() {
        let long = "x".repeat(300);
        let c = encode(Method::Ttls, &long, None, 1, [0; 8]);
        assert!(c.len() <= MAX_LEN);
        assert!(c.ends_with(";*"), "{c}");
        assert_eq!(parse(c.as_bytes()).unwrap().user, None);
        // The longest name that fits is written whole.
        let fixed = encode(Method::Ttls, "", None, 1, [0; 8]).len();
        let fits = "y".repeat(MAX_LEN - fixed);
        let c = encode(Method::Ttls, &fits, None, 1, [0; 8]);
        assert_eq!(c.len(), MAX_LEN);
        assert_eq!(parse(c.as_bytes()).unwrap().user.as_deref(), Some(&*fits));
        // A literal "*" user is escaped, so it is told apart.
        let star = encode(Method::Pap, "*", None, 1, [0; 8]);
        assert_eq!(parse(star.as_bytes()).unwrap().user.as_deref(), Some("*"));
    }

    #[test]
    fn other_classes_are_not_ours() {
        for v in [
            &b"FreeRADIUS-class"[..],
            b"authd1;md5;1.0000000000000000;;bob",
            b"authd1;tls;1.00;;bob",
            b"authd1;tls;1.0000000000000000;zz;bob",
            b"authd1;tls;1.0000000000000000;;b%Zb",
            b"authd1;tls;1.0000000000000000;;b;b",
            b"authd1;tls;1.0000000000000000",
            b"authd1;tls;1.0000000000000000;;%FF",
            b"authd2;tls;1.0000000000000000;;bob",
        ] {
            assert_eq!(parse(v), None, "{}", String::from_utf8_lossy(v));
        }
        // Positive control of the same shape.
        assert!(parse(b"authd1;tls;1.0000000000000000;;bob").is_some());
    }

    #[test]
    fn issued_classes_differ() {
        let a = issue(Method::Pap, "u", None, 5);
        let b = issue(Method::Pap, "u", None, 5);
        assert_ne!(a, b);
    }
}
