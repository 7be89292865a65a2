//! Fuzz target for the stream framer (RFC 6613 §2.6): any bytes, cut into
//! reads at positions the input chooses, never panic; each packet out has
//! a Length within 20..=4096 equal to its size; the framer never holds more
//! than 4096 octets; the same bytes read in one piece give the same
//! packets and the same verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radius_proto::stream::{FrameError, StreamFramer};

fn run(stream: &[u8], cuts: &[usize]) -> (Vec<Vec<u8>>, Option<FrameError>) {
    let mut framer = StreamFramer::new();
    let mut out = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        let end = end.clamp(start, stream.len());
        let mut input = &stream[start..end];
        loop {
            match framer.next_packet(&mut input) {
                Ok(Some(p)) => {
                    let len = usize::from(u16::from_be_bytes([p[2], p[3]]));
                    assert_eq!(len, p.len());
                    assert!((20..=4096).contains(&len));
                    out.push(p);
                }
                Ok(None) => {
                    assert!(input.is_empty());
                    break;
                }
                Err(e) => return (out, Some(e)),
            }
            assert!(framer.buffered() <= 4096);
        }
        assert!(framer.buffered() <= 4096);
        start = end;
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    // The first octets choose the read boundaries, the rest is the stream.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16).min(rest.len() / 2);
    let (cut_bytes, stream) = rest.split_at(n * 2);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_be_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let whole = run(stream, &[]);
    let pieces = run(stream, &cuts);
    assert_eq!(whole, pieces);
});
