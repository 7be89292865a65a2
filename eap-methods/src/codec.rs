//! EAP packet format (RFC 3748 §4).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Type      |  Type-Data ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Contract: [`Packet::new_checked`] validates the Length field against the
//! buffer once (at least 4, at most the buffer length, and at least 5 for a
//! Request or Response, which carry a Type). After it returned `Ok`, no
//! accessor of [`Packet`] can panic. Octets beyond Length are padding and are
//! ignored (RFC 3748 §4.1).

use core::fmt;

/// Field offsets of the EAP header (RFC 3748 §4).
mod field {
    use core::ops::{Range, RangeFrom};
    pub const CODE: usize = 0;
    pub const IDENTIFIER: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const TYPE: usize = 4;
    pub const TYPE_DATA: RangeFrom<usize> = 5..;
}

/// Length of the Code, Identifier and Length fields.
pub const HEADER_LEN: usize = 4;

/// EAP Code (RFC 3748 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 1: Request, sent by the authenticator.
    Request,
    /// 2: Response, sent by the peer.
    Response,
    /// 3: Success (RFC 3748 §4.2).
    Success,
    /// 4: Failure (RFC 3748 §4.2).
    Failure,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(v: u8) -> Self {
        match v {
            1 => Code::Request,
            2 => Code::Response,
            3 => Code::Success,
            4 => Code::Failure,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        match c {
            Code::Request => 1,
            Code::Response => 2,
            Code::Success => 3,
            Code::Failure => 4,
            Code::Unknown(v) => v,
        }
    }
}

impl Code {
    /// Request and Response carry a Type field; Success and Failure do not
    /// (RFC 3748 §4.1, §4.2).
    pub fn has_type(self) -> bool {
        matches!(self, Code::Request | Code::Response)
    }
}

/// EAP Type (RFC 3748 §5, IANA "EAP Method Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EapType {
    /// 1: Identity (RFC 3748 §5.1).
    Identity,
    /// 2: Notification (RFC 3748 §5.2).
    Notification,
    /// 3: Legacy Nak, Response only (RFC 3748 §5.3.1).
    Nak,
    /// 4: MD5-Challenge (RFC 3748 §5.4).
    Md5Challenge,
    /// 13: EAP-TLS (RFC 5216, RFC 9190).
    Tls,
    /// 21: EAP-TTLS (RFC 5281).
    Ttls,
    /// 25: PEAP.
    Peap,
    /// 26: EAP-MSCHAPv2.
    MsChapV2,
    /// 254: Expanded Type (RFC 3748 §5.7).
    Expanded,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl From<u8> for EapType {
    fn from(v: u8) -> Self {
        match v {
            1 => EapType::Identity,
            2 => EapType::Notification,
            3 => EapType::Nak,
            4 => EapType::Md5Challenge,
            13 => EapType::Tls,
            21 => EapType::Ttls,
            25 => EapType::Peap,
            26 => EapType::MsChapV2,
            254 => EapType::Expanded,
            other => EapType::Unknown(other),
        }
    }
}

impl From<EapType> for u8 {
    fn from(t: EapType) -> u8 {
        match t {
            EapType::Identity => 1,
            EapType::Notification => 2,
            EapType::Nak => 3,
            EapType::Md5Challenge => 4,
            EapType::Tls => 13,
            EapType::Ttls => 21,
            EapType::Peap => 25,
            EapType::MsChapV2 => 26,
            EapType::Expanded => 254,
            EapType::Unknown(v) => v,
        }
    }
}

impl fmt::Display for EapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EapType::Identity => f.write_str("Identity"),
            EapType::Notification => f.write_str("Notification"),
            EapType::Nak => f.write_str("Nak"),
            EapType::Md5Challenge => f.write_str("MD5-Challenge"),
            EapType::Tls => f.write_str("EAP-TLS"),
            EapType::Ttls => f.write_str("EAP-TTLS"),
            EapType::Peap => f.write_str("PEAP"),
            EapType::MsChapV2 => f.write_str("EAP-MSCHAPv2"),
            EapType::Expanded => f.write_str("Expanded"),
            EapType::Unknown(v) => write!(f, "type {v}"),
        }
    }
}

/// Why an octet string is not an EAP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Fewer octets than the fixed header needs.
    Truncated,
    /// The Length field is smaller than the header it covers.
    LengthTooShort {
        /// Value of the Length field.
        length: u16,
    },
    /// The Length field claims more octets than were received.
    LengthExceedsBuffer {
        /// Value of the Length field.
        length: u16,
        /// Octets received.
        buffer: usize,
    },
    /// A Request or Response without the Type octet.
    MissingType,
    /// A packet to emit would not fit the 16-bit Length field.
    TooLong,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("EAP packet shorter than its 4-octet header"),
            Error::LengthTooShort { length } => {
                write!(f, "EAP Length {length} is shorter than the header")
            }
            Error::LengthExceedsBuffer { length, buffer } => {
                write!(
                    f,
                    "EAP Length {length} exceeds the {buffer} octets received"
                )
            }
            Error::MissingType => f.write_str("EAP Request/Response without a Type"),
            Error::TooLong => f.write_str("EAP packet longer than 65535 octets"),
        }
    }
}

