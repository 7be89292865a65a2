//! Why an EAP exchange failed or a packet was discarded.

use core::fmt;

use rustls::{AlertDescription, CertificateError};

use crate::codec;

/// Why a session ended in Failure, or why a packet was discarded.
///
/// `Display` gives one human sentence for logs; [`Reason::label`] gives a
/// stable snake_case label for counters.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// The EAP packet failed the checks of RFC 3748 §4.
    Malformed(codec::Error),
    /// The Identifier does not match the outstanding Request (RFC 3748
    /// §4.1: such Responses are silently discarded).
    UnexpectedIdentifier {
        /// Identifier of the outstanding Request.
        expected: u8,
        /// Identifier received.
        got: u8,
    },
    /// A Code that makes no sense at this point (e.g. a Request sent to the
    /// server, or EAP-Start in the middle of a session).
    UnexpectedCode,
    /// A Type other than the one requested (and not a Nak).
    UnexpectedType,
    /// The peer answered with a Nak (RFC 3748 §5.3.1) listing only methods
    /// we do not offer; the payload is the list of desired types.
    NoCommonMethod(Vec<u8>),
    /// The local TLS stack rejected the handshake (includes certificate
    /// verification errors).
    Tls(rustls::Error),
    /// The other side sent a fatal TLS alert.
    PeerAlert(AlertDescription),
    /// A TLS message, declared (TLS Message Length) or reassembled, exceeds
    /// the configured maximum (RFC 5216 §3.1).
    TlsMessageTooLong {
        /// The declared or accumulated length.
        declared_or_actual: usize,
    },
    /// The EAP-TLS fragmentation rules (RFC 5216 §3.1) were broken.
    FragmentProtocol(&'static str),
    /// The TLS handshake did not complete where it had to.
    HandshakeIncomplete,
    /// The TLS handshake completed without a peer certificate; EAP-TLS
    /// requires mutual authentication (RFC 5216 §2.1.1).
    NoPeerCertificate,
    /// The EAP-Response/Identity is not valid UTF-8 (RFC 3748 §5.1).
    InvalidIdentity,
    /// The server sent EAP-Failure (peer side).
    EapFailure,
    /// The session already ended; further packets are discarded.
    SessionFinished,
    /// TLS 1.3 application data other than the one-octet 0x00 commitment
    /// message (RFC 9190 §2.5).
    UnexpectedApplicationData,
    /// The caller refused the authenticated peer (authorization): the
    /// server sent a TLS access_denied alert, then EAP-Failure.
    AccessDenied,
    /// The peer asked for a method in an Expanded Nak (RFC 3748 §5.3.2),
    /// which this server does not offer.
    ExpandedNak,
    /// The inner method's credential check failed: the MS-CHAPv2
    /// NT-Response or the TTLS PAP password did not match.
    WrongPassword,
    /// The caller had no credential the inner method can use (unknown
    /// user, or no NT hash stored for MS-CHAPv2).
    NoCredential,
    /// The inner method inside the tunnel (EAP-MSCHAPv2, PEAP's EAP-TLV,
    /// TTLS's AVPs) broke its protocol.
    InnerProtocol(&'static str),
    /// The peer refused the inner method with a Nak; the payload lists the
    /// types it asked for.
    InnerNak(Vec<u8>),
    /// The peer reported failure inside the tunnel (an MS-CHAPv2 Failure
    /// response or an EAP-TLV Result of failure).
    InnerFailure,
}

impl Reason {
    /// Stable snake_case label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Reason::Malformed(_) => "malformed",
            Reason::UnexpectedIdentifier { .. } => "unexpected_identifier",
            Reason::UnexpectedCode => "unexpected_code",
            Reason::UnexpectedType => "unexpected_type",
            Reason::NoCommonMethod(_) => "no_common_method",
            Reason::Tls(rustls::Error::InvalidCertificate(e)) => match e {
                CertificateError::UnknownIssuer => "tls_unknown_issuer",
                CertificateError::Revoked => "tls_certificate_revoked",
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "tls_certificate_expired"
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "tls_certificate_not_yet_valid"
                }
                CertificateError::BadSignature => "tls_bad_signature",
                _ => "tls_bad_certificate",
            },
            Reason::Tls(rustls::Error::NoCertificatesPresented) => "tls_no_certificate",
            Reason::Tls(_) => "tls_error",
            Reason::PeerAlert(_) => "tls_peer_alert",
            Reason::TlsMessageTooLong { .. } => "tls_message_too_long",
            Reason::FragmentProtocol(_) => "fragment_protocol",
            Reason::HandshakeIncomplete => "handshake_incomplete",
            Reason::NoPeerCertificate => "no_peer_certificate",
            Reason::InvalidIdentity => "invalid_identity",
            Reason::EapFailure => "eap_failure",
            Reason::SessionFinished => "session_finished",
            Reason::UnexpectedApplicationData => "unexpected_application_data",
            Reason::AccessDenied => "access_denied",
            Reason::ExpandedNak => "expanded_nak",
            Reason::WrongPassword => "wrong_password",
            Reason::NoCredential => "no_credential",
            Reason::InnerProtocol(_) => "inner_protocol",
            Reason::InnerNak(_) => "inner_nak",
            Reason::InnerFailure => "inner_failure",
        }
    }

    /// Maps a rustls error: a received alert becomes [`Reason::PeerAlert`].
    pub(crate) fn from_tls(e: rustls::Error) -> Reason {
        match e {
            rustls::Error::AlertReceived(a) => Reason::PeerAlert(a),
            e => Reason::Tls(e),
        }
    }
}

