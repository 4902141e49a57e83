// SPDX-License-Identifier: GPL-2.0

//! `fuzz-pkt`: seeded garbage and near-valid packets against a live peer.
//!
//! UDP mode: from its own socket (the fuzzed peer's remote address), the
//! fuzzer sends datagrams to the device's UDP port, many to a `sendmmsg`:
//! authentic DATA_V2 packets sealed with the peer's key
//! (ChaCha20-Poly1305, [`crate::chapoly`]) with valid and invalid inner
//! packets, keepalives, replayed and zero packet ids, old and wrapped
//! ids, tampered tags, headers and payloads, other key ids, unknown peer
//! ids and the undefined one, DATA_V1 and control opcodes, random bytes,
//! lengths 0 to 3 and the largest datagram.  It classifies every
//! datagram by what the module must do with it and prints the counts, so
//! that the caller can check the device's drop counters against them.
//!
//! TCP mode: one connection at a time over the loopback, its accepted
//! end handed to the module as a new peer of the device (with a key), the
//! other end writing a mutated stream of length-prefixed frames (lengths
//! 0, 1, 65535, split at random points): authentic, tampered, garbage,
//! short and control frames.  The control frames must reach userspace
//! byte for byte, the authentic ones must be counted by the peer, and
//! the peer must go when the stream breaks or ends.

use std::{
    io::{ErrorKind, Read, Write},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::fd::AsRawFd,
    path::PathBuf,
    time::{Duration, Instant},
};

use ovpn_dco_proto::{
    aead::{self, KEEPALIVE_MAGIC, OVERHEAD, TAG_LEN},
    uapi,
    wire::{DataV2Header, PEER_ID_UNDEF},
};

use crate::{
    chapoly,
    churn::Rng,
    error::{Error, Result},
    genl::{self, Ovpn},
    keys::{DirKey, KeyBlob, KeyDirection},
    reply::PeerInfo,
};

/// The largest UDP payload over IPv4.
const MAX_UDP: usize = 65_507;
/// Datagrams per `sendmmsg`.
const BATCH: usize = 64;

/// The mode of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PktMode {
    /// Datagrams at the device's UDP socket.
    Udp,
    /// Streams on TCP connections taken over by the module.
    Tcp,
}

/// Arguments of `fuzz-pkt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzPktArgs {
    /// The PRNG seed.
    pub seed: u64,
    /// Datagrams (UDP) or frames (TCP) to send.
    pub count: u64,
    /// The mode.
    pub mode: PktMode,
    /// UDP: the device's socket address.
    pub target: Option<SocketAddr>,
    /// UDP: the address to send from (the fuzzed peer's remote).
    pub bind: Option<SocketAddr>,
    /// The fuzzed peer's id.
    pub peer_id: u32,
    /// A legitimate peer's id, sent only packets too short to reach it.
    pub legit_peer_id: Option<u32>,
    /// The key file of the fuzzed peer.
    pub key_file: PathBuf,
    /// The fuzzer's key direction (the device uses the other).
    pub key_dir: KeyDirection,
    /// The key id the device installed.
    pub key_id: u8,
    /// The fuzzed peer's VPN address (inner source).
    pub vpn_src: Ipv4Addr,
    /// The device's VPN address (inner destination).
    pub vpn_dst: Ipv4Addr,
    /// TCP: the (MP) device to add the peer to.
    pub dev: Option<String>,
    /// Stop after this long even if `count` is not reached.
    pub max_time: Option<Duration>,
    /// Progress lines on stderr every so often.
    pub report: Option<Duration>,
}

/// What the module must do with a datagram (or frame).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Classes {
    /// Sent.
    pub sent: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Payload shorter than a DATA_V2 header: `rx_drop_malformed`.
    pub short: u64,
    /// Not DATA_V2: left to userspace.
    pub control: u64,
    /// DATA_V2 for no peer of the socket: `rx_drop_no_peer`.
    pub no_peer: u64,
    /// DATA_V2 for the legitimate peer, too short: `rx_drop_malformed`.
    pub legit_short: u64,
    /// DATA_V2 reaching the fuzzed peer: each one counted once, as one
    /// of the peer's drops or as its `link_rx_packets`.
    pub peer: u64,
    /// Of which sealed with the right key and a fresh id.
    pub fresh: u64,
    /// Of which authentic but replayed (same or zero or old id).
    pub replay: u64,
    /// Authentic ones whose inner packet the module drops after counting
    /// it (malformed or reverse path): a second count each.
    pub inner_drop: u64,
    /// Authentic keepalives.
    pub keepalive: u64,
    /// Encrypted replies from the device the fuzzer opened (UDP).
    pub replies_opened: u64,
}

impl Classes {
    /// The drop counters plus the peer's `link_rx_packets` must add up to
    /// this (less what the stack lost before the module and what the hold
    /// area still keeps).
    pub fn module_events(&self) -> u64 {
        self.short + self.no_peer + self.legit_short + self.peer + self.inner_drop
    }

