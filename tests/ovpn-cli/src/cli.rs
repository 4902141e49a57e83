// SPDX-License-Identifier: GPL-2.0

//! Command-line parsing: `ovpn-cli <command> [options] <arguments>`.
//!
//! Options may appear anywhere after the command, as `--name value` or
//! `--name=value`; `--` ends them.  Where a command takes `<dev>`, it is
//! either a device name (resolved with `if_nametoindex`) or, with
//! `--ifindex N` in place of the name, a raw index sent as is.

use std::{
    collections::VecDeque,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::PathBuf,
    str::FromStr,
    time::Duration,
};

use ovpn_dco_proto::uapi;

use crate::{
    error::{Error, Result},
    keys::{KeyDirection, MAX_KEY_LEN},
};

/// The usage text.
pub const USAGE: &str = "\
usage: ovpn-cli <command> [options] <arguments>

<dev> is a device name, or --ifindex N (in place of the name) to send a raw index.

  new_iface <ifname> [P2P|MP|<mode number>]
  del_iface <ifname>
  get_family
  new_peer <dev> <peer_id> <lport> <raddr> <rport> [<vpnaddr> [<vpnaddr6>]] [--local-ip ADDR] [--hold]
           [--tcp listen|connect] [--send-ctl HEX]... [--send-ctl-after SECS]
      UDP by default; --tcp listen accepts one connection from <raddr> (<rport> 0: any port),
      --tcp connect connects to <raddr>:<rport> (retrying for 20 s); with --hold, prints
      'ready lport=N', then 'ctl <hex>' for the bytes read from the TCP socket, 'eof' or
      'read-error <errno>'; --send-ctl writes HEX (a whole frame, length prefix included)
      to the TCP socket after the peer is added (and --send-ctl-after SECS), printing 'sent-ctl <n>';
      without --hold, a background process (ovpn-cli-hold) keeps the socket open until the
      peer is deleted
  new_multi_peer <dev> <lport> <peers_file> [--ipv6] [--hold]
      one UDP socket bound to <lport> (IPv6 dual-stack with --ipv6 or any IPv6 remote)
      for every peer; <peers_file> lines: <peer_id> <raddr> <rport> <vpnaddr> [<vpnaddr6>]
      (blank lines and lines starting with # are skipped); without --hold, a background
      process (ovpn-cli-hold) keeps the socket open until every peer added is deleted
  set_peer <dev> <peer_id> <keepalive_interval> <keepalive_timeout>
  del_peer <dev> <peer_id>
  get_peer <dev> [<peer_id>]
  dump_del <dev> <peer_id>
  new_key <dev> <peer_id> <slot> <key_id> <aes|chachapoly|none|<alg number>> <key_dir 0|1> <key_file> [--key-bits 128|192|256]
  swap_keys <dev> <peer_id>
  del_key <dev> <peer_id> [<slot>]
  listen_mcast [--count N] [--timeout SECS]
  churn <dev> --cycles N [--seed S] [--peers K] [--lport-base P] [--remote ADDR]
        [--tcp-remote ADDR:PORT] [--vpn-prefix A.B] [--report SECS]
      stresses the control plane of an MP device from one process: N seeded random actions
      (add peers on new or shared UDP sockets or TCP connections to --tcp-remote, keys,
      keepalive, get, dump, delete, socket close, deliberately invalid requests) on a pool of
      up to K (default 32) peers with ids 1000..1000+4K, remote ADDR (default 10.10.0.2:1194,
      port + 0..3), VPN addresses A.B.x.y (default 10.77); UDP ports P..P+K-1 (default
      ephemeral); checks every reply; prints 'churn cycles=N ... failures=F elapsed_ms=T',
      exit 1 if any failure ('churn: cycle C: ...' lines on stderr)
  fuzz-nl --seed S --count N [--dev D]... [--protect ID]... [--other-ifindex N]...
          [--other-netns PATH] [--batch K] [--max-seconds T] [--report SECS]
      seeded generated and mutated requests to every command of the family and RTM_NEWLINK /
      RTM_DELLINK of the link type, K (default 32) per sendmsg, on two devices it creates and
      deletes plus each --dev (whose peers --protect are never named); every reply must be an
      ACK or an expected errno; prints 'fuzz-nl seed=S requests=N ... failures=F ...', exit 1
      if any failure ('fuzz-nl: FAIL: ... request <hex>' lines)
  fuzz-pkt --seed S --count N --peer-id ID --key-file K [--key-dir 0|1] [--key-id I]
           [--mode udp|tcp] [--target ADDR:PORT] [--bind ADDR:PORT] [--legit-peer-id ID]
           [--vpn-src A] [--vpn-dst A] [--dev D] [--max-seconds T] [--report SECS]
      udp: N seeded datagrams (authentic ChaCha20-Poly1305 DATA_V2 sealed with key direction
      --key-dir (default 1) of K, replayed, tampered, garbage, other ids and opcodes) from
      --bind to the device's socket at --target; tcp: N frames on TCP connections handed to
      device D as peer ID, streams split at random points; prints what the module must count
      ('fuzz-pkt mode=... module_events=...'), exit 1 on a TCP failure
  help

Exit status: 0 on success, the errno number on a netlink error, 64 on other errors
(listen_mcast: 1 when the timeout expires before --count notifications).";

/// The device a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Device {
    /// A device name, resolved to its index before sending.
    Name(String),
    /// A raw index, sent as is.
    Index(u32),
}

/// The TCP role of `new_peer` (`--tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpMode {
    /// Listen on `lport` and accept one connection from the remote.
    Listen,
    /// Connect to the remote.
    Connect,
}

impl FromStr for TcpMode {
    type Err = ();

    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        match s {
            "listen" => Ok(TcpMode::Listen),
            "connect" => Ok(TcpMode::Connect),
            _ => Err(()),
        }
    }
}

/// Arguments of `new_peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPeerArgs {
    /// The device.
    pub dev: Device,
    /// The peer id.
    pub peer_id: u32,
    /// The local UDP or TCP port to bind (0: any).
    pub lport: u16,
    /// The peer's address and port (TCP listen: port 0 accepts any).
    pub remote: SocketAddr,
    /// The peer's IPv4 address in the tunnel.
    pub vpn4: Option<Ipv4Addr>,
    /// The peer's IPv6 address in the tunnel.
    pub vpn6: Option<Ipv6Addr>,
    /// The local address to send from (`--local-ip`).
    pub local_ip: Option<IpAddr>,
    /// Keep running after success so the socket stays open (`--hold`);
    /// without it, a background holder keeps the socket open instead.
    pub hold: bool,
    /// TCP transport instead of UDP (`--tcp`).
    pub tcp: Option<TcpMode>,
    /// Bytes to write to the TCP socket once the peer is added
    /// (`--send-ctl`, in order).
    pub send_ctl: Vec<Vec<u8>>,
    /// How long to wait before writing them (`--send-ctl-after`).
    pub send_ctl_after: Duration,
}

/// Arguments of `new_multi_peer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMultiPeerArgs {
    /// The device.
    pub dev: Device,
    /// The local UDP port to bind (0: any), shared by all the peers.
    pub lport: u16,
    /// The file listing the peers (see [`parse_peers`]).
    pub peers_file: PathBuf,
    /// Bind an IPv6 dual-stack socket even if every remote is IPv4
    /// (`--ipv6`).
    pub ipv6: bool,
    /// Keep running after success so the socket stays open (`--hold`);
    /// without it, a background holder keeps the socket open instead.
    pub hold: bool,
}

/// One peer of a `new_multi_peer` peers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerLine {
    /// The line number in the file, from 1.
    pub line: usize,
    /// The peer id.
    pub peer_id: u32,
    /// The peer's address and port.
    pub remote: SocketAddr,
    /// The peer's IPv4 address in the tunnel.
    pub vpn4: Option<Ipv4Addr>,
    /// The peer's IPv6 address in the tunnel.
    pub vpn6: Option<Ipv6Addr>,
}

