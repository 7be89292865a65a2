//! Zero-copy view of a RADIUS packet: header and attributes (RFC 2865 §3, §5).
//!
//! # Contract
//!
//! [`Packet::new_checked`] validates the header, the Length field and the
//! length of every attribute exactly once. After it succeeds, no accessor can
//! panic and the attribute iterator cannot fail: a server that holds a
//! `Packet` holds a well-formed packet. Octets past the Length field are
//! padding and are ignored (RFC 2865 §3).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Authenticator (16)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attributes: Type (1) | Length (1) | Value (Length - 2) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-
//! ```

use crate::Error;
use crate::dict;

/// Field offsets of the RADIUS header (RFC 2865 §3).
pub(crate) mod field {
    use core::ops::Range;

    pub const CODE: usize = 0;
    pub const IDENTIFIER: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const AUTHENTICATOR: Range<usize> = 4..20;
    pub const ATTRIBUTES: usize = 20;

    /// Offsets inside one attribute (RFC 2865 §5).
    pub const ATTR_TYPE: usize = 0;
    pub const ATTR_LENGTH: usize = 1;
    pub const ATTR_VALUE: usize = 2;

    /// Offsets inside a Vendor-Specific value (RFC 2865 §5.26).
    pub const VSA_VENDOR_ID: Range<usize> = 0..4;
    pub const VSA_DATA: usize = 4;
}

/// Size of the fixed header (RFC 2865 §3).
pub const HEADER_LEN: usize = 20;
/// Largest RADIUS packet (RFC 2865 §3).
pub const MAX_PACKET_LEN: usize = 4096;
/// Largest attribute value: 255 minus the type and length octets (RFC 2865 §5).
pub const MAX_ATTR_VALUE_LEN: usize = 253;

/// RADIUS packet type (RFC 2865 §4, RFC 2866 §4, RFC 5997 §2, RFC 5176 §2.3).
///
/// Unknown codes are kept as [`Code::Unknown`] rather than rejected, so the
/// caller decides what to do with them (RFC 2865 §3: silently discard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1, RFC 2865 §4.1.
    AccessRequest,
    /// 2, RFC 2865 §4.2.
    AccessAccept,
    /// 3, RFC 2865 §4.3.
    AccessReject,
    /// 4, RFC 2866 §4.1.
    AccountingRequest,
    /// 5, RFC 2866 §4.2.
    AccountingResponse,
    /// 11, RFC 2865 §4.4.
    AccessChallenge,
    /// 12, RFC 5997.
    StatusServer,
    /// 13, RFC 2865 §3 (reserved, experimental).
    StatusClient,
    /// 40, RFC 5176 §2.3.
    DisconnectRequest,
    /// 41, RFC 5176 §2.3.
    DisconnectAck,
    /// 42, RFC 5176 §2.3.
    DisconnectNak,
    /// 43, RFC 5176 §2.3.
    CoaRequest,
    /// 44, RFC 5176 §2.3.
    CoaAck,
    /// 45, RFC 5176 §2.3.
    CoaNak,
    /// Any other code.
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(v: u8) -> Self {
        match v {
            1 => Code::AccessRequest,
            2 => Code::AccessAccept,
            3 => Code::AccessReject,
            4 => Code::AccountingRequest,
            5 => Code::AccountingResponse,
            11 => Code::AccessChallenge,
            12 => Code::StatusServer,
            13 => Code::StatusClient,
            40 => Code::DisconnectRequest,
            41 => Code::DisconnectAck,
            42 => Code::DisconnectNak,
            43 => Code::CoaRequest,
            44 => Code::CoaAck,
            45 => Code::CoaNak,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        match c {
            Code::AccessRequest => 1,
            Code::AccessAccept => 2,
            Code::AccessReject => 3,
            Code::AccountingRequest => 4,
            Code::AccountingResponse => 5,
            Code::AccessChallenge => 11,
            Code::StatusServer => 12,
            Code::StatusClient => 13,
            Code::DisconnectRequest => 40,
            Code::DisconnectAck => 41,
            Code::DisconnectNak => 42,
            Code::CoaRequest => 43,
            Code::CoaAck => 44,
            Code::CoaNak => 45,
            Code::Unknown(v) => v,
        }
    }
}

