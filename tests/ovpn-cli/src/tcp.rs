// SPDX-License-Identifier: GPL-2.0

//! The TCP side of `new_peer --tcp`: listening for or connecting the one
//! connection a TCP peer uses, writing control frames to it and printing
//! what the kernel hands back to userspace on it.
//!
//! On TCP every OpenVPN packet is preceded by its length, 2 bytes big
//! endian.  The kernel handles the DATA_V2 frames itself and queues every
//! other frame, length prefix included, for userspace: the hold loop
//! prints those bytes as they come.

use std::{
    io::Write,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    time::{Duration, Instant},
};

use crate::{
    cli::to_hex,
    error::{Error, Result},
    sockaddr,
};

/// How long `connect` keeps retrying.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// The pause between two connection attempts.
const CONNECT_RETRY: Duration = Duration::from_millis(200);
/// How long a control frame write may take (partial writes, `EAGAIN`).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Prints one line on stdout and flushes it, so that a test reading the
/// output file sees it at once.  A closed stdout is not an error.
pub fn say(line: &str) {
    line_to(&mut std::io::stdout().lock(), line);
}

/// The current `errno` as an error, prefixed with `what`.
fn os_error(what: &str) -> Error {
    Error::other(format!("{what}: {}", std::io::Error::last_os_error()))
}

/// A `sockaddr_storage` holding `addr`, and its length.
fn raw_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    let bytes = sockaddr::encode(addr);
    // SAFETY: `sockaddr_storage` is plain data; all zeroes is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    debug_assert!(bytes.len() <= std::mem::size_of_val(&ss));
    // SAFETY: `ss` is larger than the 16 or 28 bytes of a `sockaddr_in`
    // or `sockaddr_in6`, and the two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            std::ptr::from_mut(&mut ss).cast::<u8>(),
            bytes.len(),
        );
    }
    (ss, bytes.len() as libc::socklen_t)
}

/// Sets an `int` socket option to `value`.
fn set_int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> bool {
    // SAFETY: the option value points to `value`, a live `c_int`, and the
    // length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    rc == 0
}

/// Puts `fd` in non-blocking mode.
fn set_nonblocking(fd: RawFd) -> Result<()> {
    // SAFETY: fcntl(2) with F_GETFL/F_SETFL takes no pointers.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(os_error("fcntl(O_NONBLOCK)"));
    }
    Ok(())
}

/// Waits until `fd` has one of `events` (or an error or hangup), at most
/// `timeout` (`None`: forever).  Returns the events seen, empty on timeout.
pub fn poll_fd(
    fd: RawFd,
    events: libc::c_short,
    timeout: Option<Duration>,
) -> Result<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = timeout.map_or(-1, |t| {
        // Round up, so that a short remaining time does not spin.
        libc::c_int::try_from(t.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX)
    });
    loop {
        // SAFETY: `pfd` is one live `pollfd`, and the count passed is 1.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc >= 0 {
            return Ok(if rc == 0 { 0 } else { pfd.revents });
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(Error::other(format!("poll: {e}")));
        }
    }
}

/// A new TCP socket of `addr`'s family with `SO_REUSEADDR`, bound to
/// `addr` unless it is the unspecified address with port 0.
fn bound_socket(addr: SocketAddr) -> Result<OwnedFd> {
    let domain = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(os_error("socket(SOCK_STREAM)"));
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    if !set_int_opt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1) {
        return Err(os_error("setsockopt(SO_REUSEADDR)"));
    }
    if addr.port() != 0 || !addr.ip().is_unspecified() {
        let (ss, len) = raw_sockaddr(&addr);
        // SAFETY: the address points to `ss`, live, of at least `len` bytes.
        let rc = unsafe { libc::bind(sock.as_raw_fd(), std::ptr::from_ref(&ss).cast(), len) };
        if rc < 0 {
            return Err(os_error(&format!("bind {addr} (TCP)")));
        }
    }
    Ok(sock)
}

/// The local address to bind for a connection to `remote`: `local_ip`
/// (or the unspecified address of `remote`'s family) and `lport`.
pub fn local_addr(remote: &SocketAddr, local_ip: Option<IpAddr>, lport: u16) -> SocketAddr {
    let ip = local_ip.unwrap_or(match remote {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    });
    SocketAddr::new(ip, lport)
}

