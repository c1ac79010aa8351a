#!/usr/bin/env python3
"""Stock dpdk-testpmd drives net_vpmd's offloads: testpmd (net_vpmd loaded with -d) in csum
mode with `csum set tcp hw` and `tso set 1448` reads TCP/IPv4 frames from a pcap and sends
them through net_vpmd to a net_vhost testpmd (tso=1), which forwards what it receives into
another pcap. Small frames must arrive with both checksums right (the device completed
the TCP checksum net_vpmd's header asked for: the field testpmd leaves holds only the
pseudo-header sum); frames above the segment size must arrive as one GSO packet flagged
LRO by net_vhost (it hands segmentation on to its own output, it does not segment), their
bytes as sent. Usage: testpmd_csum_test.py <plugin .so> (VPMD_TEST_MEMORY=nohuge|huge)."""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

MSS = 1448


def csum16(b, acc=0):
    if len(b) % 2:
        b += b"\0"
    s = acc + sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def tcp_frame(payload_len, seed):
    src, dst = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    payload = bytes((seed * 31 + i * 7) & 0xFF for i in range(payload_len))
    tcp = struct.pack("!HHIIBBHHH", 1000, 2000, seed, 0, 0x50, 0x18, 65535, 0x1234, 0) + payload  # checksum wrong
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), seed, 0, 64, 6, 0xBEEF, src, dst)  # wrong too
    eth = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + b"\x08\x00"
    return eth + ip + tcp


def checksums_ok(f):
    ip = f[14:34]
    if csum16(ip) != 0xFFFF:
        return False
    tcp = f[34:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    return csum16(tcp, csum16(pseudo)) == 0xFFFF


def write_pcap(path, frames):
    with open(path, "wb") as p:
        p.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, f in enumerate(frames):
            p.write(struct.pack("<IIII", 1, i, len(f), len(f)) + f)


def read_pcap(path):
    out = []
    with open(path, "rb") as p:
        data = p.read()
    at = 24
    while at + 16 <= len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[at:at + 16])
        out.append(data[at + 16:at + 16 + incl])
        at += 16 + incl
    return out


def private_copy(plugin):
    """EAL refuses -d plugins below a world-writable folder (a checkout under /tmp)."""
    d = os.path.dirname(os.path.realpath(plugin))
    while d != "/":
        if os.stat(d).st_mode & 0o002:
            home = tempfile.mkdtemp(prefix=".vpmd-plugin.", dir=os.environ.get("HOME", "/root"))
            shutil.copy(plugin, home)
            return os.path.join(home, os.path.basename(plugin)), home
        d = os.path.dirname(d)
    return plugin, None


def main():
    plugin, private = private_copy(sys.argv[1])
    work = tempfile.mkdtemp(prefix="vpmd-tpcsum-")
    tag = "vpmd-tpcsum-%d" % os.getpid()
    sock = os.path.join(work, "vh.sock")
    if os.environ.get("VPMD_TEST_MEMORY", "nohuge") == "huge":
        if " /dev/hugepages hugetlbfs" not in open("/proc/mounts").read():
            print("SKIP: no hugetlbfs")
            return 77
        mem = ["--single-file-segments", "-m", "512"]
    else:
        mem = ["--no-huge", "-m", "512"]
    frames = [tcp_frame(n, i + 1) for i, n in enumerate((100, 1000, MSS, 4000, 500, 9000 - 54))]
    big = [len(f) - 54 > MSS for f in frames]
    write_pcap(os.path.join(work, "in.pcap"), frames)
    write_pcap(os.path.join(work, "empty.pcap"), [])
    with open(os.path.join(work, "front.cmd"), "w") as c:
        c.write("port stop all\ncsum set ip sw 1\ncsum set tcp hw 1\ntso set %d 1\nport start all\n" % MSS)
    with open(os.path.join(work, "back.cmd"), "w") as c:
        c.write("set verbose 1\n")
    procs, logs = [], {}

    def spawn(name, args):
        logs[name] = open(os.path.join(work, name + ".log"), "w+")
        procs.append(subprocess.Popen(["dpdk-testpmd"] + args, stdout=logs[name], stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL))
        return procs[-1]

    def log(name):
        logs[name].flush()
        with open(logs[name].name) as f:
            return f.read()

    try:
        back = spawn("back", ["--lcores", "0@0,1@0", "--no-pci"] + mem + ["--file-prefix=" + tag + "b",
                     "--vdev", "net_vhost0,iface=%s,tso=1" % sock,
                     "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (os.path.join(work, "empty.pcap"),
                                                                     os.path.join(work, "out.pcap")),
                     "--", "--forward-mode=io", "--nb-cores=1", "--stats-period=1", "--mbuf-size=16384",
                     "--total-num-mbufs=4096", "--cmdline-file=" + os.path.join(work, "back.cmd")])
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        assert os.path.exists(sock), "back-end made no socket:\n" + log("back")[-3000:]
        front = spawn("front", ["--lcores", "0@1,1@1", "--no-pci"] + mem + ["--file-prefix=" + tag + "f",
                      "-d", plugin, "--vdev", "net_pcap0,rx_pcap=" + os.path.join(work, "in.pcap"),
                      "--vdev", "net_vpmd0,path=" + sock,
                      "--", "--forward-mode=csum", "--nb-cores=1", "--no-flush-rx", "--stats-period=1", "--mbuf-size=16384",
                      "--max-pkt-len=9000", "--total-num-mbufs=4096",
                      "--cmdline-file=" + os.path.join(work, "front.cmd")])
        deadline = time.time() + 30
        while time.time() < deadline and log("back").count("ol_flags") < len(frames):
            assert front.poll() is None, "front testpmd exited:\n" + log("front")[-3000:]
            time.sleep(0.2)
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=20)
        f_log, b_log = log("front"), log("back")
        assert "TSO segment size set to %d" % MSS in f_log or "tso" in f_log.lower(), f_log[-3000:]
        out = read_pcap(os.path.join(work, "out.pcap"))
        assert len(out) == len(frames), "%d frames arrived, %d sent\n%s\n%s" % (len(out), len(frames),
                                                                               f_log[-2000:], b_log[-3000:])
        lro = [l for l in b_log.splitlines() if "ol_flags" in l]
        for i, (sent, got) in enumerate(zip(frames, out)):
            assert len(got) == len(sent), "frame %d: %d bytes, sent %d" % (i, len(got), len(sent))
            # Past the headers testpmd rewrote (MACs, checksums), the bytes are as sent.
            assert got[54:] == sent[54:], "frame %d payload differs" % i
            assert got[34:50] == sent[34:50], "frame %d TCP header differs" % i
            if big[i]:
                assert "RTE_MBUF_F_RX_LRO" in lro[i], "frame %d: no GSO request arrived: %s" % (i, lro[i])
            else:
                assert checksums_ok(got), "frame %d: checksum not completed" % i
                assert "RTE_MBUF_F_RX_LRO" not in lro[i], lro[i]
        print("PASS: %d frames through testpmd csum mode and net_vpmd; %d as GSO packets" % (len(out), sum(big)))
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for f in logs.values():
            f.close()
        if not os.environ.get("VPMD_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        if private:
            shutil.rmtree(private, ignore_errors=True)
        for d in ("/var/run/dpdk/" + tag + "b", "/var/run/dpdk/" + tag + "f"):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
