// SPDX-License-Identifier: GPL-2.0

//! Reception: a peer's DATA_V2 packet is decrypted (at once, or in the
//! peer's RX work for bursts), checked against replay, and delivered to
//! the device; packets whose key is not installed yet wait in the hold
//! area.

use crate::abstractions::crypto::{self, Aead, AeadJob, Direction};
use crate::abstractions::netdev::{now_ms, now_ns, with_bh_disabled};
use crate::abstractions::skb::SkBuff;
use crate::abstractions::wq;
use crate::crypto::KeySlot;
use crate::netdev::{ovpn_of, Api, Mode, Ovpn};
use crate::peer::{self, count, HeldRx, Peer, PeerSock};
use crate::proto::aead::{self as wire_aead, AAD_LEN, OVERHEAD};
use crate::proto::hold::HOLD_MAX;
use crate::proto::netdev::{ETH_P_IP, ETH_P_IPV6};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::wire;
use crate::stats::{dropped, Queued, Reason};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// Received packets a peer's RX queue holds at most; more are dropped.
const RX_QUEUE_MAX: usize = 1024;
/// Packets the RX work decrypts before it lets other work run.
const RX_BUDGET: usize = 64;

/// Takes a DATA_V2 packet (`skb` at its first byte) from `peer`, sent with
/// key `key_id`; `from` is the outer source and local address of a UDP
/// packet (for float).  A single packet is decrypted at once; in a burst
/// it joins the peer's RX queue, whose work decrypts it (see `RxSteer`).
/// The work runs on the module's unbound workqueue, so that the scheduler
/// can put it on another CPU than the one busy receiving (and, over veth
/// or on a router, sending): decryption and the inner stack's receive
/// path then run in parallel with the outer path, in order for each peer.
pub(crate) fn rx_packet(
    peer: Arc<Peer>,
    mut skb: SkBuff,
    key_id: u8,
    from: Option<(SockAddr, IpAddr)>,
) {
    // Too short to authenticate: never queued nor held (forged packets
    // must not take the peer's queue or hold slots for free).
    if !skb.may_pull(OVERHEAD) {
        dropped(peer.dev(), Reason::RxMalformed);
        return;
    }
    if !peer
        .rx_steer
        .steer(now_ns(), crate::abstractions::params::rx_burst())
    {
        rx_decrypt(peer, skb, key_id, from);
        return;
    }
    if peer.rx_q.len() >= RX_QUEUE_MAX {
        dropped(peer.dev(), Reason::RxBacklog);
        return;
    }
    // Kept past this softirq: no borrowed route (the outer headers stay,
    // for float).
    skb.detach();
    peer.rx_q.push(skb);
    rx_kick(peer);
}

/// Queues the RX work of `peer` on the module's unbound workqueue; if it
/// is queued already, that run finds the packets.  Every packet pushed to
/// `rx_q` is followed by this, so none is left without a run.
fn rx_kick(peer: Arc<Peer>) {
    if let Some(q) = wq::queue() {
        let _ = q.enqueue::<_, { crate::peer::RX_WORK }>(peer);
    }
}

/// The RX work of `peer`: decrypts what its queue holds, a budget at a
/// time, with BHs disabled as the data path expects.
pub(crate) fn rx_drain(peer: Arc<Peer>) {
    let udp = matches!(peer.sock(), PeerSock::Udp(_));
    peer::drain(&peer, &peer.rx_q, RX_BUDGET, Queued::Rx, |skb| {
        // The header was checked when the packet was queued.
        let Some(&b0) = skb.head().first() else {
            dropped(peer.dev(), Reason::RxMalformed);
            return;
        };
        let key_id = b0 & wire::KEY_ID_MAX;
        // The outer addresses, for float: the headers are still there.
        let from = udp.then(|| skb.udp_addrs());
        rx_decrypt(peer.clone(), skb, key_id, from);
    });
    // More to do (the budget ran out, or packets came meanwhile)?
    if peer.rx_steer.batch_done(|| peer.rx_q.is_empty()) {
        rx_kick(peer);
    }
}

