// SPDX-License-Identifier: GPL-2.0

//! A simulation of the kernel's side of `churn`, for unit tests on a host
//! without the module: the family's requests and errors as
//! `src/netlink.rs` and the policies of `compat/netlink_gen.c` answer
//! them, sockets looked up by descriptor as the kernel does, a peer
//! deleted once its socket is closed, keepalive expiry (counted in
//! requests rather than seconds), TCP connections the other end closes,
//! and a peer outside the churn range that must never be named.  Faults
//! can be injected to check that `churn` reports them.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    mem::ManuallyDrop,
    net::{SocketAddr, TcpListener, UdpSocket},
    os::fd::{FromRawFd, RawFd},
};

use neli::{
    genl::{GenlmsghdrBuilder, Nlattr, NoUserHeader},
    types::{Buffer, GenlBuffer},
};
use ovpn_dco_proto::uapi;

use super::{churn, Kernel, Summary, PEER_ID_UNDEF};
use crate::{
    cli::{ChurnArgs, Device, CHURN_FIRST_ID},
    error::{Error, Result},
    genl::{attr, genl_cmd, nest, OvpnMsg, Request},
    sockaddr,
};

/// The id of the peer that is not churn's (a test's real client).
const FOREIGN_ID: u32 = 1;
/// The device's index.
const IFINDEX: u32 = 7;
/// A keepalive timeout of `t` seconds expires after `t` times this many
/// requests.
const REQUESTS_PER_SEC: u64 = 15;
/// Every this many requests, the other end of the oldest TCP peer's
/// connection closes it.
const TCP_END_EVERY: u64 = 101;

/// A peer of the simulated device.
#[derive(Debug, Clone)]
struct SimPeer {
    /// The descriptor it was added with, and the socket's inode then: a
    /// descriptor closed (or reused for another socket) ends the peer.
    fd: RawFd,
    ino: u64,
    tcp: bool,
    remote: SocketAddr,
    lport: u16,
    vpn4: [u8; 4],
    keepalive: (u32, u32),
    /// The request count of the last keepalive change.
    set_at: u64,
}

/// Kernel bugs to simulate.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The n-th `DEL_PEER` (from 1) succeeds but the peer stays, never
    /// to go (a leak).
    pub leak_on_del: Option<u64>,
    /// From the n-th request on, the first UDP peer without a keepalive
    /// timeout is deleted, silently, once.
    pub lose_at: Option<u64>,
    /// The n-th `NEW_PEER` (from 1) fails with `ENOBUFS`.
    pub nobufs_on_add: Option<u64>,
    /// The kernel lacks ChaCha20-Poly1305: a valid `NEW_KEY` for it fails
    /// with the crypto API's `ENOENT`.
    pub no_chacha: bool,
}

#[derive(Debug, Default)]
struct State {
    peers: BTreeMap<u32, SimPeer>,
    /// Peers leaked by a fault: they stay whatever happens.
    zombies: BTreeMap<u32, SimPeer>,
    requests: u64,
    dels: u64,
    adds: u64,
    tcp_adds: u64,
    expired: u64,
    tcp_ended: u64,
    lost: bool,
    cipher_refusals: u64,
    /// Requests naming an id outside the churn range (0xFFFFFF aside).
    foreign_touched: u64,
    faults: Faults,
}

/// The simulated kernel.
pub struct Sim {
    st: RefCell<State>,
    /// The churn range (to catch a request naming another id).
    range: std::ops::Range<u32>,
}

/// The kernel's error `e`, with the extended ACK message `netlink.rs`
/// gives a missing peer.
fn errno(e: i32) -> Error {
    let msg = (e == libc::ENOENT).then(|| "ovpn-dco: no peer with this id".to_string());
    Error::netlink(-e, msg)
}

fn ty(a: &Nlattr<u16, Buffer>) -> u32 {
    u32::from(*a.nla_type().nla_type())
}

