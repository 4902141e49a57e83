#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Drives ovpn-dco-v2 with the kernel's YNL from the family's spec.

Usage: ynl-dco.py KDIR REPO

Run by tests/vm/t-ynl.sh in the test VM, with namespaces peer0 and peer1
joined by a veth (10.10.0.1 <-> 10.10.0.2) and a P2P ovpn-dco device tun0
in each (5.5.5.1 <-> 5.5.5.2).  Everything goes through the pyynl library
of the kernel tree KDIR, loaded with Documentation/netlink/specs/
ovpn-dco-v2.yaml (one process: NEW_PEER takes a socket descriptor of the
caller, and process starts are slow in the guest); the YNL command-line
tool cli.py is run for a dump and a refused request.  Every step checks
what the module answered; the first failure ends the run (exit 1).
"""

import importlib.util
import json
import os
import socket
import struct
import subprocess
import sys

KDIR, REPO = sys.argv[1], sys.argv[2]
SPEC = os.path.join(REPO, 'Documentation/netlink/specs/ovpn-dco-v2.yaml')
SCHEMA = os.path.join(KDIR, 'Documentation/netlink/genetlink-legacy.yaml')
CLI = os.path.join(KDIR, 'tools/net/ynl/pyynl/cli.py')
sys.path.insert(0, os.path.join(KDIR, 'tools/net/ynl'))
from ynltest import Failed, check, enter, ok, run_checks  # noqa: E402  pylint: disable=wrong-import-position
from pyynl.lib import YnlFamily, NlError  # noqa: E402  pylint: disable=wrong-import-position

EINVAL, ENOENT, ERANGE = 22, 2, 34
PORT = 1194
ADDR = ['10.10.0.1', '10.10.0.2']
TUN = ['5.5.5.1', '5.5.5.2']


def sockaddr_in(addr, port):
    return struct.pack('=H', socket.AF_INET) + struct.pack('!H', port) + \
        socket.inet_aton(addr) + bytes(8)


def refused(errno, what, fn, *args, msg=None):
    """`fn(*args)` must fail with `errno` (and extack message `msg`)."""
    try:
        fn(*args)
    except NlError as e:
        ext = e.nl_msg.extack or {}
        if e.error != errno:
            raise Failed(f'{what}: errno {e.error}, expected {errno} ({e})') from e
        if msg is not None and ext.get('msg') != msg:
            raise Failed(f'{what}: extack {ext!r}, expected message {msg!r}') from e
        ok(f'{what}: refused, {os.strerror(errno)}' + (f', "{msg}"' if msg else ''))
        return ext
    raise Failed(f'{what}: accepted')


class Side:
    """One end of the tunnel: its YNL socket, device and UDP socket."""

    def __init__(self, i):
        enter(f'peer{i}')
        self.i = i
        self.ynl = YnlFamily(SPEC, schema=SCHEMA)
        self.ifindex = socket.if_nametoindex('tun0')
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((ADDR[i], PORT))

    def do(self, op, nest=None, **attrs):
        req = {'ifindex': self.ifindex}
        if nest is not None:
            req[op] = nest
        req.update(attrs)
        return self.ynl.do(op, req)

    def peer(self, peer_id=1):
        rsp = self.do('get-peer', {'peer-id': peer_id})
        return rsp['get-peer']


# --- The policies the module runs against the spec --------------------------

def spec_model():
    spec = importlib.util.spec_from_file_location(
        'ynl_gen', os.path.join(REPO, 'tools/ynl-gen.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.Family(SPEC)


INT_MAX = {'u8': 0xff, 'u16': 0xffff, 'u32': 0xffffffff, 'u64': 0xffffffffffffffff}


def expected(fam, a):
    """What a policy dump shows for spec attribute `a`."""
    c = a.checks
    if a.type in INT_MAX:
        lo, hi = c.get('min', 0), c.get('max', INT_MAX[a.type])
        if 'enum' in a.yml and 'max' not in c:
            lo, hi = fam.enums[a.yml['enum']].value_range()
        return {'type': a.type, 'min-value': lo, 'max-value': hi}
    if a.type == 'binary':
        e = {'type': 'binary'}
        if 'exact-len' in c:
            e['min-length'] = e['max-length'] = c['exact-len']
        # (A minimum alone, NLA_POLICY_MIN_LEN, is not in policy dumps.)
        if 'max-len' in c:
            e['max-length'] = c['max-len']
        return e
    if a.type == 'nest':
        return {'type': 'nested'}
    raise Failed(f'{a.name}: no expectation for {a.type}')


def compare_policy(fam, pol, aset, path, seen):
    """The kernel's policy `pol` must accept exactly the attributes of
    `aset`, each with the spec's type and limits."""
    want = {a.name: a for a in aset.attrs if a.type not in ('unused', 'pad')}
    got = set(pol.keys())
    if got != set(want):
        raise Failed(f'{path}: the kernel accepts {sorted(got)}, the spec {sorted(want)}')
    for name, a in want.items():
        entry = pol[name]
        props = {k: getattr(entry, k.replace('-', '_'))
                 for k in ('type', 'min-value', 'max-value', 'min-length', 'max-length')
                 if hasattr(entry, k.replace('-', '_'))}
        if props != expected(fam, a):
            raise Failed(f'{path}.{name}: kernel {props}, spec {expected(fam, a)}')
        seen.append(f'{path}.{name}')
        if a.type == 'nest':
            compare_policy(fam, entry, fam.policy_set(a), f'{path}.{name}', seen)


