#!/usr/bin/env python3
# vpmd-fwd end to end: runs the binary for a bounded time per forwarding mode over net_ring,
# net_null, net_pcap and the embedded net_vhost + net_vpmd pair (--no-huge, own
# --file-prefix per run) and checks its JSON summary and the pcap files it wrote.
# Usage: fwd_test.py VPMD_FWD CASE   (CASE = one of the test_* names below, without test_)
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

FWD = None
TMP = None
RUN_LIMIT = 90  # seconds: far above any bounded run; only a hang reaches it

# ---------------------------------------------------------------- pcap + frames

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", i, 0, len(fr), len(fr)))
            f.write(fr)

def read_pcap(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "not a pcap file: %x" % magic
    off, frames = 24, []
    while off + 16 <= len(data):
        _, _, caplen, origlen = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        assert caplen == origlen, "truncated capture"
        off += caplen
    return frames

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))

def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

SRC = mac("02:00:00:00:00:01")
DST = mac("02:00:00:00:00:02")

def pattern(n, seed):
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(n)
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)

def raw_frame(length, seed):
    """An experimental-EtherType frame of `length` bytes with a patterned payload."""
    return DST + SRC + b"\x88\xb5" + pattern(length - 14, seed)

def ipv4_l4(proto, payload, l4hdr_wo_csum, bad_ip=False, bad_l4=False, vlan=False):
    l4len = len(l4hdr_wo_csum) + 2 + len(payload) if proto == 17 else len(l4hdr_wo_csum) + len(payload)
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    total = 20 + (8 + len(payload) if proto == 17 else 20 + len(payload))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0, 64, proto, 0, src, dst)
    ipc = csum16(ip)
    if bad_ip:
        ipc ^= 0x5A5A
    ip = ip[:10] + struct.pack("!H", ipc) + ip[12:]
    if proto == 17:
        l4 = struct.pack("!HHHH", 1000, 2000, 8 + len(payload), 0) + payload
        csum_off = 6
    else:
        l4 = struct.pack("!HHIIBBHHH", 1000, 2000, 1, 0, 0x50, 0x18, 1024, 0, 0) + payload
        csum_off = 16
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    c = csum16(pseudo + l4)
    if proto == 17 and c == 0:
        c = 0xFFFF
    if bad_l4:
        c ^= 0x1234
    l4 = l4[:csum_off] + struct.pack("!H", c) + l4[csum_off + 2:]
    eth = DST + SRC + ((b"\x81\x00\x00\x05") if vlan else b"") + b"\x08\x00"
    return eth + ip + l4

def ipv6_udp(payload, bad=False):
    src, dst = bytes(15) + b"\x01", bytes(15) + b"\x02"
    udp = struct.pack("!HHHH", 1000, 2000, 8 + len(payload), 0) + payload
    pseudo = src + dst + struct.pack("!IxxxB", len(udp), 17)
    c = csum16(pseudo + udp) or 0xFFFF
    if bad:
        c ^= 0x0F0F
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + src + dst
    return DST + SRC + b"\x86\xdd" + ip6 + udp

def checksums_ok(fr):
    """True if every IPv4 header and TCP/UDP checksum in the frame is right."""
    off, et = 14, struct.unpack("!H", fr[12:14])[0]
    if et == 0x8100:
        et, off = struct.unpack("!H", fr[16:18])[0], 18
    if et == 0x0800:
        ihl = (fr[off] & 0xF) * 4
        if csum16(fr[off:off + ihl]) != 0:
            return False
        total = struct.unpack("!H", fr[off + 2:off + 4])[0]
        proto = fr[off + 9]
        l4 = fr[off + ihl:off + total]
        pseudo = fr[off + 12:off + 20] + struct.pack("!BBH", 0, proto, len(l4))
    elif et == 0x86DD:
        plen = struct.unpack("!H", fr[off + 4:off + 6])[0]
        proto = fr[off + 6]
        l4 = fr[off + 40:off + 40 + plen]
        pseudo = fr[off + 8:off + 40] + struct.pack("!IxxxB", len(l4), proto)
    else:
        return True
    if proto not in (6, 17):
        return True
    return csum16(pseudo + l4) == 0

