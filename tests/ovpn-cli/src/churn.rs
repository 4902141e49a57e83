// SPDX-License-Identifier: GPL-2.0

//! `churn`: a stress test of the control plane of an MP device, from one
//! process and over one netlink socket.
//!
//! Each cycle picks an action with a seeded PRNG ([`Rng`]): add a peer (on
//! a new UDP socket, on one this process already has, or on a TCP
//! connection to `--tcp-remote`), install, swap or delete a key, set the
//! keepalive, get one peer or dump them all, delete a peer or close its
//! socket, or send a request that must be refused.  A [`Model`] tracks the
//! peers this process added (ids in `1000..1000 + 4K`) and the sockets
//! they use, so that every reply is checked against what it must be.
//!
//! The kernel also deletes peers on its own: those of a socket closed by
//! this process (within the `close(2)`), those whose keepalive timeout
//! expired, and a TCP peer whose connection ended.  So `ENOENT` about a
//! peer of the model means it is gone, and is accepted when it may be (a
//! keepalive timeout was set, or it is a TCP peer); a GET_PEER dump every
//! [`RESYNC_EVERY`] cycles (and on the dump action) compares the kernel's
//! churn-range peers with the model: one the model does not know is a
//! leak, one the model has but the kernel lost without a reason is a
//! failure.  At the end every churned peer is deleted or its socket
//! closed, and a last dump must show none left.
//!
//! Peers outside the churn range are never named in a request.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket},
    ops::Range,
    os::{
        fd::{AsRawFd, RawFd},
        unix::net::UnixDatagram,
    },
    time::{Duration, Instant, SystemTime},
};

use ovpn_dco_proto::uapi;

use crate::{
    cli::{ChurnArgs, CHURN_FIRST_ID},
    error::{Error, Result},
    genl::{self, Ovpn, OvpnMsg, Request},
    keys::{KeyBlob, KeyDirection, KEY_BLOB_LEN},
    reply::PeerInfo,
};

/// A resync dump is made after every this many cycles.
pub const RESYNC_EVERY: u64 = 256;
/// The run stops after this many cycles in a row with failures (the
/// device or the module is gone, say): the rest would only repeat them.
const GIVE_UP_AFTER: u32 = 100;
/// How long a TCP connect to `--tcp-remote` may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// TCP adds stop after this many failed connects in a row.
const TCP_GIVE_UP_AFTER: u32 = 5;
/// The peer id no peer may have (`PEER_ID_UNDEF`).
const PEER_ID_UNDEF: u32 = 0x00FF_FFFF;

/// A SplitMix64 generator: tiny and seedable, so a run can be repeated
/// with its `--seed` (as far as the kernel answers the same).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply-shift: the bias is far
    /// below anything the small `n` used here could show.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below(0)");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    /// One of `items`, or `None` if there is none.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        Some(items[self.below(items.len() as u64) as usize])
    }
}

/// A seed from the clock and the process id, for runs without `--seed`.
fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    Rng::new(nanos ^ u64::from(std::process::id()).rotate_left(32)).next_u64()
}

/// The id of a socket of the model (not its descriptor, which the kernel
/// reuses).
pub type SockId = u32;

/// A churned peer as the model expects the kernel to have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerModel {
    /// The socket it was added with.
    pub sock: SockId,
    /// Whether that is a TCP connection.
    pub tcp: bool,
    /// The remote address sent (UDP; a TCP peer's is the connection's).
    pub remote: SocketAddr,
    /// The socket's local port.
    pub lport: u16,
    /// Its VPN IPv4 address.
    pub vpn4: Ipv4Addr,
    /// The keepalive interval and timeout last set.
    pub keepalive: (u32, u32),
    /// Whether the kernel may have deleted it on its own: a keepalive
    /// timeout was set once (it expires, as nothing answers), or it is a
    /// TCP peer (the other end may close the connection).
    pub may_vanish: bool,
}

/// A socket of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockModel {
    /// Whether it is a TCP connection (which serves one peer).
    pub tcp: bool,
    /// A UDP socket's slot in `0..K`: `--lport-base` plus the slot is its
    /// port, and there are at most K UDP sockets.
    pub slot: Option<u32>,
    /// The churned peers added with it and not gone.
    pub users: BTreeSet<u32>,
}

/// What a dump showed against the model (see [`Model::reconcile`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Peers in the churn range the kernel has and the model does not.
    pub leaked: Vec<u32>,
    /// Peers of the model the kernel lost although nothing could delete
    /// them (their socket is open and no keepalive timeout was set).
    pub vanished: Vec<u32>,
    /// Peers of the model the kernel deleted on its own, as it may.
    pub expired: Vec<u32>,
}

/// The churned peers and the sockets they use, as the kernel must have
/// them.
#[derive(Debug, Clone)]
pub struct Model {
    /// The most peers at once (K).
    max_peers: u32,
    /// The peers, by id.
    peers: BTreeMap<u32, PeerModel>,
    /// The sockets this process holds, by id.
    socks: BTreeMap<SockId, SockModel>,
    /// The id of the next socket.
    next_sock: SockId,
    /// Leaked peers reported already: reported once, and their ids not
    /// used again while the kernel has them.
    leaked: BTreeSet<u32>,
}

impl Model {
    /// An empty model for at most `max_peers` peers.
    pub fn new(max_peers: u32) -> Self {
        Model {
            max_peers,
            peers: BTreeMap::new(),
            socks: BTreeMap::new(),
            next_sock: 0,
            leaked: BTreeSet::new(),
        }
    }

    /// The churn range of peer ids: `1000..1000 + 4K`.
    pub fn range(&self) -> Range<u32> {
        CHURN_FIRST_ID..CHURN_FIRST_ID + 4 * self.max_peers
    }

    /// Whether `id` is in the churn range.
    pub fn in_range(&self, id: u32) -> bool {
        self.range().contains(&id)
    }

    /// How many peers there are.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether there is no peer.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Whether there are K peers already.
    pub fn is_full(&self) -> bool {
        self.peers.len() >= self.max_peers as usize
    }

    /// How many sockets there are.
    pub fn sock_count(&self) -> usize {
        self.socks.len()
    }

    /// Peer `id`.
    pub fn peer(&self, id: u32) -> Option<&PeerModel> {
        self.peers.get(&id)
    }

    /// Socket `s`.
    pub fn sock(&self, s: SockId) -> Option<&SockModel> {
        self.socks.get(&s)
    }

    /// The peer ids, in order.
    pub fn ids(&self) -> Vec<u32> {
        self.peers.keys().copied().collect()
    }

    /// The socket ids, in order.
    pub fn sock_ids(&self) -> Vec<SockId> {
        self.socks.keys().copied().collect()
    }

    /// The UDP sockets, in order.
    pub fn udp_socks(&self) -> Vec<SockId> {
        self.socks
            .iter()
            .filter(|(_, s)| !s.tcp)
            .map(|(id, _)| *id)
            .collect()
    }

    /// A random peer.
    pub fn pick_peer(&self, rng: &mut Rng) -> Option<u32> {
        rng.pick(&self.ids())
    }

    /// A random id of the churn range that no peer of the model has, nor
    /// a known leak (at least three quarters of them are free, but for
    /// leaks).
    pub fn free_id(&self, rng: &mut Rng) -> Option<u32> {
        let r = self.range();
        let free = |id: &u32| !self.peers.contains_key(id) && !self.leaked.contains(id);
        if self.peers.len() + self.leaked.len() >= r.len() {
            return None;
        }
        for _ in 0..64 {
            let id = r.start + rng.below(u64::from(r.end - r.start)) as u32;
            if free(&id) {
                return Some(id);
            }
        }
        // Many leaks: pick among the free ones.
        rng.pick(&r.filter(free).collect::<Vec<_>>())
    }

    /// A random UDP slot no socket has, if any is left.
    pub fn free_slot(&self, rng: &mut Rng) -> Option<u32> {
        let used: BTreeSet<u32> = self.socks.values().filter_map(|s| s.slot).collect();
        let free: Vec<u32> = (0..self.max_peers).filter(|s| !used.contains(s)).collect();
        rng.pick(&free)
    }

