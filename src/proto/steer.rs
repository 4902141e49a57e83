// SPDX-License-Identifier: GPL-2.0

//! Where a peer's received data packets are decrypted: at once, in the
//! context that received them, or by the peer's RX work on another CPU.
//!
//! Bulk traffic gains from the work: decryption and the inner stack's
//! receive path then run beside the outer receive path (and, over veth or
//! on a router, the sending one).  A lone packet (a ping, a keepalive, a
//! request) only loses from it: the work's wake-up adds latency.  So a
//! packet goes to the work when it is part of a burst: it follows the one
//! before it within [`BURST_GAP_NS`] (1 ms), as did the `burst` packets
//! before it (by default [`STEER_BURST`]; 0 sends every packet to the
//! work).  And while the work has packets, every packet goes to it, so
//! that no later packet overtakes them.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// How many packets in a row, each within [`BURST_GAP_NS`] of the one
/// before, make the next one part of a burst.
pub const STEER_BURST: u32 = 2;

/// Two packets of one burst arrive less than this apart (ns).
pub const BURST_GAP_NS: u64 = 1_000_000;

/// The steering state of one peer, shared by every context receiving its
/// packets and its RX work.
#[derive(Default)]
pub struct RxSteer {
    /// The RX work has packets queued or is handling some.
    active: AtomicBool,
    /// When the last packet decided on here arrived (ns).
    last_ns: AtomicU64,
    /// Packets in a row that each came within [`BURST_GAP_NS`] of the one
    /// before.
    burst: AtomicU32,
}

impl RxSteer {
    /// Whether a packet arriving at `now` (ns, a monotonic clock) goes to
    /// the RX work, given the `burst` threshold; if so, the work counts as
    /// active from here on (the caller queues the packet, then the work).
    ///
    /// Every packet of a peer passes here, so the common cases take no
    /// read-modify-write: an active work is one load, a lone packet three
    /// loads and stores.  Contexts receiving the same peer at once may
    /// miscount a burst by a packet; that only moves the threshold.
    pub fn steer(&self, now: u64, burst_min: u32) -> bool {
        if self.active.load(Ordering::Acquire) {
            return true;
        }
        let last = self.last_ns.load(Ordering::Relaxed);
        self.last_ns.store(now, Ordering::Relaxed);
        let burst = if now.wrapping_sub(last) < BURST_GAP_NS {
            self.burst.fetch_add(1, Ordering::Relaxed).saturating_add(1)
        } else {
            self.burst.store(0, Ordering::Relaxed);
            0
        };
        if burst >= burst_min {
            self.active.store(true, Ordering::Release);
            return true;
        }
        false
    }

    /// The RX work ends a batch; `empty` tells whether its queue is empty
    /// now.  Returns whether the work must run again: packets were left,
    /// or arrived while it went idle.  When it returns false, packets may
    /// be decrypted at once again.
    ///
    /// The queue is looked at twice: once before going idle, and once
    /// after, for packets steered to the work just before it went idle,
    /// so that they are not overtaken by later packets decrypted at once.
    /// (A packet queued after the second look is not lost either way:
    /// every queued packet is followed by queueing the work.)
    pub fn batch_done(&self, empty: impl Fn() -> bool) -> bool {
        if !empty() {
            return true;
        }
        self.active.store(false, Ordering::SeqCst);
        if empty() {
            return false;
        }
        self.active.store(true, Ordering::Release);
        true
    }

    /// Whether the RX work counts as active (queued packets go first);
    /// for the tests, which look at the state `steer` keeps.
    #[cfg(test)]
    fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const US: u64 = 1_000;

    #[test]
    fn lone_packets_stay_inline() {
        let s = RxSteer::default();
        for t in (1..100).map(|i| i * 20 * MS) {
            assert!(!s.steer(t, STEER_BURST), "a ping every 20 ms at {t}");
        }
    }

    #[test]
    fn pairs_stay_inline() {
        // A request and its follow-up 100 us later, every 5 ms.
        let s = RxSteer::default();
        for i in 1..50 {
            let t = i * 5 * MS;
            assert!(!s.steer(t, STEER_BURST));
            assert!(!s.steer(t + 100 * US, STEER_BURST));
        }
    }

    #[test]
    fn a_burst_goes_to_the_work_from_its_third_packet() {
        let s = RxSteer::default();
        let t0 = 7 * MS;
        let got: Vec<bool> = (0..6)
            .map(|i| s.steer(t0 + i * 300 * US, STEER_BURST))
            .collect();
        // The first arrival starts the count (it follows nothing).
        assert_eq!(got, [false, false, true, true, true, true]);
    }

