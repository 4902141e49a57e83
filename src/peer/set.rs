// SPDX-License-Identifier: GPL-2.0

//! The control plane's view of a device's peers, under the device's peer
//! mutex: the list, and the sockets they use.

use super::{lookup, Peer, PeerSock, PeerTables, VpnAddrs};
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::socket::{Socket, Transport};
use crate::abstractions::tcp::TcpTunnel;
use crate::abstractions::udp::{UdpSock, UdpTunnel};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::tcp::Stream;
use crate::transport::OvpnUdp;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A UDP socket attached for a device, and how many peers use it.
struct SockUse {
    tunnel: UdpTunnel<OvpnUdp>,
    users: usize,
}

/// The control plane's view of a device's peers, under the device's peer
/// mutex: the list (for dumps and teardown) and the attached sockets (UDP
/// sockets shared by peers, and each TCP peer's connection).
/// Every change is mirrored in the [`PeerTables`].
pub(crate) struct PeerSet {
    /// Set when the device is being deleted: no peer may be added then.
    dead: bool,
    /// Whether the keepalive tick of the device is scheduled.
    ticking: bool,
    p2p: bool,
    list: KVec<Arc<Peer>>,
    socks: KVec<SockUse>,
    tcp: KVec<TcpTunnel<Stream>>,
}

impl PeerSet {
    /// An empty set for a device of the given mode.
    pub(crate) fn new(p2p: bool) -> Self {
        Self {
            dead: false,
            ticking: false,
            p2p,
            list: KVec::new(),
            socks: KVec::new(),
            tcp: KVec::new(),
        }
    }

    fn position(&self, id: u32) -> Option<usize> {
        self.list.iter().position(|p| p.id == id)
    }

    /// Whether the device is being deleted.
    pub(crate) fn is_dead(&self) -> bool {
        self.dead
    }

    /// Records whether the keepalive tick is scheduled.
    pub(crate) fn set_ticking(&mut self, on: bool) {
        self.ticking = on;
    }

    /// Makes sure the keepalive tick of `dev` runs (a peer turned it on).
    pub(crate) fn start_ticking(&mut self, dev: &NetDevice) -> Result {
        if self.ticking || self.dead {
            return Ok(());
        }
        crate::keepalive::schedule(dev)?;
        self.ticking = true;
        Ok(())
    }

    /// The transport for new peer `id` of `dev` on `sock`: a UDP socket is
    /// attached (or its existing attachment shared), a TCP connection
    /// taken over for the peer.  A transport no peer uses is given back
    /// by the next change of the set.
    pub(crate) fn transport(
        &mut self,
        dev: &NetDevice,
        sock: &Socket,
        id: u32,
    ) -> Result<PeerSock> {
        if self.dead {
            return Err(ENODEV);
        }
        if sock.transport() == Transport::Tcp {
            self.tcp.reserve(1, GFP_KERNEL)?;
            let tunnel = Stream::take_over(sock.sock_ref(), dev.into(), id)?;
            let ts = tunnel.conn().clone();
            self.tcp.push(tunnel, GFP_KERNEL)?;
            return Ok(PeerSock::Tcp(ts));
        }
        if let Some(u) = self
            .socks
            .iter()
            .find(|u| u.tunnel.sock().socket().is(sock))
        {
            return Ok(PeerSock::Udp(u.tunnel.sock().clone()));
        }
        let tunnel = UdpTunnel::attach(sock, dev.into())?;
        let us = tunnel.sock().clone();
        // Counted when a peer is added; dropped again by `gc_socks` if
        // none is.
        self.socks.push(SockUse { tunnel, users: 0 }, GFP_KERNEL)?;
        Ok(PeerSock::Udp(us))
    }

    fn sock_use(&mut self, peer: &Peer, delta: isize) {
        if let PeerSock::Udp(us) = &peer.sock {
            if let Some(u) = self
                .socks
                .iter_mut()
                .find(|u| Arc::ptr_eq(u.tunnel.sock(), us))
            {
                u.users = u.users.saturating_add_signed(delta);
            }
        }
    }

    /// Detaches the sockets no peer uses any more: all of them first, then
    /// one grace period for all (the first drop waits, the others find it
    /// passed).
    pub(crate) fn gc_socks(&mut self) {
        let list = &self.list;
        for t in self.tcp.iter_mut() {
            if !list.iter().any(|p| p.sock.is_tcp(t.conn())) {
                t.release();
            }
        }
        for u in self.socks.iter_mut().filter(|u| u.users == 0) {
            u.tunnel.release();
        }
        self.tcp.retain(|t| !t.is_released());
        self.socks.retain(|u| !u.tunnel.is_released());
    }

    /// Adds a peer.  In P2P mode it replaces the current peer, which is
    /// returned; in MP mode an existing id gives `EEXIST`.  A device being
    /// deleted gives `ENODEV`.
    pub(crate) fn add(
        &mut self,
        tables: &PeerTables,
        peer: Arc<Peer>,
    ) -> Result<Option<Arc<Peer>>> {
        let r = self.try_add(tables, peer);
        self.gc_socks();
        r
    }

