// SPDX-License-Identifier: GPL-2.0

//! Messages from the kernel: `OVPN_CMD_GET_PEER` replies and the
//! `OVPN_CMD_DEL_PEER` notification, and their one-line text forms.
//!
//! Integer attributes must have exactly their size; attributes of unknown
//! type (including the padding attributes the kernel may put before 64-bit
//! values) are ignored.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use neli::{genl::Nlattr, types::Buffer};
use ovpn_dco_proto::uapi;

use crate::{
    error::{Error, Result},
    genl::{genl_cmd, OvpnMsg},
    sockaddr,
};

/// The type of an attribute, without the nested and byte-order flags.
fn attr_type(a: &Nlattr<u16, Buffer>) -> u32 {
    u32::from(*a.nla_type().nla_type())
}

/// The payload of an attribute as an array of exactly `N` bytes.
fn fixed<const N: usize>(a: &Nlattr<u16, Buffer>) -> Result<[u8; N]> {
    <[u8; N]>::try_from(a.nla_payload().as_ref()).map_err(|_| {
        Error::other(format!(
            "attribute {} has {} bytes, expected {N}",
            attr_type(a),
            a.nla_payload().len()
        ))
    })
}

/// A `u8` attribute.
fn get_u8(a: &Nlattr<u16, Buffer>) -> Result<u8> {
    Ok(fixed::<1>(a)?[0])
}

/// A `u32` attribute (host byte order).
fn get_u32(a: &Nlattr<u16, Buffer>) -> Result<u32> {
    Ok(u32::from_ne_bytes(fixed(a)?))
}

/// A `u64` attribute (host byte order).
fn get_u64(a: &Nlattr<u16, Buffer>) -> Result<u64> {
    Ok(u64::from_ne_bytes(fixed(a)?))
}

/// The attributes nested in the top-level attribute `ty` of `msg`.
fn nested(msg: &OvpnMsg, ty: u32) -> Result<Option<Vec<Nlattr<u16, Buffer>>>> {
    let Some(outer) = msg.attrs().iter().find(|a| attr_type(a) == ty) else {
        return Ok(None);
    };
    let handle = outer.get_attr_handle::<u16>()?;
    Ok(Some(handle.iter().cloned().collect()))
}

/// The top-level `OVPN_ATTR_IFINDEX` of `msg`, if present.
fn ifindex(msg: &OvpnMsg) -> Result<Option<u32>> {
    msg.attrs()
        .iter()
        .find(|a| attr_type(a) == uapi::OVPN_ATTR_IFINDEX)
        .map(get_u32)
        .transpose()
}

/// A peer as described by a `OVPN_CMD_GET_PEER` reply; absent attributes
/// are `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// `PEER_ID`.
    pub id: Option<u32>,
    /// `SOCKADDR_REMOTE`.
    pub remote: Option<SocketAddr>,
    /// `IPV4`.
    pub vpn4: Option<Ipv4Addr>,
    /// `IPV6`.
    pub vpn6: Option<Ipv6Addr>,
    /// `LOCAL_IP`.
    pub local: Option<IpAddr>,
    /// `LOCAL_PORT` (sent big endian).
    pub local_port: Option<u16>,
    /// `KEEPALIVE_INTERVAL`.
    pub ka_interval: Option<u32>,
    /// `KEEPALIVE_TIMEOUT`.
    pub ka_timeout: Option<u32>,
    /// `VPN_RX_BYTES`.
    pub vpn_rx_bytes: Option<u64>,
    /// `VPN_TX_BYTES`.
    pub vpn_tx_bytes: Option<u64>,
    /// `VPN_RX_PACKETS`.
    pub vpn_rx_packets: Option<u32>,
    /// `VPN_TX_PACKETS`.
    pub vpn_tx_packets: Option<u32>,
    /// `LINK_RX_BYTES`.
    pub link_rx_bytes: Option<u64>,
    /// `LINK_TX_BYTES`.
    pub link_tx_bytes: Option<u64>,
    /// `LINK_RX_PACKETS`.
    pub link_rx_packets: Option<u32>,
    /// `LINK_TX_PACKETS`.
    pub link_tx_packets: Option<u32>,
}