    fn line(&self) -> String {
        format!(
            "sent={} bytes={} short={} control={} no_peer={} legit_short={} peer={} fresh={} replay={} \
             inner_drop={} keepalive={} module_events={} replies_opened={}",
            self.sent,
            self.bytes,
            self.short,
            self.control,
            self.no_peer,
            self.legit_short,
            self.peer,
            self.fresh,
            self.replay,
            self.inner_drop,
            self.keepalive,
            self.module_events(),
            self.replies_opened
        )
    }
}

/// The Internet checksum of `b`.
fn csum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// An IPv4 ICMP echo request from `src` to `dst` with `payload`.
pub fn icmp_echo(src: Ipv4Addr, dst: Ipv4Addr, seq: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[4..6].copy_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let c = csum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let mut icmp = vec![8, 0, 0, 0, 0x4f, 0x56];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(payload);
    let c = csum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    p.extend(icmp);
    p
}

/// Seals `plain` as a DATA_V2 packet of `peer_id` with key id `key_id`
/// and packet id `pid`.
pub fn seal(key: &DirKey, key_id: u8, peer_id: u32, pid: u32, plain: &[u8]) -> Vec<u8> {
    let hdr = DataV2Header::new(key_id, peer_id);
    let ad = aead::aad(hdr, pid);
    let nonce = aead::nonce(pid, &key.nonce_tail);
    let k: [u8; 32] = key.key[..32].try_into().expect("a 256-bit key");
    let mut ct = plain.to_vec();
    let tag = chapoly::seal(&k, &nonce, &ad, &mut ct);
    let mut out = ad.to_vec();
    out.extend_from_slice(&tag);
    out.extend(ct);
    out
}

/// Opens a DATA_V2 packet sealed with `key`; the plaintext if authentic.
pub fn open(key: &DirKey, pkt: &[u8]) -> Option<Vec<u8>> {
    let parts = aead::split(pkt).ok()?;
    let nonce = aead::nonce(parts.packet_id, &key.nonce_tail);
    let k: [u8; 32] = key.key[..32].try_into().ok()?;
    let mut pt = parts.ciphertext.to_vec();
    chapoly::open(&k, &nonce, parts.aad, &mut pt, parts.tag).then_some(pt)
}

/// The generator of datagrams and frames.
pub struct PktGen {
    /// The PRNG.
    pub rng: Rng,
    /// The key the fuzzer seals with.
    pub key: DirKey,
    /// The installed key id.
    pub key_id: u8,
    /// The fuzzed peer's id.
    pub peer_id: u32,
    /// A legitimate peer's id.
    pub legit: Option<u32>,
    /// Inner addresses.
    pub vpn_src: Ipv4Addr,
    /// Inner destination.
    pub vpn_dst: Ipv4Addr,
    /// The next fresh packet id.
    pub next_pid: u32,
    /// Some authentic packets sent, to replay.
    pub sent_auth: Vec<Vec<u8>>,
    /// The counts.
    pub c: Classes,
    /// For TCP: whether the fuzzed peer is reachable by id only through
    /// its connection (any id reaches it).
    pub tcp: bool,
    /// Profiling (`OVPN_FUZZ_PKT_ONLY=N`): every packet of the kind the
    /// generator's draw `N` (0..100) makes.
    pub only: Option<u64>,
}

