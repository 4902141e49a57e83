// SPDX-License-Identifier: GPL-2.0

//! The data path: encryption and transmission of the device's packets,
//! reception and decryption of the tunnel's.
//!
//! Per packet, the data path allocates the crypto request (and, when a
//! peer floats or is re-filed, the new binding); it takes the key's replay
//! lock after authentication, the hold lock for packets whose key is not
//! installed yet, the queues' locks and, over TCP, the socket's.

use crate::abstractions::crypto::{self, Aead, AeadJob, Direction};
use crate::abstractions::netdev::{now_ms, now_ns, with_bh_disabled, NetDevice};
use crate::abstractions::rtnl::driver_data;
use crate::abstractions::skb::{SkBuff, SkbQueue};
use crate::abstractions::tcp::{TcpFailure, TcpHandler, TcpSock};
use crate::abstractions::udp::{UdpRecv, UdpSock};
use crate::abstractions::wq;
use crate::crypto::KeySlot;
use crate::netdev::{Mode, Ovpn, OvpnLink};
use crate::peer::{self, count, HeldRx, Peer, PeerSock};
use crate::proto::aead::{self as wire_aead, AAD_LEN, OVERHEAD};
use crate::proto::hold::HOLD_MAX;
use crate::proto::netdev::{IP_HEADER_MAX_LEN, UDP_HEADER_LEN};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::uapi;
use crate::proto::wire::{self, DataV2Header, DATA_V2_HEADER_LEN, PEER_ID_UNDEF};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// `ETH_P_IP`.
const ETH_P_IP: u16 = 0x0800;
/// `ETH_P_IPV6`.
const ETH_P_IPV6: u16 = 0x86DD;

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
fn dropped(dev: &NetDevice, why: Reason) {
    if let Some(ovpn) = driver_data::<OvpnLink>(dev) {
        ovpn.drops().0[why as usize].fetch_add(1, Ordering::Relaxed);
    }
    if why.is_rx() {
        dev.stats_rx_dropped();
    } else {
        dev.stats_tx_dropped();
    }
}

// ---------------------------------------------------------------- TX ----

