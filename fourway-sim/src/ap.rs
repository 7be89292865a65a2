//! The simulated access point as a RADIUS client (NAS), sans-IO.
//!
//! It relays EAP between a station and a RADIUS server the way an 802.1X
//! authenticator does (RFC 3579): every EAP packet from the station goes in an
//! Access-Request with Message-Authenticator, the server's State is echoed,
//! and the Access-Accept's MS-MPPE-Recv-Key (RFC 2548 §2.4.3) is decrypted
//! into the PMK. Sockets, clocks and retransmission timers live in
//! [`crate::radius_client`]; this type only turns bytes into bytes.
//!
//! On a RADIUS/1.1 connection ([`ApSession::set_radius_1_1`], RFC 9765)
//! the same conversation goes without MD5: the request carries a Token
//! (§4) and no Message-Authenticator (§5.2), the reply is matched by that
//! Token and not verified (TLS did), and MS-MPPE-Recv-Key and -Send-Key
//! hold the keys themselves (§5.1.4).

use radius_proto::{Code, Packet, PacketBuilder, dict};
use zeroize::Zeroizing;

use crate::keys::Pmk;

/// NAS-Port-Type Wireless - IEEE 802.11 (RFC 2865 §5.41, value 19).
const NAS_PORT_TYPE_WIRELESS_80211: u32 = 19;
/// Service-Type Framed (RFC 2865 §5.6).
const SERVICE_TYPE_FRAMED: u32 = 2;

/// What the AP tells the server about itself and the station.
#[derive(Clone)]
pub struct NasConfig {
    pub secret: Zeroizing<Vec<u8>>,
    pub nas_identifier: String,
    /// The link MTU reported in Framed-MTU (RFC 3579 §2.2).
    pub framed_mtu: u32,
    /// BSSID and SSID as Called-Station-Id "AA-BB-CC-DD-EE-FF:SSID".
    pub bssid: [u8; 6],
    pub ssid: String,
    /// Ask for EAP-Key-Name (RFC 4072 §2.1) by sending it empty.
    pub request_key_name: bool,
}

/// Why the RADIUS exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApError {
    #[error("malformed RADIUS response: {0}")]
    Malformed(radius_proto::Error),
    #[error("response does not verify (wrong secret or tampered): {0}")]
    BadAuthenticator(radius_proto::Error),
    #[error("response identifier {got} does not match request {expected}")]
    WrongIdentifier { expected: u8, got: u8 },
    #[error("RADIUS/1.1 response Token {got:08x} does not match request {expected:08x}")]
    WrongToken { expected: u32, got: u32 },
    #[error("response code {0:?} is not a reply to Access-Request")]
    UnexpectedCode(Code),
    #[error("Access-Challenge without EAP-Message")]
    ChallengeWithoutEap,
    #[error("Access-Accept without a usable MS-MPPE-Recv-Key: {0}")]
    NoPmk(String),
    #[error("no request outstanding")]
    NoRequest,
}

/// What the server answered.
pub enum RadiusOutcome {
    /// Access-Challenge: relay this EAP packet to the station.
    Challenge(Vec<u8>),
    /// Access-Accept: the EAP-Success to relay and the keys for the 4-way.
    Accept(Box<Accepted>),
    /// Access-Reject, with the EAP-Failure (if any) to relay.
    Reject {
        eap: Option<Vec<u8>>,
        reply_message: Option<String>,
    },
}

pub struct Accepted {
    pub eap: Option<Vec<u8>>,
    pub pmk: Pmk,
    pub user_name: Option<String>,
    pub eap_key_name: Option<Vec<u8>>,
    pub session_timeout: Option<u32>,
    pub vlan: Option<String>,
}

/// One station's RADIUS conversation as seen by the AP.
pub struct ApSession {
    config: NasConfig,
    station: [u8; 6],
    user_name: Option<Vec<u8>>,
    state: Option<Vec<u8>>,
    identifier: u8,
    outstanding: Option<[u8; 16]>,
    round_trips: u32,
    /// RADIUS/1.1 (RFC 9765): Token, no MD5.
    radius_1_1: bool,
}

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join("-")
}

impl ApSession {
    /// `first_identifier` lets several conversations share one socket.
    pub fn new(config: NasConfig, station: [u8; 6], first_identifier: u8) -> Self {
        ApSession {
            config,
            station,
            user_name: None,
            state: None,
            identifier: first_identifier.wrapping_sub(1),
            outstanding: None,
            round_trips: 0,
            radius_1_1: false,
        }
    }

    /// Speak RADIUS/1.1 (RFC 9765) from the next request on: the
    /// connection negotiated ALPN "radius/1.1".
    pub fn set_radius_1_1(&mut self, on: bool) {
        self.radius_1_1 = on;
    }

