// SPDX-License-Identifier: GPL-2.0

//! Generic netlink requests of the `ovpn-dco-v2` family.
//!
//! Each request is built as a [`Request`]: the command and its attributes,
//! `OVPN_ATTR_IFINDEX` plus the command's nest (with `NLA_F_NESTED` set).
//! Building is pure, so the exact bytes are unit-tested; [`Ovpn`] resolves
//! the family and sends requests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use neli::{
    consts::{
        genl::{CtrlAttr, CtrlAttrMcastGrp, CtrlCmd, Index},
        nl::{GenlId, NlmF},
        socket::NlFamily,
    },
    genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder, NoUserHeader},
    types::{Buffer, GenlBuffer},
    Size, ToBytes,
};
use ovpn_dco_proto::uapi;

use crate::{
    error::{Error, Result},
    keys::DirKey,
    nl::NlConn,
    sockaddr,
};

/// A generic netlink message of the family: `u8` commands, `u16`
/// attribute types.
pub type OvpnMsg = Genlmsghdr<u8, u16>;

/// The version field of `CTRL_CMD_GETFAMILY` requests.
const CTRL_VERSION: u8 = 2;

/// Converts an ABI attribute number (declared `u32` in [`uapi`]) to the
/// 14-bit type field of a netlink attribute.
pub const fn nla(ty: u32) -> u16 {
    assert!(ty < 1 << 14, "netlink attribute type out of range");
    ty as u16
}

/// Converts an ABI command number (declared `u32` in [`uapi`]) to the `u8`
/// command field of the generic netlink header.
pub const fn genl_cmd(cmd: u32) -> u8 {
    assert!(
        cmd <= u8::MAX as u32,
        "generic netlink command out of range"
    );
    cmd as u8
}

/// Builds an attribute of ABI type `ty` holding the bytes of `payload`
/// (integers in host byte order, as the kernel's `nla_get_u*` expect).
pub fn attr<P: Size + ToBytes>(ty: u32, payload: P) -> Result<Nlattr<u16, Buffer>> {
    Ok(NlattrBuilder::default()
        .nla_type(AttrTypeBuilder::default().nla_type(nla(ty)).build()?)
        .nla_payload(payload)
        .build()?)
}

/// Builds a nested attribute of ABI type `ty` (with `NLA_F_NESTED`)
/// holding `children`.
pub fn nest(ty: u32, children: &[Nlattr<u16, Buffer>]) -> Result<Nlattr<u16, Buffer>> {
    let mut nest = NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(nla(ty))
                .nla_nested(true)
                .build()?,
        )
        .nla_payload(Buffer::new())
        .build()?;
    for child in children {
        nest = nest.nest(child)?;
    }
    Ok(nest)
}

/// One request of the family: a command and its attributes.
#[derive(Debug)]
pub struct Request {
    /// The `OVPN_CMD_*` command.
    pub cmd: u32,
    /// Whether this is a dump (`NLM_F_DUMP`) rather than a do request.
    pub dump: bool,
    /// The top-level attributes.
    pub attrs: Vec<Nlattr<u16, Buffer>>,
}

impl Request {
    /// A do request for device `ifindex` with the command's nest.
    fn with_nest(
        cmd: u32,
        ifindex: u32,
        nest_ty: u32,
        children: &[Nlattr<u16, Buffer>],
    ) -> Result<Self> {
        Ok(Request {
            cmd,
            dump: false,
            attrs: vec![
                attr(uapi::OVPN_ATTR_IFINDEX, ifindex)?,
                nest(nest_ty, children)?,
            ],
        })
    }

    /// The generic netlink message (header and attributes) of the request.
    pub fn message(&self) -> Result<OvpnMsg> {
        Ok(GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
            .cmd(genl_cmd(self.cmd))
            .version(uapi::OVPN_NL_VERSION)
            .attrs(
                self.attrs
                    .iter()
                    .cloned()
                    .collect::<GenlBuffer<u16, Buffer>>(),
            )
            .build()?)
    }
}

