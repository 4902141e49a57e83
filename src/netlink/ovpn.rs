// SPDX-License-Identifier: GPL-2.0

//! Linux's `ovpn` family (OpenVPN 2.7): its requests and its peer writer,
//! for devices of link kind `ovpn`.  The policies (ranges, sizes, which
//! attributes each command accepts) are in `compat/ovpn_nl_gen.c` and were
//! checked by the genetlink core; the rules the policies cannot express
//! are `proto::ovpn_rules`.  Errnos, and which attribute a refusal names
//! as missing or bad, are those of Linux's driver (docs/ovpn-family.md
//! §1.5); the messages are the module's own, prefixed `"ovpn: "`.

use super::ovpn;
use crate::abstractions::genl::{Dump, GenlInfo, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::nl::{Attr, Nested, Policy};
use crate::abstractions::socket::{Socket, Transport};
use crate::crypto::{KeyDir, KeySlot, Slot};
use crate::netdev::{ovpn_of, Api, Mode, Ovpn};
use crate::peer::{self, Peer, PeerConfig, PeerSock, VpnAddrs};
use crate::proto::aead::CipherAlg;
use crate::proto::ovpn_rules::{self, Errno, PeerAttrs, Refusal};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::uapi_ovpn::*;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;

/// Resolves `OVPN_A_IFINDEX` to an `ovpn` device in the caller's
/// namespace.  Missing: `EINVAL` (reported missing); unknown: `ENODEV`;
/// not a device of kind `ovpn`: `EINVAL` naming the attribute.
fn lookup_dev(info: &GenlInfo<'_>) -> Result<ARef<NetDevice>> {
    let extack = info.extack();
    let Some(attr) = info.attr(OVPN_A_IFINDEX) else {
        extack.missing(None, OVPN_A_IFINDEX);
        return Err(EINVAL);
    };
    let ifindex = attr.get_u32()?;
    let dev = i32::try_from(ifindex)
        .ok()
        .and_then(|i| info.net().dev_get_by_index(i));
    let Some(dev) = dev else {
        extack.msg(c"ovpn: no interface with this ifindex");
        return Err(ENODEV);
    };
    if ovpn_of(&dev).is_none_or(|o| o.api() != Api::Ovpn) {
        extack.bad_attr(&attr);
        extack.msg(c"ovpn: the interface is not an ovpn device");
        return Err(EINVAL);
    }
    Ok(dev)
}

/// Reports a refusal of `proto::ovpn_rules` about the peer nest `nest`.
fn refuse(info: &GenlInfo<'_>, nest: &Nested<'_>, r: Refusal) -> Error {
    let extack = info.extack();
    if let Some(ty) = r.missing {
        extack.missing(Some(&nest.nest()), ty);
    }
    if let Some(msg) = r.msg {
        extack.msg(msg);
    }
    match r.errno {
        Errno::Inval => EINVAL,
        Errno::AddrNotAvail => crate::abstractions::eaddrnotavail(),
    }
}

/// Sets `msg` on the request's extack and returns `err`.
fn fail(info: &GenlInfo<'_>, msg: &'static CStr, err: Error) -> Error {
    info.extack().msg(msg);
    err
}

/// Parses the peer nest of the request (command `cmd`'s policy).
fn peer_nest<'a>(info: &GenlInfo<'a>) -> Result<Nested<'a>> {
    let policy = Policy::for_ovpn_cmd(info.cmd()).ok_or(EINVAL)?;
    info.nest(OVPN_A_PEER, policy)
}

/// The peer id of a request (`OVPN_A_PEER_ID`, reported missing if absent;
/// the policy checked its range).
fn require_id(info: &GenlInfo<'_>, nest: &Nested<'_>) -> Result<u32> {
    match nest.get(OVPN_A_PEER_ID) {
        Some(a) => a.get_u32(),
        None => Err(refuse(info, nest, Refusal::missing(OVPN_A_PEER_ID))),
    }
}