/// Decrypts a DATA_V2 packet from `peer` (counted already), or holds it
/// if its key is not installed yet.
fn rx_decrypt(peer: Arc<Peer>, mut skb: SkBuff, key_id: u8, from: Option<(SockAddr, IpAddr)>) {
    let dev = peer.dev();
    let g = rcu::read_lock();
    let key = peer.keys.rx(key_id, &g);
    drop(g);
    let Some(key) = key else {
        hold(&peer, skb, key_id, from);
        return;
    };
    // (Checked before queueing; a held or queued packet keeps it.)
    if !skb.may_pull(OVERHEAD) {
        dropped(dev, Reason::RxMalformed);
        return;
    }
    // The header and packet id (the fuzzed parser; the tag and payload
    // may lie beyond the linear head, and the AEAD reads them there).
    let Ok(parts) = wire_aead::split(&skb.head()[..OVERHEAD]) else {
        dropped(dev, Reason::RxMalformed);
        return;
    };
    let pid = parts.packet_id;
    let iv = wire_aead::nonce(pid, key.nonce_dec());
    crypto::run(
        RxJob {
            peer,
            key,
            pid,
            from,
        },
        Direction::Decrypt,
        skb,
        AAD_LEN,
        iv,
    );
}

/// Keeps a packet whose key is not installed: during a renegotiation the
/// peer may use the new key a moment before userspace installs it here
/// (see `proto::hold`).  Packets pushed out of the holding area count as
/// dropped for want of a key.  Called in softirq (or with bottom halves
/// disabled).
fn hold(peer: &Arc<Peer>, mut skb: SkBuff, key_id: u8, from: Option<(SockAddr, IpAddr)>) {
    skb.detach();
    let dev = peer.dev();
    let mut held = peer.held.lock();
    held.push(HeldRx { skb, from }, key_id, now_ms(), |_| {
        dropped(dev, Reason::RxNoKey)
    });
    // The key may have been installed since it was looked up, and its
    // held packets released before this one joined them: NEW_KEY installs
    // before it takes this lock, so the key is visible now if so.
    let g = rcu::read_lock();
    let keyed = peer.keys.rx(key_id, &g).is_some();
    drop(g);
    drop(held);
    if keyed {
        release_held(peer, key_id);
    }
}

/// Decrypts the packets `peer` sent with key `key_id` that waited for it
/// (after NEW_KEY installed the key, or when one joined them late).
pub(crate) fn release_held(peer: &Arc<Peer>, key_id: u8) {
    with_bh_disabled(|| {
        let mut ready: [Option<HeldRx>; HOLD_MAX] = [const { None }; HOLD_MAX];
        let mut n = 0usize;
        peer.held.lock().take(
            key_id,
            now_ms(),
            |h| {
                // `take` hands out at most HOLD_MAX packets.
                if let Some(slot) = ready.get_mut(n) {
                    *slot = Some(h);
                    n += 1;
                }
            },
            |_| dropped(peer.dev(), Reason::RxNoKey),
        );
        for h in ready.into_iter().flatten() {
            rx_decrypt(peer.clone(), h.skb, key_id, h.from);
        }
    });
}

/// A decryption in flight.
struct RxJob {
    peer: Arc<Peer>,
    key: Arc<KeySlot>,
    pid: u32,
    /// The outer source, and the local address it was sent to (UDP).
    from: Option<(SockAddr, IpAddr)>,
}

impl AeadJob for RxJob {
    fn aead(&self) -> &Aead {
        self.key.dec()
    }