/// The attributes nested in `a`, by type.
fn children(a: &Nlattr<u16, Buffer>) -> BTreeMap<u32, Nlattr<u16, Buffer>> {
    a.get_attr_handle::<u16>()
        .expect("a malformed nest")
        .iter()
        .map(|c| (ty(c), c.clone()))
        .collect()
}

fn bytes(a: &Nlattr<u16, Buffer>) -> &[u8] {
    a.nla_payload().as_ref()
}

fn get_u32(a: &Nlattr<u16, Buffer>) -> u32 {
    u32::from_ne_bytes(bytes(a).try_into().expect("a u32 attribute"))
}

/// The inode of the socket open as `fd`: `EBADF` if none is, `ENOTSOCK`
/// if it is no socket.
fn socket_inode(fd: RawFd) -> std::result::Result<u64, i32> {
    // SAFETY: `stat` is plain data; all zeroes is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live `stat` the call fills in.
    if unsafe { libc::fstat(fd, &mut st) } < 0 {
        return Err(libc::EBADF);
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(libc::ENOTSOCK);
    }
    Ok(st.st_ino)
}

/// An `int` socket option of `fd`.
fn sockopt(fd: RawFd, name: libc::c_int) -> libc::c_int {
    let mut v: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the value points to `v`, a live `c_int`, and `len` holds
    // its size.
    unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            std::ptr::from_mut(&mut v).cast(),
            &mut len,
        )
    };
    v
}

/// Whether socket `fd` is TCP (`Some(true)`), UDP (`Some(false)`) or
/// neither.
fn transport(fd: RawFd) -> Option<bool> {
    let domain = sockopt(fd, libc::SO_DOMAIN);
    if domain != libc::AF_INET && domain != libc::AF_INET6 {
        return None;
    }
    match (sockopt(fd, libc::SO_TYPE), sockopt(fd, libc::SO_PROTOCOL)) {
        (libc::SOCK_DGRAM, libc::IPPROTO_UDP) => Some(false),
        (libc::SOCK_STREAM, libc::IPPROTO_TCP) => Some(true),
        _ => None,
    }
}

/// The local port of socket `fd` (borrowed, not closed).
fn local_port(fd: RawFd) -> u16 {
    // SAFETY: `fd` is an open socket; ManuallyDrop keeps it open.
    let s = ManuallyDrop::new(unsafe { UdpSocket::from_raw_fd(fd) });
    s.local_addr().map_or(0, |a| a.port())
}

/// A `GET_PEER` reply for peer `id`.
fn peer_msg(id: u32, p: &SimPeer) -> OvpnMsg {
    let c = [
        attr(uapi::OVPN_GET_PEER_RESP_ATTR_PEER_ID, id).unwrap(),
        attr(
            uapi::OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE,
            sockaddr::encode(&p.remote),
        )
        .unwrap(),
        attr(uapi::OVPN_GET_PEER_RESP_ATTR_IPV4, p.vpn4).unwrap(),
        attr(
            uapi::OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT,
            p.lport.to_be_bytes(),
        )
        .unwrap(),
        attr(
            uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL,
            p.keepalive.0,
        )
        .unwrap(),
        attr(
            uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT,
            p.keepalive.1,
        )
        .unwrap(),
        attr(uapi::OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES, 0u64).unwrap(),
    ];
    GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
        .cmd(genl_cmd(uapi::OVPN_CMD_GET_PEER))
        .version(uapi::OVPN_NL_VERSION)
        .attrs(
            [
                attr(uapi::OVPN_ATTR_IFINDEX, IFINDEX).unwrap(),
                nest(uapi::OVPN_ATTR_GET_PEER, &c).unwrap(),
            ]
            .into_iter()
            .collect::<GenlBuffer<_, _>>(),
        )
        .build()
        .unwrap()
}

impl Sim {
    /// A device with the foreign peer, for churn's range `range`.
    pub fn new(range: std::ops::Range<u32>, faults: Faults) -> Self {
        let foreign = SimPeer {
            fd: -1,
            ino: 0,
            tcp: false,
            remote: "10.10.0.2:1194".parse().unwrap(),
            lport: 1194,
            vpn4: [5, 5, 5, 2],
            keepalive: (10, 60),
            set_at: 0,
        };
        let mut st = State {
            faults,
            ..State::default()
        };
        // The foreign peer never goes (it stands for another process's).
        st.zombies.insert(FOREIGN_ID, foreign);
        Sim {
            st: RefCell::new(st),
            range,
        }
    }

