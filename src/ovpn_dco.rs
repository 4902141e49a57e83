// SPDX-License-Identifier: GPL-2.0

//! ovpn-dco-v2: the OpenVPN data channel offload, in Rust.
//!
//! OpenVPN keeps the control channel in userspace and hands the data channel
//! to this module over the `ovpn-dco-v2` generic netlink family; the module
//! provides the `ovpn-dco` link type whose devices carry the tunnel.
//!
//! This file is only the module's init/teardown ladder.

use kernel::prelude::*;

mod abstractions;
mod netdev;
mod netlink;
#[allow(unreachable_pub, dead_code)]
mod proto;

use abstractions::{genl, rtnl};

module! {
    type: OvpnDco,
    name: "ovpn_dco_v2",
    authors: ["The ovpn-dco-rs developers"],
    description: "OpenVPN data channel offload (ovpn-dco)",
    license: "GPL",
    alias: ["rtnl-link-ovpn-dco", "net-pf-16-proto-16-family-ovpn-dco-v2"],
}

/// The module: its registrations, torn down in declaration order (the
/// netlink family first, so that no request arrives while the link type and
/// its devices go away).
struct OvpnDco {
    _genl: genl::Registration,
    _link: rtnl::Registration<netdev::OvpnLink>,
}

impl kernel::Module for OvpnDco {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let link = rtnl::Registration::register()?;
        let genl = genl::Registration::register()?;
        pr_info!(
            "OpenVPN data channel offload (ovpn-dco) {}\n",
            netdev::VERSION.to_str().unwrap_or("?")
        );
        Ok(Self {
            _genl: genl,
            _link: link,
        })
    }
}
