// SPDX-License-Identifier: GPL-2.0

//! `fuzz-nl`: a seeded generator and mutator of netlink requests to every
//! command of the `ovpn-dco-v2` family and to the `ovpn-dco` link type.
//!
//! Each request starts valid (built from a small model of the devices,
//! their peers and the process's descriptors, so that peers are created
//! and get keys, keys are swapped and deleted) and about half of them are
//! then mutated: attributes dropped, duplicated, retyped, resized, given
//! boundary values, unknown attribute numbers, wrong or missing nesting,
//! lying lengths, garbage, flipped bytes, other commands, flags and
//! header fields, and descriptors of every kind as the socket.  Requests
//! go many to a `sendmsg`; every one must get exactly one final reply (an
//! ACK or an error), and every error must be one of the errnos the
//! family or rtnetlink may answer.  Anything else is a failure, printed
//! with the request's bytes.
//!
//! This is not coverage-guided: the test kernel has no KCOV, and the
//! debug guest under TCG executes a few thousand requests a second, far
//! too few for coverage feedback to pay; the generator instead knows the
//! ABI and keeps a share of valid requests so that the deep paths run.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd},
        unix::net::{UnixDatagram, UnixStream},
    },
    path::PathBuf,
    time::{Duration, Instant},
};

use ovpn_dco_proto::uapi::*;

use crate::{
    churn::Rng,
    error::{Error, Result},
    rawnl::{self, RawNl, Reply},
    sockaddr,
};

/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// The type bits of an attribute's type field.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// The undefined peer id (refused by NEW_PEER).
const PEER_ID_UNDEF: u32 = 0x00FF_FFFF;
/// The peer ids the generator names (besides boundary values).
const ID_POOL: std::ops::Range<u32> = 2..34;
/// Peer ids at and around the edges of the id space.
const ID_EDGES: [u32; 7] = [
    0,
    1,
    0xFF_FFFE,
    PEER_ID_UNDEF,
    0x100_0000,
    0x7FFF_FFFF,
    u32::MAX,
];
/// The names of the devices the link requests create.
const LINK_NAMES: usize = 6;
/// The link kind.
const KIND: &[u8] = b"ovpn-dco\0";

// rtnetlink numbers (linux/if_link.h, linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_TXQLEN: u16 = 13;
const IFLA_LINKINFO: u16 = 18;
const IFLA_GROUP: u16 = 27;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
/// Attribute types a mutated link request may use at the top level:
/// nothing that names another namespace, a master or a new name, so that
/// no device escapes the fuzzer's clean-up (UNSPEC, MTU, TXQLEN,
/// OPERSTATE, LINKMODE, IFALIAS, GROUP, PROMISCUITY, TX/RX queues,
/// CARRIER, GSO limits, unknown numbers).
const RTNL_SAFE_TOP: [u16; 15] = [
    0, 4, 13, 16, 17, 20, 27, 30, 31, 32, 33, 40, 41, 0x3ff0, 0x3fff,
];
/// Inside IFLA_LINKINFO: never a second kind (a kind the kernel does
/// not know makes it run modprobe, which costs seconds in the guest).
const RTNL_SAFE_INFO: [u16; 6] = [0, 2, 3, 5, 6, 0x3fff];

/// An attribute tree node, serialised as is (lengths may lie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An attribute with a payload.
    Leaf {
        /// The type field (flags included).
        ty: u16,
        /// The payload.
        data: Vec<u8>,
        /// A length field to write instead of the true one.
        len: Option<u16>,
        /// Whether mutations leave the payload alone.
        frozen: bool,
    },
    /// A nested attribute.
    Nest {
        /// The type field (flags included).
        ty: u16,
        /// The attributes inside.
        kids: Vec<Node>,
        /// A length field to write instead of the true one.
        len: Option<u16>,
    },
    /// Bytes in the middle of the attribute stream.
    Raw(Vec<u8>),
}

fn leaf(ty: u32, data: impl Into<Vec<u8>>) -> Node {
    Node::Leaf {
        ty: ty as u16,
        data: data.into(),
        len: None,
        frozen: false,
    }
}
fn frozen(ty: u16, data: &[u8]) -> Node {
    Node::Leaf {
        ty,
        data: data.to_vec(),
        len: None,
        frozen: true,
    }
}
fn u32a(ty: u32, v: u32) -> Node {
    leaf(ty, v.to_ne_bytes())
}
fn u16a(ty: u32, v: u16) -> Node {
    leaf(ty, v.to_ne_bytes())
}
fn u8a(ty: u32, v: u8) -> Node {
    leaf(ty, [v])
}
fn nest(ty: u32, kids: Vec<Node>) -> Node {
    Node::Nest {
        ty: ty as u16 | NLA_F_NESTED,
        kids,
        len: None,
    }
}

impl Node {
    /// Appends the node's bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Node::Leaf { ty, data, len, .. } => {
                let l = len.unwrap_or((4 + data.len()).min(0xffff) as u16);
                out.extend_from_slice(&l.to_ne_bytes());
                out.extend_from_slice(&ty.to_ne_bytes());
                out.extend_from_slice(data);
                out.resize(rawnl::align4(out.len()), 0);
            }
            Node::Nest { ty, kids, len } => {
                let mut inner = Vec::new();
                for k in kids {
                    k.write(&mut inner);
                }
                let l = len.unwrap_or((4 + inner.len()).min(0xffff) as u16);
                out.extend_from_slice(&l.to_ne_bytes());
                out.extend_from_slice(&ty.to_ne_bytes());
                out.extend_from_slice(&inner);
            }
            Node::Raw(b) => out.extend_from_slice(b),
        }
    }

    fn ty(&self) -> Option<u16> {
        match self {
            Node::Leaf { ty, .. } | Node::Nest { ty, .. } => Some(*ty),
            Node::Raw(_) => None,
        }
    }
}

/// What a descriptor handed to NEW_PEER is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FdKind {
    /// UDP over IPv4, bound to the loopback.
    UdpV4,
    /// UDP over IPv4, never bound.
    UdpV4Unbound,
    /// UDP over IPv6, bound to the loopback.
    UdpV6,
    /// UDP over IPv6, never bound.
    UdpV6Unbound,
    /// UDP over IPv6, dual-stack, bound to `[::]`.
    UdpDual,
    /// A TCP listener.
    TcpListen,
    /// A TCP socket never connected.
    TcpUnconnected,
    /// The connecting end of a TCP connection over the loopback.
    TcpClient,
    /// The accepted end of it.
    TcpAccepted,
    /// A UNIX datagram socket.
    UnixDgram,
    /// A UNIX stream socket.
    UnixStream,
    /// A raw IPv4 socket of protocol UDP.
    RawUdp,
    /// A netlink socket.
    Netlink,
    /// A file (`/dev/null`).
    File,
    /// UDP over IPv4 in another network namespace.
    OtherNsUdp,
    /// A connected TCP socket in another network namespace.
    OtherNsTcp,
    /// A number no descriptor has.
    Closed,
    /// A number that was a UDP socket given to peers, now a file.
    Reused,
}

impl FdKind {
    /// Whether a NEW_PEER with it may succeed (as a UDP socket).
    pub fn udp(self) -> bool {
        matches!(
            self,
            FdKind::UdpV4
                | FdKind::UdpV4Unbound
                | FdKind::UdpV6
                | FdKind::UdpV6Unbound
                | FdKind::UdpDual
                | FdKind::OtherNsUdp
        )
    }

    /// Whether the socket is IPv6.
    pub fn v6(self) -> bool {
        matches!(self, FdKind::UdpV6 | FdKind::UdpV6Unbound | FdKind::UdpDual)
    }
}

/// A descriptor of the pool: its number and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdT {
    /// The number sent.
    pub fd: u32,
    /// What it is.
    pub kind: FdKind,
    /// The device whose peers it serves (after an acknowledged NEW_PEER).
    pub dev: Option<usize>,
}

/// A device requests go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevT {
    /// Its index.
    pub ifindex: u32,
    /// MP (else P2P).
    pub mp: bool,
    /// Another user's device: some peers are never named, no byte-level
    /// mutation, no link change.
    pub protected: bool,
    /// The peers it is believed to have.
    pub peers: BTreeSet<u32>,
}

/// What an acknowledged request changes in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing known.
    None,
    /// A peer `id` on device `dev` with the socket at `fd` of the pool.
    AddPeer {
        /// Device (index in the model).
        dev: usize,
        /// Peer id.
        id: u32,
        /// Pool index of the socket.
        fd: usize,
    },
    /// Peer `id` of `dev` goes (or is found gone).
    DelPeer {
        /// Device.
        dev: usize,
        /// Peer id.
        id: u32,
    },
    /// A request about peer `id` of `dev`: ENOENT says it is gone.
    Peer {
        /// Device.
        dev: usize,
        /// Peer id.
        id: u32,
    },
    /// A dump of `dev`'s peers.
    Dump {
        /// Device.
        dev: usize,
    },
    /// Link `n` of the link names was created.
    NewLink(usize),
    /// Link `n` was deleted.
    DelLink(usize),
}

/// The kind of a request, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    /// A family command (its number, or 0 for a bogus one).
    Genl(u8),
    /// A GET_PEER dump.
    Dump,
    /// RTM_NEWLINK creating a device.
    NewLink,
    /// RTM_NEWLINK changing one.
    SetLink,
    /// RTM_DELLINK.
    DelLink,
}

