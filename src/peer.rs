// SPDX-License-Identifier: GPL-2.0

//! Peers: the remote ends of a device's tunnels, the RCU tables the data
//! path finds them in, and the writer-side set the control plane keeps.
//!
//! Lifetime: a peer is an `Arc`.  The tables hold references that are
//! dropped one grace period after the peer was unpublished; packets in
//! flight hold their own.  The memory goes with the last reference,
//! exactly once.

use crate::abstractions::genl::{Context, GenlMsg, MsgWriter};
use crate::abstractions::netdev::{now_ms, NetDevice};
use crate::abstractions::rcu::RcuPtr;
use crate::abstractions::skb::{SkBuff, SkbQueue};
use crate::abstractions::socket::{Socket, Transport};
use crate::abstractions::tcp::{TcpSock, TcpTunnel};
use crate::abstractions::udp::{DstCache, UdpSock, UdpTunnel};
use crate::crypto::Keys;
use crate::io::OvpnUdp;
use crate::proto::hold::Hold;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::steer::RxSteer;
use crate::proto::uapi;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::rcu::Guard;
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

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

/// Adds one packet of `len` bytes to a pair of counters.
pub(crate) fn count(bytes: &AtomicU64, packets: &AtomicU64, len: usize) {
    bytes.fetch_add(len as u64, Ordering::Relaxed);
    packets.fetch_add(1, Ordering::Relaxed);
}

/// Where a UDP peer is: its address and the local address to send from.
pub(crate) struct Bind {
    /// The peer's transport address.
    pub(crate) remote: SockAddr,
    /// The local address, if known.
    pub(crate) local: Option<IpAddr>,
}

/// The transport of a peer.
pub(crate) enum PeerSock {
    /// A UDP socket in encapsulation mode, maybe shared with other peers.
    Udp(Arc<UdpSock>),
    /// A TCP connection, the peer's alone.
    Tcp(Arc<TcpSock>),
}

impl PeerSock {
    fn is_udp(&self) -> bool {
        matches!(self, PeerSock::Udp(_))
    }

    /// Whether this is the TCP connection `ts`.
    pub(crate) fn is_tcp(&self, ts: &TcpSock) -> bool {
        matches!(self, PeerSock::Tcp(t) if core::ptr::eq(&**t, ts))
    }
}

/// A peer.
#[pin_data]
pub(crate) struct Peer {
    id: u32,
    sock: PeerSock,
    bind: RcuPtr<Bind>,
    vpn4: Option<[u8; 4]>,
    vpn6: Option<[u8; 16]>,
    keepalive_interval: AtomicU32,
    keepalive_timeout: AtomicU32,
    /// The transport-address hash the peer is filed under in the MP
    /// table (written under the peer mutex only).
    addr_hash: AtomicU32,
    /// When the peer last sent us an authentic packet (ms, `now_ms`).
    last_rx_ms: AtomicU64,
    /// When we last sent the peer a packet (ms, `now_ms`).
    last_tx_ms: AtomicU64,
    /// The peer's keys.
    pub(crate) keys: Keys,
    #[pin]
    dst_cache: DstCache,
    /// The peer's traffic counters.
    pub(crate) stats: PeerStats,
    /// Received data packets waiting for their key to be installed (taken
    /// with bottom halves disabled: the data path takes it in softirq).
    #[pin]
    pub(crate) held: SpinLock<Hold<HeldRx>>,
    /// Received data packets (at their DATA_V2 header) waiting for the
    /// peer's RX work, which decrypts them in order on a CPU other than
    /// the one that received them (see `io::rx_packet`).
    #[pin]
    pub(crate) rx_q: SkbQueue,
    /// Whether received packets go through `rx_q` or are decrypted at once.
    pub(crate) rx_steer: RxSteer,
    /// The RX work: drains `rx_q` (`io::rx_drain`).
    #[pin]
    rx_work: Work<Peer, RX_WORK>,
    /// Packets to send to the peer (whole, GSO super-packets included)
    /// waiting for its TX work, which encrypts and sends them in order on
    /// a CPU other than the sender's; used when the module parameter
    /// `tx_work` is set (see `io::xmit`).
    #[pin]
    pub(crate) tx_q: SkbQueue,
    /// The TX work: drains `tx_q` (`io::tx_drain`).
    #[pin]
    tx_work: Work<Peer, TX_WORK>,
    /// Last, so dropped last: the device reference keeps the device's
    /// unregistration, and so the module's unload, waiting until the rest
    /// of the peer is gone.
    dev: ARef<NetDevice>,
}

/// The id of the RX work among a peer's work items.
pub(crate) const RX_WORK: u64 = 0;
/// The id of the TX work among a peer's work items.
pub(crate) const TX_WORK: u64 = 1;

