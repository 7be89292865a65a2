//! Reply encoding: the last stage of the request path (ARCHITECTURE.md).
//!
//! Every reply carries Message-Authenticator as its first attribute (the
//! builder puts it there, RFC 3579 §3.2, BlastRADIUS) and the request's
//! Proxy-State attributes, unmodified and in order (RFC 2865 §5.33): a
//! proxy in between needs them to route the reply. The attribute sets of an
//! Access-Accept live here too. Pure functions: the caller caches the bytes
//! for duplicates and sends them.

use std::sync::Arc;

use eap_methods::server::Authenticated;
use radius_proto::{Packet, PacketBuilder, Secret, dict};

use crate::admission::Origin;
use crate::policy::Accept;

/// How a reply is encoded: classic RADIUS with the client's shared
/// secret, or RADIUS/1.1 (RFC 9765) on a connection that negotiated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// RFC 2865: Response Authenticator, Message-Authenticator, MD5 hiding.
    Classic,
    /// RFC 9765: the request's Token, no Message-Authenticator, no hiding.
    Radius11,
}

impl Profile {
    /// The profile of a request from `origin`.
    pub fn of(origin: Origin) -> Profile {
        if origin.radius_1_1() {
            Profile::Radius11
        } else {
            Profile::Classic
        }
    }
}

/// [`encode`] in `profile`: on RADIUS/1.1 the reply carries the
/// request's Token, Reserved fields zero and no Message-Authenticator
/// (RFC 9765 §4.1, §5.2); `secret` is not used.
pub fn encode_in(
    profile: Profile,
    request: &Packet<&[u8]>,
    secret: &(impl Secret + ?Sized),
    mut b: PacketBuilder,
) -> Result<Arc<[u8]>, radius_proto::Error> {
    match profile {
        Profile::Classic => encode(request, secret, b),
        Profile::Radius11 => {
            for state in request.attrs(dict::PROXY_STATE) {
                b.add(dict::PROXY_STATE, state)?;
            }
            b.encode_radius_1_1(radius_proto::v11::token(request))
                .map(Arc::from)
        }
    }
}

/// Encodes the reply `b` to `request` with the client's `secret`, after
/// copying the request's Proxy-State. Errors when the reply would pass
/// 4096 octets (`PacketTooLong`) or the builder's code is not a reply.
pub fn encode(
    request: &Packet<&[u8]>,
    secret: &(impl Secret + ?Sized),
    mut b: PacketBuilder,
) -> Result<Arc<[u8]>, radius_proto::Error> {
    for state in request.attrs(dict::PROXY_STATE) {
        b.add(dict::PROXY_STATE, state)?;
    }
    b.encode_response(request, secret).map(Arc::from)
}

/// User-Name, and the user's VLAN and Session-Timeout, for an Access-Accept.
pub fn user_attributes(b: &mut PacketBuilder, accept: &Accept) -> Result<(), radius_proto::Error> {
    b.add(dict::USER_NAME, accept.user_name.as_bytes())?;
    if let Some(vlan) = &accept.vlan {
        // RFC 3580 §3.31, RFC 2868: tag 0 (untagged).
        b.add(
            dict::TUNNEL_TYPE,
            &dict::tagged_integer(0, dict::TUNNEL_TYPE_VLAN),
        )?;
        b.add(
            dict::TUNNEL_MEDIUM_TYPE,
            &dict::tagged_integer(0, dict::TUNNEL_MEDIUM_IEEE_802),
        )?;
        b.add(dict::TUNNEL_PRIVATE_GROUP_ID, vlan.as_bytes())?;
    }
    if let Some(timeout) = accept.session_timeout {
        b.add(dict::SESSION_TIMEOUT, &timeout.to_be_bytes())?;
    }
    Ok(())
}

/// The Class of the authentication (RFC 2865 §5.25, [`crate::class`]),
/// which the NAS echoes in its accounting.
pub fn class_attribute(b: &mut PacketBuilder, class: &str) -> Result<(), radius_proto::Error> {
    b.add(dict::CLASS, class.as_bytes())?;
    Ok(())
}