impl Op {
    fn name(self) -> String {
        match self {
            Op::Genl(c) => match u32::from(c) {
                OVPN_CMD_NEW_PEER => "new_peer".into(),
                OVPN_CMD_SET_PEER => "set_peer".into(),
                OVPN_CMD_DEL_PEER => "del_peer".into(),
                OVPN_CMD_NEW_KEY => "new_key".into(),
                OVPN_CMD_SWAP_KEYS => "swap_keys".into(),
                OVPN_CMD_DEL_KEY => "del_key".into(),
                OVPN_CMD_GET_PEER => "get_peer".into(),
                _ => format!("cmd{c}"),
            },
            Op::Dump => "dump".into(),
            Op::NewLink => "newlink".into(),
            Op::SetLink => "setlink".into(),
            Op::DelLink => "dellink".into(),
        }
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    /// To rtnetlink (else to the family).
    pub route: bool,
    /// `nlmsg_type`.
    pub nl_type: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// The fixed header (genlmsghdr or ifinfomsg).
    pub fixed: Vec<u8>,
    /// The attributes.
    pub attrs: Vec<Node>,
    /// Bytes XORed into the attributes after the first 8 (offset, mask).
    pub flips: Vec<(usize, u8)>,
    /// What it is.
    pub op: Op,
    /// Whether it was mutated.
    pub mutated: bool,
    /// What an ACK of it means.
    pub effect: Effect,
}

impl Req {
    /// The body (fixed header and attributes) with the byte flips.
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.fixed.clone();
        let start = b.len() + 8;
        for a in &self.attrs {
            a.write(&mut b);
        }
        for &(off, mask) in &self.flips {
            if b.len() > start {
                let i = start + off % (b.len() - start);
                b[i] ^= mask;
            }
        }
        b
    }
}

/// The errnos the family may answer: its own (EINVAL, ENOENT, ENODEV,
/// EEXIST, EBUSY, ENOTCONN, EOPNOTSUPP), the socket lookup's (EBADF,
/// ENOTSOCK, EPROTONOSUPPORT), the policies' (ERANGE, EINVAL), the genl
/// core's for an unknown command or a dump of a do-only one (EOPNOTSUPP)
/// and for an invalid header (EINVAL), the crypto API's for a key it
/// cannot take (ENOENT, EINVAL), and ENOMEM.
pub const GENL_ERRNOS: &[i32] = &[
    libc::EINVAL,
    libc::ENOENT,
    libc::ENODEV,
    libc::EEXIST,
    libc::EBUSY,
    libc::ENOTCONN,
    libc::EOPNOTSUPP,
    libc::EBADF,
    libc::ENOTSOCK,
    libc::EPROTONOSUPPORT,
    libc::ERANGE,
    libc::ENOMEM,
];

/// The errnos RTM_NEWLINK / RTM_DELLINK may answer for the fuzzer's
/// requests.
pub const RTNL_ERRNOS: &[i32] = &[
    libc::EINVAL,
    libc::EEXIST,
    libc::ENODEV,
    libc::EOPNOTSUPP,
    libc::ERANGE,
    libc::ENOENT,
    libc::EAFNOSUPPORT,
    libc::ENOMEM,
    libc::EPERM,
];

/// Settings of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Peer ids never named in a request to a protected device.
    pub protect: Vec<u32>,
    /// Indexes of devices of other namespaces (or anything else).
    pub other_ifindex: Vec<u32>,
    /// Requests per `sendmsg`.
    pub batch: usize,
}

/// The generator: the model plus the PRNG.
#[derive(Debug, Clone)]
pub struct Gen {
    /// The PRNG.
    pub rng: Rng,
    /// The family id.
    pub family: u16,
    /// The target devices.
    pub devs: Vec<DevT>,
    /// The descriptor pool.
    pub fds: Vec<FdT>,
    /// Indexes of other devices of this namespace (lo...).
    pub foreign: Vec<u32>,
    /// Which link names exist.
    pub links: [bool; LINK_NAMES],
    /// Settings.
    pub cfg: Config,
}

/// Boundary values for a payload of `len` bytes.
fn edge_value(rng: &mut Rng, len: usize) -> Vec<u8> {
    match len {
        1 => vec![rng.pick(&[0u8, 1, 2, 3, 7, 8, 0x7f, 0x80, 0xff]).unwrap()],
        2 => rng
            .pick(&[0u16, 1, 2, 3, 0x7fff, 0x8000, 0xffff])
            .unwrap()
            .to_ne_bytes()
            .to_vec(),
        4 => rng
            .pick(&[
                0u32,
                1,
                2,
                7,
                8,
                0xff,
                0xffff,
                0xFF_FFFE,
                PEER_ID_UNDEF,
                0x100_0000,
                0x7fff_ffff,
                0x8000_0000,
                u32::MAX,
            ])
            .unwrap()
            .to_ne_bytes()
            .to_vec(),
        8 => rng
            .pick(&[0u64, 1, u64::MAX, 1 << 63])
            .unwrap()
            .to_ne_bytes()
            .to_vec(),
        n => {
            let mut v = vec![0u8; n];
            if rng.chance(1, 2) {
                rng.fill(&mut v);
            } else if rng.chance(1, 2) {
                v.fill(0xff);
            }
            v
        }
    }
}

/// A payload length to resize to.
fn edge_len(rng: &mut Rng) -> usize {
    if rng.chance(1, 5) {
        return rng.below(600) as usize;
    }
    rng.pick(&[
        0usize, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 23, 24, 25, 27, 28, 29, 31, 32, 33, 64,
        255, 256, 257, 1024,
    ])
    .unwrap()
}

/// Every path to a node of `attrs`.
fn paths(attrs: &[Node], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for (i, n) in attrs.iter().enumerate() {
        prefix.push(i);
        out.push(prefix.clone());
        if let Node::Nest { kids, .. } = n {
            paths(kids, prefix, out);
        }
        prefix.pop();
    }
}

/// The list holding the node at `path`.
fn parent_mut<'a>(attrs: &'a mut Vec<Node>, path: &[usize]) -> &'a mut Vec<Node> {
    let mut cur = attrs;
    for &i in &path[..path.len() - 1] {
        cur = match &mut cur[i] {
            Node::Nest { kids, .. } => kids,
            _ => unreachable!("path through a leaf"),
        };
    }
    cur
}

impl Gen {
    /// A generator for `devs` and the descriptors `fds`.
    pub fn new(
        seed: u64,
        family: u16,
        devs: Vec<DevT>,
        fds: Vec<FdT>,
        foreign: Vec<u32>,
        cfg: Config,
    ) -> Self {
        Gen {
            rng: Rng::new(seed),
            family,
            devs,
            fds,
            foreign,
            links: [false; LINK_NAMES],
            cfg,
        }
    }

    /// A device index for a request: mostly a target device, sometimes
    /// another device, one of another namespace, or none.
    fn pick_dev(&mut self) -> (Option<usize>, u32) {
        let r = self.rng.below(100);
        if r < 86 && !self.devs.is_empty() {
            let d = self.rng.below(self.devs.len() as u64) as usize;
            return (Some(d), self.devs[d].ifindex);
        }
        let v = match r {
            86..=90 if !self.foreign.is_empty() => self.rng.pick(&self.foreign).unwrap(),
            91..=94 if !self.cfg.other_ifindex.is_empty() => {
                self.rng.pick(&self.cfg.other_ifindex).unwrap()
            }
            _ => self
                .rng
                .pick(&[0u32, 0x7fff_ffff, 0x8000_0000, u32::MAX, 99_999])
                .unwrap(),
        };
        (None, v)
    }

    /// A peer id for a request on device `d`: mostly one it has, else
    /// one of the pool, sometimes an edge value.
    fn pick_id(&mut self, d: Option<usize>, existing: bool) -> u32 {
        let protect = d.is_some_and(|d| self.devs[d].protected);
        let id = if let (true, Some(d)) = (existing && self.rng.chance(4, 5), d) {
            let ids: Vec<u32> = self.devs[d].peers.iter().copied().collect();
            self.rng.pick(&ids)
        } else {
            None
        };
        let id = id.unwrap_or_else(|| {
            if self.rng.chance(1, 12) {
                self.rng.pick(&ID_EDGES).unwrap()
            } else {
                ID_POOL.start + self.rng.below(u64::from(ID_POOL.end - ID_POOL.start)) as u32
            }
        });
        if protect && self.cfg.protect.contains(&id) {
            ID_POOL.start
        } else {
            id
        }
    }

    /// A socket from the pool for NEW_PEER on device `d`: mostly a UDP
    /// socket free or already serving `d`, else anything.
    fn pick_fd(&mut self, d: Option<usize>) -> Option<usize> {
        if self.fds.is_empty() {
            return None;
        }
        let good: Vec<usize> = (0..self.fds.len())
            .filter(|&i| {
                let f = self.fds[i];
                f.kind.udp() && f.kind != FdKind::OtherNsUdp && (f.dev.is_none() || f.dev == d)
            })
            .collect();
        if !good.is_empty() && self.rng.chance(3, 4) {
            // Sockets serving the device first: a fresh one each time
            // would use them all up.
            let serving: Vec<usize> = good
                .iter()
                .copied()
                .filter(|&i| self.fds[i].dev == d)
                .collect();
            if !serving.is_empty() && self.rng.chance(2, 3) {
                return self.rng.pick(&serving);
            }
            return self.rng.pick(&good);
        }
        Some(self.rng.below(self.fds.len() as u64) as usize)
    }

