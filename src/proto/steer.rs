// SPDX-License-Identifier: GPL-2.0

//! Where a peer's received data packets are decrypted: at once, in the
//! context that received them, or by the peer's RX work on another CPU.
//!
//! Bulk traffic gains from the work: decryption and the inner stack's
//! receive path then run beside the outer receive path (and, over veth or
//! on a router, the sending one).  A lone packet (a ping, a keepalive, a
//! request) only loses from it: the work's wake-up adds latency.  So a
//! packet goes to the work when it is part of a burst (it arrives in the
//! same millisecond as the `burst` packets before it; by default
//! [`STEER_BURST`]; 0 sends every packet to the work), and while the work
//! has packets, so that no later packet overtakes them.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// How many packets in a row arriving in one millisecond make the next one
/// in that millisecond part of a burst.
pub const STEER_BURST: u32 = 2;

/// The steering state of one peer, shared by every context receiving its
/// packets and its RX work.
#[derive(Default)]
pub struct RxSteer {
    /// The RX work has packets queued or is handling some.
    active: AtomicBool,
    /// When the last packet arrived (ms).
    last_ms: AtomicU64,
    /// Packets that arrived in the same millisecond as the one before.
    burst: AtomicU32,
}

impl RxSteer {
    /// Whether a packet arriving at `now` (ms) goes to the RX work, given
    /// the `burst` threshold; if so, the work counts as active from here
    /// on (the caller queues it).
    pub fn steer(&self, now: u64, burst_min: u32) -> bool {
        let burst = if self.last_ms.swap(now, Ordering::Relaxed) == now {
            self.burst.fetch_add(1, Ordering::Relaxed).saturating_add(1)
        } else {
            self.burst.store(0, Ordering::Relaxed);
            0
        };
        if self.active.load(Ordering::Acquire) || burst >= burst_min {
            self.active.store(true, Ordering::Release);
            return true;
        }
        false
    }

    /// The RX work found its queue empty after a batch: packets may be
    /// decrypted at once again.  The work must look at its queue once more
    /// after this, and call [`RxSteer::resume`] if it finds packets.
    pub fn idle(&self) {
        self.active.store(false, Ordering::Release);
    }

    /// The RX work goes on (its queue was refilled meanwhile).
    pub fn resume(&self) {
        self.active.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lone_packets_stay_inline() {
        let s = RxSteer::default();
        for t in (1..100).map(|i| i * 20) {
            assert!(!s.steer(t, STEER_BURST), "a ping every 20 ms at {t}");
        }
    }

    #[test]
    fn a_burst_goes_to_the_work_from_its_third_packet() {
        let s = RxSteer::default();
        let got: Vec<bool> = (0..6).map(|_| s.steer(7, STEER_BURST)).collect();
        // The first arrival at 7 ms starts the count (it follows 0 ms).
        assert_eq!(got, [false, false, true, true, true, true]);
    }

    #[test]
    fn an_active_work_takes_every_packet_until_idle() {
        let s = RxSteer::default();
        for _ in 0..4 {
            s.steer(5, STEER_BURST);
        }
        // Much later, a lone packet: the work still has packets.
        assert!(s.steer(500, STEER_BURST));
        s.idle();
        assert!(!s.steer(1000, STEER_BURST));
        s.resume();
        assert!(s.steer(2000, STEER_BURST));
    }

    #[test]
    fn threshold_zero_queues_everything() {
        let s = RxSteer::default();
        for t in (1..10).map(|i| i * 100) {
            assert!(s.steer(t, 0));
            s.idle();
        }
    }

    #[test]
    fn a_new_millisecond_restarts_the_count() {
        let s = RxSteer::default();
        for t in [3, 3, 4, 4, 5, 5, 6] {
            assert!(!s.steer(t, STEER_BURST), "two per ms at {t}");
        }
    }
}
