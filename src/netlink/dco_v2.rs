// SPDX-License-Identifier: GPL-2.0

//! The `ovpn-dco-v2` family (OpenVPN 2.6): its requests and its peer
//! writer.  Every request names its device with `OVPN_ATTR_IFINDEX`,
//! resolved in the caller's network namespace; the policies are in
//! `compat/netlink_gen.c`.

use super::{find_peer, lookup_dev, ovpn, peer_id, reject, require};
use crate::abstractions::genl::{Dump, GenlInfo, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::nl::{Attr, Nested, Policy};
use crate::abstractions::socket::{Socket, Transport};
use crate::crypto::{KeyDir, KeySlot, Slot};
use crate::netdev::{Mode, Ovpn};
use crate::peer::{self, Peer, PeerConfig};
use crate::proto::aead::{CipherAlg, NONCE_TAIL_LEN};
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::uapi;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;

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
    let mut peers = ovpn.peers().lock();
    // Refused before the socket is touched: a TCP stream taken over and
    // given back again could lose what the parser read meanwhile.
    if !p2p && peers.get(id).is_some() {
        info.extack().msg(c"ovpn-dco: a peer with this id exists");
        return Err(EEXIST);
    }
    let transport = peers.transport(dev, &sock, id).map_err(|e| {
        let msg = if e == crate::abstractions::enotconn() {
            c"ovpn-dco: a TCP socket must be connected"
        } else {
            c"ovpn-dco: the socket already serves another tunnel"
        };
        reject(info, &sock_attr, msg, e)
    })?;
    let peer = Peer::new(
        dev,
        PeerConfig {
            id,
            tx_id: id,
            sock: transport,
            remote,
            local,
            vpn4,
            vpn6,
        },
    );
    let replaced = match peer {
        Ok(peer) => peers.add(ovpn.tables(), peer),
        Err(e) => {
            // Give back the transport no peer took.
            peers.gc_socks();
            Err(e)
        }
    }
    .inspect_err(|e| {
        if *e == EEXIST {
            info.extack().msg(c"ovpn-dco: a peer with this id exists");
        }
    })?;
    drop(peers);
    if let Some(old) = replaced {
        peer::announce_removed(dev, old, OVPN_DEL_PEER_REASON_TEARDOWN);
    }
    Ok(())
}

fn set_peer(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_SET_PEER)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_SET_PEER_ATTR_PEER_ID)?;
    // Both values or nothing: a request with one of them is a no-op.
    if let (Some(i), Some(t)) = (
        nest.get(OVPN_SET_PEER_ATTR_KEEPALIVE_INTERVAL),
        nest.get(OVPN_SET_PEER_ATTR_KEEPALIVE_TIMEOUT),
    ) {
        let (i, t) = (i.get_u32()?, t.get_u32()?);
        let mut set = ovpn.peers().lock();
        peer.set_keepalive(i, t);
        if peer.keepalive_on() {
            set.start_ticking(dev)?;
        }
    }
    Ok(())
}

fn del_peer(info: &GenlInfo<'_>, dev: &NetDevice, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_DEL_PEER)?;
    let id = peer_id(info, &nest, OVPN_DEL_PEER_ATTR_PEER_ID)?;
    let Some(peer) = ovpn.peers().lock().remove(ovpn.tables(), id) else {
        info.extack().msg(c"ovpn-dco: no peer with this id");
        return Err(ENOENT);
    };
    peer::announce_removed(dev, peer, OVPN_DEL_PEER_REASON_USERSPACE);
    Ok(())
}

fn get_peer(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_GET_PEER)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_GET_PEER_ATTR_PEER_ID)?;
    let mut msg = GenlMsg::reply_to(info, OVPN_CMD_GET_PEER as u8)?;
    write_peer(&peer, &mut msg)?;
    msg.reply(info)
}

/// Reads a key slot attribute (the policy checked its range).
fn slot(attr: Option<Attr<'_>>) -> Result<Slot> {
    match attr.map(|a| a.get_u8()).transpose()? {
        None | Some(uapi::OVPN_KEY_SLOT_PRIMARY) => Ok(Slot::Primary),
        Some(uapi::OVPN_KEY_SLOT_SECONDARY) => Ok(Slot::Secondary),
        Some(_) => Err(EINVAL),
    }
}

/// Reads one direction of a new key.
fn key_dir<'a>(
    info: &GenlInfo<'a>,
    nest: &Nested<'a>,
    ty: u32,
    alg: CipherAlg,
) -> Result<KeyDir<'a>> {
    use uapi::*;
    let attr = require(info, nest, ty)?;
    let dir = info.extack().parse_nested(attr, Policy::key_dir())?;
    let key = require(info, &dir, OVPN_KEY_DIR_ATTR_CIPHER_KEY)?;
    if !alg.key_len_ok(key.payload().len()) {
        return Err(reject(
            info,
            &key,
            c"ovpn-dco: key size does not fit the cipher",
            EINVAL,
        ));
    }
    let tail = require(info, &dir, OVPN_KEY_DIR_ATTR_NONCE_TAIL)?;
    let nonce_tail = <[u8; NONCE_TAIL_LEN]>::try_from(tail.payload())
        .map_err(|_| reject(info, &tail, c"ovpn-dco: nonce tail must be 8 bytes", EINVAL))?;
    Ok(KeyDir {
        key: key.payload(),
        nonce_tail,
    })
}

