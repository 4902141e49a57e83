// SPDX-License-Identifier: GPL-2.0

//! Netlink transport shared by the generic netlink and rtnetlink requests:
//! one request, then every reply up to the final ACK, `NLMSG_DONE` or error.
//!
//! This drives `neli`'s [`NlSocketHandle`] directly rather than its
//! `NlRouter`: in neli 0.7.5 the router converts received errors into typed
//! ones through `Nlmsgerr::to_typed`, which drops the extended ACK
//! attributes, and the kernel's extack message is what the tests check.

use std::{
    fmt::Debug,
    io::Cursor,
    os::fd::{AsRawFd, RawFd},
};

use neli::{
    consts::{
        nl::{NlType, NlmF, Nlmsg, NlmsgerrAttr},
        socket::NlFamily,
    },
    nl::{NlPayload, Nlmsghdr, NlmsghdrBuilder},
    socket::synchronous::NlSocketHandle,
    types::{Buffer, GenlBuffer},
    utils::Groups,
    FromBytesWithInput, Size, ToBytes,
};

use crate::error::{Error, Result};

/// A netlink socket with extended ACKs enabled, for request/reply exchanges.
pub struct NlConn {
    /// The bound socket.
    sock: NlSocketHandle,
    /// The sequence number of the next request.
    seq: std::cell::Cell<u32>,
}

impl NlConn {
    /// Opens and binds a socket of the given netlink protocol and asks the
    /// kernel for extended ACKs (`NETLINK_EXT_ACK`).
    pub fn connect(proto: NlFamily) -> Result<Self> {
        let sock = NlSocketHandle::connect(proto, None, Groups::empty())?;
        sock.enable_ext_ack(true)?;
        Ok(NlConn {
            sock,
            seq: std::cell::Cell::new(1),
        })
    }

    /// Joins the multicast group with the given id.
    pub fn join_group(&self, group: u32) -> Result<()> {
        self.sock
            .add_mcast_membership(Groups::new_groups(&[group]))?;
        Ok(())
    }

    /// Sends one request and returns the payloads of its replies.
    ///
    /// A request with `NLM_F_DUMP` in `flags` collects messages up to
    /// `NLMSG_DONE`; any other request is sent with `NLM_F_ACK` and collects
    /// the replies (if any) up to the ACK.  An error from the kernel, in an
    /// `NLMSG_ERROR` or in the `NLMSG_DONE` of a dump, becomes
    /// [`Error::Netlink`] with its extended ACK message.
    pub fn request<T, P, R>(&self, nl_type: T, flags: NlmF, payload: P) -> Result<Vec<R>>
    where
        T: NlType + Debug,
        P: Size + ToBytes + Debug,
        R: Size + FromBytesWithInput<Input = usize>,
    {
        self.request_hooked(nl_type, flags, payload, &mut |_| Ok(()))
    }

