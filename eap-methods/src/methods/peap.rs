//! PEAPv0 (EAP type 25) with EAP-MSCHAPv2 inside, server side
//! (draft-josefsson-pppext-eap-tls-eap-06 and [MS-PEAP], as Windows,
//! hostapd and wpa_supplicant speak it; RFC 9427 §3 for TLS 1.3).
//!
//! After the TLS handshake (no client certificate) the inner EAP
//! conversation runs as TLS application data:
//!
//! ```text
//! server                               peer
//! EAP-Request/Identity           ->                  (full EAP header)
//!                                <-   [Identity, "alice"]
//! [MSCHAPv2 Challenge]           ->
//!                                <-   [MSCHAPv2 Response]
//!        (credential, then the caller's decision)
//! [MSCHAPv2 Success | Failure]   ->
//!                                <-   [MSCHAPv2 Success | Failure]
//! EAP-Request/TLV Result         ->                  (full EAP header)
//!                                <-   EAP-Response/TLV Result
//! EAP-Success | EAP-Failure      ->                  (outside the tunnel)
//! ```
//!
//! PEAPv0 compresses the inner EAP header: inner packets travel as Type
//! and Type-Data only, except EAP-TLV packets ([MS-PEAP] §3.1.5.6), which
//! keep their header, and the server's Identity request (see below). Keys: TLS 1.2 "client EAP encryption" like EAP-TLS
//! (no cryptobinding, so the MSK is the tunnel's, never the inner
//! method's); TLS 1.3 the RFC 9427 §2.1 exporters with Type-Code 0x19.
//! No cryptobinding TLV is sent (optional for Windows and wpa_supplicant).

use std::sync::Arc;

use crate::codec::{self, Code, EapType, Packet};
use crate::methods::mschapv2::{MschapServer, MschapServerStep};
use crate::methods::tunnel::{MethodStep, TunnelServer, TunnelStep, random};
use crate::reason::Reason;
use crate::server::{Credential, CredentialKind, CredentialQuery, InnerMethod, Verdict};
use crate::tls_common::KeyScheme;

/// EAP-TLV, the type of PEAP's result exchange ([MS-PEAP] §2.2.8).
const EAP_TYPE_TLV: u8 = 33;
/// Result TLV with the M bit set ([MS-PEAP] §2.2.8.1).
const RESULT_TLV: [u8; 2] = [0x80, 0x03];
/// Result TLV values.
const RESULT_SUCCESS: u16 = 1;
const RESULT_FAILURE: u16 = 2;
/// Name the server gives in its MS-CHAPv2 Challenge.
pub(crate) const MSCHAP_SERVER_NAME: &str = "authd";

/// Where the inner conversation is.
enum Phase {
    /// TLS handshake.
    Handshake,
    /// The inner Identity request went out.
    Identity,
    /// EAP-MSCHAPv2 runs.
    Mschap(Box<MschapServer>),
    /// The EAP-TLV Result went out; the peer's Result is awaited.
    Result {
        success: bool,
        reason: Option<Reason>,
    },
    /// Nothing more is accepted.
    Over,
}

/// Server half of PEAPv0.
pub(crate) struct PeapServer {
    tunnel: TunnelServer,
    tls: Arc<rustls::ServerConfig>,
    phase: Phase,
    identity: Option<String>,
    /// Identifier of the next full-header inner request (Identity,
    /// EAP-TLV).
    tlv_identifier: u8,
}

impl PeapServer {
    /// Starts PEAP: the method and its Start Type-Data.
    pub(crate) fn start(
        tls: Arc<rustls::ServerConfig>,
        fragment_size: usize,
        max_tls_message_len: usize,
    ) -> Result<(PeapServer, Vec<u8>), Reason> {
        let (tunnel, start) = TunnelServer::start(
            tls.clone(),
            KeyScheme::PEAP,
            fragment_size,
            max_tls_message_len,
        )?;
        let [tlv_identifier] = random::<1>(&tls)?;
        Ok((
            PeapServer {
                tunnel,
                tls,
                phase: Phase::Handshake,
                identity: None,
                tlv_identifier,
            },
            start,
        ))
    }