impl Code {
    /// Requests whose Request Authenticator is computed over the packet
    /// (RFC 2866 §3, RFC 5176 §2.3) rather than chosen at random.
    pub fn has_computed_request_authenticator(self) -> bool {
        matches!(
            self,
            Code::AccountingRequest | Code::DisconnectRequest | Code::CoaRequest
        )
    }

    /// Replies that carry a Response Authenticator (RFC 2865 §3,
    /// RFC 2866 §3, RFC 5176 §2.3).
    pub fn is_response(self) -> bool {
        matches!(
            self,
            Code::AccessAccept
                | Code::AccessReject
                | Code::AccessChallenge
                | Code::AccountingResponse
                | Code::DisconnectAck
                | Code::DisconnectNak
                | Code::CoaAck
                | Code::CoaNak
        )
    }
}

/// One attribute: type octet and value (RFC 2865 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Type octet.
    pub typ: u8,
    /// Value, 0..=253 octets.
    pub value: &'a [u8],
}

/// A checked, read-only view of a RADIUS packet. See the module contract.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    /// Value of the Length field, validated to lie in 20..=min(4096, buffer).
    len: usize,
}

/// Reads an attribute header at `pos` of `attrs` (a slice starting at packet
/// offset 20) and returns `(type, value, next position)`. Offsets in errors
/// are relative to the start of the packet.
fn next_attribute(attrs: &[u8], pos: usize) -> Result<(u8, &[u8], usize), Error> {
    let offset = field::ATTRIBUTES + pos;
    let rest = attrs.get(pos..).unwrap_or(&[]);
    let typ = rest.get(field::ATTR_TYPE).copied().unwrap_or(0);
    let Some(&alen) = rest.get(field::ATTR_LENGTH) else {
        // A lone type octet at the end: its length octet lies past the end.
        return Err(Error::AttributeOverrun { offset, typ });
    };
    let alen = usize::from(alen);
    if alen < field::ATTR_VALUE {
        return Err(Error::AttributeTooShort { offset, typ });
    }
    match rest.get(field::ATTR_VALUE..alen) {
        Some(value) => Ok((typ, value, pos + alen)),
        None => Err(Error::AttributeOverrun { offset, typ }),
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Validates `buf` as one RADIUS packet (RFC 2865 §3): at least 20
    /// octets, a Length field within 20..=4096 and not beyond the buffer, and
    /// attributes that exactly tile `20..Length`, each of length >= 2.
    pub fn new_checked(buf: T) -> Result<Self, Error> {
        let bytes = buf.as_ref();
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = match bytes.get(field::LENGTH) {
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(Error::Truncated),
        };
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&len) || len > bytes.len() {
            return Err(Error::BadLength);
        }
        let attrs = bytes.get(field::ATTRIBUTES..len).unwrap_or(&[]);
        let mut pos = 0;
        while pos < attrs.len() {
            let (_, _, next) = next_attribute(attrs, pos)?;
            pos = next;
        }
        Ok(Packet { buffer: buf, len })
    }

    /// Exactly `Length` octets of the packet (padding excluded).
    pub fn as_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(..self.len).unwrap_or(b)
    }

    /// Gives back the underlying buffer (including any padding).
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Packet type.
    pub fn code(&self) -> Code {
        Code::from(self.as_bytes().get(field::CODE).copied().unwrap_or(0))
    }

    /// Identifier octet, matching requests and replies (RFC 2865 §3).
    pub fn identifier(&self) -> u8 {
        self.as_bytes().get(field::IDENTIFIER).copied().unwrap_or(0)
    }

    /// Value of the Length field (= `as_bytes().len()`).
    pub fn length(&self) -> usize {
        self.len
    }

    /// The 16-octet Request or Response Authenticator.
    pub fn authenticator(&self) -> &[u8; 16] {
        static ZERO: [u8; 16] = [0; 16];
        self.as_bytes()
            .get(field::AUTHENTICATOR)
            .and_then(|s| <&[u8; 16]>::try_from(s).ok())
            .unwrap_or(&ZERO)
    }

    /// The raw attribute area, `20..Length`.
    pub fn attribute_bytes(&self) -> &[u8] {
        self.as_bytes().get(field::ATTRIBUTES..).unwrap_or(&[])
    }

    /// All attributes in wire order.
    pub fn attributes(&self) -> Attributes<'_> {
        Attributes {
            attrs: self.attribute_bytes(),
            pos: 0,
        }
    }

    /// Value of the first attribute of type `typ`.
    pub fn attr(&self, typ: u8) -> Option<&[u8]> {
        self.attributes().find(|a| a.typ == typ).map(|a| a.value)
    }

    /// Values of every attribute of type `typ`, in order (e.g. Class,
    /// Proxy-State, which may repeat).
    pub fn attrs(&self, typ: u8) -> impl Iterator<Item = &[u8]> + '_ {
        self.attributes()
            .filter(move |a| a.typ == typ)
            .map(|a| a.value)
    }

    /// Number of attributes of type `typ`.
    pub fn count(&self, typ: u8) -> usize {
        self.attributes().filter(|a| a.typ == typ).count()
    }

    /// Value of the first vendor sub-attribute `vendor_type` of `vendor`,
    /// searched in every Vendor-Specific attribute (RFC 2865 §5.26:
    /// Vendor-Id (4) then sub-attributes of Vendor type (1), Vendor length
    /// (1, counting these two octets) and data).
    ///
    /// Malformed Vendor-Specific content is not an error of the packet (its
    /// format is only a recommendation): the rest of that attribute is
    /// skipped.
    pub fn vendor_attr(&self, vendor: u32, vendor_type: u8) -> Option<&[u8]> {
        self.attrs(dict::VENDOR_SPECIFIC).find_map(|v| {
            VendorAttributes::new(v, vendor)
                .find(|a| a.typ == vendor_type)
                .map(|a| a.value)
        })
    }

    /// The EAP packet carried in EAP-Message attributes: the concatenation of
    /// all of them in order (RFC 3579 §3.1). `None` when there is none.
    pub fn eap_message(&self) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for v in self.attrs(dict::EAP_MESSAGE) {
            out.get_or_insert_with(Vec::new).extend_from_slice(v);
        }
        out
    }
}

