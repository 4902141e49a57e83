// SPDX-License-Identifier: GPL-2.0

//! Packet ids: the transmit counter and the receive replay window.
//!
//! Each key slot numbers its packets from 1; id 0 never appears on the
//! wire, and after 0xFFFF_FFFF the key must be replaced.  The receiver
//! accepts each id at most once, within a window of the last
//! [`REPLAY_WINDOW`] ids below the highest seen; ids that arrive after a
//! quiet period of [`REPLAY_EXPIRE_MS`] cannot go back below the highest id
//! seen before it.  The check runs after authentication, so that forged
//! packets cannot move the window.

use core::sync::atomic::{AtomicU64, Ordering};

/// Size of the replay window, in packet ids.
pub const REPLAY_WINDOW: u32 = 2048;
/// After this long without an accepted packet, ids at or below the highest
/// seen are refused.
pub const REPLAY_EXPIRE_MS: u64 = 30_000;

const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// The transmit packet-id counter of one key.
#[derive(Debug)]
pub struct TxPacketId {
    next: AtomicU64,
}

impl Default for TxPacketId {
    fn default() -> Self {
        Self::new()
    }
}

impl TxPacketId {
    /// A counter whose first id is 1.
    pub const fn new() -> Self {
        Self {
            next: AtomicU64::new(1),
        }
    }

    /// A counter whose next id is `next` (for tests of exhaustion).
    pub const fn starting_at(next: u32) -> Self {
        Self {
            next: AtomicU64::new(next as u64),
        }
    }

    /// Takes the next id; `None` once all 2^32 - 1 ids are used, after
    /// which the key must not encrypt any more.
    pub fn next(&self) -> Option<u32> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        // Ids stay below 2^32 for the life of a key; the 64-bit counter
        // cannot wrap in practice (it would take 2^64 calls).
        u32::try_from(id).ok()
    }
}

/// Why a received packet id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// Id 0 is never sent.
    Zero,
    /// The id was already received.
    Replayed,
    /// The id is older than the window.
    TooOld,
    /// The id is at or below the floor set after a quiet period.
    BelowFloor,
}

/// The receive replay window of one key.
#[derive(Clone, Debug)]
pub struct ReplayWindow {
    /// Bit `id % REPLAY_WINDOW` is set when `id` (within the window) was
    /// received.
    seen: [u64; WORDS],
    /// The highest id accepted so far (0: none yet).
    highest: u32,
    /// Ids at or below this are refused (raised after a quiet period).
    floor: u32,
    /// When the window expires, in the caller's milliseconds.
    expire_at: u64,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// An empty window.
    pub const fn new() -> Self {
        Self {
            seen: [0; WORDS],
            highest: 0,
            floor: 0,
            expire_at: 0,
        }
    }

    fn bit(id: u32) -> (usize, u64) {
        let i = id % REPLAY_WINDOW;
        ((i / 64) as usize, 1u64 << (i % 64))
    }