    /// Processes the Type-Data of an EAP-Response/PEAP.
    pub(crate) fn process(&mut self, type_data: &[u8]) -> MethodStep {
        match self.tunnel.process(type_data) {
            TunnelStep::Send(td) => MethodStep::Send(td),
            TunnelStep::Fail(reason) => self.over(reason),
            TunnelStep::Established(data) => {
                if !data.is_empty() {
                    return self.over(Reason::UnexpectedApplicationData);
                }
                // The inner Identity request rides with the server's
                // Finished (TLS 1.2) or NewSessionTicket (TLS 1.3): one
                // round trip less than waiting for the peer's ACK. It
                // keeps its EAP header, as FreeRADIUS sends it:
                // wpa_supplicant 2.10 reads application data that came
                // with the handshake as a full EAP packet, and accepts a
                // full Request/Identity otherwise too; the peer's answer
                // is compressed as usual.
                self.phase = Phase::Identity;
                let id = self.next_inner_identifier();
                let request = codec::build(Code::Request, id, EapType::Identity, &[]);
                self.tunnel_send(&request)
            }
            TunnelStep::PeerAck => self.over(Reason::InnerProtocol(
                "PEAP peer acknowledged without answering the inner request",
            )),
            TunnelStep::Data(data) => self.inner(&data),
        }
    }

    fn over(&mut self, reason: Reason) -> MethodStep {
        self.phase = Phase::Over;
        MethodStep::Fail(reason)
    }

    /// Sends a compressed inner request: Type and Type-Data only.
    fn send_inner(&mut self, eap_type: EapType, type_data: &[u8]) -> MethodStep {
        let mut plain = Vec::with_capacity(1 + type_data.len());
        plain.push(u8::from(eap_type));
        plain.extend_from_slice(type_data);
        self.tunnel_send(&plain)
    }

    fn tunnel_send(&mut self, plain: &[u8]) -> MethodStep {
        match self.tunnel.send_data(plain) {
            TunnelStep::Send(td) => MethodStep::Send(td),
            TunnelStep::Fail(reason) => self.over(reason),
            _ => self.over(Reason::HandshakeIncomplete),
        }
    }

    fn next_inner_identifier(&mut self) -> u8 {
        let id = self.tlv_identifier;
        self.tlv_identifier = id.wrapping_add(1);
        id
    }

    /// Ends the inner conversation with an EAP-TLV Result: success, or
    /// failure remembering why.
    fn send_result(&mut self, success: bool, reason: Option<Reason>) -> MethodStep {
        let id = self.next_inner_identifier();
        let status = if success {
            RESULT_SUCCESS
        } else {
            RESULT_FAILURE
        };
        let mut tlv = Vec::with_capacity(6);
        tlv.extend_from_slice(&RESULT_TLV);
        tlv.extend_from_slice(&2u16.to_be_bytes());
        tlv.extend_from_slice(&status.to_be_bytes());
        let packet = codec::build(Code::Request, id, EapType::from(EAP_TYPE_TLV), &tlv);
        self.phase = Phase::Result { success, reason };
        self.tunnel_send(&packet)
    }