/// Iterator over the attributes of a checked packet. It cannot fail: the
/// attribute lengths were validated by [`Packet::new_checked`].
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    attrs: &'a [u8],
    pos: usize,
}

impl Attributes<'_> {
    /// Offset, from the start of the packet, of the attribute that the next
    /// call to `next` returns.
    pub fn offset(&self) -> usize {
        field::ATTRIBUTES + self.pos
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        if self.pos >= self.attrs.len() {
            return None;
        }
        match next_attribute(self.attrs, self.pos) {
            Ok((typ, value, next)) => {
                self.pos = next;
                Some(Attribute { typ, value })
            }
            Err(_) => {
                // Unreachable after new_checked; end the walk rather than loop.
                self.pos = self.attrs.len();
                None
            }
        }
    }
}

/// Iterator over the sub-attributes of one Vendor-Specific value belonging to
/// a given vendor (RFC 2865 §5.26). Yields nothing for another vendor, and
/// stops at the first malformed sub-attribute.
#[derive(Debug, Clone)]
pub struct VendorAttributes<'a> {
    data: &'a [u8],
}

impl<'a> VendorAttributes<'a> {
    /// Walks `vsa_value` (the value of a type-26 attribute) if its Vendor-Id
    /// equals `vendor`.
    pub fn new(vsa_value: &'a [u8], vendor: u32) -> Self {
        let data = match vsa_value.get(field::VSA_VENDOR_ID) {
            Some(&[a, b, c, d]) if u32::from_be_bytes([a, b, c, d]) == vendor => {
                vsa_value.get(field::VSA_DATA..).unwrap_or(&[])
            }
            _ => &[],
        };
        VendorAttributes { data }
    }
}

