// net_vpmd devargs parsing and validation.
#include "drivers/net/vpmd/devargs.hpp"

#include <charconv>
#include <cstdio>

namespace vpmd::pmd {

namespace {

bool parse_uint(std::string_view v, uint64_t max, uint64_t &out) {
    if (v.empty()) {
        return false;
    }
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out, 10);
    return ec == std::errc() && p == v.data() + v.size() && out <= max;
}

bool parse_mac(std::string_view v, std::array<uint8_t, 6> &mac) {
    if (v.size() != 17) {
        return false;
    }
    for (size_t i = 0; i < 6; ++i) {
        if (i < 5 && v[i * 3 + 2] != ':') {
            return false;
        }
        unsigned byte = 0;
        const auto [p, ec] = std::from_chars(v.data() + i * 3, v.data() + i * 3 + 2, byte, 16);
        if (ec != std::errc() || p != v.data() + i * 3 + 2) {
            return false;
        }
        mac[i] = uint8_t(byte);
    }
    return true;
}

DevargsResult fail(std::string_view key, std::string_view value, std::string_view allowed) {
    return {false, "devarg '" + std::string(key) + "' has bad value '" + std::string(value) + "': allowed " +
                       std::string(allowed)};
}

} // namespace

DevargsResult parse_devargs(std::string_view args, Devargs &out, DevargsFor bus) {
    while (!args.empty()) {
        const size_t comma = args.find(',');
        const std::string_view item = args.substr(0, comma);
        args = comma == std::string_view::npos ? std::string_view{} : args.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        const size_t eq = item.find('=');
        const std::string_view key = item.substr(0, eq);
        const std::string_view val = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
        if (eq == std::string_view::npos) {
            return {false, "devarg '" + std::string(key) + "' needs a value (key=value); keys: " +
                               std::string(devargs_keys)};
        }
        if (bus == DevargsFor::pci && (key == "path" || key == "server" || key == "connect_timeout")) {
            return {false, "devarg '" + std::string(key) + "' is for vhost-user ports (net_vpmd vdev), not a PCI "
                           "device"};
        }
        if (bus == DevargsFor::vhost_user && key == "dma") {
            return {false, "devarg 'dma' is for PCI devices (-a BDF,dma=eal|own); vhost-user queues always use the "
                           "backend's memory table"};
        }
        uint64_t n = 0;
        auto flag = [&](bool &dst) {
            if (val == "0" || val == "1") {
                dst = val == "1";
                return true;
            }
            return false;
        };
        if (key == "path") {
            if (val.empty() || val.size() >= 108) { // sun_path holds 108 bytes with the NUL
                return fail(key, val, "a unix socket path of 1..107 characters");
            }
            out.path = std::string(val);
        } else if (key == "server") {
            if (!flag(out.server)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "queues") {
            if (!parse_uint(val, max_queue_pairs, n) || n == 0) {
                return fail(key, val, "1.." + std::to_string(max_queue_pairs));
            }
            out.queues = uint16_t(n);
        } else if (key == "queue_size") {
            if (!parse_uint(val, 32768, n) || n < 16) {
                return fail(key, val, "16..32768 (a power of two unless packed_vq=1)");
            }
            out.queue_size = uint32_t(n);
        } else if (key == "packed_vq") {
            if (!flag(out.packed_vq)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "in_order") {
            if (!flag(out.in_order)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "mrg_rxbuf") {
            if (!flag(out.mrg_rxbuf)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "event_idx") {
            if (!flag(out.event_idx)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "indirect") {
            if (!flag(out.indirect)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "cq") {
            if (!flag(out.cq)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "mac") {
            if (!parse_mac(val, out.mac) || (out.mac[0] & 1) != 0) {
                return fail(key, val, "a unicast address XX:XX:XX:XX:XX:XX");
            }
            out.have_mac = true;
        } else if (key == "speed") {
            if (!parse_uint(val, 400000, n) || n == 0) {
                return fail(key, val, "1..400000 (Mbps)");
            }
            out.speed = uint32_t(n);
        } else if (key == "strict_tx_hdr") {
            if (!flag(out.strict_tx_hdr)) {
                return fail(key, val, "0 or 1");
            }
        } else if (key == "dma") {
            if (val != "eal" && val != "own") {
                return fail(key, val, "eal (EAL's VFIO container) or own (a container of the port's own)");
            }
            out.dma = val == "own" ? Devargs::Dma::own : Devargs::Dma::eal;
        } else if (key == "vectorized") {
            using V = Devargs::Vectorized;
            if (val == "1" || val == "auto") {
                out.vectorized = V::automatic;
            } else if (val == "0") {
                out.vectorized = V::scalar;
            } else if (val == "avx2") {
                out.vectorized = V::avx2;
            } else if (val == "avx512") {
                out.vectorized = V::avx512;
            } else {
                return fail(key, val, "1 or auto (the widest SIMD the CPU and EAL allow), 0 (scalar), avx2, avx512");
            }
        } else if (key == "connect_timeout") {
            if (!parse_uint(val, 3600, n)) {
                return fail(key, val, "0..3600 (seconds)");
            }
            out.connect_timeout_ms = uint32_t(n) * 1000;
        } else {
            return {false, "unknown devarg '" + std::string(key) + "'; keys: " + std::string(devargs_keys)};
        }
    }
    if (bus == DevargsFor::vhost_user && out.path.empty()) {
        return {false, "devarg 'path' is required (the vhost-user socket)"};
    }
    if (!out.packed_vq && (out.queue_size & (out.queue_size - 1)) != 0) {
        return {false, "devarg 'queue_size' has bad value '" + std::to_string(out.queue_size) +
                           "': split rings need a power of two (or packed_vq=1)"};
    }
    if (out.queues > 1 && !out.cq) {
        return {false, "devarg 'queues' > 1 needs cq=1 (queue pairs are set through the control queue)"};
    }
    return {true, {}};
}

} // namespace vpmd::pmd
