// SPDX-License-Identifier: GPL-2.0

//! Data-channel keys: a peer's two key slots, each with its AEAD
//! transforms, nonce tails, TX packet-id counter and RX replay window.

use crate::abstractions::crypto::Aead;
use crate::abstractions::rcu::RcuPtr;
use crate::proto::aead::{CipherAlg, NONCE_TAIL_LEN};
use crate::proto::pktid::{ReplayWindow, TxPacketId};
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::rcu::Guard;
use kernel::sync::{Arc, SpinLock};

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
    enc: Aead,
    dec: Aead,
    nonce_enc: [u8; NONCE_TAIL_LEN],
    nonce_dec: [u8; NONCE_TAIL_LEN],
    tx_pid: TxPacketId,
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
                enc: e,
                dec: d,
                nonce_enc,
                nonce_dec,
                tx_pid: TxPacketId::new(),
                replay <- new_spinlock!(ReplayWindow::new()),
            }),
            GFP_KERNEL,
        )
    }

    /// The key id (0..7) sent in the packet header.
    pub(crate) fn key_id(&self) -> u8 {
        self.key_id
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

/// A peer's two key slots.  Readers use them under RCU; writers (the
/// netlink key commands) are serialised by the device's peer lock.
#[derive(Default)]
pub(crate) struct Keys {
    primary: RcuPtr<Arc<KeySlot>>,
    secondary: RcuPtr<Arc<KeySlot>>,
}

impl Keys {
    fn slot(&self, s: Slot) -> &RcuPtr<Arc<KeySlot>> {
        match s {
            Slot::Primary => &self.primary,
            Slot::Secondary => &self.secondary,
        }
    }

    /// The TX key (the primary).
    pub(crate) fn tx(&self, g: &Guard) -> Option<Arc<KeySlot>> {
        self.primary.get(g).cloned()
    }

    /// The RX key for `key_id`: the primary if it has that id, else the
    /// secondary if it does.
    pub(crate) fn rx(&self, key_id: u8, g: &Guard) -> Option<Arc<KeySlot>> {
        [&self.primary, &self.secondary]
            .into_iter()
            .filter_map(|s| s.get(g))
            .find(|k| k.key_id == key_id)
            .cloned()
    }

    /// Installs `key` in `slot`, replacing what was there (still usable by
    /// packets in flight).
    pub(crate) fn install(&self, slot: Slot, key: Arc<KeySlot>) -> Result {
        self.slot(slot).set(key, GFP_KERNEL)
    }

    /// Swaps the slots.  While it runs, readers see in each slot either
    /// its old or its new key (both slots briefly hold the same key).
    pub(crate) fn swap(&self) -> Result {
        let g = kernel::sync::rcu::read_lock();
        let p = self.primary.get(&g).cloned();
        let s = self.secondary.get(&g).cloned();
        drop(g);
        // Allocate both nodes before publishing anything.
        let np = s
            .map(|k| crate::abstractions::rcu::RcuBox::new(k, GFP_KERNEL))
            .transpose()?;
        let ns = p
            .map(|k| crate::abstractions::rcu::RcuBox::new(k, GFP_KERNEL))
            .transpose()?;
        self.primary.replace(np);
        self.secondary.replace(ns);
        Ok(())
    }

    /// Empties `slot`.
    pub(crate) fn delete(&self, slot: Slot) {
        self.slot(slot).clear();
    }

    /// Empties `slot` if it still holds `key` (used-up TX keys).
    pub(crate) fn delete_if(&self, slot: Slot, key: &Arc<KeySlot>) {
        let g = kernel::sync::rcu::read_lock();
        let same = self.slot(slot).get(&g).is_some_and(|k| Arc::ptr_eq(k, key));
        drop(g);
        if same {
            self.slot(slot).clear();
        }
    }
}
