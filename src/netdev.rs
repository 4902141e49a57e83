// SPDX-License-Identifier: GPL-2.0

//! The module's link types, `ovpn-dco` (OpenVPN 2.6) and `ovpn` (Linux's
//! API, OpenVPN 2.7): device creation, properties and lifecycle.  Both
//! carry the same device state and data path; the kind fixes, for the
//! device's life, which netlink API it speaks ([`Api`]).

use crate::abstractions::genl::MsgWriter;
use crate::abstractions::netdev::{features, NetDevice};
use crate::abstractions::rtnl::{
    driver_data, DeviceSetup, LinkDriver, LinkInfo, LinkOps, LinkPolicy, NewlinkParams,
};
use crate::abstractions::skb::SkBuff;
use crate::abstractions::udp::GroCells;
use crate::abstractions::wq;
use crate::peer::{self, PeerSet, PeerTables};
use crate::proto::{netdev as consts, uapi};
use crate::stats::DropStats;
use crate::tx;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Mutex;

/// The version reported in `/sys/module/ovpn_dco_v2/version` and by ethtool.
pub(crate) const VERSION: &CStr = c"2.0.0";

/// The mode of a device, chosen at creation (`IFLA_OVPN_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Point-to-point: exactly one peer; a new peer replaces it.
    P2p,
    /// Multi-peer (server): many peers, routed by VPN address.
    Mp,
}

impl TryFrom<u8> for Mode {
    type Error = Error;

    fn try_from(v: u8) -> Result<Self> {
        match v {
            uapi::OVPN_MODE_P2P => Ok(Mode::P2p),
            uapi::OVPN_MODE_MP => Ok(Mode::Mp),
            _ => Err(EINVAL),
        }
    }
}

/// The userspace API a device speaks, fixed by its link kind at creation.
/// Only the netlink layer and the notifications depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// Kind `ovpn-dco`, family `ovpn-dco-v2` (OpenVPN 2.6).
    DcoV2,
    /// Kind `ovpn`, family `ovpn` (Linux's API, OpenVPN 2.7).
    Ovpn,
}

/// The number of ovpn-dco devices whose state exists, for the debug log.
static DEVICES: AtomicUsize = AtomicUsize::new(0);

/// The state of one ovpn-dco device.
#[pin_data(PinnedDrop)]
pub(crate) struct Ovpn {
    mode: Mode,
    api: Api,
    #[pin]
    peers: Mutex<PeerSet>,
    tables: PeerTables,
    #[pin]
    gro: GroCells,
    drops: DropStats,
    /// Set while a re-filing of floated peers is queued (`deferred`).
    refile_pending: AtomicBool,
}

impl Ovpn {
    fn new(dev: &NetDevice, mode: Mode, api: Api) -> Result<Pin<KBox<Self>>> {
        let p2p = mode == Mode::P2p;
        let ovpn = KBox::pin_init(
            try_pin_init!(Ovpn {
                mode,
                api,
                peers <- new_mutex!(PeerSet::new(p2p)),
                tables: PeerTables::new(),
                gro <- GroCells::new(dev),
                drops: DropStats::default(),
                refile_pending: AtomicBool::new(false),
            }),
            GFP_KERNEL,
        )?;
        let n = DEVICES.fetch_add(1, Ordering::Relaxed) + 1;
        pr_debug!(
            "device state created, mode {:?}, API {:?} ({} in use)\n",
            mode,
            api,
            n
        );
        Ok(ovpn)
    }

    /// The device's mode.
    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The API the device speaks.
    pub(crate) fn api(&self) -> Api {
        self.api
    }

    /// The device's peers (control plane).
    pub(crate) fn peers(&self) -> &Mutex<PeerSet> {
        &self.peers
    }

    /// The device's peer lookup tables (data path).
    pub(crate) fn tables(&self) -> &PeerTables {
        &self.tables
    }