    #[test]
    fn a_steady_flow_is_a_burst_across_millisecond_boundaries() {
        // 3.5 packets per ms, evenly spaced: never three in one calendar
        // millisecond at its edges, but every gap is under 1 ms.
        let s = RxSteer::default();
        let steered = (0..100)
            .filter(|i| s.steer(1000 * MS + i * 285 * US, STEER_BURST))
            .count();
        assert_eq!(steered, 98);
    }

    #[test]
    fn a_gap_of_more_than_a_millisecond_restarts_the_count() {
        let s = RxSteer::default();
        let mut t = 1000 * MS;
        for _ in 0..10 {
            assert!(!s.steer(t, STEER_BURST));
            assert!(!s.steer(t + 500 * US, STEER_BURST));
            t += 500 * US + MS + 1;
        }
    }

    #[test]
    fn an_active_work_takes_every_packet_until_idle() {
        let s = RxSteer::default();
        for i in 0..4 {
            s.steer(5 * MS + i, STEER_BURST);
        }
        // Much later, a lone packet: the work still has packets.
        assert!(s.steer(500 * MS, STEER_BURST));
        assert!(!s.batch_done(|| true), "an empty queue ends the work");
        assert!(!s.is_active());
        assert!(!s.steer(1000 * MS, STEER_BURST));
        assert!(!s.steer(1010 * MS, STEER_BURST));
    }

    #[test]
    fn a_batch_with_packets_left_keeps_the_work_active() {
        let s = RxSteer::default();
        assert!(s.steer(MS, 0));
        assert!(s.batch_done(|| false));
        assert!(s.is_active());
        assert!(s.steer(900 * MS, STEER_BURST), "later packets queue behind");
    }

    #[test]
    fn a_packet_queued_while_going_idle_is_seen_by_the_second_look() {
        use core::cell::Cell;
        let s = RxSteer::default();
        assert!(s.steer(MS, 0));
        // The first look finds the queue empty; a packet steered just
        // before the work went idle is in it for the second look.
        let looks = Cell::new(0);
        let again = s.batch_done(|| {
            looks.set(looks.get() + 1);
            looks.get() == 1
        });
        assert_eq!(looks.get(), 2);
        assert!(again, "the work runs again for that packet");
        assert!(s.is_active(), "and later packets queue behind it");
        assert!(s.steer(2000 * MS, STEER_BURST));
    }

    #[test]
    fn a_flow_that_goes_on_after_the_work_went_idle_is_still_a_burst() {
        let s = RxSteer::default();
        for i in 0..3 {
            s.steer(8 * MS + i * 100 * US, STEER_BURST);
        }
        // While active, arrivals are not counted (one load each).
        for i in 0..10 {
            assert!(s.steer(9 * MS + i * 100 * US, STEER_BURST));
        }
        assert!(!s.batch_done(|| true));
        // The last counted arrival was at 8.2 ms: 8.9 ms continues the
        // burst, 11 ms starts over.
        assert!(s.steer(8 * MS + 900 * US, STEER_BURST));
        assert!(!s.batch_done(|| true));
        assert!(!s.steer(11 * MS, STEER_BURST), "a pause starts over");
    }

    #[test]
    fn threshold_zero_queues_everything() {
        let s = RxSteer::default();
        for t in (1..10).map(|i| i * 100 * MS) {
            assert!(s.steer(t, 0));
            assert!(!s.batch_done(|| true));
        }
    }

    #[test]
    fn threshold_max_queues_nothing() {
        let s = RxSteer::default();
        for i in 0..1000 {
            assert!(!s.steer(MS + i, u32::MAX));
        }
    }

    proptest::proptest! {
        /// A model of one peer: packets arriving (a gap in ns each) and
        /// runs of its RX work (a budget each) in any order.  No packet is
        /// left queued without the work scheduled, and none is decrypted
        /// at once while older ones wait in the queue.
        #[test]
        fn queued_packets_are_never_stranded_or_overtaken(
            burst in 0u32..4,
            ops in proptest::collection::vec(
                (proptest::bool::ANY, 0u64..3 * BURST_GAP_NS, 1usize..5),
                1..200,
            ),
        ) {
            use core::cell::Cell;
            let s = RxSteer::default();
            let queued = Cell::new(0usize);
            let mut scheduled = false;
            let mut now = 1u64;
            for (is_packet, step, budget) in ops {
                if is_packet {
                    now += step;
                    if s.steer(now, burst) {
                        queued.set(queued.get() + 1);
                        scheduled = true;
                    } else {
                        proptest::prop_assert_eq!(queued.get(), 0, "overtaken");
                    }
                } else if scheduled {
                    queued.set(queued.get().saturating_sub(budget));
                    scheduled = s.batch_done(|| queued.get() == 0);
                }
                proptest::prop_assert!(queued.get() == 0 || scheduled, "stranded");
            }
        }
    }
}
