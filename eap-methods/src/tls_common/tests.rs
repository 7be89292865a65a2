//! Framing, fragmentation and hello parsing of tls_common.

use super::*;

/// EAP-TLS Type-Data: L+M, TLS Message Length 3000, two data octets.
static FIRST_FRAGMENT: [u8; 7] = [0xc0, 0x00, 0x00, 0x0b, 0xb8, 0x16, 0x03];

#[test]
fn frame_round_trip() {
    let p = TlsPacket::new_checked(&FIRST_FRAGMENT[..]).unwrap();
    assert!(p.more_fragments());
    assert!(!p.is_start());
    assert_eq!(p.message_length(), Some(3000));
    assert_eq!(p.tls_data(), &[0x16, 0x03]);
    let r = TlsRepr::parse(&p);
    assert_eq!(r.to_vec(), FIRST_FRAGMENT);
    let start = TlsPacket::new_checked(&[0x20][..]).unwrap();
    assert!(start.is_start() && !start.is_ack());
    assert!(TlsPacket::new_checked(&[0x00][..]).unwrap().is_ack());
    assert_eq!(
        TlsPacket::new_checked(&[][..]).unwrap_err(),
        TlsFrameError::MissingFlags
    );
    assert_eq!(
        TlsPacket::new_checked(&[0x80, 0, 0][..]).unwrap_err(),
        TlsFrameError::TruncatedLength
    );
}

#[test]
fn fragment_and_reassemble() {
    let msg: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    let mut frag = Fragmenter::new(msg.clone(), 300);
    let mut r = Reassembler::new(DEFAULT_MAX_TLS_MESSAGE_LEN);
    let mut frames = Vec::new();
    while let Some(f) = frag.next_fragment() {
        frames.push(f.to_vec());
    }
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0][0], flags::LENGTH_INCLUDED | flags::MORE_FRAGMENTS);
    assert_eq!(&frames[0][1..5], &1000u32.to_be_bytes());
    assert_eq!(frames[1][0], flags::MORE_FRAGMENTS);
    assert_eq!(frames[3][0], 0);
    assert_eq!(frames[3].len(), 1 + 100);
    let mut out = None;
    for f in &frames {
        out = r.push(&TlsPacket::new_checked(&f[..]).unwrap()).unwrap();
    }
    assert_eq!(out.unwrap(), msg);
    // Type-Data written straight from the flight: the same octets.
    let mut direct = Fragmenter::new(msg.clone(), 300);
    let mut written = Vec::new();
    while let Some(td) = direct.next_type_data() {
        assert_eq!(td.capacity(), td.len(), "one exact allocation");
        written.push(td);
    }
    assert_eq!(written, frames);
    assert!(direct.next_type_data().is_none() && !direct.has_more());
    // A flight that fits is sent without flags.
    let mut small = Fragmenter::new(vec![1, 2, 3], 300);
    assert_eq!(small.next_fragment().unwrap().to_vec(), [0, 1, 2, 3]);
    assert!(small.next_fragment().is_none());
}

#[test]
fn reassembly_bounds() {
    let mut r = Reassembler::new(DEFAULT_MAX_TLS_MESSAGE_LEN);
    let too_long = [0xc0, 0x00, 0x01, 0x00, 0x01, 0x16];
    assert_eq!(
        r.push(&TlsPacket::new_checked(&too_long[..]).unwrap()),
        Err(Reason::TlsMessageTooLong {
            declared_or_actual: 65537
        })
    );
    // Actual data beyond the limit, without a declared length.
    let mut r = Reassembler::new(8);
    let frag = [0x40, 1, 2, 3, 4, 5];
    assert_eq!(
        r.push(&TlsPacket::new_checked(&frag[..]).unwrap()),
        Ok(None)
    );
    assert_eq!(
        r.push(&TlsPacket::new_checked(&frag[..]).unwrap()),
        Err(Reason::TlsMessageTooLong {
            declared_or_actual: 10
        })
    );
    // More data than declared.
    let mut r = Reassembler::new(100);
    let frag = [0xc0, 0, 0, 0, 2, 1, 2, 3];
    assert!(matches!(
        r.push(&TlsPacket::new_checked(&frag[..]).unwrap()),
        Err(Reason::FragmentProtocol(_))
    ));
    // Empty fragment with M set.
    let mut r = Reassembler::new(100);
    assert!(matches!(
        r.push(&TlsPacket::new_checked(&[0x40][..]).unwrap()),
        Err(Reason::FragmentProtocol(_))
    ));
}

#[test]
fn hello_random_offsets() {
    let mut rec = vec![22, 3, 3, 0, 80, 1, 0, 0, 76, 3, 3];
    rec.extend((0..32).map(|i| i as u8 + 100));
    rec.extend([0u8; 10]);
    let r = hello_random(&rec, 1).unwrap();
    assert_eq!(r[0], 100);
    assert_eq!(r[31], 131);
    assert!(hello_random(&rec, 2).is_none());
    assert!(hello_random(&rec[..42], 1).is_none());
    assert!(hello_random(&[], 1).is_none());
}

#[test]
fn hello_random_across_short_records() {
    // The same ClientHello start cut into handshake records of 5
    // octets each (RFC 5246 §6.2.1 allows any fragmentation).
    let mut body = vec![1, 0, 0, 76, 3, 3];
    body.extend((0..32).map(|i| i as u8 + 100));
    body.extend([0u8; 10]);
    let mut records = Vec::new();
    for chunk in body.chunks(5) {
        records.extend([22, 3, 3, 0, chunk.len() as u8]);
        records.extend_from_slice(chunk);
    }
    let r = hello_random(&records, 1).expect("random joined from fragments");
    assert_eq!(r[0], 100);
    assert_eq!(r[31], 131);
    // A record of another content type in between ends the search.
    let mut broken = records[..20].to_vec();
    broken.extend([23, 3, 3, 0, 1, 0]);
    broken.extend_from_slice(&records[20..]);
    assert!(hello_random(&broken, 1).is_none());
    // A zero-length record does not loop forever.
    assert!(hello_random(&[22, 3, 3, 0, 0], 1).is_none());
}
