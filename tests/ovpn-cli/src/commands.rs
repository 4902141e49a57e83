// SPDX-License-Identifier: GPL-2.0

//! Running a parsed [`Command`]: what each subcommand sends and prints.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket},
    os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd},
    sync::mpsc,
    time::{Duration, Instant},
};

use ovpn_dco_proto::uapi;

use crate::{
    churn,
    cli::{self, Command, Device, NewKeyArgs, NewMultiPeerArgs, NewPeerArgs, TcpMode, USAGE},
    error::{Error, Result},
    genl::{self, Family, Ovpn, OvpnMsg},
    holder::Holder,
    keys::KeyBlob,
    link,
    nl::NlConn,
    reply::{Notification, PeerInfo},
    tcp,
};

/// Runs `cmd`; the `Ok` value is the process exit status.
pub fn run(cmd: Command) -> Result<i32> {
    match cmd {
        Command::Help => println!("{USAGE}"),
        Command::NewIface { name, mode } => link::new_iface(&name, mode)?,
        Command::DelIface { name } => link::del_iface(&name)?,
        Command::GetFamily => get_family()?,
        Command::NewPeer(args) => new_peer(&args)?,
        Command::NewMultiPeer(args) => new_multi_peer(&args)?,
        Command::SetPeer {
            dev,
            peer_id,
            interval,
            timeout,
        } => simple(&dev, |i| genl::set_peer(i, peer_id, interval, timeout))?,
        Command::DelPeer { dev, peer_id } => simple(&dev, |i| genl::del_peer(i, peer_id))?,
        Command::GetPeer { dev, peer_id } => get_peer(&dev, peer_id)?,
        Command::DumpDel { dev, peer_id } => dump_del(&dev, peer_id)?,
        Command::NewKey(args) => new_key(&args)?,
        Command::SwapKeys { dev, peer_id } => simple(&dev, |i| genl::swap_keys(i, peer_id))?,
        Command::DelKey { dev, peer_id, slot } => {
            simple(&dev, |i| genl::del_key(i, peer_id, slot))?
        }
        Command::ListenMcast { count, timeout } => return listen_mcast(count, timeout),
        Command::Churn(args) => return churn::run(&args, ifindex(&args.dev)?),
        Command::FuzzNl(args) => return crate::fuzz_nl::run(&args),
        Command::FuzzPkt(args) => return crate::fuzz_pkt::run(&args),
    }
    Ok(0)
}

/// The index to send for `dev`.
fn ifindex(dev: &Device) -> Result<u32> {
    match dev {
        Device::Name(name) => link::ifindex_of(name),
        Device::Index(i) => Ok(*i),
    }
}

/// Sends the request built by `build` for the device's index, expecting no
/// reply beyond the ACK.
fn simple(dev: &Device, build: impl FnOnce(u32) -> Result<genl::Request>) -> Result<()> {
    let req = build(ifindex(dev)?)?;
    Ovpn::connect()?.execute(&req)?;
    Ok(())
}

/// `get_family`: the family's name, id and version, then one line per
/// multicast group.
fn get_family() -> Result<()> {
    let conn = NlConn::connect(neli::consts::socket::NlFamily::Generic)?;
    let f = Family::resolve(&conn, uapi::OVPN_NL_NAME)?;
    println!("family {} id {} version {}", f.name, f.id, f.version);
    for (name, id) in &f.groups {
        println!("mcast {name} {id}");
    }
    Ok(())
}

/// `new_peer`: binds a UDP socket of the remote's address family to
/// `lport` (or, with `--tcp`, sets up a TCP connection with the remote)
/// and hands it to the kernel with the peer.  Without `--hold`, a holder
/// keeps the socket open after the command returns.
fn new_peer(a: &NewPeerArgs) -> Result<()> {
    let index = ifindex(&a.dev)?;
    if let Some(mode) = a.tcp {
        return new_tcp_peer(a, index, mode);
    }
    let bind_addr: SocketAddr = match a.remote {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, a.lport).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, a.lport).into(),
    };
    let sock =
        UdpSocket::bind(bind_addr).map_err(|e| Error::other(format!("bind {bind_addr}: {e}")))?;
    let holder = join_holder(a.hold)?;
    add_peer(a, index, a.remote, socket_fd(&sock)?)?;
    if let Some(mut h) = holder {
        h.added(index, a.peer_id);
        h.spawn(sock.as_fd(), sock.local_addr().ok().map(|l| l.port()))?;
    }
    if a.hold {
        let lport = sock.local_addr().map(|s| s.port()).unwrap_or(a.lport);
        println!("ready lport={lport}");
        // Keep the socket open (and the peer alive) until killed.
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    drop(sock);
    Ok(())
}