/// Whether a connection from `from` is the expected peer `remote`: same
/// address, and same port unless `remote`'s is 0.
pub fn is_expected_peer(remote: &SocketAddr, from: &SocketAddr) -> bool {
    let ip = |a: &SocketAddr| match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    ip(remote) == ip(from) && (remote.port() == 0 || remote.port() == from.port())
}

/// Listens on `local` and accepts one connection from `remote` (any port
/// if `remote`'s port is 0), closing any other.  Returns it non-blocking.
pub fn listen_accept(local: SocketAddr, remote: &SocketAddr) -> Result<TcpStream> {
    let listener = bound_socket(local)?;
    // SAFETY: listen(2) takes no pointers.
    if unsafe { libc::listen(listener.as_raw_fd(), 1) } < 0 {
        return Err(os_error(&format!("listen {local}")));
    }
    let listener = std::net::TcpListener::from(listener);
    if let Ok(l) = listener.local_addr() {
        eprintln!("new_peer: listening on {l} for {remote}");
    }
    loop {
        match listener.accept() {
            Ok((stream, from)) if is_expected_peer(remote, &from) => {
                eprintln!("new_peer: accepted {from}");
                stream
                    .set_nonblocking(true)
                    .map_err(|e| Error::other(format!("O_NONBLOCK: {e}")))?;
                return Ok(stream);
            }
            Ok((stream, from)) => {
                eprintln!("new_peer: refused a connection from {from}, expecting {remote}");
                drop(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::other(format!("accept on {local}: {e}"))),
        }
    }
}

/// One connection attempt from `local` to `remote`, waiting at most
/// `timeout` for the handshake.  `Err` carries the attempt's errno.
fn try_connect(
    local: SocketAddr,
    remote: &SocketAddr,
    timeout: Duration,
) -> Result<std::result::Result<OwnedFd, std::io::Error>> {
    let sock = bound_socket(local)?;
    set_nonblocking(sock.as_raw_fd())?;
    let (ss, len) = raw_sockaddr(remote);
    // SAFETY: the address points to `ss`, live, of at least `len` bytes.
    let rc = unsafe { libc::connect(sock.as_raw_fd(), std::ptr::from_ref(&ss).cast(), len) };
    if rc == 0 {
        return Ok(Ok(sock));
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EINPROGRESS) {
        return Ok(Err(e));
    }
    if poll_fd(sock.as_raw_fd(), libc::POLLOUT, Some(timeout))? == 0 {
        return Ok(Err(std::io::Error::from_raw_os_error(libc::ETIMEDOUT)));
    }
    let mut err: libc::c_int = 0;
    let mut elen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the value points to `err`, a live `c_int`, and `elen` holds
    // its size.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            std::ptr::from_mut(&mut err).cast(),
            &mut elen,
        )
    };
    if rc < 0 {
        return Err(os_error("getsockopt(SO_ERROR)"));
    }
    Ok(if err == 0 {
        Ok(sock)
    } else {
        Err(std::io::Error::from_raw_os_error(err))
    })
}

/// Connects from `local` to `remote`, retrying every 200 ms for up to
/// `timeout` (the listener may start later).  Returns the connection,
/// non-blocking.
pub fn connect(local: SocketAddr, remote: &SocketAddr, timeout: Duration) -> Result<TcpStream> {
    let deadline = Instant::now() + timeout;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        match try_connect(local, remote, left.max(Duration::from_millis(1)))? {
            Ok(sock) => {
                eprintln!("new_peer: connected to {remote} (attempt {attempts})");
                return Ok(TcpStream::from(sock));
            }
            Err(e) => {
                if Instant::now() + CONNECT_RETRY >= deadline {
                    return Err(Error::other(format!(
                        "connect {remote} from {local}: {e} ({attempts} attempts in {}s)",
                        timeout.as_secs_f64()
                    )));
                }
                std::thread::sleep(CONNECT_RETRY);
            }
        }
    }
}

/// Writes all of `bytes` to the non-blocking socket `fd` with
/// `send(MSG_NOSIGNAL)`, retrying partial writes and `EAGAIN` for at most
/// `timeout`.
pub fn send_all(fd: RawFd, bytes: &[u8], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut sent = 0;
    while sent < bytes.len() {
        let rest = &bytes[sent..];
        // SAFETY: the buffer points to `rest`, live, of `rest.len()` bytes.
        let n = unsafe { libc::send(fd, rest.as_ptr().cast(), rest.len(), libc::MSG_NOSIGNAL) };
        if n >= 0 {
            sent += n as usize;
            continue;
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::other(format!(
                        "send-ctl: timed out after {sent} of {} bytes",
                        bytes.len()
                    )));
                }
                poll_fd(fd, libc::POLLOUT, Some(left))?;
            }
            _ => {
                return Err(Error::other(format!(
                    "send-ctl: {e} after {sent} of {} bytes",
                    bytes.len()
                )))
            }
        }
    }
    Ok(())
}

