// SPDX-License-Identifier: GPL-2.0

//! The receive side of the device's sockets: a UDP datagram or a TCP
//! frame is parsed far enough to find its peer, and handed to the
//! receive path (`rx`); control packets go back to userspace.  A socket
//! userspace closes ends its peers.

use crate::abstractions::skb::SkBuff;
use crate::abstractions::udp::{UdpRecv, UdpSock};
use crate::netdev::{ovpn_of, Mode};
use crate::peer::{self, Peer, PeerSock};
use crate::proto::netdev::UDP_HEADER_LEN;
use crate::proto::uapi;
use crate::proto::wire::{self, DataV2Header, DATA_V2_HEADER_LEN, PEER_ID_UNDEF};
use crate::rx::rx_packet;
use crate::stats::{dropped, Reason};
use crate::tcp::{TcpFailure, TcpSock};
use kernel::prelude::*;
use kernel::sync::rcu;
use kernel::sync::Arc;

/// The receive side of the device's UDP sockets.
pub(crate) struct OvpnUdp;

impl UdpRecv for OvpnUdp {
    fn closed(sock: Arc<UdpSock>) {
        let dev = sock.dev();
        let Some(ovpn) = ovpn_of(dev) else {
            return;
        };
        let mut set = ovpn.peers().lock();
        set.remove_on(ovpn.tables(), &sock, |p| {
            peer::announce_removed(dev, p, uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT)
        });
        ovpn.sync_carrier(dev, &set);
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
        let Some(ovpn) = ovpn_of(dev) else {
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

/// The peer a TCP connection carries, if it is still the device's.
fn tcp_peer(sock: &TcpSock) -> Option<Arc<Peer>> {
    let ovpn = ovpn_of(sock.user().dev())?;
    let g = rcu::read_lock();
    let peer = match ovpn.mode() {
        Mode::P2p => ovpn.tables().p2p(&g),
        Mode::Mp => ovpn.tables().by_id(sock.user().peer_id(), &g),
    };
    peer.filter(|p| p.sock().is_tcp(sock)).cloned()
}

/// A frame arrived on a peer's TCP connection: data packets are the
/// kernel's, everything else goes to userspace.
pub(crate) fn tcp_recv(sock: &TcpSock, mut skb: SkBuff) -> Option<SkBuff> {
    let dev = sock.user().dev();
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
pub(crate) fn tcp_failed(sock: &TcpSock, why: TcpFailure) {
    let reason = match why {
        TcpFailure::Closed => uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT,
        TcpFailure::Framing | TcpFailure::Send => uapi::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR,
    };
    let Some(peer) = tcp_peer(sock) else {
        return;
    };
    pr_debug!("peer {}: TCP connection ended ({:?})\n", peer.id(), why);
    if crate::deferred::remove_later(&peer, reason).is_err() {
        pr_warn!(
            "peer {}: connection ended, removal failed (no memory)\n",
            peer.id()
        );
    }
}

/// Userspace closed a peer's TCP socket: the peer goes now, and with it
/// the takeover (under the peer mutex, which also waits out a removal
/// already under way).
pub(crate) fn tcp_closing(sock: &Arc<TcpSock>) {
    let dev = sock.user().dev();
    let Some(ovpn) = ovpn_of(dev) else {
        return;
    };
    let mut set = ovpn.peers().lock();
    let removed = match set.get(sock.user().peer_id()) {
        Some(p) if p.sock().is_tcp(sock) => set.remove(ovpn.tables(), p.id()),
        _ => None,
    };
    // A takeover no peer holds (a NEW_PEER that failed) goes too.
    set.gc_socks();
    ovpn.sync_carrier(dev, &set);
    drop(set);
    if let Some(p) = removed {
        peer::announce_removed(dev, p, uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT);
    }
}