    /// Random key material of `len` bytes.
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.rng.fill(&mut v);
        v
    }

    /// A valid request of the family for a device (possibly not one of
    /// the targets).
    fn valid_genl(&mut self) -> Req {
        let (d, ifindex) = self.pick_dev();
        let cmd = match self.rng.below(100) {
            0..=21 => OVPN_CMD_NEW_PEER,
            22..=31 => OVPN_CMD_SET_PEER,
            32..=41 => OVPN_CMD_DEL_PEER,
            42..=63 => OVPN_CMD_NEW_KEY,
            64..=72 => OVPN_CMD_SWAP_KEYS,
            73..=81 => OVPN_CMD_DEL_KEY,
            82..=91 => OVPN_CMD_GET_PEER,
            _ => 0, // a dump
        };
        let mut attrs = vec![u32a(OVPN_ATTR_IFINDEX, ifindex)];
        let mut effect = Effect::None;
        let mut flags = rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK;
        let mut op = Op::Genl(cmd as u8);
        let peer = |dev: Option<usize>, id| match dev {
            Some(dev) => Effect::Peer { dev, id },
            None => Effect::None,
        };
        match cmd {
            OVPN_CMD_NEW_PEER => {
                let id = self.pick_id(d, false);
                let fi = self.pick_fd(d);
                let (fd, v6) = fi.map_or((u32::MAX, false), |i| {
                    (self.fds[i].fd, self.fds[i].kind.v6())
                });
                let v6 = v6 && self.rng.chance(2, 3);
                let port = 1024 + self.rng.below(60000) as u16;
                let host = (id & 0xff) as u8;
                let remote: SocketAddr = match (v6, self.rng.chance(1, 3)) {
                    (false, false) => (Ipv4Addr::new(10, 78, 0, host), port).into(),
                    (false, true) => (Ipv4Addr::LOCALHOST, port).into(),
                    (true, false) => (
                        Ipv6Addr::new(0xfd78, 0, 0, 0, 0, 0, 0, u16::from(host)),
                        port,
                    )
                        .into(),
                    (true, true) => (Ipv6Addr::LOCALHOST, port).into(),
                };
                let mut c = vec![
                    u32a(OVPN_NEW_PEER_ATTR_PEER_ID, id),
                    leaf(
                        OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE,
                        sockaddr::encode(&remote),
                    ),
                    u32a(OVPN_NEW_PEER_ATTR_SOCKET, fd),
                ];
                let mp = d.is_none_or(|d| self.devs[d].mp);
                if mp || self.rng.chance(1, 2) {
                    c.push(leaf(
                        OVPN_NEW_PEER_ATTR_IPV4,
                        [10, 77, (id >> 8) as u8, host],
                    ));
                }
                if self.rng.chance(1, 3) {
                    c.push(leaf(
                        OVPN_NEW_PEER_ATTR_IPV6,
                        Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, id as u16).octets(),
                    ));
                }
                if self.rng.chance(1, 4) {
                    let l: Vec<u8> = if remote.is_ipv6() {
                        Ipv6Addr::LOCALHOST.octets().to_vec()
                    } else {
                        Ipv4Addr::LOCALHOST.octets().to_vec()
                    };
                    c.push(leaf(OVPN_NEW_PEER_ATTR_LOCAL_IP, l));
                }
                self.rng_shuffle(&mut c);
                attrs.push(nest(OVPN_ATTR_NEW_PEER, c));
                if let (Some(dev), Some(fd)) = (d, fi) {
                    effect = Effect::AddPeer { dev, id, fd };
                }
            }
            OVPN_CMD_SET_PEER => {
                let id = self.pick_id(d, true);
                let (i, t) = match self.rng.below(6) {
                    0 => (0, 0),
                    1 => (1, 0),
                    2 => (0, 5),
                    3 => (1 + self.rng.below(3) as u32, 3 + self.rng.below(5) as u32),
                    4 => (u32::MAX, u32::MAX),
                    _ => (self.rng.next_u64() as u32, self.rng.next_u64() as u32),
                };
                let mut c = vec![u32a(OVPN_SET_PEER_ATTR_PEER_ID, id)];
                if self.rng.chance(9, 10) {
                    c.push(u32a(OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL, i));
                    c.push(u32a(OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT, t));
                }
                attrs.push(nest(OVPN_ATTR_SET_PEER, c));
                effect = peer(d, id);
            }
            OVPN_CMD_DEL_PEER => {
                let id = self.pick_id(d, true);
                let mut c = vec![u32a(OVPN_DEL_PEER_ATTR_PEER_ID, id)];
                if self.rng.chance(1, 10) {
                    c.push(u8a(OVPN_DEL_PEER_ATTR_REASON, self.rng.below(5) as u8));
                }
                attrs.push(nest(OVPN_ATTR_DEL_PEER, c));
                if let Some(dev) = d {
                    effect = Effect::DelPeer { dev, id };
                }
            }
            OVPN_CMD_NEW_KEY => {
                let id = self.pick_id(d, true);
                let alg = if self.rng.chance(1, 2) {
                    OVPN_CIPHER_ALG_AES_GCM
                } else {
                    OVPN_CIPHER_ALG_CHACHA20_POLY1305
                };
                let klen = if alg == OVPN_CIPHER_ALG_AES_GCM {
                    self.rng.pick(&[16usize, 24, 32]).unwrap()
                } else {
                    32
                };
                let dir = |g: &mut Self, ty| {
                    nest(
                        ty,
                        vec![
                            leaf(OVPN_KEY_DIR_ATTR_CIPHER_KEY, g.bytes(klen)),
                            leaf(OVPN_KEY_DIR_ATTR_NONCE_TAIL, g.bytes(8)),
                        ],
                    )
                };
                let enc = dir(self, OVPN_NEW_KEY_ATTR_ENCRYPT_KEY);
                let dec = dir(self, OVPN_NEW_KEY_ATTR_DECRYPT_KEY);
                let mut c = vec![
                    u32a(OVPN_NEW_KEY_ATTR_PEER_ID, id),
                    u8a(OVPN_NEW_KEY_ATTR_KEY_SLOT, self.rng.below(2) as u8),
                    u8a(OVPN_NEW_KEY_ATTR_KEY_ID, self.rng.below(8) as u8),
                    u16a(OVPN_NEW_KEY_ATTR_CIPHER_ALG, alg),
                    enc,
                    dec,
                ];
                if self.rng.chance(1, 5) {
                    c.remove(1); // the slot is optional (primary)
                }
                self.rng_shuffle(&mut c);
                attrs.push(nest(OVPN_ATTR_NEW_KEY, c));
                effect = peer(d, id);
            }
            OVPN_CMD_SWAP_KEYS => {
                let id = self.pick_id(d, true);
                attrs.push(nest(
                    OVPN_ATTR_SWAP_KEYS,
                    vec![u32a(OVPN_SWAP_KEYS_ATTR_PEER_ID, id)],
                ));
                effect = peer(d, id);
            }
            OVPN_CMD_DEL_KEY => {
                let id = self.pick_id(d, true);
                let mut c = vec![u32a(OVPN_DEL_KEY_ATTR_PEER_ID, id)];
                if self.rng.chance(4, 5) {
                    c.push(u8a(OVPN_DEL_KEY_ATTR_KEY_SLOT, self.rng.below(2) as u8));
                }
                attrs.push(nest(OVPN_ATTR_DEL_KEY, c));
                effect = peer(d, id);
            }
            OVPN_CMD_GET_PEER => {
                let id = self.pick_id(d, true);
                attrs.push(nest(
                    OVPN_ATTR_GET_PEER,
                    vec![u32a(OVPN_GET_PEER_ATTR_PEER_ID, id)],
                ));
                effect = peer(d, id);
            }
            _ => {
                flags = rawnl::NLM_F_REQUEST | rawnl::NLM_F_DUMP;
                op = Op::Dump;
                if let Some(dev) = d {
                    effect = Effect::Dump { dev };
                }
            }
        }
        let cmd = if cmd == 0 { OVPN_CMD_GET_PEER } else { cmd };
        Req {
            route: false,
            nl_type: self.family,
            flags,
            fixed: vec![cmd as u8, OVPN_NL_VERSION, 0, 0],
            attrs,
            flips: Vec::new(),
            op,
            mutated: false,
            effect,
        }
    }

    /// Shuffles `v` (Fisher-Yates).
    fn rng_shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }

    /// Applies one attribute-level mutation to `attrs`; `rtnl` restricts
    /// the types to the safe ones.
    fn mutate_attrs(&mut self, attrs: &mut Vec<Node>, rtnl: bool) {
        let mut all = Vec::new();
        paths(attrs, &mut Vec::new(), &mut all);
        let which = self.rng.below(14);
        if all.is_empty() || which == 0 {
            // Insert an unknown or misplaced attribute somewhere.
            let n = if rtnl {
                let ty = self.rng.pick(&RTNL_SAFE_TOP).unwrap();
                let len = [0usize, 1, 2, 4, 8, 16][self.rng.below(6) as usize];
                leaf(u32::from(ty), edge_value(&mut self.rng, len))
            } else {
                let ty = self
                    .rng
                    .pick(&[0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 0x3fff])
                    .unwrap();
                let len = edge_len(&mut self.rng).min(64);
                let data = edge_value(&mut self.rng, len);
                if self.rng.chance(1, 4) {
                    Node::Nest {
                        ty: ty | NLA_F_NESTED,
                        kids: vec![u32a(1, self.rng.next_u64() as u32)],
                        len: None,
                    }
                } else {
                    leaf(u32::from(ty), data)
                }
            };
            let target = if all.is_empty() || self.rng.chance(1, 3) {
                attrs
            } else {
                let p = self.rng.pick(&(0..all.len()).collect::<Vec<_>>()).unwrap();
                let p = all[p].clone();
                parent_mut(attrs, &p)
            };
            if rtnl
                && target
                    .iter()
                    .any(|n| n.ty().is_some_and(|t| t & NLA_TYPE_MASK == IFLA_INFO_KIND))
            {
                // (Inside IFLA_LINKINFO: only the safe types.)
                if let Node::Leaf { ty, .. } = &n {
                    if !RTNL_SAFE_INFO.contains(&(ty & NLA_TYPE_MASK)) {
                        return;
                    }
                }
            }
            let at = self.rng.below(target.len() as u64 + 1) as usize;
            target.insert(at, n);
            return;
        }
        let p = all[self.rng.below(all.len() as u64) as usize].clone();
        let i = *p.last().unwrap();
        let in_linkinfo = rtnl && p.len() >= 2;
        let safe: &[u16] = if in_linkinfo {
            &RTNL_SAFE_INFO
        } else {
            &RTNL_SAFE_TOP
        };
        let list = parent_mut(attrs, &p);
        match which {
            1 => {
                list.remove(i);
            }
            2 => {
                let n = list[i].clone();
                list.insert(i, n);
            }
            3 => {
                // Retype.
                let new = if rtnl {
                    self.rng.pick(safe).unwrap()
                } else {
                    self.rng
                        .pick(&[0u16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x3fff])
                        .unwrap()
                };
                if let Node::Leaf { ty, .. } | Node::Nest { ty, .. } = &mut list[i] {
                    if rtnl
                        && (*ty & NLA_TYPE_MASK == IFLA_IFNAME
                            || *ty & NLA_TYPE_MASK == IFLA_INFO_KIND)
                    {
                        return;
                    }
                    *ty = (*ty & !NLA_TYPE_MASK) | new;
                }
            }
            4 | 5 => {
                // Resize, or an edge value of the same size.
                if let Node::Leaf {
                    data,
                    frozen: false,
                    ..
                } = &mut list[i]
                {
                    let len = if which == 4 {
                        edge_len(&mut self.rng)
                    } else {
                        data.len()
                    };
                    *data = edge_value(&mut self.rng, len);
                } else if let Node::Nest { kids, .. } = &mut list[i] {
                    if which == 4 {
                        kids.clear();
                    }
                }
            }
            6 => {
                if let Node::Leaf { ty, .. } | Node::Nest { ty, .. } = &mut list[i] {
                    *ty ^= NLA_F_NESTED;
                }
            }
            7 => {
                if let Node::Leaf { ty, .. } | Node::Nest { ty, .. } = &mut list[i] {
                    *ty ^= NLA_F_NET_BYTEORDER;
                }
            }
            8 if !rtnl => {
                // Flatten a nest into its parent (wrong level).
                if let Node::Nest { kids, .. } = list[i].clone() {
                    list.splice(i..=i, kids);
                }
            }
            9 => {
                // Wrap in an extra nest.
                let ty = if rtnl {
                    self.rng.pick(safe).unwrap()
                } else {
                    self.rng.below(10) as u16
                };
                let n = list.remove(i);
                list.insert(
                    i,
                    Node::Nest {
                        ty: ty | NLA_F_NESTED,
                        kids: vec![n],
                        len: None,
                    },
                );
            }
            10 if !rtnl => {
                // A length field that lies.
                let real = {
                    let mut b = Vec::new();
                    list[i].write(&mut b);
                    b.len() as u16
                };
                let lie = self
                    .rng
                    .pick(&[
                        0u16,
                        1,
                        3,
                        4,
                        5,
                        real.wrapping_sub(1),
                        real + 1,
                        real + 4,
                        real + 64,
                        0xffff,
                    ])
                    .unwrap();
                if let Node::Leaf { len, .. } | Node::Nest { len, .. } = &mut list[i] {
                    *len = Some(lie);
                }
            }
            11 if !rtnl => {
                let n = 1 + self.rng.below(24) as usize;
                let mut b = vec![0u8; n];
                self.rng.fill(&mut b);
                list.insert(i, Node::Raw(b));
            }
            12 if !rtnl => {
                // Another descriptor: any number of the pool or an edge.
                if let Node::Leaf {
                    data,
                    frozen: false,
                    ..
                } = &mut list[i]
                {
                    if data.len() == 4 {
                        let fd = if self.fds.is_empty() || self.rng.chance(1, 4) {
                            self.rng
                                .pick(&[0u32, 1, 2, 1000, 0x7fff_ffff, u32::MAX])
                                .unwrap()
                        } else {
                            self.fds[self.rng.below(self.fds.len() as u64) as usize].fd
                        };
                        *data = fd.to_ne_bytes().to_vec();
                    }
                }
            }
            _ => {
                // Another nest of the family's (the wrong command's).
                if let Node::Nest { ty, .. } = &mut list[i] {
                    if !rtnl {
                        *ty = (*ty & !NLA_TYPE_MASK) | (2 + self.rng.below(7) as u16);
                    }
                }
            }
        }
    }

    /// The SOCKET attribute of a NEW_PEER, if still there.
    fn with_socket(attrs: &mut [Node], f: impl FnOnce(&mut Vec<u8>)) {
        for a in attrs {
            if let Node::Nest { ty, kids, .. } = a {
                if u32::from(*ty & NLA_TYPE_MASK) == OVPN_ATTR_NEW_PEER {
                    for k in kids {
                        if let Node::Leaf { ty, data, .. } = k {
                            if u32::from(*ty & NLA_TYPE_MASK) == OVPN_NEW_PEER_ATTR_SOCKET {
                                f(data);
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether the request's last IFINDEX names a protected device and
    /// any 4-byte payload in it is a protected peer id (then it is not
    /// sent: a byte flip or resize may have made one).
    fn touches_protected(&self, body: &[u8]) -> bool {
        let Some(attrs_start) = body.get(4..) else {
            return false;
        };
        let top = rawnl::attrs(attrs_start);
        let ifindex = top
            .iter()
            .rev()
            .find(|(t, d)| u32::from(t & NLA_TYPE_MASK) == OVPN_ATTR_IFINDEX && d.len() == 4)
            .map(|(_, d)| u32::from_ne_bytes((*d).try_into().unwrap()));
        let Some(ifindex) = ifindex else { return false };
        if !self
            .devs
            .iter()
            .any(|d| d.protected && d.ifindex == ifindex)
        {
            return false;
        }
        fn walk(buf: &[u8], ids: &[u32], depth: usize) -> bool {
            rawnl::attrs(buf).iter().any(|(_, d)| {
                (d.len() == 4 && ids.contains(&u32::from_ne_bytes((*d).try_into().unwrap())))
                    || (depth < 4 && walk(d, ids, depth + 1))
            })
        }
        walk(attrs_start, &self.cfg.protect, 0)
    }

    /// A request of the family: valid, or mutated (about half).
    pub fn genl(&mut self) -> Req {
        loop {
            let mut r = self.valid_genl();
            if self.rng.chance(1, 2) {
                r.mutated = true;
                let protected = match r.attrs.first() {
                    Some(Node::Leaf { data, .. }) if data.len() == 4 => {
                        let i = u32::from_ne_bytes(data[..4].try_into().unwrap());
                        self.devs.iter().any(|d| d.protected && d.ifindex == i)
                    }
                    _ => false,
                };
                let n = 1 + self.rng.below(3);
                for _ in 0..n {
                    match self.rng.below(20) {
                        0 => {
                            // The command, version or reserved field.
                            match self.rng.below(3) {
                                0 => {
                                    r.fixed[0] = if self.rng.chance(1, 2) {
                                        self.rng.pick(&[0u8, 8, 9, 100, 255]).unwrap()
                                    } else {
                                        1 + self.rng.below(7) as u8
                                    }
                                }
                                1 => r.fixed[1] = self.rng.next_u64() as u8,
                                _ => r.fixed[2] = self.rng.next_u64() as u8,
                            }
                            r.op = Op::Genl(r.fixed[0]);
                        }
                        1 => r.flags ^= rawnl::NLM_F_DUMP,
                        2 => {
                            let pick = if self.fds.is_empty() {
                                None
                            } else {
                                Some(self.rng.below(self.fds.len() as u64) as usize)
                            };
                            if let Some(p) = pick {
                                let fd = self.fds[p].fd;
                                Self::with_socket(&mut r.attrs, |d| *d = fd.to_ne_bytes().to_vec());
                            }
                        }
                        3 if !protected => {
                            let k = 1 + self.rng.below(4);
                            for _ in 0..k {
                                let off = self.rng.below(4096) as usize;
                                let mask = 1u8 << self.rng.below(8);
                                r.flips.push((off, mask));
                            }
                        }
                        _ => self.mutate_attrs(&mut r.attrs, false),
                    }
                }
                if r.flags & rawnl::NLM_F_DUMP == rawnl::NLM_F_DUMP {
                    r.flags &= !rawnl::NLM_F_ACK;
                } else {
                    r.flags |= rawnl::NLM_F_ACK;
                }
                if r.op == Op::Dump && r.flags & rawnl::NLM_F_DUMP != rawnl::NLM_F_DUMP {
                    r.op = Op::Genl(r.fixed[0]);
                }
            }
            if !self.touches_protected(&r.body()) {
                return r;
            }
        }
    }

    /// The name of link `n` (NUL-terminated).
    pub fn link_name(n: usize) -> Vec<u8> {
        format!("fzl{n}\0").into_bytes()
    }

    /// A link request: create one of the fuzzer's links (a valid or a
    /// bad mode), change an unprotected device, or delete a link.
    pub fn rtnl(&mut self) -> Req {
        let n = self.rng.below(LINK_NAMES as u64) as usize;
        let mut ifi = vec![0u8; 16];
        let r = self.rng.below(10);
        let (op, nl_type, flags, mut attrs, effect) = if r < 6 {
            let mut data = Vec::new();
            match self.rng.below(8) {
                0 => {}
                1..=4 => data.push(u8a(IFLA_OVPN_MODE, self.rng.below(2) as u8)),
                5 => data.push(u8a(
                    IFLA_OVPN_MODE,
                    self.rng.pick(&[2u8, 3, 0x7f, 0xff]).unwrap(),
                )),
                6 => data.push(u32a(IFLA_OVPN_MODE, self.rng.below(2) as u32)),
                _ => data.push(leaf(IFLA_OVPN_MODE, Vec::new())),
            }
            let mut info = vec![frozen(IFLA_INFO_KIND, KIND)];
            if !data.is_empty() || self.rng.chance(1, 4) {
                let mut d = Node::Nest {
                    ty: IFLA_INFO_DATA
                        | if self.rng.chance(1, 2) {
                            NLA_F_NESTED
                        } else {
                            0
                        },
                    kids: data,
                    len: None,
                };
                if self.rng.chance(1, 6) {
                    if let Node::Nest { kids, .. } = &mut d {
                        // (Whole words: the attributes after the nest
                        // must stay where the kernel looks for them.)
                        let mut b = vec![0u8; 4 * (1 + self.rng.below(4) as usize)];
                        self.rng.fill(&mut b);
                        kids.push(Node::Raw(b));
                    }
                }
                info.push(d);
            }
            let mut attrs = vec![
                frozen(IFLA_IFNAME, &Self::link_name(n)),
                nest(u32::from(IFLA_LINKINFO), info),
            ];
            if self.rng.chance(1, 4) {
                let q = self.rng.pick(&[1u32, 2, 8, 16]).unwrap();
                attrs.push(u32a(u32::from(IFLA_NUM_TX_QUEUES), q));
                attrs.push(u32a(u32::from(IFLA_NUM_RX_QUEUES), q));
            }
            if self.rng.chance(1, 4) {
                attrs.push(u32a(
                    u32::from(IFLA_MTU),
                    self.rng
                        .pick(&[0u32, 67, 68, 576, 1280, 1500, 9000, 65535, 65536, u32::MAX])
                        .unwrap(),
                ));
            }
            (
                Op::NewLink,
                RTM_NEWLINK,
                rawnl::NLM_F_CREATE | rawnl::NLM_F_EXCL,
                attrs,
                Effect::NewLink(n),
            )
        } else if r < 8 {
            // Change a device: one of the fuzzer's links or an unprotected
            // target.
            let targets: Vec<u32> = self
                .devs
                .iter()
                .filter(|d| !d.protected)
                .map(|d| d.ifindex)
                .collect();
            let mut attrs = Vec::new();
            if !targets.is_empty() && self.rng.chance(1, 2) {
                ifi[4..8].copy_from_slice(&self.rng.pick(&targets).unwrap().to_ne_bytes());
            } else {
                attrs.push(frozen(IFLA_IFNAME, &Self::link_name(n)));
            }
            match self.rng.below(4) {
                0 => attrs.push(u32a(
                    u32::from(IFLA_MTU),
                    self.rng
                        .pick(&[0u32, 67, 68, 1280, 1420, 1500, 9000, 65535, 65536, u32::MAX])
                        .unwrap(),
                )),
                1 => attrs.push(u32a(
                    u32::from(IFLA_TXQLEN),
                    self.rng.pick(&[0u32, 1, 1000, u32::MAX]).unwrap(),
                )),
                2 => attrs.push(u32a(u32::from(IFLA_GROUP), self.rng.next_u64() as u32)),
                _ => attrs.push(nest(
                    u32::from(IFLA_LINKINFO),
                    vec![
                        frozen(IFLA_INFO_KIND, KIND),
                        nest(
                            u32::from(IFLA_INFO_DATA),
                            vec![u8a(IFLA_OVPN_MODE, self.rng.below(3) as u8)],
                        ),
                    ],
                )),
            }
            (Op::SetLink, RTM_NEWLINK, 0, attrs, Effect::None)
        } else {
            (
                Op::DelLink,
                RTM_DELLINK,
                0,
                vec![frozen(IFLA_IFNAME, &Self::link_name(n))],
                Effect::DelLink(n),
            )
        };
        let mut mutated = false;
        if self.rng.chance(2, 5) {
            mutated = true;
            for _ in 0..1 + self.rng.below(2) {
                if self.rng.chance(1, 8) {
                    // The ifinfomsg: family, type, flags, change.
                    let at = self.rng.pick(&[0usize, 2, 8, 12]).unwrap();
                    ifi[at] = self.rng.next_u64() as u8;
                } else {
                    self.mutate_attrs(&mut attrs, true);
                }
            }
        }
        Req {
            route: true,
            nl_type,
            flags: rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK | flags,
            fixed: ifi,
            attrs,
            flips: Vec::new(),
            op,
            mutated,
            effect,
        }
    }

    /// Applies what the kernel said about a request to the model.
    pub fn learn(&mut self, r: &Req, err: i32, dump_ids: &[u32]) {
        match (r.effect, err) {
            (Effect::AddPeer { dev, id, fd }, 0) if !r.mutated => {
                if !self.devs[dev].mp {
                    self.devs[dev].peers.clear();
                }
                self.devs[dev].peers.insert(id);
                if let Some(f) = self.fds.get_mut(fd) {
                    f.dev = Some(dev);
                }
            }
            (Effect::DelPeer { dev, id }, 0) => {
                self.devs[dev].peers.remove(&id);
            }
            (Effect::DelPeer { dev, id } | Effect::Peer { dev, id }, e)
                if e == -libc::ENOENT && !r.mutated =>
            {
                self.devs[dev].peers.remove(&id);
            }
            (Effect::Dump { dev }, 0) if !r.mutated => {
                self.devs[dev].peers = dump_ids.iter().copied().collect();
            }
            (Effect::NewLink(n), 0) => self.links[n] = true,
            (Effect::NewLink(n), e) if e == -libc::EEXIST => self.links[n] = true,
            (Effect::DelLink(n), 0) if !r.mutated => self.links[n] = false,
            (Effect::DelLink(n), e) if e == -libc::ENODEV && !r.mutated => self.links[n] = false,
            _ => {}
        }
    }
}

/// The peer ids in the GET_PEER replies of a dump.
pub fn dump_ids(replies: &[Reply]) -> Vec<u32> {
    let mut ids = Vec::new();
    for m in replies {
        if m.is_terminal() || m.payload.len() < 4 {
            continue;
        }
        for (ty, data) in rawnl::attrs(&m.payload[4..]) {
            if u32::from(ty & NLA_TYPE_MASK) != OVPN_ATTR_GET_PEER {
                continue;
            }
            for (t, d) in rawnl::attrs(data) {
                if u32::from(t & NLA_TYPE_MASK) == OVPN_GET_PEER_RESP_ATTR_PEER_ID && d.len() == 4 {
                    ids.push(u32::from_ne_bytes(d.try_into().unwrap()));
                }
            }
        }
    }
    ids
}

/// Hex of `b`.
fn hex(b: &[u8]) -> String {
    crate::cli::to_hex(b)
}

/// The name of errno `e` (positive).
fn errno_name(e: i32) -> String {
    let s = crate::error::Error::netlink(-e, None).to_string();
    s.split_whitespace().next().unwrap_or("?").to_string()
}

/// Counts of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Requests sent.
    pub sent: u64,
    /// Of which valid (not mutated).
    pub valid: u64,
    /// ACKs (error 0, or a dump's DONE without error).
    pub acks: u64,
    /// Errors by errno (positive).
    pub errors: BTreeMap<i32, u64>,
    /// ACKs by kind of request.
    pub acks_by_op: BTreeMap<Op, u64>,
    /// Failures.
    pub failures: u64,
    /// With OVPN_FUZZ_NL_PROFILE set (batches of one kind of request):
    /// requests and time by kind.
    pub time_by_op: BTreeMap<Op, (u64, Duration)>,
}

impl Tally {
    /// Judges the final reply of `r`: an ACK, an expected error, or a
    /// failure (returned as text).
    pub fn judge(&mut self, r: &Req, err: Option<i32>) -> Option<String> {
        match err {
            Some(0) => {
                self.acks += 1;
                *self.acks_by_op.entry(r.op).or_default() += 1;
                None
            }
            Some(e) if e < 0 => {
                *self.errors.entry(-e).or_default() += 1;
                let allowed = if r.route { RTNL_ERRNOS } else { GENL_ERRNOS };
                if allowed.contains(&-e) {
                    None
                } else {
                    Some(format!("unexpected error {} ({})", errno_name(-e), -e))
                }
            }
            Some(e) => Some(format!("positive error field {e}")),
            None => Some("no final reply".into()),
        }
    }

    /// The one-line summary.
    pub fn summary(&self, seed: u64, elapsed: Duration) -> String {
        let mut s = format!(
            "fuzz-nl seed={seed} requests={} valid={} acks={} failures={}",
            self.sent, self.valid, self.acks, self.failures
        );
        let _ = write!(s, " errors=");
        let errs: Vec<String> = self
            .errors
            .iter()
            .map(|(e, n)| format!("{}:{n}", errno_name(*e)))
            .collect();
        s.push_str(if errs.is_empty() { "none" } else { "" });
        s.push_str(&errs.join(","));
        let acks: Vec<String> = self
            .acks_by_op
            .iter()
            .map(|(o, n)| format!("{}:{n}", o.name()))
            .collect();
        let _ = write!(s, " acked={}", acks.join(","));
        if !self.time_by_op.is_empty() {
            let t: Vec<String> = self
                .time_by_op
                .iter()
                .map(|(o, (n, d))| format!("{}:{n}/{}ms", o.name(), d.as_millis()))
                .collect();
            let _ = write!(s, " time={}", t.join(","));
        }
        let ms = elapsed.as_millis().max(1);
        let _ = write!(
            s,
            " elapsed_ms={ms} rate={}/s",
            u128::from(self.sent) * 1000 / ms
        );
        s
    }
}

/// Arguments of `fuzz-nl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzNlArgs {
    /// The PRNG seed.
    pub seed: u64,
    /// Requests to send.
    pub count: u64,
    /// Devices to target besides the fuzzer's own.
    pub devs: Vec<String>,
    /// Peer ids never named on those devices.
    pub protect: Vec<u32>,
    /// Indexes of devices of other namespaces.
    pub other_ifindex: Vec<u32>,
    /// A namespace (file) to make sockets in.
    pub other_netns: Option<PathBuf>,
    /// Requests per sendmsg.
    pub batch: usize,
    /// Stop after this long even if `count` is not reached.
    pub max_time: Option<Duration>,
    /// Progress lines on stderr every so often.
    pub report: Option<Duration>,
}

/// The descriptors behind the pool: kept open by the runner.
struct Pool {
    /// Owned descriptors (closing them is the runner's business).
    held: Vec<Option<OwnedFd>>,
    /// The listener the TCP pairs connect to.
    listener: TcpListener,
}

/// Creates a socket in namespace `ns` with `make` (a thread joins it for
/// the call; the socket keeps its namespace).
fn in_netns(ns: &PathBuf, make: fn() -> std::io::Result<OwnedFd>) -> Option<OwnedFd> {
    let ns = std::fs::File::open(ns).ok()?;
    std::thread::spawn(move || {
        // SAFETY: setns on this thread only, with a namespace file.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        make().ok()
    })
    .join()
    .ok()
    .flatten()
}

fn udp4() -> std::io::Result<OwnedFd> {
    Ok(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?.into())
}

fn tcp_pair_other() -> std::io::Result<OwnedFd> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let c = TcpStream::connect(l.local_addr()?)?;
    let (a, _) = l.accept()?;
    // The accepted end stays open (leaked) so that the connection does.
    std::mem::forget(a);
    Ok(c.into())
}

/// A raw socket of `domain`, `ty`, `proto`.
fn raw_socket(domain: i32, ty: i32, proto: i32) -> Option<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    // SAFETY: a new descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A UDP IPv6 socket with `IPV6_V6ONLY` off, bound to `[::]:0`.
fn udp_dual() -> Option<OwnedFd> {
    let fd = raw_socket(libc::AF_INET6, libc::SOCK_DGRAM, 0)?;
    let off: libc::c_int = 0;
    // SAFETY: the value points to `off` of the size passed.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            std::ptr::from_ref(&off).cast(),
            4,
        );
    }
    // SAFETY: all-zero is `[::]:0`.
    let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    // SAFETY: the address points to `sa` of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            std::ptr::from_ref(&sa).cast(),
            std::mem::size_of_val(&sa) as u32,
        )
    };
    (rc == 0).then_some(fd)
}