impl_has_work! {
    impl HasWork<Self, { RX_WORK }> for Peer { self.rx_work }
    impl HasWork<Self, { TX_WORK }> for Peer { self.tx_work }
}

impl WorkItem<RX_WORK> for Peer {
    type Pointer = Arc<Peer>;

    fn run(this: Arc<Peer>) {
        crate::io::rx_drain(this);
    }
}

impl WorkItem<TX_WORK> for Peer {
    type Pointer = Arc<Peer>;

    fn run(this: Arc<Peer>) {
        crate::io::tx_drain(this);
    }
}

/// A received data packet waiting for its key (see `proto::hold`).
pub(crate) struct HeldRx {
    /// The packet, at its DATA_V2 header, detached from its socket and
    /// route (`SkBuff::detach`).
    pub(crate) skb: SkBuff,
    /// Its outer source and local address (UDP), for float.
    pub(crate) from: Option<(SockAddr, IpAddr)>,
}

/// What keepalive asks for a peer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Due {
    /// Keepalive is off for the peer.
    Off,
    /// Nothing now.
    Nothing,
    /// Send the ping.
    Ping,
    /// The peer timed out.
    Expired,
}

/// What userspace gives to create a peer (validated by the caller).
pub(crate) struct PeerConfig {
    /// The peer id.
    pub(crate) id: u32,
    /// The transport.
    pub(crate) sock: PeerSock,
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
    /// Creates a peer of `dev`.
    pub(crate) fn new(dev: &NetDevice, c: PeerConfig) -> Result<Arc<Self>> {
        let bind = RcuPtr::new();
        if let Some(remote) = c.remote {
            bind.set(
                Bind {
                    remote,
                    local: c.local,
                },
                GFP_KERNEL,
            )?;
        }
        Arc::pin_init(
            try_pin_init!(Peer {
                id: c.id,
                dev: dev.into(),
                sock: c.sock,
                bind,
                vpn4: c.vpn4,
                vpn6: c.vpn6,
                keepalive_interval: AtomicU32::new(0),
                keepalive_timeout: AtomicU32::new(0),
                addr_hash: AtomicU32::new(0),
                last_rx_ms: AtomicU64::new(now_ms()),
                last_tx_ms: AtomicU64::new(now_ms()),
                keys: Keys::default(),
                dst_cache <- DstCache::new(),
                stats: PeerStats::default(),
                held <- new_spinlock!(Hold::new(), "ovpn_dco::Peer::held"),
                rx_q <- SkbQueue::new(),
                rx_steer: RxSteer::default(),
                rx_work <- new_work!("ovpn_dco::Peer::rx_work"),
                tx_q <- SkbQueue::new(),
                tx_work <- new_work!("ovpn_dco::Peer::tx_work"),
            }? Error),
            GFP_KERNEL,
        )
    }

    /// The peer id.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The device the peer belongs to.
    pub(crate) fn dev(&self) -> &NetDevice {
        &self.dev
    }

    /// The peer's transport.
    pub(crate) fn sock(&self) -> &PeerSock {
        &self.sock
    }

