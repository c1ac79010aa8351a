// The vhost-user codec without EAL: payload layouts byte for byte, fds through SCM_RIGHTS,
// and every way a peer can fail a read (silence, half a message, oversize, hang-up).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "drivers/transport/vhost_user/codec.hpp"

namespace vpmd::vhost_user {
namespace {

using namespace std::chrono_literals;

struct Pair {
    UniqueFd a, b;
    Pair() {
        int sv[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        a.reset(sv[0]);
        b.reset(sv[1]);
    }
};

ino_t inode_of(int fd) {
    struct stat sb {};
    EXPECT_EQ(::fstat(fd, &sb), 0);
    return sb.st_ino;
}

TEST(Codec, HeaderAndU64Layout) {
    const Message m = encode_u64(Request::set_features, 0x1122334455667788ULL);
    EXPECT_EQ(m.hdr.request, 2u);
    EXPECT_EQ(m.hdr.flags, flag_version);
    EXPECT_EQ(m.hdr.size, 8u);
    const std::array<uint8_t, 8> le{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    EXPECT_EQ(std::memcmp(m.payload.data(), le.data(), 8), 0);
    EXPECT_EQ(encode(Request::set_owner).hdr.size, 0u);
}

TEST(Codec, VringAddrOrderIsDescUsedAvail) {
    const VringAddr a{3, 0, 0x1000, 0x3000, 0x2000, 0};
    const Message m = encode_addr(a);
    EXPECT_EQ(m.hdr.request, 9u);
    EXPECT_EQ(m.hdr.size, 40u);
    EXPECT_EQ(m.read<uint32_t>(0), 3u);
    EXPECT_EQ(m.read<uint64_t>(8), 0x1000u);  // desc
    EXPECT_EQ(m.read<uint64_t>(16), 0x3000u); // used (device area)
    EXPECT_EQ(m.read<uint64_t>(24), 0x2000u); // avail (driver area)
    auto back = decode_addr(m);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->avail_user_addr, 0x2000u);
}

TEST(Codec, VringFileCarriesIndexAndNoFdBit) {
    EXPECT_EQ(encode_vring_file(Request::set_vring_kick, 7, true).read<uint64_t>(), 7u);
    EXPECT_EQ(encode_vring_file(Request::set_vring_call, 7, false).read<uint64_t>(), 7u | (1u << 8));
}

TEST(Codec, MemTableSendsOnlyUsedRegions) {
    std::vector<dma::MemRegion> regions{{0x10000, 0x2000, 0x10000, 0, 5}, {0x40000, 0x1000, 0x40000, 0x8000, 6}};
    auto m = encode_mem_table(regions);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->hdr.size, 8u + 2 * 32u);
    EXPECT_EQ(m->read<uint32_t>(0), 2u);
    auto back = decode_mem_table(*m);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[1].guest_phys_addr, 0x40000u);
    EXPECT_EQ((*back)[1].memory_size, 0x1000u);
    EXPECT_EQ((*back)[1].mmap_offset, 0x8000u);

    std::vector<dma::MemRegion> nine(9, regions[0]);
    auto too_many = encode_mem_table(nine);
    ASSERT_FALSE(too_many);
    EXPECT_EQ(too_many.error().code, Errc::invalid_argument);
}

TEST(Codec, MemRegHasPaddingFirst) {
    const Message m = encode_mem_reg(Request::add_mem_reg, {0xa000, 0x1000, 0xb000, 0x40, 3});
    EXPECT_EQ(m.hdr.size, 40u);
    EXPECT_EQ(m.read<uint64_t>(0), 0u);
    auto r = decode_mem_reg(m);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->guest_phys_addr, 0xa000u);
    EXPECT_EQ(r->userspace_addr, 0xb000u);
    EXPECT_EQ(r->mmap_offset, 0x40u);
}

TEST(Codec, ReplyChecks) {
    const Message req = encode(Request::get_features);
    uint64_t v = 42;
    Message reply = make_reply(req, &v, sizeof(v));
    auto ok = decode_u64_reply(reply, Request::get_features);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 42u);

    auto wrong_req = decode_u64_reply(reply, Request::get_protocol_features);
    ASSERT_FALSE(wrong_req);
    EXPECT_EQ(wrong_req.error().code, Errc::bad_reply);
    EXPECT_EQ(wrong_req.error().request, Request::get_protocol_features);

    Message not_reply = reply;
    not_reply.hdr.flags = flag_version;
    EXPECT_FALSE(decode_u64_reply(not_reply, Request::get_features));

    Message short_reply = reply;
    short_reply.hdr.size = 4;
    EXPECT_FALSE(decode_u64_reply(short_reply, Request::get_features));

    Message bad_version = reply;
    bad_version.hdr.flags = flag_reply | 2;
    EXPECT_FALSE(decode_u64_reply(bad_version, Request::get_features));
}