fn describe_certificate_error(f: &mut fmt::Formatter<'_>, e: &CertificateError) -> fmt::Result {
    match e {
        CertificateError::UnknownIssuer => {
            f.write_str("peer certificate rejected: signed by an unknown issuer (untrusted CA)")
        }
        CertificateError::Revoked => f.write_str("peer certificate revoked"),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            f.write_str("peer certificate expired")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            f.write_str("peer certificate not yet valid")
        }
        CertificateError::BadSignature => f.write_str("peer certificate has a bad signature"),
        CertificateError::UnknownRevocationStatus => {
            f.write_str("peer certificate revocation status unknown")
        }
        CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => {
            f.write_str("peer certificate checked against an expired CRL")
        }
        other => write!(f, "peer certificate rejected: {other:?}"),
    }
}

/// EAP types as names with their numbers, e.g. `EAP-TLS (13), PEAP (25)`;
/// `none` for an empty list (RFC 3748 §5.3.1: a Nak of 0 wants none).
fn write_types(f: &mut fmt::Formatter<'_>, types: &[u8]) -> fmt::Result {
    let wanted: Vec<u8> = types.iter().copied().filter(|&t| t != 0).collect();
    if wanted.is_empty() {
        return f.write_str("none");
    }
    for (i, &t) in wanted.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{} ({t})", codec::EapType::from(t))?;
    }
    Ok(())
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Malformed(e) => write!(f, "malformed EAP packet: {e}"),
            Reason::UnexpectedIdentifier { expected, got } => {
                write!(
                    f,
                    "EAP identifier {got} does not match the outstanding request {expected}"
                )
            }
            Reason::UnexpectedCode => f.write_str("unexpected EAP code at this point"),
            Reason::UnexpectedType => f.write_str("unexpected EAP type at this point"),
            Reason::NoCommonMethod(types) => {
                f.write_str("no method in common: the peer's Nak asks for ")?;
                write_types(f, types)
            }
            Reason::Tls(rustls::Error::InvalidCertificate(e)) => describe_certificate_error(f, e),
            Reason::Tls(rustls::Error::NoCertificatesPresented) => {
                f.write_str("peer presented no certificate")
            }
            Reason::Tls(e) => write!(f, "TLS handshake failed: {e}"),
            Reason::PeerAlert(a) => match a {
                AlertDescription::UnknownCA => {
                    f.write_str("peer rejected our certificate: unknown issuer (alert unknown_ca)")
                }
                AlertDescription::CertificateRevoked => f.write_str(
                    "peer rejected our certificate: revoked (alert certificate_revoked)",
                ),
                AlertDescription::CertificateExpired => f.write_str(
                    "peer rejected our certificate: expired (alert certificate_expired)",
                ),
                AlertDescription::BadCertificate => {
                    f.write_str("peer rejected our certificate (alert bad_certificate)")
                }
                AlertDescription::AccessDenied => {
                    f.write_str("server refused access (alert access_denied)")
                }
                other => write!(f, "peer sent fatal TLS alert {other:?}"),
            },
            Reason::TlsMessageTooLong { declared_or_actual } => {
                write!(
                    f,
                    "TLS message of {declared_or_actual} octets exceeds the limit"
                )
            }
            Reason::FragmentProtocol(what) => write!(f, "EAP-TLS fragmentation error: {what}"),
            Reason::HandshakeIncomplete => f.write_str("TLS handshake incomplete"),
            Reason::NoPeerCertificate => {
                f.write_str("TLS handshake completed without a client certificate")
            }
            Reason::InvalidIdentity => f.write_str("EAP identity is not valid UTF-8"),
            Reason::EapFailure => f.write_str("server sent EAP-Failure"),
            Reason::SessionFinished => f.write_str("EAP session already finished"),
            Reason::UnexpectedApplicationData => {
                f.write_str("unexpected TLS application data (only the 0x00 commitment is allowed)")
            }
            Reason::AccessDenied => {
                f.write_str("authenticated peer refused by policy (TLS alert access_denied sent)")
            }
            Reason::ExpandedNak => {
                f.write_str("peer sent an Expanded Nak (RFC 3748 §5.3.2): no vendor method offered")
            }
            Reason::WrongPassword => f.write_str("wrong password"),
            Reason::NoCredential => f.write_str("no credential usable by the inner method"),
            Reason::InnerProtocol(what) => write!(f, "inner method protocol error: {what}"),
            Reason::InnerNak(types) => {
                f.write_str("peer refused the inner method: its Nak asks for ")?;
                write_types(f, types)
            }
            Reason::InnerFailure => f.write_str("peer reported failure inside the tunnel"),
        }
    }
}

impl std::error::Error for Reason {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_labels() {
        let r = Reason::Tls(rustls::Error::InvalidCertificate(CertificateError::Revoked));
        assert_eq!(r.to_string(), "peer certificate revoked");
        assert_eq!(r.label(), "tls_certificate_revoked");
        let r = Reason::from_tls(rustls::Error::AlertReceived(AlertDescription::UnknownCA));
        assert_eq!(r, Reason::PeerAlert(AlertDescription::UnknownCA));
        assert!(r.to_string().contains("unknown issuer"));
        assert_eq!(
            Reason::NoCommonMethod(vec![13, 21]).to_string(),
            "no method in common: the peer's Nak asks for EAP-TLS (13), EAP-TTLS (21)"
        );
        assert!(
            Reason::NoCommonMethod(vec![0])
                .to_string()
                .ends_with("asks for none")
        );
        assert_eq!(
            Reason::TlsMessageTooLong {
                declared_or_actual: 70000
            }
            .label(),
            "tls_message_too_long"
        );
    }
}
