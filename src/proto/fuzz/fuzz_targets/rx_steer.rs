// SPDX-License-Identifier: GPL-2.0
//! The RX steering state machine under arbitrary arrivals, sends and work
//! runs: a threshold of 0 queues every packet and u32::MAX none; while the
//! work is active nothing overtakes it; nothing panics, however time
//! jumps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovpn_dco_proto::steer::RxSteer;

fuzz_target!(|data: &[u8]| {
    let Some((&t, ops)) = data.split_first() else {
        return;
    };
    let burst_min = match t % 4 {
        0 => 0,
        1 => u32::MAX,
        _ => u32::from(t / 4),
    };
    let s = RxSteer::default();
    let mut now = 0u64;
    // Packets queued for the work and not yet drained.
    let mut queued = 0u32;
    for op in ops.chunks_exact(3) {
        // Steps from nothing to ~16 ms, in 64 ns units, or a jump back.
        let dt = u64::from(u16::from_le_bytes([op[1], op[2]])) * 256;
        now = if op[0] & 0x80 != 0 { now.saturating_sub(dt) } else { now + dt };
        match op[0] % 3 {
            0 => {
                let active = queued > 0;
                let to_work = s.steer(now, burst_min);
                if burst_min == 0 || active {
                    assert!(to_work, "a packet overtook the work (or threshold 0)");
                }
                if burst_min == u32::MAX && !active {
                    assert!(!to_work, "threshold u32::MAX queued a packet");
                }
                if to_work {
                    queued += 1;
                }
            }
            1 => s.note_tx(now, usize::from(op[1]) * 1024),
            _ => {
                // The work drains everything and reports an empty queue.
                queued = 0;
                s.batch_done(|| true);
            }
        }
    }
});