    /// Access-Requests sent (retransmissions not counted).
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// Identifier of the request in flight.
    pub fn identifier(&self) -> u8 {
        self.identifier
    }

    /// Build the Access-Request carrying `eap` from the station.
    /// `authenticator` must be fresh random bytes (RFC 2865 §3); on
    /// RADIUS/1.1 its first four octets are the Token (RFC 9765 §4.1 lets the
    /// sender choose it by any method that changes it for every packet).
    pub fn access_request(
        &mut self,
        eap: &[u8],
        authenticator: [u8; 16],
    ) -> Result<Vec<u8>, radius_proto::Error> {
        // EAP-Response/Identity: remember the identity for User-Name
        // (RFC 3579 §2.1).
        if eap.len() > 5 && eap[0] == 2 && eap[4] == 1 {
            self.user_name = Some(eap[5..].to_vec());
        }
        self.identifier = self.identifier.wrapping_add(1);
        self.round_trips += 1;
        let mut b = PacketBuilder::new(Code::AccessRequest, self.identifier);
        if let Some(name) = &self.user_name {
            b.add(dict::USER_NAME, &name[..name.len().min(253)])?;
        }
        b.add(dict::NAS_IDENTIFIER, self.config.nas_identifier.as_bytes())?;
        b.add(
            dict::NAS_PORT_TYPE,
            &NAS_PORT_TYPE_WIRELESS_80211.to_be_bytes(),
        )?;
        b.add(dict::SERVICE_TYPE, &SERVICE_TYPE_FRAMED.to_be_bytes())?;
        b.add(dict::FRAMED_MTU, &self.config.framed_mtu.to_be_bytes())?;
        let called = format!("{}:{}", mac_text(&self.config.bssid), self.config.ssid);
        b.add(dict::CALLED_STATION_ID, called.as_bytes())?;
        b.add(dict::CALLING_STATION_ID, mac_text(&self.station).as_bytes())?;
        if self.config.request_key_name {
            b.add(dict::EAP_KEY_NAME, &[])?;
        }
        if let Some(state) = &self.state {
            b.add(dict::STATE, state)?;
        }
        b.add_eap_message(eap);
        if self.radius_1_1 {
            let token = [
                authenticator[0],
                authenticator[1],
                authenticator[2],
                authenticator[3],
            ];
            let mut sent = [0u8; 16];
            sent[..4].copy_from_slice(&token);
            self.outstanding = Some(sent);
            return b.encode_radius_1_1(token);
        }
        self.outstanding = Some(authenticator);
        b.encode_request(authenticator, &self.config.secret)
    }