    /// Records a new socket (UDP with its slot, or TCP) and returns its id.
    pub fn new_sock(&mut self, tcp: bool, slot: Option<u32>) -> SockId {
        let id = self.next_sock;
        self.next_sock += 1;
        self.socks.insert(
            id,
            SockModel {
                tcp,
                slot,
                users: BTreeSet::new(),
            },
        );
        id
    }

    /// Records that the kernel accepted peer `id` with `p.sock`.
    pub fn add_peer(&mut self, id: u32, p: PeerModel) {
        if let Some(s) = self.socks.get_mut(&p.sock) {
            s.users.insert(id);
        }
        self.peers.insert(id, p);
    }

    /// Records that peer `id` is gone.  Its socket stays, unless it was a
    /// TCP connection (one peer only): the caller closes it then.
    pub fn remove_peer(&mut self, id: u32) -> Option<PeerModel> {
        let p = self.peers.remove(&id)?;
        if let Some(s) = self.socks.get_mut(&p.sock) {
            s.users.remove(&id);
            if s.tcp && s.users.is_empty() {
                self.socks.remove(&p.sock);
            }
        }
        Some(p)
    }

    /// Records that socket `s` is closed: its peers are gone, and are
    /// returned.
    pub fn remove_sock(&mut self, s: SockId) -> Vec<u32> {
        let Some(sock) = self.socks.remove(&s) else {
            return Vec::new();
        };
        for id in &sock.users {
            self.peers.remove(id);
        }
        sock.users.into_iter().collect()
    }

    /// Records a keepalive change of peer `id`.
    pub fn set_keepalive(&mut self, id: u32, interval: u32, timeout: u32) {
        if let Some(p) = self.peers.get_mut(&id) {
            p.keepalive = (interval, timeout);
            // Once set, a timeout may have expired the peer before the
            // next change turns it off: that stays possible.
            p.may_vanish |= timeout != 0;
        }
    }

    /// Compares the churn-range peers a dump shows (`kernel`; ids out of
    /// the range are ignored) with the model, and drops from the model the
    /// peers the kernel no longer has.  A leak is reported once (and
    /// again if it comes back after going).
    pub fn reconcile(&mut self, kernel: &BTreeSet<u32>) -> Reconciled {
        self.leaked.retain(|id| kernel.contains(id));
        let mut r = Reconciled {
            leaked: kernel
                .iter()
                .copied()
                .filter(|id| {
                    self.in_range(*id) && !self.peers.contains_key(id) && !self.leaked.contains(id)
                })
                .collect(),
            ..Reconciled::default()
        };
        self.leaked.extend(&r.leaked);
        for id in self.ids() {
            if kernel.contains(&id) {
                continue;
            }
            if self.peers[&id].may_vanish {
                r.expired.push(id);
            } else {
                r.vanished.push(id);
            }
            self.remove_peer(id);
        }
        r
    }
}

/// The VPN IPv4 address of peer `id`: the prefix, then `id - 1000 + 1` in
/// the last two octets (unique per id, never `.0.0`).
pub fn vpn4(prefix: [u8; 2], id: u32) -> Ipv4Addr {
    let off = id - CHURN_FIRST_ID + 1;
    Ipv4Addr::new(prefix[0], prefix[1], (off >> 8) as u8, off as u8)
}

/// What the kernel reports of a peer that differs from the model, if
/// anything.
pub fn check_peer(info: &PeerInfo, want: &PeerModel) -> Option<String> {
    let mut bad = Vec::new();
    if info.vpn4 != Some(want.vpn4) {
        bad.push(format!("vpn4={:?} (want {})", info.vpn4, want.vpn4));
    }
    if info.local_port != Some(want.lport) {
        bad.push(format!(
            "local_port={:?} (want {})",
            info.local_port, want.lport
        ));
    }
    let ka = (info.ka_interval, info.ka_timeout);
    if ka != (Some(want.keepalive.0), Some(want.keepalive.1)) {
        bad.push(format!(
            "keepalive={:?}/{:?} (want {}/{})",
            ka.0, ka.1, want.keepalive.0, want.keepalive.1
        ));
    }
    if !want.tcp && info.remote != Some(want.remote) {
        bad.push(format!("remote={:?} (want {})", info.remote, want.remote));
    }
    (!bad.is_empty()).then(|| bad.join(", "))
}

/// How a request ended, as far as the checks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded, as it may.
    Success,
    /// The kernel refused it with an errno it may answer.
    Refused(i32),
    /// Anything else: the text of the result.
    Unexpected(String),
}

/// Classifies the result of a request that may succeed (`success`) and
/// may be refused with the errnos `accepted`.
pub fn judge<T>(r: &Result<T>, success: bool, accepted: &[i32]) -> Outcome {
    match r {
        Ok(_) if success => Outcome::Success,
        Ok(_) => Outcome::Unexpected("success".into()),
        Err(Error::Netlink { errno, .. }) if accepted.contains(errno) => Outcome::Refused(*errno),
        Err(e @ Error::Netlink { .. }) => Outcome::Unexpected(e.to_string()),
        Err(e) => Outcome::Unexpected(format!("error: {e}")),
    }
}

/// Whether `r` says that the peer named is gone: `ENOENT`, unless the
/// extended ACK blames something else (`NEW_KEY` passes on the crypto
/// API's `ENOENT` for a cipher the kernel lacks, with "the kernel cannot
/// set up this cipher"; a missing peer is "no peer with this id").
fn is_gone<T>(r: &Result<T>) -> bool {
    match r {
        Err(Error::Netlink { errno, msg }) if *errno == libc::ENOENT => {
            msg.as_deref().is_none_or(|m| m.contains("no peer"))
        }
        _ => false,
    }
}

/// The actions of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `NEW_PEER` with a free id.
    Add,
    /// `NEW_KEY` in slot 0 or 1.
    NewKey,
    /// `SWAP_KEYS`.
    SwapKeys,
    /// `DEL_KEY` of slot 0 or 1.
    DelKey,
    /// `SET_PEER` (keepalive).
    SetPeer,
    /// `GET_PEER` of one peer.
    GetPeer,
    /// `GET_PEER` dump, compared with the model.
    Dump,
    /// `DEL_PEER`.
    DelPeer,
    /// Closing a socket, which deletes its peers.
    Close,
    /// A request the kernel must refuse.
    Invalid,
}

/// The actions and their weights.
const WEIGHTS: &[(Action, u64)] = &[
    (Action::Add, 20),
    (Action::NewKey, 14),
    (Action::SwapKeys, 8),
    (Action::DelKey, 6),
    (Action::SetPeer, 8),
    (Action::GetPeer, 10),
    (Action::Dump, 3),
    (Action::DelPeer, 12),
    (Action::Close, 6),
    (Action::Invalid, 3),
];

impl Action {
    /// Whether the action needs a peer of the model.
    pub fn needs_peer(self) -> bool {
        !matches!(self, Action::Add | Action::Dump | Action::Invalid)
    }
}

/// Picks the action of a cycle for a model with no peer (`empty`) or K
/// (`full`): an action about a peer becomes an add when there is none, an
/// add a deletion or a close when there are K.
pub fn pick_action(rng: &mut Rng, empty: bool, full: bool) -> Action {
    let total: u64 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total);
    let mut action = Action::Add;
    for &(a, w) in WEIGHTS {
        if x < w {
            action = a;
            break;
        }
        x -= w;
    }
    if empty && action.needs_peer() {
        return Action::Add;
    }
    if action == Action::Add && full {
        return if rng.chance(2, 3) {
            Action::DelPeer
        } else {
            Action::Close
        };
    }
    action
}

/// The request counters of the summary line.
#[derive(Debug, Default, Clone)]
struct Counters {
    adds: u64,
    dels: u64,
    closes: u64,
    keys: u64,
    swaps: u64,
    keydels: u64,
    sets: u64,
    gets: u64,
    dumps: u64,
    invalid: u64,
    tcp_skips: u64,
}