# ---------------------------------------------------------------- running vpmd-fwd

class Run:
    def __init__(self, rc, out, err, js, pid):
        self.rc, self.out, self.err, self.js, self.pid = rc, out, err, js, pid

    def port(self, name_part):
        for p in self.js["ports"]:
            if name_part in p["name"]:
                return p
        raise AssertionError("no port named *%s* in %s" % (name_part, [p["name"] for p in self.js["ports"]]))

def eal(tag, lcores=("-l", "0,1")):
    prefix = "vpmd-fwd-it-%d-%s" % (os.getpid(), tag)
    return list(lcores) + ["--no-pci", "--no-huge", "-m", "256", "--file-prefix=" + prefix,
                           "--log-level=lib.vhost.*:warning", "--log-level=pmd.net.vpmd.*:warning"], prefix

def run_fwd(tag, vdevs, app, lcores=("-l", "0,1"), json_out=True, signal_after=None, expect_json=True):
    eal_args, prefix = eal(tag, lcores)
    for v in vdevs:
        eal_args += ["--vdev", v]
    js_path = os.path.join(TMP, tag + ".json")
    args = [FWD] + eal_args + ["--"] + app + (["--json=" + js_path] if json_out else [])
    print("+", " ".join(args), flush=True)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    out, err = "", ""
    try:
        if signal_after is not None:
            # Send the signal once forwarding has started and one stats line was printed:
            # an event, not a time.
            lines = []
            for line in p.stdout:
                lines.append(line)
                if line.startswith("[") and "port" in line:
                    p.send_signal(signal_after)
                    break
            rest_out, err = p.communicate(timeout=RUN_LIMIT)
            out = "".join(lines) + rest_out
        else:
            out, err = p.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError("vpmd-fwd did not finish within %d s" % RUN_LIMIT)
    finally:
        # EAL keeps its runtime folder (config, sockets) per prefix; nothing else is left.
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    sys.stdout.write(out[-4000:])
    sys.stderr.write(err[-4000:])
    assert p.returncode >= 0, "vpmd-fwd died from signal %d" % -p.returncode
    sock = "/tmp/vpmd-fwd-%d.sock" % p.pid
    assert not os.path.exists(sock), "socket %s left behind" % sock
    js = None
    if json_out and expect_json:
        assert p.returncode == 0, "vpmd-fwd exited with %d" % p.returncode
        with open(js_path) as f:
            js = json.load(f)
        assert js["mempool"]["in_use_at_exit"] == 0, "mbufs leaked: %s" % js["mempool"]
    return Run(p.returncode, out, err, js, p.pid)

def no_errors(run):
    for p in run.js["ports"]:
        e = p["ethdev"]
        assert p["errors"] == 0 and e["ierrors"] == 0 and e["oerrors"] == 0, "errors on %s: %s" % (p["name"], p)
        for q in p["queues"]:
            assert q["errors"] == 0, "queue errors on %s: %s" % (p["name"], q)

def forwarded(run, name_part):
    p = run.port(name_part)
    assert p["rx_packets"] > 0 and p["tx_packets"] > 0, "nothing forwarded on %s: %s" % (p["name"], p)
    return p

# ---------------------------------------------------------------- cases

def test_io_ring():
    r = run_fwd("io_ring", ["net_ring0", "net_ring1"], ["--tx-first", "--duration=1", "--stats-period=0.3"])
    assert r.js["options"]["forward_mode"] == "io" and r.js["options"]["port_topology"] == "paired"
    assert r.js["stopped_by"] == "duration"
    no_errors(r)
    for name in ("net_ring0", "net_ring1"):
        p = forwarded(r, name)
        assert p["queues"][0]["rx_packets"] == p["rx_packets"]
        assert p["ethdev"]["ipackets"] >= p["rx_packets"]
    assert r.js["totals"]["forward_tx_packets"] > 0
    (lc,) = r.js["lcores"]
    assert lc["packets"] > 0 and lc["busy_cycles"] > 0 and lc["busy_cycles_per_packet"] > 0
    assert sorted(lc["streams"]) == ["p0q0->p1q0 io", "p1q0->p0q0 io"]
    assert "[" in r.out and "Mpps" in r.out, "no live stats printed"