/// Arguments of `new_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKeyArgs {
    /// The device.
    pub dev: Device,
    /// The peer id.
    pub peer_id: u32,
    /// The key slot (0 primary, 1 secondary; other values are sent as is).
    pub slot: u8,
    /// The key id.
    pub key_id: u8,
    /// The `OVPN_CIPHER_ALG_*` value.
    pub cipher_alg: u16,
    /// The length of the cipher keys in bytes.
    pub key_len: usize,
    /// Which half of the key file encrypts.
    pub key_dir: KeyDirection,
    /// The key file.
    pub key_file: PathBuf,
}

/// The first peer id `churn` uses.
pub const CHURN_FIRST_ID: u32 = 1000;
/// The largest `--peers` of `churn` (its ids then stay below 1000 + 4 *
/// 4096, and their VPN addresses within the two free octets).
pub const CHURN_MAX_PEERS: u32 = 4096;

/// Arguments of `churn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChurnArgs {
    /// The device (an MP device).
    pub dev: Device,
    /// How many actions to run (`--cycles`).
    pub cycles: u64,
    /// The PRNG seed (`--seed`); `None`: from the clock, printed.
    pub seed: Option<u64>,
    /// The most churned peers alive at once (`--peers`, default 32); their
    /// ids are in `CHURN_FIRST_ID..CHURN_FIRST_ID + 4 * peers`.
    pub peers: u32,
    /// The first local UDP port (`--lport-base`); the sockets bind
    /// `lport_base..lport_base + peers`.  `None`: ephemeral ports.
    pub lport_base: Option<u16>,
    /// The peers' remote address (`--remote`, default 10.10.0.2:1194); its
    /// port is varied by 0..3.
    pub remote: SocketAddr,
    /// A TCP listener to connect some peers' sockets to (`--tcp-remote`).
    pub tcp_remote: Option<SocketAddr>,
    /// The first two octets of the peers' VPN IPv4 addresses
    /// (`--vpn-prefix`, default 10.77).
    pub vpn_prefix: [u8; 2],
    /// The interval of the progress lines on stderr (`--report`).
    pub report: Option<Duration>,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Create a device.
    NewIface {
        /// The device name.
        name: String,
        /// The `IFLA_OVPN_MODE` to send, if any.
        mode: Option<u8>,
    },
    /// Delete a device.
    DelIface {
        /// The device name.
        name: String,
    },
    /// Print the family's id, version and multicast groups.
    GetFamily,
    /// Add a peer.
    NewPeer(NewPeerArgs),
    /// Add the peers of a file, all on one socket.
    NewMultiPeer(NewMultiPeerArgs),
    /// Set a peer's keepalive.
    SetPeer {
        /// The device.
        dev: Device,
        /// The peer id.
        peer_id: u32,
        /// Keepalive interval, seconds.
        interval: u32,
        /// Keepalive timeout, seconds.
        timeout: u32,
    },
    /// Delete a peer.
    DelPeer {
        /// The device.
        dev: Device,
        /// The peer id.
        peer_id: u32,
    },
    /// Dump the peers, deleting one after the first part of the dump
    /// (a test of the dump's cursor).
    DumpDel {
        /// The device.
        dev: Device,
        /// The peer deleted mid-dump.
        peer_id: u32,
    },
    /// Print one peer, or all of them.
    GetPeer {
        /// The device.
        dev: Device,
        /// The peer id; `None` dumps all peers.
        peer_id: Option<u32>,
    },
    /// Install a key.
    NewKey(NewKeyArgs),
    /// Swap the primary and secondary keys.
    SwapKeys {
        /// The device.
        dev: Device,
        /// The peer id.
        peer_id: u32,
    },
    /// Delete a key.
    DelKey {
        /// The device.
        dev: Device,
        /// The peer id.
        peer_id: u32,
        /// The key slot.
        slot: u8,
    },
    /// Print multicast notifications.
    ListenMcast {
        /// Exit after this many notifications.
        count: Option<u64>,
        /// Give up after this long.
        timeout: Option<Duration>,
    },
    /// Stress the control plane with random peer and key changes.
    Churn(ChurnArgs),
    /// Fuzz the family and the link type with netlink requests.
    FuzzNl(crate::fuzz_nl::FuzzNlArgs),
    /// Fuzz a live peer with packets.
    FuzzPkt(crate::fuzz_pkt::FuzzPktArgs),
    /// Print the usage text.
    Help,
}

/// The options, as given anywhere on the command line.
#[derive(Debug, Default)]
struct Opts {
    /// `--ifindex N`: a raw device index instead of a name.
    ifindex: Option<u32>,
    /// `--hold`: keep running after `new_peer`/`new_multi_peer` succeeds.
    hold: bool,
    /// `--ipv6`: `new_multi_peer` binds an IPv6 dual-stack socket.
    ipv6: bool,
    /// `--key-bits N`: the cipher key size.
    key_bits: Option<u32>,
    /// `--count N`: notifications to wait for.
    count: Option<u64>,
    /// `--timeout SECS`: how long to wait for them.
    timeout: Option<Duration>,
    /// `--local-ip ADDR`: the peer's local address.
    local_ip: Option<IpAddr>,
    /// `--tcp listen|connect`: TCP transport for `new_peer`.
    tcp: Option<TcpMode>,
    /// `--send-ctl HEX` (repeatable): bytes to write to the TCP socket.
    send_ctl: Vec<Vec<u8>>,
    /// `--send-ctl-after SECS`: the delay before writing them.
    send_ctl_after: Option<Duration>,
    /// `--cycles N` (churn).
    cycles: Option<u64>,
    /// `--seed S` (churn).
    seed: Option<u64>,
    /// `--peers K` (churn).
    peers: Option<u32>,
    /// `--lport-base P` (churn).
    lport_base: Option<u16>,
    /// `--remote ADDR[:PORT]` (churn).
    remote: Option<SocketAddr>,
    /// `--tcp-remote ADDR:PORT` (churn).
    tcp_remote: Option<SocketAddr>,
    /// `--vpn-prefix A.B` (churn).
    vpn_prefix: Option<[u8; 2]>,
    /// `--report SECS` (churn).
    report: Option<Duration>,
    /// `--dev D` (fuzz-nl, fuzz-pkt; repeatable).
    devs: Vec<String>,
    /// `--protect ID` (fuzz-nl; repeatable).
    protect: Vec<u32>,
    /// `--other-ifindex N` (fuzz-nl; repeatable).
    other_ifindex: Vec<u32>,
    /// `--other-netns PATH` (fuzz-nl).
    other_netns: Option<PathBuf>,
    /// `--batch K` (fuzz-nl).
    batch: Option<usize>,
    /// `--target ADDR:PORT` (fuzz-pkt).
    target: Option<SocketAddr>,
    /// `--bind ADDR:PORT` (fuzz-pkt).
    bind: Option<SocketAddr>,
    /// `--peer-id ID` (fuzz-pkt).
    peer_id: Option<u32>,
    /// `--legit-peer-id ID` (fuzz-pkt).
    legit_peer_id: Option<u32>,
    /// `--key-file K` (fuzz-pkt).
    key_file: Option<PathBuf>,
    /// `--key-dir 0|1` (fuzz-pkt).
    key_dir: Option<KeyDirection>,
    /// `--key-id I` (fuzz-pkt).
    key_id: Option<u8>,
    /// `--mode udp|tcp` (fuzz-pkt).
    mode: Option<crate::fuzz_pkt::PktMode>,
    /// `--vpn-src A` (fuzz-pkt).
    vpn_src: Option<Ipv4Addr>,
    /// `--vpn-dst A` (fuzz-pkt).
    vpn_dst: Option<Ipv4Addr>,
    /// `--max-seconds T` (fuzz-nl, fuzz-pkt).
    max_time: Option<Duration>,
    /// The names of the options given, to check them against the command.
    given: Vec<&'static str>,
}

