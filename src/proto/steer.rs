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
//!
//! What is sent to the peer counts too: while it is bulk (at least
//! [`TX_BULK_BYTES`] in a run without a pause of [`TX_GAP_NS`]), what
//! comes back goes to the work as well, however sparse.  A bulk sender
//! receives few packets (TCP's ACKs, one for many segments, often
//! milliseconds apart, each followed by a window's worth of segments);
//! decrypted at once, each would run the sender's ACK processing, and the
//! transmission and encryption of the segments it lets go, in the context
//! that received it, which is the one that sent the ACK: both directions
//! of the flow would then share one CPU, by chance of where the
//! receiver's work ran.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// How many packets in a row, each within [`BURST_GAP_NS`] of the one
/// before, make the next one part of a burst.
pub const STEER_BURST: u32 = 2;

/// Two packets of one burst arrive less than this apart (ns).
pub const BURST_GAP_NS: u64 = 1_000_000;

/// Two packets of one bulk send go less than this apart (ns): longer than
/// [`BURST_GAP_NS`], as a sender waits for sparse ACKs between bursts.
pub const TX_GAP_NS: u64 = 10_000_000;

/// Bytes sent in a run that make the send bulk: more than a request or a
/// ping sends, and what a voice call (a packet every 20 ms) never runs up;
/// about one TSO/GSO packet of TCP in full flow.
pub const TX_BULK_BYTES: u32 = 64 * 1024;

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
    /// When the last packet was sent to the peer (ns).
    tx_last_ns: AtomicU64,
    /// Bytes sent in a run, each packet within [`TX_GAP_NS`] of the one
    /// before (saturating).
    tx_bytes: AtomicU32,
}

/// The longest run counted: below `u32::MAX`, so that a threshold of
/// `u32::MAX` is never reached, however long a flow lasts.
const RUN_MAX: u32 = u32::MAX - 1;

impl RxSteer {
    /// Whether a packet arriving at `now` (ns, a monotonic clock) goes to
    /// the RX work, given the `burst` threshold; if so, the work counts as
    /// active from here on (the caller queues the packet, then the work).
    ///
    /// Every packet of a peer passes here, so the common cases take no
    /// read-modify-write: an active work is one load, a lone packet a few
    /// loads and stores.  Contexts receiving the same peer at once may
    /// miscount a burst by a packet; that only moves the threshold.
    pub fn steer(&self, now: u64, burst_min: u32) -> bool {
        if self.active.load(Ordering::Acquire) {
            return true;
        }
        let last = self.last_ns.load(Ordering::Relaxed);
        self.last_ns.store(now, Ordering::Relaxed);
        let burst = if now.wrapping_sub(last) < BURST_GAP_NS {
            let n = self.burst.load(Ordering::Relaxed).saturating_add(1);
            let n = n.min(RUN_MAX);
            self.burst.store(n, Ordering::Relaxed);
            n
        } else {
            self.burst.store(0, Ordering::Relaxed);
            0
        };
        if burst >= burst_min || (burst_min != u32::MAX && self.sending_bulk(now)) {
            self.active.store(true, Ordering::Release);
            return true;
        }
        false
    }

    /// Counts `len` bytes sent to the peer at `now` (ns, the clock of
    /// [`RxSteer::steer`]).  Like `steer`, no read-modify-write: senders
    /// racing may miscount the run by a packet.
    pub fn note_tx(&self, now: u64, len: usize) {
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        let last = self.tx_last_ns.load(Ordering::Relaxed);
        self.tx_last_ns.store(now, Ordering::Relaxed);
        let run = if now.wrapping_sub(last) < TX_GAP_NS {
            self.tx_bytes.load(Ordering::Relaxed).saturating_add(len)
        } else {
            len
        };
        self.tx_bytes.store(run, Ordering::Relaxed);
    }

