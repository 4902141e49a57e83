// SPDX-License-Identifier: GPL-2.0

//! Bindings from the module's own bindgen run over `compat/ovpn_compat.h`.
//!
//! Only the abstraction layer may use them; driver code goes through the safe
//! wrappers next to this file.

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::cast_lossless,
    clippy::as_underscore,
    clippy::ptr_cast_constness,
    dead_code,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]
// bindgen 0.71 transmutes in bitfield accessors, which rustc 1.88 and newer
// flag; older compilers do not know that lint.
#![cfg_attr(CONFIG_RUSTC_HAS_UNNECESSARY_TRANSMUTES, allow(unnecessary_transmutes))]

use kernel::ffi;

type __kernel_size_t = usize;
type __kernel_ssize_t = isize;
type __kernel_ptrdiff_t = isize;

include!("bindings_generated.rs");
