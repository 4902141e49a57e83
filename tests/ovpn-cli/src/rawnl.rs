// SPDX-License-Identifier: GPL-2.0

//! Raw netlink for the fuzzers: requests built as bytes (which may break
//! every rule of the format), sent many to a `sendmsg`, and their replies
//! read many datagrams to a `recvmmsg`, since in the debug guest a system
//! call costs far more than a message.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    time::{Duration, Instant},
};

use crate::error::{Error, Result};

/// `struct nlmsghdr`'s length.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = libc::NLM_F_REQUEST as u16;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = libc::NLM_F_ACK as u16;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = libc::NLM_F_DUMP as u16;
/// `NLM_F_CREATE`.
pub const NLM_F_CREATE: u16 = libc::NLM_F_CREATE as u16;
/// `NLM_F_EXCL`.
pub const NLM_F_EXCL: u16 = libc::NLM_F_EXCL as u16;
/// `NLM_F_ACK_TLVS`: the error message carries extended ACK attributes.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLM_F_CAPPED`: the error message echoes only the request's header.
const NLM_F_CAPPED: u16 = 0x100;
/// `NLMSGERR_ATTR_MSG`.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NETLINK_EXT_ACK`.
const NETLINK_EXT_ACK: libc::c_int = 11;
/// `NETLINK_CAP_ACK`.
const NETLINK_CAP_ACK: libc::c_int = 10;
/// The largest datagram netlink sends (`SKB_WITH_OVERHEAD(32768)` caps
/// dumps; a little more for safety).
const RECV_BUF: usize = 64 * 1024;
/// Datagrams read per `recvmmsg`.
const RECV_BATCH: usize = 32;

/// One message of a reply datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The payload after the header.
    pub payload: Vec<u8>,
}

impl Reply {
    /// For `NLMSG_ERROR` and `NLMSG_DONE`: the error field (0 or a
    /// negative errno); `None` for other messages or a short payload.
    pub fn error(&self) -> Option<i32> {
        if self.ty != NLMSG_ERROR && self.ty != NLMSG_DONE {
            return None;
        }
        let b: [u8; 4] = self.payload.get(..4)?.try_into().ok()?;
        Some(i32::from_ne_bytes(b))
    }

    /// Whether the message ends its request's replies.
    pub fn is_terminal(&self) -> bool {
        self.ty == NLMSG_ERROR || self.ty == NLMSG_DONE
    }

    /// The extended ACK message, if the kernel sent one.
    pub fn extack(&self) -> Option<String> {
        if self.flags & NLM_F_ACK_TLVS == 0 {
            return None;
        }
        // After the error: the echoed request (only its header if capped)
        // for NLMSG_ERROR; nothing for NLMSG_DONE.
        let mut off = 4;
        if self.ty == NLMSG_ERROR {
            let echoed = if self.flags & NLM_F_CAPPED != 0 {
                NLMSG_HDRLEN
            } else {
                let b: [u8; 4] = self.payload.get(4..8)?.try_into().ok()?;
                u32::from_ne_bytes(b) as usize
            };
            off += align4(echoed);
        }
        for (ty, data) in attrs(self.payload.get(off..)?) {
            if ty & 0x3fff == NLMSGERR_ATTR_MSG {
                let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
                return Some(String::from_utf8_lossy(&data[..end]).into_owned());
            }
        }
        None
    }
}

/// Rounds up to a multiple of 4 (`NLA_ALIGN`, `NLMSG_ALIGN`).
pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The attributes of `buf` as (type with flags, payload), as far as they
/// parse (a malformed one ends the walk).
pub fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        let ty = u16::from_ne_bytes([buf[2], buf[3]]);
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((ty, &buf[4..len]));
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    out
}

/// Splits a datagram into its messages (a malformed header ends it).
pub fn split_messages(mut buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            break;
        }
        out.push(Reply {
            ty: u16::from_ne_bytes([buf[4], buf[5]]),
            flags: u16::from_ne_bytes([buf[6], buf[7]]),
            seq: u32::from_ne_bytes(buf[8..12].try_into().unwrap()),
            payload: buf[NLMSG_HDRLEN..len].to_vec(),
        });
        buf = buf.get(align4(len)..).unwrap_or(&[]);
    }
    out
}

/// Appends a netlink message (header and `body`) to `out`, padded.
pub fn push_message(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, body: &[u8]) {
    let len = (NLMSG_HDRLEN + body.len()) as u32;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(body);
    out.resize(align4(out.len()), 0);
}

/// A netlink socket driven with raw bytes.
pub struct RawNl {
    fd: OwnedFd,
    bufs: Vec<Vec<u8>>,
}

/// Fails with the current `errno` as `what` if `rc` is negative.
fn check(rc: libc::c_int, what: &str) -> Result<libc::c_int> {
    if rc < 0 {
        return Err(Error::other(format!(
            "{what}: {}",
            io::Error::last_os_error()
        )));
    }
    Ok(rc)
}

/// Sets an integer socket option.
fn set_int(
    fd: RawFd,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
    what: &str,
) -> Result<()> {
    // SAFETY: the value points to `v`, a live c_int, of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            std::ptr::from_ref(&v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(rc, what).map(|_| ())
}