/// A socket this process holds for its peers.
enum Transport {
    /// A UDP socket, maybe shared by several peers.
    Udp(UdpSocket),
    /// A TCP connection, one peer's.
    Tcp(TcpStream),
}

impl Transport {
    /// Its descriptor.
    fn fd(&self) -> RawFd {
        match self {
            Transport::Udp(s) => s.as_raw_fd(),
            Transport::Tcp(s) => s.as_raw_fd(),
        }
    }

    /// Its local port (0 if unknown).
    fn local_port(&self) -> u16 {
        match self {
            Transport::Udp(s) => s.local_addr().map_or(0, |a| a.port()),
            Transport::Tcp(s) => s.local_addr().map_or(0, |a| a.port()),
        }
    }
}

/// The descriptor of a UDP socket just closed.  Nothing opens another
/// before the request naming it is sent: the process has one thread.
#[cfg(not(test))]
fn closed_socket_fd() -> std::io::Result<RawFd> {
    Ok(UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?.as_raw_fd())
}

/// Unit tests run in threads that open descriptors at any time: one far
/// above those in use stands for the closed socket's.
#[cfg(test)]
fn closed_socket_fd() -> std::io::Result<RawFd> {
    Ok(999_983)
}

/// The descriptor of a socket as the `SOCKET` attribute carries it.
fn fd_u32(fd: RawFd) -> u32 {
    // Descriptors are never negative; a negative one would be refused.
    fd as u32
}

/// A key pair of random material for `NEW_KEY`.
struct RandomKey {
    /// The key id, 0..7 (8 to be refused).
    key_id: u8,
    /// The `OVPN_CIPHER_ALG_*`.
    cipher_alg: u16,
    /// The key length in bytes.
    key_len: usize,
    /// The key direction.
    dir: KeyDirection,
}

impl RandomKey {
    /// A valid key: AES-GCM (128, 192 or 256 bits) or ChaCha20-Poly1305.
    fn new(rng: &mut Rng) -> Self {
        let chacha = rng.chance(1, 2);
        RandomKey {
            key_id: rng.below(8) as u8,
            cipher_alg: if chacha {
                uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305
            } else {
                uapi::OVPN_CIPHER_ALG_AES_GCM
            },
            key_len: if chacha {
                32
            } else {
                [16, 24, 32][rng.below(3) as usize]
            },
            dir: if rng.chance(1, 2) {
                KeyDirection::Normal
            } else {
                KeyDirection::Inverse
            },
        }
    }

    /// The `NEW_KEY` request for peer `id`, slot `slot`, with random
    /// material laid out as a key file's.
    fn request(&self, rng: &mut Rng, ifindex: u32, id: u32, slot: u8) -> Result<Request> {
        let mut blob = [0u8; KEY_BLOB_LEN];
        rng.fill(&mut blob);
        let (encrypt, decrypt) = KeyBlob::from_bytes(blob).directions(self.dir, self.key_len)?;
        genl::new_key(
            ifindex,
            &genl::NewKey {
                peer_id: id,
                slot,
                key_id: self.key_id,
                cipher_alg: self.cipher_alg,
                encrypt,
                decrypt,
            },
        )
    }

    /// `key_id=N cipher=NAME bits=N dir=N`.
    fn describe(&self) -> String {
        let cipher = match self.cipher_alg {
            uapi::OVPN_CIPHER_ALG_AES_GCM => "aes".to_string(),
            uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305 => "chachapoly".to_string(),
            n => n.to_string(),
        };
        let dir = u8::from(self.dir == KeyDirection::Inverse);
        format!(
            "key_id={} cipher={cipher} bits={} dir={dir}",
            self.key_id,
            self.key_len * 8
        )
    }
}

/// What answers the requests: the kernel, through [`Ovpn`] (a unit test
/// puts a simulation in its place).
pub trait Kernel {
    /// Sends a request and returns the replies, or the kernel's error.
    fn execute(&self, req: &Request) -> Result<Vec<OvpnMsg>>;
}

impl Kernel for Ovpn {
    fn execute(&self, req: &Request) -> Result<Vec<OvpnMsg>> {
        Ovpn::execute(self, req)
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The cycles run.
    pub cycles: u64,
    /// The requests sent.
    n: Counters,
    /// The failed checks.
    pub failures: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// `churn cycles=N adds=.. dels=.. closes=.. keys=.. swaps=.. keydels=..
/// gets=.. dumps=.. invalid=.. failures=F elapsed_ms=..`
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = &self.n;
        write!(
            f,
            "churn cycles={} adds={} dels={} closes={} keys={} swaps={} keydels={} gets={} \
             dumps={} invalid={} failures={} elapsed_ms={}",
            self.cycles,
            n.adds,
            n.dels,
            n.closes,
            n.keys,
            n.swaps,
            n.keydels,
            n.gets,
            n.dumps,
            n.invalid,
            self.failures,
            self.elapsed.as_millis()
        )
    }
}

/// The state of a run.
struct Churn<'a, K: Kernel> {
    /// The arguments.
    a: &'a ChurnArgs,
    /// The one netlink socket.
    ovpn: &'a K,
    /// The device.
    ifindex: u32,
    /// The action picker.
    rng: Rng,
    /// The peers and sockets the kernel must have.
    model: Model,
    /// The sockets, by model id.
    transports: BTreeMap<SockId, Transport>,
    /// The requests sent.
    n: Counters,
    /// The failures so far.
    failures: u64,
    /// The current cycle (the cycle count during the final cleanup).
    cycle: u64,
    /// Failed TCP connects in a row; TCP adds stop at
    /// [`TCP_GIVE_UP_AFTER`].
    tcp_failed: u32,
}

/// `churn`: runs the cycles on device `ifindex`; the `Ok` value is the
/// exit status, 1 if any check failed.  Errors before the first cycle
/// (no family, no such device, peers already in the churn range) are
/// returned as errors.
pub fn run(a: &ChurnArgs, ifindex: u32) -> Result<i32> {
    let ovpn = Ovpn::connect()?;
    let summary = churn(a, ifindex, &ovpn)?;
    println!("{summary}");
    Ok(i32::from(summary.failures > 0))
}

/// Runs the cycles on device `ifindex` of `ovpn`, then the cleanup.
pub fn churn<K: Kernel>(a: &ChurnArgs, ifindex: u32, ovpn: &K) -> Result<Summary> {
    let seed = a.seed.unwrap_or_else(clock_seed);
    let model = Model::new(a.peers);
    let range = model.range();
    // The device must be an ovpn-dco device with nothing in our range.
    let before = dump_ids(ovpn, ifindex)?;
    let taken: Vec<String> = before
        .keys()
        .filter(|id| range.contains(id))
        .map(|id| id.to_string())
        .collect();
    if !taken.is_empty() {
        return Err(Error::other(format!(
            "churn: the device already has peers in the churn range {}..{}: {}",
            range.start,
            range.end,
            taken.join(" ")
        )));
    }
    eprintln!(
        "churn: ifindex={ifindex} seed={seed} cycles={} peers={} ids={}..{} remote={} \
         tcp-remote={} vpn-prefix={}.{} lport-base={}",
        a.cycles,
        a.peers,
        range.start,
        range.end,
        a.remote,
        a.tcp_remote.map_or("-".into(), |t| t.to_string()),
        a.vpn_prefix[0],
        a.vpn_prefix[1],
        a.lport_base.map_or("-".into(), |p| p.to_string()),
    );
    let mut c = Churn {
        a,
        ovpn,
        ifindex,
        rng: Rng::new(seed),
        model,
        transports: BTreeMap::new(),
        n: Counters::default(),
        failures: 0,
        cycle: 0,
        tcp_failed: 0,
    };
    let start = Instant::now();
    let mut next_report = a.report.map(|r| start + r);
    let mut in_a_row = 0;
    let mut done = 0;
    while done < a.cycles {
        c.cycle = done;
        let failures = c.failures;
        let action = pick_action(&mut c.rng, c.model.is_empty(), c.model.is_full());
        c.step(action);
        if done % RESYNC_EVERY == RESYNC_EVERY - 1 {
            c.resync("resync");
        }
        done += 1;
        in_a_row = if c.failures > failures {
            in_a_row + 1
        } else {
            0
        };
        if in_a_row >= GIVE_UP_AFTER {
            eprintln!(
                "churn: cycle {}: giving up after {in_a_row} cycles in a row with failures",
                c.cycle
            );
            break;
        }
        if let (Some(r), Some(at)) = (a.report, next_report) {
            let now = Instant::now();
            if now >= at {
                c.progress(done, start);
                next_report = Some(now + r);
            }
        }
    }
    c.cycle = done;
    c.finish();
    Ok(Summary {
        cycles: done,
        n: c.n,
        failures: c.failures,
        elapsed: start.elapsed(),
    })
}

