// SPDX-License-Identifier: GPL-2.0

//! The error type of `ovpn-cli` and how it maps to output and exit status.
//!
//! A netlink error is printed as `<errno name> (<errno number>)`, followed by
//! the kernel's extended ACK message when there is one, and the process exits
//! with the errno number.  Every other failure (bad usage, unknown interface
//! name, local I/O) exits with [`EXIT_OTHER`].

use std::fmt;

/// Exit status of failures that are not a kernel's netlink error
/// (`EX_USAGE` of `sysexits.h`).
pub const EXIT_OTHER: i32 = 64;

/// The result type used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can make a command fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The kernel answered the request with an error.
    Netlink {
        /// The (positive) errno number.
        errno: i32,
        /// The extended ACK message (`NLMSGERR_ATTR_MSG`), if any.
        msg: Option<String>,
    },
    /// The command line is wrong.
    Usage(String),
    /// Any other failure: local system calls, malformed replies, ...
    Other(String),
}

impl Error {
    /// A netlink error from the `error` field of a `struct nlmsgerr`
    /// (negative, as the kernel sends it) and the extended ACK message.
    pub fn netlink(error: i32, msg: Option<String>) -> Self {
        Error::Netlink {
            errno: error.saturating_abs(),
            msg,
        }
    }

    /// A usage error with the given explanation.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// Any other error with the given explanation.
    pub fn other(msg: impl Into<String>) -> Self {
        Error::Other(msg.into())
    }

    /// The process exit status for this error: the errno number for a
    /// netlink error (255 if it does not fit an exit status), otherwise
    /// [`EXIT_OTHER`].
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Netlink { errno, .. } => (*errno).clamp(1, 255),
            Error::Usage(_) | Error::Other(_) => EXIT_OTHER,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Netlink { errno, msg } => {
                write!(f, "{} ({errno})", errno_name(*errno))?;
                if let Some(msg) = msg {
                    write!(f, ": {msg}")?;
                }
                Ok(())
            }
            Error::Usage(msg) | Error::Other(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {}

/// Converts the errors of `neli` and of the standard library into
/// [`Error::Other`], prefixed with what failed.
macro_rules! other_from {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::Other(format!(concat!($what, ": {}"), e))
            }
        }
    )*};
}

other_from! {
    neli::err::SocketError => "netlink socket",
    neli::err::SerError => "netlink serialization",
    neli::err::DeError => "netlink parsing",
    neli::nl::NlmsghdrBuilderError => "netlink message",
    neli::genl::GenlmsghdrBuilderError => "generic netlink header",
    neli::genl::NlattrBuilderError => "netlink attribute",
    neli::genl::AttrTypeBuilderError => "netlink attribute type",
    neli::rtnl::RtattrBuilderError => "rtnetlink attribute",
    neli::rtnl::IfinfomsgBuilderError => "rtnetlink ifinfomsg",
    std::io::Error => "I/O",
}

/// Names errno numbers, e.g. `22` as `EINVAL`.
macro_rules! errno_table {
    ($($name:ident),* $(,)?) => {
        &[$((libc::$name, stringify!($name))),*]
    };
}

/// The errno numbers a netlink request can plausibly return, with their
/// names.  Aliases (`EWOULDBLOCK`, `ENOTSUP`, `EDEADLOCK`) are left out so
/// each number has one name.
const ERRNO_NAMES: &[(i32, &str)] = errno_table![
    EPERM,
    ENOENT,
    ESRCH,
    EINTR,
    EIO,
    ENXIO,
    E2BIG,
    ENOEXEC,
    EBADF,
    ECHILD,
    EAGAIN,
    ENOMEM,
    EACCES,
    EFAULT,
    EBUSY,
    EEXIST,
    EXDEV,
    ENODEV,
    ENOTDIR,
    EISDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOTTY,
    EFBIG,
    ENOSPC,
    ESPIPE,
    EROFS,
    EMLINK,
    EPIPE,
    EDOM,
    ERANGE,
    EDEADLK,
    ENAMETOOLONG,
    ENOLCK,
    ENOSYS,
    ENOTEMPTY,
    ELOOP,
    ENOMSG,
    EIDRM,
    ENODATA,
    ETIME,
    ENOLINK,
    EPROTO,
    EBADMSG,
    EOVERFLOW,
    EILSEQ,
    ENOTSOCK,
    EDESTADDRREQ,
    EMSGSIZE,
    EPROTOTYPE,
    ENOPROTOOPT,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    EPFNOSUPPORT,
    EAFNOSUPPORT,
    EADDRINUSE,
    EADDRNOTAVAIL,
    ENETDOWN,
    ENETUNREACH,
    ENETRESET,
    ECONNABORTED,
    ECONNRESET,
    ENOBUFS,
    EISCONN,
    ENOTCONN,
    ESHUTDOWN,
    ETIMEDOUT,
    ECONNREFUSED,
    EHOSTDOWN,
    EHOSTUNREACH,
    EALREADY,
    EINPROGRESS,
    ESTALE,
    EDQUOT,
    ECANCELED,
    ENOKEY,
    EKEYEXPIRED,
    EKEYREVOKED,
    EKEYREJECTED,
    ERFKILL,
    EHWPOISON,
];

/// Kernel-internal errno numbers (`include/linux/errno.h`) that are not
/// part of the userspace ABI, hence absent from libc, yet can leak out of
/// netlink handlers.
const KERNEL_ERRNO_NAMES: &[(i32, &str)] = &[(512, "ERESTARTSYS"), (524, "ENOTSUPP")];

/// The symbolic name of a (positive) errno number, or `E?` if unknown.
pub fn errno_name(errno: i32) -> &'static str {
    ERRNO_NAMES
        .iter()
        .chain(KERNEL_ERRNO_NAMES)
        .find(|(n, _)| *n == errno)
        .map_or("E?", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_errnos() {
        assert_eq!(errno_name(libc::EINVAL), "EINVAL");
        assert_eq!(errno_name(libc::ENOENT), "ENOENT");
        assert_eq!(errno_name(libc::ENODEV), "ENODEV");
        assert_eq!(errno_name(libc::EPERM), "EPERM");
        assert_eq!(errno_name(libc::EOPNOTSUPP), "EOPNOTSUPP");
        assert_eq!(errno_name(524), "ENOTSUPP");
        assert_eq!(errno_name(100_000), "E?");
    }

    #[test]
    fn netlink_error_line_and_exit_code() {
        let e = Error::netlink(
            -libc::EINVAL,
            Some("ovpn-dco: mode must be 0 (P2P) or 1 (MP)".into()),
        );
        assert_eq!(
            e.to_string(),
            "EINVAL (22): ovpn-dco: mode must be 0 (P2P) or 1 (MP)"
        );
        assert_eq!(e.exit_code(), 22);

        let e = Error::netlink(-libc::ENOENT, None);
        assert_eq!(e.to_string(), "ENOENT (2)");
        assert_eq!(e.exit_code(), 2);

        assert_eq!(Error::netlink(-524, None).exit_code(), 255);
        assert_eq!(Error::usage("x").exit_code(), EXIT_OTHER);
        assert_eq!(Error::other("x").exit_code(), EXIT_OTHER);
    }

    #[test]
    fn errno_names_are_unique() {
        for (i, (n, name)) in ERRNO_NAMES.iter().enumerate() {
            assert!(
                ERRNO_NAMES[i + 1..].iter().all(|(m, _)| m != n),
                "{name} listed twice"
            );
        }
    }
}
