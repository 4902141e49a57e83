// SPDX-License-Identifier: GPL-2.0

//! The lookup tables of a device's peers: by id, by VPN address and (MP)
//! by transport address, read locklessly under RCU by the data path and
//! written under the device's peer mutex.

use super::{Peer, VpnAddrs};
use crate::abstractions::rcu::RcuPtr;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::rcu::Guard;
use kernel::sync::Arc;

/// Buckets per table.
const BUCKETS: usize = 256;

/// A hash table of peers for lock-free lookups: each bucket is an
/// immutable list replaced as a whole (copy on write) by the writers.
struct Table {
    buckets: [RcuPtr<KVec<Arc<Peer>>>; BUCKETS],
}

impl Table {
    fn new() -> Self {
        Self {
            buckets: [const { RcuPtr::new() }; BUCKETS],
        }
    }

    fn bucket(&self, hash: u32) -> &RcuPtr<KVec<Arc<Peer>>> {
        &self.buckets[(hash.wrapping_mul(0x9E37_79B9) >> 24) as usize % BUCKETS]
    }

    fn find<'g>(
        &self,
        hash: u32,
        g: &'g Guard,
        pred: impl Fn(&Peer) -> bool,
    ) -> Option<&'g Arc<Peer>> {
        self.bucket(hash).get(g)?.iter().find(|p| pred(p))
    }

    /// The number of peers in bucket `b`.
    fn bucket_len(b: &RcuPtr<KVec<Arc<Peer>>>) -> usize {
        let g = kernel::sync::rcu::read_lock();
        b.get(&g).map_or(0, |v| v.len())
    }

    /// Adds `peer` to bucket `hash` (writers serialised by the caller, so
    /// the bucket does not change between reading and replacing it).
    fn insert(&self, hash: u32, peer: &Arc<Peer>) -> Result {
        let b = self.bucket(hash);
        // Allocated outside the RCU read-side section, which must not sleep.
        let mut v = KVec::with_capacity(Self::bucket_len(b) + 1, GFP_KERNEL)?;
        let g = kernel::sync::rcu::read_lock();
        for p in b.get(&g).map_or(&[][..], |v| &v[..]) {
            v.push_within_capacity(p.clone()).map_err(|_| ENOMEM)?;
        }
        drop(g);
        v.push_within_capacity(peer.clone()).map_err(|_| ENOMEM)?;
        b.set(v, GFP_KERNEL)
    }

    /// Removes `peer` from bucket `hash` (writers serialised by the
    /// caller).  Without memory it fails and changes nothing; the caller
    /// rebuilds the tables then.
    fn remove(&self, hash: u32, peer: &Arc<Peer>) -> Result {
        let b = self.bucket(hash);
        let mut v = KVec::with_capacity(Self::bucket_len(b), GFP_KERNEL)?;
        let g = kernel::sync::rcu::read_lock();
        for p in b
            .get(&g)
            .map_or(&[][..], |v| &v[..])
            .iter()
            .filter(|p| !Arc::ptr_eq(p, peer))
        {
            v.push_within_capacity(p.clone()).map_err(|_| ENOMEM)?;
        }
        drop(g);
        if v.is_empty() {
            b.clear();
            Ok(())
        } else {
            b.set(v, GFP_KERNEL)
        }
    }

    fn clear(&self) {
        for b in &self.buckets {
            b.clear();
        }
    }
}

/// The VPN addresses `peer` has now.
pub(super) fn vpn_of(peer: &Peer) -> VpnAddrs {
    let g = kernel::sync::rcu::read_lock();
    peer.vpn.get(&g).copied().unwrap_or_default()
}

/// The hash of a transport address (IPv4-mapped equal to IPv4).
fn addr_hash(sa: &SockAddr) -> u32 {
    let ip = match sa.ip.unmapped() {
        IpAddr::V4(a) => hash4(&a),
        IpAddr::V6(a) => hash6(&a),
    };
    ip ^ u32::from(sa.port).rotate_left(16)
}

/// Whether two transport addresses are the same (IPv4-mapped IPv6 equal
/// to IPv4; the scope does not matter).
pub(crate) fn same_endpoint(a: &SockAddr, b: &SockAddr) -> bool {
    a.port == b.port && a.ip.unmapped() == b.ip.unmapped()
}

fn hash4(a: &[u8; 4]) -> u32 {
    u32::from_ne_bytes(*a)
}

fn hash6(a: &[u8; 16]) -> u32 {
    a.chunks_exact(4).fold(0u32, |h, c| {
        h.rotate_left(5) ^ u32::from_ne_bytes([c[0], c[1], c[2], c[3]])
    })
}

