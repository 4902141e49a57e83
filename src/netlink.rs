// SPDX-License-Identifier: GPL-2.0

//! The `ovpn-dco-v2` generic netlink family: request handling.
//!
//! Every request names its device with `OVPN_ATTR_IFINDEX`, resolved in the
//! caller's network namespace.  The genetlink core has already checked the
//! caller's CAP_NET_ADMIN (`GENL_ADMIN_PERM`) and validated the attributes
//! strictly against the policies in `compat/netlink_gen.c`.

use crate::abstractions::genl::GenlInfo;
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::nl::Nested;
use crate::abstractions::rtnl::driver_data;
use crate::netdev::{Ovpn, OvpnLink};
use crate::proto::uapi;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

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
fn require<'a>(
    info: &GenlInfo<'a>,
    nest: &Nested<'a>,
    ty: u32,
) -> Result<crate::abstractions::nl::Attr<'a>> {
    nest.get(ty).ok_or_else(|| {
        let extack = info.extack();
        extack.missing(Some(&nest.nest()), ty);
        extack.msg(c"ovpn-dco: missing required attribute");
        EINVAL
    })
}

/// Looks a peer up by the id in `nest`.  No peer table exists before the
/// data channel lands, so every lookup reports `ENOENT`.
fn find_peer(info: &GenlInfo<'_>, _ovpn: &Ovpn, nest: &Nested<'_>, id_attr: u32) -> Result {
    let attr = require(info, nest, id_attr)?;
    let _id = attr.get_u32()?;
    info.extack().bad_attr(&attr);
    info.extack().msg(c"ovpn-dco: no peer with this id");
    Err(ENOENT)
}

/// Handles one request of the family.
pub(crate) fn doit(info: &GenlInfo<'_>) -> Result {
    let dev = lookup_dev(info)?;
    let ovpn = ovpn(&dev)?;
    match u32::from(info.cmd()) {
        uapi::OVPN_CMD_NEW_PEER => {
            let nest = info.nested(uapi::OVPN_ATTR_NEW_PEER)?;
            require(info, &nest, uapi::OVPN_NEW_PEER_ATTR_PEER_ID)?;
            require(info, &nest, uapi::OVPN_NEW_PEER_ATTR_SOCKET)?;
            info.extack()
                .msg(c"ovpn-dco: peers are not supported by this build yet");
            Err(EOPNOTSUPP)
        }
        uapi::OVPN_CMD_SET_PEER => {
            let nest = info.nested(uapi::OVPN_ATTR_SET_PEER)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_SET_PEER_ATTR_PEER_ID)
        }
        uapi::OVPN_CMD_DEL_PEER => {
            let nest = info.nested(uapi::OVPN_ATTR_DEL_PEER)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_DEL_PEER_ATTR_PEER_ID)
        }
        uapi::OVPN_CMD_NEW_KEY => {
            let nest = info.nested(uapi::OVPN_ATTR_NEW_KEY)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_NEW_KEY_ATTR_PEER_ID)
        }
        uapi::OVPN_CMD_SWAP_KEYS => {
            let nest = info.nested(uapi::OVPN_ATTR_SWAP_KEYS)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_SWAP_KEYS_ATTR_PEER_ID)
        }
        uapi::OVPN_CMD_DEL_KEY => {
            let nest = info.nested(uapi::OVPN_ATTR_DEL_KEY)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_DEL_KEY_ATTR_PEER_ID)
        }
        uapi::OVPN_CMD_GET_PEER => {
            let nest = info.nested(uapi::OVPN_ATTR_GET_PEER)?;
            find_peer(info, ovpn, &nest, uapi::OVPN_GET_PEER_ATTR_PEER_ID)
        }
        _ => Err(EOPNOTSUPP),
    }
}

/// Dumps the peers of a device (`OVPN_CMD_GET_PEER` with `NLM_F_DUMP`).
/// Returns with nothing added, which ends the dump: there are no peers yet.
pub(crate) fn dumpit(info: &GenlInfo<'_>) -> Result {
    let dev = lookup_dev(info)?;
    let _ovpn = ovpn(&dev)?;
    Ok(())
}
