// SPDX-License-Identifier: GPL-2.0

//! Transmission: the device's packets, to their peer (by VPN address in
//! MP mode), encrypted with its primary key and sent through its socket;
//! in the sender's context, or in the peer's TX work (`tx_work`).

use crate::abstractions::crypto::{self, Aead, AeadJob, Direction};
use crate::abstractions::netdev::{now_ns, with_bh_disabled, NetDevice};
use crate::abstractions::skb::SkBuff;
use crate::abstractions::wq;
use crate::crypto::KeySlot;
use crate::netdev::{Mode, Ovpn};
use crate::peer::{self, count, Peer, PeerSock};
use crate::proto::aead::{self as wire_aead, AAD_LEN, OVERHEAD};
use crate::proto::netdev::{ETH_P_IP, ETH_P_IPV6, IP_HEADER_MAX_LEN, UDP_HEADER_LEN};
use crate::proto::wire::DataV2Header;
use crate::stats::{dropped, Queued, Reason};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// `ndo_start_xmit`: finds the peer and sends each (GSO-segmented) packet.
pub(crate) fn xmit(dev: &NetDevice, ovpn: &Ovpn, mut skb: SkBuff) {
    // A segment of one of the device's TCP tunnels, routed into the
    // device itself.
    if crate::tcp::is_own_outer_segment(&skb, dev) {
        dropped(dev, Reason::TxLoop);
        return;
    }
    let proto = skb.protocol();
    let g = rcu::read_lock();
    let peer = match ovpn.mode() {
        Mode::P2p => ovpn.tables().p2p(&g),
        Mode::Mp => match proto {
            ETH_P_IP if skb.may_pull(20) => {
                let nh = skb.nexthop4();
                ovpn.tables().by_vpn4(&nh, &g)
            }
            ETH_P_IPV6 if skb.may_pull(40) => {
                let nh = skb.nexthop6();
                ovpn.tables().by_vpn6(&nh, &g)
            }
            _ => None,
        },
    };
    let Some(peer) = peer.cloned() else {
        drop(g);
        dropped(dev, Reason::TxNoPeer);
        return;
    };
    drop(g);
    if proto != ETH_P_IP && proto != ETH_P_IPV6 {
        dropped(dev, Reason::TxError);
        return;
    }
    // What comes back from a peer we send bulk to is steered to the work.
    peer.rx_steer.note_tx(now_ns(), skb.len());
    if crate::abstractions::params::tx_work() != 0 {
        if peer.tx_q.len() >= TX_QUEUE_MAX {
            dropped(dev, Reason::TxBacklog);
            return;
        }
        // The inner route may be borrowed for this call only.
        skb.dst_drop();
        peer.tx_q.push(skb);
        tx_kick(peer);
        return;
    }
    send_segments(peer, skb);
}

/// Encrypts and sends `skb` to `peer`, segmenting it first if it is a
/// GSO super-packet.
fn send_segments(peer: Arc<Peer>, skb: SkBuff) {
    if !skb.is_gso() {
        send_one(peer, skb);
        return;
    }
    let dev = peer.dev();
    match skb.gso_segment() {
        Ok(segs) => {
            for seg in segs {
                send_one(peer.clone(), seg);
            }
        }
        Err(_) => dropped(dev, Reason::TxError),
    }
}

/// Packets (GSO super-packets count as one) a peer's TX queue holds at
/// most; more are dropped.  The sending socket's own limits (TCP small
/// queues) usually stop it long before.
const TX_QUEUE_MAX: usize = 1024;
/// Packets the TX work sends before it lets other work run.
const TX_BUDGET: usize = 16;

/// Queues the TX work of `peer` on the module's unbound workqueue; if it
/// is queued already, that run finds the packets.  Every packet pushed to
/// `tx_q` is followed by this, so none is left without a run.
fn tx_kick(peer: Arc<Peer>) {
    if let Some(q) = wq::queue() {
        let _ = q.enqueue::<_, { crate::peer::TX_WORK }>(peer);
    }
}

/// The TX work of `peer`: encrypts and sends what its queue holds, in
/// order, a budget at a time, with BHs disabled as the data path expects.
pub(crate) fn tx_drain(peer: Arc<Peer>) {
    peer::drain(&peer, &peer.tx_q, TX_BUDGET, Queued::Tx, |skb| {
        send_segments(peer.clone(), skb)
    });
    // More to do (the budget ran out, or packets came meanwhile)?
    if !peer.tx_q.is_empty() {
        tx_kick(peer);
    }
}

