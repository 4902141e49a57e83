// SPDX-License-Identifier: GPL-2.0
//! Everything the kernel parses from a received datagram or stream, fed
//! with arbitrary bytes: nothing may panic, and what parses must be
//! consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovpn_dco_proto::{aead, sockaddr, tcp, wire};

fuzz_target!(|data: &[u8]| {
    if let Some(h) = wire::DataV2Header::parse(data) {
        assert_eq!(&h.to_bytes()[..], &data[..4]);
        assert!(wire::is_data_v2(data));
    }
    if let Ok(r) = aead::split(data) {
        assert_eq!(r.aad.len() + r.tag.len() + r.ciphertext.len(), data.len());
        assert_eq!(aead::aad(r.header, r.packet_id), r.aad);
    }
    match tcp::parse(data) {
        Ok(tcp::Frame::Packet { packet_len }) => assert!(packet_len >= tcp::MIN_PACKET_LEN),
        Ok(tcp::Frame::NeedHeader) => assert!(data.len() < tcp::PREFIX_LEN),
        Err(_) => {}
    }
    if let Ok(a) = sockaddr::SockAddr::parse(data) {
        let (raw, n) = a.to_raw();
        assert_eq!(sockaddr::SockAddr::parse(&raw[..n]), Ok(a));
    }
    let _ = aead::is_keepalive(data);
});
