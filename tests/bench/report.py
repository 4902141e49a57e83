#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the benchmark's guest console log into its report.

    report.py VM_LOG OUT_DIR [NOTE...]

Reads the BENCH / BENCH-NA / BENCH-INFO lines the guest printed
(tests/bench/lib-bench.sh) and writes into OUT_DIR:
  raw.tsv      every measured value (rep, system, cipher, metric, value)
  results.md   medians per system and cipher, and ratios against Linux's C
               ovpn driver with the same cipher
  chart.png    bar chart of the medians (if matplotlib is available)
Nothing here invents a figure: what the guest did not measure is shown as
"n/a (reason)" with the reason the guest gave.
"""
import os
import statistics
import sys
import textwrap
from collections import defaultdict

SYSTEMS = [
    ("dco", "ovpn-dco (this module)"),
    ("dcotcp", "ovpn-dco over TCP"),
    ("dcoinline", "ovpn-dco, rx_burst=4294967295 (RX all inline)"),
    ("dcoqueued", "ovpn-dco, rx_burst=0 (RX all through the work)"),
    ("dcotxwork", "ovpn-dco, tx_work=1 (TX through the work)"),
    ("ovpn", "Linux C `ovpn`"),
    ("ovpntcp", "Linux C `ovpn` over TCP"),
    ("wireguard", "WireGuard"),
    ("openvpn", "OpenVPN 2.6 userspace (tun)"),
    ("veth", "bare veth (no tunnel)"),
]
CIPHERS = {"aes": "AES-256-GCM", "chacha": "ChaCha20-Poly1305", "none": "none"}
METRICS = [
    ("tcp1_mbps", "TCP 1 stream, Mbit/s", True),
    ("tcp4_mbps", "TCP 4 streams, Mbit/s", True),
    ("udp64_kpps", "UDP 64 B, kpps", True),
    ("ping_ms", "ping RTT, ms", False),
    ("cpu_s_per_gb", "CPU s/GB (1 stream)", False),
]
BASELINE = "ovpn"
# This module with other parameters, measured on demand.
VARIANTS = ("dcoinline", "dcoqueued", "dcotxwork")


def parse(log):
    vals = defaultdict(list)  # (sys, cipher, metric) -> [values]
    na = defaultdict(list)  # (sys, cipher) -> [reasons]
    info = []
    with open(log, errors="replace") as f:
        for line in f:
            line = line.replace("\r", "").rstrip("\n")
            # Smoke runs print through lib.sh's scenario ("  | " prefix).
            if line.startswith("  | "):
                line = line[4:]
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "BENCH" and len(parts) == 6:
                try:
                    vals[(parts[2], parts[3], parts[4])].append(float(parts[5]))
                except ValueError:
                    na[(parts[2], parts[3])].append(f"{parts[4]}: unparsable value")
            elif parts[0] == "BENCH-NA" and len(parts) >= 4:
                na[(parts[2], parts[3])].append(" ".join(parts[4:]))
            elif parts[0] == "BENCH-INFO":
                # A run resumed after its guest died repeats the first lines.
                i = " ".join(parts[1:])
                if i not in info:
                    info.append(i)
    return vals, na, info


def med(vals, key):
    v = vals.get(key)
    return statistics.median(v) if v else None


def fmt(x):
    if x is None:
        return None
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3f}"


def na_reason(na, s, c):
    reasons = na.get((s, c))
    if not reasons:
        return "n/a (not measured)"
    # The first reason, short.
    r = reasons[0]
    return f"n/a ({r[:80]})"


def main():
    log, out = sys.argv[1], sys.argv[2]
    notes = sys.argv[3:]
    vals, na, info = parse(log)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "raw.tsv"), "w") as f:
        f.write("system\tcipher\tmetric\tvalues\n")
        for (s, c, m), v in sorted(vals.items()):
            f.write(f"{s}\t{c}\t{m}\t{' '.join(str(x) for x in v)}\n")

    reps = max((len(v) for v in vals.values()), default=0)
    md = []
    md.append("| system | cipher | " + " | ".join(h for _, h, _ in METRICS) + " |")
    md.append("|---|---|" + "---|" * len(METRICS))
    rows = []
    for s, sname in SYSTEMS:
        # The steering variants only when they ran (BENCH_SYSTEMS).
        if s in VARIANTS and not any(k[0] == s for k in list(vals) + list(na)):
            continue
        for c in (["none"] if s == "veth" else ["chacha"] if s == "wireguard"
                  else ["aes"] if s in ("dcotcp", "ovpntcp") else ["aes", "chacha"]):
            cells = []
            have = False
            for m, _, _ in METRICS:
                x = med(vals, (s, c, m))
                if x is None:
                    cells.append(na_reason(na, s, c))
                    continue
                have = True
                cell = fmt(x)
                base = med(vals, (BASELINE, c, m))
                if s != BASELINE and base and c != "none":
                    cell += f" ({x / base:.2f}×)"
                cells.append(cell)
            rows.append((s, c, have))
            md.append(f"| {sname} | {CIPHERS[c]} | " + " | ".join(cells) + " |")

    # The AEAD limit.
    aead = ["", "| AEAD limit (tcrypt, 1420 B, one request at a time) | encrypt, Mbit/s | decrypt, Mbit/s |",
            "|---|---|---|"]
    for c, alg in (("aes", "gcm(aes), 256-bit key"), ("chacha", "rfc7539esp(chacha20,poly1305)")):
        e, d = med(vals, ("aead", c, "enc_mbps")), med(vals, ("aead", c, "dec_mbps"))
        aead.append(f"| {alg} | {fmt(e) or na_reason(na, 'aead', c)} | {fmt(d) or na_reason(na, 'aead', c)} |")

    # Where this module stands against the targets (same cipher).
    tg = ["", "| target (issue 5) | measured |", "|---|---|"]

    def ratio(a, b):
        return a / b if a is not None and b else None

    def r(x):
        return f"{x:.2f}" if x is not None else "n/a"

    for c in ("aes", "chacha"):
        for m, what in (("tcp1_mbps", "1 stream"), ("tcp4_mbps", "4 streams")):
            tg.append(f"| dco / C ovpn, {CIPHERS[c]}, {what} (≥ 1.0 first, goal ≥ {'1.25' if m == 'tcp1_mbps' else '1.5'}) | "
                      f"{r(ratio(med(vals, ('dco', c, m)), med(vals, ('ovpn', c, m))))} |")
    for m, what in (("tcp1_mbps", "1 stream"), ("tcp4_mbps", "4 streams")):
        tg.append(f"| dco / WireGuard, ChaCha20-Poly1305, {what} (≥ 1.0) | "
                  f"{r(ratio(med(vals, ('dco', 'chacha', m)), med(vals, ('wireguard', 'chacha', m))))} |")
    for m, what in (("tcp1_mbps", "1 stream"), ("tcp4_mbps", "4 streams")):
        tg.append(f"| dco over TCP / dco over UDP, AES-256-GCM, {what} (issue 4: comparable) | "
                  f"{r(ratio(med(vals, ('dcotcp', 'aes', m)), med(vals, ('dco', 'aes', m))))} |")
    for m, what in (("tcp1_mbps", "1 stream"), ("tcp4_mbps", "4 streams")):
        tg.append(f"| C ovpn over TCP / C ovpn over UDP, AES-256-GCM, {what} (for reference) | "
                  f"{r(ratio(med(vals, ('ovpntcp', 'aes', m)), med(vals, ('ovpn', 'aes', m))))} |")
        tg.append(f"| dco over TCP / C ovpn over TCP, AES-256-GCM, {what} | "
                  f"{r(ratio(med(vals, ('dcotcp', 'aes', m)), med(vals, ('ovpntcp', 'aes', m))))} |")
    for c in ("aes", "chacha"):
        tg.append(f"| dco / userspace OpenVPN, {CIPHERS[c]}, 1 stream (≥ 4) | "
                  f"{r(ratio(med(vals, ('dco', c, 'tcp1_mbps')), med(vals, ('openvpn', c, 'tcp1_mbps'))))} |")
        lim = med(vals, ("aead", c, "enc_mbps"))
        tg.append(f"| dco 1 stream / AEAD encrypt limit, {CIPHERS[c]} (≥ 0.8) | "
                  f"{r(ratio(med(vals, ('dco', c, 'tcp1_mbps')), lim))} |")

    # MP scale.
    counts = sorted({int(m[5:].split("_")[0]) for (_, c, m) in vals if c == "mp" and m.startswith("scale")})
    mp = []
    if counts or na.get(("dco", "mp")) or na.get(("ovpn", "mp")):
        mp = ["", "| MP peers | add peers, ms (dco / C ovpn) | add their keys, ms (dco / C ovpn) | slab+percpu kB per peer with key (dco / C ovpn) |",
              "|---|---|---|---|"]
        for n in counts:
            cells = []
            for what in ("peers_ms", "keys_ms", "kb_per_peer"):
                pair = []
                for sy in ("dco", "ovpn"):
                    x = med(vals, (sy, "mp", f"scale{n}_{what}"))
                    pair.append(fmt(x) if x is not None else na_reason(na, sy, "mp"))
                cells.append(" / ".join(pair))
            mp.append(f"| {n} | " + " | ".join(cells) + " |")
        if not counts:
            mp.append(f"| – | {na_reason(na, 'dco', 'mp')} | {na_reason(na, 'ovpn', 'mp')} | |")
        mp.append("")
        mp.append("Peers are added by one client process each (one netlink request per peer; the C "
                  "selftests' client opens a netlink socket and resolves the family per request); keys by "
                  "one client process per key, so the key column includes N process starts for both.")

    # Goodput to one peer of an MP server, with 1 and with N peers installed.
    tput = sorted({int(m[2:].split("_")[0]) for (_, c, m) in vals if c == "mp" and m.startswith("mp") and m.endswith("_tcp1_mbps")})
    if tput:
        mp += ["", "| MP server holding N peers | goodput to one of them, Mbit/s: dco | C ovpn | dco / C ovpn |",
               "|---|---|---|---|"]
        for n in tput:
            d, o = med(vals, ("dco", "mp", f"mp{n}_tcp1_mbps")), med(vals, ("ovpn", "mp", f"mp{n}_tcp1_mbps"))
            mp.append(f"| {n} | {fmt(d) or na_reason(na, 'dco', 'mp')} | {fmt(o) or na_reason(na, 'ovpn', 'mp')} | {r(ratio(d, o))} |")
        lo, hi = tput[0], tput[-1]
        if hi != lo:
            for sy, name in (("dco", "dco"), ("ovpn", "C ovpn")):
                a, b = med(vals, (sy, "mp", f"mp{hi}_tcp1_mbps")), med(vals, (sy, "mp", f"mp{lo}_tcp1_mbps"))
                mp.append(f"| {name}: {hi} peers / {lo} | {r(ratio(a, b))} | | |")
        mp.append("")
        mp.append("AES-256-GCM, one TCP stream from the server to its one real client (iperf3 -R); "
                  "the other peers are installed without keys and stay idle.")

    head = [f"# ovpn-dco benchmark: {os.path.basename(os.path.normpath(out))}", ""]
    head += [f"- {i}" for i in info]
    head += [f"- {n}" for n in notes]
    head += [f"- medians of {reps} repetition(s); ratios in parentheses are against Linux's C `ovpn` "
             "driver with the same cipher (higher is better for goodput and kpps, lower for RTT and CPU s/GB)",
             "- measured under QEMU/TCG: absolute figures mean nothing, only ratios within this run do", ""]
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(head + md + aead + mp + tg) + "\n")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report: no matplotlib, no chart", file=sys.stderr)
        return
    chart(out, vals, rows, info, reps, plt)


def chart(out, vals, rows, info, reps, plt):
    """One horizontal bar group per system and cipher, for the three
    throughput figures, each bar labelled with its median and its ratio
    against Linux's C driver with the same cipher; the run's date and set-up
    in the caption, so that the picture stands on its own."""
    names = dict(SYSTEMS)
    shown = [(s, c) for s, c, have in rows if have and s != "veth"]
    panels = [("tcp1_mbps", "TCP goodput, 1 stream (Mbit/s)"),
              ("tcp4_mbps", "TCP goodput, 4 streams (Mbit/s)"),
              ("udp64_kpps", "UDP 64-byte payloads (kpps received)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 0.55 * len(shown) + 2.2), sharey=True)
    labels = [f"{names[s].replace('`', '')}, {CIPHERS[c]}" for s, c in shown]
    y = list(range(len(shown)))[::-1]
    for ax, (m, title) in zip(axes, panels):
        xs = [med(vals, (s, c, m)) or 0 for s, c in shown]
        colors = ["tab:blue" if s.startswith("dco") else "tab:gray" if s == BASELINE
                  else "tab:orange" if s == "ovpntcp" else "tab:green" for s, _ in shown]
        ax.barh(y, xs, color=colors)
        top = max(xs) if any(xs) else 1
        for yi, (s, c), x in zip(y, shown, xs):
            if not x:
                ax.text(top * 0.02, yi, "n/a", va="center", fontsize=8)
                continue
            base = med(vals, (BASELINE, c, m))
            text = fmt(x)
            if s == BASELINE:
                text += "  (baseline)"
            elif base:
                text += f"  ({x / base:.2f}×)"
            ax.text(x + top * 0.01, yi, text, va="center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlim(0, top * 1.45)
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
    stamp = os.path.basename(os.path.normpath(out))
    setup = "; ".join(i for i in info if i.startswith(("cpus", "cpu-model", "klog")))
    fig.suptitle("ovpn-dco against Linux's C ovpn driver and WireGuard, one VM run "
                 f"({stamp}); ratios in parentheses: against the C driver with the same cipher",
                 fontsize=10)
    caption = (f"Medians of {reps} repetition(s), systems interleaved; two network namespaces over a "
               f"veth in one QEMU/TCG guest ({setup}). Under emulation only the ratios mean anything. "
               "Made by tests/bench/bench.sh; method in docs/benchmark.md.")
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap(caption, 190)), fontsize=7.5)
    fig.tight_layout(rect=(0, 0.06, 1, 0.94))
    fig.savefig(os.path.join(out, "chart.png"), dpi=110)


if __name__ == "__main__":
    main()
