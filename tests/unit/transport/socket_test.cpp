// Unix socket set-up for both modes: connect retries and deadlines, stale socket files
// replaced, live sockets and ordinary files left alone, accept deadlines.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <thread>

#include "drivers/transport/vhost_user/unix_socket.hpp"
#include "tests/mock/vhost_user_backend.hpp"

namespace vpmd::vhost_user {
namespace {

using namespace std::chrono_literals;

bool exists(const std::string &p) {
    struct stat sb;
    return ::lstat(p.c_str(), &sb) == 0;
}

TEST(UnixSocket, ConnectToNothingFailsAtTheDeadline) {
    const std::string path = test::temp_socket_path("nothing");
    const auto t0 = Clock::now();
    auto fd = connect_unix(path, deadline_in(200ms));
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().code, Errc::connect_failed);
    EXPECT_EQ(fd.error().sys, ENOENT);
    EXPECT_GE(Clock::now() - t0, 200ms);
}

TEST(UnixSocket, PathTooLongIsInvalid) {
    const std::string path = "/tmp/" + std::string(200, 'x');
    auto c = connect_unix(path, deadline_in(0ms));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code, Errc::invalid_argument);
    auto l = listen_unix(path);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code, Errc::invalid_argument);
}

TEST(UnixSocket, ConnectRetriesUntilTheServerAppears) {
    const std::string path = test::temp_socket_path("late");
    std::thread late([&] {
        std::this_thread::sleep_for(150ms);
        auto l = listen_unix(path);
        ASSERT_TRUE(l);
        auto a = accept_unix(l->get(), deadline_in(10s));
        EXPECT_TRUE(a);
        ::unlink(path.c_str());
    });
    auto fd = connect_unix(path, deadline_in(10s));
    late.join();
    ASSERT_TRUE(fd) << describe(fd.error());
    EXPECT_NE(::fcntl(fd->get(), F_GETFL) & O_NONBLOCK, 0);
}

TEST(UnixSocket, StaleSocketFileIsReplaced) {
    const std::string path = test::temp_socket_path("stale");
    {
        auto l = listen_unix(path);
        ASSERT_TRUE(l);
    } // listener closed, file left behind: stale
    ASSERT_TRUE(exists(path));
    auto l = listen_unix(path);
    ASSERT_TRUE(l) << describe(l.error());
    auto c = connect_unix(path, deadline_in(1s));
    EXPECT_TRUE(c);
    ::unlink(path.c_str());
}

TEST(UnixSocket, LiveSocketIsNotStolen) {
    const std::string path = test::temp_socket_path("live");
    auto first = listen_unix(path);
    ASSERT_TRUE(first);
    auto second = listen_unix(path);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, Errc::listen_failed);
    EXPECT_EQ(second.error().sys, EADDRINUSE);
    ::unlink(path.c_str());
}

TEST(UnixSocket, OrdinaryFileIsNeverDeleted) {
    const std::string path = test::temp_socket_path("file");
    UniqueFd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    ASSERT_TRUE(f.valid());
    auto l = listen_unix(path);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().sys, EEXIST);
    EXPECT_TRUE(exists(path));
    ::unlink(path.c_str());
}

TEST(UnixSocket, AcceptTimesOut) {
    const std::string path = test::temp_socket_path("accept");
    auto l = listen_unix(path);
    ASSERT_TRUE(l);
    const auto t0 = Clock::now();
    auto a = accept_unix(l->get(), deadline_in(150ms));
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, Errc::accept_timeout);
    EXPECT_GE(Clock::now() - t0, 150ms);
    ::unlink(path.c_str());
}

} // namespace
} // namespace vpmd::vhost_user
