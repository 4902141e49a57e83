// SPDX-License-Identifier: GPL-2.0

//! Keepalive and expiry.  While any peer of a device has a keepalive
//! interval or timeout set, the device ticks once a second on the module's
//! workqueue: a peer that sent nothing for `interval` seconds gets the
//! encrypted ping, a peer that sent nothing authentic for `timeout`
//! seconds is removed with reason EXPIRED (and userspace told).  The tick
//! also removes, with TRANSPORT_DISCONNECT, a peer whose UDP socket no
//! longer delivers to the module (its encapsulation reset by a holder of
//! its descriptor), whose close would otherwise go unnoticed.
//!
//! On devices of Linux's API (kind `ovpn`) keepalive acts only while a
//! peer has both an interval and a timeout, as in Linux's driver; on
//! `ovpn-dco` devices each works on its own.

use crate::abstractions::netdev::{now_ms, NetDevice};
use crate::abstractions::wq;
use crate::netdev::{ovpn_of, Api};
use crate::peer::{self, Due};
use crate::proto::uapi;
use crate::tx;
use kernel::prelude::*;
use kernel::sync::aref::ARef;
use kernel::sync::Arc;
use kernel::workqueue::{impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem};

/// The tick period.
const TICK_MS: u32 = 1000;

/// One pending tick of a device; it holds the device until it has run.
#[pin_data]
struct Tick {
    dev: ARef<NetDevice>,
    #[pin]
    work: DelayedWork<Tick>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Tick { self.work }
}

impl WorkItem for Tick {
    type Pointer = Arc<Tick>;

    fn run(this: Arc<Tick>) {
        tick(&this.dev);
    }
}

/// Schedules the next tick of `dev`.
pub(crate) fn schedule(dev: &NetDevice) -> Result {
    let q = wq::queue().ok_or(ENODEV)?;
    let t = Arc::pin_init(
        pin_init!(Tick {
            dev: dev.into(),
            work <- new_delayed_work!("ovpn_dco::keepalive"),
        }),
        GFP_KERNEL,
    )?;
    // A fresh item cannot be queued already.
    let _ = q.enqueue_delayed(t, kernel::time::msecs_to_jiffies(TICK_MS));
    Ok(())
}

fn tick(dev: &NetDevice) {
    let Some(ovpn) = ovpn_of(dev) else {
        return;
    };
    let now = now_ms();
    let mut pings = KVec::new();
    let mut set = ovpn.peers().lock();
    let mut active = false;
    let mut due_ids = KVec::new();
    for p in set.iter() {
        let due = p.keepalive_due(now, ovpn.api() == Api::Ovpn);
        match due {
            Due::Off => {}
            Due::Nothing => active = true,
            Due::Ping => {
                active = true;
                if pings.push(p.clone(), GFP_KERNEL).is_err() {
                    pr_warn!("peer {}: keepalive skipped (no memory)\n", p.id());
                }
            }
            Due::Lost | Due::Expired => {
                let reason = match due {
                    Due::Lost => uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT,
                    _ => uapi::OVPN_DEL_PEER_REASON_EXPIRED,
                };
                if due_ids.push((p.id(), reason), GFP_KERNEL).is_err() {
                    // Retried on the next tick.
                    active = true;
                }
            }
        }
    }
    // Reserved first, so that every removed peer is also released.
    let mut expired = KVec::with_capacity(due_ids.len(), GFP_KERNEL).unwrap_or_default();
    if expired.capacity() < due_ids.len() {
        // No memory: try again on the next tick.
        active = true;
    } else {
        for (id, reason) in due_ids {
            if let Some(p) = set.remove(ovpn.tables(), id) {
                // Within the reserved capacity: cannot fail.
                let _ = expired.push((p, reason), GFP_KERNEL);
            }
        }
    }
    ovpn.sync_carrier(dev, &set);
    let rearm = active && !set.is_dead() && schedule(dev).is_ok();
    set.set_ticking(rearm);
    drop(set);
    for (p, reason) in expired {
        pr_debug!("peer {}: removed by the tick ({})\n", p.id(), reason);
        peer::announce_removed(dev, p, reason);
    }
    for p in pings {
        tx::send_keepalive(p);
    }
}