/// A fixed-size attribute's payload (the policy checked the size).
fn array<const N: usize>(attr: Option<Attr<'_>>) -> Result<Option<[u8; N]>> {
    attr.map(|a| <[u8; N]>::try_from(a.payload()).map_err(|_| EINVAL))
        .transpose()
}

/// What the peer nest carries, for `ovpn_rules`.
fn peer_attrs(nest: &Nested<'_>) -> Result<PeerAttrs> {
    let has = |t| nest.get(t).is_some();
    Ok(PeerAttrs {
        id: has(OVPN_A_PEER_ID),
        socket: has(OVPN_A_PEER_SOCKET),
        remote4: array(nest.get(OVPN_A_PEER_REMOTE_IPV4))?,
        remote6: array(nest.get(OVPN_A_PEER_REMOTE_IPV6))?,
        scope_id: has(OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID),
        remote_port: has(OVPN_A_PEER_REMOTE_PORT),
        local4: array(nest.get(OVPN_A_PEER_LOCAL_IPV4))?,
        local6: array(nest.get(OVPN_A_PEER_LOCAL_IPV6))?,
        vpn4: array(nest.get(OVPN_A_PEER_VPN_IPV4))?,
        vpn6: array(nest.get(OVPN_A_PEER_VPN_IPV6))?,
        keepalive_interval: has(OVPN_A_PEER_KEEPALIVE_INTERVAL),
        keepalive_timeout: has(OVPN_A_PEER_KEEPALIVE_TIMEOUT),
    })
}

/// The remote endpoint a request gives (IPv4, or IPv6 with its scope; a
/// v4-mapped IPv6 address is IPv4), and the local address to send from.
fn endpoint(nest: &Nested<'_>, a: &PeerAttrs) -> Result<Option<(SockAddr, Option<IpAddr>)>> {
    let port = match nest.get(OVPN_A_PEER_REMOTE_PORT) {
        Some(p) => u16::from_be_bytes(p.payload().try_into().map_err(|_| EINVAL)?),
        None => return Ok(None),
    };
    let (ip, scope_id) = match (a.remote4, a.remote6) {
        (Some(v4), _) => (IpAddr::V4(v4), 0),
        (None, Some(v6)) => match IpAddr::V6(v6).unmapped() {
            ip @ IpAddr::V4(_) => (ip, 0),
            ip => {
                let scope = nest.get(OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID);
                (ip, scope.map(|s| s.get_u32()).transpose()?.unwrap_or(0))
            }
        },
        (None, None) => return Ok(None),
    };
    let local = match (a.local4, a.local6) {
        (Some(v4), _) => Some(IpAddr::V4(v4)),
        (None, Some(v6)) => Some(IpAddr::V6(v6).unmapped()),
        (None, None) => None,
    };
    Ok(Some((SockAddr { ip, port, scope_id }, local)))
}