/// The known options and whether they take a value.
const OPTIONS: &[(&str, bool)] = &[
    ("--ifindex", true),
    ("--hold", false),
    ("--ipv6", false),
    ("--key-bits", true),
    ("--count", true),
    ("--timeout", true),
    ("--local-ip", true),
    ("--tcp", true),
    ("--send-ctl", true),
    ("--send-ctl-after", true),
    ("--cycles", true),
    ("--seed", true),
    ("--peers", true),
    ("--lport-base", true),
    ("--remote", true),
    ("--tcp-remote", true),
    ("--vpn-prefix", true),
    ("--report", true),
    ("--dev", true),
    ("--protect", true),
    ("--other-ifindex", true),
    ("--other-netns", true),
    ("--batch", true),
    ("--target", true),
    ("--bind", true),
    ("--peer-id", true),
    ("--legit-peer-id", true),
    ("--key-file", true),
    ("--key-dir", true),
    ("--key-id", true),
    ("--mode", true),
    ("--vpn-src", true),
    ("--vpn-dst", true),
    ("--max-seconds", true),
];

/// The default remote address of `churn`'s peers.
pub const CHURN_REMOTE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 10, 0, 2)), 1194);

/// Parses `IP:PORT`, `[IPv6]:PORT`, or a bare IP (port 1194).
fn parse_remote(what: &str, v: &str) -> Result<SocketAddr> {
    if let Ok(a) = v.parse::<SocketAddr>() {
        return Ok(a);
    }
    let ip: IpAddr = parse_as(what, v)?;
    Ok(SocketAddr::new(ip, CHURN_REMOTE.port()))
}

/// Parses the two octets `A.B` of a VPN prefix.
fn parse_prefix(v: &str) -> Result<[u8; 2]> {
    let bad = || {
        Error::usage(format!(
            "invalid --vpn-prefix '{v}': expected A.B, e.g. 10.77"
        ))
    };
    let (a, b) = v.split_once('.').ok_or_else(bad)?;
    let octet = |s: &str| {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u8>().map_err(|_| bad())
    };
    Ok([octet(a)?, octet(b)?])
}

/// Parses a number of seconds (fractions allowed) as a `Duration`, or
/// fails with a usage error naming `what`.
fn parse_secs(what: &str, value: &str) -> Result<Duration> {
    let secs: f64 = parse_as(what, value)?;
    Duration::try_from_secs_f64(secs).map_err(|_| Error::usage(format!("invalid {what} '{value}'")))
}

/// Parses a non-empty string of hex digit pairs (either case, no
/// separators) into bytes.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Formats bytes as lowercase hex digits, the inverse of [`parse_hex`].
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses `value` as a `T`, or fails with a usage error naming `what`.
fn parse_as<T: FromStr>(what: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::usage(format!("invalid {what} '{value}'")))
}

impl Opts {
    /// Records option `name` (with its `value` when it takes one).
    fn set(&mut self, name: &'static str, value: Option<String>) -> Result<()> {
        let v = value.as_deref().unwrap_or_default();
        match name {
            "--ifindex" => self.ifindex = Some(parse_as("ifindex", v)?),
            "--hold" => self.hold = true,
            "--ipv6" => self.ipv6 = true,
            "--key-bits" => self.key_bits = Some(parse_as("key bits", v)?),
            "--count" => self.count = Some(parse_as("count", v)?),
            "--timeout" => self.timeout = Some(parse_secs("timeout", v)?),
            "--local-ip" => self.local_ip = Some(parse_as("local IP", v)?),
            "--tcp" => {
                let mode = v.parse().map_err(|()| {
                    Error::usage(format!("--tcp must be 'listen' or 'connect', not '{v}'"))
                })?;
                self.tcp = Some(mode);
            }
            "--send-ctl" => {
                let bytes = parse_hex(v).ok_or_else(|| {
                    Error::usage(format!(
                        "invalid --send-ctl '{v}': expected pairs of hex digits"
                    ))
                })?;
                self.send_ctl.push(bytes);
            }
            "--send-ctl-after" => self.send_ctl_after = Some(parse_secs("--send-ctl-after", v)?),
            "--cycles" => self.cycles = Some(parse_as("--cycles", v)?),
            "--seed" => self.seed = Some(parse_as("--seed", v)?),
            "--peers" => self.peers = Some(parse_as("--peers", v)?),
            "--lport-base" => self.lport_base = Some(parse_as("--lport-base", v)?),
            "--remote" => self.remote = Some(parse_remote("--remote", v)?),
            "--tcp-remote" => {
                let a: SocketAddr = parse_as("--tcp-remote (ADDR:PORT)", v)?;
                if a.port() == 0 {
                    return Err(Error::usage("--tcp-remote needs a non-zero port"));
                }
                self.tcp_remote = Some(a);
            }
            "--vpn-prefix" => self.vpn_prefix = Some(parse_prefix(v)?),
            "--report" => {
                let d = parse_secs("--report", v)?;
                if d.is_zero() {
                    return Err(Error::usage("--report must be more than 0 seconds"));
                }
                self.report = Some(d);
            }
            "--dev" => self.devs.push(v.to_string()),
            "--protect" => self.protect.push(parse_as("--protect", v)?),
            "--other-ifindex" => self.other_ifindex.push(parse_as("--other-ifindex", v)?),
            "--other-netns" => self.other_netns = Some(PathBuf::from(v)),
            "--batch" => {
                let b: usize = parse_as("--batch", v)?;
                if !(1..=1024).contains(&b) {
                    return Err(Error::usage("--batch must be 1..=1024"));
                }
                self.batch = Some(b);
            }
            "--target" => self.target = Some(parse_as("--target (ADDR:PORT)", v)?),
            "--bind" => self.bind = Some(parse_as("--bind (ADDR:PORT)", v)?),
            "--peer-id" => self.peer_id = Some(parse_as("--peer-id", v)?),
            "--legit-peer-id" => self.legit_peer_id = Some(parse_as("--legit-peer-id", v)?),
            "--key-file" => self.key_file = Some(PathBuf::from(v)),
            "--key-dir" => self.key_dir = Some(v.parse()?),
            "--key-id" => {
                let k: u8 = parse_as("--key-id", v)?;
                if k > 7 {
                    return Err(Error::usage("--key-id must be 0..=7"));
                }
                self.key_id = Some(k);
            }
            "--mode" => {
                self.mode = Some(match v {
                    "udp" => crate::fuzz_pkt::PktMode::Udp,
                    "tcp" => crate::fuzz_pkt::PktMode::Tcp,
                    _ => {
                        return Err(Error::usage(format!(
                            "--mode must be 'udp' or 'tcp', not '{v}'"
                        )))
                    }
                })
            }
            "--vpn-src" => self.vpn_src = Some(parse_as("--vpn-src", v)?),
            "--vpn-dst" => self.vpn_dst = Some(parse_as("--vpn-dst", v)?),
            "--max-seconds" => self.max_time = Some(parse_secs("--max-seconds", v)?),
            _ => unreachable!("option table and setter disagree"),
        }
        self.given.push(name);
        Ok(())
    }

    /// Fails if an option outside `allowed` was given to `cmd`.
    fn check(&self, cmd: &str, allowed: &[&str]) -> Result<()> {
        match self.given.iter().find(|o| !allowed.contains(o)) {
            Some(o) => Err(Error::usage(format!("{cmd} does not take {o}"))),
            None => Ok(()),
        }
    }
}

/// The positional arguments, consumed in order.
struct Args<'a> {
    /// The command, for error messages.
    cmd: &'a str,
    /// The arguments not consumed yet.
    rest: VecDeque<String>,
}

