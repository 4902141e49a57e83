#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints the notifications of the `ovpn` family's `peers` group.

Usage: ynl-listen.py KDIR NS SECONDS [COUNT]

Joins the group in network namespace NS with the kernel's YNL (the pyynl
library and ovpn.yaml of the tree KDIR), prints "ready" once subscribed,
then one JSON line per notification, and exits after COUNT of them
(default: no limit) or SECONDS.  The scenarios start it in the
background and wait for "ready" before causing the notifications.
"""

import json
import os
import sys

KDIR, NS, SECONDS = sys.argv[1], sys.argv[2], float(sys.argv[3])
COUNT = int(sys.argv[4]) if len(sys.argv) > 4 else None
sys.path.insert(0, os.path.join(KDIR, 'tools/net/ynl'))
from ynltest import enter  # noqa: E402  pylint: disable=wrong-import-position
from pyynl.lib import YnlFamily  # noqa: E402  pylint: disable=wrong-import-position
from pyynl.lib.ynl import NlAttr  # noqa: E402  pylint: disable=wrong-import-position

# KEY_SWAP_NTF carries its key id as a u16, as Linux's driver sends it and
# OpenVPN reads it, though the spec says u32: decode a shorter unsigned
# scalar by its own length instead of failing.
_as_scalar = NlAttr.as_scalar


def _as_scalar_by_len(self, attr_type, byte_order=None):
    if attr_type[0] == 'u' and len(self.raw) in (1, 2, 4) and len(self.raw) * 8 < int(attr_type[1:]):
        attr_type = 'u' + str(len(self.raw) * 8)
    return _as_scalar(self, attr_type, byte_order)


NlAttr.as_scalar = _as_scalar_by_len

enter(NS)
fam = YnlFamily(os.path.join(KDIR, 'Documentation/netlink/specs/ovpn.yaml'))
fam.ntf_subscribe('peers')
print('ready', flush=True)
n = 0
for msg in fam.poll_ntf(duration=SECONDS):
    print(json.dumps(msg, sort_keys=True), flush=True)
    n += 1
    if COUNT is not None and n >= COUNT:
        break