def policies(side):
    fam = spec_model()
    for op in fam.ops:
        for mode in ('do', 'dump'):
            if mode not in op.yml:
                continue
            pol = side.ynl.get_policy(op.name, mode)
            check(pol is not None, f'{op.name} {mode}: the kernel reports a policy')
            seen = []
            compare_policy(fam, pol, fam.top, op.name, seen)
            ok(f'{op.name} {mode}: the {len(seen)} policy entries (nests included) '
               'as the spec has them')


# --- The scenario ------------------------------------------------------------

def run():
    s0 = Side(0)
    # A socket of peer0's namespace in the "peers" group, from the start
    # (joining binds it, which a socket that sent requests already is).
    listener = YnlFamily(SPEC, schema=SCHEMA)
    listener.ntf_subscribe('peers')
    s1 = Side(1)
    sides = (s0, s1)

    # The module's policies, as the kernel reports them, are the spec's.
    policies(s0)

    # A peer on each side, with the UDP socket (its descriptor, in this
    # process) and the other side's address.
    for s in sides:
        other = ADDR[1 - s.i]
        check(s.do('new-peer', {'peer-id': 1, 'socket': s.udp.fileno(),
                                'sockaddr-remote': sockaddr_in(other, PORT)}) is None,
              f'peer{s.i}: new-peer acknowledged')

    # AES-256-GCM key id 1 in the primary slot: one side's encryption key
    # is the other's decryption key.
    keys = [(os.urandom(32), os.urandom(8)) for _ in range(4)]

    def new_key(s, slot, key_id, alg, k):
        enc, dec = (k[0], k[1]) if s.i == 0 else (k[1], k[0])
        return s.do('new-key', {
            'peer-id': 1, 'key-slot': slot, 'key-id': key_id, 'cipher-alg': alg,
            'encrypt-key': {'cipher-key': enc[0], 'nonce-tail': enc[1]},
            'decrypt-key': {'cipher-key': dec[0], 'nonce-tail': dec[1]}})

    for s in sides:
        check(new_key(s, 'primary', 1, 1, keys[0:2]) is None, f'peer{s.i}: new-key acknowledged')

    # GET_PEER, do: what NEW_PEER set, nothing counted yet.
    p = s0.peer()
    check(p.get('peer-id') == 1, 'get-peer: peer-id', p)
    check(p.get('sockaddr-remote') == sockaddr_in(ADDR[1], PORT),
          'get-peer: sockaddr-remote is the remote given', p.get('sockaddr-remote'))
    check(p.get('local-port') == PORT, 'get-peer: local-port (be16)', p.get('local-port'))
    check(p.get('keepalive-interval') == 0 and p.get('keepalive-timeout') == 0,
          'get-peer: keepalive off', p)
    check(p.get('vpn-tx-packets') == 0 and p.get('vpn-rx-bytes') == 0,
          'get-peer: counters at 0', p)

    # SET_PEER: the keepalive, read back.
    for s in sides:
        check(s.do('set-peer', {'peer-id': 1, 'keepalive-interval': 10,
                                'keepalive-timeout': 120}) is None,
              f'peer{s.i}: set-peer acknowledged')
    p = s0.peer()
    check((p.get('keepalive-interval'), p.get('keepalive-timeout')) == (10, 120),
          'get-peer: keepalive 10 s / 120 s', p)

    # Traffic through the tunnel proves the keys usable.
    def ping(what):
        r = subprocess.run(['ip', 'netns', 'exec', 'peer0', 'ping', '-q', '-c', '3',
                            '-i', '0.2', '-W', '3', TUN[1]], capture_output=True, text=True)
        check(r.returncode == 0, f'ping through the tunnel ({what})', r.stdout + r.stderr)

    ping('key id 1')
    p0, p1 = s0.peer(), s1.peer()
    check(p0['vpn-tx-packets'] >= 3 and p1['vpn-rx-packets'] >= 3,
          'counted: peer0 sent, peer1 received at least 3',
          (p0['vpn-tx-packets'], p1['vpn-rx-packets']))
    check(p1['vpn-tx-packets'] >= 3 and p0['vpn-rx-packets'] >= 3,
          'counted: the replies', (p1['vpn-tx-packets'], p0['vpn-rx-packets']))
    check(p0['link-tx-bytes'] > p0['vpn-tx-bytes'] > 0, 'link bytes include the framing',
          (p0['link-tx-bytes'], p0['vpn-tx-bytes']))

    # GET_PEER, dump: the one peer, as the do saw it.
    dump = s0.ynl.dump('get-peer', {'ifindex': s0.ifindex})
    check(len(dump) == 1 and dump[0]['get-peer']['peer-id'] == 1,
          'get-peer dump: one peer, id 1', dump)

    # Key rotation: key id 2 in the secondary slot, swapped in on both
    # sides, the old one deleted.
    for s in sides:
        check(new_key(s, 'secondary', 2, 2, keys[2:4]) is None,
              f'peer{s.i}: new-key (secondary, ChaCha20-Poly1305) acknowledged')
    for s in sides:
        check(s.do('swap-keys', {'peer-id': 1}) is None, f'peer{s.i}: swap-keys acknowledged')
    for s in sides:
        check(s.do('del-key', {'peer-id': 1, 'key-slot': 'secondary'}) is None,
              f'peer{s.i}: del-key (the old key) acknowledged')
    ping('key id 2 after swap-keys')

    # Requests the spec marks invalid, refused with the module's errno.
    refused(EINVAL, 'get-peer without ifindex', s0.ynl.do, 'get-peer',
            {'get-peer': {'peer-id': 1}}, msg='ovpn-dco: missing ifindex')
    refused(EINVAL, 'del-peer without its required peer-id', s0.do, 'del-peer', {},
            msg='ovpn-dco: missing required attribute')
    refused(ERANGE, 'new-key with a 7-byte nonce-tail (exact-len 8)', new_key, s0,
            'primary', 3, 1, [(keys[0][0], bytes(7)), keys[1]])
    refused(ERANGE, 'new-peer with an 8-byte sockaddr-remote (min-len 16)', s0.do,
            'new-peer', {'peer-id': 2, 'socket': s0.udp.fileno(),
                         'sockaddr-remote': sockaddr_in(ADDR[1], PORT)[:8]})
    refused(ERANGE, 'new-key with a 256-byte cipher-key (max-len 255)', new_key, s0,
            'primary', 3, 1, [(bytes(256), keys[0][1]), keys[1]])
    refused(ERANGE, 'del-key with key-slot 2 (enum key-slot)', s0.do, 'del-key',
            {'peer-id': 1, 'key-slot': 2})
    refused(EINVAL, 'new-key with cipher-alg none', new_key, s0, 'primary', 3, 0,
            keys[0:2], msg='ovpn-dco: cipher must be AES-GCM or ChaCha20-Poly1305')
    refused(ENOENT, 'get-peer of an unknown peer', s0.do, 'get-peer', {'peer-id': 9},
            msg='ovpn-dco: no peer with this id')
    ping('the refused requests changed nothing')

    # The YNL command-line tool: a dump in peer1, a refused request.
    cli = ['ip', 'netns', 'exec', 'peer1', sys.executable, CLI, '--spec', SPEC,
           '--schema', SCHEMA]
    r = subprocess.run(cli + ['--dump', 'get-peer', '--json',
                              json.dumps({'ifindex': s1.ifindex}), '--output-json'],
                       capture_output=True, text=True)
    check(r.returncode == 0, 'cli.py --dump get-peer ran', r.stdout + r.stderr)
    out = json.loads(r.stdout)
    check(len(out) == 1 and out[0]['get-peer']['peer-id'] == 1
          and out[0]['get-peer']['vpn-rx-packets'] >= 6,
          'cli.py: the peer and its counters', out)
    r = subprocess.run(cli + ['--do', 'get-peer', '--json', '{"get-peer": {"peer-id": 1}}'],
                       capture_output=True, text=True)
    check(r.returncode == 1 and 'ovpn-dco: missing ifindex: Invalid argument' in r.stdout,
          'cli.py: a request without ifindex refused', r.stdout + r.stderr)

    # DEL_PEER, and its notification: the only one the group has had.
    check(s0.do('del-peer', {'peer-id': 1}) is None, 'peer0: del-peer acknowledged')
    ntfs = []
    for msg in listener.poll_ntf(duration=10):
        ntfs.append(msg)
        break
    ntfs += list(listener.poll_ntf(duration=2))
    want = {'name': 'del-peer-ntf',
            'msg': {'ifindex': s0.ifindex, 'del-peer': {'reason': 'userspace', 'peer-id': 1}}}
    check(ntfs == [want], 'del-peer-ntf received: reason userspace, peer-id 1', ntfs)
    refused(ENOENT, 'get-peer after del-peer', s0.do, 'get-peer', {'peer-id': 1})
    refused(ENOENT, 'del-peer of the deleted peer', s0.do, 'del-peer', {'peer-id': 1})


if __name__ == '__main__':
    sys.exit(run_checks(run))
