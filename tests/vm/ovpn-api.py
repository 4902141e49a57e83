#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drives the module through Linux's `ovpn` API with the kernel's YNL.

Usage: ovpn-api.py KDIR

Run by tests/vm/t-ovpn-api.sh in the test VM, with namespaces srv and cli
joined by a veth (10.10.0.1, fd00::1 in srv; 10.10.0.2, fd00::2 in cli).
Everything goes through the pyynl library of the kernel tree KDIR, with
its specs: Documentation/netlink/specs/rt-link.yaml for the `ovpn` link
kind, ovpn.yaml for the family (one process: PEER_NEW takes a socket
descriptor of the caller).  Checks, each step printed:

- both modes of kind `ovpn` created, reported back by link dumps, mode 2
  refused with ERANGE, MTU 1416;
- PEER_NEW in MP (IPv4 remote on a dual-stack socket, asymmetric TX_ID;
  IPv6 remote with keepalive; a socket of another namespace) and P2P (a
  replacement), PEER_GET do and dump, what the replies carry;
- PEER_SET of every field (keepalive, TX_ID, endpoint, VPN addresses
  added, cleared and refused), a refused one changing nothing;
- KEY_NEW in both slots with both ciphers, KEY_GET, KEY_SWAP, KEY_DEL
  (an empty slot too), and their refusals;
- refusals: errno, and the missing attribute where the ABI names one;
- PEER_DEL, and PEER_DEL_NTF (USERSPACE, TEARDOWN) in the namespace of
  the peer's socket, nowhere else;
- the families serve their own kinds only.

