//! Classic libpcap capture files (the "pcap" format of libpcap/tcpdump:
//! 24-octet global header, magic 0xa1b2c3d4, version 2.4, then one 16-octet
//! record header per packet) with link type 105, LINKTYPE_IEEE802_11 (plain
//! 802.11 frames, no radiotap, no FCS). Timestamps come from the caller.

use std::io::{self, Write};
use std::time::Duration;

/// LINKTYPE_IEEE802_11.
pub const LINKTYPE_IEEE802_11: u32 = 105;
const MAGIC: u32 = 0xa1b2_c3d4;
const SNAPLEN: u32 = 65535;

/// Writes a pcap stream to any `Write`.
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header.
    pub fn new(mut out: W, linktype: u32) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&MAGIC.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&linktype.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out })
    }

    /// Append one packet with a timestamp measured from the Unix epoch.
    pub fn write_packet(&mut self, timestamp: Duration, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "packet too long"))?;
        let caplen = len.min(SNAPLEN);
        let secs = u32::try_from(timestamp.as_secs()).unwrap_or(u32::MAX);
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(&secs.to_le_bytes());
        h.extend_from_slice(&timestamp.subsec_micros().to_le_bytes());
        h.extend_from_slice(&caplen.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..caplen as usize])
    }

    /// Flush and give back the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Write the frames of `reports` (one after the other, each station's
/// virtual times offset from `base`, the time since the Unix epoch) as a
/// capture: one beacon for the whole file, frames at least a microsecond
/// apart so their order survives sorting.
pub fn write_capture<W: Write>(
    out: W,
    reports: &[crate::sim::StationReport],
    base: Duration,
) -> io::Result<W> {
    let mut w = PcapWriter::new(out, LINKTYPE_IEEE802_11)?;
    let mut offset = Duration::ZERO;
    let mut tick = Duration::ZERO;
    let mut beacon_written = false;
    for r in reports {
        for f in &r.frames {
            if f.frame.first() == Some(&0x80) {
                if beacon_written {
                    continue;
                }
                beacon_written = true;
            }
            tick += Duration::from_micros(1);
            w.write_packet(base + offset + f.at + tick, &f.frame)?;
        }
        offset += r.virtual_time + Duration::from_millis(1);
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_and_record_headers() {
        let mut w = PcapWriter::new(Vec::new(), LINKTYPE_IEEE802_11).unwrap();
        w.write_packet(Duration::new(1_700_000_000, 123_456_000), &[1, 2, 3])
            .unwrap();
        let bytes = w.finish().unwrap();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&bytes[4..8], &[2, 0, 4, 0]);
        assert_eq!(&bytes[20..24], &[105, 0, 0, 0]);
        assert_eq!(&bytes[24..28], &1_700_000_000u32.to_le_bytes());
        assert_eq!(&bytes[28..32], &123_456u32.to_le_bytes());
        assert_eq!(&bytes[32..36], &3u32.to_le_bytes());
        assert_eq!(&bytes[36..40], &3u32.to_le_bytes());
        assert_eq!(&bytes[40..], &[1, 2, 3]);
    }
}