    /// One decrypted inner message from the peer.
    fn inner(&mut self, data: &[u8]) -> MethodStep {
        match core::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Identity => {
                match data.split_first() {
                    Some((&1, name)) => match core::str::from_utf8(name) {
                        Ok(name) => self.identity = Some(name.to_owned()),
                        Err(_) => return self.send_result(false, Some(Reason::InvalidIdentity)),
                    },
                    _ => {
                        return self.send_result(
                            false,
                            Some(Reason::InnerProtocol("expected the inner Identity")),
                        );
                    }
                }
                let (challenge, id) = match (random::<16>(&self.tls), random::<1>(&self.tls)) {
                    (Ok(c), Ok([id])) => (c, id),
                    (Err(reason), _) | (_, Err(reason)) => return self.over(reason),
                };
                let (mschap, td) = MschapServer::start(id, challenge, MSCHAP_SERVER_NAME);
                self.phase = Phase::Mschap(Box::new(mschap));
                self.send_inner(EapType::MsChapV2, &td)
            }
            Phase::Mschap(mut mschap) => match data.split_first() {
                Some((&26, td)) => {
                    let step = mschap.process(td);
                    self.mschap_step(mschap, step)
                }
                // RFC 3748 §5.3.1: the peer wants another inner method.
                Some((&3, types)) => {
                    self.send_result(false, Some(Reason::InnerNak(types.to_vec())))
                }
                _ => {
                    self.phase = Phase::Mschap(mschap);
                    self.over(Reason::InnerProtocol("unexpected inner EAP type"))
                }
            },
            Phase::Result { success, reason } => match parse_result(data) {
                Some(RESULT_SUCCESS) if success => {
                    let identity = self.identity.clone().unwrap_or_default();
                    self.phase = Phase::Over;
                    self.tunnel.done(identity, InnerMethod::EapMschapV2)
                }
                Some(_) => self.over(reason.unwrap_or(Reason::InnerFailure)),
                None => {
                    self.over(reason.unwrap_or(Reason::InnerProtocol("expected an EAP-TLV Result")))
                }
            },
            Phase::Handshake | Phase::Over => {
                self.over(Reason::InnerProtocol("inner data at the wrong time"))
            }
        }
    }

    fn mschap_step(&mut self, mschap: Box<MschapServer>, step: MschapServerStep) -> MethodStep {
        match step {
            MschapServerStep::Send(td) => {
                self.phase = Phase::Mschap(mschap);
                self.send_inner(EapType::MsChapV2, &td)
            }
            MschapServerStep::NeedNtHash { user_name } => {
                let identity = self.identity.clone().unwrap_or_default();
                if !same_user(&user_name, &identity) {
                    return self.send_result(
                        false,
                        Some(Reason::InnerProtocol(
                            "MS-CHAPv2 name differs from the inner identity",
                        )),
                    );
                }
                self.phase = Phase::Mschap(mschap);
                MethodStep::NeedCredential(CredentialQuery {
                    user: identity,
                    kind: CredentialKind::NtHash,
                })
            }
            MschapServerStep::Verified => {
                self.phase = Phase::Mschap(mschap);
                MethodStep::Decide {
                    identity: self.identity.clone().unwrap_or_default(),
                    inner: InnerMethod::EapMschapV2,
                }
            }
            MschapServerStep::Done => self.send_result(true, None),
            MschapServerStep::Fail(reason) => self.send_result(false, Some(reason)),
        }
    }

    /// The caller's answer to [`MethodStep::NeedCredential`].
    pub(crate) fn credential(&mut self, answer: Credential) -> MethodStep {
        let Phase::Mschap(mut mschap) = core::mem::replace(&mut self.phase, Phase::Over) else {
            return self.over(Reason::InnerProtocol("credential without a query"));
        };
        let step = match answer {
            Credential::NtHash(hash) => mschap.nt_hash(hash.as_ref()),
            Credential::PasswordChecked(_) => mschap.nt_hash(None),
        };
        self.mschap_step(mschap, step)
    }

    /// The caller's answer to [`MethodStep::Decide`].
    pub(crate) fn decide(&mut self, verdict: Verdict) -> MethodStep {
        let Phase::Mschap(mut mschap) = core::mem::replace(&mut self.phase, Phase::Over) else {
            return self.over(Reason::InnerProtocol("decision without a question"));
        };
        let step = match verdict {
            Verdict::Allow => mschap.allow(),
            Verdict::Deny => mschap.deny(),
        };
        self.mschap_step(mschap, step)
    }
}

/// The status of an EAP-Response/TLV carrying a Result TLV, read from a
/// full EAP packet (EAP-TLV keeps its header in PEAPv0).
fn parse_result(data: &[u8]) -> Option<u16> {
    let packet = Packet::new_checked(data).ok()?;
    if packet.code() != Code::Response || packet.eap_type() != Some(EapType::from(EAP_TYPE_TLV)) {
        return None;
    }
    result_status(packet.type_data())
}

