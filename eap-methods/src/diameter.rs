//! Diameter AVPs as EAP-TTLS carries them (RFC 5281 §10, RFC 6733 §4.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           AVP Code                            |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V M r r r r r r|                  AVP Length                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                        Vendor-ID (opt)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Data ...
//! +-+-+-+-+-+-+-+-+
//! ```
//!
//! AVP Length counts the header (8 octets, 12 with Vendor-ID) and the
//! Data, not the padding that brings each AVP to a four-octet boundary
//! (RFC 5281 §10.2).
//!
//! [`parse`] checks every length before reading and returns views into the
//! input. It is strict where RFC 5281 is:
//!
//! - an AVP Length below the header it covers, or beyond the octets
//!   received, is an error;
//! - an AVP that is followed by another must be padded to four octets with
//!   zeros ("it must be padded with zeros", §10.2): 1 to 3 stray octets
//!   after an AVP, or non-zero padding, are errors;
//! - the *last* AVP may come without its padding. hostapd's EAP-TTLS
//!   server sends its MS-CHAP2-Success AVP (55 octets) unpadded, and
//!   hostapd's own parser accepts it (`eap_ttls_avp_parse` steps over
//!   padding that is not there at the end), so refusing would break
//!   TTLS-MSCHAPv2 against hostapd;
//! - at most [`MAX_AVPS`] AVPs per message.
//!
//! The reserved flag bits are ignored ("MUST be ignored by the receiver",
//! §10.1), and a Vendor-ID of zero is read as no Vendor-ID ("equivalent to
//! absence of the Vendor-ID field altogether", §10.1).

use core::fmt;

/// Length of an AVP header without Vendor-ID (RFC 6733 §4.1).
pub const HEADER_LEN: usize = 8;

/// Length of an AVP header with Vendor-ID (RFC 6733 §4.1).
pub const VENDOR_HEADER_LEN: usize = 12;

/// The largest AVP Length: three octets (RFC 6733 §4.1).
pub const MAX_AVP_LEN: usize = 0xff_ffff;

/// The most AVPs [`parse`] accepts in one message. An EAP-TTLS message
/// needs a handful (User-Name, MS-CHAP-Challenge, MS-CHAP2-Response; or an
/// EAP-Message); the bound keeps a hostile peer from making us build a
/// long list out of empty AVPs.
pub const MAX_AVPS: usize = 64;

/// The 'V' (Vendor-Specific) flag: Vendor-ID present (RFC 5281 §10.1).
pub const FLAG_VENDOR: u8 = 0x80;

/// The 'M' (Mandatory) flag: a receiver that does not understand the AVP
/// MUST fail the negotiation (RFC 5281 §10.1).
pub const FLAG_MANDATORY: u8 = 0x40;

/// AVP codes EAP-TTLS uses: RADIUS attribute numbers, which are Diameter
/// AVP codes below 256 (RFC 5281 §10.1), and Microsoft's vendor attributes
/// (RFC 2548) under its Vendor-ID.
pub mod codes {
    /// User-Name (RFC 2865 §5.1).
    pub const USER_NAME: u32 = 1;
    /// User-Password (RFC 2865 §5.2); in EAP-TTLS, PAP's password in the
    /// clear inside the tunnel (RFC 5281 §11.2.5).
    pub const USER_PASSWORD: u32 = 2;
    /// Reply-Message (RFC 2865 §5.18).
    pub const REPLY_MESSAGE: u32 = 18;
    /// EAP-Message (RFC 3579 §3.1).
    pub const EAP_MESSAGE: u32 = 79;
    /// Microsoft's SMI Network Management Private Enterprise Code, the
    /// Vendor-ID of the MS-CHAP attributes (RFC 2548 §2).
    pub const VENDOR_MICROSOFT: u32 = 311;
    /// MS-CHAP-Error (RFC 2548 §2.1.5), vendor [`VENDOR_MICROSOFT`].
    pub const MS_CHAP_ERROR: u32 = 2;
    /// MS-CHAP-Challenge (RFC 2548 §2.1.2), vendor [`VENDOR_MICROSOFT`].
    pub const MS_CHAP_CHALLENGE: u32 = 11;
    /// MS-CHAP2-Response (RFC 2548 §2.3.2), vendor [`VENDOR_MICROSOFT`].
    pub const MS_CHAP2_RESPONSE: u32 = 25;
    /// MS-CHAP2-Success (RFC 2548 §2.3.3), vendor [`VENDOR_MICROSOFT`].
    pub const MS_CHAP2_SUCCESS: u32 = 26;
}