    /// The peer's endpoint, for UDP peers.
    pub(crate) fn bind<'g>(&self, g: &'g Guard) -> Option<&'g Bind> {
        self.bind.get(g)
    }

    /// The peer's route cache.
    pub(crate) fn dst_cache(&self) -> &DstCache {
        &self.dst_cache
    }

    /// Moves a UDP peer to a new transport address (float), learning the
    /// local address too.  Callable from softirq context.
    pub(crate) fn float_to(&self, remote: SockAddr, local: IpAddr) -> Result {
        self.bind.set(
            Bind {
                remote,
                local: Some(local),
            },
            GFP_ATOMIC,
        )?;
        self.dst_cache.reset();
        Ok(())
    }

    /// Sets the keepalive interval and timeout, in seconds (0: off); both
    /// count from now.
    pub(crate) fn set_keepalive(&self, interval: u32, timeout: u32) {
        let now = now_ms();
        self.last_rx_ms.store(now, Ordering::Relaxed);
        self.last_tx_ms.store(now, Ordering::Relaxed);
        self.keepalive_interval.store(interval, Ordering::Relaxed);
        self.keepalive_timeout.store(timeout, Ordering::Relaxed);
    }

    /// Whether a keepalive interval or timeout is set.
    pub(crate) fn keepalive_on(&self) -> bool {
        self.keepalive_interval.load(Ordering::Relaxed) != 0
            || self.keepalive_timeout.load(Ordering::Relaxed) != 0
    }

    /// Records an authentic packet from the peer.
    pub(crate) fn mark_rx(&self) {
        self.last_rx_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Records a packet sent to the peer.
    pub(crate) fn mark_tx(&self) {
        self.last_tx_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// What keepalive asks for at `now` (ms).
    pub(crate) fn keepalive_due(&self, now: u64) -> Due {
        let secs = |a: &AtomicU32| u64::from(a.load(Ordering::Relaxed)) * 1000;
        let (interval, timeout) = (
            secs(&self.keepalive_interval),
            secs(&self.keepalive_timeout),
        );
        if interval == 0 && timeout == 0 {
            return Due::Off;
        }
        let since = |a: &AtomicU64| now.saturating_sub(a.load(Ordering::Relaxed));
        if timeout != 0 && since(&self.last_rx_ms) >= timeout {
            Due::Expired
        } else if interval != 0 && since(&self.last_tx_ms) >= interval {
            Due::Ping
        } else {
            Due::Nothing
        }
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
        {
            let g = kernel::sync::rcu::read_lock();
            if let Some(b) = self.bind.get(&g) {
                let (raw, len) = b.remote.to_raw();
                msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE, &raw[..len])?;
                if let Some(l) = &b.local {
                    msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_LOCAL_IP, l.octets())?;
                }
            }
        }
        let lport = match &self.sock {
            PeerSock::Udp(u) => u.socket().local_port(),
            PeerSock::Tcp(t) => t.socket().local_port(),
        };
        msg.put_be16(OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT, lport)?;
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
        self.by_vpn4
            .find(hash4(a), g, |p| p.vpn4.as_ref() == Some(a))
    }

    /// The peer with VPN IPv6 address `a` (MP devices).
    pub(crate) fn by_vpn6<'g>(&self, a: &[u8; 16], g: &'g Guard) -> Option<&'g Arc<Peer>> {
        self.by_vpn6
            .find(hash6(a), g, |p| p.vpn6.as_ref() == Some(a))
    }

    fn publish(&self, peer: &Arc<Peer>, p2p: bool) -> Result {
        if p2p {
            return self.p2p.set(peer.clone(), GFP_KERNEL);
        }
        self.by_id.insert(peer.id, peer)?;
        if let Some(a) = &peer.vpn4 {
            self.by_vpn4.insert(hash4(a), peer)?;
        }
        if let Some(a) = &peer.vpn6 {
            self.by_vpn6.insert(hash6(a), peer)?;
        }
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
    fn refile(&self, peer: &Arc<Peer>) -> Result {
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

    fn unpublish(&self, peer: &Arc<Peer>, p2p: bool) -> Result {
        if p2p {
            self.p2p.clear();
            return Ok(());
        }
        self.by_id.remove(peer.id, peer)?;
        if let Some(a) = &peer.vpn4 {
            self.by_vpn4.remove(hash4(a), peer)?;
        }
        if let Some(a) = &peer.vpn6 {
            self.by_vpn6.remove(hash6(a), peer)?;
        }
        if peer.sock.is_udp() {
            self.by_addr
                .remove(peer.addr_hash.load(Ordering::Relaxed), peer)?;
        }
        Ok(())
    }

    fn clear(&self) {
        self.p2p.clear();
        self.by_id.clear();
        self.by_vpn4.clear();
        self.by_vpn6.clear();
        self.by_addr.clear();
    }
}

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
    tcp: KVec<TcpTunnel>,
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
            let ts = TcpSock::new(sock.sock_ref(), dev.into(), id, &crate::io::TCP_HANDLER)?;
            let tunnel = TcpTunnel::attach(ts.clone())?;
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
        let unused_tcp = |t: &TcpTunnel| !list.iter().any(|p| p.sock.is_tcp(t.sock()));
        for t in self.tcp.iter_mut().filter(|t| unused_tcp(t)) {
            t.release();
        }
        for u in self.socks.iter_mut().filter(|u| u.users == 0) {
            u.tunnel.release();
        }
        let mut i = 0;
        while i < self.tcp.len() {
            if unused_tcp(&self.tcp[i]) {
                let last = self.tcp.len() - 1;
                self.tcp.swap(i, last);
                drop(self.tcp.pop());
            } else {
                i += 1;
            }
        }
        let mut i = 0;
        while i < self.socks.len() {
            if self.socks[i].users == 0 {
                let last = self.socks.len() - 1;
                self.socks.swap(i, last);
                drop(self.socks.pop());
            } else {
                i += 1;
            }
        }
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

    /// The peers, in insertion order (for dumps).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Peer>> {
        self.list.iter()
    }

    /// Marks the set dead and takes every peer out of it; the sockets are
    /// detached.
    pub(crate) fn take_all(&mut self, tables: &PeerTables) -> KVec<Arc<Peer>> {
        self.dead = true;
        tables.clear();
        for u in self.socks.iter_mut() {
            u.users = 0;
        }
        let list = core::mem::replace(&mut self.list, KVec::new());
        self.gc_socks();
        list
    }
}
