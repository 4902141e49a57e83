// SPDX-License-Identifier: GPL-2.0

//! Network devices: creating and deleting ovpn-dco links over rtnetlink,
//! and resolving device names to indexes.

use std::ffi::CString;

use neli::{
    consts::{
        nl::NlmF,
        rtnl::{Ifla, IflaInfo, RtAddrFamily, Rtm},
        socket::NlFamily,
    },
    rtnl::{Ifinfomsg, IfinfomsgBuilder, Rtattr, RtattrBuilder},
    types::{Buffer, RtBuffer},
};
use ovpn_dco_proto::uapi;

use crate::{
    error::{Error, Result},
    genl::nla,
    nl::NlConn,
};

/// The rtnetlink link kind of ovpn-dco devices (`IFLA_INFO_KIND`).
pub const LINK_KIND: &str = "ovpn-dco";

/// Builds an `RTM_NEWLINK` message creating an ovpn-dco device `name`,
/// with `IFLA_OVPN_MODE` set to `mode` if given (any value, so that
/// invalid modes can be tested; without it the kernel's default applies).
pub fn new_link_msg(name: &str, mode: Option<u8>) -> Result<Ifinfomsg> {
    let mut info = RtBuffer::<IflaInfo, Buffer>::new();
    info.push(
        RtattrBuilder::default()
            .rta_type(IflaInfo::Kind)
            .rta_payload(LINK_KIND)
            .build()?,
    );
    if let Some(mode) = mode {
        let mut data = RtBuffer::<u16, Buffer>::new();
        data.push(
            RtattrBuilder::default()
                .rta_type(nla(uapi::IFLA_OVPN_MODE))
                .rta_payload(mode)
                .build()?,
        );
        info.push(
            RtattrBuilder::default()
                .rta_type(IflaInfo::Data)
                .rta_payload(data)
                .build()?,
        );
    }
    let mut attrs = RtBuffer::<Ifla, Buffer>::new();
    attrs.push(ifname_attr(name)?);
    attrs.push(
        RtattrBuilder::default()
            .rta_type(Ifla::Linkinfo)
            .rta_payload(info)
            .build()?,
    );
    Ok(IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .rtattrs(attrs)
        .build()?)
}

/// The `IFLA_IFNAME` attribute (NUL-terminated).
fn ifname_attr(name: &str) -> Result<Rtattr<Ifla, Buffer>> {
    Ok(RtattrBuilder::default()
        .rta_type(Ifla::Ifname)
        .rta_payload(name)
        .build()?)
}

/// Creates an ovpn-dco device (`RTM_NEWLINK` with `NLM_F_CREATE |
/// NLM_F_EXCL`).
pub fn new_iface(name: &str, mode: Option<u8>) -> Result<()> {
    let conn = NlConn::connect(NlFamily::Route)?;
    let _: Vec<Ifinfomsg> = conn.request(
        Rtm::Newlink,
        NlmF::CREATE | NlmF::EXCL,
        new_link_msg(name, mode)?,
    )?;
    Ok(())
}

/// Deletes a device by name (`RTM_DELLINK`).
pub fn del_iface(name: &str) -> Result<()> {
    let conn = NlConn::connect(NlFamily::Route)?;
    let mut attrs = RtBuffer::<Ifla, Buffer>::new();
    attrs.push(ifname_attr(name)?);
    let msg = IfinfomsgBuilder::default()
        .ifi_family(RtAddrFamily::Unspecified)
        .rtattrs(attrs)
        .build()?;
    let _: Vec<Ifinfomsg> = conn.request(Rtm::Dellink, NlmF::empty(), msg)?;
    Ok(())
}

/// The index of device `name` in the current network namespace.
pub fn ifindex_of(name: &str) -> Result<u32> {
    let c_name =
        CString::new(name).map_err(|_| Error::usage(format!("invalid interface name '{name}'")))?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the
    // call; if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        let err = std::io::Error::last_os_error();
        return Err(Error::other(format!("no such interface '{name}': {err}")));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neli::ToBytes;
    use std::io::Cursor;

    fn rta(len: u16, ty: u16) -> Vec<u8> {
        [len.to_ne_bytes(), ty.to_ne_bytes()].concat()
    }

    #[test]
    fn new_link_message_bytes() {
        let msg = new_link_msg("tun0", Some(uapi::OVPN_MODE_MP)).unwrap();
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();

        // struct ifinfomsg: family, pad, type, index, flags, change.
        let mut want = vec![0u8; 16];
        want.extend(rta(9, libc::IFLA_IFNAME));
        want.extend(b"tun0\0\0\0\0");
        // IFLA_LINKINFO: 4 + 16 (kind) + 12 (data).
        want.extend(rta(32, libc::IFLA_LINKINFO));
        want.extend(rta(13, libc::IFLA_INFO_KIND));
        want.extend(b"ovpn-dco\0\0\0\0");
        want.extend(rta(12, libc::IFLA_INFO_DATA));
        want.extend(rta(5, 1)); // IFLA_OVPN_MODE = MP
        want.extend([1, 0, 0, 0]);
        assert_eq!(c.into_inner(), want);
    }

    #[test]
    fn no_mode_means_no_info_data() {
        let msg = new_link_msg("t", None).unwrap();
        let mut c = Cursor::new(Vec::new());
        msg.to_bytes(&mut c).unwrap();
        let b = c.into_inner();
        // ifinfomsg (16) + IFLA_IFNAME (8) + IFLA_LINKINFO (4 + 16).
        assert_eq!(b.len(), 16 + 8 + 20);
    }

    #[test]
    fn loopback_has_an_index() {
        assert!(ifindex_of("lo").unwrap() > 0);
        assert!(ifindex_of("no-such-dev0").is_err());
        assert!(ifindex_of("a\0b").is_err());
    }
}
