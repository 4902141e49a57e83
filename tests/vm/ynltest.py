# SPDX-License-Identifier: GPL-2.0
"""What the YNL-driven scenarios (ynl-dco.py, ovpn-api.py) share: their
checks, which print "ok: WHAT" or raise Failed, running them for an exit
status, and entering a named network namespace."""
import ctypes
import os

CLONE_NEWNET = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)


class Failed(Exception):
    pass


def ok(what):
    print(f'ok: {what}', flush=True)


def check(cond, what, got=None):
    if not cond:
        raise Failed(what + ('' if got is None else f' (got {got!r})'))
    ok(what)


def enter(ns):
    """Moves this process into network namespace NS (ip netns add)."""
    fd = os.open(f'/run/netns/{ns}', os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f'setns {ns}')
    finally:
        os.close(fd)


def run_checks(run):
    """Runs RUN, which raises Failed at the first failed check; the exit
    status for the scenario."""
    try:
        run()
    except Failed as e:
        print(f'FAILED: {e}', flush=True)
        return 1
    print('all checks passed')
    return 0