impl PktGen {
    /// A generator from `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        key: DirKey,
        key_id: u8,
        peer_id: u32,
        legit: Option<u32>,
        vpn_src: Ipv4Addr,
        vpn_dst: Ipv4Addr,
        tcp: bool,
    ) -> Self {
        PktGen {
            rng: Rng::new(seed),
            key,
            key_id,
            peer_id,
            legit,
            vpn_src,
            vpn_dst,
            next_pid: 1,
            sent_auth: Vec::new(),
            c: Classes::default(),
            tcp,
            only: std::env::var("OVPN_FUZZ_PKT_ONLY")
                .ok()
                .and_then(|v| v.parse().ok()),
        }
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.rng.fill(&mut v);
        v
    }

    /// A random length, mostly small, with the edges; the largest ones
    /// rare (a datagram beyond the MTU is sent as fragments, each a
    /// packet to the guest).
    fn len(&mut self, max: usize) -> usize {
        match self.rng.below(1000) {
            0..=2 => max,
            3..=9 => self.rng.below(max as u64 + 1) as usize,
            10..=79 => self.rng.below(1473) as usize,
            80..=149 => self
                .rng
                .pick(&[
                    0usize, 1, 2, 3, 4, 5, 7, 8, 23, 24, 25, 39, 40, 41, 1400, 1472,
                ])
                .unwrap(),
            _ => self.rng.below(200) as usize,
        }
        .min(max)
    }

    /// An inner packet: (bytes, whether the module drops it after
    /// authenticating it, whether it is a keepalive).
    fn inner(&mut self) -> (Vec<u8>, bool, bool) {
        let seq = self.c.sent as u16;
        match self.rng.below(10) {
            0..=4 => {
                let n = self.rng.below(64) as usize;
                let pl = self.bytes(n);
                (
                    icmp_echo(self.vpn_src, self.vpn_dst, seq, &pl),
                    false,
                    false,
                )
            }
            5 => (KEEPALIVE_MAGIC.to_vec(), false, true),
            6 => {
                // Spoofed inner source: the reverse-path check.
                let n = self.rng.below(32) as usize;
                let pl = self.bytes(n);
                (
                    icmp_echo(Ipv4Addr::new(5, 5, 5, 77), self.vpn_dst, seq, &pl),
                    true,
                    false,
                )
            }
            7 => {
                // An IPv6 packet from an address the peer does not have.
                let mut p = vec![0x60, 0, 0, 0, 0, 8, 58, 64];
                p.extend_from_slice(&[0xfd, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x99]);
                p.extend_from_slice(&[0xfd, 0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
                p.extend_from_slice(&[128, 0, 0, 0, 0, 1, 0, 1]);
                (p, true, false)
            }
            _ => {
                // Not an IP packet (or too short for one); 16 bytes of
                // garbage must not be the keepalive.
                let n = self.len(100);
                let mut p = self.bytes(n);
                if let Some(b) = p.first_mut() {
                    *b = (*b & 0x0f) | if self.rng.chance(1, 2) { 0x40 } else { 0x00 };
                    if *b >> 4 == 4 && n >= 20 {
                        *b = 0x10;
                    }
                }
                if p.len() == 16 && p[..] == KEEPALIVE_MAGIC {
                    p[0] ^= 1;
                }
                (p, true, false)
            }
        }
    }

    /// One datagram (UDP) or frame payload (TCP), classified.
    pub fn packet(&mut self, max: usize) -> Vec<u8> {
        self.c.sent += 1;
        let r = match self.only {
            Some(r) => r,
            None => self.rng.below(100),
        };
        let pkt = match r {
            // Authentic, fresh.
            0..=9 => {
                let (plain, drop, ka) = self.inner();
                let pid = self.next_pid;
                self.next_pid = self.next_pid.saturating_add(
                    1 + if self.rng.chance(1, 20) {
                        self.rng.below(100) as u32
                    } else {
                        0
                    },
                );
                let id = if !self.tcp && self.rng.chance(1, 10) {
                    PEER_ID_UNDEF
                } else {
                    self.peer_id
                };
                let p = seal(&self.key, self.key_id, id, pid, &plain);
                self.c.peer += 1;
                self.c.fresh += 1;
                self.c.inner_drop += u64::from(drop);
                self.c.keepalive += u64::from(ka);
                if self.sent_auth.len() < 256 {
                    self.sent_auth.push(p.clone());
                } else {
                    let i = self.rng.below(256) as usize;
                    self.sent_auth[i] = p.clone();
                }
                p
            }
            // Authentic, replayed: a packet sent before, id 0, or an id
            // far behind the window.
            10..=13 if self.next_pid > 3000 || !self.sent_auth.is_empty() => {
                self.c.peer += 1;
                self.c.replay += 1;
                match self.rng.below(3) {
                    0 if !self.sent_auth.is_empty() => {
                        let i = self.rng.below(self.sent_auth.len() as u64) as usize;
                        self.sent_auth[i].clone()
                    }
                    1 => seal(&self.key, self.key_id, self.peer_id, 0, &KEEPALIVE_MAGIC),
                    _ if self.next_pid > 3000 => {
                        let pid = self.next_pid
                            - 2100
                            - self.rng.below(u64::from(self.next_pid - 2100)) as u32;
                        seal(&self.key, self.key_id, self.peer_id, pid, &KEEPALIVE_MAGIC)
                    }
                    _ => seal(&self.key, self.key_id, self.peer_id, 0, &[]),
                }
            }
            // Tampered: a bit of the id, tag or payload, or the key id;
            // or cut short (its header kept: still the peer's).
            14..=25 => {
                let (plain, _, _) = self.inner();
                let pid = self.next_pid;
                self.next_pid = self.next_pid.saturating_add(1);
                let mut p = seal(&self.key, self.key_id, self.peer_id, pid, &plain);
                if self.rng.chance(1, 5) {
                    let keep = 4 + self.rng.below(p.len() as u64 - 4) as usize;
                    p.truncate(keep);
                    self.c.peer += 1;
                    self.c.bytes += p.len() as u64;
                    return p;
                }
                let at = match self.rng.below(4) {
                    0 => 4 + self.rng.below(4) as usize,              // packet id
                    1 => 8 + self.rng.below(TAG_LEN as u64) as usize, // tag
                    2 => 0,                                           // key id
                    _ => 4 + self.rng.below(p.len() as u64 - 4) as usize,
                };
                if at == 0 {
                    // Another key id (authenticated too, and not installed).
                    p[0] = (p[0] & !7) | ((p[0] + 1 + self.rng.below(7) as u8) & 7);
                } else {
                    p[at] ^= 1 << self.rng.below(8);
                }
                self.c.peer += 1;
                p
            }
            // Garbage for the fuzzed peer (or the undefined id), any
            // length (short ones are malformed, the rest fail the tag or
            // wait for a key id the peer does not have).
            26..=55 => {
                let n = self.len(max.saturating_sub(4));
                let key_id = if self.rng.chance(3, 4) {
                    self.key_id
                } else {
                    self.rng.below(8) as u8
                };
                let id = if !self.tcp && self.rng.chance(1, 8) {
                    PEER_ID_UNDEF
                } else {
                    self.peer_id
                };
                let mut p = DataV2Header::new(key_id, id).to_bytes().to_vec();
                p.extend(self.bytes(n));
                self.c.peer += 1;
                p
            }
            // Unknown peer ids (UDP; over TCP the connection names the
            // peer, so these are the peer's too).
            56..=65 => {
                let id = loop {
                    let id = match self.rng.below(4) {
                        0 => self
                            .rng
                            .pick(&[0u32, 0xFF_FFFE, 0x80_0000, self.peer_id + 1])
                            .unwrap(),
                        _ => self.rng.next_u64() as u32 & PEER_ID_UNDEF,
                    };
                    if id != self.peer_id && id != PEER_ID_UNDEF && Some(id) != self.legit {
                        break id;
                    }
                };
                let n = self.len(1400);
                let mut p = DataV2Header::new(self.rng.below(8) as u8, id)
                    .to_bytes()
                    .to_vec();
                p.extend(self.bytes(n));
                if self.tcp {
                    self.c.peer += 1;
                } else {
                    self.c.no_peer += 1;
                }
                p
            }
            // Too short for the legitimate peer: counted malformed before
            // anything of it is touched.
            66..=67 if self.legit.is_some() && !self.tcp => {
                let n = self.rng.below((OVERHEAD - 4) as u64) as usize;
                let mut p = DataV2Header::new(self.key_id, self.legit.unwrap())
                    .to_bytes()
                    .to_vec();
                p.extend(self.bytes(n));
                self.c.legit_short += 1;
                p
            }
            // DATA_V1, control opcodes, any first byte: userspace's.
            68..=84 => {
                let op = self
                    .rng
                    .pick(&[1u8, 2, 3, 4, 5, 6, 7, 8, 10, 11, 0, 12, 31])
                    .unwrap();
                let n = self.len(max.saturating_sub(1)).max(3);
                let mut p = vec![(op << 3) | self.rng.below(8) as u8];
                p.extend(self.bytes(n));
                self.c.control += 1;
                p
            }
            // Random bytes, classified by their first byte and length.
            _ => {
                let n = match self.rng.below(10) {
                    0 => self.rng.below(4) as usize,
                    1 if self.rng.chance(1, 10) => max,
                    _ => self.len(max),
                };
                let mut p = self.bytes(n);
                if let Some(h) = DataV2Header::parse(&p) {
                    if Some(h.peer_id) == self.legit && !self.tcp {
                        // Long enough, it would cost the legitimate peer
                        // a decryption and could fill its queue.
                        p[3] ^= 0x80;
                    }
                }
                self.classify_raw(&p);
                p
            }
        };
        self.c.bytes += pkt.len() as u64;
        pkt
    }

    /// Classifies bytes the generator did not build on purpose.
    fn classify_raw(&mut self, p: &[u8]) {
        match DataV2Header::parse(p) {
            None if p.len() < 4 => {
                if self.tcp {
                    // (A frame is never that short: the caller pads.)
                    self.c.peer += 1;
                } else {
                    self.c.short += 1;
                }
            }
            None => self.c.control += 1,
            Some(_) if self.tcp => self.c.peer += 1,
            Some(h) if h.peer_id == self.peer_id || h.peer_id == PEER_ID_UNDEF => self.c.peer += 1,
            Some(h) if Some(h.peer_id) == self.legit && p.len() < OVERHEAD => {
                self.c.legit_short += 1
            }
            Some(_) => self.c.no_peer += 1,
        }
    }
}

/// The packets of the last stretch of a UDP run: ids at the top of the
/// space, then wrapped ones, which must be refused as replays.
fn wrap_packets(g: &mut PktGen) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for pid in [0xFFFF_FFFEu32, 0xFFFF_FFFF] {
        out.push(seal(&g.key, g.key_id, g.peer_id, pid, &KEEPALIVE_MAGIC));
        g.c.peer += 1;
        g.c.fresh += 1;
        g.c.keepalive += 1;
    }
    for pid in [0u32, 1, 2, g.next_pid] {
        out.push(seal(&g.key, g.key_id, g.peer_id, pid, &KEEPALIVE_MAGIC));
        g.c.peer += 1;
        g.c.replay += 1;
    }
    for p in &out {
        g.c.sent += 1;
        g.c.bytes += p.len() as u64;
    }
    out
}