fn new_key(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_NEW_KEY)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_NEW_KEY_ATTR_PEER_ID)?;
    let slot = slot(nest.get(OVPN_NEW_KEY_ATTR_KEY_SLOT))?;
    let id_attr = require(info, &nest, OVPN_NEW_KEY_ATTR_KEY_ID)?;
    let key_id = id_attr.get_u8()?;
    if key_id > crate::proto::wire::KEY_ID_MAX {
        return Err(reject(
            info,
            &id_attr,
            c"ovpn-dco: key id must be 0..7",
            EINVAL,
        ));
    }
    let alg_attr = require(info, &nest, OVPN_NEW_KEY_ATTR_CIPHER_ALG)?;
    let alg = CipherAlg::from_abi(alg_attr.get_u16()?).ok_or_else(|| {
        reject(
            info,
            &alg_attr,
            c"ovpn-dco: cipher must be AES-GCM or ChaCha20-Poly1305",
            EINVAL,
        )
    })?;
    let enc = key_dir(info, &nest, OVPN_NEW_KEY_ATTR_ENCRYPT_KEY, alg)?;
    let dec = key_dir(info, &nest, OVPN_NEW_KEY_ATTR_DECRYPT_KEY, alg)?;
    let key = KeySlot::new(key_id, alg, &enc, &dec).inspect_err(|_| {
        info.extack()
            .msg(c"ovpn-dco: the kernel cannot set up this cipher");
    })?;
    super::install_key(ovpn, &peer, slot, key)
}

fn swap_keys(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_SWAP_KEYS)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_SWAP_KEYS_ATTR_PEER_ID)?;
    let _guard = ovpn.peers().lock();
    peer.keys.swap()
}

fn del_key(info: &GenlInfo<'_>, ovpn: &Ovpn) -> Result {
    use uapi::*;
    let nest = info.nested(OVPN_ATTR_DEL_KEY)?;
    let peer = find_peer(info, ovpn, &nest, OVPN_DEL_KEY_ATTR_PEER_ID)?;
    let slot = slot(nest.get(OVPN_DEL_KEY_ATTR_KEY_SLOT))?;
    let _guard = ovpn.peers().lock();
    peer.keys.delete(slot)
}

/// Handles one request of the family.
pub(crate) fn doit(info: &GenlInfo<'_>) -> Result {
    use uapi::*;
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    match u32::from(info.cmd()) {
        OVPN_CMD_NEW_PEER => new_peer(info, &dev, ovpn),
        OVPN_CMD_SET_PEER => set_peer(info, &dev, ovpn),
        OVPN_CMD_DEL_PEER => del_peer(info, &dev, ovpn),
        OVPN_CMD_GET_PEER => get_peer(info, ovpn),
        OVPN_CMD_NEW_KEY => new_key(info, ovpn),
        OVPN_CMD_SWAP_KEYS => swap_keys(info, ovpn),
        OVPN_CMD_DEL_KEY => del_key(info, ovpn),
        // (The genl core only calls the family's commands.)
        _ => Err(crate::abstractions::eopnotsupp()),
    }
}

/// Dumps the peers of a device (`OVPN_CMD_GET_PEER` with `NLM_F_DUMP`),
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
        let Ok(mut entry) = dump.entry(uapi::OVPN_CMD_GET_PEER as u8) else {
            break;
        };
        if write_peer(peer, &mut entry).is_err() {
            // The skb is full: this entry is dropped and resent next call.
            break;
        }
        entry.end();
        next = peer.id() as usize + 1;
    }
    dump.set_cursor(next);
    Ok(())
}

/// Writes `peer` as a `GET_PEER` reply nest.
fn write_peer(peer: &Peer, msg: &mut impl MsgWriter) -> Result {
    use uapi::*;
    let nest = msg.nest_start(OVPN_ATTR_GET_PEER)?;
    msg.put_u32(OVPN_GET_PEER_RESP_ATTR_PEER_ID, peer.id())?;
    let (vpn4, vpn6) = peer.vpn_addrs();
    if let Some(a) = &vpn4 {
        msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_IPV4, a)?;
    }
    if let Some(a) = &vpn6 {
        msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_IPV6, a)?;
    }
    let (interval, timeout) = peer.keepalive();
    msg.put_u32(OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL, interval)?;
    msg.put_u32(OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT, timeout)?;
    if let Some((remote, local)) = peer.endpoints() {
        let (raw, len) = remote.to_raw();
        msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE, &raw[..len])?;
        if let Some(l) = &local {
            msg.put_bytes(OVPN_GET_PEER_RESP_ATTR_LOCAL_IP, l.octets())?;
        }
    }
    msg.put_be16(OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT, peer.local_port())?;
    let s = &peer.stats;
    let pad = OVPN_GET_PEER_RESP_ATTR_UNSPEC;
    let ld = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // The ABI has 32-bit packet counters; they wrap like OpenVPN's.
    let ld32 = |c: &AtomicU64| ld(c) as u32;
    msg.put_u64(
        OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES,
        ld(&s.vpn_rx_bytes),
        pad,
    )?;
    msg.put_u32(
        OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS,
        ld32(&s.vpn_rx_packets),
    )?;
    msg.put_u64(
        OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES,
        ld(&s.vpn_tx_bytes),
        pad,
    )?;
    msg.put_u32(
        OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS,
        ld32(&s.vpn_tx_packets),
    )?;
    msg.put_u64(
        OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES,
        ld(&s.link_rx_bytes),
        pad,
    )?;
    msg.put_u32(
        OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS,
        ld32(&s.link_rx_packets),
    )?;
    msg.put_u64(
        OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES,
        ld(&s.link_tx_bytes),
        pad,
    )?;
    msg.put_u32(
        OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS,
        ld32(&s.link_tx_packets),
    )?;
    msg.nest_end(nest);
    Ok(())
}