/// The peers a dump of device `ifindex` shows, by id.
fn dump_ids<K: Kernel>(ovpn: &K, ifindex: u32) -> Result<BTreeMap<u32, PeerInfo>> {
    let msgs = ovpn.execute(&genl::get_peer(ifindex, None)?)?;
    parse_peers(&msgs)
}

/// The peers of `GET_PEER` replies, by id (a peer without an id is an
/// error).
fn parse_peers(msgs: &[OvpnMsg]) -> Result<BTreeMap<u32, PeerInfo>> {
    let mut out = BTreeMap::new();
    for msg in msgs {
        if let Some(p) = PeerInfo::from_msg(msg)? {
            let id =
                p.id.ok_or_else(|| Error::other("a GET_PEER reply without PEER_ID"))?;
            out.insert(id, p);
        }
    }
    Ok(out)
}

impl<K: Kernel> Churn<'_, K> {
    /// Reports a failed check: `churn: cycle C: <action> <details>:
    /// unexpected <result>`.
    fn fail(&mut self, action: &str, details: &str, result: &str) {
        self.failures += 1;
        let sep = if details.is_empty() { "" } else { " " };
        eprintln!(
            "churn: cycle {}: {action}{sep}{details}: unexpected {result}",
            self.cycle
        );
    }

    /// Sends a request.
    fn send(&self, req: Result<Request>) -> Result<Vec<OvpnMsg>> {
        self.ovpn.execute(&req?)
    }

    /// Runs one action.
    fn step(&mut self, action: Action) {
        match action {
            Action::Add => self.add(),
            Action::NewKey => self.new_key(),
            Action::SwapKeys => self.swap_keys(),
            Action::DelKey => self.del_key(),
            Action::SetPeer => self.set_peer(),
            Action::GetPeer => self.get_peer(),
            Action::Dump => {
                self.resync("dump");
            }
            Action::DelPeer => self.del_peer(),
            Action::Close => self.close(),
            Action::Invalid => self.invalid(),
        }
    }

    /// One progress line on stderr.
    fn progress(&self, done: u64, start: Instant) {
        eprintln!(
            "churn: progress cycle={done}/{} peers={} socks={} adds={} dels={} closes={} \
             keys={} sets={} dumps={} invalid={} tcp_skips={} failures={} elapsed_ms={}",
            self.a.cycles,
            self.model.len(),
            self.model.sock_count(),
            self.n.adds,
            self.n.dels,
            self.n.closes,
            self.n.keys,
            self.n.sets,
            self.n.dumps,
            self.n.invalid,
            self.n.tcp_skips,
            self.failures,
            start.elapsed().as_millis()
        );
    }

    /// Closes socket `s` if the model no longer has it (a TCP peer's, once
    /// the peer is gone), or, half the time, if it is a UDP socket no peer
    /// uses (else it stays, to be reused: attached to the device again).
    fn tidy(&mut self, s: SockId) {
        match self.model.sock(s) {
            None => {
                self.transports.remove(&s);
            }
            Some(sock) if !sock.tcp && sock.users.is_empty() => {
                if self.rng.chance(1, 2) {
                    self.model.remove_sock(s);
                    self.transports.remove(&s);
                }
            }
            Some(_) => {}
        }
    }

    /// Drops peer `id` from the model (the kernel does not have it any
    /// more) and tidies its socket.
    fn forget(&mut self, id: u32) {
        if let Some(p) = self.model.remove_peer(id) {
            self.tidy(p.sock);
        }
    }

    /// Sends a request about peer `id` of the model, which must succeed.
    /// `ENOENT` means the peer is gone: it is dropped from the model, and
    /// is a failure unless the peer may have vanished.  Returns the
    /// replies on success.
    fn on_peer(
        &mut self,
        action: &str,
        id: u32,
        details: &str,
        req: Result<Request>,
    ) -> Option<Vec<OvpnMsg>> {
        let may_vanish = self.model.peer(id).is_some_and(|p| p.may_vanish);
        let r = self.send(req);
        let gone = is_gone(&r);
        let accepted: &[i32] = if may_vanish && gone {
            &[libc::ENOENT]
        } else {
            &[]
        };
        let outcome = judge(&r, true, accepted);
        if let Outcome::Unexpected(what) = &outcome {
            let what = if gone {
                format!("{what} (no keepalive timeout was set and its socket is open)")
            } else {
                what.clone()
            };
            let details = if details.is_empty() {
                format!("id={id}")
            } else {
                format!("id={id} {details}")
            };
            self.fail(action, &details, &what);
        }
        if gone {
            self.forget(id);
        }
        r.ok()
    }

    /// A UDP socket for a new peer: half the time one this process has
    /// (shared by its peers, or with none left and so attached again),
    /// else a new one bound to an ephemeral port or `--lport-base` plus a
    /// free slot; one this process has when all K slots are taken.
    fn udp_sock(&mut self, action: &str, id: u32) -> Option<SockId> {
        let existing = self.model.udp_socks();
        if !existing.is_empty() && self.rng.chance(1, 2) {
            return self.rng.pick(&existing);
        }
        let Some(slot) = self.model.free_slot(&mut self.rng) else {
            return self.rng.pick(&existing);
        };
        let port = self.a.lport_base.map_or(0, |base| base + slot as u16);
        let ip = match self.a.remote {
            SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let addr = SocketAddr::new(ip, port);
        match UdpSocket::bind(addr) {
            Ok(sock) => {
                let s = self.model.new_sock(false, Some(slot));
                self.transports.insert(s, Transport::Udp(sock));
                Some(s)
            }
            Err(e) => {
                self.fail(
                    action,
                    &format!("id={id} bind {addr}"),
                    &format!("error: {e}"),
                );
                None
            }
        }
    }

    /// A UDP socket for new peer `id` (see `udp_sock`), a remote for it,
    /// and the socket's descriptor and local port.
    fn udp_target(&mut self, action: &str, id: u32) -> Option<(SockId, SocketAddr, RawFd, u16)> {
        let s = self.udp_sock(action, id)?;
        let remote = self.udp_remote();
        let t = &self.transports[&s];
        Some((s, remote, t.fd(), t.local_port()))
    }

    /// The remote of a new UDP peer: `--remote` with 0..3 added to its
    /// port.
    fn udp_remote(&mut self) -> SocketAddr {
        let mut r = self.a.remote;
        r.set_port(r.port() + self.rng.below(4) as u16);
        r
    }

    /// The `NEW_PEER` request of peer `id` on socket descriptor `fd`.
    fn new_peer_req(&self, id: u32, remote: SocketAddr, fd: RawFd) -> Result<Request> {
        genl::new_peer(
            self.ifindex,
            &genl::NewPeer {
                peer_id: id,
                remote,
                socket_fd: fd_u32(fd),
                vpn4: Some(vpn4(self.a.vpn_prefix, id)),
                vpn6: None,
                local_ip: None,
            },
        )
    }

    /// Adds a peer with a free id: on a TCP connection to `--tcp-remote`
    /// one time in five when it is given, else on a UDP socket.
    fn add(&mut self) {
        let Some(id) = self.model.free_id(&mut self.rng) else {
            return;
        };
        if let Some(t) = self.a.tcp_remote {
            if self.tcp_failed < TCP_GIVE_UP_AFTER && self.rng.chance(1, 5) {
                self.add_tcp(id, t);
                return;
            }
        }
        let Some((s, remote, fd, lport)) = self.udp_target("new_peer", id) else {
            return;
        };
        self.n.adds += 1;
        let r = self.send(self.new_peer_req(id, remote, fd));
        let details = format!("id={id} udp lport={lport} remote={remote}");
        match judge(&r, true, &[]) {
            Outcome::Unexpected(what) => {
                self.fail("new_peer", &details, &what);
                self.tidy(s);
            }
            _ => self.model.add_peer(
                id,
                PeerModel {
                    sock: s,
                    tcp: false,
                    remote,
                    lport,
                    vpn4: vpn4(self.a.vpn_prefix, id),
                    keepalive: (0, 0),
                    may_vanish: false,
                },
            ),
        }
    }

    /// Adds peer `id` on a new TCP connection to `t`; skipped if the
    /// connection fails (after [`TCP_GIVE_UP_AFTER`] in a row, TCP adds
    /// stop) or is reset before the kernel takes it (`ENOTCONN`).
    fn add_tcp(&mut self, id: u32, t: SocketAddr) {
        let stream = match TcpStream::connect_timeout(&t, TCP_CONNECT_TIMEOUT) {
            Ok(s) => {
                self.tcp_failed = 0;
                s
            }
            Err(e) => {
                self.n.tcp_skips += 1;
                self.tcp_failed += 1;
                if self.tcp_failed == TCP_GIVE_UP_AFTER {
                    eprintln!(
                        "churn: cycle {}: TCP connect to {t} failed {} times in a row ({e}): \
                         no more TCP peers",
                        self.cycle, self.tcp_failed
                    );
                }
                return;
            }
        };
        let remote = stream.peer_addr().unwrap_or(t);
        let lport = stream.local_addr().map_or(0, |a| a.port());
        let fd = stream.as_raw_fd();
        let s = self.model.new_sock(true, None);
        self.transports.insert(s, Transport::Tcp(stream));
        self.n.adds += 1;
        let r = self.send(self.new_peer_req(id, remote, fd));
        let details = format!("id={id} tcp lport={lport} remote={remote}");
        match judge(&r, true, &[libc::ENOTCONN]) {
            Outcome::Success => self.model.add_peer(
                id,
                PeerModel {
                    sock: s,
                    tcp: true,
                    remote,
                    lport,
                    vpn4: vpn4(self.a.vpn_prefix, id),
                    keepalive: (0, 0),
                    may_vanish: true,
                },
            ),
            Outcome::Refused(_) => {
                self.n.tcp_skips += 1;
                self.model.remove_sock(s);
                self.transports.remove(&s);
            }
            Outcome::Unexpected(what) => {
                self.fail("new_peer", &details, &what);
                self.model.remove_sock(s);
                self.transports.remove(&s);
            }
        }
    }

    /// Installs a random key in slot 0 or 1 of a random peer.
    fn new_key(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let slot = self.rng.below(2) as u8;
        let key = RandomKey::new(&mut self.rng);
        let req = key.request(&mut self.rng, self.ifindex, id, slot);
        self.n.keys += 1;
        let details = format!("slot={slot} {}", key.describe());
        self.on_peer("new_key", id, &details, req);
    }

    /// Swaps the keys of a random peer (empty slots included).
    fn swap_keys(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        self.n.swaps += 1;
        let req = genl::swap_keys(self.ifindex, id);
        self.on_peer("swap_keys", id, "", req);
    }

    /// Deletes slot 0 or 1 of a random peer (empty or not).
    fn del_key(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let slot = self.rng.below(2) as u8;
        self.n.keydels += 1;
        let req = genl::del_key(self.ifindex, id, slot);
        self.on_peer("del_key", id, &format!("slot={slot}"), req);
    }

    /// Sets a small random keepalive on a random peer: off (0 0) a
    /// quarter of the time, an interval alone (pings, no expiry) an
    /// eighth, else a timeout of 1 to 6 s (and the peer expires that long
    /// after, as nothing answers it).
    fn set_peer(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let (interval, timeout) = match self.rng.below(8) {
            0 | 1 => (0, 0),
            2 => (1 + self.rng.below(3) as u32, 0),
            _ => (self.rng.below(4) as u32, 1 + self.rng.below(6) as u32),
        };
        self.n.sets += 1;
        let req = genl::set_peer(self.ifindex, id, interval, timeout);
        let details = format!("interval={interval} timeout={timeout}");
        if self.on_peer("set_peer", id, &details, req).is_some() {
            self.model.set_keepalive(id, interval, timeout);
        }
    }

    /// Gets a random peer and checks the reply against the model.
    fn get_peer(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        self.n.gets += 1;
        let req = genl::get_peer(self.ifindex, Some(id));
        let Some(msgs) = self.on_peer("get_peer", id, "", req) else {
            return;
        };
        let details = format!("id={id}");
        match parse_peers(&msgs) {
            Err(e) => self.fail("get_peer", &details, &format!("reply: {e}")),
            Ok(peers) => {
                let ids: Vec<u32> = peers.keys().copied().collect();
                match (peers.get(&id), self.model.peer(id)) {
                    (Some(info), Some(want)) if ids.len() == 1 => {
                        if let Some(bad) = check_peer(info, want) {
                            self.fail("get_peer", &details, &format!("reply: {bad}"));
                        }
                    }
                    _ => self.fail("get_peer", &details, &format!("reply: peers {ids:?}")),
                }
            }
        }
    }

    /// Dumps the peers, checks those of the model against it, and
    /// compares the churn-range ids with the model's.
    fn resync(&mut self, action: &str) {
        self.n.dumps += 1;
        let peers = match dump_ids(self.ovpn, self.ifindex) {
            Ok(p) => p,
            Err(e) => {
                let what = match e {
                    Error::Netlink { .. } => e.to_string(),
                    _ => format!("error: {e}"),
                };
                self.fail(action, "", &what);
                return;
            }
        };
        for (id, info) in &peers {
            if let Some(want) = self.model.peer(*id) {
                if let Some(bad) = check_peer(info, want) {
                    self.fail(action, &format!("id={id}"), &format!("reply: {bad}"));
                }
            }
        }
        let kernel: BTreeSet<u32> = peers.keys().copied().collect();
        let before: BTreeMap<u32, SockId> = self
            .model
            .ids()
            .into_iter()
            .filter_map(|id| Some((id, self.model.peer(id)?.sock)))
            .collect();
        let r = self.model.reconcile(&kernel);
        for id in &r.leaked {
            self.fail(
                action,
                &format!("id={id}"),
                "peer (in the churn range, not in the model: leaked)",
            );
        }
        for id in &r.vanished {
            self.fail(
                action,
                &format!("id={id}"),
                "absence (no keepalive timeout was set and its socket is open)",
            );
        }
        for id in r.vanished.iter().chain(&r.expired) {
            if let Some(s) = before.get(id) {
                self.tidy(*s);
            }
        }
    }

    /// Deletes a random peer (`DEL_PEER`).
    fn del_peer(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        self.del_peer_id(id);
    }

    /// Deletes peer `id` of the model (`DEL_PEER`).
    fn del_peer_id(&mut self, id: u32) {
        self.n.dels += 1;
        let req = genl::del_peer(self.ifindex, id);
        if self.on_peer("del_peer", id, "", req).is_some() {
            self.forget(id);
        }
    }

    /// Closes the socket of a random peer: the kernel must have deleted
    /// every peer on it when `close(2)` returns.
    fn close(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let Some(s) = self.model.peer(id).map(|p| p.sock) else {
            return;
        };
        self.close_sock(s);
    }

    /// Closes socket `s` and checks that its peers are gone (`GET_PEER`:
    /// `ENOENT`).
    fn close_sock(&mut self, s: SockId) {
        let lport = self.transports.get(&s).map_or(0, Transport::local_port);
        let ids = self.model.remove_sock(s);
        self.transports.remove(&s);
        if ids.is_empty() {
            return;
        }
        self.n.closes += 1;
        for id in ids {
            self.n.gets += 1;
            let r = self.send(genl::get_peer(self.ifindex, Some(id)));
            let details = format!("lport={lport} then get_peer id={id}");
            match judge(&r, false, &[libc::ENOENT]) {
                Outcome::Refused(_) => {}
                Outcome::Unexpected(what) if what == "success" => {
                    self.fail("close", &details, "success (the peer outlived its socket)")
                }
                Outcome::Unexpected(what) => self.fail("close", &details, &what),
                Outcome::Success => unreachable!("success is not expected"),
            }
        }
    }

    /// Sends a request the kernel must refuse.
    fn invalid(&mut self) {
        match self.rng.below(7) {
            0 => self.invalid_unknown_id(),
            1 => self.invalid_slot(),
            2 => self.invalid_undef_id(),
            3 => self.invalid_fd(false),
            4 => self.invalid_fd(true),
            5 => self.invalid_dup_id(),
            _ => self.invalid_key(),
        }
    }

    /// A per-peer request about peer `id` (and key slot `slot`) of kind
    /// `kind`: 0 get, 1 del, 2 set, 3 swap, 4 del_key, else new_key.
    fn peer_request(&mut self, kind: u64, id: u32, slot: u8) -> (&'static str, Result<Request>) {
        let i = self.ifindex;
        match kind {
            0 => ("get_peer", genl::get_peer(i, Some(id))),
            1 => ("del_peer", genl::del_peer(i, id)),
            2 => ("set_peer", genl::set_peer(i, id, 1, 2)),
            3 => ("swap_keys", genl::swap_keys(i, id)),
            4 => ("del_key", genl::del_key(i, id, slot)),
            _ => {
                let key = RandomKey::new(&mut self.rng);
                ("new_key", key.request(&mut self.rng, i, id, slot))
            }
        }
    }

    /// Reports an unexpected result of an invalid request, if it is one.
    /// Returns whether the request succeeded.
    fn expect_refusal(
        &mut self,
        action: &str,
        details: &str,
        r: &Result<Vec<OvpnMsg>>,
        accepted: &[i32],
    ) -> bool {
        if let Outcome::Unexpected(what) = judge(r, false, accepted) {
            self.fail(&format!("invalid {action}"), details, &what);
        }
        r.is_ok()
    }

    /// A per-peer request about a churn-range id no peer has: `ENOENT`.
    fn invalid_unknown_id(&mut self) {
        let Some(id) = self.model.free_id(&mut self.rng) else {
            return;
        };
        let kind = self.rng.below(6);
        let (action, req) = self.peer_request(kind, id, 0);
        self.n.invalid += 1;
        let r = self.send(req);
        self.expect_refusal(
            action,
            &format!("id={id} (no such peer)"),
            &r,
            &[libc::ENOENT],
        );
    }

    /// `NEW_KEY` or `DEL_KEY` with key slot 7, out of the policy's range:
    /// `ERANGE` (or `EINVAL`), whether the peer exists or not.
    fn invalid_slot(&mut self) {
        let id = match self.model.pick_peer(&mut self.rng) {
            Some(id) => id,
            None => match self.model.free_id(&mut self.rng) {
                Some(id) => id,
                None => return,
            },
        };
        let kind = 4 + self.rng.below(2);
        let (action, req) = self.peer_request(kind, id, 7);
        self.n.invalid += 1;
        let r = self.send(req);
        self.expect_refusal(
            action,
            &format!("id={id} slot=7"),
            &r,
            &[libc::ERANGE, libc::EINVAL],
        );
    }

    /// Any request naming peer id 0xFFFFFF: `EINVAL`.
    fn invalid_undef_id(&mut self) {
        let id = PEER_ID_UNDEF;
        let kind = self.rng.below(7);
        self.n.invalid += 1;
        let (action, r) = if kind == 6 {
            // On a socket of ours if there is one: the id is checked
            // first, so nothing is attached.
            let tmp;
            let fd = match self.rng.pick(&self.model.udp_socks()) {
                Some(s) => self.transports[&s].fd(),
                None => match UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)) {
                    Ok(sock) => {
                        tmp = sock;
                        tmp.as_raw_fd()
                    }
                    Err(e) => {
                        self.fail(
                            "invalid new_peer",
                            "id=16777215 bind",
                            &format!("error: {e}"),
                        );
                        return;
                    }
                },
            };
            let remote = self.udp_remote();
            ("new_peer", self.send(self.new_peer_req(id, remote, fd)))
        } else {
            let (action, req) = self.peer_request(kind, id, 0);
            (action, self.send(req))
        };
        self.expect_refusal(action, &format!("id={id}"), &r, &[libc::EINVAL]);
    }

    /// `NEW_PEER` with a free id and the descriptor of a socket just
    /// closed (`EBADF`) or of a UNIX datagram socket (`EPROTONOSUPPORT`).
    fn invalid_fd(&mut self, unix: bool) {
        let Some(id) = self.model.free_id(&mut self.rng) else {
            return;
        };
        let remote = self.udp_remote();
        let (r, details, accepted) = if unix {
            let sock = match UnixDatagram::unbound() {
                Ok(s) => s,
                Err(e) => {
                    self.fail(
                        "invalid new_peer",
                        &format!("id={id} unix socket"),
                        &format!("error: {e}"),
                    );
                    return;
                }
            };
            self.n.invalid += 1;
            let r = self.send(self.new_peer_req(id, remote, sock.as_raw_fd()));
            let details = format!("id={id} fd={} (a UNIX socket)", sock.as_raw_fd());
            (r, details, libc::EPROTONOSUPPORT)
        } else {
            let fd = match closed_socket_fd() {
                Ok(fd) => fd,
                Err(e) => {
                    self.fail(
                        "invalid new_peer",
                        &format!("id={id} bind"),
                        &format!("error: {e}"),
                    );
                    return;
                }
            };
            self.n.invalid += 1;
            let r = self.send(self.new_peer_req(id, remote, fd));
            (r, format!("id={id} fd={fd} (closed)"), libc::EBADF)
        };
        if self.expect_refusal("new_peer", &details, &r, &[accepted]) {
            // A peer the model cannot own: take it out again.
            let _ = self.send(genl::del_peer(self.ifindex, id));
        }
    }

    /// `NEW_PEER` with the id of a peer of the model: `EEXIST`, or, if the
    /// peer may have vanished meanwhile, success (the new peer replaces it
    /// in the model).
    fn invalid_dup_id(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let Some((s, remote, fd, lport)) = self.udp_target("invalid new_peer", id) else {
            return;
        };
        let may_vanish = self.model.peer(id).is_some_and(|p| p.may_vanish);
        self.n.invalid += 1;
        let r = self.send(self.new_peer_req(id, remote, fd));
        let details = format!("id={id} (exists) udp lport={lport}");
        match judge(&r, may_vanish, &[libc::EEXIST]) {
            Outcome::Success => {
                // The old peer was gone: the new one takes its place (and
                // its socket is tidied only once the new one uses `s`).
                let old = self.model.remove_peer(id);
                self.model.add_peer(
                    id,
                    PeerModel {
                        sock: s,
                        tcp: false,
                        remote,
                        lport,
                        vpn4: vpn4(self.a.vpn_prefix, id),
                        keepalive: (0, 0),
                        may_vanish: false,
                    },
                );
                if let Some(o) = old {
                    self.tidy(o.sock);
                }
            }
            Outcome::Refused(_) => self.tidy(s),
            Outcome::Unexpected(what) => {
                self.fail("invalid new_peer", &details, &what);
                self.tidy(s);
            }
        }
    }

    /// `NEW_KEY` for a peer of the model with key id 8, cipher "none" or
    /// a 16-byte ChaCha20-Poly1305 key: `EINVAL` (`ENOENT` if the peer may
    /// have vanished, which drops it).
    fn invalid_key(&mut self) {
        let Some(id) = self.model.pick_peer(&mut self.rng) else {
            return;
        };
        let mut key = RandomKey::new(&mut self.rng);
        match self.rng.below(3) {
            0 => key.key_id = 8,
            1 => key.cipher_alg = uapi::OVPN_CIPHER_ALG_NONE,
            _ => {
                key.cipher_alg = uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305;
                key.key_len = 16;
            }
        }
        let slot = self.rng.below(2) as u8;
        let req = key.request(&mut self.rng, self.ifindex, id, slot);
        let may_vanish = self.model.peer(id).is_some_and(|p| p.may_vanish);
        self.n.invalid += 1;
        let r = self.send(req);
        let details = format!("id={id} slot={slot} {}", key.describe());
        let gone = is_gone(&r);
        let accepted: &[i32] = if may_vanish && gone {
            &[libc::EINVAL, libc::ENOENT]
        } else {
            &[libc::EINVAL]
        };
        self.expect_refusal("new_key", &details, &r, accepted);
        if gone {
            self.forget(id);
        }
    }

    /// The end: deletes half the remaining peers with `DEL_PEER`, closes
    /// every socket, and checks with a dump that no churn-range peer is
    /// left.
    fn finish(&mut self) {
        for id in self.model.ids() {
            if self.rng.chance(1, 2) {
                self.del_peer_id(id);
            }
        }
        for s in self.model.sock_ids() {
            self.close_sock(s);
        }
        self.transports.clear();
        self.n.dumps += 1;
        match dump_ids(self.ovpn, self.ifindex) {
            Ok(peers) => {
                let left: Vec<u32> = peers
                    .keys()
                    .copied()
                    .filter(|id| self.model.in_range(*id))
                    .collect();
                for id in left {
                    self.fail(
                        "final dump",
                        &format!("id={id}"),
                        "peer (left after every churned peer was deleted or its socket closed)",
                    );
                }
            }
            Err(e) => self.fail("final dump", "", &e.to_string()),
        }
    }
}