def test_io_null_chained_two_lcores_two_queues():
    r = run_fwd("io_null", ["net_null0", "net_null1", "net_null2"],
                ["--port-topology=chained", "--nb-cores=2", "--rxq=2", "--txq=2", "--duration=1",
                 "--stats-period=0"], lcores=("--lcores", "0@0,1@1,2@1"))
    no_errors(r)
    streams = sorted(s for lc in r.js["lcores"] for s in lc["streams"])
    assert streams == sorted("p%dq%d->p%dq%d io" % (p, q, (p + 1) % 3, q) for p in range(3) for q in range(2))
    assert len(r.js["lcores"]) == 2 and all(lc["packets"] > 0 for lc in r.js["lcores"])
    for p in r.js["ports"]:
        assert len(p["queues"]) == 2
        for q in p["queues"]:
            assert q["rx_packets"] > 0 and q["tx_packets"] > 0, (p["name"], q)

def pcap_case(tag, mode, frames, extra=(), vdev_extra=""):
    inp, outp = os.path.join(TMP, tag + "-in.pcap"), os.path.join(TMP, tag + "-out.pcap")
    write_pcap(inp, frames)
    r = run_fwd(tag, ["net_pcap0,rx_pcap=%s,tx_pcap=%s%s" % (inp, outp, vdev_extra)],
                ["--forward-mode=" + mode, "--duration=1", "--stats-period=0"] + list(extra))
    return r, read_pcap(outp)

def test_mac_pcap():
    frames = [raw_frame(60 + (i * 37) % 1455, i) for i in range(200)]
    peer = "02:aa:bb:cc:dd:ee"
    r, out = pcap_case("mac", "mac", frames, ["--eth-peer=0," + peer])
    no_errors(r)
    p = r.port("net_pcap0")
    assert p["rx_packets"] == len(frames) and p["tx_packets"] == len(frames), p
    assert len(out) == len(frames)
    own = mac(p["mac"])
    for i, (a, b) in enumerate(zip(frames, out)):
        assert b[0:6] == mac(peer), "frame %d: destination %s" % (i, b[0:6].hex(":"))
        assert b[6:12] == own, "frame %d: source %s, port mac %s" % (i, b[6:12].hex(":"), p["mac"])
        assert b[12:] == a[12:], "frame %d: bytes past the MACs changed" % i

def test_macswap_pcap():
    frames = [raw_frame(60 + (i * 53) % 1455, i) for i in range(200)]
    r, out = pcap_case("macswap", "macswap", frames)
    no_errors(r)
    assert r.port("net_pcap0")["tx_packets"] == len(frames)
    assert len(out) == len(frames)
    for i, (a, b) in enumerate(zip(frames, out)):
        assert b[0:6] == a[6:12] and b[6:12] == a[0:6], "frame %d: MACs not swapped" % i
        assert b[12:] == a[12:], "frame %d: bytes past the MACs changed" % i

def test_csum_pcap():
    pay = pattern(100, 3)
    frames = [
        ipv4_l4(17, pay, b"", bad_l4=True),            # bad UDP
        ipv4_l4(6, pay, b"", bad_ip=True),             # bad IPv4 header
        ipv4_l4(6, pay, b""),                          # good TCP
        ipv4_l4(17, pay, b""),                         # good UDP
        ipv4_l4(17, pay, b"", bad_l4=True, vlan=True), # bad UDP behind a VLAN tag
        ipv6_udp(pay, bad=True),                       # bad UDP over IPv6
        ipv6_udp(pay),                                 # good
        raw_frame(80, 9),                              # not IP: MACs only
    ]
    bad = 4
    assert sum(not checksums_ok(f) for f in frames) == bad  # the test's own frames are as meant
    r, out = pcap_case("csum", "csum", frames, ["--eth-peer=0,02:aa:bb:cc:dd:ee"])
    no_errors(r)
    p = r.port("net_pcap0")
    assert p["bad_csum"] == bad, "bad checksums counted: %d, sent %d" % (p["bad_csum"], bad)
    assert len(out) == len(frames)
    for i, (a, b) in enumerate(zip(frames, out)):
        assert checksums_ok(b), "frame %d still has a bad checksum" % i
        assert b[0:6] == mac("02:aa:bb:cc:dd:ee") and b[6:12] == mac(p["mac"])
        assert len(b) == len(a)
    for i in (2, 3, 6, 7):  # right checksums already, or not IP: only the MACs change
        assert out[i][12:] == frames[i][12:], "frame %d changed past the MACs" % i