impl<'a> Iterator for VendorAttributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        let (&typ, rest) = self.data.split_first()?;
        let parsed = rest.split_first().and_then(|(&len, _)| {
            let len = usize::from(len);
            let value = self.data.get(2..len)?;
            let tail = self.data.get(len..)?;
            Some((value, tail))
        });
        match parsed {
            Some((value, tail)) => {
                self.data = tail;
                Some(Attribute { typ, value })
            }
            None => {
                self.data = &[];
                None
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 2865 §7.1, Access-Request of user "nemo" (secret "xyzzy5461").
    pub(crate) const RFC2865_7_1_REQUEST: [u8; 56] = [
        0x01, 0x00, 0x00, 0x38, 0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5,
        0xcb, 0x98, 0xf4, 0x22, 0x7a, 0x01, 0x06, 0x6e, 0x65, 0x6d, 0x6f, 0x02, 0x12, 0x0d, 0xbe,
        0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a, 0xee, 0x04,
        0x06, 0xc0, 0xa8, 0x01, 0x10, 0x05, 0x06, 0x00, 0x00, 0x00, 0x03,
    ];
    /// RFC 2865 §7.1, the Access-Accept answering it.
    pub(crate) const RFC2865_7_1_ACCEPT: [u8; 38] = [
        0x02, 0x00, 0x00, 0x26, 0x86, 0xfe, 0x22, 0x0e, 0x76, 0x24, 0xba, 0x2a, 0x10, 0x05, 0xf6,
        0xbf, 0x9b, 0x55, 0xe0, 0xb2, 0x06, 0x06, 0x00, 0x00, 0x00, 0x01, 0x0f, 0x06, 0x00, 0x00,
        0x00, 0x00, 0x0e, 0x06, 0xc0, 0xa8, 0x01, 0x03,
    ];
    /// RFC 2865 §7.2, CHAP Access-Request of user "flopsy".
    pub(crate) const RFC2865_7_2_REQUEST: [u8; 71] = [
        0x01, 0x01, 0x00, 0x47, 0x2a, 0xee, 0x86, 0xf0, 0x8d, 0x0d, 0x55, 0x96, 0x9c, 0xa5, 0x97,
        0x8e, 0x0d, 0x33, 0x67, 0xa2, 0x01, 0x08, 0x66, 0x6c, 0x6f, 0x70, 0x73, 0x79, 0x03, 0x13,
        0x16, 0xe9, 0x75, 0x57, 0xc3, 0x16, 0x18, 0x58, 0x95, 0xf2, 0x93, 0xff, 0x63, 0x44, 0x07,
        0x72, 0x75, 0x04, 0x06, 0xc0, 0xa8, 0x01, 0x10, 0x05, 0x06, 0x00, 0x00, 0x00, 0x14, 0x06,
        0x06, 0x00, 0x00, 0x00, 0x02, 0x07, 0x06, 0x00, 0x00, 0x00, 0x01,
    ];
    /// RFC 2865 §7.2, the Access-Accept answering it (Framed-IP-Address
    /// 255.255.255.254, Framed-Routing, Framed-Compression, Framed-MTU 1500).
    pub(crate) const RFC2865_7_2_ACCEPT: [u8; 56] = [
        0x02, 0x01, 0x00, 0x38, 0x15, 0xef, 0xbc, 0x7d, 0xab, 0x26, 0xcf, 0xa3, 0xdc, 0x34, 0xd9,
        0xc0, 0x3c, 0x86, 0x01, 0xa4, 0x06, 0x06, 0x00, 0x00, 0x00, 0x02, 0x07, 0x06, 0x00, 0x00,
        0x00, 0x01, 0x08, 0x06, 0xff, 0xff, 0xff, 0xfe, 0x0a, 0x06, 0x00, 0x00, 0x00, 0x02, 0x0d,
        0x06, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x06, 0x00, 0x00, 0x05, 0xdc,
    ];

    fn u32_of(v: &[u8]) -> u32 {
        u32::from_be_bytes(v.try_into().expect("4-octet integer"))
    }

    #[test]
    fn code_round_trip_all_values() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(Code::from(v)), v);
        }
        assert_eq!(Code::from(1), Code::AccessRequest);
        assert_eq!(Code::from(11), Code::AccessChallenge);
        assert_eq!(Code::from(45), Code::CoaNak);
        assert_eq!(Code::from(99), Code::Unknown(99));
    }

    #[test]
    fn rfc2865_7_1_request_parses() {
        let p = Packet::new_checked(&RFC2865_7_1_REQUEST[..]).unwrap();
        assert_eq!(p.code(), Code::AccessRequest);
        assert_eq!(p.identifier(), 0);
        assert_eq!(p.length(), 56);
        assert_eq!(p.authenticator()[..2], [0x0f, 0x40]);
        assert_eq!(p.attr(dict::USER_NAME), Some(&b"nemo"[..]));
        assert_eq!(p.attr(dict::USER_PASSWORD).map(<[u8]>::len), Some(16));
        assert_eq!(p.attr(dict::NAS_IP_ADDRESS), Some(&[192, 168, 1, 16][..]));
        assert_eq!(p.attr(dict::NAS_PORT).map(u32_of), Some(3));
        let types: Vec<u8> = p.attributes().map(|a| a.typ).collect();
        assert_eq!(types, [1, 2, 4, 5]);
        assert_eq!(p.eap_message(), None);
        assert_eq!(p.as_bytes(), &RFC2865_7_1_REQUEST[..]);
    }

    #[test]
    fn rfc2865_7_1_accept_parses() {
        let p = Packet::new_checked(&RFC2865_7_1_ACCEPT[..]).unwrap();
        assert_eq!(p.code(), Code::AccessAccept);
        assert_eq!(p.attr(dict::SERVICE_TYPE).map(u32_of), Some(1)); // Login
        assert_eq!(p.attr(15).map(u32_of), Some(0)); // Login-Service = Telnet
        assert_eq!(p.attr(14), Some(&[192, 168, 1, 3][..])); // Login-IP-Host
    }

    #[test]
    fn rfc2865_7_2_exchange_parses() {
        let req = Packet::new_checked(&RFC2865_7_2_REQUEST[..]).unwrap();
        assert_eq!(req.identifier(), 1);
        assert_eq!(req.attr(dict::USER_NAME), Some(&b"flopsy"[..]));
        // CHAP-Password: CHAP ident (0x16) then the 16-octet response.
        assert_eq!(req.attr(dict::CHAP_PASSWORD).map(<[u8]>::len), Some(17));
        assert_eq!(req.attr(dict::NAS_PORT).map(u32_of), Some(20));
        assert_eq!(req.attr(dict::SERVICE_TYPE).map(u32_of), Some(2));
        assert_eq!(req.attr(dict::FRAMED_PROTOCOL).map(u32_of), Some(1)); // PPP

        let acc = Packet::new_checked(&RFC2865_7_2_ACCEPT[..]).unwrap();
        assert_eq!(acc.code(), Code::AccessAccept);
        assert_eq!(acc.identifier(), 1);
        assert_eq!(
            acc.attr(dict::FRAMED_IP_ADDRESS),
            Some(&[255, 255, 255, 254][..])
        );
        assert_eq!(acc.attr(dict::FRAMED_MTU).map(u32_of), Some(1500));
        assert_eq!(acc.attributes().count(), 6);
    }

    #[test]
    fn padding_past_length_is_ignored() {
        let mut buf = RFC2865_7_1_ACCEPT.to_vec();
        buf.extend_from_slice(&[0xff, 0x00, 0x01]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.length(), 38);
        assert_eq!(p.as_bytes(), &RFC2865_7_1_ACCEPT[..]);
        assert_eq!(p.attributes().count(), 3);
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            Packet::new_checked(&RFC2865_7_1_ACCEPT[..19]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(Packet::new_checked(&[][..]).unwrap_err(), Error::Truncated);
        // Length larger than the datagram.
        assert_eq!(
            Packet::new_checked(&RFC2865_7_1_ACCEPT[..37]).unwrap_err(),
            Error::BadLength
        );
        // Length below 20.
        let mut b = RFC2865_7_1_ACCEPT;
        b[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&b[..]).unwrap_err(), Error::BadLength);
        // Length above 4096, even with a big enough buffer.
        let mut big = vec![0u8; 5000];
        big[0] = 1;
        big[2..4].copy_from_slice(&4097u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&big[..]).unwrap_err(), Error::BadLength);
        // Exactly 4096 with valid attributes is fine.
        let mut max = vec![0u8; 4096];
        max[0] = 1;
        max[2..4].copy_from_slice(&4096u16.to_be_bytes());
        let mut pos = 20;
        while pos < 4096 {
            let l = (4096 - pos).min(255);
            max[pos] = 18;
            max[pos + 1] = l as u8;
            pos += l;
        }
        let p = Packet::new_checked(&max[..]).unwrap();
        assert_eq!(p.attributes().count(), 16);
    }

    #[test]
    fn attribute_errors() {
        // Attribute length 0 and 1.
        for bad_len in [0u8, 1] {
            let mut b = RFC2865_7_1_ACCEPT;
            b[27] = bad_len; // second attribute (type 15 at offset 26)
            assert_eq!(
                Packet::new_checked(&b[..]).unwrap_err(),
                Error::AttributeTooShort {
                    offset: 26,
                    typ: 15
                }
            );
        }
        // Attribute running past Length (even if the buffer is longer).
        let mut b = RFC2865_7_1_ACCEPT.to_vec();
        b[33] = 7; // last attribute (type 14 at 32) claims one octet too many
        b.push(0);
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            Error::AttributeOverrun {
                offset: 32,
                typ: 14
            }
        );
        // A lone type octet at the end of the packet.
        let mut b = RFC2865_7_1_ACCEPT.to_vec();
        b.push(18);
        b[3] = 39;
        assert_eq!(
            Packet::new_checked(&b[..]).unwrap_err(),
            Error::AttributeOverrun {
                offset: 38,
                typ: 18
            }
        );
    }

    #[test]
    fn vendor_attributes() {
        // Two VSAs: one from another vendor, one Microsoft with two
        // sub-attributes, the second of which is the one searched.
        let mut b = vec![2u8, 7, 0, 0];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[26, 9, 0, 0, 0, 9, 16, 3, 0xAA]);
        b.extend_from_slice(&[26, 14, 0, 0, 1, 0x37, 7, 3, 0x01, 16, 5, 1, 2, 3]);
        // A malformed Microsoft VSA (sub-length 1) is skipped, not an error.
        b.extend_from_slice(&[26, 8, 0, 0, 1, 0x37, 17, 1]);
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            p.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_SEND_KEY),
            Some(&[1, 2, 3][..])
        );
        assert_eq!(
            p.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_ENCRYPTION_POLICY),
            Some(&[1][..])
        );
        assert_eq!(p.vendor_attr(9, 16), Some(&[0xAA][..]));
        assert_eq!(
            p.vendor_attr(dict::VENDOR_MICROSOFT, dict::MS_MPPE_RECV_KEY),
            None
        );
        assert_eq!(p.vendor_attr(10, 16), None);
        assert_eq!(p.count(dict::VENDOR_SPECIFIC), 3);
    }

    #[test]
    fn eap_message_is_joined_in_order() {
        let mut b = vec![1u8, 9, 0, 0];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[79, 4, 0xA, 0xB]);
        b.extend_from_slice(&[1, 3, b'x']);
        b.extend_from_slice(&[79, 3, 0xC]);
        b.extend_from_slice(&[79, 2]);
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        let p = Packet::new_checked(b).unwrap();
        assert_eq!(p.eap_message(), Some(vec![0xA, 0xB, 0xC]));
        assert_eq!(p.attrs(dict::EAP_MESSAGE).count(), 3);
    }
}
