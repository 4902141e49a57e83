#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Makes the tunnel's AEADs asynchronous, or synchronous again.

    cryptd.py add|del|used [ALG...]

add instantiates cryptd around gcm(aes) and rfc7539(chacha20,poly1305)
through crypto_user (NETLINK_CRYPTO): a cryptd instance has the name of
the algorithm it wraps and a higher priority, so keys installed after
this run their requests on cryptd's workers and complete asynchronously,
as on a system with a crypto engine.  del removes the instances again
(once no key uses them: keys go a grace period after their peer, so
EBUSY is retried for a while).  used prints the reference count of the
instances of ALG... (default: both) and exits 0 if each is in use (a key
holds it).  Exits
non-zero on any refusal but EEXIST/ENOENT.
"""
import errno
import socket
import struct
import sys
import time

NETLINK_CRYPTO = 21
CRYPTO_MSG_NEWALG = 0x10
CRYPTO_MSG_DELALG = 0x11
NLM_F_REQUEST, NLM_F_ACK = 1, 4
ALGS = ("gcm(aes)", "rfc7539(chacha20,poly1305)")
# cryptd must be told what it wraps: an AEAD.
CRYPTO_ALG_TYPE_AEAD, CRYPTO_ALG_TYPE_MASK = 0x3, 0xF


def request(sock, msg_type, name, driver):
    body = struct.pack("64s64s64sIIII", name.encode(), driver.encode(), b"",
                       CRYPTO_ALG_TYPE_AEAD, CRYPTO_ALG_TYPE_MASK, 0, 0)
    sock.send(struct.pack("=IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
    reply = sock.recv(4096)
    # An NLMSG_ERROR: its error code follows the 16-byte header.
    return -struct.unpack("=i", reply[16:20])[0]


def instances():
    """The cryptd instances of ALGS in /proc/crypto: {alg: (driver, refcnt)}."""
    found = {}
    with open("/proc/crypto") as f:
        for block in f.read().split("\n\n"):
            fields = dict(l.split(":", 1) for l in block.splitlines() if ":" in l)
            fields = {k.strip(): v.strip() for k, v in fields.items()}
            if fields.get("name") in ALGS and fields.get("driver", "").startswith("cryptd("):
                found[fields["name"]] = (fields["driver"], int(fields.get("refcnt", "0")))
    return found


def main():
    op = sys.argv[1]
    if op == "used":
        found = instances()
        names = sys.argv[2:] or ALGS
        for alg in names:
            print(f"{found.get(alg, ('no cryptd(' + alg + ')',))[0]}: refcnt {found.get(alg, ('', 0))[1]}")
        # The algorithm itself and its registration hold 1; a key more.
        sys.exit(0 if all(found.get(a, ("", 0))[1] > 1 for a in names) else 1)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_CRYPTO)
    sock.bind((0, 0))
    ok = True
    for alg in ALGS:
        if op == "add":
            # EAGAIN: the instance was made and is being registered (its
            # self-test larval); asking again finds it (EEXIST).
            for _ in range(50):
                err = request(sock, CRYPTO_MSG_NEWALG, f"cryptd({alg})", "")
                if err != errno.EAGAIN:
                    break
                time.sleep(0.1)
            fine = (0, errno.EEXIST)
        else:
            # DELALG wants the instance's exact (driver) name.
            driver = instances().get(alg, ("", 0))[0]
            if not driver:
                continue
            for _ in range(100):
                err = request(sock, CRYPTO_MSG_DELALG, alg, driver)
                if err != errno.EBUSY:
                    break
                time.sleep(0.1)
            fine = (0, errno.ENOENT)
        print(f"{op} cryptd({alg}): {errno.errorcode.get(err, 'ok')}")
        ok = ok and err in fine
    sys.exit(0 if ok else 1)


main()