impl Args<'_> {
    /// The next argument, required, parsed as a `T`.
    fn req<T: FromStr>(&mut self, what: &str) -> Result<T> {
        let v = self
            .rest
            .pop_front()
            .ok_or_else(|| Error::usage(format!("{}: missing <{what}>", self.cmd)))?;
        parse_as(what, &v)
    }

    /// The next argument if there is one, parsed as a `T`.
    fn opt<T: FromStr>(&mut self, what: &str) -> Result<Option<T>> {
        self.rest
            .pop_front()
            .map(|v| parse_as(what, &v))
            .transpose()
    }

    /// The device: `--ifindex N` if given, else the next argument.
    fn dev(&mut self, opts: &Opts) -> Result<Device> {
        match opts.ifindex {
            Some(i) => Ok(Device::Index(i)),
            None => Ok(Device::Name(self.req("ifname")?)),
        }
    }

    /// Fails if arguments are left over.
    fn finish(self) -> Result<()> {
        match self.rest.front() {
            Some(extra) => Err(Error::usage(format!(
                "{}: unexpected argument '{extra}'",
                self.cmd
            ))),
            None => Ok(()),
        }
    }
}

/// Sorts tunnel addresses into the IPv4 and the IPv6 one; `None` if there
/// is more than one of a family.
fn vpn_addrs(addrs: &[IpAddr]) -> Option<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let (mut vpn4, mut vpn6) = (None, None);
    for ip in addrs {
        match *ip {
            IpAddr::V4(v4) if vpn4.is_none() => vpn4 = Some(v4),
            IpAddr::V6(v6) if vpn6.is_none() => vpn6 = Some(v6),
            _ => return None,
        }
    }
    Some((vpn4, vpn6))
}

/// The columns of a peers file line, for error messages.
const PEER_LINE_FORMAT: &str = "<peer_id> <raddr> <rport> <vpnaddr> [<vpnaddr6>]";

/// Parses the text of a `new_multi_peer` peers file: one peer per line,
/// `<peer_id> <raddr> <rport> <vpnaddr> [<vpnaddr6>]` separated by
/// whitespace (the columns of the upstream ovpn-dco `udp_peers.txt`, plus
/// an optional second tunnel address).  The tunnel addresses are one IPv4
/// and/or one IPv6 address, in either order.  Blank lines and lines whose
/// first non-blank character is `#` are skipped.  Fails on the first bad
/// line, naming it, or if there is no peer at all.
pub fn parse_peers(text: &str) -> Result<Vec<PeerLine>> {
    let mut peers = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let bad = |why: String| Error::other(format!("peers file line {line}: {why}"));
        let cols: Vec<&str> = l.split_whitespace().collect();
        if !(4..=5).contains(&cols.len()) {
            return Err(bad(format!(
                "{} columns, expected {PEER_LINE_FORMAT}",
                cols.len()
            )));
        }
        let col = |what: &str, v: &str| bad(format!("invalid {what} '{v}'"));
        let peer_id: u32 = cols[0].parse().map_err(|_| col("peer_id", cols[0]))?;
        let raddr: IpAddr = cols[1].parse().map_err(|_| col("raddr", cols[1]))?;
        let rport: u16 = cols[2].parse().map_err(|_| col("rport", cols[2]))?;
        let addrs = cols[3..]
            .iter()
            .map(|v| v.parse().map_err(|_| col("vpnaddr", v)))
            .collect::<Result<Vec<IpAddr>>>()?;
        let (vpn4, vpn6) =
            vpn_addrs(&addrs).ok_or_else(|| bad("at most one IPv4 and one IPv6 vpnaddr".into()))?;
        peers.push(PeerLine {
            line,
            peer_id,
            remote: SocketAddr::new(raddr, rport),
            vpn4,
            vpn6,
        });
    }
    if peers.is_empty() {
        return Err(Error::other("peers file lists no peer"));
    }
    Ok(peers)
}

/// `P2P`, `MP` or a raw mode number.
fn parse_mode(s: &str) -> Result<u8> {
    match s.to_ascii_uppercase().as_str() {
        "P2P" => Ok(uapi::OVPN_MODE_P2P),
        "MP" => Ok(uapi::OVPN_MODE_MP),
        _ => parse_as("mode", s),
    }
}

/// A cipher name or a raw `OVPN_CIPHER_ALG_*` number.
fn parse_cipher(s: &str) -> Result<u16> {
    match s.to_ascii_lowercase().as_str() {
        "aes" | "aes-gcm" => Ok(uapi::OVPN_CIPHER_ALG_AES_GCM),
        "chachapoly" | "chacha20-poly1305" => Ok(uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305),
        "none" => Ok(uapi::OVPN_CIPHER_ALG_NONE),
        _ => parse_as("cipher", s),
    }
}

/// The key length in bytes for `cipher_alg` and `--key-bits`: 256 bits by
/// default, 128/192/256 allowed except for ChaCha20-Poly1305 (256 only).
fn key_len(cipher_alg: u16, key_bits: Option<u32>) -> Result<usize> {
    let bits = key_bits.unwrap_or(256);
    if cipher_alg == uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305 && bits != 256 {
        return Err(Error::usage("chachapoly takes a 256-bit key only"));
    }
    match bits {
        128 | 192 | 256 => Ok(bits as usize / 8),
        _ => Err(Error::usage(format!(
            "--key-bits must be 128, 192 or 256, not {bits}"
        ))),
    }
}

/// Checks the options of `churn` and fills in the defaults.
fn churn_args(opts: &Opts, dev: Device) -> Result<ChurnArgs> {
    let cycles = opts
        .cycles
        .ok_or_else(|| Error::usage("churn: missing --cycles N"))?;
    let peers = opts.peers.unwrap_or(32);
    if !(1..=CHURN_MAX_PEERS).contains(&peers) {
        return Err(Error::usage(format!(
            "churn: --peers must be 1..={CHURN_MAX_PEERS}, not {peers}"
        )));
    }
    if let Some(p) = opts.lport_base {
        let last = u32::from(p) + peers - 1;
        if p == 0 || last > u32::from(u16::MAX) {
            return Err(Error::usage(format!(
                "churn: --lport-base {p} with --peers {peers}: ports {p}..={last} \
                 must be within 1..=65535"
            )));
        }
    }
    let remote = opts.remote.unwrap_or(CHURN_REMOTE);
    if remote.port() > u16::MAX - 3 {
        return Err(Error::usage(
            "churn: the --remote port must leave room for +3 (at most 65532)",
        ));
    }
    Ok(ChurnArgs {
        dev,
        cycles,
        seed: opts.seed,
        peers,
        lport_base: opts.lport_base,
        remote,
        tcp_remote: opts.tcp_remote,
        vpn_prefix: opts.vpn_prefix.unwrap_or([10, 77]),
        report: opts.report,
    })
}

