// SPDX-License-Identifier: GPL-2.0

//! What the driver tells userspace unasked, on the family's `peers`
//! multicast group.

use crate::abstractions::genl::{Context, GenlMsg, MsgWriter};
use crate::abstractions::netdev::NetDevice;
use crate::proto::uapi;
use kernel::prelude::*;

/// Tells userspace (in the device's namespace) that peer `id` of `dev` is
/// gone, and why (an `OVPN_DEL_PEER_REASON_*`).
pub(crate) fn peer_removed(dev: &NetDevice, id: u32, reason: u8) -> Result {
    let mut msg = GenlMsg::notification(uapi::OVPN_CMD_DEL_PEER as u8, Context::Process)?;
    msg.put_u32(uapi::OVPN_ATTR_IFINDEX, dev.ifindex() as u32)?;
    let nest = msg.nest_start(uapi::OVPN_ATTR_DEL_PEER)?;
    msg.put_u8(uapi::OVPN_DEL_PEER_ATTR_REASON, reason)?;
    msg.put_u32(uapi::OVPN_DEL_PEER_ATTR_PEER_ID, id)?;
    msg.nest_end(nest);
    msg.multicast(dev.net(), 0, Context::Process)
}