/// The Access-Accept attributes of an EAP authentication: the user's, the
/// MS-MPPE keys and, when the NAS asked, EAP-Key-Name.
pub fn eap_accept_attributes(
    b: &mut PacketBuilder,
    request: &Packet<&[u8]>,
    secret: &(impl Secret + ?Sized),
    auth: &Authenticated,
    accept: &Accept,
    profile: Profile,
) -> Result<(), radius_proto::Error> {
    user_attributes(b, accept)?;
    // RFC 2548 §2.4.2/§2.4.3; the PMK for WPA is MSK[0..32] in the
    // Recv-Key (from the NAS's point of view, received from the peer).
    let msk = auth.msk.as_bytes();
    if profile == Profile::Radius11 {
        // RFC 9765 §5.1.4: the keys as their base data type, without the
        // salt and MD5 of RFC 2548; TLS protects them.
        let recv = radius_proto::v11::mppe_key(&msk[..32])?;
        let send = radius_proto::v11::mppe_key(&msk[32..64])?;
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY, recv)?;
        b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, send)?;
        if request.attr(dict::EAP_KEY_NAME).is_some() {
            b.add(dict::EAP_KEY_NAME, &auth.session_id)?;
        }
        return Ok(());
    }
    let authn = request.authenticator();
    let mut salts = [0u8; 4];
    rand::fill(&mut salts);
    // Each salt must be unique (RFC 2548 §2.4.2): force them apart.
    let recv_salt = [salts[0] | 0x80, salts[1]];
    let mut send_salt = [salts[2] | 0x80, salts[3]];
    if send_salt == recv_salt {
        send_salt[1] ^= 1;
    }
    let recv = radius_proto::encrypt_mppe_key(&msk[..32], secret.secret_bytes(), authn, recv_salt);
    let send =
        radius_proto::encrypt_mppe_key(&msk[32..64], secret.secret_bytes(), authn, send_salt);
    b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY, &recv)?;
    b.add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, &send)?;
    // RFC 4072 §2.1 (EAP-Key-Name): sent when the NAS asked for it by
    // including the attribute in the Access-Request.
    if request.attr(dict::EAP_KEY_NAME).is_some() {
        b.add(dict::EAP_KEY_NAME, &auth.session_id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use radius_proto::Code;

    const SECRET: &[u8] = b"a-long-test-secret";

    fn request(proxy_states: &[&[u8]]) -> Vec<u8> {
        let mut b = PacketBuilder::new(Code::AccessRequest, 42);
        b.add(dict::USER_NAME, b"bob").unwrap();
        for ps in proxy_states {
            b.add(dict::PROXY_STATE, ps).unwrap();
        }
        b.encode_request([5; 16], SECRET).unwrap()
    }

    #[test]
    fn message_authenticator_first_and_proxy_state_copied_in_order() {
        let wire = request(&[b"first-hop", b"second-hop"]);
        let req = Packet::new_checked(&wire[..]).unwrap();
        let reply = encode(
            &req,
            SECRET,
            PacketBuilder::reply_to(Code::AccessReject, &req),
        )
        .unwrap();
        let p = Packet::new_checked(&reply[..]).unwrap();
        assert_eq!(p.identifier(), 42);
        let first = p.attributes().next().unwrap();
        assert_eq!(first.typ, dict::MESSAGE_AUTHENTICATOR);
        let copied: Vec<&[u8]> = p.attrs(dict::PROXY_STATE).collect();
        assert_eq!(copied, [&b"first-hop"[..], &b"second-hop"[..]]);
        radius_proto::verify_response(&p, req.authenticator(), SECRET).expect("a valid reply");
        // Control: without Proxy-State in the request, none in the reply.
        let wire = request(&[]);
        let req = Packet::new_checked(&wire[..]).unwrap();
        let reply = encode(
            &req,
            SECRET,
            PacketBuilder::reply_to(Code::AccessReject, &req),
        )
        .unwrap();
        let p = Packet::new_checked(&reply[..]).unwrap();
        assert_eq!(p.attrs(dict::PROXY_STATE).count(), 0);
    }

    #[test]
    fn radius_1_1_reply_echoes_the_token_without_message_authenticator() {
        let mut b = PacketBuilder::new(Code::AccessRequest, 0);
        b.add(dict::USER_NAME, b"bob").unwrap();
        b.add(dict::PROXY_STATE, b"hop").unwrap();
        let wire = b.encode_radius_1_1([9, 8, 7, 6]).unwrap();
        let req = Packet::new_checked(&wire[..]).unwrap();
        let reply = encode_in(
            Profile::Radius11,
            &req,
            SECRET,
            PacketBuilder::reply_to(Code::AccessReject, &req),
        )
        .unwrap();
        let p = Packet::new_checked(&reply[..]).unwrap();
        assert_eq!(&reply[1..2], &[0]);
        assert_eq!(
            &reply[4..20],
            &[9, 8, 7, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_none());
        assert_eq!(p.attr(dict::PROXY_STATE), Some(&b"hop"[..]));
        // Control: the classic profile of the same request signs it.
        let classic = encode_in(
            Profile::Classic,
            &req,
            SECRET,
            PacketBuilder::reply_to(Code::AccessReject, &req),
        )
        .unwrap();
        let p = Packet::new_checked(&classic[..]).unwrap();
        assert!(p.attr(dict::MESSAGE_AUTHENTICATOR).is_some());
    }

    #[test]
    fn oversize_reply_is_an_error_not_a_truncation() {
        let states: Vec<[u8; 250]> = vec![[7; 250]; 10];
        let refs: Vec<&[u8]> = states.iter().map(|s| &s[..]).collect();
        let wire = request(&refs);
        let req = Packet::new_checked(&wire[..]).unwrap();
        let mut b = PacketBuilder::reply_to(Code::AccessChallenge, &req);
        b.add_eap_message(&[0; 1600]);
        assert_eq!(
            encode(&req, SECRET, b).unwrap_err(),
            radius_proto::Error::PacketTooLong
        );
        // Control: the same EAP packet fits without the Proxy-State.
        let wire = request(&[]);
        let req = Packet::new_checked(&wire[..]).unwrap();
        let mut b = PacketBuilder::reply_to(Code::AccessChallenge, &req);
        b.add_eap_message(&[0; 1600]);
        assert!(encode(&req, SECRET, b).is_ok());
    }
}