    fn try_add(&mut self, tables: &PeerTables, peer: Arc<Peer>) -> Result<Option<Arc<Peer>>> {
        if self.dead {
            return Err(ENODEV);
        }
        if self.p2p {
            self.list.reserve(1, GFP_KERNEL)?;
            tables.publish(&peer, true)?;
            self.sock_use(&peer, 1);
            let old = self.list.pop();
            self.list.push(peer, GFP_KERNEL)?;
            if let Some(o) = &old {
                self.sock_use(o, -1);
            }
            return Ok(old);
        }
        if self.position(peer.id).is_some() {
            return Err(EEXIST);
        }
        self.list.reserve(1, GFP_KERNEL)?;
        if let Err(e) = tables.publish(&peer, false) {
            // Take out what got in, rebuilding the tables if even that
            // runs out of memory.
            if tables.unpublish(&peer, false).is_err() {
                self.republish(tables);
            }
            return Err(e);
        }
        self.sock_use(&peer, 1);
        self.list.push(peer, GFP_KERNEL)?;
        Ok(None)
    }

    /// The peer with id `id`.
    pub(crate) fn get(&self, id: u32) -> Option<Arc<Peer>> {
        self.position(id).map(|i| self.list[i].clone())
    }

    /// Removes and returns the peer with id `id`.
    pub(crate) fn remove(&mut self, tables: &PeerTables, id: u32) -> Option<Arc<Peer>> {
        let i = self.position(id)?;
        let last = self.list.len() - 1;
        self.list.swap(i, last);
        let peer = self.list.pop()?;
        if tables.unpublish(&peer, self.p2p).is_err() {
            // Out of memory for the new bucket lists: rebuild everything.
            self.republish(tables);
        }
        self.sock_use(&peer, -1);
        self.gc_socks();
        Some(peer)
    }

    /// Removes the peers that use the UDP socket `us`, handing each to
    /// `gone`.
    pub(crate) fn remove_on(
        &mut self,
        tables: &PeerTables,
        us: &Arc<UdpSock>,
        mut gone: impl FnMut(Arc<Peer>),
    ) {
        let mut lost = false;
        let mut i = 0;
        while i < self.list.len() {
            if !matches!(&self.list[i].sock, PeerSock::Udp(u) if Arc::ptr_eq(u, us)) {
                i += 1;
                continue;
            }
            let last = self.list.len() - 1;
            self.list.swap(i, last);
            let Some(peer) = self.list.pop() else { break };
            lost |= tables.unpublish(&peer, self.p2p).is_err();
            self.sock_use(&peer, -1);
            gone(peer);
        }
        if lost {
            // Out of memory for the new bucket lists: rebuild everything.
            self.republish(tables);
        }
        self.gc_socks();
    }

    /// Rebuilds the tables from the list.
    fn republish(&self, tables: &PeerTables) {
        tables.clear();
        for p in self.list.iter() {
            if tables.publish(p, self.p2p).is_err() {
                pr_err!("peer {}: lost from the lookup tables (no memory)\n", p.id);
            }
        }
    }

    /// Re-files the peers that floated under their new transport address.
    pub(crate) fn refile(&self, tables: &PeerTables) {
        if self.p2p {
            return;
        }
        for p in self.list.iter() {
            if tables.refile(p).is_err() {
                self.republish(tables);
                return;
            }
        }
    }

    /// Whether a peer other than the one with id `except` has VPN address
    /// `v4` or `v6` (MP devices).
    pub(crate) fn vpn_conflict(
        &self,
        tables: &PeerTables,
        except: u32,
        v4: Option<[u8; 4]>,
        v6: Option<[u8; 16]>,
    ) -> bool {
        let g = kernel::sync::rcu::read_lock();
        let other = |p: Option<&Arc<Peer>>| p.is_some_and(|p| p.id != except);
        v4.is_some_and(|a| other(tables.by_vpn4(&a, &g)))
            || v6.is_some_and(|a| other(tables.by_vpn6(&a, &g)))
    }

    /// Gives `peer` (one of the set) the VPN addresses `vpn` and re-files
    /// it under them.
    pub(crate) fn set_vpn(&self, tables: &PeerTables, peer: &Arc<Peer>, vpn: VpnAddrs) -> Result {
        let old = lookup::vpn_of(peer);
        if old == vpn {
            return Ok(());
        }
        // The only step that can fail without changing anything.
        peer.vpn.set(vpn, GFP_KERNEL)?;
        if self.p2p {
            return Ok(());
        }
        if tables.unpublish_vpn(peer, &old).is_err() || tables.publish_vpn(peer, &vpn).is_err() {
            // Out of memory for the new bucket lists: rebuild everything.
            self.republish(tables);
        }
        Ok(())
    }

    /// Points UDP peer `peer` (one of the set) at `remote`, sent to from
    /// `local`, and re-files it under its new transport address.
    pub(crate) fn rebind(
        &self,
        tables: &PeerTables,
        peer: &Arc<Peer>,
        remote: SockAddr,
        local: Option<IpAddr>,
    ) -> Result {
        peer.rebind(remote, local)?;
        if !self.p2p && tables.refile(peer).is_err() {
            self.republish(tables);
        }
        Ok(())
    }

    /// Whether the set has no peer.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The peers, in insertion order (for dumps).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Peer>> {
        self.list.iter()
    }

    /// Marks the set dead and takes every peer out of it.  The transports
    /// stay until the next [`Self::gc_socks`], which the caller defers
    /// (out of RTNL); a socket closed meanwhile is given back by its close
    /// hook's own `gc_socks`, under this set's mutex, before TCP's close.
    pub(crate) fn take_all(&mut self, tables: &PeerTables) -> KVec<Arc<Peer>> {
        self.dead = true;
        tables.clear();
        for u in self.socks.iter_mut() {
            u.users = 0;
        }
        core::mem::replace(&mut self.list, KVec::new())
    }
}
