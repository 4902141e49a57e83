// SPDX-License-Identifier: GPL-2.0

//! Data-channel keys: a peer's two key slots, each with its AEAD
//! transforms, nonce tails, TX packet-id counter and RX replay window.

use crate::abstractions::crypto::Aead;
use crate::abstractions::rcu::RcuPtr;
use crate::proto::aead::{CipherAlg, NONCE_TAIL_LEN};
use crate::proto::pktid::{ReplayWindow, TxPacketId};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::rcu::Guard;
use kernel::sync::{Arc, SpinLock};

/// A new key's first TX packet id: 1, or, in a test build (`make
/// OVPN_TEST_KEY_EXHAUSTION=1`, never installed), the last 256 ids of the
/// range, so that a key runs out after 256 packets and the exhaustion
/// path (removal, KEY_SWAP_NTF) can be tested in seconds.
const TX_PID_FIRST: u32 = if cfg!(ovpn_test_key_exhaustion) {
    0xFFFF_FF00
} else {
    1
};

/// The material of one direction of a key, as userspace sent it.
pub(crate) struct KeyDir<'a> {
    /// The cipher key.
    pub(crate) key: &'a [u8],
    /// The nonce tail.
    pub(crate) nonce_tail: [u8; NONCE_TAIL_LEN],
}

/// A key: both directions of one key id.
#[pin_data]
pub(crate) struct KeySlot {
    key_id: u8,
    alg: CipherAlg,
    enc: Aead,
    dec: Aead,
    nonce_enc: [u8; NONCE_TAIL_LEN],
    nonce_dec: [u8; NONCE_TAIL_LEN],
    tx_pid: TxPacketId,
    /// Set once the key's TX ids ran out and its removal was requested.
    used_up: AtomicBool,
    #[pin]
    replay: SpinLock<ReplayWindow>,
}

