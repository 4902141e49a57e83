// SPDX-License-Identifier: GPL-2.0
//! TCP framing across arbitrary segment boundaries: frames of arbitrary
//! lengths, written with their prefixes and cut anywhere (empty, one-byte
//! and huge pieces included), come out of a reassembly that only uses
//! `tcp::parse` exactly as they went in.  A prefix announcing less than
//! MIN_PACKET_LEN bytes is refused wherever it falls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovpn_dco_proto::tcp::{self, Frame, FrameError, MIN_PACKET_LEN, PREFIX_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let (lens, cuts) = rest.split_at(rest.len().min(usize::from(n % 32) * 2));
    // Frame lengths from pairs of bytes; a length below the minimum makes
    // this stream one the receiver must refuse at that frame.
    let frames: Vec<Vec<u8>> = lens
        .chunks_exact(2)
        .enumerate()
        .map(|(i, l)| vec![i as u8; usize::from(u16::from_be_bytes([l[0], l[1]]) % 2048)])
        .collect();
    let mut stream = Vec::new();
    for f in &frames {
        stream.extend_from_slice(&tcp::prefix(f.len()).unwrap());
        stream.extend_from_slice(f);
    }
    let bad = frames.iter().position(|f| f.len() < MIN_PACKET_LEN);

    let mut buf = Vec::new();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut refused = false;
    let mut at = 0;
    let mut cut = cuts.iter();
    'feed: while at < stream.len() {
        let piece = match cut.next() {
            Some(&c) if c < 16 => usize::from(c),
            Some(&c) => usize::from(c) * 37,
            None => stream.len(),
        };
        let end = (at + piece).min(stream.len());
        buf.extend_from_slice(&stream[at..end]);
        at = end;
        loop {
            match tcp::parse(&buf) {
                Ok(Frame::NeedHeader) => break,
                Ok(f @ Frame::Packet { packet_len }) => {
                    assert!(packet_len >= MIN_PACKET_LEN);
                    if buf.len() < f.total_len() {
                        break;
                    }
                    got.push(buf[PREFIX_LEN..f.total_len()].to_vec());
                    buf.drain(..f.total_len());
                }
                Err(FrameError::TooShort(l)) => {
                    assert!(l < MIN_PACKET_LEN);
                    refused = true;
                    break 'feed;
                }
            }
        }
    }
    match bad {
        Some(i) => {
            assert!(refused, "a frame of {} bytes was accepted", frames[i].len());
            assert_eq!(got[..], frames[..i]);
        }
        None => {
            assert!(!refused);
            assert_eq!(got, frames);
            assert!(buf.is_empty());
        }
    }
});