/// One AVP, a view into the parsed octets.
///
/// `Debug` shows the Data's length, not its octets: a User-Password AVP
/// carries a password in the clear.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Avp<'a> {
    /// AVP Code.
    pub code: u32,
    /// Vendor-ID when the 'V' flag was set and the value is not zero.
    pub vendor: Option<u32>,
    /// The 'M' flag.
    pub mandatory: bool,
    /// The Data field, without padding.
    pub data: &'a [u8],
}

impl Avp<'_> {
    /// Whether this AVP is `code` in `vendor`'s namespace (`None`: the
    /// RADIUS/Diameter namespace).
    pub fn is(&self, vendor: Option<u32>, code: u32) -> bool {
        self.vendor == vendor && self.code == code
    }

    /// Appends this AVP, padded, to `out` (see [`emit`]).
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit(out, self.code, self.vendor, self.mandatory, self.data);
    }
}

impl fmt::Debug for Avp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Avp")
            .field("code", &self.code)
            .field("vendor", &self.vendor)
            .field("mandatory", &self.mandatory)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Why octets are not a sequence of AVPs (or an AVP cannot be written).
/// Offsets count from the start of the parsed data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiameterError {
    /// Fewer octets remain than an AVP header needs.
    Truncated {
        /// Where the AVP starts.
        offset: usize,
        /// Octets remaining there.
        available: usize,
    },
    /// The AVP Length is smaller than the header it must cover (8, or 12
    /// with the 'V' flag).
    LengthTooShort {
        /// Where the AVP starts.
        offset: usize,
        /// The AVP Length field.
        length: usize,
    },
    /// The AVP Length claims more octets than remain.
    LengthExceedsBuffer {
        /// Where the AVP starts.
        offset: usize,
        /// The AVP Length field.
        length: usize,
        /// Octets remaining from `offset`.
        available: usize,
    },
    /// An AVP is followed by fewer octets than its padding, but by some
    /// (RFC 5281 §10.2: each AVP begins on a four-octet boundary).
    MissingPadding {
        /// Where the padding should start.
        offset: usize,
    },
    /// Padding octets that are not zero (RFC 5281 §10.2).
    NonZeroPadding {
        /// Where the padding starts.
        offset: usize,
    },
    /// More AVPs than [`MAX_AVPS`].
    TooManyAvps,
    /// Data too long for the three-octet AVP Length.
    DataTooLong {
        /// Octets of Data given.
        len: usize,
    },
}

impl fmt::Display for DiameterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiameterError::Truncated { offset, available } => write!(
                f,
                "AVP at offset {offset}: {available} octets left, shorter than an AVP header"
            ),
            DiameterError::LengthTooShort { offset, length } => write!(
                f,
                "AVP at offset {offset}: AVP Length {length} is shorter than its header"
            ),
            DiameterError::LengthExceedsBuffer {
                offset,
                length,
                available,
            } => write!(
                f,
                "AVP at offset {offset}: AVP Length {length} exceeds the {available} octets left"
            ),
            DiameterError::MissingPadding { offset } => {
                write!(f, "AVP padding at offset {offset} is cut short")
            }
            DiameterError::NonZeroPadding { offset } => {
                write!(f, "AVP padding at offset {offset} is not zero")
            }
            DiameterError::TooManyAvps => write!(f, "more than {MAX_AVPS} AVPs in one message"),
            DiameterError::DataTooLong { len } => {
                write!(f, "{len} octets of AVP data do not fit the AVP Length")
            }
        }
    }
}