    /// What the kernel does on its own before a request: peers of closed
    /// sockets go, keepalive timeouts expire, a TCP connection ends, and
    /// the faults of the moment.
    fn housekeeping(st: &mut State) {
        st.requests += 1;
        let now = st.requests;
        st.peers.retain(|_, p| socket_inode(p.fd) == Ok(p.ino));
        let before = st.peers.len();
        st.peers.retain(|_, p| {
            let t = u64::from(p.keepalive.1);
            t == 0 || now - p.set_at < t * REQUESTS_PER_SEC
        });
        st.expired += (before - st.peers.len()) as u64;
        if now.is_multiple_of(TCP_END_EVERY) {
            if let Some(id) = st.peers.iter().find(|(_, p)| p.tcp).map(|(id, _)| *id) {
                st.peers.remove(&id);
                st.tcp_ended += 1;
            }
        }
        if !st.lost && st.faults.lose_at.is_some_and(|n| now >= n) {
            let victim = st
                .peers
                .iter()
                .find(|(_, p)| !p.tcp && p.keepalive.1 == 0)
                .map(|(id, _)| *id);
            if let Some(id) = victim {
                st.peers.remove(&id);
                st.lost = true;
            }
        }
    }

    /// The peer id of a request's nest: `EINVAL` from 0xFFFFFF up; an id
    /// outside churn's range is noted.
    fn peer_id(&self, st: &mut State, a: Option<&Nlattr<u16, Buffer>>) -> Result<u32> {
        let id = get_u32(a.ok_or_else(|| errno(libc::EINVAL))?);
        if id >= PEER_ID_UNDEF {
            return Err(errno(libc::EINVAL));
        }
        if !self.range.contains(&id) {
            st.foreign_touched += 1;
        }
        Ok(id)
    }

    /// Whether peer `id` exists (`ENOENT` if not).
    fn find(st: &State, id: u32) -> Result<()> {
        if st.peers.contains_key(&id) || st.zombies.contains_key(&id) {
            Ok(())
        } else {
            Err(errno(libc::ENOENT))
        }
    }

    fn new_peer(&self, st: &mut State, n: &BTreeMap<u32, Nlattr<u16, Buffer>>) -> Result<()> {
        use uapi::*;
        let id = self.peer_id(st, n.get(&OVPN_NEW_PEER_ATTR_PEER_ID))?;
        let fd = get_u32(&n[&OVPN_NEW_PEER_ATTR_SOCKET]) as RawFd;
        let ino = socket_inode(fd).map_err(errno)?;
        let tcp = transport(fd).ok_or_else(|| errno(libc::EPROTONOSUPPORT))?;
        let remote = sockaddr::decode(bytes(&n[&OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE]))
            .map_err(|_| errno(libc::EINVAL))?;
        let vpn4: [u8; 4] = bytes(
            n.get(&OVPN_NEW_PEER_ATTR_IPV4)
                .ok_or_else(|| errno(libc::EINVAL))?,
        )
        .try_into()
        .map_err(|_| errno(libc::EINVAL))?;
        if st.peers.contains_key(&id) || st.zombies.contains_key(&id) {
            return Err(errno(libc::EEXIST));
        }
        st.adds += 1;
        if st.faults.nobufs_on_add == Some(st.adds) {
            return Err(errno(libc::ENOBUFS));
        }
        st.tcp_adds += u64::from(tcp);
        let now = st.requests;
        st.peers.insert(
            id,
            SimPeer {
                fd,
                ino,
                tcp,
                remote,
                lport: local_port(fd),
                vpn4,
                keepalive: (0, 0),
                set_at: now,
            },
        );
        Ok(())
    }

