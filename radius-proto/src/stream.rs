//! RADIUS over a byte stream (RADIUS/TCP, RFC 6613; RADIUS/TLS, RFC 6614),
//! sans-IO: bytes in as they arrive, whole packets out.
//!
//! A stream has no datagram boundaries: packets follow one another and
//! each is delimited by its own Length field (RFC 6613 §2.6: the packet is
//! read to its Length, which is at least 20 and at most 4096). A Length
//! outside that range means the stream cannot be resynchronised: RFC 6613
//! §2.6.4 makes it a malformed packet, and the connection is closed. The
//! framer then refuses everything that follows ([`StreamFramer::next_packet`]
//! keeps returning the error).
//!
//! Buffering is bounded by construction: the framer takes from the input
//! only the octets the current packet still needs, so it never holds more
//! than one incomplete packet (at most 4096 octets); the caller's read
//! buffer bounds the rest.
//!
//! ```
//! use radius_proto::stream::StreamFramer;
//!
//! let mut framer = StreamFramer::new();
//! let mut packet = vec![12u8, 7, 0, 20];
//! packet.extend_from_slice(&[0u8; 16]);
//! let mut two = packet.clone();
//! two.extend_from_slice(&packet);
//! // Arriving in two reads, split in the middle of the second header.
//! let (first, second) = two.split_at(22);
//! let mut input = first;
//! assert_eq!(framer.next_packet(&mut input).unwrap(), Some(packet.clone()));
//! assert_eq!(framer.next_packet(&mut input).unwrap(), None);
//! let mut input = second;
//! assert_eq!(framer.next_packet(&mut input).unwrap(), Some(packet));
//! assert!(framer.is_idle());
//! # Ok::<(), radius_proto::stream::FrameError>(())
//! ```

use crate::packet::{HEADER_LEN, MAX_PACKET_LEN};

/// Why a stream cannot be read on: the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A Length field below 20 or above 4096 (RFC 6613 §2.6.4).
    #[error("RADIUS Length field {0} outside 20..=4096: the stream cannot be resynchronised")]
    BadLength(u16),
}

impl FrameError {
    /// A stable label for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            FrameError::BadLength(_) => "stream_bad_length",
        }
    }
}

/// Splits a byte stream into RADIUS packets on their Length field.
#[derive(Debug, Default)]
pub struct StreamFramer {
    /// The packet being assembled: its first octets, at most its Length.
    buf: Vec<u8>,
    /// Set once a bad Length was seen; the stream is dead.
    failed: Option<FrameError>,
}

impl StreamFramer {
    /// A framer at the start of a stream.
    pub fn new() -> StreamFramer {
        StreamFramer::default()
    }

    /// Takes octets from the front of `input` (advancing it) until one
    /// packet is complete, and returns it. `Ok(None)` means `input` is used
    /// up and the packet in progress (if any) needs more octets. Call again
    /// until it returns `Ok(None)`: several packets may sit in one read.
    ///
    /// The packet returned has exactly its Length in octets; its
    /// attributes are not checked here (`Packet::new_checked` does that).
    pub fn next_packet(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        // The Length field: octets 2 and 3 of the header.
        if self.buf.len() < 4 {
            let need = 4 - self.buf.len();
            let (head, rest) = input.split_at(need.min(input.len()));
            self.buf.extend_from_slice(head);
            *input = rest;
            if self.buf.len() < 4 {
                return Ok(None);
            }
        }
        let length = u16::from_be_bytes([self.buf[2], self.buf[3]]);
        let wanted = usize::from(length);
        if !(HEADER_LEN..=MAX_PACKET_LEN).contains(&wanted) {
            let e = FrameError::BadLength(length);
            self.failed = Some(e);
            self.buf = Vec::new();
            return Err(e);
        }
        if self.buf.capacity() < wanted {
            self.buf.reserve_exact(wanted - self.buf.len());
        }
        let need = wanted - self.buf.len();
        let (body, rest) = input.split_at(need.min(input.len()));
        self.buf.extend_from_slice(body);
        *input = rest;
        if self.buf.len() < wanted {
            return Ok(None);
        }
        Ok(Some(std::mem::take(&mut self.buf)))
    }

