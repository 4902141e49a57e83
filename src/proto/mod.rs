// SPDX-License-Identifier: GPL-2.0

//! The pure protocol core of ovpn-dco: wire formats, framing and the ABI's
//! numbers, with no dependency on the kernel.
//!
//! The same files are compiled into the kernel module (as `crate::proto`)
//! and by cargo on the host as the `ovpn-dco-proto` crate, where they get
//! unit tests, property tests and fuzzing.  Code here uses only `core` and
//! relative paths, so it builds in both places.

#![cfg_attr(not(any(MODULE, test)), no_std)]

pub mod aead;
pub mod hold;
pub mod netdev;
pub mod ovpn_rules;
pub mod pktid;
pub mod sockaddr;
pub mod steer;
pub mod tcp;
pub mod uapi;
pub mod uapi_ovpn;
pub mod wire;