fn peer_new(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    let nest = peer_nest(info)?;
    let attrs = peer_attrs(&nest)?;
    let p2p = ovpn.mode() == Mode::P2p;
    ovpn_rules::check_new(&attrs, p2p).map_err(|r| refuse(info, &nest, r))?;
    let id = require_id(info, &nest)?;
    let tx_id = match nest.get(OVPN_A_PEER_TX_ID) {
        Some(a) => a.get_u32()?,
        None => id,
    };
    let vpn4 = ovpn_rules::vpn4_of(attrs.vpn4);
    let vpn6 = ovpn_rules::vpn6_of(attrs.vpn6);
    let keepalive = match (
        nest.get(OVPN_A_PEER_KEEPALIVE_INTERVAL),
        nest.get(OVPN_A_PEER_KEEPALIVE_TIMEOUT),
    ) {
        (Some(i), Some(t)) => Some((i.get_u32()?, t.get_u32()?)),
        _ => None,
    };
    let fd = nest.get(OVPN_A_PEER_SOCKET).ok_or(EINVAL)?.get_u32()?;
    // Every way the descriptor can fail to be a usable socket is ENOTSOCK.
    let sock = Socket::from_fd(fd).map_err(|e| {
        let msg = if e == crate::abstractions::eprotonosupport() {
            c"ovpn: the socket is neither UDP nor TCP"
        } else {
            c"ovpn: the peer's socket descriptor is not a socket"
        };
        fail(info, msg, crate::abstractions::enotsock())
    })?;
    let ep = endpoint(&nest, &attrs)?;
    let (remote, local) = match (sock.transport(), ep) {
        (Transport::Udp, None) => {
            return Err(fail(
                info,
                c"ovpn: a UDP peer needs a remote IP address",
                EINVAL,
            ))
        }
        (Transport::Tcp, Some(_)) => {
            return Err(fail(
                info,
                c"ovpn: a TCP peer takes no remote IP address",
                EINVAL,
            ))
        }
        (Transport::Udp, Some((r, l))) => (Some(r), l),
        (Transport::Tcp, None) => (None, None),
    };
    // The data path sends to an IPv6 remote through an IPv6 socket only.
    if remote.is_some_and(|r| matches!(r.ip, IpAddr::V6(_))) && !sock.is_ipv6() {
        return Err(fail(
            info,
            c"ovpn: an IPv6 remote needs an IPv6 socket",
            EINVAL,
        ));
    }
    let mut peers = ovpn.peers().lock();
    // Refused before the socket is touched: a TCP stream taken over and
    // given back again could lose what the parser read meanwhile.
    if !p2p && peers.get(id).is_some() {
        return Err(fail(info, c"ovpn: a peer with this id exists", EEXIST));
    }
    if !p2p && peers.vpn_conflict(ovpn.tables(), id, vpn4, vpn6) {
        return Err(fail(
            info,
            c"ovpn: the VPN IP address is assigned to another peer",
            crate::abstractions::eaddrinuse(),
        ));
    }
    // As C: a device going away and memory keep their errnos; whatever
    // else keeps the socket from serving the peer is ENOTSOCK.
    let transport = peers.transport(dev, &sock, id).map_err(|e| {
        if e == ENODEV {
            fail(info, c"ovpn: the device is being deleted", ENODEV)
        } else if e == ENOMEM {
            fail(info, c"ovpn: out of memory", ENOMEM)
        } else {
            fail(
                info,
                c"ovpn: cannot use the socket for the peer",
                crate::abstractions::enotsock(),
            )
        }
    })?;
    let peer = Peer::new(
        dev,
        PeerConfig {
            id,
            tx_id,
            sock: transport,
            remote,
            local,
            vpn4,
            vpn6,
        },
    );
    let peer = match peer {
        Ok(p) => p,
        Err(e) => {
            // Give back the transport no peer took.
            peers.gc_socks();
            return Err(e);
        }
    };
    if let Some((interval, timeout)) = keepalive {
        peer.set_keepalive(interval, timeout);
    }
    let ticks = peer.keepalive_on();
    let replaced = peers.add(ovpn.tables(), peer).map_err(|e| {
        let msg = match e {
            e if e == EEXIST => c"ovpn: a peer with this id exists",
            e if e == ENODEV => c"ovpn: the interface is going away",
            _ => c"ovpn: cannot add the peer",
        };
        fail(info, msg, e)
    })?;
    if ticks {
        // The peer is in; without a tick it would never time out, so say.
        if let Err(e) = peers.start_ticking(dev) {
            pr_warn!("peer {}: keepalive not started ({:?})\n", id, e);
        }
    }
    ovpn.sync_carrier(dev, &peers);
    drop(peers);
    if let Some(old) = replaced {
        peer::announce_removed(dev, old, OVPN_DEL_PEER_REASON_TEARDOWN as u8);
    }
    Ok(())
}

fn peer_del(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    let nest = peer_nest(info)?;
    let id = require_id(info, &nest)?;
    let mut peers = ovpn.peers().lock();
    let Some(peer) = peers.remove(ovpn.tables(), id) else {
        return Err(fail(info, c"ovpn: no peer with this id", ENOENT));
    };
    ovpn.sync_carrier(dev, &peers);
    drop(peers);
    peer::announce_removed(dev, peer, OVPN_DEL_PEER_REASON_USERSPACE as u8);
    Ok(())
}

