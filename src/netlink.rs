// SPDX-License-Identifier: GPL-2.0

//! The `ovpn-dco-v2` generic netlink family: request handling.
//!
//! Every request names its device with `OVPN_ATTR_IFINDEX`, resolved in the
//! caller's network namespace.  The genetlink core has already checked the
//! caller's CAP_NET_ADMIN (`GENL_ADMIN_PERM`) and validated the attributes
//! strictly against the policies in `compat/netlink_gen.c`.

use crate::abstractions::genl::{Dump, GenlInfo, GenlMsg};
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::nl::{Attr, Nested};
use crate::abstractions::rtnl::driver_data;
use crate::abstractions::socket::{Socket, Transport};
use crate::netdev::{Mode, Ovpn, OvpnLink};
use crate::peer::{self, Peer, PeerConfig};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::uapi;
use crate::proto::wire::PEER_ID_UNDEF;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;

/// Resolves `OVPN_ATTR_IFINDEX` to an ovpn-dco device in the caller's
/// namespace: missing or not an ovpn-dco device gives `EINVAL`, an unknown
/// index `ENODEV`.
fn lookup_dev(info: &GenlInfo<'_>) -> Result<ARef<NetDevice>> {
    let extack = info.extack();
    let Some(attr) = info.attr(uapi::OVPN_ATTR_IFINDEX) else {
        extack.missing(None, uapi::OVPN_ATTR_IFINDEX);
        extack.msg(c"ovpn-dco: missing ifindex");
        return Err(EINVAL);
    };
    let ifindex = attr.get_u32()?;
    let dev = i32::try_from(ifindex)
        .ok()
        .and_then(|i| info.net().dev_get_by_index(i));
    let Some(dev) = dev else {
        extack.bad_attr(&attr);
        extack.msg(c"ovpn-dco: no device with this ifindex");
        return Err(ENODEV);
    };
    if driver_data::<OvpnLink>(&dev).is_none() {
        extack.bad_attr(&attr);
        extack.msg(c"ovpn-dco: device is not an ovpn-dco device");
        return Err(EINVAL);
    }
    Ok(dev)
}

/// The driver data of a device `lookup_dev` returned.
fn ovpn(dev: &NetDevice) -> Result<&Ovpn> {
    driver_data::<OvpnLink>(dev).ok_or(ENODEV)
}

/// Reads a required attribute of a nest, reporting it as missing otherwise.
fn require<'a>(info: &GenlInfo<'a>, nest: &Nested<'a>, ty: u32) -> Result<Attr<'a>> {
    nest.get(ty).ok_or_else(|| {
        let extack = info.extack();
        extack.missing(Some(&nest.nest()), ty);
        extack.msg(c"ovpn-dco: missing required attribute");
        EINVAL
    })
}

/// Reports `attr` as the culprit with `msg` and returns `err`.
fn reject(info: &GenlInfo<'_>, attr: &Attr<'_>, msg: &'static CStr, err: Error) -> Error {
    info.extack().bad_attr(attr);
    info.extack().msg(msg);
    err
}

/// Reads the peer id of a request (attribute `ty` of `nest`).
fn peer_id(info: &GenlInfo<'_>, nest: &Nested<'_>, ty: u32) -> Result<u32> {
    let attr = require(info, nest, ty)?;
    let id = attr.get_u32()?;
    if id > PEER_ID_UNDEF {
        return Err(reject(
            info,
            &attr,
            c"ovpn-dco: peer id must fit in 24 bits",
            EINVAL,
        ));
    }
    Ok(id)
}

/// Looks up the peer named by attribute `ty` of `nest`; `ENOENT` if none.
fn find_peer(info: &GenlInfo<'_>, ovpn: &Ovpn, nest: &Nested<'_>, ty: u32) -> Result<Arc<Peer>> {
    let id = peer_id(info, nest, ty)?;
    ovpn.peers().lock().get(id).ok_or_else(|| {
        let attr = nest.get(ty);
        if let Some(a) = attr {
            info.extack().bad_attr(&a);
        }
        info.extack().msg(c"ovpn-dco: no peer with this id");
        ENOENT
    })
}

