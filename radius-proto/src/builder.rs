//! Building RADIUS packets (the emit side of [`crate::packet`]).
//!
//! The builder collects attributes; `encode_request` / `encode_response` lay
//! out the header, insert the Message-Authenticator as the **first**
//! attribute and compute the authenticators. Putting Message-Authenticator
//! first is the BlastRADIUS mitigation (CVE-2024-3596,
//! draft-ietf-radext-deprecating-radius): a chosen-prefix MD5 collision can
//! then no longer be hidden in attributes placed before it.

use crate::auth::{Secret, compute_message_authenticator, compute_packet_authenticator};
use crate::packet::{Code, HEADER_LEN, MAX_ATTR_VALUE_LEN, MAX_PACKET_LEN, Packet, field};
use crate::{Error, dict};

/// Room taken in a Vendor-Specific value by Vendor-Id, vendor type and vendor
/// length (RFC 2865 §5.26).
const VSA_OVERHEAD: usize = 6;
const MA_ATTR_LEN: usize = 18;

/// Collects attributes and encodes a complete, authenticated packet.
#[derive(Debug, Clone)]
pub struct PacketBuilder {
    code: Code,
    identifier: u8,
    /// Encoded attributes, in order, without Message-Authenticator.
    attrs: Vec<u8>,
}

impl PacketBuilder {
    /// Starts a packet of type `code` with `identifier` (for a reply: the
    /// identifier of the request, RFC 2865 §3; see [`PacketBuilder::reply_to`]).
    pub fn new(code: Code, identifier: u8) -> Self {
        PacketBuilder {
            code,
            identifier,
            // Room for a small reply's attributes: growing from empty
            // reallocated three or four times per packet.
            attrs: Vec::with_capacity(128),
        }
    }

    /// Starts a reply of type `code` carrying the identifier of `request`.
    pub fn reply_to<T: AsRef<[u8]>>(code: Code, request: &Packet<T>) -> Self {
        Self::new(code, request.identifier())
    }

    /// Packet type being built.
    pub fn code(&self) -> Code {
        self.code
    }

    /// Identifier being built.
    pub fn identifier(&self) -> u8 {
        self.identifier
    }

    /// Appends one attribute (RFC 2865 §5). Errors: [`Error::ValueTooLong`]
    /// above 253 octets; [`Error::DuplicateMessageAuthenticator`] for type 80,
    /// which the encoder inserts itself.
    pub fn add(&mut self, typ: u8, value: &[u8]) -> Result<&mut Self, Error> {
        if typ == dict::MESSAGE_AUTHENTICATOR {
            return Err(Error::DuplicateMessageAuthenticator);
        }
        if value.len() > MAX_ATTR_VALUE_LEN {
            return Err(Error::ValueTooLong);
        }
        self.push(typ, value);
        Ok(self)
    }

    /// Appends an attribute holding a 4-octet big-endian integer
    /// (RFC 2865 §5, "integer").
    pub fn add_u32(&mut self, typ: u8, value: u32) -> Result<&mut Self, Error> {
        self.add(typ, &value.to_be_bytes())
    }

    /// Appends one Vendor-Specific attribute holding one sub-attribute
    /// (RFC 2865 §5.26). The value may be at most 247 octets, else
    /// [`Error::ValueTooLong`].
    pub fn add_vendor(
        &mut self,
        vendor: u32,
        vendor_type: u8,
        value: &[u8],
    ) -> Result<&mut Self, Error> {
        let sub_len = value.len() + 2;
        let total = value.len() + VSA_OVERHEAD;
        if total > MAX_ATTR_VALUE_LEN {
            return Err(Error::ValueTooLong);
        }
        // Both fit in a u8: total <= 253.
        self.attrs.push(dict::VENDOR_SPECIFIC);
        self.attrs.push((total + 2) as u8);
        self.attrs.extend_from_slice(&vendor.to_be_bytes());
        self.attrs.push(vendor_type);
        self.attrs.push(sub_len as u8);
        self.attrs.extend_from_slice(value);
        Ok(self)
    }