/// Without `--hold` (`hold` false), a [`Holder`] joined to the `peers`
/// group, to be done before sending `NEW_PEER`.
fn join_holder(hold: bool) -> Result<Option<Holder>> {
    (!hold).then(Holder::join).transpose()
}

/// Sends `NEW_PEER` for the peer of `a` on device `index`, with socket
/// descriptor `fd` and remote address `remote`.
fn add_peer(a: &NewPeerArgs, index: u32, remote: SocketAddr, fd: u32) -> Result<()> {
    let req = genl::new_peer(
        index,
        &genl::NewPeer {
            peer_id: a.peer_id,
            remote,
            socket_fd: fd,
            vpn4: a.vpn4,
            vpn6: a.vpn6,
            local_ip: a.local_ip,
        },
    )?;
    Ovpn::connect()?.execute(&req)?;
    Ok(())
}

/// `new_peer --tcp`: accepts one connection from the remote on `lport`
/// (`listen`) or connects to it (`connect`), and hands the connected
/// socket to the kernel with the peer.  Then, without `--hold`, forks the
/// holder of the socket; writes the `--send-ctl` frames; and with `--hold`
/// prints what userspace reads on the socket.
fn new_tcp_peer(a: &NewPeerArgs, index: u32, mode: TcpMode) -> Result<()> {
    let local = tcp::local_addr(&a.remote, a.local_ip, a.lport);
    let stream = match mode {
        TcpMode::Listen => tcp::listen_accept(local, &a.remote)?,
        TcpMode::Connect => tcp::connect(local, &a.remote, tcp::CONNECT_TIMEOUT)?,
    };
    // The address the connection really has; the kernel takes the
    // remote from the socket, but OpenVPN sends this attribute too.
    let remote = stream.peer_addr().unwrap_or(a.remote);
    let fd = u32::try_from(stream.as_raw_fd())
        .map_err(|_| Error::other("negative socket descriptor"))?;
    let holder = join_holder(a.hold)?;
    add_peer(a, index, remote, fd)?;
    if let Some(mut h) = holder {
        h.added(index, a.peer_id);
        h.spawn(stream.as_fd(), stream.local_addr().ok().map(|l| l.port()))?;
    }
    if a.hold {
        let lport = stream.local_addr().map(|s| s.port()).unwrap_or(a.lport);
        tcp::say(&format!("ready lport={lport}"));
    }
    if !a.send_ctl.is_empty() {
        std::thread::sleep(a.send_ctl_after);
        for frame in &a.send_ctl {
            tcp::send_all(stream.as_raw_fd(), frame, tcp::SEND_TIMEOUT)?;
            tcp::say(&format!("sent-ctl {}", frame.len()));
        }
    }
    if a.hold {
        // Keeps the socket open (and the peer alive) until killed.
        tcp::hold_reading(stream.as_raw_fd());
    }
    drop(stream);
    Ok(())
}

/// The descriptor of `sock` as the `u32` the `SOCKET` attribute carries.
fn socket_fd(sock: &UdpSocket) -> Result<u32> {
    u32::try_from(sock.as_raw_fd()).map_err(|_| Error::other("negative socket descriptor"))
}

/// Fails with the current `errno`, prefixed with `what`, if `rc` is
/// negative.
fn os_check(rc: libc::c_int, what: &str) -> Result<libc::c_int> {
    if rc < 0 {
        let e = std::io::Error::last_os_error();
        return Err(Error::other(format!("{what}: {e}")));
    }
    Ok(rc)
}