/// The Result TLV's status among EAP-TLV TLVs: type (2, with the M and R
/// bits), length (2), value.
fn result_status(tlvs: &[u8]) -> Option<u16> {
    let mut rest = tlvs;
    let mut status = None;
    while !rest.is_empty() {
        let header = rest.get(..4)?;
        let tlv_type = u16::from_be_bytes([header[0], header[1]]) & 0x3fff;
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let value = rest.get(4..4 + len)?;
        if tlv_type == 3 {
            let v: [u8; 2] = value.try_into().ok()?;
            status = Some(u16::from_be_bytes(v));
        }
        rest = &rest[4 + len..];
    }
    status
}

/// Whether two names are the same user once a `DOMAIN\` prefix is left
/// out of both (RFC 2759 §8.2: the challenge hash uses the name without
/// the domain; hostapd compares them so).
fn same_user(a: &str, b: &str) -> bool {
    crate::mschapv2::user_name_without_domain(a.as_bytes())
        == crate::mschapv2::user_name_without_domain(b.as_bytes())
}

/// What the peer halves of PEAP and TTLS ask the session to do.
pub(crate) enum PeerMethodStep {
    /// Send an EAP-Response of the method with this Type-Data.
    Send(Vec<u8>),
    /// Give up.
    Fail(Reason),
}

/// Peer half of PEAPv0 with EAP-MSCHAPv2 inside.
pub(crate) struct PeapPeer {
    tunnel: crate::methods::tunnel::TunnelPeer,
    user: String,
    password: zeroize::Zeroizing<String>,
    peer_challenge: [u8; 16],
    mschap: Option<crate::methods::mschapv2::MschapPeer>,
    /// The server's EAP-TLV Result was success and the inner method
    /// succeeded: EAP-Success may be believed.
    succeeded: bool,
}

impl PeapPeer {
    /// Answers the PEAP Start. `peer_challenge`: random octets for
    /// MS-CHAPv2 (the caller draws them).
    pub(crate) fn start(
        tls: Arc<rustls::ClientConfig>,
        server_name: rustls_pki_types::ServerName<'static>,
        fragment_size: usize,
        max_tls_message_len: usize,
        user: &str,
        password: &str,
        peer_challenge: [u8; 16],
    ) -> Result<(PeapPeer, Vec<u8>), Reason> {
        let (tunnel, hello) = crate::methods::tunnel::TunnelPeer::start(
            tls,
            server_name,
            KeyScheme::PEAP,
            fragment_size,
            max_tls_message_len,
        )?;
        Ok((
            PeapPeer {
                tunnel,
                user: user.to_owned(),
                password: zeroize::Zeroizing::new(password.to_owned()),
                peer_challenge,
                mschap: None,
                succeeded: false,
            },
            hello,
        ))
    }

    fn send(&mut self, plain: &[u8]) -> PeerMethodStep {
        use crate::methods::tunnel::PeerTunnelStep;
        match self.tunnel.send_data(plain) {
            PeerTunnelStep::Send(td) => PeerMethodStep::Send(td),
            PeerTunnelStep::Fail(r) => PeerMethodStep::Fail(r),
            PeerTunnelStep::Data(_) => PeerMethodStep::Fail(Reason::HandshakeIncomplete),
        }
    }