    fn complete(self, mut skb: SkBuff, result: Result) {
        let peer = &self.peer;
        let dev = peer.dev();
        let Some(ovpn) = ovpn_of(dev) else {
            dev.stats_rx_dropped();
            return;
        };
        match result {
            Ok(()) => (),
            Err(e) if e == crate::abstractions::ebadmsg() => {
                dropped(dev, Reason::RxBadAuth);
                return;
            }
            // Refused by the crypto engine's full queue, or no memory.
            Err(_) => {
                dropped(dev, Reason::RxBacklog);
                return;
            }
        }
        if self.pid == 0 || !self.key.check_replay(self.pid, now_ms()) {
            dropped(dev, Reason::RxReplay);
            return;
        }
        // Only authentic packets count as the peer's traffic.
        count(
            &peer.stats.link_rx_bytes,
            &peer.stats.link_rx_packets,
            skb.len(),
        );
        if skb.pull(OVERHEAD).is_err() {
            dropped(dev, Reason::RxMalformed);
            return;
        }
        peer.mark_rx();
        // Linux's API: any authentic packet shows where the peer is, in
        // both modes, before the checks of what it carries.
        if let (Api::Ovpn, Some(from)) = (ovpn.api(), &self.from) {
            float(peer, from);
        }
        let len = skb.len();
        count(&peer.stats.vpn_rx_bytes, &peer.stats.vpn_rx_packets, len);
        if len == wire_aead::KEEPALIVE_MAGIC.len()
            && skb.may_pull(len)
            && wire_aead::is_keepalive(skb.head())
        {
            // A keepalive: it did its job by arriving (and tells where the
            // peer is now).
            if let (Mode::Mp, Api::DcoV2, Some(from)) = (ovpn.mode(), ovpn.api(), &self.from) {
                float(peer, from);
            }
            skb.consume();
            return;
        }
        let proto = match skb.may_pull(1).then(|| skb.head()[0] >> 4) {
            Some(4) if skb.may_pull(20) => ETH_P_IP,
            Some(6) if skb.may_pull(40) => ETH_P_IPV6,
            _ => {
                dropped(dev, Reason::RxMalformed);
                return;
            }
        };
        if ovpn.mode() == Mode::Mp {
            if !from_peer(ovpn, peer, &skb, proto) {
                // Reverse-path check: the inner source must route to the
                // sender.
                dropped(dev, Reason::RxReversePath);
                return;
            }
            // Authentic, fresh and plausible: the peer may have moved.
            if let (Api::DcoV2, Some(from)) = (ovpn.api(), &self.from) {
                float(peer, from);
            }
        }
        skb.rx_prepare(dev, proto);
        ovpn.gro().receive(skb);
        dev.stats_rx_add(len);
    }
}

/// Moves `peer` to the source of an authenticated packet if it came from
/// elsewhere (float), and says so to userspace.
fn float(peer: &Peer, from: &(SockAddr, IpAddr)) {
    let (remote, local) = from;
    if let Ok(true) = peer.float_to(*remote, *local) {
        pr_debug!("peer {}: floated\n", peer.id());
        if let Err(e) = crate::netlink::notify::peer_floated(peer, remote) {
            pr_warn!("peer {}: float notice not sent ({:?})\n", peer.id(), e);
        }
        // The address table is updated from process context.
        if crate::deferred::refile_later(peer.dev()).is_err() {
            pr_warn!("peer {}: floated, not re-filed (no memory)\n", peer.id());
        }
    }
}

/// Whether the inner source address of `skb` routes back to `peer` (MP):
/// either it is the peer's VPN address, or the route toward it goes
/// through that address (a network behind the peer).
fn from_peer(ovpn: &Ovpn, peer: &Arc<Peer>, skb: &SkBuff, proto: u16) -> bool {
    let h = skb.head();
    let net = peer.dev().net();
    let g = rcu::read_lock();
    let is_peer = |o: Option<&Arc<Peer>>| o.is_some_and(|o| Arc::ptr_eq(o, peer));
    if proto == ETH_P_IP {
        let mut a = [0u8; 4];
        a.copy_from_slice(&h[12..16]);
        is_peer(ovpn.tables().by_vpn4(&a, &g))
            || is_peer(ovpn.tables().by_vpn4(&net.nexthop4(a), &g))
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[8..24]);
        is_peer(ovpn.tables().by_vpn6(&a, &g))
            || is_peer(ovpn.tables().by_vpn6(&net.nexthop6(a), &g))
    }
}