impl Pool {
    /// Opens one descriptor of each kind (those the system can make).
    fn open(other_netns: Option<&PathBuf>) -> Result<(Self, Vec<FdT>)> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let mut p = Pool {
            held: Vec::new(),
            listener,
        };
        let mut fds = Vec::new();
        for kind in [
            FdKind::UdpV4,
            FdKind::UdpV4,
            FdKind::UdpV4,
            FdKind::UdpV4Unbound,
            FdKind::UdpV6,
            FdKind::UdpV6Unbound,
            FdKind::UdpDual,
            FdKind::TcpListen,
            FdKind::TcpUnconnected,
            FdKind::TcpClient,
            FdKind::TcpAccepted,
            FdKind::UnixDgram,
            FdKind::UnixStream,
            FdKind::RawUdp,
            FdKind::Netlink,
            FdKind::File,
            FdKind::OtherNsUdp,
            FdKind::OtherNsTcp,
            FdKind::Closed,
        ] {
            if let Some(f) = p.make(kind, other_netns) {
                fds.push(f);
            }
        }
        Ok((p, fds))
    }

    /// Opens a descriptor of `kind` and keeps it.
    fn make(&mut self, kind: FdKind, other_netns: Option<&PathBuf>) -> Option<FdT> {
        let fd: Option<OwnedFd> = match kind {
            FdKind::UdpV4 => udp4().ok(),
            FdKind::UdpV4Unbound => raw_socket(libc::AF_INET, libc::SOCK_DGRAM, 0),
            FdKind::UdpV6 => UdpSocket::bind((Ipv6Addr::LOCALHOST, 0))
                .ok()
                .map(Into::into),
            FdKind::UdpV6Unbound => raw_socket(libc::AF_INET6, libc::SOCK_DGRAM, 0),
            FdKind::UdpDual => udp_dual(),
            FdKind::TcpListen => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .ok()
                .map(Into::into),
            FdKind::TcpUnconnected => raw_socket(libc::AF_INET, libc::SOCK_STREAM, 0),
            FdKind::TcpClient | FdKind::TcpAccepted => {
                let c = TcpStream::connect(self.listener.local_addr().ok()?).ok()?;
                let (a, _) = self.listener.accept().ok()?;
                let (keep, give) = if kind == FdKind::TcpClient {
                    (a, c)
                } else {
                    (c, a)
                };
                self.held.push(Some(keep.into()));
                Some(give.into())
            }
            FdKind::UnixDgram => UnixDatagram::unbound().ok().map(Into::into),
            FdKind::UnixStream => UnixStream::pair().ok().map(|(a, b)| {
                self.held.push(Some(b.into()));
                a.into()
            }),
            FdKind::RawUdp => raw_socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_UDP),
            FdKind::Netlink => raw_socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
            FdKind::File | FdKind::Reused => std::fs::File::open("/dev/null").ok().map(Into::into),
            FdKind::OtherNsUdp => in_netns(other_netns?, udp4),
            FdKind::OtherNsTcp => in_netns(other_netns?, tcp_pair_other),
            FdKind::Closed => {
                // A number far above those the run opens.
                return Some(FdT {
                    fd: 1000,
                    kind,
                    dev: None,
                });
            }
        };
        let fd = fd?;
        let n = fd.as_raw_fd() as u32;
        self.held.push(Some(fd));
        Some(FdT {
            fd: n,
            kind,
            dev: None,
        })
    }

    /// Closes descriptor number `n` if the pool holds it.
    fn close(&mut self, n: u32) {
        for h in &mut self.held {
            if h.as_ref().is_some_and(|f| f.as_raw_fd() as u32 == n) {
                *h = None;
            }
        }
        self.held.retain(Option::is_some);
    }
}