impl std::error::Error for Error {}

/// A read-only (or read-write) view of an EAP packet.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checks. Accessors may panic on a short buffer;
    /// use [`Packet::new_checked`] for untrusted input.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer and validates the header and Length (RFC 3748 §4.1:
    /// a packet whose Length exceeds the received octets is silently
    /// discarded; octets beyond Length are padding).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Packet { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<(), Error> {
        let data = self.buffer.as_ref();
        let Some(len_bytes) = data.get(field::LENGTH) else {
            return Err(Error::Truncated);
        };
        let length = u16::from_be_bytes([len_bytes[0], len_bytes[1]]);
        if usize::from(length) < HEADER_LEN {
            return Err(Error::LengthTooShort { length });
        }
        if usize::from(length) > data.len() {
            return Err(Error::LengthExceedsBuffer {
                length,
                buffer: data.len(),
            });
        }
        if Code::from(data[field::CODE]).has_type() && usize::from(length) <= field::TYPE {
            return Err(Error::MissingType);
        }
        Ok(())
    }

    /// Consumes the view and returns the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The Code field.
    pub fn code(&self) -> Code {
        Code::from(self.buffer.as_ref()[field::CODE])
    }

    /// The Identifier field.
    pub fn identifier(&self) -> u8 {
        self.buffer.as_ref()[field::IDENTIFIER]
    }

    /// The Length field.
    pub fn length(&self) -> u16 {
        let d = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([d[0], d[1]])
    }

    /// The octets covered by Length.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..usize::from(self.length())]
    }

    /// The Type field, for a Request or Response; `None` otherwise.
    pub fn eap_type(&self) -> Option<EapType> {
        if self.code().has_type() {
            self.as_bytes().get(field::TYPE).map(|&t| EapType::from(t))
        } else {
            None
        }
    }

    /// Type-Data (the octets after Type up to Length). Empty for Success,
    /// Failure and codes without a Type.
    pub fn type_data(&self) -> &[u8] {
        if self.code().has_type() {
            self.as_bytes().get(field::TYPE_DATA).unwrap_or(&[])
        } else {
            &[]
        }
    }
}

/// An owned, parsed EAP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    /// Code.
    pub code: Code,
    /// Identifier.
    pub identifier: u8,
    /// Type, present for Request and Response.
    pub eap_type: Option<EapType>,
    /// Type-Data for Request and Response; for unknown codes, the octets
    /// after the header.
    pub data: Vec<u8>,
}

