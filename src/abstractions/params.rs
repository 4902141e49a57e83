// SPDX-License-Identifier: GPL-2.0

//! The module's parameters, declared in C (`compat/params.c`): the kernel
//! crate's own parameters changed between Linux 7.2 and 7.3, C's did not.
//! Each has no sysfs file, so its value is the one given at load time (or
//! the default) for the module's whole life.

use super::bindings;
use core::ptr::addr_of;

/// `rx_burst`'s default in C equals the steering core's.
const RX_BURST_DEFAULT_CHECKED: () =
    assert!(bindings::OVPN_DCO_RX_BURST_DEFAULT == crate::proto::steer::STEER_BURST);

/// `rx_burst`: see its description in `compat/params.c`.
pub(crate) fn rx_burst() -> u32 {
    let () = RX_BURST_DEFAULT_CHECKED;
    // SAFETY: a parameter without a sysfs file is written by the module
    // loader only, before the module's init runs, and only read after:
    // this read races with no write.
    unsafe { addr_of!(bindings::ovpn_dco_param_rx_burst).read() }
}

/// `ovpn_api`: see its description in `compat/params.c`.
pub(crate) fn ovpn_api() -> u32 {
    // SAFETY: as in `rx_burst`.
    unsafe { addr_of!(bindings::ovpn_dco_param_ovpn_api).read() }
}

/// `tx_work`: see its description in `compat/params.c`.
pub(crate) fn tx_work() -> u32 {
    // SAFETY: as in `rx_burst`.
    unsafe { addr_of!(bindings::ovpn_dco_param_tx_work).read() }
}
