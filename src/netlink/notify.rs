// SPDX-License-Identifier: GPL-2.0

//! What the driver tells userspace unasked, on the `peers` multicast
//! group of the family the device's API ([`Api`]) names.

use crate::abstractions::genl::{Context, Family, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::netdev::{ovpn_of, Api};
use crate::peer::Peer;
use crate::proto::sockaddr::{IpAddr, SockAddr};
use crate::proto::{uapi, uapi_ovpn};
use kernel::prelude::*;

/// Tells userspace that `peer` of `dev` is gone, and why (an
/// `OVPN_DEL_PEER_REASON_*`, the same numbers in both APIs).
///
/// - `ovpn-dco-v2`: `DEL_PEER` with a u8 reason, in the device's
///   namespace;
/// - `ovpn`: `PEER_DEL_NTF` with a u32 reason, in the namespace of the
///   peer's socket (where the OpenVPN that passed it in listens).
pub(crate) fn peer_removed(dev: &NetDevice, peer: &Peer, reason: u8) -> Result {
    let api = ovpn_of(dev).map_or(Api::DcoV2, |o| o.api());
    match api {
        Api::DcoV2 => {
            let cmd = uapi::OVPN_CMD_DEL_PEER as u8;
            let mut msg = GenlMsg::notification(Family::DcoV2, cmd, Context::Process)?;
            msg.put_u32(uapi::OVPN_ATTR_IFINDEX, dev.ifindex() as u32)?;
            let nest = msg.nest_start(uapi::OVPN_ATTR_DEL_PEER)?;
            msg.put_u8(uapi::OVPN_DEL_PEER_ATTR_REASON, reason)?;
            msg.put_u32(uapi::OVPN_DEL_PEER_ATTR_PEER_ID, peer.id())?;
            msg.nest_end(nest);
            msg.multicast(dev.net(), 0, Context::Process)
        }
        Api::Ovpn => {
            use uapi_ovpn::*;
            let cmd = OVPN_CMD_PEER_DEL_NTF as u8;
            let mut msg = GenlMsg::notification(Family::Ovpn, cmd, Context::Process)?;
            msg.put_u32(OVPN_A_IFINDEX, dev.ifindex() as u32)?;
            let nest = msg.nest_start(OVPN_A_PEER)?;
            msg.put_u32(OVPN_A_PEER_DEL_REASON, u32::from(reason))?;
            msg.put_u32(OVPN_A_PEER_ID, peer.id())?;
            msg.nest_end(nest);
            msg.multicast(peer.sock_net(), 0, Context::Process)
        }
    }
}

/// Tells userspace that `peer` moved to `remote` (float).  Called from
/// the data path, in softirq context.
///
/// - `ovpn-dco-v2`: nothing (OpenVPN 2.6 learns it from its statistics);
/// - `ovpn`: `PEER_FLOAT_NTF` with the new endpoint, in the namespace of
///   the peer's socket.
pub(crate) fn peer_floated(peer: &Peer, remote: &SockAddr) -> Result {
    use uapi_ovpn::*;
    let dev = peer.dev();
    if ovpn_of(dev).map_or(Api::DcoV2, |o| o.api()) != Api::Ovpn {
        return Ok(());
    }
    let cmd = OVPN_CMD_PEER_FLOAT_NTF as u8;
    let mut msg = GenlMsg::notification(Family::Ovpn, cmd, Context::Atomic)?;
    msg.put_u32(OVPN_A_IFINDEX, dev.ifindex() as u32)?;
    let nest = msg.nest_start(OVPN_A_PEER)?;
    msg.put_u32(OVPN_A_PEER_ID, peer.id())?;
    match remote.ip {
        IpAddr::V4(ip) => msg.put_bytes(OVPN_A_PEER_REMOTE_IPV4, &ip)?,
        IpAddr::V6(ip) => {
            msg.put_bytes(OVPN_A_PEER_REMOTE_IPV6, &ip)?;
            msg.put_u32(OVPN_A_PEER_REMOTE_IPV6_SCOPE_ID, remote.scope_id)?;
        }
    }
    msg.put_be16(OVPN_A_PEER_REMOTE_PORT, remote.port)?;
    msg.nest_end(nest);
    msg.multicast(peer.sock_net(), 0, Context::Atomic)
}

/// Tells userspace that `peer`'s key `key_id` ran out of packet ids and
/// was removed: a new one is needed.
///
/// - `ovpn-dco-v2`: nothing (OpenVPN 2.6 renegotiates by packet count);
/// - `ovpn`: `KEY_SWAP_NTF`, in the namespace of the peer's socket.  The
///   key id is a u16, as Linux's driver sends it and OpenVPN reads it.
pub(crate) fn key_exhausted(peer: &Peer, key_id: u8) -> Result {
    use uapi_ovpn::*;
    let dev = peer.dev();
    if ovpn_of(dev).map_or(Api::DcoV2, |o| o.api()) != Api::Ovpn {
        return Ok(());
    }
    let cmd = OVPN_CMD_KEY_SWAP_NTF as u8;
    let mut msg = GenlMsg::notification(Family::Ovpn, cmd, Context::Process)?;
    msg.put_u32(OVPN_A_IFINDEX, dev.ifindex() as u32)?;
    let nest = msg.nest_start(OVPN_A_KEYCONF)?;
    msg.put_u32(OVPN_A_KEYCONF_PEER_ID, peer.id())?;
    msg.put_u16(OVPN_A_KEYCONF_KEY_ID, u16::from(key_id))?;
    msg.nest_end(nest);
    msg.multicast(peer.sock_net(), 0, Context::Process)
}
