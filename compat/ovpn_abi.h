/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Linux's `ovpn` ABI, on its own for bindgen: src/abstractions/abi_ovpn.rs
 * checks the module's numbers against it.  It cannot share a translation
 * unit with ovpn_dco.h, which names its enums the same.
 */
#include <linux/ovpn.h>