def test_csum_through_vpmd_offloaded():
    # net_pcap -> csum -> net_vpmd (checksums left to the device: net_vhost fills them in)
    # -> vhost echo -> net_vpmd (state from the driver) -> csum -> net_pcap. A wrong offload
    # request leaves pseudo-header sums on the wire, which net_vpmd's side then counts.
    pay = pattern(300, 5)
    frames = [
        ipv4_l4(17, pay, b"", bad_l4=True),
        ipv4_l4(6, pay, b"", bad_l4=True),
        ipv4_l4(6, pay, b""),
        ipv4_l4(17, pay, b"", vlan=True),
        ipv6_udp(pay, bad=True),
        ipv6_udp(pay),
        raw_frame(80, 9),
    ]
    bad = 3
    assert sum(not checksums_ok(f) for f in frames) == bad
    r, out = pcap_case("csum_vpmd", "csum", frames, ["--embedded"])
    no_errors(r)
    assert "(net_vpmd" in r.out and "rx state from the driver, tx offloaded" in r.out, r.out
    assert r.port("net_pcap0")["bad_csum"] == bad
    assert r.port("net_vpmd")["bad_csum"] == 0, "the device did not complete the checksums asked for"
    assert len(out) == len(frames)
    for i, (a, b) in enumerate(zip(frames, out)):
        assert checksums_ok(b), "frame %d has a bad checksum" % i
        assert len(b) == len(a)

def test_rxonly_pcap():
    frames = [raw_frame(64 + i, i) for i in range(150)]
    r, out = pcap_case("rxonly", "rxonly", frames)
    no_errors(r)
    p = r.port("net_pcap0")
    assert p["rx_packets"] == len(frames) and p["tx_packets"] == 0, p
    assert p["rx_bytes"] == sum(len(f) for f in frames)
    assert out == []

def test_txonly_vpmd_multiseg():
    segs = [64, 64, 72]
    r = run_fwd("txonly", [], ["--embedded", "--forward-mode=txonly", "--txpkts=" + ",".join(map(str, segs)),
                                "--duration=1", "--stats-period=0"])
    no_errors(r)
    size = sum(segs)
    v = r.port("net_vpmd")
    assert v["tx_packets"] > 0 and v["rx_packets"] == 0, v
    assert v["tx_bytes"] == v["tx_packets"] * size
    # The device side (DPDK's vhost) counts what arrived, independently of our counters.
    h = r.port("net_vhost")
    assert h["ethdev"]["ipackets"] > 0
    assert h["ethdev"]["ibytes"] == h["ethdev"]["ipackets"] * size, h["ethdev"]
    assert v["ethdev"]["obytes"] == v["ethdev"]["opackets"] * size, v["ethdev"]

def test_txonly_null_single_segment():
    r = run_fwd("txonly_null", ["net_null0"], ["--forward-mode=txonly", "--txpkts=100", "--duration=1",
                                               "--stats-period=0"])
    no_errors(r)
    p = r.port("net_null0")
    assert p["tx_packets"] > 0 and p["rx_packets"] == 0
    assert p["tx_bytes"] == 100 * p["tx_packets"]