/// Sends `pkts` on the connected socket `fd` with `sendmmsg` (retrying
/// the rest after a partial send).
fn send_batch(fd: i32, pkts: &[Vec<u8>]) -> Result<()> {
    let mut off = 0;
    while off < pkts.len() {
        let mut iovs: Vec<libc::iovec> = pkts[off..]
            .iter()
            .map(|p| libc::iovec {
                iov_base: p.as_ptr() as *mut libc::c_void,
                iov_len: p.len(),
            })
            .collect();
        // SAFETY: all-zero mmsghdrs are valid; each gets its iovec.
        let mut msgs: Vec<libc::mmsghdr> = (0..iovs.len())
            .map(|_| unsafe { std::mem::zeroed() })
            .collect();
        for (m, iov) in msgs.iter_mut().zip(iovs.iter_mut()) {
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every mmsghdr points to one iovec over a live buffer.
        let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), msgs.len() as libc::c_uint, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                // An ICMP error from an earlier datagram, or a full
                // queue: the datagram is lost (counted by the caller).
                Some(libc::ECONNREFUSED) | Some(libc::ENOBUFS) | Some(libc::EAGAIN) => {
                    off += 1;
                    continue;
                }
                _ => return Err(Error::other(format!("sendmmsg: {e}"))),
            }
        }
        off += n.max(0) as usize;
    }
    Ok(())
}