/// The attributes of a new peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPeer {
    /// The peer id.
    pub peer_id: u32,
    /// The peer's transport address.
    pub remote: SocketAddr,
    /// The file descriptor of the UDP socket the peer uses.
    pub socket_fd: u32,
    /// The peer's IPv4 address inside the tunnel.
    pub vpn4: Option<Ipv4Addr>,
    /// The peer's IPv6 address inside the tunnel.
    pub vpn6: Option<Ipv6Addr>,
    /// The local address to send from.
    pub local_ip: Option<IpAddr>,
}

/// `OVPN_CMD_NEW_PEER`.
pub fn new_peer(ifindex: u32, p: &NewPeer) -> Result<Request> {
    let mut c = vec![
        attr(uapi::OVPN_NEW_PEER_ATTR_PEER_ID, p.peer_id)?,
        attr(
            uapi::OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE,
            sockaddr::encode(&p.remote),
        )?,
        attr(uapi::OVPN_NEW_PEER_ATTR_SOCKET, p.socket_fd)?,
    ];
    if let Some(ip) = p.vpn4 {
        c.push(attr(uapi::OVPN_NEW_PEER_ATTR_IPV4, ip.octets())?);
    }
    if let Some(ip) = p.vpn6 {
        c.push(attr(uapi::OVPN_NEW_PEER_ATTR_IPV6, ip.octets())?);
    }
    if let Some(ip) = p.local_ip {
        c.push(attr(
            uapi::OVPN_NEW_PEER_ATTR_LOCAL_IP,
            sockaddr::ip_bytes(&ip),
        )?);
    }
    Request::with_nest(
        uapi::OVPN_CMD_NEW_PEER,
        ifindex,
        uapi::OVPN_ATTR_NEW_PEER,
        &c,
    )
}

/// `OVPN_CMD_SET_PEER`: the keepalive interval and timeout, in seconds.
pub fn set_peer(ifindex: u32, peer_id: u32, interval: u32, timeout: u32) -> Result<Request> {
    let c = [
        attr(uapi::OVPN_SET_PEER_ATTR_PEER_ID, peer_id)?,
        attr(uapi::OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL, interval)?,
        attr(uapi::OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT, timeout)?,
    ];
    Request::with_nest(
        uapi::OVPN_CMD_SET_PEER,
        ifindex,
        uapi::OVPN_ATTR_SET_PEER,
        &c,
    )
}

/// `OVPN_CMD_DEL_PEER`.
pub fn del_peer(ifindex: u32, peer_id: u32) -> Result<Request> {
    let c = [attr(uapi::OVPN_DEL_PEER_ATTR_PEER_ID, peer_id)?];
    Request::with_nest(
        uapi::OVPN_CMD_DEL_PEER,
        ifindex,
        uapi::OVPN_ATTR_DEL_PEER,
        &c,
    )
}

/// The attributes of a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The peer id.
    pub peer_id: u32,
    /// `OVPN_KEY_SLOT_PRIMARY` or `OVPN_KEY_SLOT_SECONDARY` (any value can
    /// be sent, to test rejection).
    pub slot: u8,
    /// The key id carried in data packets.
    pub key_id: u8,
    /// An `OVPN_CIPHER_ALG_*` value.
    pub cipher_alg: u16,
    /// The key material to encrypt with.
    pub encrypt: DirKey,
    /// The key material to decrypt with.
    pub decrypt: DirKey,
}

/// A key-direction nest (`OVPN_KEY_DIR_ATTR_*`).
fn key_dir_nest(ty: u32, k: &DirKey) -> Result<Nlattr<u16, Buffer>> {
    nest(
        ty,
        &[
            attr(uapi::OVPN_KEY_DIR_ATTR_CIPHER_KEY, k.key.as_slice())?,
            attr(uapi::OVPN_KEY_DIR_ATTR_NONCE_TAIL, k.nonce_tail)?,
        ],
    )
}

