// SPDX-License-Identifier: GPL-2.0

//! OpenVPN's framing on TCP: every packet is preceded by its length, a
//! 16-bit big-endian integer.  The length prefix is not part of the packet
//! (it is not authenticated, and not counted in the link statistics).

/// Length of the length prefix.
pub const PREFIX_LEN: usize = 2;
/// The largest packet a frame can carry.
pub const MAX_PACKET_LEN: usize = u16::MAX as usize;
/// The smallest packet the kernel accepts in a frame: anything shorter
/// cannot even hold an opcode and a peer id, and ends the connection.
pub const MIN_PACKET_LEN: usize = 4;

/// What the start of a stream buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Not enough bytes for the length prefix yet.
    NeedHeader,
    /// A frame whose packet is `packet_len` bytes, so the whole frame takes
    /// `PREFIX_LEN + packet_len` bytes of the stream.
    Packet {
        /// The length of the packet after the prefix.
        packet_len: usize,
    },
}

impl Frame {
    /// The bytes of the stream the frame takes, prefix included (0 while
    /// the header is incomplete).
    pub fn total_len(self) -> usize {
        match self {
            Frame::NeedHeader => 0,
            Frame::Packet { packet_len } => PREFIX_LEN + packet_len,
        }
    }
}

/// A stream error: the peer must be dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The prefix announces a packet shorter than [`MIN_PACKET_LEN`].
    TooShort(usize),
}

/// Reads the frame header at the start of `buf`.
pub fn parse(buf: &[u8]) -> Result<Frame, FrameError> {
    let Some(prefix) = buf.get(..PREFIX_LEN) else {
        return Ok(Frame::NeedHeader);
    };
    let packet_len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
    if packet_len < MIN_PACKET_LEN {
        return Err(FrameError::TooShort(packet_len));
    }
    Ok(Frame::Packet { packet_len })
}

/// The prefix of a packet of `len` bytes; `None` if it does not fit a
/// frame.
pub fn prefix(len: usize) -> Option<[u8; PREFIX_LEN]> {
    u16::try_from(len).ok().map(u16::to_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn headers() {
        assert_eq!(parse(&[]), Ok(Frame::NeedHeader));
        assert_eq!(parse(&[0]), Ok(Frame::NeedHeader));
        assert_eq!(parse(&[0, 0]), Err(FrameError::TooShort(0)));
        assert_eq!(parse(&[0, 3]), Err(FrameError::TooShort(3)));
        assert_eq!(parse(&[0, 4]), Ok(Frame::Packet { packet_len: 4 }));
        assert_eq!(
            parse(&[0xff, 0xff, 1]),
            Ok(Frame::Packet { packet_len: 65535 })
        );
        assert_eq!(prefix(65535), Some([0xff, 0xff]));
        assert_eq!(prefix(65536), None);
    }

    /// Splits a stream into frames the way a receiver fed in arbitrary
    /// chunks would.
    fn reassemble(chunks: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for c in chunks {
            buf.extend_from_slice(c);
            loop {
                let f = parse(&buf)?;
                let total = f.total_len();
                if total == 0 || buf.len() < total {
                    break;
                }
                out.push(buf[PREFIX_LEN..total].to_vec());
                buf.drain(..total);
            }
        }
        Ok(out)
    }

    proptest! {
        #[test]
        fn roundtrip_in_any_chunking(
            packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 4..300), 1..20),
            cuts in proptest::collection::vec(1usize..64, 1..200),
        ) {
            let mut stream = Vec::new();
            for p in &packets {
                stream.extend_from_slice(&prefix(p.len()).unwrap());
                stream.extend_from_slice(p);
            }
            let mut chunks = Vec::new();
            let mut rest = &stream[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                chunks.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            prop_assert_eq!(reassemble(&chunks).unwrap(), packets);
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..8)) {
            let _ = parse(&buf);
        }
    }
}