/// `ndo_start_xmit`: finds the peer and sends each (GSO-segmented) packet.
pub(crate) fn xmit(dev: &NetDevice, ovpn: &Ovpn, mut skb: SkBuff) {
    // A segment of one of the device's TCP tunnels, routed into the
    // device itself.
    if crate::abstractions::tcp::is_own_outer_segment(&skb, dev) {
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
    if crate::module_parameters::tx_work.value() != 0 {
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

/// One run of a peer's work: takes up to `budget` packets off `q` and
/// hands each to `f`, with BHs disabled as the data path expects, then
/// adds their number to the device counter `which` (`RX_QUEUED`,
/// `TX_QUEUED`).
fn drain(peer: &Peer, q: &SkbQueue, budget: usize, which: usize, mut f: impl FnMut(SkBuff)) {
    let mut n = 0u64;
    with_bh_disabled(|| {
        for _ in 0..budget {
            let Some(skb) = q.pop() else {
                return;
            };
            n += 1;
            f(skb);
        }
    });
    if let Some(ovpn) = driver_data::<OvpnLink>(peer.dev()) {
        ovpn.drops().0[which].fetch_add(n, Ordering::Relaxed);
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
    drain(&peer, &peer.tx_q, TX_BUDGET, TX_QUEUED, |skb| {
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
        if key.first_used_up() && crate::keepalive::retire_key_later(&peer, &key).is_err() {
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
    let hdr = DataV2Header::new(key.key_id(), peer.id());
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
                match ts.send(skb) {
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
            Err(e) if e == ELOOP => dropped(dev, Reason::TxLoop),
            Err(_) => dropped(dev, Reason::TxError),
        }
    }
}

// ---------------------------------------------------------------- RX ----

/// The receive side of the device's UDP sockets.
pub(crate) struct OvpnUdp;

impl UdpRecv for OvpnUdp {
    fn closed(sock: Arc<UdpSock>) {
        let dev = sock.dev();
        let Some(ovpn) = driver_data::<OvpnLink>(dev) else {
            return;
        };
        ovpn.peers().lock().remove_on(ovpn.tables(), &sock, |p| {
            peer::release(dev, p, uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT)
        });
    }

    fn recv(sock: &UdpSock, mut skb: SkBuff) -> Option<SkBuff> {
        let dev = sock.dev();
        if !skb.may_pull(UDP_HEADER_LEN + DATA_V2_HEADER_LEN) {
            // Too short for any OpenVPN packet.
            dropped(dev, Reason::RxMalformed);
            return None;
        }
        let head = skb.head();
        let word = &head[UDP_HEADER_LEN..UDP_HEADER_LEN + DATA_V2_HEADER_LEN];
        if !wire::is_data_v2(word) {
            // Control channel: userspace's.
            return Some(skb);
        }
        let Some(ovpn) = driver_data::<OvpnLink>(dev) else {
            dev.stats_rx_dropped();
            return None;
        };
        let Some(hdr) = DataV2Header::parse(word) else {
            dropped(dev, Reason::RxMalformed);
            return None;
        };
        // The outer source, and the local address it was sent to.
        let from = skb.udp_addrs();
        let g = rcu::read_lock();
        let peer = match ovpn.mode() {
            Mode::P2p => ovpn
                .tables()
                .p2p(&g)
                .filter(|p| hdr.peer_id == PEER_ID_UNDEF || p.id() == hdr.peer_id),
            Mode::Mp if hdr.peer_id != PEER_ID_UNDEF => ovpn.tables().by_id(hdr.peer_id, &g),
            // No id: the peer is whoever has this transport address.
            Mode::Mp => ovpn.tables().by_addr(&from.0, &g),
        };
        // Only a peer of this socket (not a TCP peer, nor one of another
        // UDP socket of the device).
        let peer =
            peer.filter(|p| matches!(p.sock(), PeerSock::Udp(u) if core::ptr::eq(&**u, sock)));
        let Some(peer) = peer.cloned() else {
            drop(g);
            dropped(dev, Reason::RxNoPeer);
            return None;
        };
        drop(g);
        if skb.pull(UDP_HEADER_LEN).is_err() {
            dropped(dev, Reason::RxMalformed);
            return None;
        }
        rx_packet(peer, skb, hdr.key_id, Some(from));
        None
    }
}

/// What the driver does with the TCP connections of its peers.
pub(crate) static TCP_HANDLER: TcpHandler = TcpHandler {
    recv: tcp_recv,
    failed: tcp_failed,
    closing: tcp_closing,
};

/// The peer a TCP connection carries, if it is still the device's.
fn tcp_peer(sock: &TcpSock) -> Option<Arc<Peer>> {
    let ovpn = driver_data::<OvpnLink>(sock.dev())?;
    let g = rcu::read_lock();
    let peer = match ovpn.mode() {
        Mode::P2p => ovpn.tables().p2p(&g),
        Mode::Mp => ovpn.tables().by_id(sock.peer_id(), &g),
    };
    peer.filter(|p| p.sock().is_tcp(sock)).cloned()
}

/// A frame arrived on a peer's TCP connection: data packets are the
/// kernel's, everything else goes to userspace.
fn tcp_recv(sock: &TcpSock, mut skb: SkBuff) -> Option<SkBuff> {
    let dev = sock.dev();
    if !skb.may_pull(DATA_V2_HEADER_LEN) {
        // Frames hold at least that much: no memory.
        dropped(dev, Reason::RxMalformed);
        return None;
    }
    let head = skb.head();
    if !wire::is_data_v2(head) {
        // Control channel: userspace's.
        return Some(skb);
    }
    let Some(hdr) = DataV2Header::parse(&head[..DATA_V2_HEADER_LEN]) else {
        dropped(dev, Reason::RxMalformed);
        return None;
    };
    // The connection is the peer's: the header's peer id adds nothing.
    let Some(peer) = tcp_peer(sock) else {
        dropped(dev, Reason::RxNoPeer);
        return None;
    };
    rx_packet(peer, skb, hdr.key_id, None);
    None
}

/// A peer's TCP connection failed or ended: the peer goes, from process
/// context, and userspace is told why.
fn tcp_failed(sock: &TcpSock, why: TcpFailure) {
    let reason = match why {
        TcpFailure::Closed => uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT,
        TcpFailure::Framing | TcpFailure::Send => uapi::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR,
    };
    let Some(peer) = tcp_peer(sock) else {
        return;
    };
    pr_debug!("peer {}: TCP connection ended ({:?})\n", peer.id(), why);
    if crate::keepalive::remove_later(&peer, reason).is_err() {
        pr_warn!(
            "peer {}: connection ended, removal failed (no memory)\n",
            peer.id()
        );
    }
}

/// Userspace closed a peer's TCP socket: the peer goes now, and with it
/// the takeover (under the peer mutex, which also waits out a removal
/// already under way).
fn tcp_closing(sock: &Arc<TcpSock>) {
    let dev = sock.dev();
    let Some(ovpn) = driver_data::<OvpnLink>(dev) else {
        return;
    };
    let mut set = ovpn.peers().lock();
    let removed = match set.get(sock.peer_id()) {
        Some(p) if p.sock().is_tcp(sock) => set.remove(ovpn.tables(), p.id()),
        _ => None,
    };
    // A takeover no peer holds (a NEW_PEER that failed) goes too.
    set.gc_socks();
    drop(set);
    if let Some(p) = removed {
        peer::release(dev, p, uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT);
    }
}

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
fn rx_packet(peer: Arc<Peer>, mut skb: SkBuff, key_id: u8, from: Option<(SockAddr, IpAddr)>) {
    // Too short to authenticate: never queued nor held (forged packets
    // must not take the peer's queue or hold slots for free).
    if !skb.may_pull(OVERHEAD) {
        dropped(peer.dev(), Reason::RxMalformed);
        return;
    }
    if !peer
        .rx_steer
        .steer(now_ns(), crate::module_parameters::rx_burst.value())
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
    drain(&peer, &peer.rx_q, RX_BUDGET, RX_QUEUED, |skb| {
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
        let Some(ovpn) = driver_data::<OvpnLink>(dev) else {
            dev.stats_rx_dropped();
            return;
        };
        match result {
            Ok(()) => (),
            Err(e) if e == EBADMSG => {
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
        let len = skb.len();
        count(&peer.stats.vpn_rx_bytes, &peer.stats.vpn_rx_packets, len);
        if len == wire_aead::KEEPALIVE_MAGIC.len()
            && skb.may_pull(len)
            && wire_aead::is_keepalive(skb.head())
        {
            // A keepalive: it did its job by arriving (and tells where the
            // peer is now).
            if let (Mode::Mp, Some(from)) = (ovpn.mode(), &self.from) {
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
            if let Some(from) = &self.from {
                float(peer, from);
            }
        }
        skb.rx_prepare(dev, proto);
        ovpn.gro().receive(skb);
        dev.stats_rx_add(len);
    }
}

/// Moves `peer` to the source of an authenticated packet if it came from
/// elsewhere (float).
fn float(peer: &Peer, from: &(SockAddr, IpAddr)) {
    let (remote, local) = from;
    let g = rcu::read_lock();
    let moved = match peer.bind(&g) {
        Some(b) => !crate::peer::same_endpoint(&b.remote, remote),
        None => false,
    };
    drop(g);
    if moved && peer.float_to(*remote, *local).is_ok() {
        pr_debug!("peer {}: floated\n", peer.id());
        // The address table is updated from process context.
        if crate::keepalive::refile_later(peer.dev()).is_err() {
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