/// Binds an IPv6 UDP socket to `[::]:lport` with `IPV6_V6ONLY` off, so
/// that it also sends to and receives from IPv4 addresses (as
/// IPv4-mapped ones), whatever `net.ipv6.bindv6only` says.  The option
/// must be set before `bind`, which `std` cannot do.
fn bind_dual_stack(lport: u16) -> Result<UdpSocket> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET6, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let fd = os_check(fd, "socket(AF_INET6, SOCK_DGRAM)")?;
    // SAFETY: `fd` was just opened and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let off: libc::c_int = 0;
    // SAFETY: the option value points to `off`, a live `c_int`, and the
    // length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            std::ptr::from_ref(&off).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    os_check(rc, "setsockopt(IPV6_V6ONLY, 0)")?;
    let addr = libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: lport.to_be(),
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr { s6_addr: [0; 16] },
        sin6_scope_id: 0,
    };
    // SAFETY: the address points to `addr`, a live `sockaddr_in6`, and
    // the length passed is its size.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            std::ptr::from_ref(&addr).cast(),
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    };
    os_check(rc, &format!("bind [::]:{lport} (dual-stack)"))?;
    Ok(UdpSocket::from(sock))
}

/// `new_multi_peer`: reads the peers file, binds one UDP socket to
/// `lport` (IPv6 dual-stack if `--ipv6` was given or a remote is IPv6,
/// else IPv4) and adds every peer with it, in file order.  Stops at the
/// first peer the kernel refuses: the peers added before it stay (and,
/// without `--hold`, a holder keeps the socket open for them).
fn new_multi_peer(a: &NewMultiPeerArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.peers_file)
        .map_err(|e| Error::other(format!("peers file {}: {e}", a.peers_file.display())))?;
    let peers = cli::parse_peers(&text)?;
    let index = ifindex(&a.dev)?;
    let sock = if a.ipv6 || peers.iter().any(|p| p.remote.is_ipv6()) {
        bind_dual_stack(a.lport)?
    } else {
        let bind_addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, a.lport));
        UdpSocket::bind(bind_addr).map_err(|e| Error::other(format!("bind {bind_addr}: {e}")))?
    };
    let fd = socket_fd(&sock)?;
    let ovpn = Ovpn::connect()?;
    let mut holder = join_holder(a.hold)?;
    let added = add_peers(&ovpn, index, fd, &peers, holder.as_mut());
    if let Some(h) = holder {
        let spawned = h.spawn(sock.as_fd(), sock.local_addr().ok().map(|l| l.port()));
        // A refused peer's error is the one to report.
        match (&added, spawned) {
            (Ok(()), spawned) => spawned?,
            (Err(_), Err(e)) => eprintln!("new_multi_peer: {e}"),
            (Err(_), Ok(())) => {}
        }
    }
    added?;
    if a.hold {
        let lport = sock.local_addr().map(|s| s.port()).unwrap_or(a.lport);
        println!("ready lport={lport} peers={}", peers.len());
        // Keep the socket open (and the peers alive) until killed.
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    drop(sock);
    Ok(())
}

/// Adds `peers` to device `index` with socket descriptor `fd`, in order,
/// recording each one the kernel accepted in `holder`.  Stops at the first
/// one refused, with a line naming it on stderr.
fn add_peers(
    ovpn: &Ovpn,
    index: u32,
    fd: u32,
    peers: &[cli::PeerLine],
    mut holder: Option<&mut Holder>,
) -> Result<()> {
    for p in peers {
        let req = genl::new_peer(
            index,
            &genl::NewPeer {
                peer_id: p.peer_id,
                remote: p.remote,
                socket_fd: fd,
                vpn4: p.vpn4,
                vpn6: p.vpn6,
                local_ip: None,
            },
        )?;
        // The caller sees which peer failed; the error line itself stays
        // the one every command prints.
        ovpn.execute(&req).inspect_err(|_| {
            eprintln!(
                "new_multi_peer: peer {} (line {}) failed",
                p.peer_id, p.line
            )
        })?;
        if let Some(h) = holder.as_deref_mut() {
            h.added(index, p.peer_id);
        }
    }
    Ok(())
}

/// `get_peer`: one line per peer.
fn get_peer(dev: &Device, peer_id: Option<u32>) -> Result<()> {
    let req = genl::get_peer(ifindex(dev)?, peer_id)?;
    for msg in Ovpn::connect()?.execute(&req)? {
        if let Some(peer) = PeerInfo::from_msg(&msg)? {
            println!("{peer}");
        }
    }
    Ok(())
}