impl PeerInfo {
    /// Parses a `OVPN_CMD_GET_PEER` reply; `None` if it has no
    /// `OVPN_ATTR_GET_PEER` nest.
    pub fn from_msg(msg: &OvpnMsg) -> Result<Option<Self>> {
        let Some(attrs) = nested(msg, uapi::OVPN_ATTR_GET_PEER)? else {
            return Ok(None);
        };
        let mut p = PeerInfo::default();
        for a in &attrs {
            match attr_type(a) {
                uapi::OVPN_GET_PEER_RESP_ATTR_PEER_ID => p.id = Some(get_u32(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE => {
                    p.remote = Some(sockaddr::decode(a.nla_payload().as_ref())?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_IPV4 => p.vpn4 = Some(Ipv4Addr::from(fixed::<4>(a)?)),
                uapi::OVPN_GET_PEER_RESP_ATTR_IPV6 => {
                    p.vpn6 = Some(Ipv6Addr::from(fixed::<16>(a)?))
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_LOCAL_IP => {
                    p.local = Some(sockaddr::decode_ip(a.nla_payload().as_ref())?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT => {
                    p.local_port = Some(u16::from_be_bytes(fixed(a)?))
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL => {
                    p.ka_interval = Some(get_u32(a)?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT => p.ka_timeout = Some(get_u32(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES => p.vpn_rx_bytes = Some(get_u64(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_VPN_TX_BYTES => p.vpn_tx_bytes = Some(get_u64(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_VPN_RX_PACKETS => {
                    p.vpn_rx_packets = Some(get_u32(a)?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS => {
                    p.vpn_tx_packets = Some(get_u32(a)?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_LINK_RX_BYTES => p.link_rx_bytes = Some(get_u64(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_LINK_TX_BYTES => p.link_tx_bytes = Some(get_u64(a)?),
                uapi::OVPN_GET_PEER_RESP_ATTR_LINK_RX_PACKETS => {
                    p.link_rx_packets = Some(get_u32(a)?)
                }
                uapi::OVPN_GET_PEER_RESP_ATTR_LINK_TX_PACKETS => {
                    p.link_tx_packets = Some(get_u32(a)?)
                }
                _ => {} // padding or newer attributes
            }
        }
        Ok(Some(p))
    }
}

/// Writes the present fields as space-separated `key=value` pairs.
impl fmt::Display for PeerInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, Option<String>); 16] = [
            ("id", self.id.map(|v| v.to_string())),
            ("remote", self.remote.map(|v| v.to_string())),
            ("vpn4", self.vpn4.map(|v| v.to_string())),
            ("vpn6", self.vpn6.map(|v| v.to_string())),
            ("local", self.local.map(|v| v.to_string())),
            ("local_port", self.local_port.map(|v| v.to_string())),
            ("ka_interval", self.ka_interval.map(|v| v.to_string())),
            ("ka_timeout", self.ka_timeout.map(|v| v.to_string())),
            ("vpn_rx_bytes", self.vpn_rx_bytes.map(|v| v.to_string())),
            ("vpn_tx_bytes", self.vpn_tx_bytes.map(|v| v.to_string())),
            ("vpn_rx_packets", self.vpn_rx_packets.map(|v| v.to_string())),
            ("vpn_tx_packets", self.vpn_tx_packets.map(|v| v.to_string())),
            ("link_rx_bytes", self.link_rx_bytes.map(|v| v.to_string())),
            ("link_tx_bytes", self.link_tx_bytes.map(|v| v.to_string())),
            (
                "link_rx_packets",
                self.link_rx_packets.map(|v| v.to_string()),
            ),
            (
                "link_tx_packets",
                self.link_tx_packets.map(|v| v.to_string()),
            ),
        ];
        let mut sep = "";
        for (key, value) in fields {
            if let Some(value) = value {
                write!(f, "{sep}{key}={value}")?;
                sep = " ";
            }
        }
        Ok(())
    }
}

/// The name of an `OVPN_DEL_PEER_REASON_*` value.
pub fn reason_name(reason: u8) -> Option<&'static str> {
    match reason {
        uapi::OVPN_DEL_PEER_REASON_TEARDOWN => Some("teardown"),
        uapi::OVPN_DEL_PEER_REASON_USERSPACE => Some("userspace"),
        uapi::OVPN_DEL_PEER_REASON_EXPIRED => Some("expired"),
        uapi::OVPN_DEL_PEER_REASON_TRANSPORT_ERROR => Some("transport-error"),
        uapi::OVPN_DEL_PEER_REASON_TRANSPORT_DISCONNECT => Some("transport-disconnect"),
        _ => None,
    }
}

/// A multicast notification of the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// `OVPN_CMD_DEL_PEER`: a peer was deleted.
    DelPeer {
        /// The device.
        ifindex: Option<u32>,
        /// The peer.
        peer_id: Option<u32>,
        /// Why (`OVPN_DEL_PEER_REASON_*`).
        reason: Option<u8>,
    },
    /// A command this client does not know.
    Other {
        /// The command number.
        cmd: u8,
        /// The device.
        ifindex: Option<u32>,
    },
}

impl Notification {
    /// Parses a notification message.
    pub fn from_msg(msg: &OvpnMsg) -> Result<Self> {
        let ifindex = ifindex(msg)?;
        if *msg.cmd() != genl_cmd(uapi::OVPN_CMD_DEL_PEER) {
            return Ok(Notification::Other {
                cmd: *msg.cmd(),
                ifindex,
            });
        }
        let (mut peer_id, mut reason) = (None, None);
        for a in nested(msg, uapi::OVPN_ATTR_DEL_PEER)?.unwrap_or_default() {
            match attr_type(&a) {
                uapi::OVPN_DEL_PEER_ATTR_PEER_ID => peer_id = Some(get_u32(&a)?),
                uapi::OVPN_DEL_PEER_ATTR_REASON => reason = Some(get_u8(&a)?),
                _ => {}
            }
        }
        Ok(Notification::DelPeer {
            ifindex,
            peer_id,
            reason,
        })
    }
}

/// Writes an optional value, or `?` when absent.
struct Opt<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Opt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("?"),
        }
    }
}

/// `notify del_peer ifindex=X peer_id=Y reason=NAME` (the reason's number
/// when it has no name), or `notify cmd=N ifindex=X` for other commands.
impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notification::DelPeer {
                ifindex,
                peer_id,
                reason,
            } => {
                write!(
                    f,
                    "notify del_peer ifindex={} peer_id={} reason=",
                    Opt(*ifindex),
                    Opt(*peer_id)
                )?;
                match reason.map(|r| (r, reason_name(r))) {
                    Some((_, Some(name))) => f.write_str(name),
                    Some((r, None)) => write!(f, "{r}"),
                    None => f.write_str("?"),
                }
            }
            Notification::Other { cmd, ifindex } => {
                write!(f, "notify cmd={cmd} ifindex={}", Opt(*ifindex))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genl::{attr, nest};
    use neli::{
        genl::{GenlmsghdrBuilder, NoUserHeader},
        types::GenlBuffer,
    };

    fn msg(cmd: u32, attrs: Vec<Nlattr<u16, Buffer>>) -> OvpnMsg {
        GenlmsghdrBuilder::<u8, u16, NoUserHeader>::default()
            .cmd(genl_cmd(cmd))
            .version(uapi::OVPN_NL_VERSION)
            .attrs(attrs.into_iter().collect::<GenlBuffer<_, _>>())
            .build()
            .unwrap()
    }

    #[test]
    fn parses_and_prints_a_peer() {
        let remote: SocketAddr = "[2001:db8::5]:1194".parse().unwrap();
        let m = msg(
            uapi::OVPN_CMD_GET_PEER,
            vec![
                attr(uapi::OVPN_ATTR_IFINDEX, 3u32).unwrap(),
                nest(
                    uapi::OVPN_ATTR_GET_PEER,
                    &[
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_PEER_ID, 1u32).unwrap(),
                        attr(
                            uapi::OVPN_GET_PEER_RESP_ATTR_SOCKADDR_REMOTE,
                            sockaddr::encode(&remote),
                        )
                        .unwrap(),
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_IPV4, [10u8, 8, 0, 2]).unwrap(),
                        attr(
                            uapi::OVPN_GET_PEER_RESP_ATTR_LOCAL_IP,
                            [0x20u8, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                        )
                        .unwrap(),
                        attr(
                            uapi::OVPN_GET_PEER_RESP_ATTR_LOCAL_PORT,
                            1195u16.to_be_bytes(),
                        )
                        .unwrap(),
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_INTERVAL, 10u32).unwrap(),
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_KEEPALIVE_TIMEOUT, 60u32).unwrap(),
                        attr(0, Vec::<u8>::new()).unwrap(), // pad
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_VPN_RX_BYTES, 1u64 << 40).unwrap(),
                        attr(uapi::OVPN_GET_PEER_RESP_ATTR_VPN_TX_PACKETS, 7u32).unwrap(),
                        attr(999, 5u32).unwrap(), // unknown
                    ],
                )
                .unwrap(),
            ],
        );
        let p = PeerInfo::from_msg(&m).unwrap().unwrap();
        assert_eq!(p.id, Some(1));
        assert_eq!(p.remote, Some(remote));
        assert_eq!(p.vpn6, None);
        assert_eq!(
            p.to_string(),
            "id=1 remote=[2001:db8::5]:1194 vpn4=10.8.0.2 local=2001:db8::1 local_port=1195 \
             ka_interval=10 ka_timeout=60 vpn_rx_bytes=1099511627776 vpn_tx_packets=7"
        );
    }

    #[test]
    fn wrong_integer_size_is_an_error() {
        let m = msg(
            uapi::OVPN_CMD_GET_PEER,
            vec![nest(
                uapi::OVPN_ATTR_GET_PEER,
                &[attr(uapi::OVPN_GET_PEER_RESP_ATTR_PEER_ID, 1u16).unwrap()],
            )
            .unwrap()],
        );
        assert!(PeerInfo::from_msg(&m).is_err());
    }

    #[test]
    fn reply_without_nest_is_no_peer() {
        let m = msg(
            uapi::OVPN_CMD_GET_PEER,
            vec![attr(uapi::OVPN_ATTR_IFINDEX, 3u32).unwrap()],
        );
        assert_eq!(PeerInfo::from_msg(&m).unwrap(), None);
    }

    #[test]
    fn del_peer_notification() {
        let m = msg(
            uapi::OVPN_CMD_DEL_PEER,
            vec![
                attr(uapi::OVPN_ATTR_IFINDEX, 4u32).unwrap(),
                nest(
                    uapi::OVPN_ATTR_DEL_PEER,
                    &[
                        attr(
                            uapi::OVPN_DEL_PEER_ATTR_REASON,
                            uapi::OVPN_DEL_PEER_REASON_EXPIRED,
                        )
                        .unwrap(),
                        attr(uapi::OVPN_DEL_PEER_ATTR_PEER_ID, 12u32).unwrap(),
                    ],
                )
                .unwrap(),
            ],
        );
        let n = Notification::from_msg(&m).unwrap();
        assert_eq!(
            n.to_string(),
            "notify del_peer ifindex=4 peer_id=12 reason=expired"
        );

        let n = Notification::DelPeer {
            ifindex: Some(1),
            peer_id: Some(2),
            reason: Some(9),
        };
        assert_eq!(
            n.to_string(),
            "notify del_peer ifindex=1 peer_id=2 reason=9"
        );
    }

    #[test]
    fn reason_names() {
        assert_eq!(reason_name(0), Some("teardown"));
        assert_eq!(reason_name(1), Some("userspace"));
        assert_eq!(reason_name(2), Some("expired"));
        assert_eq!(reason_name(3), Some("transport-error"));
        assert_eq!(reason_name(4), Some("transport-disconnect"));
        assert_eq!(reason_name(5), None);
    }
}