/// The data path's view of a device's peers: RCU tables by peer id, by
/// VPN address and by transport address, and the single peer of a P2P
/// device.
pub(crate) struct PeerTables {
    p2p: RcuPtr<Arc<Peer>>,
    by_id: Table,
    by_vpn4: Table,
    by_vpn6: Table,
    by_addr: Table,
}

impl PeerTables {
    /// Empty tables.
    pub(crate) fn new() -> Self {
        Self {
            p2p: RcuPtr::new(),
            by_id: Table::new(),
            by_vpn4: Table::new(),
            by_vpn6: Table::new(),
            by_addr: Table::new(),
        }
    }

    /// The UDP peer at transport address `sa` (MP devices).  A peer that
    /// floated is found at its new address once it was re-filed.
    pub(crate) fn by_addr<'g>(&self, sa: &SockAddr, g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.by_addr.find(addr_hash(sa), g, |p| {
            p.bind.get(g).is_some_and(|b| same_endpoint(&b.remote, sa))
        })
    }

    /// The peer of a P2P device.
    pub(crate) fn p2p<'g>(&self, g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.p2p.get(g)
    }

    /// The peer with id `id` (MP devices).
    pub(crate) fn by_id<'g>(&self, id: u32, g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.by_id.find(id, g, |p| p.id == id)
    }

    /// The peer with VPN IPv4 address `a` (MP devices).
    pub(crate) fn by_vpn4<'g>(&self, a: &[u8; 4], g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.by_vpn4.find(hash4(a), g, |p| {
            p.vpn.get(g).and_then(|v| v.v4.as_ref()) == Some(a)
        })
    }

    /// The peer with VPN IPv6 address `a` (MP devices).
    pub(crate) fn by_vpn6<'g>(&self, a: &[u8; 16], g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.by_vpn6.find(hash6(a), g, |p| {
            p.vpn.get(g).and_then(|v| v.v6.as_ref()) == Some(a)
        })
    }

    pub(super) fn publish(&self, peer: &Arc<Peer>, p2p: bool) -> Result {
        if p2p {
            return self.p2p.set(peer.clone(), GFP_KERNEL);
        }
        self.by_id.insert(peer.id, peer)?;
        self.publish_vpn(peer, &vpn_of(peer))?;
        let g = kernel::sync::rcu::read_lock();
        let h = peer.bind.get(&g).map(|b| addr_hash(&b.remote));
        drop(g);
        if let Some(h) = h {
            self.by_addr.insert(h, peer)?;
            peer.addr_hash.store(h, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Re-files `peer` under its current transport address, if it moved.
    pub(super) fn refile(&self, peer: &Arc<Peer>) -> Result {
        let g = kernel::sync::rcu::read_lock();
        let h = peer.bind.get(&g).map(|b| addr_hash(&b.remote));
        drop(g);
        let old = peer.addr_hash.load(Ordering::Relaxed);
        match h {
            Some(h) if h != old => {
                self.by_addr.insert(h, peer)?;
                peer.addr_hash.store(h, Ordering::Relaxed);
                self.by_addr.remove(old, peer)
            }
            _ => Ok(()),
        }
    }

    pub(super) fn unpublish(&self, peer: &Arc<Peer>, p2p: bool) -> Result {
        if p2p {
            self.p2p.clear();
            return Ok(());
        }
        self.by_id.remove(peer.id, peer)?;
        self.unpublish_vpn(peer, &vpn_of(peer))?;
        if peer.sock.is_udp() {
            self.by_addr
                .remove(peer.addr_hash.load(Ordering::Relaxed), peer)?;
        }
        Ok(())
    }

    /// Files `peer` under the VPN addresses `vpn` (MP devices).
    pub(super) fn publish_vpn(&self, peer: &Arc<Peer>, vpn: &VpnAddrs) -> Result {
        if let Some(a) = &vpn.v4 {
            self.by_vpn4.insert(hash4(a), peer)?;
        }
        if let Some(a) = &vpn.v6 {
            self.by_vpn6.insert(hash6(a), peer)?;
        }
        Ok(())
    }

    /// Takes `peer` out from under the VPN addresses `vpn` (MP devices).
    pub(super) fn unpublish_vpn(&self, peer: &Arc<Peer>, vpn: &VpnAddrs) -> Result {
        if let Some(a) = &vpn.v4 {
            self.by_vpn4.remove(hash4(a), peer)?;
        }
        if let Some(a) = &vpn.v6 {
            self.by_vpn6.remove(hash6(a), peer)?;
        }
        Ok(())
    }

    pub(super) fn clear(&self) {
        self.p2p.clear();
        self.by_id.clear();
        self.by_vpn4.clear();
        self.by_vpn6.clear();
        self.by_addr.clear();
    }
}