/// `PEER_SET`: changes what the request names (endpoint, VPN addresses,
/// TX id, keepalive), after checking all of it, so that a refused request
/// changes nothing.
fn peer_set(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    let nest = peer_nest(info)?;
    let attrs = peer_attrs(&nest)?;
    let p2p = ovpn.mode() == Mode::P2p;
    ovpn_rules::precheck(&attrs, p2p).map_err(|r| refuse(info, &nest, r))?;
    let id = require_id(info, &nest)?;
    let ep = endpoint(&nest, &attrs)?;
    let peers = ovpn.peers().lock();
    let Some(peer) = peers.get(id) else {
        return Err(fail(info, c"ovpn: no peer with this id", ENOENT));
    };
    if let Some((remote, _)) = &ep {
        let PeerSock::Udp(u) = peer.sock() else {
            return Err(fail(
                info,
                c"ovpn: a TCP peer takes no remote IP address",
                EINVAL,
            ));
        };
        // The data path sends to an IPv6 remote through an IPv6 socket only.
        if matches!(remote.ip, IpAddr::V6(_)) && !u.socket().is_ipv6() {
            return Err(fail(
                info,
                c"ovpn: an IPv6 remote needs an IPv6 socket",
                EINVAL,
            ));
        }
    }
    let (cur4, cur6) = peer.vpn_addrs();
    let (v4, v6) = ovpn_rules::merge_vpn(cur4, cur6, attrs.vpn4, attrs.vpn6);
    let vpn = VpnAddrs { v4, v6 };
    let given4 = ovpn_rules::vpn4_of(attrs.vpn4);
    let given6 = ovpn_rules::vpn6_of(attrs.vpn6);
    if peers.vpn_conflict(ovpn.tables(), id, given4, given6) {
        return Err(fail(
            info,
            c"ovpn: the VPN IP address is assigned to another peer",
            crate::abstractions::eaddrinuse(),
        ));
    }
    if !p2p {
        ovpn_rules::check_mp_vpn(vpn.v4, vpn.v6).map_err(|r| refuse(info, &nest, r))?;
    }
    let keepalive = match (
        nest.get(OVPN_A_PEER_KEEPALIVE_INTERVAL),
        nest.get(OVPN_A_PEER_KEEPALIVE_TIMEOUT),
    ) {
        (Some(i), Some(t)) => Some((i.get_u32()?, t.get_u32()?)),
        _ => None,
    };
    let tx_id = nest
        .get(OVPN_A_PEER_TX_ID)
        .map(|a| a.get_u32())
        .transpose()?;
    // Checked; from here only memory can run out.
    if let Some((remote, local)) = ep {
        peers.rebind(ovpn.tables(), &peer, remote, local)?;
    }
    peers.set_vpn(ovpn.tables(), &peer, vpn)?;
    if let Some(tx_id) = tx_id {
        peer.set_tx_id(tx_id);
    }
    if let Some((interval, timeout)) = keepalive {
        peer.set_keepalive(interval, timeout);
        if peer.keepalive_on() {
            let mut peers = peers;
            // Applied already: a tick that cannot start is said, as in NEW.
            if let Err(e) = peers.start_ticking(dev) {
                pr_warn!("peer {}: keepalive not started ({:?})\n", id, e);
            }
        }
    }
    Ok(())
}

fn peer_get(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    let nest = peer_nest(info)?;
    let id = require_id(info, &nest)?;
    if ovpn_rules::get_unexpected(|t| nest.get(t).is_some()).is_some() {
        return Err(fail(info, c"ovpn: PEER_GET takes the peer id only", EINVAL));
    }
    let Some(peer) = ovpn.peers().lock().get(id) else {
        return Err(fail(info, c"ovpn: no peer with this id", ENOENT));
    };
    let mut msg = GenlMsg::reply_to(info, OVPN_CMD_PEER_GET as u8)?;
    write_peer(info, &peer, &mut msg)?;
    msg.reply(info)
}

