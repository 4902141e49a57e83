// SPDX-License-Identifier: GPL-2.0

//! Peers: the remote ends of a device's tunnels, as userspace configured
//! them, and the set of peers of a device.
//!
//! The set is guarded by a mutex and only used from process context for
//! now; it becomes RCU hash tables (by id, VPN address and transport
//! address) with the data path.

use crate::abstractions::genl::{Context, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::socket::Socket;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::uapi;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Traffic counters of a peer (see `OVPN_GET_PEER_RESP_ATTR_*`).
#[derive(Default)]
pub(crate) struct PeerStats {
    /// Decrypted bytes delivered.
    pub(crate) vpn_rx_bytes: AtomicU64,
    /// Plaintext bytes sent.
    pub(crate) vpn_tx_bytes: AtomicU64,
    /// Decrypted packets delivered.
    pub(crate) vpn_rx_packets: AtomicU64,
    /// Plaintext packets sent.
    pub(crate) vpn_tx_packets: AtomicU64,
    /// Encrypted bytes received.
    pub(crate) link_rx_bytes: AtomicU64,
    /// Encrypted bytes sent.
    pub(crate) link_tx_bytes: AtomicU64,
    /// Encrypted packets received.
    pub(crate) link_rx_packets: AtomicU64,
    /// Encrypted packets sent.
    pub(crate) link_tx_packets: AtomicU64,
}

/// A peer.
pub(crate) struct Peer {
    id: u32,
    sock: Socket,
    remote: Option<SockAddr>,
    local: Option<IpAddr>,
    vpn4: Option<[u8; 4]>,
    vpn6: Option<[u8; 16]>,
    keepalive_interval: AtomicU32,
    keepalive_timeout: AtomicU32,
    stats: PeerStats,
}

/// What userspace gives to create a peer (validated by the caller).
pub(crate) struct PeerConfig {
    /// The peer id.
    pub(crate) id: u32,
    /// The transport socket.
    pub(crate) sock: Socket,
    /// The remote endpoint (UDP only).
    pub(crate) remote: Option<SockAddr>,
    /// The local address to send from (UDP only).
    pub(crate) local: Option<IpAddr>,
    /// The peer's VPN IPv4 address.
    pub(crate) vpn4: Option<[u8; 4]>,
    /// The peer's VPN IPv6 address.
    pub(crate) vpn6: Option<[u8; 16]>,
}

impl Peer {
    /// Creates a peer.
    pub(crate) fn new(c: PeerConfig) -> Result<Arc<Self>> {
        Ok(Arc::new(
            Peer {
                id: c.id,
                sock: c.sock,
                remote: c.remote,
                local: c.local,
                vpn4: c.vpn4,
                vpn6: c.vpn6,
                keepalive_interval: AtomicU32::new(0),
                keepalive_timeout: AtomicU32::new(0),
                stats: PeerStats::default(),
            },
            GFP_KERNEL,
        )?)
    }

    /// The peer id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Sets the keepalive interval and timeout, in seconds (0: off).
    pub(crate) fn set_keepalive(&self, interval: u32, timeout: u32) {
        self.keepalive_interval.store(interval, Ordering::Relaxed);
        self.keepalive_timeout.store(timeout, Ordering::Relaxed);
    }

    /// Writes the peer as a `GET_PEER` reply nest.
    pub(crate) fn fill(&self, msg: &mut impl MsgWriter) -> Result {
        use uapi::*;
        let nest = msg.nest_start(OVPN_ATTR_GET_PEER)?;
        msg.put_u32(OVPN_GET_PEER_RESP_ATTR_PEER_ID, self.id)?;
        if let Some(a) = &self.vpn4 {
            msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_IPV4, a)?;
        }
        if let Some(a) = &self.vpn6 {
            msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_IPV6, a)?;
        }
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL,
            self.keepalive_interval.load(Ordering::Relaxed),
        )?;
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT,
            self.keepalive_timeout.load(Ordering::Relaxed),
        )?;
        if let Some(r) = &self.remote {
            let (raw, len) = r.to_raw();
            msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE, &raw[..len])?;
            if let Some(l) = &self.local {
                msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_LOCAL_IP, l.octets())?;
            }
        }
        msg.put_be16(OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT, self.sock.local_port())?;
        let s = &self.stats;
        let pad = OVPN_GET_PEER_RESP_ATTR_UNSPEC;
        let ld = |c: &AtomicU64| c.load(Ordering::Relaxed);
        // The ABI has 32-bit packet counters; they wrap like OpenVPN's.
        let ld32 = |c: &AtomicU64| ld(c) as u32;
        msg.put_u64(
            OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES,
            ld(&s.vpn_rx_bytes),
            pad,
        )?;
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS,
            ld32(&s.vpn_rx_packets),
        )?;
        msg.put_u64(
            OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES,
            ld(&s.vpn_tx_bytes),
            pad,
        )?;
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS,
            ld32(&s.vpn_tx_packets),
        )?;
        msg.put_u64(
            OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES,
            ld(&s.link_rx_bytes),
            pad,
        )?;
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS,
            ld32(&s.link_rx_packets),
        )?;
        msg.put_u64(
            OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES,
            ld(&s.link_tx_bytes),
            pad,
        )?;
        msg.put_u32(
            OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS,
            ld32(&s.link_tx_packets),
        )?;
        msg.nest_end(nest);
        Ok(())
    }
}