    /// Appends an EAP packet as consecutive EAP-Message attributes of at most
    /// 253 octets each (RFC 3579 §3.1). An empty `eap` gives one empty
    /// EAP-Message (the EAP-Start indication of RFC 3579 §2.1).
    pub fn add_eap_message(&mut self, eap: &[u8]) -> &mut Self {
        if eap.is_empty() {
            self.push(dict::EAP_MESSAGE, &[]);
        }
        for chunk in eap.chunks(MAX_ATTR_VALUE_LEN) {
            self.push(dict::EAP_MESSAGE, chunk);
        }
        self
    }

    /// The largest EAP packet that [`PacketBuilder::add_eap_message`] can
    /// carry in a packet within the 4096-octet limit (RFC 2865 §3) whose
    /// other attributes take `other_attribute_octets` (type and length
    /// octets included; count Message-Authenticator's 18 too). Each
    /// EAP-Message holds up to 253 octets behind its own 2-octet header
    /// (RFC 3579 §3.1). Zero when nothing fits.
    pub fn max_eap_message_len(other_attribute_octets: usize) -> usize {
        let room = MAX_PACKET_LEN.saturating_sub(HEADER_LEN + other_attribute_octets);
        let full = room / (MAX_ATTR_VALUE_LEN + 2);
        let rest = room % (MAX_ATTR_VALUE_LEN + 2);
        full * MAX_ATTR_VALUE_LEN + rest.saturating_sub(2)
    }

    /// `value.len()` must already be checked to be <= 253.
    fn push(&mut self, typ: u8, value: &[u8]) {
        self.attrs.push(typ);
        self.attrs.push((value.len() + 2) as u8);
        self.attrs.extend_from_slice(value);
    }

    /// Lays out header + optional zeroed Message-Authenticator + attributes.
    /// Returns the buffer; the MA value, when present, sits at offset 22.
    pub(crate) fn layout(&self, authenticator: &[u8; 16], with_ma: bool) -> Result<Vec<u8>, Error> {
        let len = HEADER_LEN + if with_ma { MA_ATTR_LEN } else { 0 } + self.attrs.len();
        if len > MAX_PACKET_LEN {
            return Err(Error::PacketTooLong);
        }
        let mut buf = Vec::with_capacity(len);
        buf.push(u8::from(self.code));
        buf.push(self.identifier);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
        buf.extend_from_slice(authenticator);
        if with_ma {
            buf.push(dict::MESSAGE_AUTHENTICATOR);
            buf.push(MA_ATTR_LEN as u8);
            buf.extend_from_slice(&[0; 16]);
        }
        buf.extend_from_slice(&self.attrs);
        Ok(buf)
    }

    /// Encodes a request, always with a Message-Authenticator as its first
    /// attribute.
    ///
    /// - Access-Request, Status-Server: the Request Authenticator is
    ///   `request_authenticator`, which the caller draws at random and keeps
    ///   to verify the reply (RFC 2865 §3); Message-Authenticator per
    ///   RFC 3579 §3.2.
    /// - Accounting-Request, CoA-Request, Disconnect-Request: the argument is
    ///   ignored; Message-Authenticator is computed over a zero authenticator,
    ///   then the Request Authenticator per RFC 2866 §3 / RFC 5176 §2.3 over
    ///   the packet including it.
    /// - Other codes: [`Error::UnexpectedCode`].
    pub fn encode_request<S: Secret + ?Sized>(
        &self,
        request_authenticator: [u8; 16],
        secret: &S,
    ) -> Result<Vec<u8>, Error> {
        let ma_offset = HEADER_LEN + field::ATTR_VALUE;
        match self.code {
            Code::AccessRequest | Code::StatusServer => {
                let mut buf = self.layout(&request_authenticator, true)?;
                let ma =
                    compute_message_authenticator(&buf, ma_offset, &request_authenticator, secret);
                buf[ma_offset..ma_offset + 16].copy_from_slice(&ma);
                Ok(buf)
            }
            Code::AccountingRequest | Code::DisconnectRequest | Code::CoaRequest => {
                let zero = [0u8; 16];
                let mut buf = self.layout(&zero, true)?;
                let ma = compute_message_authenticator(&buf, ma_offset, &zero, secret);
                buf[ma_offset..ma_offset + 16].copy_from_slice(&ma);
                let auth = compute_packet_authenticator(&buf, &zero, secret);
                buf[field::AUTHENTICATOR].copy_from_slice(&auth);
                Ok(buf)
            }
            other => Err(Error::UnexpectedCode(other)),
        }
    }