    /// The key slot of a request: the policy's range (0..1) is checked
    /// before anything else, with `ERANGE`.
    fn slot_ok(a: Option<&Nlattr<u16, Buffer>>) -> Result<()> {
        match a.map(|a| bytes(a)[0]) {
            Some(s) if s > 1 => Err(errno(libc::ERANGE)),
            _ => Ok(()),
        }
    }

    fn new_key(&self, st: &mut State, n: &BTreeMap<u32, Nlattr<u16, Buffer>>) -> Result<()> {
        use uapi::*;
        Self::slot_ok(n.get(&OVPN_NEW_KEY_ATTR_KEY_SLOT))?;
        let id = self.peer_id(st, n.get(&OVPN_NEW_KEY_ATTR_PEER_ID))?;
        Self::find(st, id)?;
        if bytes(&n[&OVPN_NEW_KEY_ATTR_KEY_ID])[0] > 7 {
            return Err(errno(libc::EINVAL));
        }
        let alg = u16::from_ne_bytes(bytes(&n[&OVPN_NEW_KEY_ATTR_CIPHER_ALG]).try_into().unwrap());
        let ok_len: &[usize] = match alg {
            OVPN_CIPHER_ALG_AES_GCM => &[16, 24, 32],
            OVPN_CIPHER_ALG_CHACHA20_POLY1305 => &[32],
            _ => return Err(errno(libc::EINVAL)),
        };
        for dir in [OVPN_NEW_KEY_ATTR_ENCRYPT_KEY, OVPN_NEW_KEY_ATTR_DECRYPT_KEY] {
            let d = children(&n[&dir]);
            if !ok_len.contains(&bytes(&d[&OVPN_KEY_DIR_ATTR_CIPHER_KEY]).len())
                || bytes(&d[&OVPN_KEY_DIR_ATTR_NONCE_TAIL]).len() != 8
            {
                return Err(errno(libc::EINVAL));
            }
        }
        if st.faults.no_chacha && alg == OVPN_CIPHER_ALG_CHACHA20_POLY1305 {
            st.cipher_refusals += 1;
            return Err(Error::netlink(
                -libc::ENOENT,
                Some("ovpn-dco: the kernel cannot set up this cipher".into()),
            ));
        }
        Ok(())
    }

    fn handle(&self, st: &mut State, req: &Request) -> Result<Vec<OvpnMsg>> {
        use uapi::*;
        let top: BTreeMap<u32, Nlattr<u16, Buffer>> =
            req.attrs.iter().map(|a| (ty(a), a.clone())).collect();
        if top.get(&OVPN_ATTR_IFINDEX).map(get_u32) != Some(IFINDEX) {
            return Err(errno(libc::ENODEV));
        }
        if req.dump {
            assert_eq!(req.cmd, OVPN_CMD_GET_PEER, "only GET_PEER dumps");
            let all = st.peers.iter().chain(st.zombies.iter());
            return Ok(all.map(|(id, p)| peer_msg(*id, p)).collect());
        }
        let nest_of = |t: u32| top.get(&t).map(children).expect("the command's nest");
        match req.cmd {
            OVPN_CMD_NEW_PEER => {
                self.new_peer(st, &nest_of(OVPN_ATTR_NEW_PEER))?;
            }
            OVPN_CMD_SET_PEER => {
                let n = nest_of(OVPN_ATTR_SET_PEER);
                let id = self.peer_id(st, n.get(&OVPN_SET_PEER_ATTR_PEER_ID))?;
                Self::find(st, id)?;
                let now = st.requests;
                if let Some(p) = st.peers.get_mut(&id) {
                    p.keepalive = (
                        get_u32(&n[&OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL]),
                        get_u32(&n[&OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT]),
                    );
                    p.set_at = now;
                }
            }
            OVPN_CMD_DEL_PEER => {
                let n = nest_of(OVPN_ATTR_DEL_PEER);
                let id = self.peer_id(st, n.get(&OVPN_DEL_PEER_ATTR_PEER_ID))?;
                Self::find(st, id)?;
                st.dels += 1;
                if let Some(p) = st.peers.remove(&id) {
                    if st.faults.leak_on_del == Some(st.dels) {
                        st.zombies.insert(id, p);
                    }
                }
            }
            OVPN_CMD_GET_PEER => {
                let n = nest_of(OVPN_ATTR_GET_PEER);
                let id = self.peer_id(st, n.get(&OVPN_GET_PEER_ATTR_PEER_ID))?;
                Self::find(st, id)?;
                let p = st.peers.get(&id).or_else(|| st.zombies.get(&id)).unwrap();
                return Ok(vec![peer_msg(id, p)]);
            }
            OVPN_CMD_NEW_KEY => self.new_key(st, &nest_of(OVPN_ATTR_NEW_KEY))?,
            OVPN_CMD_SWAP_KEYS => {
                let n = nest_of(OVPN_ATTR_SWAP_KEYS);
                let id = self.peer_id(st, n.get(&OVPN_SWAP_KEYS_ATTR_PEER_ID))?;
                Self::find(st, id)?;
            }
            OVPN_CMD_DEL_KEY => {
                let n = nest_of(OVPN_ATTR_DEL_KEY);
                Self::slot_ok(n.get(&OVPN_DEL_KEY_ATTR_KEY_SLOT))?;
                let id = self.peer_id(st, n.get(&OVPN_DEL_KEY_ATTR_PEER_ID))?;
                Self::find(st, id)?;
            }
            c => panic!("unknown command {c}"),
        }
        Ok(Vec::new())
    }
}