/// Tells userspace (group `peers`, in the device's namespace) that peer
/// `id` of `dev` is gone, and why.
pub(crate) fn notify_del(dev: &NetDevice, id: u32, reason: u8) -> Result {
    let mut msg = GenlMsg::notification(uapi::OVPN_CMD_DEL_PEER as u8, Context::Process)?;
    msg.put_u32(uapi::OVPN_ATTR_IFINDEX, dev.ifindex() as u32)?;
    let nest = msg.nest_start(uapi::OVPN_ATTR_DEL_PEER)?;
    msg.put_u8(uapi::OVPN_DEL_PEER_ATTR_REASON, reason)?;
    msg.put_u32(uapi::OVPN_DEL_PEER_ATTR_PEER_ID, id)?;
    msg.nest_end(nest);
    msg.multicast(dev.net(), 0, Context::Process)
}

/// Releases a removed peer: notifies userspace.  The peer's memory and its
/// socket reference go with its last reference.
pub(crate) fn release(dev: &NetDevice, peer: Arc<Peer>, reason: u8) {
    if let Err(e) = notify_del(dev, peer.id(), reason) {
        pr_warn!("peer {}: deletion notice not sent ({:?})\n", peer.id(), e);
    }
}

/// The peers of a device.
pub(crate) struct PeerSet {
    /// Set when the device is being deleted: no peer may be added then.
    dead: bool,
    list: KVec<Arc<Peer>>,
}

impl PeerSet {
    /// An empty set.
    pub(crate) fn new() -> Self {
        Self {
            dead: false,
            list: KVec::new(),
        }
    }

    fn position(&self, id: u32) -> Option<usize> {
        self.list.iter().position(|p| p.id == id)
    }

    /// Adds a peer.  In P2P mode it replaces the current peer, which is
    /// returned; in MP mode an existing id gives `EEXIST`.  A device being
    /// deleted gives `ENODEV`.
    pub(crate) fn add(&mut self, peer: Arc<Peer>, p2p: bool) -> Result<Option<Arc<Peer>>> {
        if self.dead {
            return Err(ENODEV);
        }
        if p2p {
            // Replace in place: nothing is lost if an allocation fails.
            if let Some(slot) = self.list.first_mut() {
                return Ok(Some(core::mem::replace(slot, peer)));
            }
            self.list.push(peer, GFP_KERNEL)?;
            return Ok(None);
        }
        if self.position(peer.id).is_some() {
            return Err(EEXIST);
        }
        self.list.push(peer, GFP_KERNEL)?;
        Ok(None)
    }

    /// The peer with id `id`.
    pub(crate) fn get(&self, id: u32) -> Option<Arc<Peer>> {
        self.position(id).map(|i| self.list[i].clone())
    }

    /// Removes and returns the peer with id `id`.
    pub(crate) fn remove(&mut self, id: u32) -> Option<Arc<Peer>> {
        let i = self.position(id)?;
        let last = self.list.len() - 1;
        self.list.swap(i, last);
        self.list.pop()
    }

    /// The peers, in insertion order (for dumps).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Peer>> {
        self.list.iter()
    }

    /// Marks the set dead and takes every peer out of it.
    pub(crate) fn take_all(&mut self) -> KVec<Arc<Peer>> {
        self.dead = true;
        core::mem::replace(&mut self.list, KVec::new())
    }
}