/// `dump_del`: dumps the peers and deletes `del_id` once the first
/// datagram of the dump is read; prints `datagrams=N` (the parts of the
/// dump), then one `id=N` line per peer dumped.
fn dump_del(dev: &Device, del_id: u32) -> Result<()> {
    let ifindex = ifindex(dev)?;
    let req = genl::get_peer(ifindex, None)?;
    let mut parts = 1;
    let msgs = Ovpn::connect()?.execute_hooked(&req, &mut |n| {
        parts = n + 1;
        if n == 1 {
            Ovpn::connect()?.execute(&genl::del_peer(ifindex, del_id)?)?;
        }
        Ok(())
    })?;
    println!("datagrams={parts}");
    for msg in msgs {
        if let Some(peer) = PeerInfo::from_msg(&msg)? {
            println!("id={}", peer.id.unwrap_or(0));
        }
    }
    Ok(())
}

/// `new_key`: reads the key file and installs the keys of the direction.
fn new_key(a: &NewKeyArgs) -> Result<()> {
    let blob = KeyBlob::read(&a.key_file)?;
    let (encrypt, decrypt) = blob.directions(a.key_dir, a.key_len)?;
    let req = genl::new_key(
        ifindex(&a.dev)?,
        &genl::NewKey {
            peer_id: a.peer_id,
            slot: a.slot,
            key_id: a.key_id,
            cipher_alg: a.cipher_alg,
            encrypt,
            decrypt,
        },
    )?;
    Ovpn::connect()?.execute(&req)?;
    Ok(())
}

/// `listen_mcast`: joins the `peers` group and prints each notification;
/// returns 0 after `count` of them (or at the timeout when no count is
/// given), 1 if the timeout expires first.
fn listen_mcast(count: Option<u64>, timeout: Option<Duration>) -> Result<i32> {
    let (conn, family) = Ovpn::connect()?.into_listener(uapi::OVPN_NL_MULTICAST_GROUP_PEERS)?;
    eprintln!(
        "listening on {}/{}",
        family.name,
        uapi::OVPN_NL_MULTICAST_GROUP_PEERS
    );

    // The socket blocks in recv(); a thread receives and the main thread
    // waits on the channel with the deadline.
    let (tx, rx) = mpsc::channel::<Result<OvpnMsg>>();
    let family_id = family.id;
    std::thread::spawn(move || loop {
        match conn.recv_messages::<OvpnMsg>(family_id) {
            Ok(msgs) => {
                if msgs.into_iter().any(|m| tx.send(Ok(m)).is_err()) {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    });

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut seen = 0u64;
    while count.is_none_or(|c| seen < c) {
        let msg = match deadline {
            Some(d) => match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Ok(match count {
                        Some(c) => {
                            eprintln!("timeout: {seen} of {c} notifications");
                            1
                        }
                        None => 0,
                    });
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::other("notification receiver stopped"));
                }
            },
            None => rx
                .recv()
                .map_err(|_| Error::other("notification receiver stopped"))?,
        }?;
        println!("{}", Notification::from_msg(&msg)?);
        seen += 1;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dual-stack socket receives IPv4 datagrams.  Skipped where the
    /// host has no IPv6.
    #[test]
    fn dual_stack_socket_takes_ipv4() {
        let sock = match bind_dual_stack(0) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipped: {e}");
                return;
            }
        };
        let local = sock.local_addr().unwrap();
        assert!(local.is_ipv6());
        assert_ne!(local.port(), 0);
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let v4 = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        v4.send_to(b"ping", (Ipv4Addr::LOCALHOST, local.port()))
            .unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = sock.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        let SocketAddr::V6(from) = from else {
            panic!("sender reported as {from}");
        };
        assert_eq!(from.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
    }

    /// A port in use is reported with the address.
    #[test]
    fn dual_stack_bind_error() {
        let Ok(first) = bind_dual_stack(0) else {
            return;
        };
        let port = first.local_addr().unwrap().port();
        let err = bind_dual_stack(port).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("bind [::]:{port} (dual-stack): ")),
            "{err}"
        );
    }
}