/// `OVPN_CMD_NEW_KEY`.
pub fn new_key(ifindex: u32, k: &NewKey) -> Result<Request> {
    let c = [
        attr(uapi::OVPN_NEW_KEY_ATTR_PEER_ID, k.peer_id)?,
        attr(uapi::OVPN_NEW_KEY_ATTR_KEY_SLOT, k.slot)?,
        attr(uapi::OVPN_NEW_KEY_ATTR_KEY_ID, k.key_id)?,
        attr(uapi::OVPN_NEW_KEY_ATTR_CIPHER_ALG, k.cipher_alg)?,
        key_dir_nest(uapi::OVPN_NEW_KEY_ATTR_ENCRYPT_KEY, &k.encrypt)?,
        key_dir_nest(uapi::OVPN_NEW_KEY_ATTR_DECRYPT_KEY, &k.decrypt)?,
    ];
    Request::with_nest(uapi::OVPN_CMD_NEW_KEY, ifindex, uapi::OVPN_ATTR_NEW_KEY, &c)
}

/// `OVPN_CMD_SWAP_KEYS`.
pub fn swap_keys(ifindex: u32, peer_id: u32) -> Result<Request> {
    let c = [attr(uapi::OVPN_SWAP_KEYS_ATTR_PEER_ID, peer_id)?];
    Request::with_nest(
        uapi::OVPN_CMD_SWAP_KEYS,
        ifindex,
        uapi::OVPN_ATTR_SWAP_KEYS,
        &c,
    )
}

/// `OVPN_CMD_DEL_KEY`.
pub fn del_key(ifindex: u32, peer_id: u32, slot: u8) -> Result<Request> {
    let c = [
        attr(uapi::OVPN_DEL_KEY_ATTR_PEER_ID, peer_id)?,
        attr(uapi::OVPN_DEL_KEY_ATTR_KEY_SLOT, slot)?,
    ];
    Request::with_nest(uapi::OVPN_CMD_DEL_KEY, ifindex, uapi::OVPN_ATTR_DEL_KEY, &c)
}

/// `OVPN_CMD_GET_PEER`: of one peer, or a dump of all (only the ifindex).
pub fn get_peer(ifindex: u32, peer_id: Option<u32>) -> Result<Request> {
    match peer_id {
        Some(id) => {
            let c = [attr(uapi::OVPN_GET_PEER_ATTR_PEER_ID, id)?];
            Request::with_nest(
                uapi::OVPN_CMD_GET_PEER,
                ifindex,
                uapi::OVPN_ATTR_GET_PEER,
                &c,
            )
        }
        None => Ok(Request {
            cmd: uapi::OVPN_CMD_GET_PEER,
            dump: true,
            attrs: vec![attr(uapi::OVPN_ATTR_IFINDEX, ifindex)?],
        }),
    }
}

/// What the generic netlink controller says about a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// The family name.
    pub name: String,
    /// The dynamic family id (the netlink message type of its messages).
    pub id: u16,
    /// The family's version.
    pub version: u32,
    /// The multicast groups: name and id.
    pub groups: Vec<(String, u32)>,
}

impl Family {
    /// Asks the controller (`CTRL_CMD_GETFAMILY`) about family `name`.  An
    /// unknown family (after the kernel's attempt to autoload its module)
    /// gives `ENOENT`.
    pub fn resolve(conn: &NlConn, name: &str) -> Result<Self> {
        let req = GenlmsghdrBuilder::<CtrlCmd, CtrlAttr, NoUserHeader>::default()
            .cmd(CtrlCmd::Getfamily)
            .version(CTRL_VERSION)
            .attrs(
                std::iter::once(
                    NlattrBuilder::default()
                        .nla_type(
                            AttrTypeBuilder::default()
                                .nla_type(CtrlAttr::FamilyName)
                                .build()?,
                        )
                        .nla_payload(name)
                        .build()?,
                )
                .collect::<GenlBuffer<_, _>>(),
            )
            .build()?;
        let replies: Vec<Genlmsghdr<CtrlCmd, CtrlAttr>> =
            conn.request(GenlId::Ctrl, NlmF::empty(), req)?;
        let reply = replies
            .first()
            .ok_or_else(|| Error::other(format!("no reply about family {name}")))?;
        let attrs = reply.attrs().get_attr_handle();
        let mut family = Family {
            name: attrs.get_attr_payload_as_with_len::<String>(CtrlAttr::FamilyName)?,
            id: attrs.get_attr_payload_as::<u16>(CtrlAttr::FamilyId)?,
            version: attrs.get_attr_payload_as::<u32>(CtrlAttr::Version)?,
            groups: Vec::new(),
        };
        if let Ok(groups) = attrs.get_nested_attributes::<Index>(CtrlAttr::McastGroups) {
            for group in groups.iter() {
                let g = group.get_attr_handle::<CtrlAttrMcastGrp>()?;
                family.groups.push((
                    g.get_attr_payload_as_with_len::<String>(CtrlAttrMcastGrp::Name)?,
                    g.get_attr_payload_as::<u32>(CtrlAttrMcastGrp::Id)?,
                ));
            }
        }
        Ok(family)
    }

