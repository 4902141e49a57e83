// SPDX-License-Identifier: GPL-2.0

//! What the data path, in softirq context, leaves to process context:
//! re-filing floated peers, retiring used-up keys, and removing peers
//! whose transport failed.  Each runs on the module's workqueue under the
//! device's peer mutex.

use crate::abstractions::netdev::NetDevice;
use crate::abstractions::wq;
use crate::crypto::KeySlot;
use crate::netdev::{ovpn_of, Mode};
use crate::peer::{self, Peer};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;

/// Re-files the floated peers of `dev` in the transport-address table
/// (MP devices) from process context, once for however many floats came
/// before it runs.  Callable from softirq context.
pub(crate) fn refile_later(dev: &NetDevice) -> Result {
    let Some(ovpn) = ovpn_of(dev) else {
        return Ok(());
    };
    if ovpn.mode() == Mode::P2p || !ovpn.refile_requested() {
        return Ok(());
    }
    let dev: ARef<NetDevice> = dev.into();
    wq::run_later(move || {
        if let Some(ovpn) = ovpn_of(&dev) {
            // Cleared first: a float after this point asks again.
            ovpn.refile_started();
            ovpn.peers().lock().refile(ovpn.tables());
        }
    })
    .inspect_err(|_| ovpn.refile_started())
}

/// Takes `key`, whose TX ids ran out, out of whichever of `peer`'s slots
/// holds it, from process context, and asks userspace for a new one.
/// Callable from softirq context.
pub(crate) fn retire_key_later(peer: &Arc<Peer>, key: &Arc<KeySlot>) -> Result {
    let (peer, key) = (peer.clone(), key.clone());
    wq::run_later(move || {
        let Some(ovpn) = ovpn_of(peer.dev()) else {
            return;
        };
        // Key changes are serialised by the peer lock; the slot may hold
        // another key by now, which stays.
        let set = ovpn.peers().lock();
        // Unless the peer went meanwhile (or its id was reused).
        if !set.get(peer.id()).is_some_and(|p| Arc::ptr_eq(&p, &peer)) {
            return;
        }
        // Userspace may have replaced or deleted the key meanwhile: then
        // there is nothing to renew.
        let retired = match peer.keys.delete_key(&key) {
            Ok(r) => r,
            Err(_) => {
                pr_warn!("peer {}: used-up key not retired (no memory)\n", peer.id());
                false
            }
        };
        drop(set);
        if retired {
            if let Err(e) = crate::netlink::notify::key_exhausted(&peer, key.key_id()) {
                pr_warn!("peer {}: key renewal not requested ({:?})\n", peer.id(), e);
            }
        }
    })
}

/// Removes `peer` with `reason` (a `OVPN_DEL_PEER_REASON_*`) from process
/// context, unless it went meanwhile.  Callable from softirq context.
pub(crate) fn remove_later(peer: &Arc<Peer>, reason: u8) -> Result {
    let peer = peer.clone();
    wq::run_later(move || {
        let dev = peer.dev();
        let Some(ovpn) = ovpn_of(dev) else {
            return;
        };
        let mut set = ovpn.peers().lock();
        // Unless it went meanwhile (or its id was reused).
        let same = set.get(peer.id()).is_some_and(|p| Arc::ptr_eq(&p, &peer));
        let removed = if same {
            set.remove(ovpn.tables(), peer.id())
        } else {
            None
        };
        ovpn.sync_carrier(dev, &set);
        drop(set);
        if let Some(p) = removed {
            peer::announce_removed(dev, p, reason);
        }
    })
}