/// Writes one line to `out` and flushes it.  A closed output is not an
/// error.
fn line_to(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Reads the non-blocking socket `fd` until the end of the stream or an
/// error, writing `ctl <hex>` to `out` for each chunk read, then `eof` or
/// `read-error <errno>`.
fn read_until_end(fd: RawFd, out: &mut dyn Write) {
    let mut buf = vec![0u8; 65536 + 2];
    loop {
        let revents = match poll_fd(fd, libc::POLLIN, None) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("new_peer: {e}");
                return;
            }
        };
        if revents & libc::POLLNVAL != 0 {
            line_to(out, &format!("read-error {}", libc::EBADF));
            return;
        }
        // SAFETY: the buffer points to `buf`, live, of `buf.len()` bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n > 0 {
            line_to(out, &format!("ctl {}", to_hex(&buf[..n as usize])));
            continue;
        }
        if n == 0 {
            line_to(out, "eof");
            return;
        }
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        match errno {
            libc::EINTR => {}
            // poll() said readable but nothing was: do not spin.
            libc::EAGAIN => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                line_to(out, &format!("read-error {errno}"));
                return;
            }
        }
    }
}

/// The hold loop of a TCP peer: prints `ctl <hex>` for each chunk read
/// from the non-blocking socket `fd`, then, at the end of the stream
/// (`eof`) or on a read error (`read-error <errno>`), just sleeps.  Never
/// returns.
pub fn hold_reading(fd: RawFd) -> ! {
    read_until_end(fd, &mut std::io::stdout().lock());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn expected_peer() {
        let r: SocketAddr = "10.0.0.2:0".parse().unwrap();
        assert!(is_expected_peer(&r, &"10.0.0.2:40000".parse().unwrap()));
        assert!(!is_expected_peer(&r, &"10.0.0.3:40000".parse().unwrap()));
        let r: SocketAddr = "10.0.0.2:1195".parse().unwrap();
        assert!(is_expected_peer(&r, &"10.0.0.2:1195".parse().unwrap()));
        assert!(!is_expected_peer(&r, &"10.0.0.2:1196".parse().unwrap()));
        assert!(is_expected_peer(
            &r,
            &"[::ffff:10.0.0.2]:1195".parse().unwrap()
        ));
        let r: SocketAddr = "[fd00::2]:0".parse().unwrap();
        assert!(is_expected_peer(&r, &"[fd00::2]:5".parse().unwrap()));
        assert!(!is_expected_peer(&r, &"[fd00::3]:5".parse().unwrap()));
    }

    #[test]
    fn local_addresses() {
        let r4: SocketAddr = "10.0.0.1:1194".parse().unwrap();
        let r6: SocketAddr = "[fd00::1]:1194".parse().unwrap();
        assert_eq!(local_addr(&r4, None, 5), "0.0.0.0:5".parse().unwrap());
        assert_eq!(local_addr(&r6, None, 0), "[::]:0".parse().unwrap());
        assert_eq!(
            local_addr(&r4, Some("127.0.0.1".parse().unwrap()), 7),
            "127.0.0.1:7".parse().unwrap()
        );
    }

    /// A free local TCP port: bound, noted, closed.
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// connect retries until a listener shows up, binds the local port,
    /// and the two ends of a listen/connect pair exchange frames.
    #[test]
    fn connect_retries_then_listen_accepts() {
        let port = free_port();
        let server: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
        let client = std::thread::spawn(move || {
            connect(
                (Ipv4Addr::LOCALHOST, 0).into(),
                &server,
                Duration::from_secs(10),
            )
        });
        // Let a few attempts fail first.
        std::thread::sleep(Duration::from_millis(500));
        let accepted =
            listen_accept(server, &(Ipv4Addr::LOCALHOST, 0).into()).expect("listen_accept");
        let connected = client.join().unwrap().expect("connect");
        assert_eq!(connected.peer_addr().unwrap(), server);
        assert_eq!(
            accepted.peer_addr().unwrap(),
            connected.local_addr().unwrap()
        );
        let frame = [0x00, 0x03, 0x20, 0xaa, 0xbb];
        send_all(connected.as_raw_fd(), &frame, SEND_TIMEOUT).unwrap();
        accepted.set_nonblocking(false).unwrap();
        let mut got = [0u8; 5];
        (&accepted).read_exact(&mut got).unwrap();
        assert_eq!(got, frame);
    }

    /// Connecting where nobody listens gives up after the timeout with
    /// the errno of the last attempt.
    #[test]
    fn connect_gives_up() {
        let port = free_port();
        let server: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
        let t0 = Instant::now();
        let err = connect(
            (Ipv4Addr::UNSPECIFIED, 0).into(),
            &server,
            Duration::from_millis(700),
        )
        .unwrap_err()
        .to_string();
        assert!(t0.elapsed() < Duration::from_secs(5));
        assert!(
            err.starts_with(&format!("connect {server} from 0.0.0.0:0: ")),
            "{err}"
        );
        assert!(err.contains("refused"), "{err}");
    }

    /// A connection from another address than the expected peer is closed
    /// and the listener keeps waiting.
    #[test]
    fn listen_refuses_other_peers() {
        let port = free_port();
        let local: SocketAddr = (Ipv4Addr::UNSPECIFIED, port).into();
        let server: SocketAddr = (Ipv4Addr::LOCALHOST, port).into();
        let listener = std::thread::spawn(move || {
            // Only 127.0.0.2 is accepted.
            listen_accept(local, &"127.0.0.2:0".parse().unwrap())
        });
        let wrong = connect(
            (Ipv4Addr::LOCALHOST, 0).into(),
            &server,
            Duration::from_secs(10),
        )
        .unwrap();
        wrong.set_nonblocking(false).unwrap();
        wrong
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut b = [0u8; 1];
        // Closed by the listener: end of stream (or a reset).
        assert!(matches!((&wrong).read(&mut b), Ok(0) | Err(_)));
        let right = connect(
            "127.0.0.2:0".parse().unwrap(),
            &server,
            Duration::from_secs(10),
        )
        .unwrap();
        let accepted = listener.join().unwrap().unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), right.local_addr().unwrap());
    }

    /// A connected pair of TCP sockets on the loopback.
    fn pair() -> (TcpStream, TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (a, _) = l.accept().unwrap();
        (a, c)
    }

    /// The hold loop prints each chunk read as hex, then the end of the
    /// stream.
    #[test]
    fn reads_frames_then_eof() {
        let (a, c) = pair();
        a.set_nonblocking(true).unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            read_until_end(a.as_raw_fd(), &mut out);
            String::from_utf8(out).unwrap()
        });
        send_all(c.as_raw_fd(), &[0x00, 0x02, 0x28, 0xff], SEND_TIMEOUT).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        send_all(c.as_raw_fd(), &[0x00, 0x01, 0x20], SEND_TIMEOUT).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        drop(c);
        let out = reader.join().unwrap();
        // Normally one line per write, but a loaded machine may merge them.
        let mut lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.pop(), Some("eof"), "{out}");
        let hex: String = lines
            .iter()
            .map(|l| l.strip_prefix("ctl ").expect(l))
            .collect();
        assert_eq!(hex, "000228ff000120", "{out}");
        assert!(out.ends_with("\n"));
    }

    /// A reset connection is a read error with its errno.
    #[test]
    fn read_error_on_reset() {
        let (a, c) = pair();
        a.set_nonblocking(true).unwrap();
        // SO_LINGER 0: close() sends a reset.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the option value points to `linger`, live, of the size
        // passed.
        let rc = unsafe {
            libc::setsockopt(
                c.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                std::ptr::from_ref(&linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        drop(c);
        let mut out = Vec::new();
        read_until_end(a.as_raw_fd(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("read-error {}\n", libc::ECONNRESET)
        );
    }

    /// Large writes that fill the socket buffers are finished once the
    /// other end reads.
    #[test]
    fn send_all_waits_for_room() {
        let (a, c) = pair();
        c.set_nonblocking(true).unwrap();
        let big = vec![0x5au8; 32 << 20];
        let reader = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut got = Vec::new();
            (&a).read_to_end(&mut got).unwrap();
            got.len()
        });
        send_all(c.as_raw_fd(), &big, SEND_TIMEOUT).unwrap();
        drop(c);
        assert_eq!(reader.join().unwrap(), big.len());
    }
}