The first failure ends the run (exit 1).
"""

import ipaddress
import os
import socket
import struct
import sys

KDIR = sys.argv[1]
SPECS = os.path.join(KDIR, 'Documentation/netlink/specs')
sys.path.insert(0, os.path.join(KDIR, 'tools/net/ynl'))
from ynltest import Failed, check, enter, ok, run_checks  # noqa: E402  pylint: disable=wrong-import-position
from pyynl.lib import YnlFamily, Netlink, NlError  # noqa: E402  pylint: disable=wrong-import-position

ENOENT, EEXIST, ENODEV, EINVAL, ERANGE = 2, 17, 19, 22, 34
ENOTSOCK, EOPNOTSUPP, EADDRINUSE, EADDRNOTAVAIL = 88, 95, 98, 99
PORT = 1194


def refused(errno, what, fn, *args, miss=None):
    """`fn(*args)` must fail with `errno` (and name `miss` missing)."""
    try:
        fn(*args)
    except NlError as e:
        ext = e.nl_msg.extack or {}
        if e.error != errno:
            raise Failed(f'{what}: errno {e.error}, expected {errno} ({e}, {ext})') from e
        if miss is not None and ext.get('miss-type') not in (miss, MISS.get(miss)):
            raise Failed(f'{what}: extack {ext!r}, expected missing {miss!r}') from e
        text = ext.get('msg')
        ok(f'{what}: refused, {os.strerror(errno)}' + (f', "{text}"' if text else '')
           + (f', missing {miss}' if miss else ''))
        return ext
    raise Failed(f'{what}: accepted')


# Missing types inside a nest are reported by number (YNL names only
# top-level ones).
MISS = {'id': 1, 'socket': 6, 'slot': 2}


def nla(ty, payload):
    """A netlink attribute, padded."""
    pad = (4 - len(payload) % 4) % 4
    return struct.pack('=HH', 4 + len(payload), ty) + payload + bytes(pad)


def nest(ty, payload):
    return nla(ty | 0x8000, payload)  # NLA_F_NESTED


def raw(family_id, cmd, attrs, dump=False):
    """Sends a genl request of `attrs` (bytes) as is; returns its errno."""
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
    try:
        flags = 0x1 | 0x4 | (0x300 if dump else 0)  # REQUEST, ACK, DUMP
        body = struct.pack('=BBH', cmd, 1, 0) + attrs
        sk.send(struct.pack('=IHHII', 16 + len(body), family_id, flags, 1, 0) + body)
        while True:
            rsp = sk.recv(65536)
            ln, ty = struct.unpack_from('=IH', rsp)
            if ty == 2:  # NLMSG_ERROR
                return -struct.unpack_from('=i', rsp, 16)[0]
            if ty == 3:  # NLMSG_DONE
                return 0
    finally:
        sk.close()


def v4(a):
    """An IPv4 address as YNL reads and writes it (display hint ipv4)."""
    return format(ipaddress.IPv4Address(a))


def v6(a):
    """An IPv6 address as YNL reads and writes it (display hint ipv6)."""
    return format(ipaddress.IPv6Address(a))


class Dev:
    """An `ovpn` device and the family socket that drives it."""

    def __init__(self, ovpn, name):
        self.ovpn = ovpn
        self.name = name
        self.ifindex = socket.if_nametoindex(name)

    def do(self, op, peer=None, **top):
        req = {'ifindex': self.ifindex}
        if peer is not None:
            req['peer'] = peer
        req.update(top)
        return self.ovpn.do(op, req)

    def get(self, peer_id):
        return self.do('peer-get', {'id': peer_id})['peer']

    def dump(self):
        return [m['peer'] for m in self.ovpn.dump('peer-get', {'ifindex': self.ifindex})]


def new_link(rt, name, mode=None):
    data = {} if mode is None else {'mode': mode}
    rt.do('newlink', {'ifname': name, 'linkinfo': {'kind': 'ovpn', 'data': data}},
          flags=[Netlink.NLM_F_CREATE, Netlink.NLM_F_EXCL])


def notifications(fam, want, wait=10):
    """Collects notifications until `want` of them came (or `wait` s)."""
    got = []
    for msg in fam.poll_ntf(duration=wait):
        got.append(msg)
        if len(got) >= want:
            break
    # Anything more, shortly after, is extra.
    got += list(fam.poll_ntf(duration=1))
    return got


def ntf(ifindex, peer_id, reason):
    return {'name': 'peer-del-ntf',
            'msg': {'ifindex': ifindex, 'peer': {'del-reason': reason, 'id': peer_id}}}


def run():
    rtspec = os.path.join(SPECS, 'rt-link.yaml')
    spec = os.path.join(SPECS, 'ovpn.yaml')

    # A UDP socket of the client's namespace, handed to the server's
    # device below: its peer's notifications belong to that namespace.
    enter('cli')
    foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    foreign.bind(('10.10.0.2', PORT + 5))
    cli_listener = YnlFamily(spec)
    cli_listener.ntf_subscribe('peers')

    enter('srv')
    rt = YnlFamily(rtspec)
    listener = YnlFamily(spec)
    listener.ntf_subscribe('peers')
    ovpn = YnlFamily(spec)

    # --- The link kind ---------------------------------------------------
    new_link(rt, 'tun0', 'mp')
    new_link(rt, 'tun1')
    for name, mode in (('tun0', 'mp'), ('tun1', 'p2p')):
        info = rt.do('getlink', {'ifname': name})
        li = info.get('linkinfo', {})
        check(li.get('kind') == 'ovpn' and li.get('data', {}).get('mode') == mode,
              f'{name}: kind ovpn, mode {mode} reported', li)
        check(info.get('mtu') == 1416, f'{name}: MTU 1416', info.get('mtu'))
    refused(ERANGE, 'newlink with mode 2', new_link, rt, 'tun2', 2)
    check(not os.path.exists('/sys/class/net/tun2'), 'no device left by the refused newlink')
    mp, p2p = Dev(ovpn, 'tun0'), Dev(ovpn, 'tun1')
    dco = socket.if_nametoindex('dco0')

    # --- PEER_NEW in MP ----------------------------------------------------
    udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    udp6.bind(('::', PORT))
    fd = udp6.fileno()
    p1 = {'id': 1, 'tx-id': 10, 'socket': fd, 'remote-ipv4': v4('10.10.0.2'),
          'remote-port': PORT, 'vpn-ipv4': v4('5.5.5.2')}
    check(mp.do('peer-new', p1) is None, 'MP: peer 1 (IPv4 remote, tx-id 10) added')
    p2 = {'id': 2, 'socket': fd, 'remote-ipv6': v6('fd00::2'), 'remote-port': PORT,
          'vpn-ipv6': v6('fd01::2'), 'keepalive-interval': 10, 'keepalive-timeout': 100}
    check(mp.do('peer-new', p2) is None, 'MP: peer 2 (IPv6 remote, keepalive) added')
    p3 = {'id': 0xFFFFFF, 'socket': foreign.fileno(), 'remote-ipv4': v4('10.10.0.1'),
          'remote-port': PORT, 'vpn-ipv4': v4('5.5.5.3')}
    check(mp.do('peer-new', p3) is None,
          'MP: peer 0xffffff (the highest id) on a socket of namespace cli added')

    g = mp.get(1)
    want = {'id': 1, 'tx-id': 10, 'vpn-ipv4': v4('5.5.5.2'), 'keepalive-interval': 0,
            'keepalive-timeout': 0, 'remote-ipv4': v4('10.10.0.2'), 'remote-port': PORT,
            'local-ipv4': '0.0.0.0', 'local-port': PORT}
    check(all(g.get(k) == v for k, v in want.items()), 'peer-get 1: what peer-new set', g)
    check('socket-netnsid' not in g, 'peer-get 1: no socket-netnsid (same namespace)', g)
    stats = [k for k in g if k.startswith(('vpn-', 'link-')) and k.endswith(('bytes', 'packets'))]
    check(len(stats) == 8 and all(g[k] == 0 for k in stats), 'peer-get 1: 8 counters at 0', g)
    g = mp.get(2)
    want = {'id': 2, 'tx-id': 2, 'vpn-ipv6': v6('fd01::2'), 'keepalive-interval': 10,
            'keepalive-timeout': 100, 'remote-ipv6': v6('fd00::2'),
            'remote-ipv6-scope-id': 0, 'remote-port': PORT, 'local-ipv6': v6('::'),
            'local-port': PORT}
    check(all(g.get(k) == v for k, v in want.items()),
          'peer-get 2: IPv6 remote, scope id, tx-id defaults to the id', g)
    g = mp.get(0xFFFFFF)
    check(isinstance(g.get('socket-netnsid'), int) and g['socket-netnsid'] >= 0
          and g.get('local-port') == PORT + 5,
          'peer-get 0xffffff: socket-netnsid of namespace cli, its port', g)
    d = mp.dump()
    check(sorted(p['id'] for p in d) == [1, 2, 0xFFFFFF], 'MP dump: the three peers',
          [p['id'] for p in d])

    # --- Refusals ------------------------------------------------------------
    new = lambda peer, **top: mp.do('peer-new', peer, **top)  # noqa: E731
    base = {'socket': fd, 'remote-ipv4': v4('10.10.0.2'), 'remote-port': PORT}
    refused(EINVAL, 'peer-new without ifindex', ovpn.do, 'peer-new',
            {'peer': dict(base, id=7, **{'vpn-ipv4': v4('5.5.5.7')})}, miss='ifindex')
    refused(ENODEV, 'peer-new on an unknown ifindex', ovpn.do, 'peer-new',
            {'ifindex': 99999, 'peer': dict(base, id=7)})
    refused(EINVAL, 'peer-new on an ovpn-dco device', ovpn.do, 'peer-new',
            {'ifindex': dco, 'peer': dict(base, id=7)})
    refused(EINVAL, 'peer-new without the peer nest', mp.do, 'peer-new', miss='peer')
    refused(EINVAL, 'peer-new without id', new, dict(base, **{'vpn-ipv4': v4('5.5.5.7')}),
            miss='id')
    refused(ERANGE, 'peer-new with id 0x1000000', new, dict(base, id=0x1000000))
    refused(ERANGE, 'peer-new with tx-id 0x1000000', new, dict(base, id=7, **{'tx-id': 1 << 24}))
    refused(ERANGE, 'peer-new with remote port 0', new, dict(base, id=7, **{'remote-port': 0}))
    refused(ERANGE, 'peer-new with keepalive 86401', new,
            dict(base, id=7, **{'keepalive-interval': 86401, 'keepalive-timeout': 1}))
    # YNL encodes only what an operation's spec lists: raw requests for
    # attributes the operations do not know.
    fid = ovpn.nlproto.family_id
    peer7 = nla(1, struct.pack('=I', 7))
    check(raw(fid, 1, nla(1, struct.pack('=I', mp.ifindex)) + nest(2, peer7)
              + nest(3, peer7)) == EINVAL,
          'peer-new with keyconf (above the op\'s maxattr): EINVAL')
    check(raw(fid, 3, nla(1, struct.pack('=I', mp.ifindex)) + nest(2, peer7),
              dump=True) == EINVAL,
          'peer-get dump with a peer nest (above its maxattr): EINVAL')
    check(raw(fid, 5, nla(1, struct.pack('=I', mp.ifindex)) + nest(2, peer7)) == EOPNOTSUPP,
          'a notification number as a request: EOPNOTSUPP')
    check(raw(fid, 1, nla(1, struct.pack('=I', mp.ifindex)) + nla(2, peer7)) == EINVAL,
          'peer-new with a peer nest lacking NLA_F_NESTED: EINVAL')
    ifx = nla(1, struct.pack('=I', mp.ifindex))
    good = (nla(1, struct.pack('=I', 7)) + nla(6, struct.pack('=I', fd))
            + nla(2, socket.inet_aton('10.10.0.2')) + nla(5, struct.pack('!H', PORT))
            + nla(8, socket.inet_aton('5.5.5.7')))
    check(raw(fid, 1, ifx + nest(2, good + nla(7, struct.pack('=i', 0)))) == EINVAL,
          'peer-new with socket-netnsid (not in peer-new-input): EINVAL')
    check(raw(fid, 1, ifx + nest(2, good + nla(12, struct.pack('!H', 5)))) == EINVAL,
          'peer-new with local-port (not in peer-new-input): EINVAL')
    check(raw(fid, 1, ifx + nest(2, good + nla(16, struct.pack('=I', 0)))) == EINVAL,
          'peer-new with a counter (not in peer-new-input): EINVAL')
    check(raw(fid, 1, ifx + nest(2, good[:-8] + nla(8, bytes(3)))) == EINVAL,
          'peer-new with a 3-byte VPN IPv4: EINVAL')
    refused(EINVAL, 'peer-new with both remote families', new,
            dict(base, id=7, **{'remote-ipv6': v6('fd00::2')}))
    refused(EINVAL, 'peer-new with a port and no remote IP', new,
            {'id': 7, 'socket': fd, 'remote-port': PORT, 'vpn-ipv4': v4('5.5.5.7')})
    refused(EINVAL, 'peer-new with a remote IP and no port', new,
            {'id': 7, 'socket': fd, 'remote-ipv4': v4('10.10.0.2'), 'vpn-ipv4': v4('5.5.5.7')})
    refused(EINVAL, 'peer-new with a scope id and an IPv4 remote', new,
            dict(base, id=7, **{'remote-ipv6-scope-id': 1, 'vpn-ipv4': v4('5.5.5.7')}))
    refused(EINVAL, 'peer-new with a local IPv6 and an IPv4 remote', new,
            dict(base, id=7, **{'local-ipv6': v6('fd00::1'), 'vpn-ipv4': v4('5.5.5.7')}))
    refused(EINVAL, 'peer-new with a keepalive interval alone', new,
            dict(base, id=7, **{'keepalive-interval': 5, 'vpn-ipv4': v4('5.5.5.7')}))
    refused(EINVAL, 'peer-new without socket', new,
            {'id': 7, 'remote-ipv4': v4('10.10.0.2'), 'remote-port': PORT,
             'vpn-ipv4': v4('5.5.5.7')}, miss='socket')
    refused(EINVAL, 'MP peer-new without a VPN IP', new, dict(base, id=7))
    refused(EINVAL, 'MP peer-new with VPN IPs 0.0.0.0 and ::', new,
            dict(base, id=7, **{'vpn-ipv4': v4('0.0.0.0'), 'vpn-ipv6': v6('::')}))
    for bad in ('127.0.0.1', '224.0.0.1', '255.255.255.255'):
        refused(EADDRNOTAVAIL, f'MP peer-new with VPN IPv4 {bad}', new,
                dict(base, id=7, **{'vpn-ipv4': v4(bad)}))
    for bad in ('::1', '::ffff:10.0.0.1', '::10.0.0.1', 'ff02::1'):
        refused(EADDRNOTAVAIL, f'MP peer-new with VPN IPv6 {bad}', new,
                dict(base, id=7, **{'vpn-ipv6': v6(bad)}))
    refused(EEXIST, 'MP peer-new with the id of peer 1', new,
            dict(base, id=1, **{'vpn-ipv4': v4('5.5.5.7')}))
    refused(EADDRINUSE, 'MP peer-new with the VPN IPv4 of peer 1', new,
            dict(base, id=7, **{'vpn-ipv4': v4('5.5.5.2')}))
    refused(EADDRINUSE, 'MP peer-new with the VPN IPv6 of peer 2', new,
            dict(base, id=7, **{'vpn-ipv6': v6('fd01::2')}))
    with open('/dev/null', 'rb') as f:
        refused(ENOTSOCK, 'peer-new with a descriptor that is no socket', new,
                dict(base, id=7, socket=f.fileno(), **{'vpn-ipv4': v4('5.5.5.7')}))
    refused(ENOTSOCK, 'peer-new with a closed descriptor', new,
            dict(base, id=7, socket=4000, **{'vpn-ipv4': v4('5.5.5.7')}))
    refused(EINVAL, 'peer-new on UDP without a remote', new,
            {'id': 7, 'socket': fd, 'vpn-ipv4': v4('5.5.5.7')})
    refused(EINVAL, 'peer-get with a second attribute', mp.do, 'peer-get',
            {'id': 1, 'tx-id': 10})
    refused(EINVAL, 'peer-get without id', mp.do, 'peer-get', {}, miss='id')
    refused(ENOENT, 'peer-get of an unknown id', mp.do, 'peer-get', {'id': 7})
    refused(ENOENT, 'peer-del of an unknown id', mp.do, 'peer-del', {'id': 7})
    check(raw(fid, 4, ifx + nest(2, nla(1, struct.pack('=I', 1))
                                 + nla(24, struct.pack('=I', 1)))) == EINVAL,
          'peer-del with a second attribute (not in peer-del-input): EINVAL')
    refused(EINVAL, 'peer-get dump without ifindex', ovpn.dump, 'peer-get', {},
            miss='ifindex')
    check(sorted(p['id'] for p in mp.dump()) == [1, 2, 0xFFFFFF],
          'MP dump: the refusals changed nothing')

    # --- P2P -----------------------------------------------------------------
    udp4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp4.bind(('10.10.0.1', PORT + 1))
    pp = {'socket': udp4.fileno(), 'remote-ipv4': v4('10.10.0.2'), 'remote-port': PORT + 1}
    refused(EINVAL, 'P2P peer-new with a VPN IP', p2p.do, 'peer-new',
            dict(pp, id=5, **{'vpn-ipv4': v4('5.5.5.5')}))
    check(p2p.do('peer-new', dict(pp, id=5)) is None, 'P2P: peer 5 added')
    check(p2p.do('peer-new', dict(pp, id=6, **{'tx-id': 60})) is None,
          'P2P: peer 6 replaces it')
    d = p2p.dump()
    check([(p['id'], p['tx-id']) for p in d] == [(6, 60)], 'P2P dump: peer 6 only, tx-id 60', d)
    refused(ENOENT, 'P2P peer-get of the replaced peer', p2p.do, 'peer-get', {'id': 5})
    refused(ENOENT, 'P2P peer-del of another id', p2p.do, 'peer-del', {'id': 5})

    # --- Each family its own kind -----------------------------------------
    dcospec = os.path.join(os.environ['REPO'], 'Documentation/netlink/specs/ovpn-dco-v2.yaml')
    dcofam = YnlFamily(dcospec,
                       schema=os.path.join(KDIR, 'Documentation/netlink/genetlink-legacy.yaml'))
    refused(EINVAL, 'ovpn-dco-v2 get-peer on an ovpn device', dcofam.do, 'get-peer',
            {'ifindex': mp.ifindex, 'get-peer': {'peer-id': 1}})
    refused(EINVAL, 'ovpn peer-get dump on an ovpn-dco device', ovpn.dump, 'peer-get',
            {'ifindex': dco})

    # --- PEER_SET ------------------------------------------------------------
    st = lambda peer: mp.do('peer-set', peer)  # noqa: E731
    check(st({'id': 1, 'keepalive-interval': 7, 'keepalive-timeout': 70, 'tx-id': 11,
              'vpn-ipv6': v6('fd01::1')}) is None, 'peer-set 1: keepalive, tx-id, a VPN IPv6')
    g = mp.get(1)
    check((g['keepalive-interval'], g['keepalive-timeout'], g['tx-id'], g.get('vpn-ipv4'),
           g.get('vpn-ipv6')) == (7, 70, 11, v4('5.5.5.2'), v6('fd01::1')),
          'peer-get 1: what peer-set changed, the rest kept', g)
    check(st({'id': 1, 'remote-ipv4': v4('10.10.0.2'), 'remote-port': PORT + 9,
              'local-ipv4': v4('10.10.0.1')}) is None, 'peer-set 1: a new endpoint')
    g = mp.get(1)
    check((g['remote-port'], g['local-ipv4']) == (PORT + 9, v4('10.10.0.1')),
          'peer-get 1: the new endpoint', g)
    check(st({'id': 1, 'vpn-ipv4': v4('0.0.0.0')}) is None,
          'peer-set 1: VPN IPv4 cleared (the IPv6 one remains)')
    check('vpn-ipv4' not in mp.get(1), 'peer-get 1: no VPN IPv4')
    refused(EINVAL, 'peer-set clearing the last VPN address', st,
            {'id': 1, 'vpn-ipv6': v6('::')})
    refused(EADDRINUSE, "peer-set to peer 2's VPN IPv6", st, {'id': 1, 'vpn-ipv6': v6('fd01::2')})
    refused(EADDRNOTAVAIL, 'peer-set to a multicast VPN IPv4', st,
            {'id': 1, 'vpn-ipv4': v4('224.0.0.1')})
    refused(EINVAL, 'peer-set with a keepalive timeout alone', st,
            {'id': 1, 'keepalive-timeout': 5})
    refused(EINVAL, 'peer-set without id', st, {'tx-id': 3}, miss='id')
    refused(ENOENT, 'peer-set of an unknown id', st, {'id': 7, 'tx-id': 3})
    check(raw(fid, 2, ifx + nest(2, nla(1, struct.pack('=I', 1))
                                 + nla(6, struct.pack('=I', fd)))) == EINVAL,
          'peer-set with a socket (not in peer-set-input): EINVAL')
    g = mp.get(1)
    check((g['tx-id'], g.get('vpn-ipv6'), g['keepalive-timeout']) == (11, v6('fd01::1'), 70),
          'peer-get 1: the refused peer-sets changed nothing', g)
    check(st({'id': 1, 'vpn-ipv4': v4('5.5.5.2')}) is None and mp.get(1).get('vpn-ipv4') == v4('5.5.5.2'),
          'peer-set 1: VPN IPv4 back')

    # --- The key commands ------------------------------------------------------
    kd = {'cipher-key': bytes(range(32)), 'nonce-tail': bytes(8)}
    key = lambda slot, key_id, alg='aes-gcm', peer=1, **dirs: mp.do(  # noqa: E731
        'key-new', None, keyconf=dict({'peer-id': peer, 'slot': slot, 'key-id': key_id,
                                       'cipher-alg': alg, 'encrypt-dir': kd,
                                       'decrypt-dir': kd}, **dirs))
    kget = lambda slot, peer=1, **extra: mp.do(  # noqa: E731
        'key-get', None, keyconf=dict({'peer-id': peer, 'slot': slot}, **extra))['keyconf']
    check(key('primary', 3) is None, 'key-new: AES-GCM key 3 in the primary slot')
    check(key('secondary', 4, 'chacha20-poly1305') is None,
          'key-new: ChaCha20-Poly1305 key 4 in the secondary slot')
    k = kget('primary')
    check((k['peer-id'], k['slot'], k['key-id'], k['cipher-alg']) == (1, 'primary', 3, 'aes-gcm'),
          'key-get primary: peer 1, key 3, AES-GCM', k)
    check(mp.do('key-swap', None, keyconf={'peer-id': 1}) is None, 'key-swap')
    k = kget('primary')
    check((k['key-id'], k['cipher-alg']) == (4, 'chacha20-poly1305'),
          'key-get primary after the swap: key 4, ChaCha20-Poly1305', k)
    check(mp.do('key-del', None, keyconf={'peer-id': 1, 'slot': 'secondary'}) is None,
          'key-del secondary')
    refused(ENOENT, 'key-get of the emptied slot', kget, 'secondary')
    check(mp.do('key-del', None, keyconf={'peer-id': 1, 'slot': 'secondary'}) is None,
          'key-del of an empty slot: no error (OpenVPN wipes both slots)')
    refused(EINVAL, 'key-new with cipher none', key, 'secondary', 1, 'none')
    refused(EINVAL, 'key-new with a 20-byte AES key', lambda: key(
        'secondary', 1, **{'encrypt-dir': {'cipher-key': bytes(20), 'nonce-tail': bytes(8)}}))
    refused(ERANGE, 'key-new with a 7-byte nonce tail', lambda: key(
        'secondary', 1, **{'decrypt-dir': {'cipher-key': bytes(32), 'nonce-tail': bytes(7)}}))
    refused(EINVAL, 'key-new without a nonce tail', lambda: key(
        'secondary', 1, **{'decrypt-dir': {'cipher-key': bytes(32)}}))
    refused(ERANGE, 'key-new with key id 8', key, 'secondary', 8)
    refused(ENOENT, 'key-new for an unknown peer', lambda: key('secondary', 1, peer=7))
    refused(EINVAL, 'key-get with a key id', lambda: kget('primary', **{'key-id': 4}))
    refused(EINVAL, 'key-del without a slot',
            lambda: mp.do('key-del', None, keyconf={'peer-id': 1}), miss='slot')
    refused(ENOENT, 'key-swap for an unknown peer',
            lambda: mp.do('key-swap', None, keyconf={'peer-id': 7}))

    # --- PEER_DEL and the notifications -----------------------------------
    check(mp.do('peer-del', {'id': 1}) is None, 'MP: peer 1 deleted')
    check(mp.do('peer-del', {'id': 0xFFFFFF}) is None, 'MP: peer 0xffffff deleted')
    rt.do('dellink', {'ifname': 'tun0'})
    ok('tun0 deleted (peer 2 left on it)')
    got = notifications(listener, 3)
    want = [ntf(p2p.ifindex, 5, 'teardown'), ntf(mp.ifindex, 1, 'userspace'),
            ntf(mp.ifindex, 2, 'teardown')]
    check(got == want, 'srv: peer-del-ntf for 5 (replaced), 1 (deleted), 2 (device gone)', got)
    got = notifications(cli_listener, 1)
    check(got == [ntf(mp.ifindex, 0xFFFFFF, 'userspace')],
          'cli: the peer on its socket, and no other', got)
    rt.do('dellink', {'ifname': 'tun1'})
    got = notifications(listener, 1)
    check(got == [ntf(p2p.ifindex, 6, 'teardown')], 'srv: peer 6 goes with tun1', got)


if __name__ == '__main__':
    sys.exit(run_checks(run))