def test_flowgen_ring():
    r = run_fwd("flowgen", ["net_ring0", "net_ring1"], ["--forward-mode=flowgen", "--duration=1",
                                                         "--stats-period=0"])
    no_errors(r)
    for name in ("net_ring0", "net_ring1"):
        p = r.port(name)
        assert p["tx_packets"] > 0 and p["rx_packets"] > 0, p
        assert p["tx_bytes"] == 64 * p["tx_packets"]

def through_vpmd(tag, vpmd_args):
    # net_pcap (in.pcap) -> net_vpmd -> DPDK vhost echoing -> net_vpmd -> net_pcap (out.pcap)
    frames = [raw_frame(60 + (i * 97) % 1455, i) for i in range(500)]
    extra = ["--embedded"] + (["--vpmd-args=" + vpmd_args] if vpmd_args else [])
    r, out = pcap_case(tag, "io", frames, extra)
    no_errors(r)
    assert r.port("net_vpmd")["tx_packets"] == len(frames)
    assert r.port("net_pcap0")["tx_packets"] == len(frames)
    assert len(out) == len(frames), "%d frames out, %d in" % (len(out), len(frames))
    for i, (a, b) in enumerate(zip(frames, out)):
        assert a == b, "frame %d differs (%d vs %d bytes)" % (i, len(a), len(b))

def test_pcap_through_vpmd_split():
    through_vpmd("thru_split", "")

def test_pcap_through_vpmd_packed_inorder():
    through_vpmd("thru_packed", "packed_vq=1,in_order=1")

def test_embedded_default():
    # No port given at all: embedded pair, tx-first implied, Mpps headline.
    r = run_fwd("embedded", [], ["--duration=1", "--stats-period=0.5"])
    assert r.js["options"]["embedded"] is True
    no_errors(r)
    v = forwarded(r, "net_vpmd")
    h = forwarded(r, "net_vhost")
    assert h["role"] == "echo" and v["role"] == "forward"
    assert "--tx-first implied" in r.out
    assert any("Mpps" in l and "net_vpmd" in l and "vhost-user" in l for l in r.out.splitlines()), "no headline"

def signal_case(sig, name):
    r = run_fwd("sig" + name, [], ["--embedded", "--duration=300", "--stats-period=0.2"], signal_after=sig)
    assert r.js["stopped_by"] == name, r.js["stopped_by"]
    no_errors(r)
    forwarded(r, "net_vpmd")

def test_sigint():
    signal_case(signal.SIGINT, "SIGINT")

def test_sigterm():
    signal_case(signal.SIGTERM, "SIGTERM")

def test_invalid_options():
    bad = [
        ["--forward-mode=nope"], ["--burst=0"], ["--burst=513"], ["--rxq=x"], ["--txpkts=20"],
        ["--txpkts=64,,64"], ["--port-topology=ring"], ["--eth-peer=0,11:22"], ["--duration=-1"],
        ["--stats-period=abc"], ["--bogus"], ["positional"], ["--nb-cores"], ["--tx-first=1"],
        ["--json=/nonexistent-dir/x.json"],
    ]
    for args in bad:
        r = run_fwd("bad", ["net_null0"], args, json_out=False)
        assert r.rc == 2, "%s: exit %d" % (args, r.rc)
        assert "vpmd-fwd: error:" in r.err, "%s: no clear message: %r" % (args, r.err)
    # Errors found once EAL is up: exit 1, ports closed, nothing left behind.
    for args in (["--nb-cores=3"], ["--eth-peer=5,02:00:00:00:00:01"], ["--rxq=64"]):
        r = run_fwd("bad_eal", ["net_ring0"], args, json_out=False)
        assert r.rc == 1, "%s: exit %d" % (args, r.rc)
        assert "vpmd-fwd: error:" in r.err, "%s: no clear message: %r" % (args, r.err)

def main():
    global FWD, TMP
    FWD, case = os.path.abspath(sys.argv[1]), sys.argv[2]
    fn = globals().get("test_" + case)
    if fn is None:
        print("unknown case " + case)
        return 2
    TMP = tempfile.mkdtemp(prefix="vpmd-fwd-it-")
    try:
        fn()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("PASS " + case)
    return 0

if __name__ == "__main__":
    sys.exit(main())
