// SPDX-License-Identifier: GPL-2.0
//! The replay window fed with arbitrary id sequences: an id is never
//! accepted twice, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovpn_dco_proto::pktid::ReplayWindow;
use std::collections::HashSet;

fuzz_target!(|data: &[u8]| {
    let mut w = ReplayWindow::new();
    let mut seen = HashSet::new();
    let mut now = 0u64;
    for c in data.chunks_exact(5) {
        let id = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) % 8192;
        now += u64::from(c[4]) * 250;
        if w.check(id, now).is_ok() {
            assert!(seen.insert(id), "id {id} accepted twice");
        }
    }
});
