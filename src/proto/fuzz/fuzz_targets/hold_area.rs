// SPDX-License-Identifier: GPL-2.0
//! The hold area driven by arbitrary pushes, takes and expiries: every
//! packet comes out once (taken, expired or pushed out), at most HOLD_MAX
//! wait, a take hands out only fresh packets of its key, in arrival order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovpn_dco_proto::hold::{Hold, HOLD_MAX, HOLD_MS};

fuzz_target!(|data: &[u8]| {
    let mut hold: Hold<usize> = Hold::new();
    // Per packet pushed: its key and arrival time, and whether it came out.
    let mut pushed: Vec<(u8, u64)> = Vec::new();
    let mut out: Vec<bool> = Vec::new();
    let mut now = 0u64;
    for op in data.chunks_exact(3) {
        // Steps of 0 to 4 s, 0 (the same millisecond) as likely as any.
        now += u64::from(op[2]) * 16;
        let key = op[1] % 4;
        let mut gone = |i: usize, out: &mut Vec<bool>| {
            assert!(!out[i], "packet {i} came out twice");
            out[i] = true;
        };
        match op[0] % 3 {
            0 => {
                pushed.push((key, now));
                out.push(false);
                hold.push(pushed.len() - 1, key, now, |i| gone(i, &mut out));
            }
            1 => {
                let mut ready = Vec::new();
                hold.take(key, now, |i| ready.push(i), |i| gone(i, &mut out));
                for w in ready.windows(2) {
                    assert!(w[0] < w[1], "taken out of arrival order: {} before {}", w[0], w[1]);
                }
                for i in ready {
                    assert_eq!(pushed[i].0, key, "packet {i} taken for another key");
                    assert!(now - pushed[i].1 < HOLD_MS, "stale packet {i} taken");
                    gone(i, &mut out);
                }
            }
            _ => hold.expire(now, |i| {
                assert!(now - pushed[i].1 >= HOLD_MS, "fresh packet {i} expired");
                gone(i, &mut out)
            }),
        }
        let waiting = out.iter().filter(|o| !**o).count();
        assert!(waiting <= HOLD_MAX, "{waiting} packets wait");
    }
});