    /// As [`NlConn::request`], calling `between(n)` after the `n`-th
    /// datagram of replies (from 1) when more are to come: a dump is then
    /// half read, and the kernel builds the next part only when asked.
    pub fn request_hooked<T, P, R>(
        &self,
        nl_type: T,
        flags: NlmF,
        payload: P,
        between: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<R>>
    where
        T: NlType + Debug,
        P: Size + ToBytes + Debug,
        R: Size + FromBytesWithInput<Input = usize>,
    {
        let seq = self.seq.get();
        self.seq.set(seq.wrapping_add(1));
        let dump = flags.contains(NlmF::DUMP);
        let flags = if dump { flags } else { flags | NlmF::ACK };
        let msg = NlmsghdrBuilder::default()
            .nl_type(nl_type)
            .nl_flags(flags | NlmF::REQUEST)
            .nl_seq(seq)
            .nl_pid(self.sock.pid())
            .nl_payload(NlPayload::Payload(payload))
            .build()?;
        self.sock.send(&msg)?;

        let mut replies = Vec::new();
        let mut datagrams = 0;
        loop {
            let (msgs, _groups) = self.sock.recv::<u16, Buffer>()?;
            for msg in msgs {
                let msg = msg?;
                if *msg.nl_seq() != seq {
                    continue;
                }
                if reply_step(&msg, &mut replies)? {
                    return Ok(replies);
                }
            }
            datagrams += 1;
            between(datagrams)?;
        }
    }

    /// Waits for the next datagram and returns the messages it holds of
    /// netlink type `nl_type` (used to receive multicast notifications).
    pub fn recv_messages<R>(&self, nl_type: u16) -> Result<Vec<R>>
    where
        R: Size + FromBytesWithInput<Input = usize>,
    {
        let (msgs, _groups) = self.sock.recv::<u16, Buffer>()?;
        let mut out = Vec::new();
        for msg in msgs {
            let msg = msg?;
            if *msg.nl_type() != nl_type {
                continue;
            }
            if let NlPayload::Payload(buf) = msg.nl_payload() {
                out.push(parse_payload(buf)?);
            }
        }
        Ok(out)
    }
}

/// The socket's descriptor, to wait for it with `poll(2)` and to keep it
/// across a `fork(2)`.
impl AsRawFd for NlConn {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// Handles one reply message of a request: stores a payload in `replies`
/// and returns whether the exchange is complete, or the kernel's error.
fn reply_step<R>(msg: &Nlmsghdr<u16, Buffer>, replies: &mut Vec<R>) -> Result<bool>
where
    R: Size + FromBytesWithInput<Input = usize>,
{
    let is_done = *msg.nl_type() == u16::from(Nlmsg::Done);
    match msg.nl_payload() {
        NlPayload::Err(e) => Err(Error::netlink(*e.error(), extack_msg(e.ext_ack()))),
        NlPayload::DumpExtAck(e) if *e.error() != 0 => {
            Err(Error::netlink(*e.error(), extack_msg(e.ext_ack())))
        }
        NlPayload::Ack(_) | NlPayload::DumpExtAck(_) => Ok(true),
        NlPayload::Empty => Ok(is_done),
        NlPayload::Payload(_) if is_done => Ok(true),
        NlPayload::Payload(buf) => {
            if *msg.nl_type() != u16::from(Nlmsg::Noop) {
                replies.push(parse_payload(buf)?);
            }
            Ok(false)
        }
    }
}

/// Parses a message payload received as raw bytes into its typed form.
fn parse_payload<R>(buf: &Buffer) -> Result<R>
where
    R: Size + FromBytesWithInput<Input = usize>,
{
    Ok(R::from_bytes_with_input(
        &mut Cursor::new(buf.as_ref()),
        buf.len(),
    )?)
}

/// The text of the `NLMSGERR_ATTR_MSG` extended ACK attribute, if present.
fn extack_msg(ext_ack: &GenlBuffer<NlmsgerrAttr, Buffer>) -> Option<String> {
    ext_ack
        .iter()
        .find(|a| *a.nla_type().nla_type() == NlmsgerrAttr::Msg)
        .map(|a| {
            let bytes = a.nla_payload().as_ref();
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            String::from_utf8_lossy(&bytes[..end]).into_owned()
        })
        .filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use neli::{
        consts::genl::{CtrlAttr, CtrlCmd},
        genl::{Genlmsghdr, GenlmsghdrBuilder, NoUserHeader},
        FromBytes,
    };

    /// A `struct nlmsghdr` followed by `payload`.
    fn nlmsg(ty: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len() as u32;
        let mut b = Vec::new();
        b.extend(len.to_ne_bytes());
        b.extend(ty.to_ne_bytes());
        b.extend(flags.to_ne_bytes());
        b.extend(7u32.to_ne_bytes()); // seq
        b.extend(0u32.to_ne_bytes()); // pid
        b.extend(payload);
        b
    }

    /// An `NLMSGERR_ATTR_MSG` attribute holding `msg` (NUL-terminated, padded).
    fn msg_attr(msg: &str) -> Vec<u8> {
        let len = 4 + msg.len() as u16 + 1;
        let mut b = Vec::new();
        b.extend(len.to_ne_bytes());
        b.extend(1u16.to_ne_bytes());
        b.extend(msg.as_bytes());
        b.push(0);
        b.resize(b.len().next_multiple_of(4), 0);
        b
    }

    fn step(bytes: &[u8]) -> (Result<bool>, usize) {
        let msg = Nlmsghdr::<u16, Buffer>::from_bytes(&mut Cursor::new(bytes)).unwrap();
        let mut replies: Vec<Buffer> = Vec::new();
        let r = reply_step(&msg, &mut replies);
        (r, replies.len())
    }

    const NLMSG_ERROR: u16 = libc::NLMSG_ERROR as u16;
    const NLMSG_DONE: u16 = libc::NLMSG_DONE as u16;
    const MULTI: u16 = libc::NLM_F_MULTI as u16;
    const ACK_TLVS: u16 = libc::NLM_F_ACK_TLVS as u16;

    #[test]
    fn error_with_extack_message() {
        // error, the echoed request (header + 4 bytes), then the TLVs.
        let mut payload = (-libc::EINVAL).to_ne_bytes().to_vec();
        payload.extend(nlmsg(0x22, 0x5, &[1, 0, 0, 0]));
        payload.extend([8, 0, 2, 0, 20, 0, 0, 0]); // NLMSGERR_ATTR_OFFS = 20
        payload.extend(msg_attr("ovpn-dco: mode must be 0 (P2P) or 1 (MP)"));
        let (r, n) = step(&nlmsg(NLMSG_ERROR, ACK_TLVS, &payload));
        assert_eq!(
            r.unwrap_err().to_string(),
            "EINVAL (22): ovpn-dco: mode must be 0 (P2P) or 1 (MP)"
        );
        assert_eq!(n, 0);
    }

    #[test]
    fn error_without_extack() {
        let mut payload = (-libc::ENOENT).to_ne_bytes().to_vec();
        payload.extend(nlmsg(0x22, 0x5, &[]));
        let (r, _) = step(&nlmsg(NLMSG_ERROR, 0, &payload));
        assert_eq!(r.unwrap_err(), Error::netlink(-libc::ENOENT, None));
    }

    #[test]
    fn dump_error_in_done() {
        let mut payload = (-libc::ENODEV).to_ne_bytes().to_vec();
        payload.extend(msg_attr("ovpn-dco: no device with this ifindex"));
        let (r, _) = step(&nlmsg(NLMSG_DONE, MULTI | ACK_TLVS, &payload));
        assert_eq!(
            r.unwrap_err().to_string(),
            "ENODEV (19): ovpn-dco: no device with this ifindex"
        );
    }

    #[test]
    fn done_ack_and_payload() {
        let (r, _) = step(&nlmsg(NLMSG_DONE, MULTI, &0i32.to_ne_bytes()));
        assert_eq!(r, Ok(true));
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend(nlmsg(0x22, 0x5, &[]));
        let (r, _) = step(&nlmsg(NLMSG_ERROR, libc::NLM_F_CAPPED as u16, &ack));
        assert_eq!(r, Ok(true));
        let (r, n) = step(&nlmsg(0x22, MULTI, &[7, 1, 0, 0]));
        assert_eq!((r, n), (Ok(false), 1));
    }

    /// Talks to the generic netlink controller, present in every kernel: a
    /// do request (reply then ACK) and a dump (messages then `NLMSG_DONE`).
    #[test]
    fn controller_do_and_dump() {
        let conn = NlConn::connect(NlFamily::Generic).unwrap();
        let family = crate::genl::Family::resolve(&conn, "nlctrl").unwrap();
        assert_eq!(family.id, u16::from(neli::consts::nl::GenlId::Ctrl));
        assert!(family.group("notify").is_ok());

        let req = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr, NoUserHeader>::default()
            .cmd(CtrlCmd::Getfamily)
            .version(2)
            .build()
            .unwrap();
        let all: Vec<Genlmsghdr<CtrlCmd, CtrlAttr>> = conn
            .request(neli::consts::nl::GenlId::Ctrl, NlmF::DUMP, req)
            .unwrap();
        assert!(!all.is_empty());

        let e = crate::genl::Family::resolve(&conn, "nosuchfam").unwrap_err();
        assert_eq!(e.exit_code(), libc::ENOENT, "{e}");

        // A name longer than GENL_NAMSIZ - 1 fails the controller's policy,
        // which reports it through the extended ACK.
        let e = crate::genl::Family::resolve(&conn, "a-family-name-too-long").unwrap_err();
        assert_eq!(e.exit_code(), libc::EINVAL, "{e}");
        assert!(matches!(e, Error::Netlink { msg: Some(_), .. }), "{e}");
    }
}