impl RawNl {
    /// Opens and binds a netlink socket of protocol `proto`
    /// (`NETLINK_GENERIC`, `NETLINK_ROUTE`), with extended ACKs, capped
    /// error echoes and large buffers (a batch's replies must all fit).
    pub fn open(proto: libc::c_int) -> Result<Self> {
        // SAFETY: socket(2) takes no pointers.
        let fd =
            unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
        let fd = check(fd, "socket(AF_NETLINK)")?;
        // SAFETY: `fd` was just opened and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        set_int(
            raw,
            libc::SOL_NETLINK,
            NETLINK_EXT_ACK,
            1,
            "NETLINK_EXT_ACK",
        )?;
        set_int(
            raw,
            libc::SOL_NETLINK,
            NETLINK_CAP_ACK,
            1,
            "NETLINK_CAP_ACK",
        )?;
        set_int(
            raw,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            8 << 20,
            "SO_RCVBUFFORCE",
        )
        .or_else(|_| set_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, 8 << 20, "SO_RCVBUF"))?;
        set_int(
            raw,
            libc::SOL_SOCKET,
            libc::SO_SNDBUFFORCE,
            4 << 20,
            "SO_SNDBUFFORCE",
        )
        .or_else(|_| set_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20, "SO_SNDBUF"))?;
        // SAFETY: an all-zero sockaddr_nl is valid; the kernel picks the port.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: the address points to `sa` of the size passed.
        let rc = unsafe {
            libc::bind(
                raw,
                std::ptr::from_ref(&sa).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        check(rc, "bind(AF_NETLINK)")?;
        Ok(RawNl {
            fd,
            bufs: vec![vec![0u8; RECV_BUF]; RECV_BATCH],
        })
    }

    /// Sends `buf` (one or more messages) to the kernel in one datagram.
    pub fn send(&self, buf: &[u8]) -> Result<()> {
        // SAFETY: an all-zero sockaddr_nl is the kernel's address.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `buf` and `sa` are live for the call, lengths as passed.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                std::ptr::from_ref(&sa).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::other(format!(
                "netlink sendto ({} bytes): {}",
                buf.len(),
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Reads the datagrams that are there, waiting up to `timeout` for the
    /// first; an empty result means none came.  A truncated datagram is
    /// an error.
    pub fn recv(&mut self, timeout: Duration) -> Result<Vec<Reply>> {
        let fd = self.fd.as_raw_fd();
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
            // SAFETY: `pfd` is one live pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::other(format!("poll(netlink): {e}")));
            }
            if rc == 0 {
                return Ok(Vec::new());
            }
            break;
        }
        let mut iovs: Vec<libc::iovec> = self
            .bufs
            .iter_mut()
            .map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: all-zero mmsghdrs are valid; each gets its iovec below.
        let mut msgs: Vec<libc::mmsghdr> = (0..RECV_BATCH)
            .map(|_| unsafe { std::mem::zeroed() })
            .collect();
        for (m, iov) in msgs.iter_mut().zip(iovs.iter_mut()) {
            m.msg_hdr.msg_iov = iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every mmsghdr points to one iovec over a live buffer of
        // the length given; no timeout pointer.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(Vec::new());
            }
            return Err(Error::other(format!("netlink recvmmsg: {e}")));
        }
        let mut out = Vec::new();
        for (m, b) in msgs.iter().zip(&self.bufs).take(n as usize) {
            if m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                return Err(Error::other("netlink reply truncated"));
            }
            out.extend(split_messages(&b[..m.msg_len as usize]));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let mut buf = Vec::new();
        push_message(&mut buf, 0x20, NLM_F_REQUEST | NLM_F_ACK, 7, &[1, 2, 3]);
        push_message(&mut buf, 0x21, 0, 8, &[]);
        assert_eq!(buf.len(), 20 + 16);
        let m = split_messages(&buf);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].ty, m[0].seq, &m[0].payload[..]),
            (0x20, 7, &[1u8, 2, 3][..])
        );
        assert_eq!((m[1].ty, m[1].seq, m[1].payload.len()), (0x21, 8, 0));
    }

    #[test]
    fn error_and_extack() {
        let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
        push_message(&mut payload, 0x20, 5, 9, &[]); // the capped echo
        payload.extend([12, 0, 1, 0]);
        payload.extend(b"bad\0\0\0\0\0");
        let mut buf = Vec::new();
        push_message(
            &mut buf,
            NLMSG_ERROR,
            NLM_F_ACK_TLVS | NLM_F_CAPPED,
            9,
            &payload,
        );
        let m = split_messages(&buf);
        assert_eq!(m[0].error(), Some(-libc::EINVAL));
        assert!(m[0].is_terminal());
        assert_eq!(m[0].extack().as_deref(), Some("bad"));
    }

    /// The controller answers a batch of two requests with two ACKs.
    #[test]
    fn batch_to_the_controller() {
        let mut nl = RawNl::open(libc::NETLINK_GENERIC).unwrap();
        let mut buf = Vec::new();
        // CTRL_CMD_GETFAMILY (3), version 2, FAMILY_NAME "nlctrl".
        let mut body = vec![3, 2, 0, 0, 11, 0, 2, 0];
        body.extend(b"nlctrl\0\0");
        push_message(
            &mut buf,
            libc::GENL_ID_CTRL as u16,
            NLM_F_REQUEST | NLM_F_ACK,
            1,
            &body,
        );
        push_message(
            &mut buf,
            libc::GENL_ID_CTRL as u16,
            NLM_F_REQUEST | NLM_F_ACK,
            2,
            &body[..4],
        );
        nl.send(&buf).unwrap();
        let mut terminals = Vec::new();
        while terminals.len() < 2 {
            let r = nl.recv(Duration::from_secs(5)).unwrap();
            assert!(!r.is_empty(), "no reply");
            terminals.extend(
                r.into_iter()
                    .filter(|m| m.is_terminal())
                    .map(|m| (m.seq, m.error())),
            );
        }
        assert_eq!(terminals[0], (1, Some(0)));
        assert_eq!(terminals[1].0, 2);
        assert!(terminals[1].1.unwrap() < 0);
    }
}
