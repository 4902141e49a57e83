// SPDX-License-Identifier: GPL-2.0

//! A small, bounded holding area for received data packets whose key is
//! not installed yet.
//!
//! During a key renegotiation the peer may start sending with the new key
//! a moment before OpenVPN on this side has installed it: the last control
//! message (which makes this side derive the key) and the first data
//! packets under the new key arrive together, but the kernel sees the data
//! at once while userspace needs a wake-up and a netlink request to
//! install the key.  OpenVPN's own userspace data channel never loses a
//! packet there (it reads both in order); to match it, such packets wait
//! here for [`HOLD_MS`] and are decrypted when NEW_KEY installs their key.
//!
//! The area is per peer, holds at most [`HOLD_MAX`] packets and never
//! allocates: a packet that does not fit pushes out the oldest one, and
//! packets older than [`HOLD_MS`] are pushed out first.  What is pushed
//! out is handed back to the caller to be dropped and counted.  Nothing
//! held has been authenticated, so a flood of forged packets can only
//! push out other unauthenticated packets of the same peer.

/// How many packets a peer may have waiting for a key.
pub const HOLD_MAX: usize = 8;

/// How long (ms) a packet may wait for its key.
pub const HOLD_MS: u64 = 2000;

/// One waiting packet: the item, its key id, when it arrived (ms) and
/// its place in arrival order.
struct Held<T> {
    item: T,
    key_id: u8,
    at_ms: u64,
    seq: u64,
}

/// Packets waiting for the key they were sent with (see the module
/// documentation).  Arrival order is kept.
pub struct Hold<T> {
    slots: [Option<Held<T>>; HOLD_MAX],
    /// The arrival number of the next packet: packets of one millisecond
    /// (a burst) have the same `at_ms`, and slots are reused out of order.
    next_seq: u64,
}

impl<T> Default for Hold<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Hold<T> {
    /// An empty holding area.
    pub const fn new() -> Self {
        Self {
            slots: [const { None }; HOLD_MAX],
            next_seq: 0,
        }
    }

    /// How many packets wait.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Whether none waits.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|s| s.is_none())
    }

    /// Removes the packets that waited longer than [`HOLD_MS`] at `now`
    /// (ms), passing each to `expired`.
    pub fn expire(&mut self, now: u64, mut expired: impl FnMut(T)) {
        for s in self.slots.iter_mut() {
            if s.as_ref()
                .is_some_and(|h| now.saturating_sub(h.at_ms) >= HOLD_MS)
            {
                if let Some(h) = s.take() {
                    expired(h.item);
                }
            }
        }
    }

    /// Holds `item`, sent with key `key_id`, arrived at `now` (ms).  Stale
    /// packets are removed first (to `expired`); if the area is still
    /// full, the oldest packet goes to `expired` to make room.
    pub fn push(&mut self, item: T, key_id: u8, now: u64, mut expired: impl FnMut(T)) {
        self.expire(now, &mut expired);
        let free = self.slots.iter().position(|s| s.is_none());
        let at = match free {
            Some(i) => i,
            None => {
                // Full: the oldest makes room.
                let oldest = self
                    .slots
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| s.as_ref().map_or(u64::MAX, |h| h.seq))
                    .map_or(0, |(i, _)| i);
                if let Some(h) = self.slots[oldest].take() {
                    expired(h.item);
                }
                oldest
            }
        };
        self.slots[at] = Some(Held {
            item,
            key_id,
            at_ms: now,
            seq: self.next_seq,
        });
        self.next_seq += 1;
    }

    /// Takes out the packets sent with key `key_id` that are still fresh
    /// at `now` (ms), in arrival order, passing each to `ready`; stale
    /// ones go to `expired`.  Packets for other keys stay.
    pub fn take(
        &mut self,
        key_id: u8,
        now: u64,
        mut ready: impl FnMut(T),
        mut expired: impl FnMut(T),
    ) {
        self.expire(now, &mut expired);
        loop {
            let next = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.as_ref().is_some_and(|h| h.key_id == key_id))
                .min_by_key(|(_, s)| s.as_ref().map_or(u64::MAX, |h| h.seq))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            if let Some(h) = self.slots[i].take() {
                ready(h.item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(h: &mut Hold<u32>, key: u8, now: u64) -> (Vec<u32>, Vec<u32>) {
        let (mut r, mut e) = (Vec::new(), Vec::new());
        h.take(key, now, |x| r.push(x), |x| e.push(x));
        (r, e)
    }

    #[test]
    fn released_in_order_for_their_key_only() {
        let mut h = Hold::new();
        let mut gone = Vec::new();
        h.push(1, 3, 100, |x| gone.push(x));
        h.push(2, 4, 110, |x| gone.push(x));
        h.push(3, 3, 120, |x| gone.push(x));
        assert!(gone.is_empty());
        assert_eq!(taken(&mut h, 3, 200), (vec![1, 3], vec![]));
        assert_eq!(h.len(), 1);
        assert_eq!(taken(&mut h, 4, 200), (vec![2], vec![]));
        assert!(h.is_empty());
    }

    #[test]
    fn same_millisecond_keeps_arrival_order() {
        // Found by the hold_area fuzz target: packets of one millisecond
        // came out in slot order once a slot was reused.
        let mut h = Hold::new();
        h.push(1, 1, 5, |_| panic!());
        h.push(2, 2, 5, |_| panic!());
        assert_eq!(taken(&mut h, 1, 5), (vec![1], vec![]));
        // Packet 3 takes packet 1's slot, before packet 2's.
        h.push(3, 2, 5, |_| panic!());
        assert_eq!(taken(&mut h, 2, 5), (vec![2, 3], vec![]));
    }

    #[test]
    fn stale_packets_expire() {
        let mut h = Hold::new();
        h.push(1, 1, 0, |_| panic!());
        h.push(2, 1, 600, |_| panic!());
        let (r, e) = taken(&mut h, 1, HOLD_MS + 100);
        assert_eq!((r, e), (vec![2], vec![1]));
    }

    #[test]
    fn full_area_pushes_out_the_oldest() {
        let mut h = Hold::new();
        let mut gone = Vec::new();
        for i in 0..HOLD_MAX as u32 {
            h.push(i, 1, 10 + u64::from(i), |x| gone.push(x));
        }
        assert!(gone.is_empty());
        h.push(100, 1, 50, |x| gone.push(x));
        assert_eq!(gone, vec![0]);
        assert_eq!(h.len(), HOLD_MAX);
        let (r, _) = taken(&mut h, 1, 60);
        let mut want: Vec<u32> = (1..HOLD_MAX as u32).collect();
        want.push(100);
        assert_eq!(r, want);
    }

    #[test]
    fn never_more_than_max_whatever_the_clock() {
        // Clocks may look backwards (saturating ages); the bound holds.
        let mut h = Hold::new();
        let mut n_gone = 0;
        for i in 0..100u64 {
            let now = (i * 7919) % 3000;
            h.push(i, (i % 3) as u8, now, |_| n_gone += 1);
            assert!(h.len() <= HOLD_MAX);
        }
        assert_eq!(n_gone + h.len(), 100);
    }
}
