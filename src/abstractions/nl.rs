// SPDX-License-Identifier: GPL-2.0

//! Netlink attributes and extended acknowledgements.

use super::bindings;
use core::marker::PhantomData;
use kernel::prelude::*;

/// A netlink attribute (`struct nlattr`) that the netlink core has already
/// checked against a policy.
///
/// # Invariants
///
/// `ptr` points to a valid attribute whose header and `nla_len` bytes of
/// payload stay readable for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct Attr<'a> {
    ptr: *const bindings::nlattr,
    _p: PhantomData<&'a bindings::nlattr>,
}

impl<'a> Attr<'a> {
    /// Wraps a raw attribute pointer; `None` when it is null.
    ///
    /// # Safety
    ///
    /// A non-null `ptr` must point to a valid attribute that lives for `'a`.
    pub(crate) unsafe fn from_raw(ptr: *const bindings::nlattr) -> Option<Self> {
        if ptr.is_null() {
            None
        } else {
            // INVARIANT: non-null and valid per the function's contract.
            Some(Self {
                ptr,
                _p: PhantomData,
            })
        }
    }

    /// The raw pointer, for handing the attribute back to C.
    pub(crate) fn as_ptr(&self) -> *const bindings::nlattr {
        self.ptr
    }

    /// The attribute's payload.
    pub(crate) fn payload(&self) -> &'a [u8] {
        // SAFETY: by the type invariant the attribute is valid, so its data
        // pointer and length describe readable memory for `'a`.
        unsafe {
            let data = bindings::ovpn_compat_nla_data(self.ptr).cast::<u8>();
            let len = bindings::ovpn_compat_nla_len(self.ptr);
            core::slice::from_raw_parts(data, usize::try_from(len).unwrap_or(0))
        }
    }

    /// The payload as a `u8`; `EINVAL` if it is not exactly one byte.
    pub(crate) fn get_u8(&self) -> Result<u8> {
        match self.payload() {
            [b] => Ok(*b),
            _ => Err(EINVAL),
        }
    }

    /// The payload as a native-endian `u16`; `EINVAL` on a size mismatch.
    pub(crate) fn get_u16(&self) -> Result<u16> {
        let b: [u8; 2] = self.payload().try_into().map_err(|_| EINVAL)?;
        Ok(u16::from_ne_bytes(b))
    }

    /// The payload as a native-endian `u32`; `EINVAL` on a size mismatch.
    pub(crate) fn get_u32(&self) -> Result<u32> {
        let b: [u8; 4] = self.payload().try_into().map_err(|_| EINVAL)?;
        Ok(u32::from_ne_bytes(b))
    }
}

/// The maximum number of attribute types of a nest this driver parses.
pub(crate) const NEST_MAX: usize = 32;

/// The attributes of a nest, indexed by type, as `nla_parse_nested` left them.
pub(crate) struct Nested<'a> {
    tb: [*mut bindings::nlattr; NEST_MAX],
    len: usize,
    nest: Attr<'a>,
}

impl<'a> Nested<'a> {
    /// The attribute of type `ty`, if the request carried it.
    pub(crate) fn get(&self, ty: u32) -> Option<Attr<'a>> {
        let ty = usize::try_from(ty).ok()?;
        if ty >= self.len {
            return None;
        }
        // SAFETY: `nla_parse_nested` filled `tb` with null or with pointers
        // into the nest, which lives for `'a`.
        unsafe { Attr::from_raw(self.tb[ty]) }
    }

    /// The nest attribute itself.
    pub(crate) fn nest(&self) -> Attr<'a> {
        self.nest
    }
}

/// A policy table from `compat/netlink_gen.c`.
///
/// # Invariants
///
/// `policy` points to a static array of `maxtype + 1` entries.
#[derive(Clone, Copy)]
pub(crate) struct Policy {
    policy: *const bindings::nla_policy,
    maxtype: usize,
}

impl Policy {
    /// The policy of the nest carried in top-level attribute `attr` of the
    /// `ovpn-dco-v2` family, if that attribute is a nest.
    pub(crate) fn for_nest(attr: u32) -> Option<Self> {
        let attr = i32::try_from(attr).ok()?;
        // SAFETY: both functions only read static tables and accept any
        // value.
        let (policy, maxtype) = unsafe {
            (
                bindings::ovpn_compat_nested_policy(attr),
                bindings::ovpn_compat_nested_maxtype(attr),
            )
        };
        let maxtype = usize::try_from(maxtype).ok()?;
        if policy.is_null() || maxtype >= NEST_MAX {
            return None;
        }
        // INVARIANT: the table in netlink_gen.c has `maxtype + 1` entries.
        Some(Self { policy, maxtype })
    }