    /// The id of multicast group `name`.
    pub fn group(&self, name: &str) -> Result<u32> {
        self.groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| {
                Error::other(format!(
                    "family {} has no multicast group {name}",
                    self.name
                ))
            })
    }
}

/// A generic netlink socket talking to the `ovpn-dco-v2` family.
pub struct Ovpn {
    /// The generic netlink socket.
    conn: NlConn,
    /// The resolved family.
    pub family: Family,
}

impl Ovpn {
    /// Opens a socket and resolves the family.
    pub fn connect() -> Result<Self> {
        let conn = NlConn::connect(NlFamily::Generic)?;
        let family = Family::resolve(&conn, uapi::OVPN_NL_NAME)?;
        Ok(Ovpn { conn, family })
    }

    /// Opens a socket for `family`, resolved before: no controller lookup
    /// (which could autoload the module again).  A request to a family
    /// unregistered since fails with `ENOENT`.
    pub fn with_family(family: Family) -> Result<Self> {
        let conn = NlConn::connect(NlFamily::Generic)?;
        Ok(Ovpn { conn, family })
    }

    /// Sends a request and returns the replies (none for most commands).
    pub fn execute(&self, req: &Request) -> Result<Vec<OvpnMsg>> {
        self.execute_hooked(req, &mut |_| Ok(()))
    }

    /// As [`Ovpn::execute`], with `between` called between the datagrams
    /// of a dump (see [`NlConn::request_hooked`]).
    pub fn execute_hooked(
        &self,
        req: &Request,
        between: &mut dyn FnMut(usize) -> Result<()>,
    ) -> Result<Vec<OvpnMsg>> {
        let flags = if req.dump { NlmF::DUMP } else { NlmF::empty() };
        self.conn
            .request_hooked(self.family.id, flags, req.message()?, between)
    }

    /// Joins multicast group `name` of the family and returns the socket,
    /// which then receives its notifications.
    pub fn into_listener(self, group: &str) -> Result<(NlConn, Family)> {
        self.conn.join_group(self.family.group(group)?)?;
        Ok((self.conn, self.family))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Serializes a message the way it goes on the wire.
    fn bytes(msg: &OvpnMsg) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        c.into_inner()
    }

    /// An attribute header: length and type in host byte order.
    fn hdr(len: u16, ty: u16) -> Vec<u8> {
        [len.to_ne_bytes(), ty.to_ne_bytes()].concat()
    }

    const NESTED: u16 = 1 << 15;