impl Kernel for Sim {
    fn execute(&self, req: &Request) -> Result<Vec<OvpnMsg>> {
        let mut st = self.st.borrow_mut();
        Self::housekeeping(&mut st);
        self.handle(&mut st, req)
    }
}

/// A TCP listener that accepts and keeps every connection, in a thread.
fn tcp_listener() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for s in l.incoming().flatten() {
            kept.push(s);
        }
    });
    addr
}

fn args(seed: u64, cycles: u64, peers: u32, tcp: Option<SocketAddr>) -> ChurnArgs {
    ChurnArgs {
        dev: Device::Index(IFINDEX),
        cycles,
        seed: Some(seed),
        peers,
        lport_base: None,
        remote: "127.0.0.1:1194".parse().unwrap(),
        tcp_remote: tcp,
        vpn_prefix: [10, 77],
        report: None,
    }
}

fn run_sim(a: &ChurnArgs, faults: Faults) -> (Summary, Sim) {
    let range = CHURN_FIRST_ID..CHURN_FIRST_ID + 4 * a.peers;
    let sim = Sim::new(range, faults);
    let summary = churn(a, IFINDEX, &sim).unwrap();
    (summary, sim)
}

/// Against a kernel that behaves, nothing fails, every kind of request is
/// made, the kernel's own deletions are taken in stride, nothing is left
/// behind, and the foreign peer is never named.
#[test]
fn clean_runs_report_nothing() {
    let tcp = tcp_listener();
    for seed in [1, 2, 3] {
        let a = args(seed, 3000, 8, Some(tcp));
        let (s, sim) = run_sim(&a, Faults::default());
        let st = sim.st.borrow();
        let line = s.to_string();
        assert_eq!(s.failures, 0, "seed {seed}: {line}");
        assert!(line.starts_with("churn cycles=3000 adds="), "{line}");
        assert!(line.contains(" failures=0 elapsed_ms="), "{line}");
        let n = &s.n;
        for (name, v) in [
            ("adds", n.adds),
            ("dels", n.dels),
            ("closes", n.closes),
            ("keys", n.keys),
            ("swaps", n.swaps),
            ("keydels", n.keydels),
            ("gets", n.gets),
            ("dumps", n.dumps),
            ("invalid", n.invalid),
        ] {
            assert!(v > 0, "seed {seed}: no {name}: {line}");
        }
        assert!(st.tcp_adds > 0, "seed {seed}: no TCP peer");
        assert!(st.expired > 0, "seed {seed}: no peer expired");
        assert!(st.tcp_ended > 0, "seed {seed}: no TCP connection ended");
        assert!(st.peers.is_empty(), "left: {:?}", st.peers.keys());
        assert_eq!(st.foreign_touched, 0);
    }
}

