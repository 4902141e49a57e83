// SPDX-License-Identifier: GPL-2.0
/*
 * The module's parameters, declared in C: the kernel crate's module
 * parameters changed between 7.2 and 7.3 (ModuleParamAccess::value()
 * returns a reference in 7.2, a copy in 7.3), C's did not.  Names,
 * descriptions, defaults and the type modinfo shows (u32) are those the
 * module! block had; like its parameters, these have no sysfs file (perm
 * 0), so only the module loader writes them, before the module's init
 * runs.  The Rust side reads them through src/abstractions/params.rs.
 */
#include "ovpn_compat.h"

unsigned int ovpn_dco_param_rx_burst = OVPN_DCO_RX_BURST_DEFAULT;
module_param_cb(rx_burst, &param_ops_uint, &ovpn_dco_param_rx_burst, 0);
__MODULE_PARM_TYPE(rx_burst, "u32");
MODULE_PARM_DESC(rx_burst, "A peer's received packet is decrypted by the peer's RX work (on another CPU, in order) when it and this many packets before it each came less than 1 ms after the one before; 0: every packet; 4294967295: none (all decrypted where they arrive)");

unsigned int ovpn_dco_param_ovpn_api;
module_param_cb(ovpn_api, &param_ops_uint, &ovpn_dco_param_ovpn_api, 0);
__MODULE_PARM_TYPE(ovpn_api, "u32");
MODULE_PARM_DESC(ovpn_api, "Not 0: also serve Linux's ovpn API (link type and family ovpn, OpenVPN 2.7) unless Linux's ovpn driver holds it. 0: leave it to Linux's ovpn driver");

unsigned int ovpn_dco_param_tx_work;
module_param_cb(tx_work, &param_ops_uint, &ovpn_dco_param_tx_work, 0);
__MODULE_PARM_TYPE(tx_work, "u32");
MODULE_PARM_DESC(tx_work, "Not 0: the packets sent to a peer are encrypted and sent by the peer's TX work (on another CPU, in order); 0: in the sender's context");