/// Parses the arguments after the program name.
pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<Command> {
    let Some((cmd, rest)) = argv.split_first() else {
        return Err(Error::usage("missing command"));
    };
    let cmd = cmd.as_ref();
    let mut opts = Opts::default();
    let mut positional = VecDeque::new();
    let mut it = rest.iter().map(|s| s.as_ref());
    while let Some(arg) = it.next() {
        if arg == "--" {
            positional.extend(it.by_ref().map(String::from));
            break;
        }
        if !arg.starts_with("--") {
            positional.push_back(arg.to_string());
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg, None),
        };
        let &(name, takes_value) = OPTIONS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Error::usage(format!("unknown option '{name}'")))?;
        let value = match (takes_value, inline) {
            (true, Some(v)) => Some(v),
            (true, None) => Some(
                it.next()
                    .ok_or_else(|| Error::usage(format!("{name} needs a value")))?
                    .to_string(),
            ),
            (false, None) => None,
            (false, Some(_)) => return Err(Error::usage(format!("{name} takes no value"))),
        };
        opts.set(name, value)?;
    }
    let mut a = Args {
        cmd,
        rest: positional,
    };

    let command = match cmd {
        "help" | "--help" | "-h" => {
            opts.check(cmd, &[])?;
            Command::Help
        }
        "new_iface" => {
            opts.check(cmd, &[])?;
            let name = a.req("ifname")?;
            let mode = a.rest.pop_front().map(|m| parse_mode(&m)).transpose()?;
            Command::NewIface { name, mode }
        }
        "del_iface" => {
            opts.check(cmd, &[])?;
            Command::DelIface {
                name: a.req("ifname")?,
            }
        }
        "get_family" => {
            opts.check(cmd, &[])?;
            Command::GetFamily
        }
        "new_peer" => {
            opts.check(
                cmd,
                &[
                    "--ifindex",
                    "--hold",
                    "--local-ip",
                    "--tcp",
                    "--send-ctl",
                    "--send-ctl-after",
                ],
            )?;
            if opts.tcp.is_none() {
                if let Some(o) = opts.given.iter().find(|o| o.starts_with("--send-ctl")) {
                    return Err(Error::usage(format!("new_peer: {o} needs --tcp")));
                }
            }
            let dev = a.dev(&opts)?;
            let peer_id = a.req("peer_id")?;
            let lport = a.req("lport")?;
            let raddr: IpAddr = a.req("raddr")?;
            let rport = a.req("rport")?;
            let mut addrs = Vec::new();
            while let Some(ip) = a.opt::<IpAddr>("vpnaddr")? {
                addrs.push(ip);
            }
            let (vpn4, vpn6) = vpn_addrs(&addrs)
                .ok_or_else(|| Error::usage("new_peer: at most one IPv4 and one IPv6 vpnaddr"))?;
            if opts.tcp == Some(TcpMode::Connect) && rport == 0 {
                return Err(Error::usage(
                    "new_peer: --tcp connect needs a non-zero <rport>",
                ));
            }
            if let Some(l) = opts.local_ip.filter(|_| opts.tcp.is_some()) {
                if l.is_ipv4() != raddr.is_ipv4() {
                    return Err(Error::usage(
                        "new_peer: with --tcp, --local-ip must be of <raddr>'s family",
                    ));
                }
            }
            Command::NewPeer(NewPeerArgs {
                dev,
                peer_id,
                lport,
                remote: SocketAddr::new(raddr, rport),
                vpn4,
                vpn6,
                local_ip: opts.local_ip,
                hold: opts.hold,
                tcp: opts.tcp,
                send_ctl: std::mem::take(&mut opts.send_ctl),
                send_ctl_after: opts.send_ctl_after.unwrap_or_default(),
            })
        }
        "new_multi_peer" => {
            opts.check(cmd, &["--ifindex", "--hold", "--ipv6"])?;
            Command::NewMultiPeer(NewMultiPeerArgs {
                dev: a.dev(&opts)?,
                lport: a.req("lport")?,
                peers_file: a.req("peers_file")?,
                ipv6: opts.ipv6,
                hold: opts.hold,
            })
        }
        "set_peer" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::SetPeer {
                dev: a.dev(&opts)?,
                peer_id: a.req("peer_id")?,
                interval: a.req("keepalive_interval")?,
                timeout: a.req("keepalive_timeout")?,
            }
        }
        "del_peer" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::DelPeer {
                dev: a.dev(&opts)?,
                peer_id: a.req("peer_id")?,
            }
        }
        "dump_del" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::DumpDel {
                dev: a.dev(&opts)?,
                peer_id: a.req("peer_id")?,
            }
        }
        "get_peer" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::GetPeer {
                dev: a.dev(&opts)?,
                peer_id: a.opt("peer_id")?,
            }
        }
        "new_key" => {
            opts.check(cmd, &["--ifindex", "--key-bits"])?;
            let dev = a.dev(&opts)?;
            let peer_id = a.req("peer_id")?;
            let slot = a.req("slot")?;
            let key_id = a.req("key_id")?;
            let cipher_alg = parse_cipher(&a.req::<String>("cipher")?)?;
            let key_dir = a.req("key_dir")?;
            let key_file = a.req("key_file")?;
            let key_len = key_len(cipher_alg, opts.key_bits)?;
            debug_assert!(key_len <= MAX_KEY_LEN);
            Command::NewKey(NewKeyArgs {
                dev,
                peer_id,
                slot,
                key_id,
                cipher_alg,
                key_len,
                key_dir,
                key_file,
            })
        }
        "swap_keys" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::SwapKeys {
                dev: a.dev(&opts)?,
                peer_id: a.req("peer_id")?,
            }
        }
        "del_key" => {
            opts.check(cmd, &["--ifindex"])?;
            Command::DelKey {
                dev: a.dev(&opts)?,
                peer_id: a.req("peer_id")?,
                slot: a.opt("slot")?.unwrap_or(uapi::OVPN_KEY_SLOT_PRIMARY),
            }
        }
        "listen_mcast" => {
            opts.check(cmd, &["--count", "--timeout"])?;
            Command::ListenMcast {
                count: opts.count,
                timeout: opts.timeout,
            }
        }
        "churn" => {
            opts.check(
                cmd,
                &[
                    "--ifindex",
                    "--cycles",
                    "--seed",
                    "--peers",
                    "--lport-base",
                    "--remote",
                    "--tcp-remote",
                    "--vpn-prefix",
                    "--report",
                ],
            )?;
            Command::Churn(churn_args(&opts, a.dev(&opts)?)?)
        }
        "fuzz-nl" | "fuzz_nl" => {
            opts.check(
                cmd,
                &[
                    "--seed",
                    "--count",
                    "--dev",
                    "--protect",
                    "--other-ifindex",
                    "--other-netns",
                    "--batch",
                    "--max-seconds",
                    "--report",
                ],
            )?;
            Command::FuzzNl(crate::fuzz_nl::FuzzNlArgs {
                seed: opts
                    .seed
                    .ok_or_else(|| Error::usage("fuzz-nl: missing --seed S"))?,
                count: opts
                    .count
                    .ok_or_else(|| Error::usage("fuzz-nl: missing --count N"))?,
                devs: std::mem::take(&mut opts.devs),
                protect: std::mem::take(&mut opts.protect),
                other_ifindex: std::mem::take(&mut opts.other_ifindex),
                other_netns: opts.other_netns.take(),
                batch: opts.batch.unwrap_or(32),
                max_time: opts.max_time,
                report: opts.report,
            })
        }
        "fuzz-pkt" | "fuzz_pkt" => {
            opts.check(
                cmd,
                &[
                    "--seed",
                    "--count",
                    "--mode",
                    "--target",
                    "--bind",
                    "--peer-id",
                    "--legit-peer-id",
                    "--key-file",
                    "--key-dir",
                    "--key-id",
                    "--vpn-src",
                    "--vpn-dst",
                    "--dev",
                    "--max-seconds",
                    "--report",
                ],
            )?;
            let mode = opts.mode.unwrap_or(crate::fuzz_pkt::PktMode::Udp);
            if mode == crate::fuzz_pkt::PktMode::Udp && opts.target.is_none() {
                return Err(Error::usage("fuzz-pkt: udp mode needs --target ADDR:PORT"));
            }
            if mode == crate::fuzz_pkt::PktMode::Tcp && opts.devs.len() != 1 {
                return Err(Error::usage("fuzz-pkt: tcp mode needs one --dev D"));
            }
            Command::FuzzPkt(crate::fuzz_pkt::FuzzPktArgs {
                seed: opts
                    .seed
                    .ok_or_else(|| Error::usage("fuzz-pkt: missing --seed S"))?,
                count: opts
                    .count
                    .ok_or_else(|| Error::usage("fuzz-pkt: missing --count N"))?,
                mode,
                target: opts.target,
                bind: opts.bind,
                peer_id: opts
                    .peer_id
                    .ok_or_else(|| Error::usage("fuzz-pkt: missing --peer-id ID"))?,
                legit_peer_id: opts.legit_peer_id,
                key_file: opts
                    .key_file
                    .take()
                    .ok_or_else(|| Error::usage("fuzz-pkt: missing --key-file K"))?,
                key_dir: opts.key_dir.unwrap_or(KeyDirection::Inverse),
                key_id: opts.key_id.unwrap_or(1),
                vpn_src: opts.vpn_src.unwrap_or(Ipv4Addr::new(5, 5, 5, 3)),
                vpn_dst: opts.vpn_dst.unwrap_or(Ipv4Addr::new(5, 5, 5, 1)),
                dev: opts.devs.first().cloned(),
                max_time: opts.max_time,
                report: opts.report,
            })
        }
        _ => return Err(Error::usage(format!("unknown command '{cmd}'"))),
    };
    a.finish()?;
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Result<Command> {
        parse(&line.split_whitespace().collect::<Vec<_>>())
    }

    fn name(n: &str) -> Device {
        Device::Name(n.into())
    }

    #[test]
    fn new_iface_modes() {
        assert_eq!(
            p("new_iface tun0 MP").unwrap(),
            Command::NewIface {
                name: "tun0".into(),
                mode: Some(1)
            }
        );
        assert_eq!(
            p("new_iface tun0 p2p").unwrap(),
            Command::NewIface {
                name: "tun0".into(),
                mode: Some(0)
            }
        );
        assert_eq!(
            p("new_iface tun0 2").unwrap(),
            Command::NewIface {
                name: "tun0".into(),
                mode: Some(2)
            }
        );
        assert_eq!(
            p("new_iface tun0").unwrap(),
            Command::NewIface {
                name: "tun0".into(),
                mode: None
            }
        );
        assert!(p("new_iface tun0 256").is_err());
        assert!(p("new_iface tun0 XX").is_err());
        assert!(p("new_iface").is_err());
        assert!(p("new_iface tun0 MP extra").is_err());
    }

    #[test]
    fn device_by_name_or_index() {
        assert_eq!(
            p("get_peer tun0").unwrap(),
            Command::GetPeer {
                dev: name("tun0"),
                peer_id: None
            }
        );
        assert_eq!(
            p("get_peer tun0 5").unwrap(),
            Command::GetPeer {
                dev: name("tun0"),
                peer_id: Some(5)
            }
        );
        assert_eq!(
            p("get_peer --ifindex 99999").unwrap(),
            Command::GetPeer {
                dev: Device::Index(99999),
                peer_id: None
            }
        );
        assert_eq!(
            p("get_peer --ifindex=1 7").unwrap(),
            Command::GetPeer {
                dev: Device::Index(1),
                peer_id: Some(7)
            }
        );
        assert_eq!(
            p("del_peer 3 --ifindex 4").unwrap(),
            Command::DelPeer {
                dev: Device::Index(4),
                peer_id: 3
            }
        );
        assert_eq!(
            p("dump_del tun0 2").unwrap(),
            Command::DumpDel {
                dev: name("tun0"),
                peer_id: 2
            }
        );
        assert!(p("dump_del tun0").is_err());
        assert!(p("get_peer --ifindex").is_err());
        assert!(p("get_peer --ifindex x").is_err());
        assert!(p("get_peer tun0 x").is_err());
    }

    #[test]
    fn new_peer_arguments() {
        let c = p("new_peer tun0 1 1194 192.0.2.1 1195 10.8.0.2 fd00::2 --hold").unwrap();
        assert_eq!(
            c,
            Command::NewPeer(NewPeerArgs {
                dev: name("tun0"),
                peer_id: 1,
                lport: 1194,
                remote: "192.0.2.1:1195".parse().unwrap(),
                vpn4: Some("10.8.0.2".parse().unwrap()),
                vpn6: Some("fd00::2".parse().unwrap()),
                local_ip: None,
                hold: true,
                tcp: None,
                send_ctl: vec![],
                send_ctl_after: Duration::ZERO,
            })
        );
        let Command::NewPeer(a) =
            p("new_peer --ifindex 3 2 0 2001:db8::1 1 --local-ip 2001:db8::2").unwrap()
        else {
            panic!("not new_peer");
        };
        assert_eq!(a.dev, Device::Index(3));
        assert_eq!(a.remote, "[2001:db8::1]:1".parse().unwrap());
        assert_eq!(a.local_ip, Some("2001:db8::2".parse().unwrap()));
        assert!(!a.hold);
        assert!(p("new_peer tun0 1 1194 192.0.2.1 1195 10.0.0.1 10.0.0.2").is_err());
        assert!(p("new_peer tun0 1 70000 192.0.2.1 1195").is_err());
        assert!(p("new_peer tun0 1 1194 host 1195").is_err());
        assert!(p("new_peer tun0 1 1194 192.0.2.1").is_err());
        assert!(p("new_peer tun0 1 1194 192.0.2.1 1195 fd00::2 fd00::3").is_err());
    }

    #[test]
    fn new_peer_tcp_options() {
        let Command::NewPeer(a) =
            p("new_peer tun0 1 1194 10.10.0.2 0 5.5.5.2 --tcp listen --hold").unwrap()
        else {
            panic!("not new_peer");
        };
        assert_eq!(a.tcp, Some(TcpMode::Listen));
        assert_eq!(a.remote, "10.10.0.2:0".parse().unwrap());
        assert!(a.hold);
        assert!(a.send_ctl.is_empty());
        assert_eq!(a.send_ctl_after, Duration::ZERO);

        let Command::NewPeer(a) = p("new_peer tun0 1 0 fd00::1 1194 --tcp=connect --hold \
             --send-ctl 000a2000112233445566778899 --send-ctl=0002ABcd \
             --send-ctl-after 1.5")
        .unwrap() else {
            panic!("not new_peer");
        };
        assert_eq!(a.tcp, Some(TcpMode::Connect));
        assert_eq!(
            a.send_ctl,
            vec![
                vec![0x00, 0x0a, 0x20, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99],
                vec![0x00, 0x02, 0xab, 0xcd],
            ]
        );
        assert_eq!(a.send_ctl_after, Duration::from_millis(1500));

        let Command::NewPeer(a) =
            p("new_peer tun0 1 1195 10.0.0.1 1194 --tcp connect --local-ip 10.0.0.2").unwrap()
        else {
            panic!("not new_peer");
        };
        assert_eq!(a.local_ip, Some("10.0.0.2".parse().unwrap()));

        let err = |line: &str| p(line).unwrap_err().to_string();
        // connect needs a port; listen takes 0 as "any".
        assert!(err("new_peer tun0 1 0 10.0.0.1 0 --tcp connect").contains("non-zero <rport>"));
        assert!(err("new_peer tun0 1 0 10.0.0.1 1 --tcp accept").contains("'listen' or 'connect'"));
        assert!(p("new_peer tun0 1 0 10.0.0.1 1 --tcp").is_err());
        assert!(err("new_peer tun0 1 0 10.0.0.1 1 --send-ctl 0001ff")
            .contains("--send-ctl needs --tcp"));
        assert!(err("new_peer tun0 1 0 10.0.0.1 1 --send-ctl-after 1")
            .contains("--send-ctl-after needs --tcp"));
        assert!(
            err("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --send-ctl 0g")
                .contains("invalid --send-ctl '0g'")
        );
        assert!(p("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --send-ctl 000").is_err());
        assert!(p("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --send-ctl=").is_err());
        assert!(p("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --send-ctl-after -1").is_err());
        assert!(p("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --local-ip fd00::1").is_err());
        assert!(matches!(
            p("new_peer tun0 1 0 10.0.0.1 1 --tcp connect --send-ctl xx").unwrap_err(),
            Error::Usage(_)
        ));
        // Only new_peer takes them.
        assert!(p("new_multi_peer tun0 1 peers --tcp listen").is_err());
        assert!(p("get_peer tun0 --send-ctl 00").is_err());
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(parse_hex("00"), Some(vec![0]));
        assert_eq!(parse_hex("0aFf10"), Some(vec![0x0a, 0xff, 0x10]));
        assert_eq!(parse_hex(""), None);
        assert_eq!(parse_hex("0"), None);
        assert_eq!(parse_hex("0x00"), None);
        assert_eq!(parse_hex("00 11"), None);
        assert_eq!(parse_hex("+1"), None);
        assert_eq!(parse_hex("é0"), None);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_hex(&to_hex(&all)), Some(all));
        assert_eq!(to_hex(&[0x00, 0x0a, 0xbc]), "000abc");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn new_multi_peer_arguments() {
        assert_eq!(
            p("new_multi_peer tun0 1 /tmp/peers.txt").unwrap(),
            Command::NewMultiPeer(NewMultiPeerArgs {
                dev: name("tun0"),
                lport: 1,
                peers_file: "/tmp/peers.txt".into(),
                ipv6: false,
                hold: false,
            })
        );
        let Command::NewMultiPeer(a) =
            p("new_multi_peer --ipv6 --ifindex 7 1194 peers --hold").unwrap()
        else {
            panic!("not new_multi_peer");
        };
        assert_eq!(a.dev, Device::Index(7));
        assert_eq!((a.lport, a.ipv6, a.hold), (1194, true, true));
        assert_eq!(a.peers_file, PathBuf::from("peers"));
        assert!(p("new_multi_peer tun0 1").is_err());
        assert!(p("new_multi_peer tun0 70000 peers").is_err());
        assert!(p("new_multi_peer tun0 1 peers extra").is_err());
        assert!(p("new_multi_peer tun0 1 peers --ipv6=yes").is_err());
        assert!(p("new_multi_peer tun0 1 peers --local-ip 10.0.0.1").is_err());
        assert!(p("new_peer tun0 1 1 10.0.0.1 1 --ipv6").is_err());
    }

    #[test]
    fn peers_file_upstream_format() {
        // The layout of the upstream ovpn-dco tests/udp_peers.txt.
        let peers = parse_peers("1 10.10.1.2 1 5.5.5.2\n2 10.10.2.2 1 5.5.5.3\n").unwrap();
        assert_eq!(
            peers,
            vec![
                PeerLine {
                    line: 1,
                    peer_id: 1,
                    remote: "10.10.1.2:1".parse().unwrap(),
                    vpn4: Some("5.5.5.2".parse().unwrap()),
                    vpn6: None,
                },
                PeerLine {
                    line: 2,
                    peer_id: 2,
                    remote: "10.10.2.2:1".parse().unwrap(),
                    vpn4: Some("5.5.5.3".parse().unwrap()),
                    vpn6: None,
                },
            ]
        );
    }

    #[test]
    fn peers_file_extensions() {
        let text = "# id raddr rport vpn4 vpn6\n\
                    \n\
                    3\tfd00:0:0:3::2  1194 5.5.5.4 fd55::4\n\
                    \x20  # indented comment\n\
                    4 10.10.4.2 1 fd55::5 5.5.5.5\r\n\
                    16777215 10.10.5.2 65535 fd55::6";
        let peers = parse_peers(text).unwrap();
        assert_eq!(peers.len(), 3);
        assert_eq!(peers[0].line, 3);
        assert_eq!(peers[0].peer_id, 3);
        assert_eq!(peers[0].remote, "[fd00:0:0:3::2]:1194".parse().unwrap());
        assert_eq!(peers[0].vpn4, Some("5.5.5.4".parse().unwrap()));
        assert_eq!(peers[0].vpn6, Some("fd55::4".parse().unwrap()));
        // The tunnel addresses may come in either order.
        assert_eq!(
            (peers[1].line, peers[1].vpn4, peers[1].vpn6),
            (
                5,
                Some("5.5.5.5".parse().unwrap()),
                Some("fd55::5".parse().unwrap())
            )
        );
        assert_eq!(
            (peers[2].peer_id, peers[2].vpn4, peers[2].vpn6),
            (16777215, None, Some("fd55::6".parse().unwrap()))
        );
    }

    #[test]
    fn peers_file_errors_name_the_line() {
        let err = |text: &str| parse_peers(text).unwrap_err().to_string();
        assert_eq!(err(""), "peers file lists no peer");
        assert_eq!(err("# only a comment\n\n"), "peers file lists no peer");
        assert!(err("1 10.0.0.2 1\n").starts_with("peers file line 1: 3 columns"));
        assert!(err("1 10.0.0.2 1 5.5.5.2 fd55::2 x\n").contains("line 1: 6 columns"));
        assert_eq!(
            err("1 10.0.0.2 1 5.5.5.2\nx 10.0.0.3 1 5.5.5.3\n"),
            "peers file line 2: invalid peer_id 'x'"
        );
        assert_eq!(
            err("1 host 1 5.5.5.2"),
            "peers file line 1: invalid raddr 'host'"
        );
        assert_eq!(
            err("1 10.0.0.2 65536 5.5.5.2"),
            "peers file line 1: invalid rport '65536'"
        );
        assert_eq!(
            err("1 10.0.0.2 1 5.5.5.2/24"),
            "peers file line 1: invalid vpnaddr '5.5.5.2/24'"
        );
        assert_eq!(
            err("1 10.0.0.2 1 5.5.5.2 5.5.5.3"),
            "peers file line 1: at most one IPv4 and one IPv6 vpnaddr"
        );
        assert!(matches!(
            parse_peers("1 10.0.0.2 1 x").unwrap_err(),
            Error::Other(_)
        ));
    }

    #[test]
    fn new_key_arguments() {
        let c = p("new_key tun0 1 0 2 aes 1 /tmp/k").unwrap();
        assert_eq!(
            c,
            Command::NewKey(NewKeyArgs {
                dev: name("tun0"),
                peer_id: 1,
                slot: 0,
                key_id: 2,
                cipher_alg: uapi::OVPN_CIPHER_ALG_AES_GCM,
                key_len: 32,
                key_dir: KeyDirection::Inverse,
                key_file: "/tmp/k".into(),
            })
        );
        let Command::NewKey(a) = p("new_key tun0 1 1 2 aes 0 k --key-bits 128").unwrap() else {
            panic!("not new_key");
        };
        assert_eq!(
            (a.slot, a.key_len, a.key_dir),
            (1, 16, KeyDirection::Normal)
        );
        let Command::NewKey(a) = p("new_key tun0 1 0 2 aes 0 k --key-bits=192").unwrap() else {
            panic!("not new_key");
        };
        assert_eq!(a.key_len, 24);
        let Command::NewKey(a) = p("new_key tun0 1 0 2 chachapoly 0 k").unwrap() else {
            panic!("not new_key");
        };
        assert_eq!(
            (a.cipher_alg, a.key_len),
            (uapi::OVPN_CIPHER_ALG_CHACHA20_POLY1305, 32)
        );
        let Command::NewKey(a) = p("new_key tun0 1 5 2 7 0 k").unwrap() else {
            panic!("not new_key");
        };
        assert_eq!((a.slot, a.cipher_alg), (5, 7));
        assert!(p("new_key tun0 1 0 2 chachapoly 0 k --key-bits 128").is_err());
        assert!(p("new_key tun0 1 0 2 aes 0 k --key-bits 64").is_err());
        assert!(p("new_key tun0 1 0 2 aes 2 k").is_err());
        assert!(p("new_key tun0 1 0 2 blowfish 0 k").is_err());
        assert!(p("new_key tun0 1 0 2 aes 0").is_err());
    }

    #[test]
    fn keys_and_keepalive() {
        assert_eq!(
            p("del_key tun0 1").unwrap(),
            Command::DelKey {
                dev: name("tun0"),
                peer_id: 1,
                slot: 0
            }
        );
        assert_eq!(
            p("del_key tun0 1 1").unwrap(),
            Command::DelKey {
                dev: name("tun0"),
                peer_id: 1,
                slot: 1
            }
        );
        assert_eq!(
            p("swap_keys tun0 4").unwrap(),
            Command::SwapKeys {
                dev: name("tun0"),
                peer_id: 4
            }
        );
        assert_eq!(
            p("set_peer tun0 4 10 60").unwrap(),
            Command::SetPeer {
                dev: name("tun0"),
                peer_id: 4,
                interval: 10,
                timeout: 60
            }
        );
        assert!(p("set_peer tun0 4 10").is_err());
    }

    #[test]
    fn listen_mcast_options() {
        assert_eq!(
            p("listen_mcast").unwrap(),
            Command::ListenMcast {
                count: None,
                timeout: None
            }
        );
        assert_eq!(
            p("listen_mcast --count 2 --timeout 1.5").unwrap(),
            Command::ListenMcast {
                count: Some(2),
                timeout: Some(Duration::from_millis(1500))
            }
        );
        assert!(p("listen_mcast --timeout -1").is_err());
        assert!(p("listen_mcast --timeout nan").is_err());
        assert!(p("listen_mcast extra").is_err());
    }

    #[test]
    fn churn_arguments() {
        assert_eq!(
            p("churn tun0 --cycles 10").unwrap(),
            Command::Churn(ChurnArgs {
                dev: name("tun0"),
                cycles: 10,
                seed: None,
                peers: 32,
                lport_base: None,
                remote: "10.10.0.2:1194".parse().unwrap(),
                tcp_remote: None,
                vpn_prefix: [10, 77],
                report: None,
            })
        );
        let Command::Churn(a) = p("churn --cycles=5000 tun0 --seed 42 --peers 8 \
             --lport-base 20000 --remote 10.10.0.9 --tcp-remote 10.10.0.2:1195 \
             --vpn-prefix 172.31 --report 2.5")
        .unwrap() else {
            panic!("not churn");
        };
        assert_eq!((a.cycles, a.seed, a.peers), (5000, Some(42), 8));
        assert_eq!(a.lport_base, Some(20000));
        assert_eq!(a.remote, "10.10.0.9:1194".parse().unwrap());
        assert_eq!(a.tcp_remote, Some("10.10.0.2:1195".parse().unwrap()));
        assert_eq!(a.vpn_prefix, [172, 31]);
        assert_eq!(a.report, Some(Duration::from_millis(2500)));
        let Command::Churn(a) =
            p("churn --ifindex 9 --cycles 0 --remote [fd00::2]:51820 --peers 4096").unwrap()
        else {
            panic!("not churn");
        };
        assert_eq!(a.dev, Device::Index(9));
        assert_eq!(a.remote, "[fd00::2]:51820".parse().unwrap());
        assert_eq!((a.cycles, a.peers), (0, 4096));

        let err = |line: &str| p(line).unwrap_err().to_string();
        assert!(err("churn tun0").contains("missing --cycles"));
        assert!(err("churn --cycles 1").contains("missing <ifname>"));
        assert!(err("churn tun0 --cycles 1 --peers 0").contains("1..=4096"));
        assert!(err("churn tun0 --cycles 1 --peers 4097").contains("1..=4096"));
        assert!(err("churn tun0 --cycles 1 --lport-base 0").contains("--lport-base"));
        assert!(err("churn tun0 --cycles 1 --peers 2 --lport-base 65535")
            .contains("ports 65535..=65536"));
        assert!(p("churn tun0 --cycles 1 --peers 2 --lport-base 65534").is_ok());
        assert!(err("churn tun0 --cycles 1 --remote 10.0.0.1:65533").contains("65532"));
        assert!(err("churn tun0 --cycles 1 --tcp-remote 10.0.0.1").contains("--tcp-remote"));
        assert!(err("churn tun0 --cycles 1 --tcp-remote 10.0.0.1:0").contains("non-zero"));
        for bad in [
            "10", "10.77.1", "10.", ".77", "256.1", "a.b", "+1.2", "1.-2",
        ] {
            assert!(
                p(&format!("churn tun0 --cycles 1 --vpn-prefix={bad}")).is_err(),
                "{bad}"
            );
        }
        assert!(err("churn tun0 --cycles 1 --report 0").contains("more than 0"));
        assert!(p("churn tun0 --cycles -1").is_err());
        assert!(p("churn tun0 --cycles 1 --seed x").is_err());
        assert!(p("churn tun0 --cycles 1 extra").is_err());
        assert!(p("churn tun0 --cycles 1 --hold").is_err());
        // Only churn takes them.
        assert!(err("get_peer tun0 --cycles 1").contains("does not take --cycles"));
        assert!(p("new_peer tun0 1 1 10.0.0.1 1 --remote 10.0.0.2").is_err());
    }

    #[test]
    fn rejects_bad_usage() {
        assert!(p("").is_err());
        assert!(p("frobnicate").is_err());
        assert!(p("get_family --hold").is_err());
        assert!(p("get_peer tun0 --bogus").is_err());
        assert!(p("new_iface x --ifindex 3").is_err());
        assert!(p("new_peer tun0 1 1 1.2.3.4 1 --hold=yes").is_err());
        assert_eq!(p("get_family").unwrap(), Command::GetFamily);
        assert_eq!(p("help").unwrap(), Command::Help);
        assert!(matches!(p("nope").unwrap_err(), Error::Usage(_)));
    }

    #[test]
    fn double_dash_ends_options() {
        assert_eq!(
            p("del_iface -- --weird").unwrap(),
            Command::DelIface {
                name: "--weird".into()
            }
        );
    }

    #[test]
    fn fuzz_nl_arguments() {
        let Command::FuzzNl(a) = p("fuzz-nl --seed 19 --count 100000 --dev tun0 --protect 1 \
             --other-ifindex 3 --other-ifindex 4 --other-netns /run/netns/c1 --report 30")
        .unwrap() else {
            panic!("not fuzz-nl");
        };
        assert_eq!((a.seed, a.count, a.batch), (19, 100_000, 32));
        assert_eq!(a.devs, vec!["tun0".to_string()]);
        assert_eq!((a.protect, a.other_ifindex), (vec![1], vec![3, 4]));
        assert_eq!(a.other_netns, Some(PathBuf::from("/run/netns/c1")));
        assert!(p("fuzz_nl --seed 1 --count 1 --batch 64 --max-seconds 90").is_ok());
        assert!(p("fuzz-nl --count 1").is_err());
        assert!(p("fuzz-nl --seed 1").is_err());
        assert!(p("fuzz-nl --seed 1 --count 1 --batch 0").is_err());
        assert!(p("fuzz-nl --seed 1 --count 1 --peer-id 2").is_err());
    }

    #[test]
    fn fuzz_pkt_arguments() {
        let Command::FuzzPkt(a) = p("fuzz-pkt --seed 5 --count 1000 --target 10.10.2.1:1194 \
             --bind 10.10.2.2:1194 --peer-id 2 --legit-peer-id 1 --key-file k --max-seconds 1.5")
        .unwrap() else {
            panic!("not fuzz-pkt");
        };
        assert_eq!(a.mode, crate::fuzz_pkt::PktMode::Udp);
        assert_eq!(a.target, Some("10.10.2.1:1194".parse().unwrap()));
        assert_eq!((a.peer_id, a.legit_peer_id, a.key_id), (2, Some(1), 1));
        assert_eq!(a.key_dir, KeyDirection::Inverse);
        assert_eq!(a.max_time, Some(Duration::from_millis(1500)));
        let Command::FuzzPkt(a) =
            p("fuzz-pkt --mode tcp --dev tun0 --seed 5 --count 10 --peer-id 3 --key-file k --key-dir 0")
                .unwrap()
        else {
            panic!("not fuzz-pkt");
        };
        assert_eq!(
            (a.mode, a.dev.as_deref()),
            (crate::fuzz_pkt::PktMode::Tcp, Some("tun0"))
        );
        assert_eq!(a.key_dir, KeyDirection::Normal);
        assert!(p("fuzz-pkt --seed 5 --count 10 --peer-id 3 --key-file k").is_err()); // no target
        assert!(p("fuzz-pkt --mode tcp --seed 5 --count 10 --peer-id 3 --key-file k").is_err());
        assert!(p("fuzz-pkt --mode sctp --seed 5 --count 10 --peer-id 3 --key-file k").is_err());
        assert!(p("fuzz-pkt --seed 5 --count 10 --target 1.2.3.4:5 --key-file k").is_err());
        assert!(p(
            "fuzz-pkt --seed 5 --count 10 --target 1.2.3.4:5 --peer-id 1 --key-file k --key-id 8"
        )
        .is_err());
    }
}