/// A pool of one peer, no TCP, ports from `--lport-base`.
#[test]
fn one_peer_pool_with_fixed_ports() {
    // Find 1 free port, then hand it over.
    let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mut a = args(4, 800, 1, None);
    a.lport_base = Some(port);
    let (s, sim) = run_sim(&a, Faults::default());
    assert_eq!(s.failures, 0, "{s}");
    assert!(sim.st.borrow().peers.is_empty());
}

/// The same seed makes the same run.
#[test]
fn runs_repeat_with_their_seed() {
    let a = args(5, 1000, 6, None);
    let (s1, _) = run_sim(&a, Faults::default());
    let (s2, _) = run_sim(&a, Faults::default());
    let strip = |s: &Summary| {
        let l = s.to_string();
        l[..l.find(" elapsed_ms=").unwrap()].to_string()
    };
    assert_eq!(strip(&s1), strip(&s2));
}

/// A peer `DEL_PEER` reported deleted but still there is a leak.
#[test]
fn leaks_are_reported() {
    let a = args(6, 600, 8, None);
    let (s, sim) = run_sim(
        &a,
        Faults {
            leak_on_del: Some(3),
            ..Faults::default()
        },
    );
    assert_eq!(sim.st.borrow().zombies.len(), 2, "the fault did not fire");
    assert!(s.failures > 0, "{s}");
}

/// A peer gone for no reason is reported.
#[test]
fn losses_are_reported() {
    let a = args(7, 600, 8, None);
    let (s, sim) = run_sim(
        &a,
        Faults {
            lose_at: Some(100),
            ..Faults::default()
        },
    );
    assert!(sim.st.borrow().lost, "the fault did not fire");
    assert!(s.failures > 0, "{s}");
}

/// An errno never expected is reported, and the run goes on.
#[test]
fn unexpected_errors_are_reported() {
    let a = args(8, 400, 8, None);
    let (s, _) = run_sim(
        &a,
        Faults {
            nobufs_on_add: Some(2),
            ..Faults::default()
        },
    );
    assert_eq!(s.failures, 1, "{s}");
    assert_eq!(s.cycles, 400);
}

/// Peers already in the range stop the run before it starts.
#[test]
fn a_busy_range_is_refused() {
    let a = args(9, 10, 8, None);
    let sim = Sim::new(CHURN_FIRST_ID..CHURN_FIRST_ID + 32, Faults::default());
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    use std::os::fd::AsRawFd;
    sim.st.borrow_mut().peers.insert(
        1005,
        SimPeer {
            fd: sock.as_raw_fd(),
            ino: socket_inode(sock.as_raw_fd()).unwrap(),
            tcp: false,
            remote: "127.0.0.1:1".parse().unwrap(),
            lport: 1,
            vpn4: [1, 2, 3, 4],
            keepalive: (0, 0),
            set_at: 0,
        },
    );
    let e = churn(&a, IFINDEX, &sim).unwrap_err().to_string();
    assert!(
        e.contains("already has peers in the churn range 1000..1032: 1005"),
        "{e}"
    );
    // A device the kernel does not know: the dump's error.
    let e = churn(&a, IFINDEX + 1, &sim).unwrap_err();
    assert_eq!(e.exit_code(), libc::ENODEV);
}

/// `ENOENT` from the crypto API is a failure of its own, not a peer gone:
/// the model stays in step (no leak, no loss reported after it).
#[test]
fn a_missing_cipher_is_not_a_missing_peer() {
    let a = args(10, 1500, 8, None);
    let (s, sim) = run_sim(
        &a,
        Faults {
            no_chacha: true,
            ..Faults::default()
        },
    );
    let st = sim.st.borrow();
    assert!(st.cipher_refusals > 0);
    assert_eq!(s.failures, st.cipher_refusals, "{s}");
    assert!(st.peers.is_empty());
}