/// Reads what arrived on `sock` (replies of the device) and counts those
/// that open with `key`.
fn drain(sock: &UdpSocket, key: &DirKey, c: &mut Classes) {
    let mut buf = [0u8; 2048];
    while let Ok(n) = sock.recv(&mut buf) {
        if open(key, &buf[..n]).is_some() {
            c.replies_opened += 1;
        }
    }
}

/// Runs the UDP mode.
fn run_udp(a: &FuzzPktArgs, enc: DirKey, dec: DirKey) -> Result<i32> {
    let target = a
        .target
        .ok_or_else(|| Error::usage("fuzz-pkt: --target ADDR:PORT is required"))?;
    let bind = a
        .bind
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let sock = UdpSocket::bind(bind).map_err(|e| Error::other(format!("bind {bind}: {e}")))?;
    sock.connect(target)
        .map_err(|e| Error::other(format!("connect {target}: {e}")))?;
    sock.set_nonblocking(false)?;
    let mut g = PktGen::new(
        a.seed,
        enc,
        a.key_id,
        a.peer_id,
        a.legit_peer_id,
        a.vpn_src,
        a.vpn_dst,
        false,
    );
    let t0 = Instant::now();
    let mut last = t0;
    let mut batch = Vec::with_capacity(BATCH);
    let wrap_at = a.count.saturating_sub(6);
    while g.c.sent < wrap_at {
        if a.max_time.is_some_and(|m| t0.elapsed() >= m) {
            break;
        }
        batch.clear();
        while batch.len() < BATCH && g.c.sent < wrap_at {
            batch.push(g.packet(MAX_UDP));
        }
        send_batch(sock.as_raw_fd(), &batch)?;
        sock.set_nonblocking(true)?;
        drain(&sock, &dec, &mut g.c);
        sock.set_nonblocking(false)?;
        if let Some(every) = a.report {
            if last.elapsed() >= every {
                last = Instant::now();
                eprintln!(
                    "fuzz-pkt: progress {} ({}/s)",
                    g.c.line(),
                    rate(g.c.sent, t0.elapsed())
                );
            }
        }
    }
    let w = wrap_packets(&mut g);
    send_batch(sock.as_raw_fd(), &w)?;
    let elapsed = t0.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    sock.set_nonblocking(true)?;
    drain(&sock, &dec, &mut g.c);
    println!(
        "fuzz-pkt mode=udp seed={} {} elapsed_ms={} rate={}/s",
        a.seed,
        g.c.line(),
        elapsed.as_millis(),
        rate(g.c.sent, elapsed)
    );
    Ok(0)
}

/// Per second.
fn rate(n: u64, d: Duration) -> u64 {
    (u128::from(n) * 1000 / d.as_millis().max(1)) as u64
}

