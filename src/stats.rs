// SPDX-License-Identifier: GPL-2.0

//! The device's drop counters by reason, and the counts of packets that
//! went through the peers' RX and TX work (`ethtool -S`).

use crate::abstractions::netdev::NetDevice;
use crate::netdev::ovpn_of;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

/// Why a packet was dropped (the index of its counter in [`DropStats`]).
#[derive(Clone, Copy)]
pub(crate) enum Reason {
    /// RX: no peer with the packet's id (or source address).
    RxNoPeer,
    /// RX: no key with the packet's key id.
    RxNoKey,
    /// RX: authentication failed.
    RxBadAuth,
    /// RX: replayed or too old packet id.
    RxReplay,
    /// RX: malformed packet (too short, not IP).
    RxMalformed,
    /// RX: an MP peer's packet whose inner source does not route back to
    /// that peer (the reverse-path check), e.g. a spoofed address, or an
    /// IPv6 link-local router solicitation of the client's device.
    RxReversePath,
    /// RX: the peer's queue of packets to decrypt is full, or the crypto
    /// engine's (an asynchronous AEAD refused the request).
    RxBacklog,
    /// TX: no peer for the destination.
    TxNoPeer,
    /// TX: no key, or the key's packet ids are used up.
    TxNoKey,
    /// TX: any other failure (memory, route, encryption).
    TxError,
    /// TX: the peer's queue of packets to encrypt is full (`tx_work`).
    TxBacklog,
    /// TX: a routing loop: the tunnel's own outer packet came back into
    /// the device, or the route to the peer goes through it.
    TxLoop,
}

impl Reason {
    fn is_rx(self) -> bool {
        matches!(
            self,
            Reason::RxNoPeer
                | Reason::RxNoKey
                | Reason::RxBadAuth
                | Reason::RxReplay
                | Reason::RxMalformed
                | Reason::RxReversePath
                | Reason::RxBacklog
        )
    }
}

/// Why packets were dropped, per device (beyond the stats64 totals): one
/// counter per [`Reason`]; then the packets that went through a peer's RX
/// work rather than being decrypted where they arrived (`rx_queued`), and
/// those (GSO super-packets counted once) that a peer's TX work sent
/// (`tx_queued`).
#[derive(Default)]
pub(crate) struct DropStats([AtomicU64; DropStats::NAMES.len()]);

/// The index of `rx_queued` in [`DropStats`].
const RX_QUEUED: usize = Reason::TxLoop as usize + 1;
/// The index of `tx_queued` in [`DropStats`].
const TX_QUEUED: usize = RX_QUEUED + 1;
const _: () = assert!(DropStats::NAMES.len() == TX_QUEUED + 1);

impl DropStats {
    /// The counters' names for `ethtool -S`, in [`Reason`] order, then
    /// `rx_queued` and `tx_queued`.
    pub(crate) const NAMES: &'static [&'static CStr] = &[
        c"rx_drop_no_peer",
        c"rx_drop_no_key",
        c"rx_drop_bad_auth",
        c"rx_drop_replay",
        c"rx_drop_malformed",
        c"rx_drop_reverse_path",
        c"rx_drop_backlog",
        c"tx_drop_no_peer",
        c"tx_drop_no_key",
        c"tx_drop_error",
        c"tx_drop_backlog",
        c"tx_drop_loop",
        c"rx_queued",
        c"tx_queued",
    ];

    /// Reads the counters into `out`.
    pub(crate) fn read(&self, out: &mut [u64]) {
        for (o, c) in out.iter_mut().zip(&self.0) {
            *o = c.load(Ordering::Relaxed);
        }
    }
}

/// Counts a packet of `dev` dropped for `why`: in the device's stats64 and
/// in its counter by reason.  (The caller frees the packet, usually by
/// dropping it.)
pub(crate) fn dropped(dev: &NetDevice, why: Reason) {
    if let Some(ovpn) = ovpn_of(dev) {
        ovpn.drops().0[why as usize].fetch_add(1, Ordering::Relaxed);
    }
    if why.is_rx() {
        dev.stats_rx_dropped();
    } else {
        dev.stats_tx_dropped();
    }
}

/// Which of a peer's works a packet went through.
#[derive(Clone, Copy)]
pub(crate) enum Queued {
    /// The RX work (`rx_queued`).
    Rx,
    /// The TX work (`tx_queued`).
    Tx,
}

/// Counts `n` packets of `dev` that went through a peer's `which` work.
pub(crate) fn count_queued(dev: &NetDevice, which: Queued, n: u64) {
    let i = match which {
        Queued::Rx => RX_QUEUED,
        Queued::Tx => TX_QUEUED,
    };
    if let Some(ovpn) = ovpn_of(dev) {
        ovpn.drops().0[i].fetch_add(n, Ordering::Relaxed);
    }
}