    /// Consume the server's answer to the outstanding request.
    pub fn handle_response(&mut self, bytes: &[u8]) -> Result<RadiusOutcome, ApError> {
        let request_auth = self.outstanding.ok_or(ApError::NoRequest)?;
        let packet = Packet::new_checked(bytes).map_err(ApError::Malformed)?;
        if self.radius_1_1 {
            let (expected, got) = (&request_auth[..4], radius_proto::v11::token(&packet));
            if expected != got {
                return Err(ApError::WrongToken {
                    expected: u32::from_be_bytes([
                        expected[0],
                        expected[1],
                        expected[2],
                        expected[3],
                    ]),
                    got: u32::from_be_bytes(got),
                });
            }
        } else if packet.identifier() != self.identifier {
            return Err(ApError::WrongIdentifier {
                expected: self.identifier,
                got: packet.identifier(),
            });
        }
        if !self.radius_1_1 {
            radius_proto::verify_response(&packet, &request_auth, &self.config.secret)
                .map_err(ApError::BadAuthenticator)?;
        }
        self.outstanding = None;
        match packet.code() {
            Code::AccessChallenge => {
                self.state = packet.attr(dict::STATE).map(<[u8]>::to_vec);
                let eap = packet.eap_message().ok_or(ApError::ChallengeWithoutEap)?;
                Ok(RadiusOutcome::Challenge(eap))
            }
            Code::AccessAccept => {
                let recv = packet
                    .vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY)
                    .ok_or_else(|| ApError::NoPmk("attribute missing".into()))?;
                let mut msk = self
                    .mppe_key(recv, &request_auth)
                    .map_err(|e| ApError::NoPmk(e.to_string()))?;
                // RFC 3580 §3.16 / RFC 2548: Recv-Key is MSK[0..32] and
                // Send-Key MSK[32..64]. The AP rebuilds the MSK, whose
                // first 384 bits are the PMK of AKM 12 (§12.7.1.3).
                if let Some(send) =
                    packet.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY)
                    && let Ok(send) = self.mppe_key(send, &request_auth)
                {
                    msk.extend_from_slice(&send);
                }
                let pmk = Pmk::from_msk(&msk).map_err(|e| ApError::NoPmk(e.to_string()))?;
                let session_timeout = packet
                    .attr(dict::SESSION_TIMEOUT)
                    .and_then(|v| <[u8; 4]>::try_from(v).ok())
                    .map(u32::from_be_bytes);
                let vlan = packet.attr(dict::TUNNEL_PRIVATE_GROUP_ID).map(|v| {
                    // RFC 2868 §3.6: an optional tag octet (0x01..=0x1F).
                    let v = match v.first() {
                        Some(t) if *t <= 0x1F => &v[1..],
                        _ => v,
                    };
                    String::from_utf8_lossy(v).into_owned()
                });
                Ok(RadiusOutcome::Accept(Box::new(Accepted {
                    eap: packet.eap_message(),
                    pmk,
                    user_name: packet
                        .attr(dict::USER_NAME)
                        .map(|v| String::from_utf8_lossy(v).into_owned()),
                    eap_key_name: packet.attr(dict::EAP_KEY_NAME).map(<[u8]>::to_vec),
                    session_timeout,
                    vlan,
                })))
            }
            Code::AccessReject => Ok(RadiusOutcome::Reject {
                eap: packet.eap_message(),
                reply_message: packet
                    .attr(dict::REPLY_MESSAGE)
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
            }),
            other => Err(ApError::UnexpectedCode(other)),
        }
    }

    /// An MS-MPPE key value: RFC 2548 §2.4.2 decryption, or on RADIUS/1.1
    /// the key itself (RFC 9765 §5.1.4).
    fn mppe_key(
        &self,
        value: &[u8],
        request_auth: &[u8; 16],
    ) -> Result<Zeroizing<Vec<u8>>, radius_proto::Error> {
        if self.radius_1_1 {
            return radius_proto::v11::mppe_key(value).map(|k| Zeroizing::new(k.to_vec()));
        }
        radius_proto::decrypt_mppe_key(value, &self.config.secret, request_auth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nas() -> NasConfig {
        NasConfig {
            secret: Zeroizing::new(b"radsec".to_vec()),
            nas_identifier: "ap".into(),
            framed_mtu: 1400,
            bssid: [2, 0, 0, 0, 0, 1],
            ssid: "test".into(),
            request_key_name: false,
        }
    }

    /// A RADIUS/1.1 Access-Accept as RFC 9765 §4.1 and §5.1.4 lay it out:
    /// the Token echoed, the MPPE keys as they are.
    fn accept(token: [u8; 4], msk: &[u8; 64]) -> Vec<u8> {
        let mut b = PacketBuilder::new(Code::AccessAccept, 0);
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY, &msk[..32])
            .unwrap();
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, &msk[32..])
            .unwrap();
        b.add_eap_message(&[3, 1, 0, 4]);
        b.encode_radius_1_1(token).unwrap()
    }

    #[test]
    fn radius_1_1_request_has_the_token_and_the_accept_gives_the_pmk() {
        let mut ap = ApSession::new(nas(), [2, 0, 0, 0, 0, 2], 1);
        ap.set_radius_1_1(true);
        let mut fresh = [0u8; 16];
        fresh[..4].copy_from_slice(&[0xca, 0xfe, 0xba, 0xbe]);
        fresh[4..].fill(0x77);
        let req = ap.access_request(&[2, 1, 0, 6, 1, b'a'], fresh).unwrap();
        assert_eq!(&req[1..2], &[0]);
        assert_eq!(
            &req[4..20],
            &[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let p = Packet::new_checked(&req[..]).unwrap();
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_none());

        let msk: [u8; 64] = std::array::from_fn(|i| i as u8);
        // Another Token is not the answer.
        assert!(matches!(
            ap.handle_response(&accept([0, 0, 0, 1], &msk)),
            Err(ApError::WrongToken { .. })
        ));
        let RadiusOutcome::Accept(a) = ap
            .handle_response(&accept([0xca, 0xfe, 0xba, 0xbe], &msk))
            .unwrap()
        else {
            panic!("not an Accept");
        };
        let expected = Pmk::from_msk(&msk).unwrap();
        assert!(
            a.pmk.as_bytes() == expected.as_bytes(),
            "the PMK is MSK-derived"
        );
    }

    #[test]
    fn classic_session_refuses_the_radius_1_1_accept() {
        // Control: without set_radius_1_1 the same bytes do not verify.
        let mut ap = ApSession::new(nas(), [2, 0, 0, 0, 0, 2], 1);
        let req = ap.access_request(&[2, 1, 0, 6, 1, b'a'], [9; 16]).unwrap();
        let p = Packet::new_checked(&req[..]).unwrap();
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_some());
        let mut reply = accept([9, 9, 9, 9], &[1; 64]);
        reply[1] = p.identifier();
        assert!(matches!(
            ap.handle_response(&reply),
            Err(ApError::BadAuthenticator(_))
        ));
    }
}