    #[test]
    fn new_key_request_bytes() {
        let k = NewKey {
            peer_id: 0x0102_0304,
            slot: uapi::OVPN_KEY_SLOT_SECONDARY,
            key_id: 7,
            cipher_alg: uapi::OVPN_CIPHER_ALG_AES_GCM,
            encrypt: DirKey {
                key: (0x10..0x20).collect(),
                nonce_tail: [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7],
            },
            decrypt: DirKey {
                key: (0x30..0x40).collect(),
                nonce_tail: [0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7],
            },
        };
        let got = bytes(&new_key(42, &k).unwrap().message().unwrap());

        // genlmsghdr: cmd NEW_KEY (4), version 1, reserved.
        let mut want = vec![4, 1, 0, 0];
        // OVPN_ATTR_IFINDEX (1) = 42.
        want.extend(hdr(8, 1));
        want.extend(42u32.to_ne_bytes());
        // OVPN_ATTR_NEW_KEY (5), nested: 4 + 8 + 8 + 8 + 8 + 36 + 36 = 108.
        want.extend(hdr(108, 5 | NESTED));
        want.extend(hdr(8, 1)); // PEER_ID
        want.extend(0x0102_0304u32.to_ne_bytes());
        want.extend(hdr(5, 2)); // KEY_SLOT = 1, 3 bytes of padding
        want.extend([1, 0, 0, 0]);
        want.extend(hdr(5, 3)); // KEY_ID = 7
        want.extend([7, 0, 0, 0]);
        want.extend(hdr(6, 4)); // CIPHER_ALG = 1 (AES-GCM), 2 bytes of padding
        want.extend(1u16.to_ne_bytes());
        want.extend([0, 0]);
        // ENCRYPT_KEY (5), nested: 4 + (4 + 16) + (4 + 8) = 36.
        want.extend(hdr(36, 5 | NESTED));
        want.extend(hdr(20, 1)); // CIPHER_KEY
        want.extend(0x10..0x20u8);
        want.extend(hdr(12, 2)); // NONCE_TAIL
        want.extend(0xa0..0xa8u8);
        // DECRYPT_KEY (6), nested.
        want.extend(hdr(36, 6 | NESTED));
        want.extend(hdr(20, 1));
        want.extend(0x30..0x40u8);
        want.extend(hdr(12, 2));
        want.extend(0xb0..0xb8u8);

        assert_eq!(want.len(), 4 + 8 + 108);
        assert_eq!(got, want);
    }

    #[test]
    fn new_peer_request_bytes() {
        let p = NewPeer {
            peer_id: 9,
            remote: "192.0.2.1:1194".parse().unwrap(),
            socket_fd: 3,
            vpn4: Some("10.8.0.2".parse().unwrap()),
            vpn6: None,
            local_ip: None,
        };
        let got = bytes(&new_peer(5, &p).unwrap().message().unwrap());
        let mut want = vec![1, 1, 0, 0];
        want.extend(hdr(8, 1));
        want.extend(5u32.to_ne_bytes());
        // NEW_PEER nest: 4 + 8 (id) + 20 (sockaddr_in) + 8 (fd) + 8 (ipv4).
        want.extend(hdr(48, 2 | NESTED));
        want.extend(hdr(8, 1));
        want.extend(9u32.to_ne_bytes());
        want.extend(hdr(20, 2));
        want.extend(sockaddr::encode(&p.remote));
        want.extend(hdr(8, 3));
        want.extend(3u32.to_ne_bytes());
        want.extend(hdr(8, 4));
        want.extend([10, 8, 0, 2]);
        assert_eq!(got, want);
    }

    #[test]
    fn get_peer_dump_carries_only_ifindex() {
        let req = get_peer(3, None).unwrap();
        assert!(req.dump);
        let mut want = vec![7, 1, 0, 0];
        want.extend(hdr(8, 1));
        want.extend(3u32.to_ne_bytes());
        assert_eq!(bytes(&req.message().unwrap()), want);

        let req = get_peer(3, Some(4)).unwrap();
        assert!(!req.dump);
        want.extend(hdr(12, 8 | NESTED));
        want.extend(hdr(8, 1));
        want.extend(4u32.to_ne_bytes());
        assert_eq!(bytes(&req.message().unwrap()), want);
    }

    #[test]
    fn del_peer_uses_attr_2_for_the_id() {
        let got = bytes(&del_peer(1, 6).unwrap().message().unwrap());
        let mut want = vec![3, 1, 0, 0];
        want.extend(hdr(8, 1));
        want.extend(1u32.to_ne_bytes());
        want.extend(hdr(12, 4 | NESTED));
        want.extend(hdr(8, 2));
        want.extend(6u32.to_ne_bytes());
        assert_eq!(got, want);
    }

    #[test]
    fn empty_nest_is_flagged() {
        let n = nest(uapi::OVPN_ATTR_SWAP_KEYS, &[]).unwrap();
        assert!(*n.nla_type().nla_nested());
        assert_eq!(*n.nla_len(), 4);
    }
}
