// SPDX-License-Identifier: GPL-2.0

//! The abstraction layer over the kernel's C API.
//!
//! This is the only place in the driver that contains `unsafe` code: every
//! type here wraps a C object with documented invariants, and every `unsafe`
//! block carries a `// SAFETY:` comment.  The driver logic in the other
//! modules of the crate uses these safe interfaces only.

mod abi;
mod abi_ovpn;
pub(crate) mod bindings;
pub(crate) mod crypto;
pub(crate) mod genl;
pub(crate) mod netdev;
pub(crate) mod nl;
pub(crate) mod params;
pub(crate) mod rcu;
pub(crate) mod rtnl;
pub(crate) mod skb;
pub(crate) mod socket;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod wq;

/// The build-time checks of the ABI numbers (`abi`, `abi_ovpn`).  The module's
/// init names this constant: that makes every constant they compare count as
/// used, even for rustc 1.85, which does not count uses in `const _` items
/// (the form of `kernel::static_assert!`).
pub(crate) const ABI_CHECKED: ((), ()) = (abi::CHECKED, abi_ovpn::CHECKED);

/// Error codes that the kernel crate has only from Linux 7.3 (7.2's
/// `kernel::error::code` lacks them), from the C constants: one function
/// each, named as the code in lower case.  The driver uses these, never
/// the kernel crate's, so that it builds on 7.2 (tests/stock/build72.sh).
macro_rules! c_errnos {
    ($($name:ident: $code:ident,)*) => {$(
        #[doc = concat!("`", stringify!($code), "`, from the C constant.")]
        pub(crate) fn $name() -> kernel::error::Error {
            kernel::error::Error::from_errno(-(bindings::$code as i32))
        }
    )*};
}

c_errnos! {
    eaddrinuse: EADDRINUSE,
    eaddrnotavail: EADDRNOTAVAIL,
    ebadmsg: EBADMSG,
    eloop: ELOOP,
    enetunreach: ENETUNREACH,
    enobufs: ENOBUFS,
    enotconn: ENOTCONN,
    enotsock: ENOTSOCK,
    eopnotsupp: EOPNOTSUPP,
    eprotonosupport: EPROTONOSUPPORT,
}