/// Reads a required attribute of the key nest `nest`: missing, it is
/// reported so (`EINVAL`, no message).
fn need<'a>(info: &GenlInfo<'a>, nest: &Nested<'a>, ty: u32) -> Result<Attr<'a>> {
    nest.get(ty).ok_or_else(|| {
        info.extack().missing(Some(&nest.nest()), ty);
        EINVAL
    })
}

/// Parses the key nest of the request (command `cmd`'s policy).
fn key_nest<'a>(info: &GenlInfo<'a>) -> Result<Nested<'a>> {
    let policy = Policy::for_ovpn_cmd(info.cmd()).ok_or(EINVAL)?;
    info.nest(OVPN_A_KEYCONF, policy)
}

/// A key slot attribute (the policy admitted 0 and 1 only).
fn slot(attr: Attr<'_>) -> Result<Slot> {
    match attr.get_u32()? {
        OVPN_KEY_SLOT_PRIMARY => Ok(Slot::Primary),
        OVPN_KEY_SLOT_SECONDARY => Ok(Slot::Secondary),
        _ => Err(EINVAL),
    }
}

/// The peer a key request names; `ENOENT` if none.
fn key_peer(info: &GenlInfo<'_>, ovpn: &Ovpn, nest: &Nested<'_>) -> Result<Arc<Peer>> {
    let id = need(info, nest, OVPN_A_KEYCONF_PEER_ID)?.get_u32()?;
    ovpn.peers()
        .lock()
        .get(id)
        .ok_or_else(|| fail(info, c"ovpn: no peer with this id", ENOENT))
}

/// One direction of a new key.  Its nest is parsed before the cipher is
/// looked at, so that a malformed nest is reported as such.
fn key_dir<'a>(info: &GenlInfo<'a>, attr: Attr<'a>, alg: Option<CipherAlg>) -> Result<KeyDir<'a>> {
    let dir = info.extack().parse_nested(attr, Policy::ovpn_key_dir())?;
    if alg.is_none() {
        return Err(fail(info, c"ovpn: the cipher is not supported", EINVAL));
    }
    let key = need(info, &dir, OVPN_A_KEYDIR_CIPHER_KEY)?;
    let tail = need(info, &dir, OVPN_A_KEYDIR_NONCE_TAIL)?;
    Ok(KeyDir {
        key: key.payload(),
        nonce_tail: tail.payload().try_into().map_err(|_| EINVAL)?,
    })
}

fn key_new(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    let nest = key_nest(info)?;
    need(info, &nest, OVPN_A_KEYCONF_PEER_ID)?;
    let slot = slot(need(info, &nest, OVPN_A_KEYCONF_SLOT)?)?;
    let key_id = need(info, &nest, OVPN_A_KEYCONF_KEY_ID)?.get_u32()?;
    let alg = need(info, &nest, OVPN_A_KEYCONF_CIPHER_ALG)?.get_u32()?;
    let enc = need(info, &nest, OVPN_A_KEYCONF_ENCRYPT_DIR)?;
    let dec = need(info, &nest, OVPN_A_KEYCONF_DECRYPT_DIR)?;
    let alg = u16::try_from(alg).ok().and_then(CipherAlg::from_abi);
    let enc = key_dir(info, enc, alg)?;
    let dec = key_dir(info, dec, alg)?;
    let (Some(alg), Ok(key_id)) = (alg, u8::try_from(key_id)) else {
        return Err(EINVAL);
    };
    let peer = key_peer(info, ovpn, &nest)?;
    // A key of the wrong size is what the cipher's setkey refuses.
    if !alg.key_len_ok(enc.key.len()) || !alg.key_len_ok(dec.key.len()) {
        return Err(fail(
            info,
            c"ovpn: the key size does not fit the cipher",
            EINVAL,
        ));
    }
    let key = KeySlot::new(key_id, alg, &enc, &dec)
        .inspect_err(|_| info.extack().msg(c"ovpn: cannot install the key"))?;
    super::install_key(ovpn, &peer, slot, key)
}