/// Sends the keepalive ping to `peer` (process context).
pub(crate) fn send_keepalive(peer: Arc<Peer>) {
    let room = usize::from(crate::proto::netdev::HEADROOM);
    match SkBuff::new_with(peer.dev(), room, &wire_aead::KEEPALIVE_MAGIC) {
        Ok(skb) => with_bh_disabled(|| send_one(peer, skb)),
        // The per-CPU counters need BHs off (this is a kworker).
        Err(_) => with_bh_disabled(|| dropped(peer.dev(), Reason::TxError)),
    }
}

/// Encrypts and sends one packet to `peer`.
fn send_one(peer: Arc<Peer>, mut skb: SkBuff) {
    let dev = peer.dev();
    let g = rcu::read_lock();
    let key = peer.keys.tx(&g);
    drop(g);
    let Some(key) = key else {
        dropped(dev, Reason::TxNoKey);
        return;
    };
    let Some(pid) = key.next_tx_id() else {
        // Used up: the key is useless for TX from now on, and is taken
        // out of its slot from process context.
        if key.first_used_up() && crate::deferred::retire_key_later(&peer, &key).is_err() {
            pr_warn!("peer {}: used-up key not retired (no memory)\n", peer.id());
        }
        dropped(dev, Reason::TxNoKey);
        return;
    };
    let plain_len = skb.len();
    // The inner route is done with; the outer one replaces it.
    skb.dst_drop();
    if skb.checksum_resolve().is_err()
        || skb
            .cow_head(OVERHEAD + UDP_HEADER_LEN + IP_HEADER_MAX_LEN + 16)
            .is_err()
    {
        dropped(dev, Reason::TxError);
        return;
    }
    let hdr = DataV2Header::new(key.key_id(), peer.tx_id());
    match skb.push(OVERHEAD) {
        Ok(h) => {
            h[..AAD_LEN].copy_from_slice(&wire_aead::aad(hdr, pid));
            // The tag is written by the encryption.
        }
        Err(_) => {
            dropped(dev, Reason::TxError);
            return;
        }
    }
    count(
        &peer.stats.vpn_tx_bytes,
        &peer.stats.vpn_tx_packets,
        plain_len,
    );
    let iv = wire_aead::nonce(pid, key.nonce_enc());
    crypto::run(TxJob { peer, key }, Direction::Encrypt, skb, AAD_LEN, iv);
}

/// An encryption in flight.
struct TxJob {
    peer: Arc<Peer>,
    key: Arc<KeySlot>,
}

impl AeadJob for TxJob {
    fn aead(&self) -> &Aead {
        self.key.enc()
    }

    fn complete(self, skb: SkBuff, result: Result) {
        let peer = &self.peer;
        let dev = peer.dev();
        if result.is_err() {
            dropped(dev, Reason::TxError);
            return;
        }
        let len = skb.len();
        let sock = match peer.sock() {
            PeerSock::Udp(sock) => sock,
            PeerSock::Tcp(ts) => {
                // Framed and sent at once, or queued for the socket's
                // owner or its work when it is busy or full; in order.
                match crate::tcp::send(ts, skb) {
                    Ok(()) => {
                        dev.stats_tx_add(len);
                        count(&peer.stats.link_tx_bytes, &peer.stats.link_tx_packets, len);
                        peer.mark_tx();
                    }
                    Err(_) => dropped(dev, Reason::TxError),
                }
                return;
            }
        };
        let g = rcu::read_lock();
        let Some(bind) = peer.bind(&g) else {
            dropped(dev, Reason::TxError);
            return;
        };
        let sent = sock.send(
            skb,
            &bind.remote.ip,
            bind.remote.port,
            bind.remote.scope_id,
            bind.local.as_ref(),
            peer.dst_cache(),
        );
        drop(g);
        match sent {
            Ok(()) => {
                // The tunnel helper counted the packet in the device's
                // TX stats (as the outer packet it sent).
                count(&peer.stats.link_tx_bytes, &peer.stats.link_tx_packets, len);
                peer.mark_tx();
            }
            Err(e) if e == crate::abstractions::eloop() => dropped(dev, Reason::TxLoop),
            Err(_) => dropped(dev, Reason::TxError),
        }
    }
}