    /// The policy of the nest (`OVPN_A_PEER` or `OVPN_A_KEYCONF`) that
    /// command `cmd` of the `ovpn` family carries, if it carries one.
    pub(crate) fn for_ovpn_cmd(cmd: u8) -> Option<Self> {
        let mut maxtype = -1;
        // SAFETY: reads static tables only; `maxtype` is a valid out
        // pointer.
        let policy = unsafe { bindings::ovpn_compat_api_nest_policy(i32::from(cmd), &mut maxtype) };
        let maxtype = usize::try_from(maxtype).ok()?;
        if policy.is_null() || maxtype >= NEST_MAX {
            return None;
        }
        // INVARIANT: the table in ovpn_nl_gen.c has `maxtype + 1` entries.
        Some(Self { policy, maxtype })
    }

    /// The policy of a key direction nest inside `OVPN_ATTR_NEW_KEY`.
    pub(crate) fn key_dir() -> Self {
        // SAFETY: returns a static table.
        let policy = unsafe { bindings::ovpn_compat_key_dir_policy() };
        // INVARIANT: the table has `OVPN_KEY_DIR_ATTR_MAX + 1` entries.
        Self {
            policy,
            maxtype: crate::proto::uapi::OVPN_KEY_DIR_ATTR_MAX as usize,
        }
    }

    /// The policy of a key direction nest of the `ovpn` family
    /// (`OVPN_A_KEYCONF_ENCRYPT_DIR`, `OVPN_A_KEYCONF_DECRYPT_DIR`).
    pub(crate) fn ovpn_key_dir() -> Self {
        // SAFETY: returns a static table.
        let policy = unsafe { bindings::ovpn_compat_api_keydir_policy() };
        // INVARIANT: the table has `OVPN_A_KEYDIR_MAX + 1` entries.
        Self {
            policy,
            maxtype: crate::proto::uapi_ovpn::OVPN_A_KEYDIR_MAX as usize,
        }
    }
}

/// The extended acknowledgement of a request: where an error message and
/// the offending attribute are reported to userspace.
///
/// # Invariants
///
/// `ptr` is null or points to a `struct netlink_ext_ack` that stays valid
/// for `'a` and that only the request's own thread writes.  Several
/// `ExtAck`s of one request may alias it: each access is a plain write of
/// a field through the raw pointer, never a Rust reference.
pub(crate) struct ExtAck<'a> {
    ptr: *mut bindings::netlink_ext_ack,
    _p: PhantomData<&'a mut bindings::netlink_ext_ack>,
}

impl<'a> ExtAck<'a> {
    /// Wraps a raw extack pointer (which may be null).
    ///
    /// # Safety
    ///
    /// `ptr` must be null or valid for `'a`, and written only by the
    /// calling thread (the one handling the request) meanwhile.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::netlink_ext_ack) -> Self {
        // INVARIANT: per the function's contract.
        Self {
            ptr,
            _p: PhantomData,
        }
    }

    /// Sets the error message returned to userspace.
    pub(crate) fn msg(&self, msg: &'static CStr) {
        if self.ptr.is_null() {
            return;
        }
        // SAFETY: non-null, so valid and ours by the type invariant; the
        // message is static, as the netlink core requires.
        unsafe { (*self.ptr)._msg = msg.as_char_ptr() };
    }

    /// Marks `attr` as the attribute that caused the error.
    pub(crate) fn bad_attr(&self, attr: &Attr<'_>) {
        if self.ptr.is_null() {
            return;
        }
        // SAFETY: as in `msg`; the attribute lies in the request, which the
        // netlink core keeps until it has sent the acknowledgement.
        unsafe { (*self.ptr).bad_attr = attr.as_ptr() };
    }

    /// Reports that attribute `ty` is missing, inside `nest` if given.
    pub(crate) fn missing(&self, nest: Option<&Attr<'_>>, ty: u32) {
        let Ok(ty) = u16::try_from(ty) else {
            return;
        };
        if self.ptr.is_null() {
            return;
        }
        // SAFETY: as in `bad_attr`.
        unsafe {
            (*self.ptr).miss_type = ty;
            (*self.ptr).miss_nest = nest.map_or(core::ptr::null(), |n| n.as_ptr());
        }
    }

    /// Parses the nest `nest` with `policy` into a table of attributes.
    pub(crate) fn parse_nested(&self, nest: Attr<'a>, policy: Policy) -> Result<Nested<'a>> {
        let mut tb = [core::ptr::null_mut(); NEST_MAX];
        // SAFETY: `tb` has room for `policy.maxtype + 1 <= NEST_MAX` entries
        // (type invariant of `Policy`), the attribute is valid for `'a` and
        // the extack is null or valid.
        let ret = unsafe {
            bindings::ovpn_compat_nla_parse_nested(
                tb.as_mut_ptr(),
                policy.maxtype as i32,
                nest.as_ptr(),
                policy.policy,
                self.ptr,
            )
        };
        kernel::error::to_result(ret)?;
        Ok(Nested {
            tb,
            len: policy.maxtype + 1,
            nest,
        })
    }
}