/// The peer `id` of device `ifindex` as GET_PEER shows it; `None` if it
/// is gone.
fn get_peer(ovpn: &Ovpn, ifindex: u32, id: u32) -> Result<Option<PeerInfo>> {
    match ovpn.execute(&genl::get_peer(ifindex, Some(id))?) {
        Ok(msgs) => Ok(msgs
            .iter()
            .find_map(|m| PeerInfo::from_msg(m).ok().flatten())),
        Err(Error::Netlink { errno, .. }) if errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// How a TCP connection of the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// A frame shorter than 4 bytes: TRANSPORT_ERROR.
    Break,
    /// The client closes: TRANSPORT_DISCONNECT.
    Close,
    /// The client resets.
    Reset,
    /// DEL_PEER.
    Delete,
}

/// Runs the TCP mode.
fn run_tcp(a: &FuzzPktArgs, enc: DirKey, dec_for_dev: (DirKey, DirKey)) -> Result<i32> {
    let dev = a
        .dev
        .as_deref()
        .ok_or_else(|| Error::usage("fuzz-pkt --mode tcp needs --dev D"))?;
    let ifindex = crate::link::ifindex_of(dev)?;
    let ovpn = Ovpn::connect()?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let mut g = PktGen::new(
        a.seed, enc, a.key_id, a.peer_id, None, a.vpn_src, a.vpn_dst, true,
    );
    let t0 = Instant::now();
    let mut last = t0;
    let (mut conns, mut breaks, mut failures, mut ctl_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut ctl_dropped = 0u64;
    let mut auth_counted = 0u64;
    while g.c.sent < a.count {
        if a.max_time.is_some_and(|m| t0.elapsed() >= m) {
            break;
        }
        conns += 1;
        let client = TcpStream::connect(listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        client.set_nodelay(true)?;
        let req = genl::new_peer(
            ifindex,
            &genl::NewPeer {
                peer_id: a.peer_id,
                remote: client.local_addr()?,
                socket_fd: server.as_raw_fd() as u32,
                vpn4: Some(a.vpn_src),
                vpn6: None,
                local_ip: None,
            },
        )?;
        ovpn.execute(&req)?;
        let (denc, ddec) = dec_for_dev.clone();
        ovpn.execute(&genl::new_key(
            ifindex,
            &genl::NewKey {
                peer_id: a.peer_id,
                slot: uapi::OVPN_KEY_SLOT_PRIMARY,
                key_id: a.key_id,
                cipher_alg: uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305,
                encrypt: denc,
                decrypt: ddec,
            },
        )?)?;
        // A fresh key: a fresh replay window.
        g.next_pid = 1;
        g.sent_auth.clear();
        let fresh0 = g.c.fresh;
        let frames = 20 + g.rng.below(180);
        let end = match g.rng.below(8) {
            0..=2 => End::Break,
            3..=4 => End::Close,
            5 => End::Reset,
            _ => End::Delete,
        };
        let mut stream = Vec::new();
        let mut ctl: Vec<Vec<u8>> = Vec::new();
        for _ in 0..frames {
            if g.c.sent >= a.count {
                break;
            }
            let control0 = g.c.control;
            let mut p = g.packet(u16::MAX as usize);
            if p.len() < 4 {
                // A frame holds at least 4 bytes (shorter breaks the
                // stream, done at the end on purpose).
                let fill = g.bytes(4 - p.len());
                p.extend(fill);
                if DataV2Header::parse(&p).is_none() && g.c.control == control0 {
                    g.c.peer -= 1;
                    g.c.control += 1;
                }
            }
            let mut f = (p.len() as u16).to_be_bytes().to_vec();
            f.extend_from_slice(&p);
            if DataV2Header::parse(&p).is_none() {
                ctl.push(f.clone());
            }
            stream.extend(f);
        }
        if end == End::Break {
            let n = g.rng.below(4) as u16;
            stream.extend(n.to_be_bytes());
            stream.extend(g.bytes(n as usize));
        }
        let fresh = g.c.fresh - fresh0;
        // Write in random pieces; read what userspace gets meanwhile.
        let mut got = Vec::new();
        let ok = pump(
            &mut g.rng,
            &client,
            &server,
            &stream,
            &mut got,
            end == End::Break,
        );
        ctl_bytes += got.len() as u64;
        let mut why = None;
        if let Err(e) = ok {
            why = Some(format!("stream: {e}"));
        } else {
            match check_control(&ctl, &got, &stream, end == End::Break) {
                Ok(dropped) => ctl_dropped += dropped,
                Err(w) => why = Some(w),
            }
        }
        // The authentic frames must all be counted.
        if why.is_none() && end != End::Break {
            let t = Instant::now();
            let mut seen = 0;
            while t.elapsed() < Duration::from_secs(10) {
                match get_peer(&ovpn, ifindex, a.peer_id)? {
                    Some(p) => {
                        seen = u64::from(p.link_rx_packets.unwrap_or(0));
                        if seen >= fresh {
                            break;
                        }
                    }
                    None => break,
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            auth_counted += seen;
            if seen != fresh {
                why = Some(format!(
                    "link_rx_packets {seen}, authentic frames sent {fresh}"
                ));
            }
        }
        match end {
            End::Delete => {
                if let Err(e) = ovpn.execute(&genl::del_peer(ifindex, a.peer_id)?) {
                    why.get_or_insert(format!("DEL_PEER: {e}"));
                }
            }
            End::Reset => {
                let l = libc::linger {
                    l_onoff: 1,
                    l_linger: 0,
                };
                // SAFETY: the value points to `l` of the size passed.
                unsafe {
                    libc::setsockopt(
                        client.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        std::ptr::from_ref(&l).cast(),
                        std::mem::size_of_val(&l) as u32,
                    );
                }
            }
            End::Break => breaks += 1,
            End::Close => {}
        }
        drop(client);
        // The peer must go (by itself unless deleted).
        let t = Instant::now();
        loop {
            if get_peer(&ovpn, ifindex, a.peer_id)?.is_none() {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                why.get_or_insert(format!(
                    "peer still there 10 s after the stream ended ({end:?})"
                ));
                let _ = ovpn.execute(&genl::del_peer(ifindex, a.peer_id)?);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(server);
        if let Some(w) = why {
            failures += 1;
            println!(
                "fuzz-pkt: FAIL: connection {conns} ({end:?}, {} bytes): {w}",
                stream.len()
            );
            if failures > 20 {
                break;
            }
        }
        if let Some(every) = a.report {
            if last.elapsed() >= every {
                last = Instant::now();
                eprintln!("fuzz-pkt: progress connections={conns} {}", g.c.line());
            }
        }
    }
    let elapsed = t0.elapsed();
    println!(
        "fuzz-pkt mode=tcp seed={} connections={conns} breaks={breaks} control_bytes={ctl_bytes} \
         control_frames_dropped={ctl_dropped} authentic_counted={auth_counted} \
         failures={failures} {} elapsed_ms={} rate={}/s",
        a.seed,
        g.c.line(),
        elapsed.as_millis(),
        rate(g.c.sent, elapsed)
    );
    Ok(if failures == 0 { 0 } else { 1 })
}

/// Checks what userspace read (`got`) against the control frames written
/// (`ctl`, prefixes included): whole frames, in order, none altered or
/// invented; the module may drop some when userspace is slow (its queue
/// is bounded), and returns their number.  After a broken stream
/// (`broken`) the socket is plain TCP again: what follows the frames
/// must be the end of the stream written, possibly after the start of
/// one more frame (the one userspace was part-way through when the module
/// gave the socket back: the rest of it went with the module's queue).
pub fn check_control(
    ctl: &[Vec<u8>],
    got: &[u8],
    stream: &[u8],
    broken: bool,
) -> std::result::Result<u64, String> {
    let (mut i, mut off, mut matched) = (0usize, 0usize, 0u64);
    while off < got.len() {
        let Some(j) = (i..ctl.len()).find(|&j| got[off..].starts_with(&ctl[j])) else {
            break;
        };
        off += ctl[j].len();
        i = j + 1;
        matched += 1;
    }
    let rest = &got[off..];
    let cut_then_raw = |j: usize| {
        let k = ctl[j].iter().zip(rest).take_while(|(a, b)| a == b).count();
        k > 0 && k < ctl[j].len() && stream.ends_with(&rest[k..])
    };
    let raw_end = broken && (stream.ends_with(rest) || (i..ctl.len()).any(cut_then_raw));
    if !rest.is_empty() && !raw_end {
        return Err(format!(
            "userspace read {} bytes that are not control frames written (after {matched} of {} frames): {}",
            rest.len(),
            ctl.len(),
            crate::cli::to_hex(&rest[..rest.len().min(32)])
        ));
    }
    Ok(ctl.len() as u64 - matched)
}

/// Writes `stream` to `client` in random pieces while reading `server`
/// (what the module leaves to userspace) into `got`, until everything is
/// written and (unless `broken`) the control bytes stopped coming.
fn pump(
    rng: &mut Rng,
    client: &TcpStream,
    server: &TcpStream,
    stream: &[u8],
    got: &mut Vec<u8>,
    broken: bool,
) -> Result<()> {
    client.set_nonblocking(true)?;
    server.set_nonblocking(true)?;
    let mut off = 0;
    let mut buf = vec![0u8; 65536];
    let t = Instant::now();
    let mut quiet_since = Instant::now();
    let mut c = client;
    let mut s = server;
    loop {
        if off < stream.len() {
            let piece = match rng.below(4) {
                0 => 1,
                1 => 1 + rng.below(16) as usize,
                2 => 1 + rng.below(4096) as usize,
                _ => stream.len() - off,
            }
            .min(stream.len() - off);
            match c.write(&stream[off..off + piece]) {
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if broken => {
                    // The module gave the connection up: done.
                    let _ = e;
                    return Ok(());
                }
                Err(e) => return Err(Error::other(format!("write: {e}"))),
            }
        }
        let mut progressed = false;
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) if broken => return Ok(()),
                Err(e) => return Err(Error::other(format!("read: {e}"))),
            }
        }
        // (The device's answers to the fuzzer's pings come back on the
        // client: read and dropped, so that they never fill its buffer.)
        while let Ok(n) = c.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        if progressed {
            quiet_since = Instant::now();
        }
        if off == stream.len()
            && quiet_since.elapsed() > Duration::from_millis(if broken { 300 } else { 400 })
        {
            return Ok(());
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err(Error::other(format!(
                "stalled: {off} of {} bytes written in 60 s",
                stream.len()
            )));
        }
        if !progressed {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Runs `fuzz-pkt`.
pub fn run(a: &FuzzPktArgs) -> Result<i32> {
    let blob = KeyBlob::read(&a.key_file)?;
    let (enc, dec) = blob.directions(a.key_dir, 32)?;
    eprintln!(
        "fuzz-pkt: mode {:?} seed {} count {} peer {} key id {}",
        a.mode, a.seed, a.count, a.peer_id, a.key_id
    );
    match a.mode {
        PktMode::Udp => run_udp(a, enc, dec),
        PktMode::Tcp => {
            let other = match a.key_dir {
                KeyDirection::Normal => KeyDirection::Inverse,
                KeyDirection::Inverse => KeyDirection::Normal,
            };
            let dev_keys = blob.directions(other, 32)?;
            run_tcp(a, enc, dev_keys)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DirKey {
        DirKey {
            key: (0..32).collect(),
            nonce_tail: [1, 2, 3, 4, 5, 6, 7, 8],
        }
    }

    fn pkts(seed: u64, n: usize) -> (Vec<Vec<u8>>, Classes) {
        let mut g = PktGen::new(
            seed,
            key(),
            1,
            2,
            Some(1),
            Ipv4Addr::new(5, 5, 5, 3),
            Ipv4Addr::new(5, 5, 5, 1),
            false,
        );
        let v = (0..n).map(|_| g.packet(1500)).collect();
        (v, g.c)
    }

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(pkts(5, 3000).0, pkts(5, 3000).0);
        assert_ne!(pkts(5, 3000).0, pkts(6, 3000).0);
    }

    /// Every datagram falls in exactly one class, the mix reaches each,
    /// and the authentic ones open with the key.
    #[test]
    fn classes_add_up() {
        let (v, c) = pkts(9, 20_000);
        assert_eq!(c.sent, 20_000);
        assert_eq!(
            c.short + c.control + c.no_peer + c.legit_short + c.peer,
            c.sent,
            "{c:?}"
        );
        for n in [
            c.short,
            c.control,
            c.no_peer,
            c.legit_short,
            c.fresh,
            c.replay,
            c.inner_drop,
            c.keepalive,
        ] {
            assert!(n > 0, "{c:?}");
        }
        let opened = v.iter().filter(|p| open(&key(), p).is_some()).count() as u64;
        // Fresh and replayed ones open; tampered ones do not (a flipped key
        // id is authenticated too, so it does not open either).
        assert_eq!(opened, c.fresh + c.replay, "{c:?}");
        // The legitimate peer only ever gets short ones.
        for p in &v {
            if let Some(h) = DataV2Header::parse(p) {
                if h.peer_id == 1 {
                    assert!(p.len() < OVERHEAD, "{}", p.len());
                }
            }
        }
    }

    #[test]
    fn control_frames_check() {
        let ctl = vec![
            vec![0, 4, 0x20, 1, 2, 3],
            vec![0, 4, 0x28, 4, 5, 6],
            vec![0, 5, 0x30, 7, 8, 9, 10],
        ];
        let all: Vec<u8> = ctl.concat();
        let mut stream = vec![0, 4, 0x48, 0, 0, 1];
        stream.extend(&all);
        assert_eq!(check_control(&ctl, &all, &stream, false), Ok(0));
        // One dropped (a full queue): fine, counted.
        let some = [ctl[0].clone(), ctl[2].clone()].concat();
        assert_eq!(check_control(&ctl, &some, &stream, false), Ok(1));
        // Altered, or out of order: not.
        let mut bad = all.clone();
        bad[3] ^= 1;
        assert!(check_control(&ctl, &bad, &stream, false).is_err());
        let swapped = [ctl[1].clone(), ctl[0].clone()].concat();
        assert!(check_control(&ctl, &swapped, &stream, false).is_err());
        // Broken: frames, then the raw end of the stream.
        let mut broken_stream = stream.clone();
        broken_stream.extend([0, 1, 0xff]);
        let got = [ctl[0].clone(), vec![0, 1, 0xff]].concat();
        assert_eq!(check_control(&ctl, &got, &broken_stream, true), Ok(2));
        assert!(check_control(&ctl, &got, &broken_stream, false).is_err());
        // Broken while userspace was part-way through a frame: that frame
        // cut short, then the raw end; but nothing after a cut frame.
        let got = [ctl[0].clone(), ctl[1][..3].to_vec(), vec![0, 1, 0xff]].concat();
        assert_eq!(check_control(&ctl, &got, &broken_stream, true), Ok(2));
        let got = [ctl[1][..3].to_vec(), ctl[2].clone()].concat();
        assert!(check_control(&ctl, &got, &broken_stream, true).is_err());
    }

    #[test]
    fn sealed_packet_layout_and_icmp() {
        let p = seal(&key(), 1, 2, 7, b"hello");
        assert_eq!(p.len(), OVERHEAD + 5);
        assert_eq!(&p[..8], &[0x49, 0, 0, 2, 0, 0, 0, 7]);
        assert_eq!(open(&key(), &p).unwrap(), b"hello");
        let e = icmp_echo(
            Ipv4Addr::new(5, 5, 5, 3),
            Ipv4Addr::new(5, 5, 5, 1),
            1,
            b"x",
        );
        assert_eq!(csum(&e[..20]), 0);
        assert_eq!(csum(&e[20..]), 0);
    }
}
