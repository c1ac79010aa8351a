// dataplane/net/virtio_net.hpp: the tx header clear writes only when the header is not a
// plain one already, and touches num_buffers only when asked to.
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "dataplane/net/virtio_net.hpp"

using vpmd::net::clear_tx_hdr;
using vpmd::net::net_hdr_size;
using vpmd::net::NetHdr;

namespace {

// The header with a guard byte on each side, to catch writes outside it.
struct Buf {
    std::array<uint8_t, net_hdr_size + 2> b{};
    Buf() {
        b.front() = 0xa5;
        b.back() = 0x5a;
    }
    uint8_t *hdr() { return b.data() + 1; }
    NetHdr get() {
        NetHdr h;
        std::memcpy(&h, hdr(), sizeof(h));
        return h;
    }
    void set(const NetHdr &h) { std::memcpy(hdr(), &h, sizeof(h)); }
    bool guards_intact() const { return b.front() == 0xa5 && b.back() == 0x5a; }
};

} // namespace

TEST(TxHdr, OffloadFieldsAreZeroed) {
    for (bool keep : {false, true}) {
        Buf b;
        b.set(NetHdr{1, 3, 54, 1448, 34, 16, 1});
        clear_tx_hdr(b.hdr(), keep);
        const NetHdr h = b.get();
        EXPECT_EQ(h.flags, 0);
        EXPECT_EQ(h.gso_type, 0);
        EXPECT_EQ(h.hdr_len, 0);
        EXPECT_EQ(h.gso_size, 0);
        EXPECT_EQ(h.csum_start, 0);
        EXPECT_EQ(h.csum_offset, 0) << "csum_offset shares the last word with num_buffers";
        EXPECT_EQ(h.num_buffers, 0) << "rewritten anyway: the line is written";
        EXPECT_TRUE(b.guards_intact());
    }
}

TEST(TxHdr, NumBuffersLeftUnlessStrict) {
    Buf lax;
    lax.set(NetHdr{0, 0, 0, 0, 0, 0, 1}); // what a device leaves after receiving into the mbuf
    clear_tx_hdr(lax.hdr(), true);
    EXPECT_EQ(lax.get().num_buffers, 1) << "not written: the device ignores it on transmit";

    Buf strict;
    strict.set(NetHdr{0, 0, 0, 0, 0, 0, 1});
    clear_tx_hdr(strict.hdr(), false);
    EXPECT_EQ(strict.get().num_buffers, 0);
    EXPECT_TRUE(strict.guards_intact());
}

TEST(TxHdr, CsumOffsetAloneStillCleared) {
    Buf b;
    b.set(NetHdr{0, 0, 0, 0, 0, 6, 0});
    clear_tx_hdr(b.hdr(), true);
    EXPECT_EQ(b.get().csum_offset, 0);
}