impl Repr {
    /// Parses a checked packet.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        packet.check_len()?;
        let code = packet.code();
        let data = match code {
            Code::Request | Code::Response => packet.type_data().to_vec(),
            Code::Success | Code::Failure => Vec::new(),
            Code::Unknown(_) => packet.as_bytes().get(HEADER_LEN..).unwrap_or(&[]).to_vec(),
        };
        Ok(Repr {
            code,
            identifier: packet.identifier(),
            eap_type: packet.eap_type(),
            data,
        })
    }

    /// Octets [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self.code {
            Code::Request | Code::Response => HEADER_LEN + 1 + self.data.len(),
            Code::Success | Code::Failure => HEADER_LEN,
            Code::Unknown(_) => HEADER_LEN + self.data.len(),
        }
    }

    /// Writes the packet into `buf`, which must be exactly
    /// [`Repr::buffer_len`] long.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        let len = self.buffer_len();
        let length = u16::try_from(len).map_err(|_| Error::TooLong)?;
        if buf.len() != len {
            return Err(Error::Truncated);
        }
        buf[field::CODE] = self.code.into();
        buf[field::IDENTIFIER] = self.identifier;
        buf[field::LENGTH].copy_from_slice(&length.to_be_bytes());
        match self.code {
            Code::Request | Code::Response => {
                let t = self.eap_type.ok_or(Error::MissingType)?;
                buf[field::TYPE] = t.into();
                buf[field::TYPE_DATA].copy_from_slice(&self.data);
            }
            Code::Success | Code::Failure => {}
            Code::Unknown(_) => buf[HEADER_LEN..].copy_from_slice(&self.data),
        }
        Ok(())
    }

    /// Emits into a fresh vector.
    pub fn to_vec(&self) -> Result<Vec<u8>, Error> {
        let mut v = vec![0u8; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

/// Builds a Request or Response with a Type (RFC 3748 §4.1).
pub(crate) fn build(code: Code, identifier: u8, eap_type: EapType, data: &[u8]) -> Vec<u8> {
    // Callers bound `data` well below 65535 (fragment sizes, identities);
    // saturate instead of panicking if one ever does not.
    let len = HEADER_LEN + 1 + data.len();
    let length = u16::try_from(len).unwrap_or(u16::MAX);
    let mut v = Vec::with_capacity(len);
    v.push(code.into());
    v.push(identifier);
    v.extend_from_slice(&length.to_be_bytes());
    v.push(eap_type.into());
    v.extend_from_slice(data);
    v
}

/// Builds a Success or Failure packet (RFC 3748 §4.2).
pub(crate) fn build_result(code: Code, identifier: u8) -> Vec<u8> {
    vec![code.into(), identifier, 0, HEADER_LEN as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EAP-Response/Identity "user", identifier 1.
    static RESPONSE_IDENTITY_USER: [u8; 9] = [0x02, 0x01, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r'];
    /// EAP-Request/EAP-TLS Start (flags 0x20), identifier 2 (RFC 5216 §3.1).
    static REQUEST_TLS_START: [u8; 6] = [0x01, 0x02, 0x00, 0x06, 0x0d, 0x20];
    /// EAP-Success, identifier 7.
    static SUCCESS: [u8; 4] = [0x03, 0x07, 0x00, 0x04];

    #[test]
    fn response_identity_round_trip() {
        let p = Packet::new_checked(&RESPONSE_IDENTITY_USER[..]).unwrap();
        assert_eq!(p.code(), Code::Response);
        assert_eq!(p.identifier(), 1);
        assert_eq!(p.length(), 9);
        assert_eq!(p.eap_type(), Some(EapType::Identity));
        assert_eq!(p.type_data(), b"user");
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.to_vec().unwrap(), RESPONSE_IDENTITY_USER);
        assert_eq!(
            build(Code::Response, 1, EapType::Identity, b"user"),
            RESPONSE_IDENTITY_USER
        );
    }

    #[test]
    fn tls_start_round_trip() {
        let p = Packet::new_checked(&REQUEST_TLS_START[..]).unwrap();
        assert_eq!(p.code(), Code::Request);
        assert_eq!(p.eap_type(), Some(EapType::Tls));
        assert_eq!(p.type_data(), &[0x20]);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.buffer_len(), 6);
        assert_eq!(r.to_vec().unwrap(), REQUEST_TLS_START);
    }

    #[test]
    fn success_round_trip() {
        let p = Packet::new_checked(&SUCCESS[..]).unwrap();
        assert_eq!(p.code(), Code::Success);
        assert_eq!(p.eap_type(), None);
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.to_vec().unwrap(), SUCCESS);
        assert_eq!(build_result(Code::Success, 7), SUCCESS);
    }

    #[test]
    fn padding_beyond_length_ignored() {
        let mut padded = RESPONSE_IDENTITY_USER.to_vec();
        padded.extend_from_slice(&[0xff, 0xff, 0xff]);
        let p = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(p.type_data(), b"user");
        assert_eq!(p.as_bytes(), RESPONSE_IDENTITY_USER);
    }

    #[test]
    fn truncated_and_bad_lengths_rejected() {
        assert_eq!(
            Packet::new_checked(&[0x02, 0x01, 0x00][..]).unwrap_err(),
            Error::Truncated
        );
        // Length larger than the buffer.
        assert_eq!(
            Packet::new_checked(&RESPONSE_IDENTITY_USER[..8]).unwrap_err(),
            Error::LengthExceedsBuffer {
                length: 9,
                buffer: 8
            }
        );
        // Length smaller than the header.
        assert_eq!(
            Packet::new_checked(&[0x03, 0x01, 0x00, 0x03][..]).unwrap_err(),
            Error::LengthTooShort { length: 3 }
        );
        // Response without a Type octet.
        assert_eq!(
            Packet::new_checked(&[0x02, 0x01, 0x00, 0x04, 0x01][..]).unwrap_err(),
            Error::MissingType
        );
    }

    #[test]
    fn unknown_codes_and_types_kept() {
        let bytes = [0x09, 0x05, 0x00, 0x06, 0xaa, 0xbb];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.code(), Code::Unknown(9));
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.data, [0xaa, 0xbb]);
        assert_eq!(r.to_vec().unwrap(), bytes);
        let bytes = [0x01, 0x05, 0x00, 0x05, 0x63];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.eap_type(), Some(EapType::Unknown(0x63)));
        for v in 0..=255u8 {
            assert_eq!(u8::from(EapType::from(v)), v);
            assert_eq!(u8::from(Code::from(v)), v);
        }
    }
}