    /// Makes the carrier of `dev` follow its peer (`set`, held by the
    /// caller, so that the last change wins): an `ovpn` P2P device has
    /// carrier only while it has its peer, as Linux's driver does.  Other
    /// devices keep carrier on.
    pub(crate) fn sync_carrier(&self, dev: &NetDevice, set: &PeerSet) {
        if self.api != Api::Ovpn || self.mode != Mode::P2p {
            return;
        }
        if set.is_empty() {
            dev.carrier_off();
        } else {
            dev.carrier_on();
        }
    }

    /// Asks for a re-filing of floated peers: whether the caller must
    /// queue it (none is queued yet).
    pub(crate) fn refile_requested(&self) -> bool {
        !self.refile_pending.swap(true, Ordering::AcqRel)
    }

    /// A queued re-filing starts (or could not be queued): the next float
    /// asks again.
    pub(crate) fn refile_started(&self) {
        self.refile_pending.store(false, Ordering::Release);
    }

    /// The device's GRO cells.
    pub(crate) fn gro(&self) -> &GroCells {
        &self.gro
    }

    /// The device's drop counters.
    pub(crate) fn drops(&self) -> &DropStats {
        &self.drops
    }
}

#[pinned_drop]
impl PinnedDrop for Ovpn {
    fn drop(self: Pin<&mut Self>) {
        let n = DEVICES.fetch_sub(1, Ordering::Relaxed) - 1;
        pr_debug!("device state freed, mode {:?} ({} in use)\n", self.mode, n);
    }
}

/// The driver data of one of this module's devices, whatever its link
/// type; `None` for other devices and ones not fully created.
pub(crate) fn ovpn_of(dev: &NetDevice) -> Option<&Ovpn> {
    driver_data::<OvpnLink>(dev).or_else(|| driver_data::<OvpnApiLink>(dev))
}

/// The properties both link types give a new device, with default MTU
/// `mtu`.
fn setup_device<T: LinkDriver>(dev: &mut DeviceSetup<'_>, mtu: u32) {
    dev.setup_common::<T>();
    dev.set_mtu(mtu, consts::MIN_MTU, consts::MAX_MTU);
    dev.set_needed_room(consts::HEADROOM, consts::TAILROOM);
    dev.set_features(
        features::SG
            | features::HW_CSUM
            | features::RXCSUM
            | features::GSO
            | features::GSO_SOFTWARE
            | features::HIGHDMA,
    );
}

/// A device is being deleted (under RTNL): its peers go, with reason
/// TEARDOWN.
fn dellink_device(dev: &NetDevice, ovpn: &Ovpn) {
    // From here on no peer can be added; the current ones go with
    // reason TEARDOWN.
    let peers = ovpn.peers.lock().take_all(&ovpn.tables);
    for p in peers {
        peer::announce_removed(dev, p, uapi::OVPN_DEL_PEER_REASON_TEARDOWN);
    }
    // The sockets are given back outside RTNL (socket locks, the
    // parsers' work, a grace period): the device's unregistration
    // waits for the references they hold, after RTNL is released.
    // Without memory for the job, here and now.
    let d: ARef<NetDevice> = dev.into();
    let later = wq::run_later(move || {
        if let Some(ovpn) = ovpn_of(&d) {
            ovpn.peers().lock().gc_socks();
        }
    });
    if later.is_err() {
        ovpn.peers.lock().gc_socks();
    }
}

/// `ndo_open` of both link types.
fn open_device(dev: &NetDevice) -> Result {
    dev.disable_send_redirects();
    dev.tx_start_all_queues();
    Ok(())
}

/// The `ovpn-dco` link type.
pub(crate) struct OvpnLink;

static OPS: LinkOps<OvpnLink> = LinkOps::new(uapi::IFLA_OVPN_MAX, LinkPolicy::ovpn_dco());

impl LinkDriver for OvpnLink {
    type Data = Ovpn;

    const KIND: &'static CStr = c"ovpn-dco";
    const DRIVER_NAME: &'static CStr = c"ovpn-dco";
    const VERSION: &'static CStr = VERSION;