fn key_get(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    let nest = key_nest(info)?;
    need(info, &nest, OVPN_A_KEYCONF_PEER_ID)?;
    let slot_attr = need(info, &nest, OVPN_A_KEYCONF_SLOT)?;
    if nest.get(OVPN_A_KEYCONF_KEY_ID).is_some() || nest.get(OVPN_A_KEYCONF_CIPHER_ALG).is_some() {
        return Err(fail(
            info,
            c"ovpn: KEY_GET takes the peer id and the slot only",
            EINVAL,
        ));
    }
    let peer = key_peer(info, ovpn, &nest)?;
    let raw_slot = slot_attr.get_u32()?;
    let Some(key) = peer.keys.get(slot(slot_attr)?) else {
        return Err(fail(info, c"ovpn: no key in this slot", ENOENT));
    };
    let mut msg = GenlMsg::reply_to(info, OVPN_CMD_KEY_GET as u8)?;
    let n = msg.nest_start(OVPN_A_KEYCONF)?;
    msg.put_u32(OVPN_A_KEYCONF_PEER_ID, peer.id())?;
    msg.put_u32(OVPN_A_KEYCONF_SLOT, raw_slot)?;
    msg.put_u32(OVPN_A_KEYCONF_KEY_ID, u32::from(key.key_id()))?;
    msg.put_u32(OVPN_A_KEYCONF_CIPHER_ALG, u32::from(key.alg().to_abi()))?;
    msg.nest_end(n);
    msg.reply(info)
}

fn key_swap(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    let nest = key_nest(info)?;
    let peer = key_peer(info, ovpn, &nest)?;
    let _guard = ovpn.peers().lock();
    peer.keys.swap()
}

fn key_del(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    let nest = key_nest(info)?;
    need(info, &nest, OVPN_A_KEYCONF_PEER_ID)?;
    let slot = slot(need(info, &nest, OVPN_A_KEYCONF_SLOT)?)?;
    let peer = key_peer(info, ovpn, &nest)?;
    let _guard = ovpn.peers().lock();
    // An empty slot is no error: OpenVPN wipes both slots blindly.
    peer.keys.delete(slot)
}

/// Handles one request of the family.
pub(crate) fn doit(info: &GenlInfo<'_>) -> Result {
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    match u32::from(info.cmd()) {
        OVPN_CMD_PEER_NEW => peer_new(info, &dev, ovpn),
        OVPN_CMD_PEER_GET => peer_get(info, ovpn),
        OVPN_CMD_PEER_DEL => peer_del(info, &dev, ovpn),
        OVPN_CMD_PEER_SET => peer_set(info, &dev, ovpn),
        OVPN_CMD_KEY_NEW => key_new(info, ovpn),
        OVPN_CMD_KEY_GET => key_get(info, ovpn),
        OVPN_CMD_KEY_SWAP => key_swap(info, ovpn),
        OVPN_CMD_KEY_DEL => key_del(info, ovpn),
        // (The genl core only calls the family's commands.)
        _ => Err(crate::abstractions::eopnotsupp()),
    }
}

/// Dumps the peers of a device (`OVPN_CMD_PEER_GET` with `NLM_F_DUMP`),
/// as many per call as fit, in the order of their ids: the dump's cursor
/// is the lowest id not dumped yet, so that peers added or removed
/// between calls never make the dump skip or repeat another peer.
pub(crate) fn dumpit(info: &GenlInfo<'_>, dump: &mut Dump<'_>) -> Result {
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    let peers = ovpn.peers().lock();
    let mut next = dump.cursor();
    while let Some(peer) = peers
        .iter()
        .filter(|p| p.id() as usize >= next)
        .min_by_key(|p| p.id())
    {
        let Ok(mut entry) = dump.entry(OVPN_CMD_PEER_GET as u8) else {
            break;
        };
        if write_peer(info, peer, &mut entry).is_err() {
            // The skb is full: this entry is dropped and resent next call.
            break;
        }
        entry.end();
        next = peer.id() as usize + 1;
    }
    dump.set_cursor(next);
    Ok(())
}