TEST(Codec, RoundTripWithFds) {
    Pair p;
    const int memfd = ::memfd_create("codec-test", MFD_CLOEXEC);
    ASSERT_GE(memfd, 0);
    UniqueFd owned(memfd);
    const int fds[2] = {memfd, memfd};
    const Message m = encode_u64(Request::set_vring_kick, 1);
    ASSERT_TRUE(send_message(p.a.get(), m, fds, deadline_in(1s)));

    Message got;
    ReceivedFds rfds;
    ASSERT_TRUE(recv_message(p.b.get(), got, rfds, deadline_in(5s)));
    EXPECT_EQ(got.request(), Request::set_vring_kick);
    EXPECT_EQ(got.read<uint64_t>(), 1u);
    ASSERT_EQ(rfds.count, 2u);
    EXPECT_NE(rfds.fds[0].get(), memfd); // a new descriptor for the same file
    EXPECT_EQ(inode_of(rfds.fds[0].get()), inode_of(memfd));
    EXPECT_EQ(::fcntl(rfds.fds[0].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(Codec, BackToBackMessagesStayApart) {
    Pair p;
    ASSERT_TRUE(send_message(p.a.get(), encode_u64(Request::set_features, 1), {}, deadline_in(1s)));
    ASSERT_TRUE(send_message(p.a.get(), encode(Request::set_owner), {}, deadline_in(1s)));
    ASSERT_TRUE(send_message(p.a.get(), encode_state(Request::set_vring_num, {1, 256}), {}, deadline_in(1s)));
    Message m;
    ReceivedFds fds;
    ASSERT_TRUE(recv_message(p.b.get(), m, fds, deadline_in(5s)));
    EXPECT_EQ(m.request(), Request::set_features);
    ASSERT_TRUE(recv_message(p.b.get(), m, fds, deadline_in(5s)));
    EXPECT_EQ(m.request(), Request::set_owner);
    ASSERT_TRUE(recv_message(p.b.get(), m, fds, deadline_in(5s)));
    EXPECT_EQ(m.request(), Request::set_vring_num);
    auto s = decode_state(m);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 1u);
    EXPECT_EQ(s->num, 256u);
}

TEST(Codec, SilentPeerTimesOut) {
    Pair p;
    Message m;
    ReceivedFds fds;
    const auto t0 = Clock::now();
    auto st = recv_message(p.b.get(), m, fds, deadline_in(100ms), Request::get_features);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::timeout);
    EXPECT_EQ(st.error().request, Request::get_features);
    EXPECT_GE(Clock::now() - t0, 100ms);
}

TEST(Codec, HalfAMessageTimesOut) {
    Pair p;
    const Message full = encode_u64(Request::get_features, 9);
    ASSERT_EQ(::send(p.a.get(), &full, sizeof(Header) + 3, 0), static_cast<ssize_t>(sizeof(Header) + 3));
    Message m;
    ReceivedFds fds;
    auto st = recv_message(p.b.get(), m, fds, deadline_in(100ms));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::timeout);
}

TEST(Codec, HangUpIsDisconnected) {
    Pair p;
    p.a.reset();
    Message m;
    ReceivedFds fds;
    auto st = recv_message(p.b.get(), m, fds, deadline_in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::disconnected);

    auto sst = send_message(p.b.get(), encode(Request::set_owner), {}, deadline_in(1s));
    ASSERT_FALSE(sst);
    EXPECT_EQ(sst.error().code, Errc::disconnected);
}

TEST(Codec, OversizeHeaderIsRejectedNotRead) {
    Pair p;
    const Header h{1, flag_version | flag_reply, static_cast<uint32_t>(max_payload + 1)};
    ASSERT_EQ(::send(p.a.get(), &h, sizeof(h), 0), static_cast<ssize_t>(sizeof(h)));
    Message m;
    ReceivedFds fds;
    auto st = recv_message(p.b.get(), m, fds, deadline_in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::bad_reply);
}

TEST(Codec, BadVersionIsRejected) {
    Pair p;
    const Header h{1, 2, 0};
    ASSERT_EQ(::send(p.a.get(), &h, sizeof(h), 0), static_cast<ssize_t>(sizeof(h)));
    Message m;
    ReceivedFds fds;
    auto st = recv_message(p.b.get(), m, fds, deadline_in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::bad_reply);
}

TEST(Codec, TooManyFdsAreClosedAndRejected) {
    Pair p;
    std::vector<int> fds(max_fds + 1, -1);
    std::vector<UniqueFd> owned;
    for (auto &fd : fds) {
        fd = ::memfd_create("many", MFD_CLOEXEC);
        owned.emplace_back(fd);
    }
    // Bypass send_message's own limit: a hostile peer would.
    Message m = encode(Request::set_owner);
    iovec iov{&m, sizeof(Header)};
    alignas(cmsghdr) char control[CMSG_SPACE((max_fds + 1) * sizeof(int))]{};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control;
    mh.msg_controllen = sizeof(control);
    cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
    ASSERT_EQ(::sendmsg(p.a.get(), &mh, 0), static_cast<ssize_t>(sizeof(Header)));

    Message got;
    ReceivedFds rfds;
    auto st = recv_message(p.b.get(), got, rfds, deadline_in(5s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::bad_reply);
    EXPECT_EQ(rfds.count, 0u); // none kept open
}

TEST(Codec, SendRefusesTooManyFds) {
    Pair p;
    std::vector<int> fds(max_fds + 1, 0);
    auto st = send_message(p.a.get(), encode(Request::set_owner), fds, deadline_in(1s));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, Errc::invalid_argument);
}

TEST(Errors, DescribeAndErrno) {
    const Error e{Errc::timeout, Request::set_mem_table, 0};
    EXPECT_EQ(describe(e), "SET_MEM_TABLE: no reply within the reply timeout");
    EXPECT_EQ(to_errno(e), -ETIMEDOUT);
    const Error c{Errc::connect_failed, Request::none, ENOENT};
    EXPECT_NE(describe(c).find("No such file"), std::string::npos);
    EXPECT_EQ(to_errno(c), -ENOENT);
    EXPECT_EQ(to_errno(Error{Errc::nack, Request::set_features}), -EPERM);
}

} // namespace
} // namespace vpmd::vhost_user