    /// Processes the Type-Data of an EAP-Request/PEAP (not Start).
    pub(crate) fn process(&mut self, type_data: &[u8]) -> PeerMethodStep {
        use crate::methods::mschapv2::{MschapPeer, MschapPeerStep};
        use crate::methods::tunnel::PeerTunnelStep;
        let data = match self.tunnel.process(type_data) {
            PeerTunnelStep::Send(td) => return PeerMethodStep::Send(td),
            PeerTunnelStep::Fail(r) => return PeerMethodStep::Fail(r),
            PeerTunnelStep::Data(data) => data,
        };
        if data.is_empty() {
            // The handshake completed (our Finished goes out) or the
            // server sent only TLS records of its own.
            return match self.tunnel.flush() {
                PeerTunnelStep::Send(td) => PeerMethodStep::Send(td),
                PeerTunnelStep::Fail(r) => PeerMethodStep::Fail(r),
                PeerTunnelStep::Data(_) => PeerMethodStep::Fail(Reason::HandshakeIncomplete),
            };
        }
        // EAP-TLV keeps its header; everything else is compressed.
        if let Some(status) = parse_request_result(&data) {
            let id = data.get(1).copied().unwrap_or(0);
            let ok =
                status == RESULT_SUCCESS && self.mschap.as_ref().is_some_and(MschapPeer::succeeded);
            self.succeeded = ok;
            let answer = if ok { RESULT_SUCCESS } else { RESULT_FAILURE };
            let mut tlv = Vec::with_capacity(6);
            tlv.extend_from_slice(&RESULT_TLV);
            tlv.extend_from_slice(&2u16.to_be_bytes());
            tlv.extend_from_slice(&answer.to_be_bytes());
            let packet = codec::build(Code::Response, id, EapType::from(EAP_TYPE_TLV), &tlv);
            return self.send(&packet);
        }
        match data.split_first() {
            Some((&1, _)) => {
                let mut plain = vec![1u8];
                plain.extend_from_slice(self.user.as_bytes());
                self.send(&plain)
            }
            Some((&26, td)) => {
                let mschap = self.mschap.get_or_insert_with(|| {
                    MschapPeer::new(&self.user, &self.password, self.peer_challenge)
                });
                match mschap.process(td) {
                    MschapPeerStep::Send(out) | MschapPeerStep::Succeeded(out) => {
                        let mut plain = vec![26u8];
                        plain.extend_from_slice(&out);
                        self.send(&plain)
                    }
                    MschapPeerStep::Fail(r) => PeerMethodStep::Fail(r),
                }
            }
            // Any other inner method: Nak proposing EAP-MSCHAPv2.
            Some((_, _)) => self.send(&[3, 26]),
            None => PeerMethodStep::Fail(Reason::InnerProtocol("empty inner request")),
        }
    }

    /// EAP-Success arrived: the keys, if the tunnel and the inner method
    /// both succeeded.
    pub(crate) fn success(&self) -> Result<crate::methods::tunnel::PeerResult, Reason> {
        if !self.succeeded || !self.tunnel.complete() {
            return Err(Reason::HandshakeIncomplete);
        }
        crate::methods::tunnel::PeerResult::of(&self.tunnel)
    }
}

/// The status of an EAP-Request/TLV Result (full header).
fn parse_request_result(data: &[u8]) -> Option<u16> {
    let packet = Packet::new_checked(data).ok()?;
    if packet.code() != Code::Request || packet.eap_type() != Some(EapType::from(EAP_TYPE_TLV)) {
        return None;
    }
    result_status(packet.type_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_tlv_parsing() {
        // EAP-Response/TLV, Result TLV success (as wpa_supplicant sends).
        let ok = [2, 7, 0, 11, 33, 0x80, 0x03, 0x00, 0x02, 0x00, 0x01];
        assert_eq!(parse_result(&ok), Some(RESULT_SUCCESS));
        let mut fail = ok;
        fail[10] = 2;
        assert_eq!(parse_result(&fail), Some(RESULT_FAILURE));
        // A Request, a truncated TLV, a compressed packet: no result.
        let mut req = ok;
        req[0] = 1;
        assert_eq!(parse_result(&req), None);
        assert_eq!(
            parse_result(&[2, 7, 0, 9, 33, 0x80, 0x03, 0x00, 0x02]),
            None
        );
        assert_eq!(parse_result(&[33, 0x80, 0x03, 0, 2, 0, 1]), None);
    }

    #[test]
    fn domain_is_left_out_of_the_name_comparison() {
        assert!(same_user("EXAMPLE\\alice", "alice"));
        assert!(same_user("alice", "alice"));
        assert!(!same_user("bob", "alice"));
    }
}