/// Sends a request on `nl` and waits for its final reply (set-up and
/// clean-up requests, outside the fuzzing).
fn one(
    nl: &mut RawNl,
    seq: &mut u32,
    ty: u16,
    flags: u16,
    body: &[u8],
) -> Result<(i32, Vec<Reply>)> {
    *seq += 1;
    let mut buf = Vec::new();
    rawnl::push_message(&mut buf, ty, flags, *seq, body);
    nl.send(&buf)?;
    let mut got = Vec::new();
    loop {
        let r = nl.recv(Duration::from_secs(30))?;
        if r.is_empty() {
            return Err(Error::other(format!(
                "no reply to set-up request {}",
                hex(body)
            )));
        }
        for m in r {
            if m.seq != *seq {
                continue;
            }
            if m.is_terminal() {
                return Ok((m.error().unwrap_or(-libc::EPROTO), got));
            }
            got.push(m);
        }
    }
}

/// Creates link `name` of mode `mode` and returns its index.
fn create_link(rt: &mut RawNl, seq: &mut u32, name: &str, mode: u8) -> Result<u32> {
    let mut body = vec![0u8; 16];
    let nm = format!("{name}\0");
    frozen(IFLA_IFNAME, nm.as_bytes()).write(&mut body);
    nest(
        u32::from(IFLA_LINKINFO),
        vec![
            frozen(IFLA_INFO_KIND, KIND),
            nest(u32::from(IFLA_INFO_DATA), vec![u8a(IFLA_OVPN_MODE, mode)]),
        ],
    )
    .write(&mut body);
    let (e, _) = one(
        rt,
        seq,
        RTM_NEWLINK,
        rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK | rawnl::NLM_F_CREATE | rawnl::NLM_F_EXCL,
        &body,
    )?;
    if e != 0 {
        return Err(Error::netlink(e, Some(format!("creating {name}"))));
    }
    crate::link::ifindex_of(name)
}

