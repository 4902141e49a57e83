// SPDX-License-Identifier: GPL-2.0

//! Peers: the remote ends of a device's tunnels; the RCU tables the data
//! path finds them in (`lookup`) and the writer-side set the control plane
//! keeps (`set`).
//!
//! Lifetime: a peer is an `Arc`.  The tables hold references that are
//! dropped one grace period after the peer was unpublished; packets in
//! flight hold their own.  The memory goes with the last reference,
//! exactly once.

use crate::abstractions::netdev::with_bh_disabled;
use crate::abstractions::netdev::{now_ms, Net, NetDevice};
use crate::abstractions::rcu::RcuPtr;
use crate::abstractions::skb::{SkBuff, SkbQueue};
use crate::abstractions::udp::{DstCache, UdpSock};
use crate::crypto::Keys;
use crate::proto::hold::Hold;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::steer::RxSteer;
use crate::stats::{count_queued, Queued};
use crate::tcp::TcpSock;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::rcu::Guard;
use kernel::sync::{new_spinlock, Arc, SpinLock};
use kernel::workqueue::{impl_has_work, new_work, Work, WorkItem};

mod lookup;
mod set;

pub(crate) use lookup::{same_endpoint, PeerTables};
pub(crate) use set::PeerSet;

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
    /// The id put in the packets sent to the peer (its own id unless
    /// userspace set another: asymmetric ids of Linux's API).
    tx_id: AtomicU32,
    sock: PeerSock,
    bind: RcuPtr<Bind>,
    /// Always set (so that reading it needs no allocation); replaced under
    /// the device's peer mutex, together with the VPN tables.
    vpn: RcuPtr<VpnAddrs>,
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
    /// Serialises floats, so that one move is seen (and announced) once
    /// however many CPUs receive from the new address.  Taken with bottom
    /// halves disabled.
    #[pin]
    float_lock: SpinLock<()>,
    /// Received data packets (at their DATA_V2 header) waiting for the
    /// peer's RX work, which decrypts them in order on a CPU other than
    /// the one that received them (see `rx::rx_packet`).
    #[pin]
    pub(crate) rx_q: SkbQueue,
    /// Whether received packets go through `rx_q` or are decrypted at once.
    pub(crate) rx_steer: RxSteer,
    /// The RX work: drains `rx_q` (`rx::rx_drain`).
    #[pin]
    rx_work: Work<Peer, RX_WORK>,
    /// Packets to send to the peer (whole, GSO super-packets included)
    /// waiting for its TX work, which encrypts and sends them in order on
    /// a CPU other than the sender's; used when the module parameter
    /// `tx_work` is set (see `tx::xmit`).
    #[pin]
    pub(crate) tx_q: SkbQueue,
    /// The TX work: drains `tx_q` (`tx::tx_drain`).
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
        crate::rx::rx_drain(this);
    }
}

impl WorkItem<TX_WORK> for Peer {
    type Pointer = Arc<Peer>;

    fn run(this: Arc<Peer>) {
        crate::tx::tx_drain(this);
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
    /// The peer's transport is gone without its close hook having run
    /// (a UDP socket whose encapsulation a descriptor holder reset).
    Lost,
    /// Keepalive is off for the peer.
    Off,
    /// Nothing now.
    Nothing,
    /// Send the ping.
    Ping,
    /// The peer timed out.
    Expired,
}

/// A peer's VPN addresses: where the device routes to it (MP).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct VpnAddrs {
    /// The VPN IPv4 address.
    pub(crate) v4: Option<[u8; 4]>,
    /// The VPN IPv6 address.
    pub(crate) v6: Option<[u8; 16]>,
}

/// What userspace gives to create a peer (validated by the caller).
pub(crate) struct PeerConfig {
    /// The peer id.
    pub(crate) id: u32,
    /// The id to send the peer's packets with.
    pub(crate) tx_id: u32,
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
        let vpn = RcuPtr::new();
        vpn.set(
            VpnAddrs {
                v4: c.vpn4,
                v6: c.vpn6,
            },
            GFP_KERNEL,
        )?;
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
                tx_id: AtomicU32::new(c.tx_id),
                dev: dev.into(),
                sock: c.sock,
                bind,
                vpn,
                keepalive_interval: AtomicU32::new(0),
                keepalive_timeout: AtomicU32::new(0),
                addr_hash: AtomicU32::new(0),
                last_rx_ms: AtomicU64::new(now_ms()),
                last_tx_ms: AtomicU64::new(now_ms()),
                keys: Keys::default(),
                dst_cache <- DstCache::new(),
                stats: PeerStats::default(),
                held <- new_spinlock!(Hold::new(), "ovpn_dco::Peer::held"),
                float_lock <- new_spinlock!((), "ovpn_dco::Peer::float_lock"),
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

    /// The peer id the packets sent to the peer carry.
    pub(crate) fn tx_id(&self) -> u32 {
        self.tx_id.load(Ordering::Relaxed)
    }

