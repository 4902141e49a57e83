// SPDX-License-Identifier: GPL-2.0

//! What the driver tells userspace unasked, on the `peers` multicast
//! group of the family the device's API ([`Api`]) names.

use crate::abstractions::genl::{Context, Family, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::netdev::{ovpn_of, Api};
use crate::peer::Peer;
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
