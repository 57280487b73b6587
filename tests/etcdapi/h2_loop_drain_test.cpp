// A leadership drain and the HTTP/2 door's event loop (etcdapi/h2_loop.hpp, begin_drain and
// settled; docs/CLUSTER.md "Leadership loss"): the loop's connections are told to open no
// new stream, and the drain is held while a call is in the loop, not by a Watch stream, and
// not by a loop that is gone. One loop with a dispatcher of the test's own, over loopback,
// and a raw HTTP/2 client (tests/etcdapi/h2_client.hpp).

#include "etcdapi/grpc_wire.hpp"
#include "etcdapi/h2_loop.hpp"
#include "tests/etcdapi/h2_client.hpp"
#include "util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;
using etcdapi::h2::Loop;
using etcdapi::h2::StreamRef;
using testing::H2Client;

// Takes every message and answers nothing: the test finishes streams itself.
class Silent final : public etcdapi::h2::StreamHandler {
 public:
  bool on_message(std::string, size_t) override { return false; }
  void on_half_close() override {}
  void on_abandoned() override {}
  void on_refused(int) override {}
};

// Records the streams it is given.
class Recorder final : public etcdapi::h2::Dispatcher {
 public:
  std::unique_ptr<etcdapi::h2::StreamHandler> open(Loop&, StreamRef ref,
                                                   etcdapi::h2::RequestHead) override {
    std::lock_guard lock(mu_);
    opened_.push_back(ref);
    return std::make_unique<Silent>();
  }
  std::vector<StreamRef> opened() const {
    std::lock_guard lock(mu_);
    return opened_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<StreamRef> opened_;
};

// A loopback listener whose connections the loop adopts.
class Listener {
 public:
  explicit Listener(Loop& loop) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_.valid());
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_.get(), 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, &loop] {
      for (;;) {
        const int client = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;  // shut down
        loop.adopt(client);
      }
    });
  }
  ~Listener() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  util::UniqueFd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
};

// Asks until the loop says it holds nothing, within `limit`.
bool settles(const Loop::MailboxPtr& mailbox, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Loop::settled(mailbox, deadline)) return true;
    std::this_thread::sleep_for(5ms);  // a poll's pause, not a synchronisation
  }
  return false;
}

constexpr int32_t kLargestStreamId = 0x7fffffff;

TEST_CASE(
    "h2 loop: a drain tells every open connection to go away, waits for the calls in the loop, "
    "not for Watch streams",
    "[etcdapi][h2]") {
  Recorder dispatcher;
  auto loop = std::make_unique<Loop>(dispatcher, Loop::Limits{});
  const Loop::MailboxPtr mailbox = loop->mailbox();
  Listener listener(*loop);
  H2Client client(listener.port());

  // A Watch stream that stays open, and a Put whose request is in but not answered.
  const int32_t watch =
      client.open_stream(H2Client::grpc_headers("/etcdserverpb.Watch/Watch"), "", false);
  REQUIRE(client.pump_until([&] { return dispatcher.opened().size() == 1; }, 10s));
  const int32_t put = client.open_stream(H2Client::grpc_headers("/etcdserverpb.KV/Put"),
                                         etcdapi::frame_grpc_message("request"), true);
  REQUIRE(client.pump_until([&] { return dispatcher.opened().size() == 2; }, 10s));
  const StreamRef put_ref = dispatcher.opened()[1];

  loop->begin_drain();
  // nghttp2's shutdown notice: no new stream here, every stream sent so far still served.
  auto goaway = client.wait_goaway(10s);
  REQUIRE(goaway.has_value());
  CHECK(*goaway == kLargestStreamId);
  // The Put is in the loop without its answer: the drain waits for it.
  CHECK_FALSE(Loop::settled(mailbox, std::chrono::steady_clock::now() + 10s));

  Loop::post(mailbox, [put_ref](Loop& l) { l.finish(put_ref, 14, "etcdserver: leader changed"); });
  REQUIRE(client.pump_until([&] { return client.complete(put); }, 10s));
  CHECK(client.answer(put).grpc_status() == 14);
  CHECK(client.answer(put).grpc_message() == "etcdserver: leader changed");
  // Answered and written: nothing holds the drain, though the Watch stream stays open.
  CHECK(settles(mailbox, 10s));
  CHECK_FALSE(client.complete(watch));
  CHECK_FALSE(client.broken());

  SECTION("a connection that comes during the drain is served as usual") {
    H2Client late(listener.port());
    const int32_t get = late.open_stream(H2Client::grpc_headers("/etcdserverpb.KV/Range"),
                                         etcdapi::frame_grpc_message("request"), true);
    REQUIRE(late.pump_until([&] { return dispatcher.opened().size() == 3; }, 10s));
    CHECK_FALSE(Loop::settled(mailbox, std::chrono::steady_clock::now() + 10s));
    const StreamRef get_ref = dispatcher.opened()[2];
    Loop::post(mailbox,
               [get_ref](Loop& l) { l.finish(get_ref, 14, "etcdserver: leader changed"); });
    REQUIRE(late.pump_until([&] { return late.complete(get); }, 10s));
    CHECK(late.answer(get).grpc_status() == 14);
    CHECK(settles(mailbox, 10s));
  }

  SECTION("a loop that is gone holds nothing") {
    loop.reset();
    CHECK(Loop::settled(mailbox, std::chrono::steady_clock::now() + 10s));
  }
}

}  // namespace
}  // namespace revkv