    /// Whether what is sent to the peer is bulk at `now`: the last packet
    /// went less than [`TX_GAP_NS`] ago and ended a run of at least
    /// [`TX_BULK_BYTES`].
    fn sending_bulk(&self, now: u64) -> bool {
        let last = self.tx_last_ns.load(Ordering::Relaxed);
        // A sender on another CPU may have stamped a slightly later time.
        let since = now.saturating_sub(last);
        last != 0 && since < TX_GAP_NS && self.tx_bytes.load(Ordering::Relaxed) >= TX_BULK_BYTES
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
    fn replies_to_a_bulk_send_go_to_the_work_however_sparse() {
        // A bulk sender: a 65160-byte GSO packet after each ACK, 3.6 ms
        // apart; two of them make a bulk run.
        let s = RxSteer::default();
        for i in 1..=200u64 {
            let t = 1000 * MS + i * 3600 * US;
            assert_eq!(
                s.steer(t, STEER_BURST),
                i > 2,
                "ACK {i}: steered once the send is bulk"
            );
            assert!(!s.batch_done(|| true));
            s.note_tx(t + 20 * US, 65_160);
        }
    }

    /// Asserts that `n` exchanges, one every `period`, each a packet of
    /// `len` bytes sent and one received `reply_after` later, are all
    /// decrypted at once.
    fn assert_exchanges_inline(n: u64, period: u64, len: usize, reply_after: u64) {
        let s = RxSteer::default();
        for i in 1..=n {
            let t = i * period;
            s.note_tx(t, len);
            assert!(!s.steer(t + reply_after, STEER_BURST), "exchange {i}");
        }
    }

    #[test]
    fn a_ping_and_its_reply_stay_inline() {
        // A request sent every 200 ms, its reply 300 us later.
        assert_exchanges_inline(100, 200 * MS, 84, 300 * US);
    }

    #[test]
    fn a_voice_call_stays_inline() {
        // 50 packets a second each way, for a minute.
        assert_exchanges_inline(3000, 20 * MS, 200, 10 * MS);
    }

    #[test]
    fn a_long_stream_of_small_sends_becomes_bulk() {
        // 1 KB every 2 ms: bulk after 64 of them.
        let s = RxSteer::default();
        let steered: Vec<u64> = (1..200u64)
            .filter(|i| {
                let t = i * 2 * MS;
                s.note_tx(t, 1024);
                let r = s.steer(t + 1500 * US, STEER_BURST);
                assert!(!s.batch_done(|| true));
                r
            })
            .collect();
        assert_eq!(steered.first(), Some(&64));
        assert_eq!(steered.len(), 199 - 63);
    }

    #[test]
    fn a_send_that_paused_no_longer_steers_replies() {
        let s = RxSteer::default();
        s.note_tx(MS, 65_000);
        s.note_tx(2 * MS, 1_000);
        assert!(s.steer(11 * MS, STEER_BURST), "9 ms after the last send");
        assert!(!s.batch_done(|| true));
        assert!(!s.steer(13 * MS, STEER_BURST), "11 ms after it");
        // A new run starts from nothing.
        s.note_tx(14 * MS, 1_000);
        assert!(!s.steer(100 * MS, STEER_BURST));
        s.note_tx(101 * MS, 1_000);
        assert!(!s.steer(101 * MS + 2 * US, STEER_BURST));
    }

    #[test]
    fn a_clock_read_earlier_than_the_last_send_still_counts_as_recent() {
        let s = RxSteer::default();
        s.note_tx(10 * MS, 70_000);
        assert!(s.steer(10 * MS - 3 * US, STEER_BURST));
    }

    #[test]
    fn run_of_bytes_saturates() {
        let s = RxSteer::default();
        for i in 0..100u64 {
            s.note_tx(MS + i, usize::MAX);
        }
        assert_eq!(s.tx_bytes.load(Ordering::Relaxed), u32::MAX);
        assert!(s.steer(MS + 200, STEER_BURST));
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
            s.note_tx(MS + i, 65_000);
            assert!(!s.steer(MS + i, u32::MAX));
        }
        // Even a run that has reached the counter's end.
        s.burst.store(RUN_MAX, Ordering::Relaxed);
        assert!(!s.steer(2 * MS, u32::MAX));
        assert_eq!(s.burst.load(Ordering::Relaxed), RUN_MAX);
    }

    proptest::proptest! {
        /// A model of one peer: packets arriving (a gap in ns each),
        /// packets sent to it (a gap and a length) and runs of its RX work
        /// (a budget each) in any order.  No packet is
        /// left queued without the work scheduled, and none is decrypted
        /// at once while older ones wait in the queue.
        #[test]
        fn queued_packets_are_never_stranded_or_overtaken(
            burst in 0u32..4,
            ops in proptest::collection::vec(
                (0u8..3, 0u64..3 * TX_GAP_NS, 1usize..5),
                1..200,
            ),
        ) {
            use core::cell::Cell;
            let s = RxSteer::default();
            let queued = Cell::new(0usize);
            let mut scheduled = false;
            let mut now = 1u64;
            for (op, step, budget) in ops {
                if op == 2 {
                    now += step / 8;
                    s.note_tx(now, budget * 20_000);
                } else if op == 0 {
                    now += step / 8;
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