    fn ops() -> &'static LinkOps<Self> {
        &OPS
    }

    fn setup(dev: &mut DeviceSetup<'_>) {
        setup_device::<Self>(dev, consts::DEFAULT_MTU);
    }

    fn newlink(dev: &NetDevice, params: &NewlinkParams<'_>) -> Result<Pin<KBox<Ovpn>>> {
        let mode = match params.data(uapi::IFLA_OVPN_MODE) {
            None => Mode::P2p,
            Some(attr) => match attr.get_u8().and_then(Mode::try_from) {
                Ok(m) => m,
                Err(e) => {
                    params.extack().bad_attr(&attr);
                    params
                        .extack()
                        .msg(c"ovpn-dco: mode must be 0 (P2P) or 1 (MP)");
                    return Err(e);
                }
            },
        };
        Ovpn::new(dev, mode, Api::DcoV2)
    }

    fn dellink(dev: &NetDevice, ovpn: &Ovpn) {
        dellink_device(dev, ovpn);
    }

    fn open(dev: &NetDevice, _ovpn: &Ovpn) -> Result {
        open_device(dev)
    }

    fn stop(dev: &NetDevice, _ovpn: &Ovpn) -> Result {
        dev.tx_stop_all_queues();
        Ok(())
    }

    fn start_xmit(dev: &NetDevice, ovpn: &Ovpn, skb: SkBuff) {
        tx::xmit(dev, ovpn, skb);
    }

    const STAT_NAMES: &'static [&'static CStr] = DropStats::NAMES;

    fn stats(ovpn: &Ovpn, out: &mut [u64]) {
        ovpn.drops.read(out);
    }
}

/// The `ovpn` link type of Linux's API (OpenVPN 2.7).  Same device as
/// `ovpn-dco` but for the MTU, the mode's range checked by the policy
/// (`ERANGE`), and the mode reported in link dumps.
pub(crate) struct OvpnApiLink;

static API_OPS: LinkOps<OvpnApiLink> = LinkOps::new(uapi::IFLA_OVPN_MAX, LinkPolicy::ovpn());

impl LinkDriver for OvpnApiLink {
    type Data = Ovpn;

    const KIND: &'static CStr = c"ovpn";
    const DRIVER_NAME: &'static CStr = c"ovpn";
    const VERSION: &'static CStr = VERSION;

    fn ops() -> &'static LinkOps<Self> {
        &API_OPS
    }

    fn setup(dev: &mut DeviceSetup<'_>) {
        setup_device::<Self>(dev, consts::OVPN_DEFAULT_MTU);
    }

    fn newlink(dev: &NetDevice, params: &NewlinkParams<'_>) -> Result<Pin<KBox<Ovpn>>> {
        // The policy admitted 0 (P2P) or 1 (MP) only.
        let mode = match params.data(uapi::IFLA_OVPN_MODE) {
            None => Mode::P2p,
            Some(attr) => attr.get_u8().and_then(Mode::try_from)?,
        };
        if mode == Mode::P2p {
            // Not registered yet: this only sets the state bit.
            dev.carrier_off();
        }
        Ovpn::new(dev, mode, Api::Ovpn)
    }

    fn dellink(dev: &NetDevice, ovpn: &Ovpn) {
        dellink_device(dev, ovpn);
    }

    fn open(dev: &NetDevice, _ovpn: &Ovpn) -> Result {
        open_device(dev)
    }

    fn stop(dev: &NetDevice, _ovpn: &Ovpn) -> Result {
        dev.tx_stop_all_queues();
        Ok(())
    }

    fn start_xmit(dev: &NetDevice, ovpn: &Ovpn, skb: SkBuff) {
        tx::xmit(dev, ovpn, skb);
    }

    const STAT_NAMES: &'static [&'static CStr] = DropStats::NAMES;

    fn stats(ovpn: &Ovpn, out: &mut [u64]) {
        ovpn.drops.read(out);
    }

    /// `IFLA_OVPN_MODE`: a u8 attribute, aligned (`nla_total_size(1)`).
    const INFO_SIZE: usize = 8;

    fn fill_info(ovpn: &Ovpn, w: &mut LinkInfo<'_>) -> Result {
        let mode = match ovpn.mode {
            Mode::P2p => uapi::OVPN_MODE_P2P,
            Mode::Mp => uapi::OVPN_MODE_MP,
        };
        w.put_u8(uapi::IFLA_OVPN_MODE, mode)
    }
}
