// SPDX-License-Identifier: GPL-2.0

//! ovpn-dco-v2: the OpenVPN data channel offload, in Rust.
//!
//! OpenVPN keeps the control channel in userspace and hands the data channel
//! to this module over a generic netlink family; the module provides the
//! link type whose devices carry the tunnel.  It serves two generations of
//! that API on one data path: OpenVPN 2.6's (family `ovpn-dco-v2`, kind
//! `ovpn-dco`) and Linux's own (family and kind `ovpn`, OpenVPN 2.7), the
//! latter only when asked (`ovpn_api`, while it is incomplete) and if
//! Linux's `ovpn` driver does not hold those names already.
//!
//! This file is only the module's init/teardown ladder.

use kernel::prelude::*;

mod abstractions;
mod crypto;
mod deferred;
mod keepalive;
mod netdev;
mod netlink;
mod peer;
#[allow(unreachable_pub)]
mod proto;
mod rx;
mod stats;
mod tcp;
mod transport;
mod tx;

use abstractions::{genl, rtnl};

module! {
    type: OvpnDco,
    name: "ovpn_dco_v2",
    authors: ["The ovpn-dco-rs developers"],
    description: "OpenVPN data channel offload (ovpn-dco)",
    license: "GPL",
    alias: [
        "rtnl-link-ovpn-dco",
        "net-pf-16-proto-16-family-ovpn-dco-v2",
    ],
    // The parameters are declared in C (compat/params.c), the same on
    // every kernel; the driver reads them through abstractions::params.
}

/// Linux's `ovpn` API: its link type and family, registered as one unit
/// (and, inside, torn down link first, as for the module).
struct OvpnApi {
    _link: rtnl::Registration<netdev::OvpnApiLink>,
    _genl: genl::Registration,
}

impl OvpnApi {
    /// Registers the `ovpn` kind and family; `Ok(None)` if either name is
    /// taken (Linux's `ovpn` module is loaded), which leaves neither
    /// registered.
    fn register() -> Result<Option<Self>> {
        // As Linux's driver does: the kind first, then the family.
        let link = match rtnl::Registration::<netdev::OvpnApiLink>::register() {
            Ok(l) => l,
            Err(e) if e == EEXIST => return Ok(None),
            Err(e) => return Err(e),
        };
        match genl::Registration::register(genl::Family::Ovpn) {
            Ok(genl) => Ok(Some(Self {
                _link: link,
                _genl: genl,
            })),
            // Dropping `link` unregisters the kind again.
            Err(e) if e == EEXIST => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The module: its registrations, torn down in declaration order.  The
/// `ovpn` API goes first, then the `ovpn-dco` link type: unregistering it deletes every device, whose peers
/// are announced (reason TEARDOWN) through the family, which must still be
/// registered then.  Once no device exists, no request can resolve one, so
/// the family can go.  Then the workqueue is drained (keepalive ticks hold
/// their device, so none is left by then anyway).  Then no task may be left
/// inside the operations of a TCP socket the module took over (all were
/// given back with their devices).  Last, the RCU callbacks that free
/// peers, keys and table nodes must have run before the module's code goes.
struct OvpnDco {
    _ovpn: Option<OvpnApi>,
    _link: rtnl::Registration<netdev::OvpnLink>,
    _genl: genl::Registration,
    _wq: abstractions::wq::OwnedQueue,
    _tcp: abstractions::tcp::QuiesceOnDrop,
    _rcu: abstractions::rcu::BarrierOnDrop,
}

impl kernel::Module for OvpnDco {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let ((), ()) = abstractions::ABI_CHECKED;
        let wq = abstractions::wq::OwnedQueue::new()?;
        let genl = genl::Registration::register(genl::Family::DcoV2)?;
        let link = rtnl::Registration::register()?;
        // Off by default until it has carried OpenVPN 2.7 itself: taking
        // its names keeps Linux's driver from loading.
        let want_ovpn = abstractions::params::ovpn_api() != 0;
        let ovpn = if want_ovpn {
            OvpnApi::register()?
        } else {
            None
        };
        pr_info!(
            "OpenVPN data channel offload (ovpn-dco) {}\n",
            netdev::VERSION.to_str().unwrap_or("?")
        );
        if cfg!(ovpn_test_key_exhaustion) {
            pr_warn!("test build: keys run out after 256 packets; never use it for tunnels\n");
        }
        if want_ovpn && ovpn.is_none() {
            pr_info!("Linux's ovpn driver holds the ovpn API; serving ovpn-dco-v2 only\n");
        }
        Ok(Self {
            _ovpn: ovpn,
            _link: link,
            _genl: genl,
            _wq: wq,
            _tcp: abstractions::tcp::QuiesceOnDrop,
            _rcu: abstractions::rcu::BarrierOnDrop,
        })
    }
}