/// Deletes the link with index `ifindex` (errors ignored).
fn delete_link(rt: &mut RawNl, seq: &mut u32, ifindex: u32) {
    let mut body = vec![0u8; 16];
    body[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    let _ = one(
        rt,
        seq,
        RTM_DELLINK,
        rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK,
        &body,
    );
}

/// The indexes and whether they are ovpn-dco links, of every device of
/// the namespace.
fn list_links(rt: &mut RawNl, seq: &mut u32) -> Result<Vec<(u32, bool)>> {
    let (e, msgs) = one(
        rt,
        seq,
        RTM_GETLINK,
        rawnl::NLM_F_REQUEST | rawnl::NLM_F_DUMP,
        &[0u8; 16],
    )?;
    if e != 0 {
        return Err(Error::netlink(e, Some("link dump".into())));
    }
    let mut out = Vec::new();
    for m in msgs {
        if m.ty != RTM_NEWLINK || m.payload.len() < 16 {
            continue;
        }
        let idx = u32::from_ne_bytes(m.payload[4..8].try_into().unwrap());
        let ovpn = rawnl::attrs(&m.payload[16..]).iter().any(|(t, d)| {
            t & NLA_TYPE_MASK == IFLA_LINKINFO
                && rawnl::attrs(d).iter().any(|(t, k)| {
                    t & NLA_TYPE_MASK == IFLA_INFO_KIND && k.starts_with(b"ovpn-dco\0")
                })
        });
        out.push((idx, ovpn));
    }
    Ok(out)
}

/// The runner's state.
struct Runner {
    gen: Gen,
    genl: RawNl,
    rt: RawNl,
    seq: u32,
    tally: Tally,
    pool: Pool,
    other_netns: Option<PathBuf>,
    /// The devices the fuzzer created (model indexes) and their modes.
    own: Vec<(usize, String, u8)>,
    /// Indexes present before the run.
    before: BTreeSet<u32>,
}

impl Runner {
    /// Sends `reqs` on one socket in one datagram and judges the replies.
    fn batch(&mut self, reqs: Vec<Req>, route: bool) -> Result<()> {
        if reqs.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        let mut pending: BTreeMap<u32, (Req, Vec<Reply>)> = BTreeMap::new();
        for r in reqs {
            self.seq = self.seq.wrapping_add(1).max(1);
            rawnl::push_message(&mut buf, r.nl_type, r.flags, self.seq, &r.body());
            self.tally.sent += 1;
            if !r.mutated {
                self.tally.valid += 1;
            }
            pending.insert(self.seq, (r, Vec::new()));
        }
        let mut waiting: BTreeSet<u32> = pending.keys().copied().collect();
        let mut got_all = Vec::new();
        {
            let nl = if route { &mut self.rt } else { &mut self.genl };
            nl.send(&buf)?;
            while !waiting.is_empty() {
                let got = nl.recv(Duration::from_secs(20))?;
                if got.is_empty() {
                    break;
                }
                for m in got {
                    if m.is_terminal() && !waiting.remove(&m.seq) {
                        println!(
                            "fuzz-nl: FAIL: a final reply for no pending request (seq {}, type {}, error {:?})",
                            m.seq,
                            m.ty,
                            m.error()
                        );
                        self.tally.failures += 1;
                        continue;
                    }
                    got_all.push(m);
                }
            }
        }
        let mut done: Vec<(Req, i32, Vec<Reply>)> = Vec::new();
        for m in got_all {
            let Some((_, replies)) = pending.get_mut(&m.seq) else {
                continue;
            };
            if m.is_terminal() {
                let (r, replies) = pending.remove(&m.seq).unwrap();
                let err = m.error();
                if let Some(why) = self.tally.judge(&r, err) {
                    self.fail(&r, &why, m.extack());
                }
                done.push((r, err.unwrap_or(0), replies));
            } else {
                replies.push(m);
            }
        }
        for (_, (r, _)) in pending {
            if let Some(why) = self.tally.judge(&r, None) {
                self.fail(&r, &why, None);
            }
        }
        for (r, err, replies) in done {
            let ids = if r.op == Op::Dump {
                dump_ids(&replies)
            } else {
                Vec::new()
            };
            self.gen.learn(&r, err, &ids);
        }
        Ok(())
    }

    fn fail(&mut self, r: &Req, why: &str, extack: Option<String>) {
        self.tally.failures += 1;
        let mut msg = Vec::new();
        rawnl::push_message(&mut msg, r.nl_type, r.flags, 0, &r.body());
        println!(
            "fuzz-nl: FAIL: {} {}{}: {why}{} request {}",
            if r.route { "rtnl" } else { "genl" },
            r.op.name(),
            if r.mutated { " (mutated)" } else { "" },
            extack.map(|m| format!(" [{m}]")).unwrap_or_default(),
            hex(&msg)
        );
    }

    /// Deletes every peer of the fuzzer's on every target (after a dump
    /// of each), and the fuzzer's links.
    fn clean(&mut self) -> Result<()> {
        for d in 0..self.gen.devs.len() {
            let dev = self.gen.devs[d].ifindex;
            let mut body = vec![OVPN_CMD_GET_PEER as u8, OVPN_NL_VERSION, 0, 0];
            u32a(OVPN_ATTR_IFINDEX, dev).write(&mut body);
            let (e, msgs) = one(
                &mut self.genl,
                &mut self.seq,
                self.gen.family,
                rawnl::NLM_F_REQUEST | rawnl::NLM_F_DUMP,
                &body,
            )?;
            if e != 0 {
                continue;
            }
            let protected = self.gen.devs[d].protected;
            let dels: Vec<Req> = dump_ids(&msgs)
                .into_iter()
                .filter(|id| !(protected && self.gen.cfg.protect.contains(id)))
                .map(|id| {
                    let mut fixed = vec![OVPN_CMD_DEL_PEER as u8, OVPN_NL_VERSION, 0, 0];
                    u32a(OVPN_ATTR_IFINDEX, dev).write(&mut fixed);
                    nest(
                        OVPN_ATTR_DEL_PEER,
                        vec![u32a(OVPN_DEL_PEER_ATTR_PEER_ID, id)],
                    )
                    .write(&mut fixed);
                    Req {
                        route: false,
                        nl_type: self.gen.family,
                        flags: rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK,
                        fixed,
                        attrs: Vec::new(),
                        flips: Vec::new(),
                        op: Op::Genl(OVPN_CMD_DEL_PEER as u8),
                        mutated: false,
                        effect: Effect::DelPeer { dev: d, id },
                    }
                })
                .collect();
            // (Counted as requests: they are, and each must be acked or
            // ENOENT if the peer went meanwhile.)
            self.batch(dels, false)?;
            self.gen.devs[d].peers.clear();
        }
        // Links the fuzzer made (by name or, without a name, by kind).
        for (idx, ovpn) in list_links(&mut self.rt, &mut self.seq)? {
            let own = self.gen.devs.iter().any(|d| d.ifindex == idx);
            if ovpn && !own && !self.before.contains(&idx) {
                delete_link(&mut self.rt, &mut self.seq, idx);
            }
        }
        self.gen.links = [false; LINK_NAMES];
        Ok(())
    }

    /// New sockets for some of the pool: closing one ends its peers (in
    /// the kernel), and its number is then reused by a file or left
    /// closed.  Sometimes one of the fuzzer's devices is deleted with its
    /// peers and made again.
    fn refresh(&mut self) -> Result<()> {
        let n = self.gen.fds.len();
        for i in 0..n {
            if !self.gen.rng.chance(1, 3) {
                continue;
            }
            let f = self.gen.fds[i];
            if matches!(f.kind, FdKind::Closed | FdKind::Reused) {
                continue;
            }
            self.pool.close(f.fd);
            if let Some(d) = f.dev {
                // Its peers go with it.
                self.gen.devs[d].peers.clear();
            }
            // The lowest free number is reused: first by a file.
            let reused = if f.kind.udp() {
                self.pool.make(FdKind::Reused, None)
            } else {
                None
            };
            if let Some(r) = reused {
                self.gen.fds.push(r);
            }
            if let Some(new) = self.pool.make(f.kind, self.other_netns.as_ref()) {
                self.gen.fds[i] = new;
            }
        }
        // Keep the pool bounded: drop the oldest reused numbers.
        while self.gen.fds.len() > 40 {
            let pos = self.gen.fds.iter().position(|f| f.kind == FdKind::Reused);
            match pos {
                Some(p) => {
                    let f = self.gen.fds.remove(p);
                    self.pool.close(f.fd);
                }
                None => break,
            }
        }
        if !self.own.is_empty() && self.gen.rng.chance(1, 4) {
            let k = self.gen.rng.below(self.own.len() as u64) as usize;
            let (d, name, mode) = self.own[k].clone();
            delete_link(&mut self.rt, &mut self.seq, self.gen.devs[d].ifindex);
            self.gen.devs[d].ifindex = create_link(&mut self.rt, &mut self.seq, &name, mode)?;
            self.gen.devs[d].peers.clear();
            for f in &mut self.gen.fds {
                if f.dev == Some(d) {
                    f.dev = None;
                }
            }
        }
        Ok(())
    }
}

/// Runs `fuzz-nl`; the exit status is 1 if any request failed.
pub fn run(a: &FuzzNlArgs) -> Result<i32> {
    let family = crate::genl::Ovpn::connect()?.family.id;
    let mut rt = RawNl::open(libc::NETLINK_ROUTE)?;
    let mut seq = 0u32;
    let links = list_links(&mut rt, &mut seq)?;
    let before: BTreeSet<u32> = links.iter().map(|(i, _)| *i).collect();
    let mut devs = Vec::new();
    for name in &a.devs {
        devs.push(DevT {
            ifindex: crate::link::ifindex_of(name)?,
            mp: true,
            protected: true,
            peers: BTreeSet::new(),
        });
    }
    let pid = std::process::id() % 1000;
    let mut own = Vec::new();
    for (name, mode) in [
        (format!("fzmp{pid}"), OVPN_MODE_MP),
        (format!("fzpp{pid}"), OVPN_MODE_P2P),
    ] {
        let ifindex = create_link(&mut rt, &mut seq, &name, mode)?;
        own.push((devs.len(), name, mode));
        devs.push(DevT {
            ifindex,
            mp: mode == OVPN_MODE_MP,
            protected: false,
            peers: BTreeSet::new(),
        });
    }
    // Other devices of the namespace, for requests to the wrong kind of
    // device: not ovpn-dco ones (another user's tunnels).
    let foreign: Vec<u32> = links
        .iter()
        .filter(|(i, ovpn)| !ovpn && !devs.iter().any(|d| d.ifindex == *i))
        .map(|(i, _)| *i)
        .collect();
    let (pool, fds) = Pool::open(a.other_netns.as_ref())?;
    let cfg = Config {
        protect: a.protect.clone(),
        other_ifindex: a.other_ifindex.clone(),
        batch: a.batch,
    };
    eprintln!(
        "fuzz-nl: seed {} count {} batch {} devices {:?} descriptors {:?}",
        a.seed,
        a.count,
        a.batch,
        devs.iter().map(|d| d.ifindex).collect::<Vec<_>>(),
        fds.iter().map(|f| (f.fd, f.kind)).collect::<Vec<_>>()
    );
    let mut r = Runner {
        gen: Gen::new(a.seed, family, devs, fds, foreign, cfg),
        genl: RawNl::open(libc::NETLINK_GENERIC)?,
        rt,
        seq,
        tally: Tally::default(),
        pool,
        other_netns: a.other_netns.clone(),
        own,
        before,
    };
    // (Profiling: rtnetlink batches count as "newlink", refreshes of the
    // descriptors and devices as "dellink".)
    let profile = std::env::var_os("OVPN_FUZZ_NL_PROFILE").is_some();
    let t0 = Instant::now();
    let mut last_report = t0;
    let mut since_clean = 0u64;
    let mut since_refresh = 0u64;
    while r.tally.sent < a.count && a.max_time.is_none_or(|m| t0.elapsed() < m) {
        let left = (a.count - r.tally.sent) as usize;
        let n = a.batch.min(left).max(1);
        // One in eight batches goes to rtnetlink.
        if r.gen.rng.chance(1, 8) {
            let reqs: Vec<Req> = (0..n.min(8)).map(|_| r.gen.rtnl()).collect();
            let (k, t) = (reqs.len() as u64, Instant::now());
            r.batch(reqs, true)?;
            if profile {
                let e = r.tally.time_by_op.entry(Op::NewLink).or_default();
                e.0 += k;
                e.1 += t.elapsed();
            }
        } else {
            let mut reqs: Vec<Req> = (0..n).map(|_| r.gen.genl()).collect();
            // At most one dump per batch, last: a second one would find
            // the first still running (EBUSY).
            let mut seen = false;
            reqs.retain(|q| {
                let dump = q.flags & rawnl::NLM_F_DUMP == rawnl::NLM_F_DUMP;
                let keep = !(dump && seen);
                seen |= dump;
                keep
            });
            reqs.sort_by_key(|q| q.flags & rawnl::NLM_F_DUMP == rawnl::NLM_F_DUMP);
            if profile {
                // One batch per kind of request, timed.
                let mut by: BTreeMap<Op, Vec<Req>> = BTreeMap::new();
                for q in reqs {
                    by.entry(q.op).or_default().push(q);
                }
                for (op, qs) in by {
                    let (k, t) = (qs.len() as u64, Instant::now());
                    r.batch(qs, false)?;
                    let e = r.tally.time_by_op.entry(op).or_default();
                    e.0 += k;
                    e.1 += t.elapsed();
                }
            } else {
                r.batch(reqs, false)?;
            }
        }
        since_clean += n as u64;
        since_refresh += n as u64;
        if since_refresh >= 1500 {
            since_refresh = 0;
            let t = Instant::now();
            r.refresh()?;
            if profile {
                let e = r.tally.time_by_op.entry(Op::DelLink).or_default();
                e.0 += 1;
                e.1 += t.elapsed();
            }
        }
        let peers: usize = r.gen.devs.iter().map(|d| d.peers.len()).sum();
        if since_clean >= 5000 || peers > 80 {
            since_clean = 0;
            r.clean()?;
        }
        if let Some(every) = a.report {
            if last_report.elapsed() >= every {
                last_report = Instant::now();
                eprintln!(
                    "fuzz-nl: progress {}",
                    r.tally.summary(a.seed, t0.elapsed())
                );
            }
        }
    }
    let elapsed = t0.elapsed();
    r.clean()?;
    for (d, _, _) in r.own.clone() {
        delete_link(&mut r.rt, &mut r.seq, r.gen.devs[d].ifindex);
    }
    println!("{}", r.tally.summary(a.seed, elapsed));
    Ok(if r.tally.failures == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(seed: u64) -> Gen {
        let devs = vec![
            DevT {
                ifindex: 5,
                mp: true,
                protected: true,
                peers: [1, 2].into(),
            },
            DevT {
                ifindex: 9,
                mp: true,
                protected: false,
                peers: BTreeSet::new(),
            },
            DevT {
                ifindex: 10,
                mp: false,
                protected: false,
                peers: BTreeSet::new(),
            },
        ];
        let fds = vec![
            FdT {
                fd: 3,
                kind: FdKind::UdpV4,
                dev: None,
            },
            FdT {
                fd: 4,
                kind: FdKind::UdpV6,
                dev: None,
            },
            FdT {
                fd: 5,
                kind: FdKind::TcpClient,
                dev: None,
            },
            FdT {
                fd: 6,
                kind: FdKind::File,
                dev: None,
            },
            FdT {
                fd: 7,
                kind: FdKind::Closed,
                dev: None,
            },
        ];
        let cfg = Config {
            protect: vec![1],
            other_ifindex: vec![3],
            batch: 32,
        };
        Gen::new(seed, 0x20, devs, fds, vec![1, 2], cfg)
    }

    fn bytes(g: &mut Gen, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let r = if i % 8 == 7 { g.rtnl() } else { g.genl() };
                let mut b = Vec::new();
                rawnl::push_message(&mut b, r.nl_type, r.flags, i as u32, &r.body());
                b
            })
            .collect()
    }

    /// The same seed gives the same requests; another seed others.
    #[test]
    fn deterministic_for_a_seed() {
        let a = bytes(&mut gen(19), 2000);
        let b = bytes(&mut gen(19), 2000);
        assert_eq!(a, b);
        let c = bytes(&mut gen(20), 2000);
        assert_ne!(a, c);
    }

    /// A share of the requests is valid, every command is generated, and
    /// link requests never carry another kind or a namespace attribute.
    #[test]
    fn mix_and_safety() {
        let mut g = gen(7);
        let mut valid = 0;
        let mut cmds = BTreeSet::new();
        for _ in 0..20_000 {
            let r = g.genl();
            valid += u32::from(!r.mutated);
            cmds.insert(r.op);
            let b = r.body();
            assert!(
                !g.touches_protected(&b),
                "protected peer named: {}",
                hex(&b)
            );
        }
        assert!(valid > 8000, "valid {valid}");
        for c in 1..=7 {
            assert!(cmds.contains(&Op::Genl(c)), "no command {c}");
        }
        assert!(cmds.contains(&Op::Dump));
        for _ in 0..20_000 {
            let r = g.rtnl();
            let b = r.body();
            for (t, d) in rawnl::attrs(&b[16..]) {
                let t = t & NLA_TYPE_MASK;
                assert!(
                    t == IFLA_IFNAME || t == IFLA_LINKINFO || RTNL_SAFE_TOP.contains(&t),
                    "top type {t}"
                );
                if t == IFLA_IFNAME {
                    assert!(d.starts_with(b"fzl"), "name {}", hex(d));
                }
                if t == IFLA_LINKINFO {
                    for (k, kd) in rawnl::attrs(d) {
                        if k & NLA_TYPE_MASK == IFLA_INFO_KIND {
                            assert_eq!(kd, KIND, "kind {}", hex(kd));
                        }
                    }
                }
            }
        }
    }

    /// The model follows ACKs: added peers are named again.
    #[test]
    fn model_learns() {
        let mut g = gen(3);
        let r = Req {
            route: false,
            nl_type: 0x20,
            flags: 5,
            fixed: vec![1, 1, 0, 0],
            attrs: vec![],
            flips: vec![],
            op: Op::Genl(1),
            mutated: false,
            effect: Effect::AddPeer {
                dev: 1,
                id: 7,
                fd: 0,
            },
        };
        g.learn(&r, 0, &[]);
        assert!(g.devs[1].peers.contains(&7));
        assert_eq!(g.fds[0].dev, Some(1));
        let d = Req {
            effect: Effect::Peer { dev: 1, id: 7 },
            ..r.clone()
        };
        g.learn(&d, -libc::ENOENT, &[]);
        assert!(g.devs[1].peers.is_empty());
        let dump = Req {
            effect: Effect::Dump { dev: 2 },
            op: Op::Dump,
            ..r
        };
        g.learn(&dump, 0, &[4, 5]);
        assert_eq!(g.devs[2].peers, [4, 5].into());
    }

    #[test]
    fn judging() {
        let mut t = Tally::default();
        let r = gen(1).genl();
        assert_eq!(t.judge(&r, Some(0)), None);
        assert_eq!(t.judge(&r, Some(-libc::EINVAL)), None);
        assert!(t.judge(&r, Some(-libc::EFAULT)).unwrap().contains("EFAULT"));
        assert!(t.judge(&r, Some(3)).is_some());
        assert!(t.judge(&r, None).is_some());
        assert_eq!(t.acks, 1);
        let s = t.summary(1, Duration::from_secs(1));
        assert!(s.contains("errors=EFAULT:1,EINVAL:1"), "{s}");
    }

    #[test]
    fn nodes_serialise() {
        let n = nest(5, vec![u8a(2, 1), leaf(1, vec![1, 2, 3, 4, 5])]);
        let mut b = Vec::new();
        n.write(&mut b);
        assert_eq!(b.len(), 4 + 8 + 12);
        assert_eq!(u16::from_ne_bytes([b[0], b[1]]), 24);
        assert_eq!(u16::from_ne_bytes([b[2], b[3]]), 5 | NLA_F_NESTED);
        let lie = Node::Leaf {
            ty: 1,
            data: vec![0; 4],
            len: Some(0xffff),
            frozen: false,
        };
        let mut b = Vec::new();
        lie.write(&mut b);
        assert_eq!(&b[..2], &0xffffu16.to_ne_bytes());
    }
}
