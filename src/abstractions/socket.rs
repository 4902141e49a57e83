// SPDX-License-Identifier: GPL-2.0

//! Sockets that userspace hands to the driver by file descriptor.

use super::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// The transport of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    /// A UDP socket.
    Udp,
    /// A TCP socket.
    Tcp,
}

/// A socket of the calling process, with a reference on its file: the
/// socket stays open (even if userspace closes the descriptor) until this
/// object is dropped.  Held only while a request is served: a tunnel keeps
/// a [`SockRef`], so that userspace's close ends it.
///
/// # Invariants
///
/// `sock` points to a socket whose file this object holds one reference
/// on; `sk` is its sock.
pub(crate) struct Socket {
    sock: NonNull<bindings::socket>,
    sk: NonNull<bindings::sock>,
    transport: Transport,
    family: u16,
    local_port: u16,
}

// SAFETY: the file reference may be dropped from any thread (fput defers
// the final release), and the fields read through `sock` are stable.
unsafe impl Send for Socket {}
// SAFETY: as for `Send`; `&Socket` only reads immutable data.
unsafe impl Sync for Socket {}

impl Socket {
    /// Looks up descriptor `fd` of the calling process.  `EBADF` if it is
    /// not open, `ENOTSOCK` if it is not a socket, `EPROTONOSUPPORT` if it
    /// is neither a UDP nor a TCP socket of IPv4 or IPv6.
    pub(crate) fn from_fd(fd: u32) -> Result<Self> {
        let fd = i32::try_from(fd).map_err(|_| EBADF)?;
        let mut err = 0;
        // SAFETY: looks the descriptor up in the current task's table; on
        // success it returns the socket with a reference on its file.
        let sock = unsafe { bindings::ovpn_compat_sockfd_lookup(fd, &mut err) };
        let Some(sock) = NonNull::new(sock) else {
            return Err(Error::from_errno(if err < 0 { err } else { -9 }));
        };
        let (mut family, mut ty, mut proto, mut port) = (0u16, 0u16, 0u16, 0u16);
        // SAFETY: `sock` is a live socket with an attached sock.
        unsafe {
            bindings::ovpn_compat_sock_info(
                sock.as_ptr(),
                &mut family,
                &mut ty,
                &mut proto,
                &mut port,
            )
        };
        let transport = match (u32::from(ty), u32::from(proto)) {
            (bindings::sock_type_SOCK_DGRAM, bindings::IPPROTO_UDP) => Some(Transport::Udp),
            (bindings::sock_type_SOCK_STREAM, bindings::IPPROTO_TCP) => Some(Transport::Tcp),
            _ => None,
        };
        let ip = matches!(u32::from(family), bindings::AF_INET | bindings::AF_INET6);
        // SAFETY: `sock` is a live socket; its `sk` does not change while
        // it is open.
        let sk = NonNull::new(unsafe { (*sock.as_ptr()).sk });
        let (Some(transport), Some(sk)) = (transport.filter(|_| ip), sk) else {
            // SAFETY: we own the reference `sockfd_lookup` took.
            unsafe { bindings::ovpn_compat_sockfd_put(sock.as_ptr()) };
            return Err(super::eprotonosupport());
        };
        // INVARIANT: we hold the file reference taken by the lookup.
        Ok(Self {
            sock,
            sk,
            transport,
            family,
            local_port: port,
        })
    }

    /// The socket's transport.
    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the socket is an IPv6 one.
    pub(crate) fn is_ipv6(&self) -> bool {
        u32::from(self.family) == bindings::AF_INET6
    }

    /// The raw socket.
    pub(crate) fn as_ptr(&self) -> *mut bindings::socket {
        self.sock.as_ptr()
    }

    /// The socket's `struct sock`.
    pub(crate) fn sk(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }

    /// A reference on the socket's `struct sock`.
    pub(crate) fn sock_ref(&self) -> SockRef {
        // SAFETY: the socket is open (invariant), so its sock is live.
        unsafe { bindings::ovpn_compat_sock_hold(self.sk.as_ptr()) };
        // INVARIANT: the reference was just taken.
        SockRef {
            sk: self.sk,
            local_port: self.local_port,
            family: self.family,
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own one file reference.
        unsafe { bindings::ovpn_compat_sockfd_put(self.sock.as_ptr()) };
    }
}

/// A reference on the `struct sock` of a socket userspace passed in.  The
/// memory stays valid, the socket does not stay open: once userspace
/// closes it (its last descriptor), the tunnel on it is ended by the
/// socket's close hook.
///
/// # Invariants
///
/// `sk` points to a sock this object holds one reference on.
pub(crate) struct SockRef {
    sk: NonNull<bindings::sock>,
    local_port: u16,
    family: u16,
}

// SAFETY: a sock reference may be dropped from any context, and the fields
// read through `sk` are stable.
unsafe impl Send for SockRef {}
// SAFETY: as for `Send`; `&SockRef` only reads immutable data.
unsafe impl Sync for SockRef {}

impl SockRef {
    /// The `struct sock`, live as long as `self`.
    pub(crate) fn sk(&self) -> *mut bindings::sock {
        self.sk.as_ptr()
    }

    /// Whether this is the sock of `sock`.
    pub(crate) fn is(&self, sock: &Socket) -> bool {
        self.sk.as_ptr() == sock.sk()
    }

    /// The network namespace of the socket.
    pub(crate) fn net(&self) -> &super::netdev::Net {
        // SAFETY: the sock is live while `self` holds its reference, and a
        // socket userspace created holds a reference on its namespace
        // until it is freed.
        unsafe { super::netdev::Net::from_raw(bindings::ovpn_compat_sock_net(self.sk.as_ptr())) }
    }

    /// The socket's local port, host order (as when it was passed in).
    pub(crate) fn local_port(&self) -> u16 {
        self.local_port
    }

    /// Whether it is an IPv6 socket (which also reaches IPv4 remotes).
    pub(crate) fn is_ipv6(&self) -> bool {
        u32::from(self.family) == bindings::AF_INET6
    }
}

impl Drop for SockRef {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own one reference.
        unsafe { bindings::ovpn_compat_sock_put(self.sk.as_ptr()) };
    }
}