/// Writes `peer` as a `PEER_GET` reply nest, in the attribute order of
/// Linux's driver.  `info` is the request, whose namespace decides
/// whether the socket's is named.
fn write_peer(info: &GenlInfo<'_>, peer: &Peer, msg: &mut impl MsgWriter) -> Result {
    let nest = msg.nest_start(OVPN_A_PEER)?;
    if let Some(nsid) = info.netns_id(peer.sock_net()) {
        msg.put_s32(OVPN_A_PEER_SOCKET_NETNSID, nsid)?;
    }
    msg.put_u32(OVPN_A_PEER_ID, peer.id())?;
    msg.put_u32(OVPN_A_PEER_TX_ID, peer.tx_id())?;
    let (vpn4, vpn6) = peer.vpn_addrs();
    if let Some(a) = &vpn4 {
        msg.put_bytes(OVPN_A_PEER_VPN_IPV4, a)?;
    }
    if let Some(a) = &vpn6 {
        msg.put_bytes(OVPN_A_PEER_VPN_IPV6, a)?;
    }
    let (interval, timeout) = peer.keepalive();
    msg.put_u32(OVPN_A_PEER_KEEPALIVE_INTERVAL, interval)?;
    msg.put_u32(OVPN_A_PEER_KEEPALIVE_TIMEOUT, timeout)?;
    if let Some((remote, local)) = peer.endpoints() {
        match remote.ip {
            IpAddr::V4(ip) => {
                msg.put_bytes(OVPN_A_PEER_REMOTE_IPV4, &ip)?;
                msg.put_be16(OVPN_A_PEER_REMOTE_PORT, remote.port)?;
                let l = match local {
                    Some(IpAddr::V4(l)) => l,
                    _ => [0; 4],
                };
                msg.put_bytes(OVPN_A_PEER_LOCAL_IPV4, &l)?;
            }
            IpAddr::V6(ip) => {
                msg.put_bytes(OVPN_A_PEER_REMOTE_IPV6, &ip)?;
                msg.put_u32(OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID, remote.scope_id)?;
                msg.put_be16(OVPN_A_PEER_REMOTE_PORT, remote.port)?;
                let l = match local {
                    Some(IpAddr::V6(l)) => l,
                    _ => [0; 16],
                };
                msg.put_bytes(OVPN_A_PEER_LOCAL_IPV6, &l)?;
            }
        }
    }
    msg.put_be16(OVPN_A_PEER_LOCAL_PORT, peer.local_port())?;
    let s = &peer.stats;
    let ld = |c: &AtomicU64| c.load(Ordering::Relaxed);
    msg.put_uint(OVPN_A_PEER_VPN_RX_BYTES, ld(&s.vpn_rx_bytes))?;
    msg.put_uint(OVPN_A_PEER_VPN_RX_PACKETS, ld(&s.vpn_rx_packets))?;
    msg.put_uint(OVPN_A_PEER_VPN_TX_BYTES, ld(&s.vpn_tx_bytes))?;
    msg.put_uint(OVPN_A_PEER_VPN_TX_PACKETS, ld(&s.vpn_tx_packets))?;
    msg.put_uint(OVPN_A_PEER_LINK_RX_BYTES, ld(&s.link_rx_bytes))?;
    msg.put_uint(OVPN_A_PEER_LINK_RX_PACKETS, ld(&s.link_rx_packets))?;
    msg.put_uint(OVPN_A_PEER_LINK_TX_BYTES, ld(&s.link_tx_bytes))?;
    msg.put_uint(OVPN_A_PEER_LINK_TX_PACKETS, ld(&s.link_tx_packets))?;
    msg.nest_end(nest);
    Ok(())
}