    /// Encodes a reply to `request` with its Response Authenticator
    /// (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
    ///
    /// Access-Accept, Access-Reject, Access-Challenge and any reply to a
    /// Status-Server carry a Message-Authenticator as first attribute,
    /// computed with the request's authenticator (RFC 3579 §3.2, RFC 5997
    /// §3). Accounting-Response and CoA/Disconnect ACK/NAK answering other
    /// requests get none: their Response Authenticator already covers the
    /// packet, and deployed peers disagree on how to key one there.
    ///
    /// The identifier is the builder's (use [`PacketBuilder::reply_to`]).
    /// Errors: [`Error::UnexpectedCode`] if the builder's code is not a reply;
    /// [`Error::PacketTooLong`] above 4096 octets.
    pub fn encode_response<T: AsRef<[u8]>, S: Secret + ?Sized>(
        &self,
        request: &Packet<T>,
        secret: &S,
    ) -> Result<Vec<u8>, Error> {
        if !self.code.is_response() {
            return Err(Error::UnexpectedCode(self.code));
        }
        let request_authenticator = request.authenticator();
        let with_ma = matches!(
            self.code,
            Code::AccessAccept | Code::AccessReject | Code::AccessChallenge
        ) || request.code() == Code::StatusServer;
        let mut buf = self.layout(request_authenticator, with_ma)?;
        if with_ma {
            let ma_offset = HEADER_LEN + field::ATTR_VALUE;
            let ma = compute_message_authenticator(&buf, ma_offset, request_authenticator, secret);
            buf[ma_offset..ma_offset + 16].copy_from_slice(&ma);
        }
        let auth = compute_packet_authenticator(&buf, request_authenticator, secret);
        buf[field::AUTHENTICATOR].copy_from_slice(&auth);
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{verify_request, verify_response, verify_response_with};
    use crate::hiding::{decrypt_mppe_key, encrypt_mppe_key};

    const SECRET: &[u8] = b"xyzzy5461";

    /// Small deterministic generator for the property-style tests.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u8 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 56) as u8
        }
    }

    #[test]
    fn rfc5997_status_server_is_reproduced_byte_for_byte() {
        // RFC 5997 §6: Status-Server, Id 0xda, with only Message-Authenticator.
        let expected = hex::decode(
            "0cda00268a54f4686fb394c52866e302185d062350125a665e2e1e8411f3e243822097c84fa3",
        )
        .unwrap();
        let auth: [u8; 16] = expected[4..20].try_into().unwrap();
        let got = PacketBuilder::new(Code::StatusServer, 0xda)
            .encode_request(auth, SECRET)
            .unwrap();
        assert_eq!(got, expected);
    }

    #[test]
    fn access_exchange_round_trip() {
        let auth = [0x5a; 16];
        let eap = [2u8, 1, 0, 9, 1, b'n', b'e', b'm', b'o'];
        let mut b = PacketBuilder::new(Code::AccessRequest, 7);
        b.add(dict::USER_NAME, b"nemo")
            .unwrap()
            .add_u32(dict::NAS_PORT_TYPE, dict::NAS_PORT_TYPE_WIRELESS_802_11)
            .unwrap()
            .add_eap_message(&eap);
        let wire = b.encode_request(auth, SECRET).unwrap();
        let req = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(req.code(), Code::AccessRequest);
        assert_eq!(req.identifier(), 7);
        assert_eq!(req.authenticator(), &auth);
        // Message-Authenticator is the first attribute.
        assert_eq!(
            req.attributes().next().unwrap().typ,
            dict::MESSAGE_AUTHENTICATOR
        );
        assert_eq!(req.attr(dict::USER_NAME), Some(&b"nemo"[..]));
        assert_eq!(req.eap_message().unwrap(), eap);
        verify_request(&req, SECRET, true).unwrap();
        assert_eq!(
            verify_request(&req, b"other", true),
            Err(Error::BadMessageAuthenticator)
        );

        // The server answers with MPPE keys and EAP-Success.
        let send = [0x11u8; 32];
        let recv = [0x22u8; 32];
        let mut r = PacketBuilder::reply_to(Code::AccessAccept, &req);
        r.add_vendor(
            dict::VENDOR_MICROSOFT,
            dict::MS_MPPE_SEND_KEY,
            &encrypt_mppe_key(&send, SECRET, req.authenticator(), [0x80, 1]),
        )
        .unwrap()
        .add_vendor(
            dict::VENDOR_MICROSOFT,
            dict::MS_MPPE_RECV_KEY,
            &encrypt_mppe_key(&recv, SECRET, req.authenticator(), [0x80, 2]),
        )
        .unwrap()
        .add_eap_message(&[3, 1, 0, 4]);
        let wire = r.encode_response(&req, SECRET).unwrap();
        let resp = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(resp.identifier(), 7);
        assert_eq!(
            resp.attributes().next().unwrap().typ,
            dict::MESSAGE_AUTHENTICATOR
        );
        verify_response_with(&resp, &auth, SECRET, true).unwrap();
        let got_send = resp
            .vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY)
            .unwrap();
        assert_eq!(
            &decrypt_mppe_key(got_send, SECRET, &auth).unwrap()[..],
            send
        );
        let got_recv = resp
            .vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY)
            .unwrap();
        assert_eq!(
            &decrypt_mppe_key(got_recv, SECRET, &auth).unwrap()[..],
            recv
        );

        // Against another request authenticator both checks fail.
        assert_eq!(
            verify_response(&resp, &[0; 16], SECRET),
            Err(Error::BadResponseAuthenticator)
        );
        // Tampering with any attribute octet is caught.
        let mut t = wire.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        let tp = Packet::new_checked(&t[..]).unwrap();
        assert_eq!(
            verify_response(&tp, &auth, SECRET),
            Err(Error::BadResponseAuthenticator)
        );
    }

    #[test]
    fn response_message_authenticator_is_checked() {
        // A reply whose Response Authenticator is right but whose
        // Message-Authenticator is not: recompute the former after tampering.
        let req_wire = PacketBuilder::new(Code::AccessRequest, 1)
            .add_eap_message(&[2, 1, 0, 4])
            .encode_request([1; 16], SECRET)
            .unwrap();
        let req = Packet::new_checked(&req_wire[..]).unwrap();
        let mut wire = PacketBuilder::reply_to(Code::AccessChallenge, &req)
            .add_eap_message(&[1, 2, 0, 6, 13, 0x20])
            .encode_response(&req, SECRET)
            .unwrap();
        wire[22] ^= 0xff;
        let auth = compute_packet_authenticator(&wire, &[1; 16], SECRET);
        wire[4..20].copy_from_slice(&auth);
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(
            verify_response(&p, &[1; 16], SECRET),
            Err(Error::BadMessageAuthenticator)
        );
    }

    #[test]
    fn accounting_request_round_trip() {
        let mut b = PacketBuilder::new(Code::AccountingRequest, 9);
        b.add_u32(dict::ACCT_STATUS_TYPE, dict::ACCT_STATUS_TYPE_START)
            .unwrap()
            .add(dict::ACCT_SESSION_ID, b"abc")
            .unwrap();
        // The authenticator argument is ignored for accounting.
        let wire = b.encode_request([0xEE; 16], SECRET).unwrap();
        assert_ne!(&wire[4..20], &[0xEE; 16]);
        let p = Packet::new_checked(&wire[..]).unwrap();
        verify_request(&p, SECRET, false).unwrap();

        // Accounting-Response: Response Authenticator, no Message-Authenticator.
        let resp = PacketBuilder::reply_to(Code::AccountingResponse, &p)
            .encode_response(&p, SECRET)
            .unwrap();
        assert_eq!(resp.len(), 20);
        let rp = Packet::new_checked(&resp[..]).unwrap();
        verify_response(&rp, p.authenticator(), SECRET).unwrap();

        // A Message-Authenticator inside an accounting request is checked too.
        let mut t = wire.clone();
        t[23] ^= 1;
        let auth = compute_packet_authenticator(&t, &[0; 16], SECRET);
        t[4..20].copy_from_slice(&auth);
        let tp = Packet::new_checked(&t[..]).unwrap();
        assert_eq!(
            verify_request(&tp, SECRET, false),
            Err(Error::BadMessageAuthenticator)
        );
    }

    #[test]
    fn builder_errors() {
        let mut b = PacketBuilder::new(Code::AccessAccept, 0);
        assert_eq!(b.add(1, &[0; 254]).unwrap_err(), Error::ValueTooLong);
        assert!(b.add(1, &[0; 253]).is_ok());
        assert_eq!(
            b.add(dict::MESSAGE_AUTHENTICATOR, &[0; 16]).unwrap_err(),
            Error::DuplicateMessageAuthenticator
        );
        assert_eq!(
            b.add_vendor(311, 16, &[0; 248]).unwrap_err(),
            Error::ValueTooLong
        );
        assert!(b.add_vendor(311, 16, &[0; 247]).is_ok());
        // An Access-Accept is not a request, an Access-Request not a reply.
        assert_eq!(
            b.encode_request([0; 16], SECRET).unwrap_err(),
            Error::UnexpectedCode(Code::AccessAccept)
        );
        let req_wire = PacketBuilder::new(Code::AccessRequest, 0)
            .encode_request([0; 16], SECRET)
            .unwrap();
        let req = Packet::new_checked(&req_wire[..]).unwrap();
        assert_eq!(
            PacketBuilder::new(Code::AccessRequest, 0)
                .encode_response(&req, SECRET)
                .unwrap_err(),
            Error::UnexpectedCode(Code::AccessRequest)
        );
        // The largest EAP packet that fits beside Message-Authenticator and
        // a State of 16 octets fills the packet to exactly 4096 octets;
        // one octet more does not fit.
        let fits = PacketBuilder::max_eap_message_len(18 + 18);
        assert_eq!(fits, 4008);
        for (len, ok) in [(fits, true), (fits + 1, false)] {
            let mut b = PacketBuilder::new(Code::AccessChallenge, 0);
            b.add_eap_message(&vec![0; len]);
            b.add(24, &[7; 16]).unwrap();
            let encoded = b.encode_response(&req, SECRET);
            assert_eq!(encoded.is_ok(), ok, "{len}");
            if ok {
                assert_eq!(encoded.unwrap().len(), 4096);
            }
        }
        assert_eq!(PacketBuilder::max_eap_message_len(4096), 0);
        // 4096 octets is the limit: 20 + 18 (MA) + attributes.
        let mut big = PacketBuilder::new(Code::AccessChallenge, 0);
        big.add_eap_message(&vec![0; 4096 - 38 - 2 * 16]);
        assert_eq!(big.encode_response(&req, SECRET).unwrap().len(), 4096);
        big.add(18, &[]).unwrap();
        assert_eq!(
            big.encode_response(&req, SECRET).unwrap_err(),
            Error::PacketTooLong
        );
    }

    #[test]
    fn eap_message_split_and_join_1_to_3000() {
        let mut rng = Lcg(0x2865);
        let req_wire = PacketBuilder::new(Code::AccessRequest, 0)
            .encode_request([4; 16], SECRET)
            .unwrap();
        let req = Packet::new_checked(&req_wire[..]).unwrap();
        for len in (1usize..=3000).step_by(7).chain([253, 254, 506, 507, 3000]) {
            let eap: Vec<u8> = (0..len).map(|_| rng.next()).collect();
            let mut b = PacketBuilder::reply_to(Code::AccessChallenge, &req);
            b.add(dict::STATE, &[rng.next(); 8])
                .unwrap()
                .add_eap_message(&eap);
            let wire = b.encode_response(&req, SECRET).unwrap();
            let p = Packet::new_checked(&wire[..]).unwrap();
            verify_response(&p, &[4; 16], SECRET).unwrap();
            assert_eq!(p.eap_message().unwrap(), eap, "len {len}");
            assert_eq!(p.count(dict::EAP_MESSAGE), len.div_ceil(253));
            assert!(p.attrs(dict::EAP_MESSAGE).all(|v| v.len() <= 253));
        }
        // EAP-Start: one empty EAP-Message.
        let mut b = PacketBuilder::new(Code::AccessRequest, 0);
        b.add_eap_message(&[]);
        let wire = b.encode_request([4; 16], SECRET).unwrap();
        let p = Packet::new_checked(&wire[..]).unwrap();
        assert_eq!(p.eap_message(), Some(vec![]));
    }

    #[test]
    fn build_parse_round_trip_random_attributes() {
        let mut rng = Lcg(2866);
        for _ in 0..200 {
            let n = usize::from(rng.next() % 12);
            let mut expected = Vec::new();
            let mut b = PacketBuilder::new(Code::AccessRequest, rng.next());
            for _ in 0..n {
                let mut typ = rng.next();
                if typ == dict::MESSAGE_AUTHENTICATOR || typ == dict::EAP_MESSAGE {
                    typ = dict::CLASS;
                }
                let len = usize::from(rng.next()) % 254;
                let value: Vec<u8> = (0..len).map(|_| rng.next()).collect();
                b.add(typ, &value).unwrap();
                expected.push((typ, value));
            }
            let auth = [rng.next(); 16];
            let wire = b.encode_request(auth, SECRET).unwrap();
            let p = Packet::new_checked(&wire[..]).unwrap();
            verify_request(&p, SECRET, true).unwrap();
            let got: Vec<(u8, Vec<u8>)> = p
                .attributes()
                .skip(1)
                .map(|a| (a.typ, a.value.to_vec()))
                .collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn mutated_packets_never_panic() {
        // A cheap in-tree stand-in for the fuzz target: mutate valid packets
        // and check every accessor on whatever still parses.
        use crate::packet::tests::{RFC2865_7_1_REQUEST, RFC2865_7_2_ACCEPT};
        let mut rng = Lcg(5997);
        let mut eap_req = PacketBuilder::new(Code::AccessRequest, 3);
        eap_req.add_eap_message(&[2; 600]);
        eap_req
            .add_vendor(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY, &[0x80; 34])
            .unwrap();
        let seeds = [
            RFC2865_7_1_REQUEST.to_vec(),
            RFC2865_7_2_ACCEPT.to_vec(),
            eap_req.encode_request([1; 16], SECRET).unwrap(),
        ];
        let mut parsed = 0;
        for i in 0..20_000 {
            let mut b = seeds[i % seeds.len()].clone();
            for _ in 0..=(rng.next() % 4) {
                let pos = usize::from(rng.next()) * b.len() / 256;
                match rng.next() % 4 {
                    0 => b[pos] = rng.next(),
                    1 => b.truncate(pos),
                    2 => b.insert(pos, rng.next()),
                    _ => b[pos] ^= 1 << (rng.next() % 8),
                }
                if b.is_empty() {
                    break;
                }
            }
            let Ok(p) = Packet::new_checked(&b[..]) else {
                continue;
            };
            parsed += 1;
            let walked: usize = p.attributes().map(|a| 2 + a.value.len()).sum();
            assert_eq!(walked + 20, p.length());
            let _ = p.eap_message();
            let _ = p.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY);
            let _ = verify_request(&p, SECRET, false);
            let _ = verify_response(&p, &[0; 16], SECRET);
            for a in p.attributes() {
                let _ = crate::decrypt_user_password(a.value, SECRET, p.authenticator());
                let _ = crate::decrypt_tunnel_password(a.value, SECRET, p.authenticator());
                let _ = decrypt_mppe_key(a.value, SECRET, p.authenticator());
            }
        }
        // The mutations must leave a fair share of packets parseable, or the
        // test exercises nothing past new_checked.
        assert!(parsed > 1_000, "only {parsed} mutated packets parsed");
    }
}