impl std::error::Error for DiameterError {}

/// Octets of zero padding after an AVP of `length` octets.
fn padding(length: usize) -> usize {
    (4 - length % 4) % 4
}

/// Parses a sequence of zero or more AVPs (RFC 5281 §10.2), with the
/// checks listed in the module documentation. Never panics.
pub fn parse(data: &[u8]) -> Result<Vec<Avp<'_>>, DiameterError> {
    let mut avps = Vec::new();
    let mut offset = 0;
    while let Some(rest) = data.get(offset..).filter(|rest| !rest.is_empty()) {
        if avps.len() == MAX_AVPS {
            return Err(DiameterError::TooManyAvps);
        }
        let Some((header, _)) = rest.split_first_chunk::<HEADER_LEN>() else {
            return Err(DiameterError::Truncated {
                offset,
                available: rest.len(),
            });
        };
        let [c0, c1, c2, c3, flags, l0, l1, l2] = *header;
        let code = u32::from_be_bytes([c0, c1, c2, c3]);
        let length = (usize::from(l0) << 16) | (usize::from(l1) << 8) | usize::from(l2);
        let vendor_flag = flags & FLAG_VENDOR != 0;
        let header_len = if vendor_flag {
            VENDOR_HEADER_LEN
        } else {
            HEADER_LEN
        };
        if length < header_len {
            return Err(DiameterError::LengthTooShort { offset, length });
        }
        let (Some(avp), Some(after)) = (rest.get(..length), rest.get(length..)) else {
            return Err(DiameterError::LengthExceedsBuffer {
                offset,
                length,
                available: rest.len(),
            });
        };
        let vendor = match avp.get(HEADER_LEN..VENDOR_HEADER_LEN) {
            Some(&[v0, v1, v2, v3]) if vendor_flag => {
                Some(u32::from_be_bytes([v0, v1, v2, v3])).filter(|&v| v != 0)
            }
            _ => None,
        };
        avps.push(Avp {
            code,
            vendor,
            mandatory: flags & FLAG_MANDATORY != 0,
            data: avp.get(header_len..).unwrap_or_default(),
        });

        let pad = padding(length);
        if after.is_empty() {
            // The last AVP, padded or not.
            break;
        }
        let Some(pad_octets) = after.get(..pad) else {
            return Err(DiameterError::MissingPadding {
                offset: offset + length,
            });
        };
        if pad_octets.iter().any(|&b| b != 0) {
            return Err(DiameterError::NonZeroPadding {
                offset: offset + length,
            });
        }
        offset += length + pad;
    }
    Ok(avps)
}