impl KeySlot {
    /// Creates a key.  The caller has checked the key lengths for `alg`.
    pub(crate) fn new(
        key_id: u8,
        alg: CipherAlg,
        enc: &KeyDir<'_>,
        dec: &KeyDir<'_>,
    ) -> Result<Arc<Self>> {
        let name = alg.crypto_name();
        let (nonce_enc, nonce_dec) = (enc.nonce_tail, dec.nonce_tail);
        let e = Aead::new(name, enc.key)?;
        let d = Aead::new(name, dec.key)?;
        Arc::pin_init(
            pin_init!(KeySlot {
                key_id,
                alg,
                enc: e,
                dec: d,
                nonce_enc,
                nonce_dec,
                tx_pid: TxPacketId::starting_at(TX_PID_FIRST),
                used_up: AtomicBool::new(false),
                replay <- new_spinlock!(ReplayWindow::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// The key id (0..7) sent in the packet header.
    pub(crate) fn key_id(&self) -> u8 {
        self.key_id
    }

    /// The key's cipher.
    pub(crate) fn alg(&self) -> CipherAlg {
        self.alg
    }

    /// The encrypting transform.
    pub(crate) fn enc(&self) -> &Aead {
        &self.enc
    }

    /// The decrypting transform.
    pub(crate) fn dec(&self) -> &Aead {
        &self.dec
    }

    /// The TX nonce tail.
    pub(crate) fn nonce_enc(&self) -> &[u8; NONCE_TAIL_LEN] {
        &self.nonce_enc
    }

    /// The RX nonce tail.
    pub(crate) fn nonce_dec(&self) -> &[u8; NONCE_TAIL_LEN] {
        &self.nonce_dec
    }

    /// The next TX packet id; `None` when the key is used up.
    pub(crate) fn next_tx_id(&self) -> Option<u32> {
        self.tx_pid.next()
    }

    /// Whether this call is the first to find the key used up (so that its
    /// removal is requested once).
    pub(crate) fn first_used_up(&self) -> bool {
        !self.used_up.swap(true, Ordering::Relaxed)
    }

    /// Checks an authenticated RX packet id against the replay window and
    /// records it.  Called from softirq context only.
    pub(crate) fn check_replay(&self, id: u32, now_ms: u64) -> bool {
        self.replay.lock().check(id, now_ms).is_ok()
    }
}

/// Which of the two slots.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Slot {
    /// The slot TX uses.
    Primary,
    /// The other one, for RX during a rotation.
    Secondary,
}

/// The contents of a peer's two key slots at one moment.
#[derive(Default)]
struct KeyPair {
    primary: Option<Arc<KeySlot>>,
    secondary: Option<Arc<KeySlot>>,
}

impl KeyPair {
    fn slot_mut(&mut self, s: Slot) -> &mut Option<Arc<KeySlot>> {
        match s {
            Slot::Primary => &mut self.primary,
            Slot::Secondary => &mut self.secondary,
        }
    }
}

/// A peer's two key slots.  Readers use them under RCU and always see both
/// slots of one moment: the pair is replaced as a whole, so a swap is
/// atomic for the data path.  Writers (the netlink key commands, and the
/// retirement of used-up keys) run in process context under the device's
/// peer lock.
#[derive(Default)]
pub(crate) struct Keys {
    pair: RcuPtr<KeyPair>,
}

impl Keys {
    /// The TX key (the primary).
    pub(crate) fn tx(&self, g: &Guard) -> Option<Arc<KeySlot>> {
        self.pair.get(g)?.primary.clone()
    }

    /// The RX key for `key_id`: the primary if it has that id, else the
    /// secondary if it does.
    pub(crate) fn rx(&self, key_id: u8, g: &Guard) -> Option<Arc<KeySlot>> {
        let pair = self.pair.get(g)?;
        [&pair.primary, &pair.secondary]
            .into_iter()
            .flatten()
            .find(|k| k.key_id == key_id)
            .cloned()
    }

    /// The key in `slot`, if any.
    pub(crate) fn get(&self, slot: Slot) -> Option<Arc<KeySlot>> {
        let g = kernel::sync::rcu::read_lock();
        let pair = self.pair.get(&g)?;
        match slot {
            Slot::Primary => pair.primary.clone(),
            Slot::Secondary => pair.secondary.clone(),
        }
    }

    /// Publishes what `change` makes of a copy of the current pair.
    /// Writers are serialised by the caller (the peer lock).
    fn update(&self, change: impl FnOnce(&mut KeyPair)) -> Result {
        let g = kernel::sync::rcu::read_lock();
        let mut pair = match self.pair.get(&g) {
            Some(p) => KeyPair {
                primary: p.primary.clone(),
                secondary: p.secondary.clone(),
            },
            None => KeyPair::default(),
        };
        drop(g);
        change(&mut pair);
        self.pair.set(pair, GFP_KERNEL)
    }

    /// Installs `key` in `slot`, replacing what was there (still usable by
    /// packets in flight).
    pub(crate) fn install(&self, slot: Slot, key: Arc<KeySlot>) -> Result {
        self.update(|p| *p.slot_mut(slot) = Some(key))
    }

    /// Swaps the slots, in one step for the data path.
    pub(crate) fn swap(&self) -> Result {
        self.update(|p| core::mem::swap(&mut p.primary, &mut p.secondary))
    }

    /// Empties `slot`.
    pub(crate) fn delete(&self, slot: Slot) -> Result {
        self.update(|p| *p.slot_mut(slot) = None)
    }

    /// Empties whichever slot still holds `key` (a used-up TX key);
    /// whether one did.
    pub(crate) fn delete_key(&self, key: &Arc<KeySlot>) -> Result<bool> {
        let held = |k: &Option<Arc<KeySlot>>| k.as_ref().is_some_and(|k| Arc::ptr_eq(k, key));
        let g = kernel::sync::rcu::read_lock();
        let found = self
            .pair
            .get(&g)
            .is_some_and(|p| held(&p.primary) || held(&p.secondary));
        drop(g);
        if !found {
            return Ok(false);
        }
        self.update(|p| {
            for s in [Slot::Primary, Slot::Secondary] {
                let s = p.slot_mut(s);
                if held(s) {
                    *s = None;
                }
            }
        })?;
        Ok(true)
    }
}