fn new_peer(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_NEW_PEER)?;
    let id = peer_id(info, &nest, OVPN_NEW_PEER_ATTR_PEER_ID)?;
    let sock_attr = require(info, &nest, OVPN_NEW_PEER_ATTR_SOCKET)?;
    let sock = Socket::from_fd(sock_attr.get_u32()?).map_err(|e| {
        reject(
            info,
            &sock_attr,
            c"ovpn-dco: SOCKET is not a UDP or TCP socket of the caller",
            e,
        )
    })?;
    let mut remote = None;
    let mut local = None;
    if sock.transport() == Transport::Udp {
        let attr = require(info, &nest, OVPN_NEW_PEER_ATTR_SOCKADDR_REMOTE)?;
        let r = SockAddr::parse(attr.payload()).map_err(|_| {
            reject(
                info,
                &attr,
                c"ovpn-dco: remote must be a sockaddr_in or sockaddr_in6",
                EINVAL,
            )
        })?;
        if matches!(r.ip, IpAddr::V6(_)) && !sock.is_ipv6() {
            return Err(reject(
                info,
                &attr,
                c"ovpn-dco: IPv6 remote on an IPv4 socket",
                EINVAL,
            ));
        }
        if let Some(attr) = nest.get(OVPN_NEW_PEER_ATTR_LOCAL_IP) {
            let l = IpAddr::from_bytes(attr.payload())
                .filter(|l| l.same_family(&r.ip))
                .ok_or_else(|| {
                    reject(
                        info,
                        &attr,
                        c"ovpn-dco: local IP must be of the remote's family",
                        EINVAL,
                    )
                })?;
            local = Some(l);
        }
        remote = Some(r);
    }
    // A TCP socket is connected: a remote address given with it (as the
    // OpenVPN 2.6 client does) is ignored.
    let vpn4 = match nest.get(OVPN_NEW_PEER_ATTR_IPV4) {
        Some(a) => Some(<[u8; 4]>::try_from(a.payload()).map_err(|_| EINVAL)?),
        None => None,
    };
    let vpn6 = match nest.get(OVPN_NEW_PEER_ATTR_IPV6) {
        Some(a) => Some(<[u8; 16]>::try_from(a.payload()).map_err(|_| EINVAL)?),
        None => None,
    };
    let p2p = ovpn.mode() == Mode::P2p;
    if !p2p && vpn4.is_none() && vpn6.is_none() {
        info.extack()
            .msg(c"ovpn-dco: an MP peer needs a VPN IPv4 or IPv6 address");
        return Err(EINVAL);
    }
    let peer = Peer::new(PeerConfig {
        id,
        sock,
        remote,
        local,
        vpn4,
        vpn6,
    })?;
    let replaced = ovpn.peers().lock().add(peer, p2p).inspect_err(|e| {
        if *e == EEXIST {
            info.extack().msg(c"ovpn-dco: a peer with this id exists");
        }
    })?;
    if let Some(old) = replaced {
        peer::release(dev, old, OVPN_DEL_PEER_REASON_TEARDOWN);
    }
    Ok(())
}

fn set_peer(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_SET_PEER)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_SET_PEER_ATTR_PEER_ID)?;
    // Both values or nothing: a request with one of them is a no-op.
    if let (Some(i), Some(t)) = (
        nest.get(OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL),
        nest.get(OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT),
    ) {
        peer.set_keepalive(i.get_u32()?, t.get_u32()?);
    }
    Ok(())
}

fn del_peer(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_DEL_PEER)?;
    let id = peer_id(info, &nest, OVPN_DEL_PEER_ATTR_PEER_ID)?;
    let Some(peer) = ovpn.peers().lock().remove(id) else {
        info.extack().msg(c"ovpn-dco: no peer with this id");
        return Err(ENOENT);
    };
    peer::release(dev, peer, OVPN_DEL_PEER_REASON_USERSPACE);
    Ok(())
}

fn get_peer(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_GET_PEER)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_GET_PEER_ATTR_PEER_ID)?;
    let mut msg = GenlMsg::reply_to(info, OVPN_CMD_GET_PEER as u8)?;
    peer.fill(&mut msg)?;
    msg.reply(info)
}

/// Commands on keys: they need the data channel, which this build lacks.
/// They still validate the request and report a missing peer.
fn key_cmd(info: &GenlInfo<'_>, ovpn: &Ovpn, nest_ty: u32, id_ty: u32) -> Result {
    let nest = info.nested(nest_ty)?;
    find_peer(info, ovpn, &nest, id_ty)?;
    info.extack()
        .msg(c"ovpn-dco: keys are not supported by this build yet");
    Err(EOPNOTSUPP)
}

/// Handles one request of the family.
pub(crate) fn doit(info: &GenlInfo<'_>) -> Result {
    use uapi::*;
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    match u32::from(info.cmd()) {
        OVPN_CMD_NEW_PEER => new_peer(info, &dev, ovpn),
        OVPN_CMD_SET_PEER => set_peer(info, ovpn),
        OVPN_CMD_DEL_PEER => del_peer(info, &dev, ovpn),
        OVPN_CMD_GET_PEER => get_peer(info, ovpn),
        OVPN_CMD_NEW_KEY => key_cmd(info, ovpn, OVPN_ATTR_NEW_KEY, OVPN_NEW_KEY_ATTR_PEER_ID),
        OVPN_CMD_SWAP_KEYS => key_cmd(info, ovpn, OVPN_ATTR_SWAP_KEYS, OVPN_SWAP_KEYS_ATTR_PEER_ID),
        OVPN_CMD_DEL_KEY => key_cmd(info, ovpn, OVPN_ATTR_DEL_KEY, OVPN_DEL_KEY_ATTR_PEER_ID),
        _ => Err(EOPNOTSUPP),
    }
}

/// Dumps the peers of a device (`OVPN_CMD_GET_PEER` with `NLM_F_DUMP`),
/// as many per call as fit, resuming at the dump's cursor.
pub(crate) fn dumpit(info: &GenlInfo<'_>, dump: &mut Dump<'_>) -> Result {
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    let peers = ovpn.peers().lock();
    let start = dump.cursor();
    let mut n = start;
    for peer in peers.iter().skip(start) {
        let Ok(mut entry) = dump.entry(uapi::OVPN_CMD_GET_PEER as u8) else {
            break;
        };
        if peer.fill(&mut entry).is_err() {
            // The skb is full: this entry is dropped and resent next call.
            break;
        }
        entry.end();
        n += 1;
    }
    dump.set_cursor(n);
    Ok(())
}