    /// The network namespace of the peer's socket.
    pub(crate) fn sock_net(&self) -> &Net {
        match &self.sock {
            PeerSock::Udp(u) => u.socket().net(),
            PeerSock::Tcp(t) => t.socket().net(),
        }
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

    /// Moves a UDP peer to `remote` (float), learning the local address
    /// `local` too, unless it is there already.  Whether it moved: true
    /// once per move.  Callable from any context but hard interrupts.
    pub(crate) fn float_to(&self, remote: SockAddr, local: IpAddr) -> Result<bool> {
        with_bh_disabled(|| {
            let _guard = self.float_lock.lock();
            let g = kernel::sync::rcu::read_lock();
            let moved = self
                .bind
                .get(&g)
                .is_some_and(|b| !same_endpoint(&b.remote, &remote));
            drop(g);
            if moved {
                self.set_bind(remote, Some(local))?;
            }
            Ok(moved)
        })
    }

    /// Points a UDP peer at `remote`, sent to from `local` (or whichever
    /// address the route picks), serialised with floats.  The caller
    /// re-files the peer in the MP transport-address table.
    pub(crate) fn rebind(&self, remote: SockAddr, local: Option<IpAddr>) -> Result {
        with_bh_disabled(|| {
            let _guard = self.float_lock.lock();
            self.set_bind(remote, local)
        })
    }

    /// Sets the endpoint (`float_lock` held, bottom halves disabled).
    fn set_bind(&self, remote: SockAddr, local: Option<IpAddr>) -> Result {
        self.bind.set(Bind { remote, local }, GFP_ATOMIC)?;
        self.dst_cache.reset();
        Ok(())
    }

    /// Sets the id the packets sent to the peer carry.
    pub(crate) fn set_tx_id(&self, tx_id: u32) {
        self.tx_id.store(tx_id, Ordering::Relaxed);
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

    /// What keepalive asks for at `now` (ms).  With `both`, keepalive
    /// acts only while interval and timeout are both set (Linux's API);
    /// otherwise each works on its own (ovpn-dco-v2).
    pub(crate) fn keepalive_due(&self, now: u64, both: bool) -> Due {
        if let PeerSock::Udp(u) = &self.sock {
            if !u.intact() {
                return Due::Lost;
            }
        }
        let secs = |a: &AtomicU32| u64::from(a.load(Ordering::Relaxed)) * 1000;
        let (interval, timeout) = (
            secs(&self.keepalive_interval),
            secs(&self.keepalive_timeout),
        );
        if (interval == 0 && timeout == 0) || (both && (interval == 0 || timeout == 0)) {
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

    /// The peer's VPN addresses (IPv4, IPv6), as they are now.
    pub(crate) fn vpn_addrs(&self) -> (Option<[u8; 4]>, Option<[u8; 16]>) {
        let g = kernel::sync::rcu::read_lock();
        self.vpn(&g).map_or((None, None), |v| (v.v4, v.v6))
    }

    /// The peer's VPN addresses, for a reader under RCU.
    pub(crate) fn vpn<'g>(&self, g: &'g Guard) -> Option<&'g VpnAddrs> {
        self.vpn.get(g)
    }

    /// The keepalive interval and timeout (seconds; 0 is off).
    pub(crate) fn keepalive(&self) -> (u32, u32) {
        (
            self.keepalive_interval.load(Ordering::Relaxed),
            self.keepalive_timeout.load(Ordering::Relaxed),
        )
    }

    /// The peer's transport address and the local address used for it,
    /// as they are now.
    pub(crate) fn endpoints(&self) -> Option<(SockAddr, Option<IpAddr>)> {
        let g = kernel::sync::rcu::read_lock();
        self.bind.get(&g).map(|b| (b.remote, b.local))
    }

    /// The local port of the peer's socket.
    pub(crate) fn local_port(&self) -> u16 {
        match &self.sock {
            PeerSock::Udp(u) => u.socket().local_port(),
            PeerSock::Tcp(t) => t.socket().local_port(),
        }
    }
}

/// One run of a peer's work: takes up to `budget` packets off `q` and
/// hands each to `f`, with BHs disabled as the data path expects, then
/// counts them as gone through its `which` work.
pub(crate) fn drain(
    peer: &Peer,
    q: &SkbQueue,
    budget: usize,
    which: Queued,
    mut f: impl FnMut(SkBuff),
) {
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
    count_queued(peer.dev(), which, n);
}

/// Announces a peer removed from `dev` for `reason` (notifying userspace)
/// and drops the caller's reference; its memory and socket go with the
/// last one.
pub(crate) fn announce_removed(dev: &NetDevice, peer: Arc<Peer>, reason: u8) {
    if let Err(e) = crate::netlink::notify::peer_removed(dev, &peer, reason) {
        pr_warn!("peer {}: deletion notice not sent ({:?})\n", peer.id(), e);
    }
}