    /// Whether no packet is in progress (a stream may end here cleanly).
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.failed.is_none()
    }

    /// Octets held for the packet in progress (never above 4096).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(code: u8, id: u8, attrs_len: usize) -> Vec<u8> {
        let len = (HEADER_LEN + attrs_len) as u16;
        let mut p = vec![code, id];
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(&[0xab; 16]);
        p.extend((0..attrs_len).map(|i| i as u8));
        p
    }

    fn all(framer: &mut StreamFramer, mut input: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut out = Vec::new();
        while let Some(p) = framer.next_packet(&mut input)? {
            out.push(p);
        }
        assert!(input.is_empty(), "input left unread");
        Ok(out)
    }

    #[test]
    fn packets_split_at_every_offset_come_out_whole() {
        let a = packet(1, 1, 30);
        let b = packet(12, 2, 0);
        let c = packet(1, 3, MAX_PACKET_LEN - HEADER_LEN);
        let stream: Vec<u8> = [a.clone(), b.clone(), c.clone()].concat();
        for cut in 0..=stream.len() {
            let mut f = StreamFramer::new();
            let mut got = all(&mut f, &stream[..cut]).unwrap();
            got.extend(all(&mut f, &stream[cut..]).unwrap());
            assert_eq!(got, vec![a.clone(), b.clone(), c.clone()], "cut at {cut}");
            assert!(f.is_idle());
        }
    }

    #[test]
    fn one_octet_at_a_time() {
        let a = packet(1, 9, 5);
        let mut f = StreamFramer::new();
        let mut got = Vec::new();
        for (i, byte) in a.iter().enumerate() {
            let one = [*byte];
            got.extend(all(&mut f, &one).unwrap());
            if i + 1 < a.len() {
                assert!(got.is_empty());
                assert_eq!(f.buffered(), i + 1);
                assert!(!f.is_idle());
            }
        }
        assert_eq!(got, vec![a]);
    }

    #[test]
    fn bad_length_is_fatal_and_stays_fatal() {
        for bad in [0u16, 19, 4097, 0xffff] {
            let mut p = packet(1, 1, 0);
            p[2..4].copy_from_slice(&bad.to_be_bytes());
            let mut f = StreamFramer::new();
            assert_eq!(all(&mut f, &p), Err(FrameError::BadLength(bad)));
            // Whatever follows, even a well-formed packet, is refused.
            let good = packet(1, 2, 0);
            let mut input = &good[..];
            assert_eq!(f.next_packet(&mut input), Err(FrameError::BadLength(bad)));
            assert!(!f.is_idle());
            assert_eq!(f.buffered(), 0);
        }
        // Controls: the bounds themselves are fine.
        let mut f = StreamFramer::new();
        assert_eq!(all(&mut f, &packet(1, 1, 0)).unwrap().len(), 1);
        assert_eq!(
            all(&mut f, &packet(1, 1, MAX_PACKET_LEN - HEADER_LEN))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn bad_length_after_good_packets_keeps_the_good_ones() {
        let good = packet(1, 1, 4);
        let mut bad = packet(1, 2, 0);
        bad[2..4].copy_from_slice(&5000u16.to_be_bytes());
        let stream = [good.clone(), bad].concat();
        let mut f = StreamFramer::new();
        let mut input = &stream[..];
        assert_eq!(f.next_packet(&mut input).unwrap(), Some(good));
        assert_eq!(f.next_packet(&mut input), Err(FrameError::BadLength(5000)));
    }

    #[test]
    fn buffering_never_exceeds_one_packet() {
        // A peer announcing 4096 octets and sending them slowly: the
        // framer holds at most 4096, and takes nothing beyond the packet.
        let big = packet(1, 1, MAX_PACKET_LEN - HEADER_LEN);
        let next = packet(1, 2, 0);
        let stream = [big.clone(), next.clone()].concat();
        let mut f = StreamFramer::new();
        let mut input = &stream[..MAX_PACKET_LEN - 1];
        assert_eq!(f.next_packet(&mut input).unwrap(), None);
        assert_eq!(f.buffered(), MAX_PACKET_LEN - 1);
        let mut input = &stream[MAX_PACKET_LEN - 1..];
        assert_eq!(f.next_packet(&mut input).unwrap(), Some(big));
        assert_eq!(input.len(), next.len(), "the next packet is left unread");
        assert_eq!(f.next_packet(&mut input).unwrap(), Some(next));
    }
}
