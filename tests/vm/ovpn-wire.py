#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An independent userspace implementation of the OpenVPN DATA_V2 AEAD
format, to check the module against it on the wire.

Written from the format description (opcode/key-id/peer-id word, packet
id, tag, ciphertext; AAD = the first 8 bytes; nonce = packet id + 8-byte
nonce tail) with Python's `cryptography`, sharing no code with the module.

Keys come from an ovpn-cli key file (base64 of 256 bytes): direction 0
encrypts with bytes 0..32 and nonce tail 64..72 and decrypts with 128..160
and 192..200; direction 1 the other way round.

  ovpn-wire.py ping KEYFILE DIR ALG BITS PEER_ID KEY_ID PID SRC DST \\
               LPORT RADDR RPORT [--expect-reply]
      sends an encrypted ICMP echo request SRC -> DST (inner IPv4) from
      UDP port LPORT to RADDR:RPORT; with --expect-reply, waits for the
      encrypted echo reply, decrypts it and checks it.
  ovpn-wire.py open PCAP KEYFILE DIR ALG BITS
      decrypts the first DATA_V2 packet of a capture and prints the inner
      packet's IP version, source and destination.
"""
import socket
import struct
import sys
import base64

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305


def load_keys(path, direction, alg, bits):
    text = "".join(l.strip() for l in open(path) if not l.startswith(("#", "-")))
    blob = base64.b64decode(text)
    a_key, a_nonce, b_key, b_nonce = blob[0:32], blob[64:72], blob[128:160], blob[192:200]
    n = bits // 8 if alg == "aes" else 32
    enc = (a_key[:n], a_nonce) if direction == 0 else (b_key[:n], b_nonce)
    dec = (b_key[:n], b_nonce) if direction == 0 else (a_key[:n], a_nonce)
    make = AESGCM if alg == "aes" else ChaCha20Poly1305
    return (make(enc[0]), enc[1]), (make(dec[0]), dec[1])


def seal(key, key_id, peer_id, pid, plain):
    aead, tail = key
    head = struct.pack(">I", (9 << 27) | (key_id << 24) | (peer_id & 0xFFFFFF))
    pid_b = struct.pack(">I", pid)
    out = aead.encrypt(pid_b + tail, plain, head + pid_b)
    ct, tag = out[:-16], out[-16:]
    return head + pid_b + tag + ct


def open_packet(key, pkt):
    aead, tail = key
    if pkt[0] >> 3 != 9:
        raise ValueError("not DATA_V2")
    aad, tag, ct = pkt[:8], pkt[8:24], pkt[24:]
    return aead.decrypt(pkt[4:8] + tail, ct + tag, aad)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def icmp_echo(src, dst, ident, seq):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"ovpn-wire-test!!"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + body


def first_udp_payload(path):
    data = open(path, "rb").read()
    endian = "<" if struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    incl = struct.unpack(endian + "I", data[32:36])[0]
    pkt = data[40:40 + incl]
    pkt = pkt[14:] if linktype == 1 else pkt
    udp = pkt[(pkt[0] & 0xF) * 4:] if pkt[0] >> 4 == 4 else pkt[40:]
    return udp[8:]


def main():
    a = sys.argv
    if a[1] == "ping":
        keyfile, direction, alg, bits = a[2], int(a[3]), a[4], int(a[5])
        peer_id, key_id, pid = int(a[6]), int(a[7]), int(a[8])
        src, dst, lport, raddr, rport = a[9], a[10], int(a[11]), a[12], int(a[13])
        enc, dec = load_keys(keyfile, direction, alg, bits)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", lport))
        s.settimeout(10)
        s.sendto(seal(enc, key_id, peer_id, pid, icmp_echo(src, dst, 0x4242, 7)), (raddr, rport))
        print("sent echo request %s -> %s, peer id %#x, packet id %d" % (src, dst, peer_id, pid))
        if "--expect-reply" in a:
            pkt, _ = s.recvfrom(4096)
            inner = open_packet(dec, pkt)
            ok = (inner[9] == 1 and inner[20] == 0 and socket.inet_ntoa(inner[12:16]) == dst
                  and socket.inet_ntoa(inner[16:20]) == src and inner[24:26] == b"\x42\x42")
            print("reply: peer id %#x, packet id %d, inner %s -> %s, icmp type %d" % (
                struct.unpack(">I", pkt[:4])[0] & 0xFFFFFF, struct.unpack(">I", pkt[4:8])[0],
                socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20]), inner[20]))
            sys.exit(0 if ok else 1)
    elif a[1] == "open":
        enc, dec = load_keys(a[3], int(a[4]), a[5], int(a[6]))
        inner = open_packet(dec, first_udp_payload(a[2]))
        if inner[0] >> 4 == 4:
            print("inner IPv4 %s -> %s proto %d" % (socket.inet_ntoa(inner[12:16]),
                                                   socket.inet_ntoa(inner[16:20]), inner[9]))
        else:
            print("inner IPv%d" % (inner[0] >> 4))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
