// SPDX-License-Identifier: GPL-2.0

//! Generic netlink request handling.  The genetlink core has already
//! checked the caller's CAP_NET_ADMIN (`GENL_ADMIN_PERM`) and validated
//! the attributes strictly against the family's policies; each family's
//! own module maps its ABI onto the shared peers, keys and sockets.
//!
//! - `dco_v2`: the `ovpn-dco-v2` family (OpenVPN 2.6);
//! - `ovpn`: Linux's `ovpn` family (OpenVPN 2.7);
//! - `notify`: what the driver tells userspace unasked.
//!
//! Each family serves only the devices of its own link kind.

mod dco_v2;
pub(crate) mod notify;
pub(crate) mod ovpn;

pub(crate) use dco_v2::{doit, dumpit};

use crate::abstractions::genl::GenlInfo;
use crate::abstractions::netdev::NetDevice;
use crate::abstractions::nl::{Attr, Nested};
use crate::crypto::{KeySlot, Slot};
use crate::netdev::{ovpn_of, Api, Ovpn};
use crate::peer::Peer;
use crate::proto::uapi;
use crate::proto::wire::PEER_ID_UNDEF;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;

/// Resolves `OVPN_ATTR_IFINDEX` to an ovpn-dco device in the caller's
/// namespace: missing or not an ovpn-dco device gives `EINVAL`, an unknown
/// index `ENODEV`.
pub(super) fn lookup_dev(info: &GenlInfo<'_>) -> Result<ARef<NetDevice>> {
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
    if ovpn_of(&dev).is_none_or(|o| o.api() != Api::DcoV2) {
        extack.bad_attr(&attr);
        extack.msg(c"ovpn-dco: device is not an ovpn-dco device");
        return Err(EINVAL);
    }
    Ok(dev)
}

/// The driver data of a device `lookup_dev` returned.
pub(super) fn ovpn(dev: &NetDevice) -> Result<&Ovpn> {
    ovpn_of(dev).ok_or(ENODEV)
}

/// Reads a required attribute of a nest, reporting it as missing otherwise.
pub(super) fn require<'a>(info: &GenlInfo<'a>, nest: &Nested<'a>, ty: u32) -> Result<Attr<'a>> {
    nest.get(ty).ok_or_else(|| {
        let extack = info.extack();
        extack.missing(Some(&nest.nest()), ty);
        extack.msg(c"ovpn-dco: missing required attribute");
        EINVAL
    })
}

/// Reports `attr` as the culprit with `msg` and returns `err`.
pub(super) fn reject(
    info: &GenlInfo<'_>,
    attr: &Attr<'_>,
    msg: &'static CStr,
    err: Error,
) -> Error {
    info.extack().bad_attr(attr);
    info.extack().msg(msg);
    err
}

/// Reads the peer id of a request (attribute `ty` of `nest`).
pub(super) fn peer_id(info: &GenlInfo<'_>, nest: &Nested<'_>, ty: u32) -> Result<u32> {
    let attr = require(info, nest, ty)?;
    let id = attr.get_u32()?;
    // 0xFFFFFF is the undefined id of packets that name no peer.
    if id >= PEER_ID_UNDEF {
        return Err(reject(
            info,
            &attr,
            c"ovpn-dco: peer id must be below 0xFFFFFF",
            EINVAL,
        ));
    }
    Ok(id)
}

/// Installs `key` in `slot` of `peer`, serialised with the other peer
/// changes, and lets through the packets the peer sent with it before.
pub(super) fn install_key(ovpn: &Ovpn, peer: &Arc<Peer>, slot: Slot, key: Arc<KeySlot>) -> Result {
    let key_id = key.key_id();
    let guard = ovpn.peers().lock();
    peer.keys.install(slot, key)?;
    drop(guard);
    crate::rx::release_held(peer, key_id);
    Ok(())
}

/// Looks up the peer named by attribute `ty` of `nest`; `ENOENT` if none.
pub(super) fn find_peer(
    info: &GenlInfo<'_>,
    ovpn: &Ovpn,
    nest: &Nested<'_>,
    ty: u32,
) -> Result<Arc<Peer>> {
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