#[cfg(test)]
#[path = "churn_sim.rs"]
mod sim;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs of SplitMix64 seeded with 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn rng_is_deterministic_per_seed() {
        let run = |seed| {
            let mut r = Rng::new(seed);
            (0..100).map(|_| r.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
        let mut r = Rng::new(7);
        let mut buf = [0u8; 13];
        r.fill(&mut buf);
        let mut again = Rng::new(7);
        let mut buf2 = [0u8; 13];
        again.fill(&mut buf2);
        assert_eq!(buf, buf2);
        assert_ne!(buf, [0; 13]);
    }

    #[test]
    fn rng_ranges() {
        let mut r = Rng::new(1);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            let x = r.below(5);
            assert!(x < 5);
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        assert_eq!(r.below(1), 0);
        assert_eq!(r.pick::<u8>(&[]), None);
        assert_eq!(r.pick(&[9]), Some(9));
        assert!((0..1000).all(|_| !r.chance(0, 3)));
        assert!((0..1000).all(|_| r.chance(3, 3)));
    }

    #[test]
    fn actions_fit_the_pool() {
        let mut r = Rng::new(3);
        let mut kinds = BTreeSet::new();
        for _ in 0..10_000 {
            let a = pick_action(&mut r, true, false);
            assert!(!a.needs_peer(), "{a:?} with no peer");
            let a = pick_action(&mut r, false, true);
            assert_ne!(a, Action::Add, "add with a full pool");
            let a = pick_action(&mut r, false, false);
            kinds.insert(format!("{a:?}"));
        }
        assert_eq!(kinds.len(), WEIGHTS.len(), "{kinds:?}");
        // The same seed picks the same actions.
        let seq = |seed| {
            let mut r = Rng::new(seed);
            (0..50)
                .map(|i| pick_action(&mut r, i % 4 == 0, i % 7 == 0))
                .collect::<Vec<_>>()
        };
        assert_eq!(seq(9), seq(9));
    }

    fn peer(sock: SockId, tcp: bool) -> PeerModel {
        PeerModel {
            sock,
            tcp,
            remote: "10.10.0.2:1194".parse().unwrap(),
            lport: 40000,
            vpn4: Ipv4Addr::new(10, 77, 0, 1),
            keepalive: (0, 0),
            may_vanish: tcp,
        }
    }

    #[test]
    fn ids_and_addresses() {
        let m = Model::new(32);
        assert_eq!(m.range(), 1000..1128);
        assert!(m.in_range(1000) && m.in_range(1127));
        assert!(!m.in_range(999) && !m.in_range(1128) && !m.in_range(1));
        let mut r = Rng::new(5);
        for _ in 0..1000 {
            assert!(m.in_range(m.free_id(&mut r).unwrap()));
        }
        assert_eq!(vpn4([10, 77], 1000), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(vpn4([10, 77], 1254), Ipv4Addr::new(10, 77, 0, 255));
        assert_eq!(vpn4([10, 77], 1255), Ipv4Addr::new(10, 77, 1, 0));
        // The largest pool: 16384 ids, all with distinct addresses.
        let big = Model::new(crate::cli::CHURN_MAX_PEERS);
        let addrs: BTreeSet<Ipv4Addr> = big.range().map(|id| vpn4([10, 77], id)).collect();
        assert_eq!(addrs.len(), big.range().len());
        assert!(big.range().end < PEER_ID_UNDEF);
    }

    #[test]
    fn model_bookkeeping() {
        let mut m = Model::new(4);
        let mut r = Rng::new(11);
        let u = m.new_sock(false, Some(0));
        let t = m.new_sock(true, None);
        m.add_peer(1000, peer(u, false));
        m.add_peer(1001, peer(u, false));
        m.add_peer(1002, peer(t, true));
        assert_eq!(m.len(), 3);
        assert!(!m.is_full());
        assert_eq!(m.udp_socks(), vec![u]);
        assert_eq!(m.sock(u).unwrap().users, BTreeSet::from([1000, 1001]));
        for _ in 0..200 {
            let id = m.free_id(&mut r).unwrap();
            assert!(![1000, 1001, 1002].contains(&id));
            assert_ne!(m.free_slot(&mut r), Some(0));
        }
        // A UDP peer goes: the socket stays, for the other one.
        assert!(m.remove_peer(1000).is_some());
        assert!(m.remove_peer(1000).is_none());
        assert_eq!(m.sock(u).unwrap().users, BTreeSet::from([1001]));
        // A TCP peer goes with its connection.
        assert!(m.remove_peer(1002).is_some());
        assert!(m.sock(t).is_none());
        // The last UDP peer goes: the socket stays, empty.
        m.remove_peer(1001);
        assert!(m.sock(u).unwrap().users.is_empty());
        assert!(m.is_empty());
        // Closing a socket takes its peers.
        m.add_peer(1003, peer(u, false));
        m.add_peer(1004, peer(u, false));
        let v = m.new_sock(false, Some(1));
        m.add_peer(1005, peer(v, false));
        assert_eq!(m.remove_sock(u), vec![1003, 1004]);
        assert_eq!(m.ids(), vec![1005]);
        assert_eq!(m.sock_ids(), vec![v]);
        assert!(m.remove_sock(u).is_empty());
        // Full at K peers.
        for id in 1006..1009 {
            m.add_peer(id, peer(v, false));
        }
        assert!(m.is_full());
    }

    #[test]
    fn free_slots_run_out_at_k_sockets() {
        let mut m = Model::new(3);
        let mut r = Rng::new(2);
        let mut slots = BTreeSet::new();
        while let Some(s) = m.free_slot(&mut r) {
            assert!(slots.insert(s), "slot {s} twice");
            m.new_sock(false, Some(s));
        }
        assert_eq!(slots, BTreeSet::from([0, 1, 2]));
        // TCP connections take no slot.
        m.new_sock(true, None);
        assert_eq!(m.free_slot(&mut r), None);
        let with_slot_1 = m
            .sock_ids()
            .into_iter()
            .find(|s| m.sock(*s).unwrap().slot == Some(1))
            .unwrap();
        m.remove_sock(with_slot_1);
        assert_eq!(m.free_slot(&mut r), Some(1));
    }

    #[test]
    fn keepalive_timeout_makes_a_peer_mortal() {
        let mut m = Model::new(4);
        let u = m.new_sock(false, Some(0));
        m.add_peer(1000, peer(u, false));
        m.set_keepalive(1000, 2, 0);
        assert!(!m.peer(1000).unwrap().may_vanish);
        m.set_keepalive(1000, 1, 3);
        assert!(m.peer(1000).unwrap().may_vanish);
        assert_eq!(m.peer(1000).unwrap().keepalive, (1, 3));
        // Turned off again, it may still have expired before.
        m.set_keepalive(1000, 0, 0);
        assert!(m.peer(1000).unwrap().may_vanish);
        m.set_keepalive(1999, 1, 1); // unknown: nothing
    }

    #[test]
    fn reconcile_finds_leaks_and_losses() {
        let mut m = Model::new(4);
        let u = m.new_sock(false, Some(0));
        let t = m.new_sock(true, None);
        m.add_peer(1000, peer(u, false));
        m.add_peer(1001, peer(u, false));
        m.set_keepalive(1001, 1, 2);
        m.add_peer(1002, peer(t, true));
        m.add_peer(1003, peer(u, false));
        // The kernel has 1000 and 1003 (ours), 1 (not in the range: not
        // ours to judge) and 1005 (in the range, unknown: a leak); 1001
        // expired, 1002's connection ended, both fine.
        let kernel = BTreeSet::from([1, 1000, 1003, 1005]);
        let r = m.reconcile(&kernel);
        assert_eq!(
            r,
            Reconciled {
                leaked: vec![1005],
                vanished: vec![],
                expired: vec![1001, 1002],
            }
        );
        assert_eq!(m.ids(), vec![1000, 1003]);
        assert!(m.sock(t).is_none(), "the TCP peer's socket goes with it");
        // Then 1003 disappears although nothing could delete it.
        let r = m.reconcile(&BTreeSet::from([1000]));
        assert_eq!(r.vanished, vec![1003]);
        assert!(r.leaked.is_empty() && r.expired.is_empty());
        assert_eq!(m.ids(), vec![1000]);
        assert_eq!(m.reconcile(&BTreeSet::from([1000])), Reconciled::default());
        // The leak still there: reported once; its id is not reused.
        let with_leak = BTreeSet::from([1000, 1005]);
        assert_eq!(m.reconcile(&with_leak).leaked, vec![1005]);
        assert!(m.reconcile(&with_leak).leaked.is_empty());
        let mut r = Rng::new(4);
        assert!((0..2000).all(|_| m.free_id(&mut r) != Some(1005)));
        // Gone, then back: reported again.
        m.reconcile(&BTreeSet::from([1000]));
        assert_eq!(m.reconcile(&with_leak).leaked, vec![1005]);
    }

    #[test]
    fn free_ids_run_out() {
        let mut m = Model::new(1);
        let u = m.new_sock(false, Some(0));
        let mut r = Rng::new(6);
        // Three of the four ids leaked, one used: none free.
        m.reconcile(&BTreeSet::from([1000, 1001, 1002]));
        assert_eq!(m.free_id(&mut r), Some(1003));
        m.add_peer(1003, peer(u, false));
        assert_eq!(m.free_id(&mut r), None);
    }

    #[test]
    fn replies_checked_against_the_model() {
        let want = PeerModel {
            keepalive: (1, 5),
            ..peer(0, false)
        };
        let good = PeerInfo {
            id: Some(1000),
            remote: Some(want.remote),
            vpn4: Some(want.vpn4),
            local_port: Some(want.lport),
            ka_interval: Some(1),
            ka_timeout: Some(5),
            ..PeerInfo::default()
        };
        assert_eq!(check_peer(&good, &want), None);
        let bad = PeerInfo {
            vpn4: Some(Ipv4Addr::new(10, 77, 0, 2)),
            ka_timeout: Some(0),
            ..good.clone()
        };
        let msg = check_peer(&bad, &want).unwrap();
        assert!(
            msg.contains("vpn4=Some(10.77.0.2) (want 10.77.0.1)"),
            "{msg}"
        );
        assert!(
            msg.contains("keepalive=Some(1)/Some(0) (want 1/5)"),
            "{msg}"
        );
        let moved = PeerInfo {
            remote: Some("10.10.0.3:1194".parse().unwrap()),
            local_port: None,
            ..good.clone()
        };
        let msg = check_peer(&moved, &want).unwrap();
        assert!(
            msg.contains("remote=") && msg.contains("local_port=None"),
            "{msg}"
        );
        // A TCP peer's remote is the connection's: not compared.
        let tcp = PeerModel {
            tcp: true,
            ..want.clone()
        };
        let other_end = PeerInfo {
            remote: None,
            ..good
        };
        assert_eq!(check_peer(&other_end, &tcp), None);
    }

    #[test]
    fn judging_results() {
        let enoent: Result<()> = Err(Error::netlink(
            -libc::ENOENT,
            Some("ovpn-dco: no peer".into()),
        ));
        let no_cipher: Result<()> = Err(Error::netlink(
            -libc::ENOENT,
            Some("ovpn-dco: the kernel cannot set up this cipher".into()),
        ));
        assert!(!is_gone(&no_cipher));
        assert!(is_gone::<()>(&Err(Error::netlink(-libc::ENOENT, None))));
        assert!(!is_gone::<()>(&Err(Error::netlink(-libc::EINVAL, None))));
        assert_eq!(
            judge(&enoent, true, &[libc::ENOENT]),
            Outcome::Refused(libc::ENOENT)
        );
        assert_eq!(
            judge(&enoent, true, &[]),
            Outcome::Unexpected("ENOENT (2): ovpn-dco: no peer".into())
        );
        assert!(is_gone(&enoent));
        let ok: Result<()> = Ok(());
        assert_eq!(judge(&ok, true, &[]), Outcome::Success);
        assert_eq!(
            judge(&ok, false, &[libc::EINVAL]),
            Outcome::Unexpected("success".into())
        );
        assert!(!is_gone(&ok));
        let nobufs: Result<()> = Err(Error::netlink(-libc::ENOBUFS, None));
        assert_eq!(
            judge(&nobufs, true, &[libc::ENOENT]),
            Outcome::Unexpected("ENOBUFS (105)".into())
        );
        let local: Result<()> = Err(Error::other("netlink socket: boom"));
        assert_eq!(
            judge(&local, false, &[libc::EINVAL]),
            Outcome::Unexpected("error: netlink socket: boom".into())
        );
    }

    #[test]
    fn random_keys_fit_their_cipher() {
        let mut r = Rng::new(8);
        for _ in 0..200 {
            let k = RandomKey::new(&mut r);
            assert!(k.key_id <= 7);
            match k.cipher_alg {
                uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305 => assert_eq!(k.key_len, 32),
                uapi::OVPN_CIPHER_ALG_AES_GCM => assert!([16, 24, 32].contains(&k.key_len)),
                n => panic!("cipher {n}"),
            }
            let req = k.request(&mut r, 3, 1000, 1).unwrap();
            assert_eq!(req.cmd, uapi::OVPN_CMD_NEW_KEY);
            assert!(!req.dump);
        }
        let k = RandomKey {
            key_id: 3,
            cipher_alg: uapi::OVPN_CIPHER_ALG_AES_GCM,
            key_len: 16,
            dir: KeyDirection::Inverse,
        };
        assert_eq!(k.describe(), "key_id=3 cipher=aes bits=128 dir=1");
    }
}