    /// Checks an authenticated packet's id at time `now_ms` (monotonic
    /// milliseconds) and, if accepted, records it.
    pub fn check(&mut self, id: u32, now_ms: u64) -> Result<(), ReplayError> {
        if id == 0 {
            return Err(ReplayError::Zero);
        }
        if now_ms >= self.expire_at {
            self.floor = self.highest;
        }
        if id > self.highest {
            let delta = id - self.highest;
            if delta >= REPLAY_WINDOW {
                self.seen = [0; WORDS];
            } else {
                // Forget the slots the window slides over.
                let mut i = self.highest.wrapping_add(1);
                while i != id {
                    let (w, m) = Self::bit(i);
                    self.seen[w] &= !m;
                    i = i.wrapping_add(1);
                }
            }
            let (w, m) = Self::bit(id);
            self.seen[w] |= m;
            self.highest = id;
        } else {
            // The window covers the ids highest - extent + 1 ..= highest,
            // where extent is min(REPLAY_WINDOW, highest).
            let back = self.highest - id;
            if back >= REPLAY_WINDOW.min(self.highest) {
                return Err(ReplayError::TooOld);
            }
            if id <= self.floor {
                return Err(ReplayError::BelowFloor);
            }
            let (w, m) = Self::bit(id);
            if self.seen[w] & m != 0 {
                return Err(ReplayError::Replayed);
            }
            self.seen[w] |= m;
        }
        self.expire_at = now_ms.saturating_add(REPLAY_EXPIRE_MS);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn in_order_and_replays() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.check(0, 0), Err(ReplayError::Zero));
        for id in 1..5000 {
            assert_eq!(w.check(id, 0), Ok(()));
        }
        assert_eq!(w.check(4999, 0), Err(ReplayError::Replayed));
        assert_eq!(w.check(4000, 0), Err(ReplayError::Replayed));
        assert_eq!(w.check(4999 - 2048, 0), Err(ReplayError::TooOld));
    }

    #[test]
    fn reordering_inside_the_window() {
        let mut w = ReplayWindow::new();
        assert_eq!(w.check(10, 0), Ok(()));
        for id in (1..10).rev() {
            assert_eq!(w.check(id, 0), Ok(()), "{id}");
        }
        assert_eq!(w.check(5, 0), Err(ReplayError::Replayed));
        assert_eq!(w.check(3000, 0), Ok(()));
        // 3000 - 2047 is the oldest id still inside the window.
        assert_eq!(w.check(3000 - 2047, 0), Ok(()));
        assert_eq!(w.check(3000 - 2048, 0), Err(ReplayError::TooOld));
    }

    #[test]
    fn jump_beyond_the_window_resets_it() {
        let mut w = ReplayWindow::new();
        for id in 1..=100 {
            w.check(id, 0).unwrap();
        }
        w.check(100 + 5000, 0).unwrap();
        // Ids just below the new highest were never seen: accepted once.
        assert_eq!(w.check(5099, 0), Ok(()));
        assert_eq!(w.check(5099, 0), Err(ReplayError::Replayed));
    }

    #[test]
    fn quiet_period_raises_the_floor() {
        let mut w = ReplayWindow::new();
        w.check(1, 0).unwrap();
        w.check(5, 1_000).unwrap();
        // Inside 30 s a late id is fine...
        w.check(3, 20_000).unwrap();
        // ...after 30 s of silence, nothing at or below 5 any more.
        assert_eq!(w.check(4, 50_001), Err(ReplayError::BelowFloor));
        assert_eq!(w.check(6, 50_002), Ok(()));
    }

    #[test]
    fn tx_counter_exhausts() {
        let c = TxPacketId::new();
        assert_eq!(c.next(), Some(1));
        assert_eq!(c.next(), Some(2));
        let c = TxPacketId::starting_at(u32::MAX - 1);
        assert_eq!(c.next(), Some(u32::MAX - 1));
        assert_eq!(c.next(), Some(u32::MAX));
        assert_eq!(c.next(), None);
        assert_eq!(c.next(), None);
    }

    /// A direct statement of the acceptance rule, for comparison.
    struct Model {
        seen: HashSet<u32>,
        highest: u32,
        floor: u32,
        expire_at: u64,
    }

    impl Model {
        fn check(&mut self, id: u32, now: u64) -> bool {
            if id == 0 {
                return false;
            }
            if now >= self.expire_at {
                self.floor = self.highest;
            }
            let ok = if id > self.highest {
                true
            } else {
                self.highest - id < REPLAY_WINDOW.min(self.highest)
                    && id > self.floor
                    && !self.seen.contains(&id)
            };
            if ok {
                self.seen.insert(id);
                self.highest = self.highest.max(id);
                self.expire_at = now + REPLAY_EXPIRE_MS;
            }
            ok
        }
    }

    proptest! {
        #[test]
        fn agrees_with_model(steps in proptest::collection::vec((0u32..6000, 0u64..2000), 1..400)) {
            let mut w = ReplayWindow::new();
            let mut m = Model { seen: HashSet::new(), highest: 0, floor: 0, expire_at: 0 };
            let mut now = 0u64;
            for (id, dt) in steps {
                now += dt * 20;
                prop_assert_eq!(w.check(id, now).is_ok(), m.check(id, now), "id {} at {}", id, now);
            }
        }

        #[test]
        fn never_accepts_twice(ids in proptest::collection::vec(1u32..300, 1..600)) {
            let mut w = ReplayWindow::new();
            let mut accepted = HashSet::new();
            for id in ids {
                if w.check(id, 0).is_ok() {
                    prop_assert!(accepted.insert(id), "{} accepted twice", id);
                }
            }
        }
    }
}