/// Appends one AVP and its zero padding to `out`, or returns
/// [`DiameterError::DataTooLong`] (writing nothing) when the AVP would
/// exceed [`MAX_AVP_LEN`]. `vendor` sets the 'V' flag and the Vendor-ID;
/// `Some(0)` is written as no Vendor-ID, which it is equivalent to (RFC
/// 5281 §10.1). The reserved flag bits are zero.
pub fn try_emit(
    out: &mut Vec<u8>,
    code: u32,
    vendor: Option<u32>,
    mandatory: bool,
    data: &[u8],
) -> Result<(), DiameterError> {
    let vendor = vendor.filter(|&v| v != 0);
    let header_len = if vendor.is_some() {
        VENDOR_HEADER_LEN
    } else {
        HEADER_LEN
    };
    let length = header_len + data.len();
    if length > MAX_AVP_LEN {
        return Err(DiameterError::DataTooLong { len: data.len() });
    }
    let mut flags = 0;
    if vendor.is_some() {
        flags |= FLAG_VENDOR;
    }
    if mandatory {
        flags |= FLAG_MANDATORY;
    }
    out.reserve(length + 3);
    out.extend_from_slice(&code.to_be_bytes());
    // `length` fits three octets: the top octet of the u32 is zero.
    let [_, l0, l1, l2] = (length as u32).to_be_bytes();
    out.extend_from_slice(&[flags, l0, l1, l2]);
    if let Some(v) = vendor {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(data);
    out.resize(out.len() + padding(length), 0);
    Ok(())
}

/// Appends one AVP and its zero padding to `out` (see [`try_emit`]).
///
/// Data longer than [`MAX_AVP_LEN`] minus the header (16 MiB) cannot be
/// an AVP and is not written; nothing EAP-TTLS sends comes near it (an
/// EAP-Message is at most 65535 octets). Use [`try_emit`] to learn of it.
pub fn emit(out: &mut Vec<u8>, code: u32, vendor: Option<u32>, mandatory: bool, data: &[u8]) {
    let _ = try_emit(out, code, vendor, mandatory, data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use codes::*;

    fn avp(code: u32, vendor: Option<u32>, mandatory: bool, data: &[u8]) -> Avp<'_> {
        Avp {
            code,
            vendor,
            mandatory,
            data,
        }
    }

    /// An EAP-Message AVP carrying an EAP-Response/Identity "user", laid
    /// out by hand from the RFC 5281 §10.1 figure: Code 79, flags M,
    /// Length 8 + 9 = 17, Data, three octets of padding.
    #[test]
    fn eap_message_avp_by_the_rfc_figure() {
        let eap = [0x02, 0x05, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r'];
        let wire = [
            0x00, 0x00, 0x00, 0x4f, // AVP Code 79
            0x40, 0x00, 0x00, 0x11, // flags M, AVP Length 17
            0x02, 0x05, 0x00, 0x09, 0x01, b'u', b's', b'e', b'r', // Data
            0x00, 0x00, 0x00, // padding
        ];
        let mut out = Vec::new();
        emit(&mut out, EAP_MESSAGE, None, true, &eap);
        assert_eq!(out, wire);
        assert_eq!(parse(&wire).unwrap(), [avp(EAP_MESSAGE, None, true, &eap)]);
    }

    /// TTLS-MSCHAPv2 as the client sends it (RFC 5281 §11.2.4): User-Name,
    /// MS-CHAP-Challenge and MS-CHAP2-Response, the last two Microsoft
    /// vendor AVPs with V and M set.
    #[test]
    fn ttls_mschapv2_request_with_vendor_avps() {
        let challenge = [0xaa; 16];
        let mut response = vec![0x07, 0x00]; // Ident, Flags
        response.extend_from_slice(&[0xbb; 48]); // Peer-Challenge, Reserved, Response
        let mut wire = Vec::new();
        emit(&mut wire, USER_NAME, None, true, b"alice");
        emit(
            &mut wire,
            MS_CHAP_CHALLENGE,
            Some(VENDOR_MICROSOFT),
            true,
            &challenge,
        );
        emit(
            &mut wire,
            MS_CHAP2_RESPONSE,
            Some(VENDOR_MICROSOFT),
            true,
            &response,
        );
        // User-Name: 8 + 5 = 13, padded to 16.
        assert_eq!(&wire[..16], b"\0\0\0\x01\x40\0\0\x0dalice\0\0\0");
        // MS-CHAP-Challenge: 12 + 16 = 28, V and M, Vendor-ID 311.
        assert_eq!(
            &wire[16..28],
            &[0, 0, 0, 11, 0xc0, 0, 0, 28, 0, 0, 0x01, 0x37]
        );
        assert_eq!(wire.len(), 16 + 28 + 64);
        let avps = parse(&wire).unwrap();
        assert_eq!(
            avps,
            [
                avp(USER_NAME, None, true, b"alice"),
                avp(MS_CHAP_CHALLENGE, Some(VENDOR_MICROSOFT), true, &challenge),
                avp(MS_CHAP2_RESPONSE, Some(VENDOR_MICROSOFT), true, &response),
            ]
        );
        assert!(avps[1].is(Some(VENDOR_MICROSOFT), MS_CHAP_CHALLENGE));
        assert!(!avps[1].is(None, MS_CHAP_CHALLENGE));
    }

    /// The MS-CHAP2-Success AVP in the layout hostapd's TTLS server sends
    /// (`eap_ttls_build_phase2_mschapv2`): Ident and the 42-octet `S=`
    /// string (here RFC 2759 §9.2's), 55 octets with no padding after it.
    #[test]
    fn unpadded_last_avp_is_accepted() {
        let mut data = vec![0x07];
        data.extend_from_slice(b"S=407A5589115FD0D6209F510FE9C04566932CDA56");
        let mut wire = vec![0, 0, 0, 26, 0xc0, 0, 0, 55, 0, 0, 0x01, 0x37];
        wire.extend_from_slice(&data);
        assert_eq!(wire.len(), 55);
        assert_eq!(
            parse(&wire).unwrap(),
            [avp(MS_CHAP2_SUCCESS, Some(VENDOR_MICROSOFT), true, &data)]
        );
        // The same AVP padded, then another one: fine.
        let mut padded = wire.clone();
        padded.push(0);
        emit(&mut padded, REPLY_MESSAGE, None, false, b"hi");
        assert_eq!(parse(&padded).unwrap().len(), 2);
        // Unpadded but followed by another AVP: the padding is missing.
        let mut glued = wire.clone();
        emit(&mut glued, REPLY_MESSAGE, None, false, b"hi");
        assert!(parse(&glued).is_err());
    }

    #[test]
    fn padding_rules() {
        // 1 to 3 octets of padding, each length.
        for n in 0..=8 {
            let data = vec![0x5a; n];
            let mut wire = Vec::new();
            emit(&mut wire, 1000, None, false, &data);
            assert_eq!(wire.len() % 4, 0);
            assert_eq!(wire.len(), (8 + n).div_ceil(4) * 4);
            emit(&mut wire, 1001, Some(10415), false, &data);
            let avps = parse(&wire).unwrap();
            assert_eq!(avps[0], avp(1000, None, false, &data));
            assert_eq!(avps[1], avp(1001, Some(10415), false, &data));
        }
        // 13 octets (3 of padding) then a partial padding of 1 octet.
        let mut wire = Vec::new();
        emit(&mut wire, USER_NAME, None, true, b"alice");
        assert_eq!(
            parse(&wire[..14]),
            Err(DiameterError::MissingPadding { offset: 13 })
        );
        // Non-zero padding between AVPs.
        let mut bad = wire.clone();
        bad[14] = 1;
        emit(&mut bad, USER_NAME, None, true, b"bob");
        assert_eq!(
            parse(&bad),
            Err(DiameterError::NonZeroPadding { offset: 13 })
        );
        // Non-zero padding at the end is an error too.
        let mut bad = wire.clone();
        bad[15] = 0xff;
        assert_eq!(
            parse(&bad),
            Err(DiameterError::NonZeroPadding { offset: 13 })
        );
    }

    #[test]
    fn malformed_lengths() {
        assert_eq!(parse(&[]), Ok(vec![]));
        for n in 1..8 {
            assert_eq!(
                parse(&[0u8; 8][..n]),
                Err(DiameterError::Truncated {
                    offset: 0,
                    available: n
                })
            );
        }
        // AVP Length below the header, with and without 'V'.
        for length in 0..8u8 {
            assert_eq!(
                parse(&[0, 0, 0, 1, 0, 0, 0, length]),
                Err(DiameterError::LengthTooShort {
                    offset: 0,
                    length: usize::from(length)
                })
            );
        }
        for length in 8..12u8 {
            assert_eq!(
                parse(&[0, 0, 0, 1, 0x80, 0, 0, length, 0, 0, 0, 9]),
                Err(DiameterError::LengthTooShort {
                    offset: 0,
                    length: usize::from(length)
                })
            );
        }
        // AVP Length beyond the buffer, also in the second AVP.
        assert_eq!(
            parse(&[0, 0, 0, 1, 0, 0, 0, 9]),
            Err(DiameterError::LengthExceedsBuffer {
                offset: 0,
                length: 9,
                available: 8
            })
        );
        assert_eq!(
            parse(&[0, 0, 0, 1, 0, 0xff, 0xff, 0xff]),
            Err(DiameterError::LengthExceedsBuffer {
                offset: 0,
                length: MAX_AVP_LEN,
                available: 8
            })
        );
        let mut wire = Vec::new();
        emit(&mut wire, USER_NAME, None, true, b"abcd");
        wire.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 20, 1, 2]);
        assert_eq!(
            parse(&wire),
            Err(DiameterError::LengthExceedsBuffer {
                offset: 12,
                length: 20,
                available: 10
            })
        );
        // A second header cut short.
        let mut wire = Vec::new();
        emit(&mut wire, USER_NAME, None, true, b"abcd");
        wire.extend_from_slice(&[0, 0, 0, 2]);
        assert_eq!(
            parse(&wire),
            Err(DiameterError::Truncated {
                offset: 12,
                available: 4
            })
        );
    }

    #[test]
    fn flags_and_vendor_zero() {
        // Reserved flag bits are ignored; the header without V is 8.
        let wire = [0, 0, 0, 1, 0x3f, 0, 0, 9, b'x', 0, 0, 0];
        assert_eq!(parse(&wire).unwrap(), [avp(1, None, false, b"x")]);
        // V with Vendor-ID 0 is no vendor; emitted without V.
        let wire = [0, 0, 0, 1, 0xc0, 0, 0, 13, 0, 0, 0, 0, b'x', 0, 0, 0];
        let avps = parse(&wire).unwrap();
        assert_eq!(avps, [avp(1, None, true, b"x")]);
        let mut out = Vec::new();
        emit(&mut out, 1, Some(0), true, b"x");
        assert_eq!(out, [0, 0, 0, 1, 0x40, 0, 0, 9, b'x', 0, 0, 0]);
        // An empty Data field.
        let mut out = Vec::new();
        emit(&mut out, 7, Some(311), false, b"");
        assert_eq!(out, [0, 0, 0, 7, 0x80, 0, 0, 12, 0, 0, 1, 0x37]);
        assert_eq!(parse(&out).unwrap(), [avp(7, Some(311), false, b"")]);
    }

    #[test]
    fn avp_count_is_bounded() {
        let mut wire = Vec::new();
        for _ in 0..MAX_AVPS {
            emit(&mut wire, 1, None, false, b"");
        }
        assert_eq!(parse(&wire).unwrap().len(), MAX_AVPS);
        emit(&mut wire, 1, None, false, b"");
        assert_eq!(parse(&wire), Err(DiameterError::TooManyAvps));
    }

    #[test]
    fn emit_refuses_data_beyond_the_length_field() {
        let data = vec![0u8; MAX_AVP_LEN - HEADER_LEN + 1];
        let mut out = vec![1, 2, 3];
        assert_eq!(
            try_emit(&mut out, 1, None, false, &data),
            Err(DiameterError::DataTooLong { len: data.len() })
        );
        emit(&mut out, 1, None, false, &data);
        assert_eq!(out, [1, 2, 3]);
        // The largest Data that fits.
        let data = &data[..MAX_AVP_LEN - HEADER_LEN];
        let mut out = Vec::new();
        try_emit(&mut out, 1, None, false, data).unwrap();
        assert_eq!(&out[5..8], &[0xff, 0xff, 0xff]);
        assert_eq!(parse(&out).unwrap(), [avp(1, None, false, data)]);
    }

    #[test]
    fn debug_hides_the_data() {
        let a = avp(USER_PASSWORD, None, true, b"hunter2");
        let shown = format!("{a:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("data_len: 7"));
        assert_eq!(
            DiameterError::TooManyAvps.to_string(),
            "more than 64 AVPs in one message"
        );
    }
}
