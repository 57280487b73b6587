// The TLS terminator in-process (tls/): a handshake hands the door a plaintext end that
// relays both ways (with the client's tunnel on the other side), half-open handshakes are
// bounded in number and in time, and a reload that fails keeps the certificates in use.
// Skipped, not passed, where the openssl CLI is missing.

#include "tests/skip.hpp"
#include "tests/temp_dir.hpp"
#include "tls/client_tunnel.hpp"
#include "tls/listener.hpp"
#include "util/oldest_first.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace revkv {
namespace {

using namespace std::chrono_literals;

// A self-signed certificate for 127.0.0.1 in `dir`; false when openssl is missing.
bool make_certificate(const testing::TempDir& dir) {
  if (std::system("command -v openssl >/dev/null") != 0) return false;
  const std::string cmd =
      "cd " + dir.str() +
      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-keyout key.pem -out cert.pem -days 1 -subj /CN=test -addext "
      "subjectAltName=IP:127.0.0.1 >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return true;
}

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  return fd;
}

// Reads until `fd` is closed by the other side (true) or `limit` passes (false).
bool closed_within(int fd, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[256];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
}

// Reads exactly `size` bytes within `limit`; what it got.
std::string read_n(int fd, size_t size, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::string got;
  char buf[4096];
  while (got.size() < size) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, size - got.size()), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    sent += static_cast<size_t>(n);
  }
}

// The plaintext ends the terminator hands over.
struct Handoffs {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<int> fds;

  tls::Terminator::Handoff handoff() {
    return [this](int fd, const std::string&) {
      std::lock_guard lock(mutex);
      fds.push_back(fd);
      cv.notify_all();
    };
  }
  int next(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    if (!cv.wait_for(lock, limit, [&] { return !fds.empty(); })) return -1;
    const int fd = fds.front();
    fds.erase(fds.begin());
    return fd;
  }
};

std::shared_ptr<tls::ServerCredentials> credentials(const testing::TempDir& dir) {
  tls::ServerConfig config;
  config.cert_file = dir.sub("cert.pem");
  config.key_file = dir.sub("key.pem");
  std::string error;
  auto creds = tls::ServerCredentials::load(config, error);
  INFO(error);
  REQUIRE(creds);
  return creds;
}

TEST_CASE("the terminator relays both ways between the client's tunnel and the door", "[tls]") {
  testing::TempDir dir;
  if (!make_certificate(dir)) return testing::report_skipped("openssl not installed");
  Handoffs doors;
  tls::Listener listener("127.0.0.1", 0, credentials(dir), "test port", {}, 1, doors.handoff());

  tls::ClientConfig config;
  config.enabled = true;
  config.ca_file = dir.sub("cert.pem");  // self-signed: its own CA
  util::UniqueFd plain;
  std::string error;
  auto tunnel = tls::ClientTunnel::open(util::UniqueFd(connect_to(listener.port())), "127.0.0.1",
                                        config, 5000ms, plain, error);
  INFO(error);
  REQUIRE(tunnel);
  const int door = doors.next(5000ms);
  REQUIRE(door >= 0);

  // More than a TLS record each way.
  std::string up(100 * 1024, 'u'), down(70 * 1024, 'd');
  for (size_t i = 0; i < up.size(); i += 997)
    up[i] = static_cast<char>('a' + i % 26);
  send_all(plain.get(), up);
  CHECK(read_n(door, up.size(), 10s) == up);
  send_all(door, down);
  CHECK(read_n(plain.get(), down.size(), 10s) == down);

  // The door closing ends the client's connection.
  ::close(door);
  CHECK(closed_within(plain.get(), 10s));
}

// A listener that handshakes at most 3 connections at once, each for `deadline`, and 3
// connections to it that never start their handshake.
struct HalfOpen {
  Handoffs doors;
  tls::Listener listener;
  std::vector<int> silent;
  HalfOpen(const testing::TempDir& dir, std::chrono::milliseconds deadline)
      : listener("127.0.0.1", 0, credentials(dir), "test port", limits(deadline), 1,
                 doors.handoff()) {
    for (int i = 0; i < 3; ++i)
      silent.push_back(connect_to(listener.port()));
  }
  ~HalfOpen() {
    for (int fd : silent)
      ::close(fd);
  }
  static tls::Terminator::Limits limits(std::chrono::milliseconds deadline) {
    tls::Terminator::Limits l;
    l.handshake_deadline = deadline;
    l.max_handshaking = 3;
    return l;
  }
};

TEST_CASE("half-open handshakes are bounded in number: the oldest gives way", "[tls]") {
  testing::TempDir dir;
  if (!make_certificate(dir)) return testing::report_skipped("openssl not installed");
  // A deadline longer than any wait below: a connection closed within them was displaced
  // for the number, not dropped at its deadline.
  HalfOpen half_open(dir, 60s);
  auto& listener = half_open.listener;
  // Wait until the three are being handshaken; a fourth then closes the oldest, so silent
  // connections cannot keep a new client out.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (listener.handshaking() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  REQUIRE(listener.handshaking() == 3);
  const int over = connect_to(listener.port());
  CHECK(closed_within(half_open.silent[0], 10s));
  CHECK(listener.handshaking() == 3);
  const int next = connect_to(listener.port());
  CHECK(closed_within(half_open.silent[1], 10s));
  CHECK(listener.handshaking() == 3);
  ::close(over);
  ::close(next);
  CHECK(half_open.doors.next(0ms) == -1);  // nothing was handed to the door
}

TEST_CASE("the first-phase set gives up its oldest live entry when full", "[tls]") {
  // util/oldest_first.hpp, behind the TLS handshakes and the client port's sniffing.
  util::OldestFirst<int> set;
  auto a = std::make_shared<int>(1), b = std::make_shared<int>(2), c = std::make_shared<int>(3);
  CHECK(set.add(a, 2) == nullptr);
  CHECK(set.add(b, 2) == nullptr);
  CHECK(set.add(c, 2) == a);  // full: the oldest goes
  CHECK(set.size() == 2);
  set.erase(b.get());  // handed over: no longer a candidate
  auto d = std::make_shared<int>(4);
  CHECK(set.add(d, 2) == nullptr);
  {
    auto gone = std::make_shared<int>(5);
    auto e = std::make_shared<int>(6);
    set.erase(c.get());
    CHECK(set.add(gone, 2) == nullptr);  // d, gone
    gone.reset();                        // closed on its own, not erased yet
    CHECK(set.add(e, 2) == d);           // d is older than gone
    // gone's place frees itself: nothing to close.
    CHECK(set.add(std::make_shared<int>(7), 2) == nullptr);
    CHECK(set.take_all().size() == 1);  // e (7 went with its last owner)
  }
  CHECK(set.size() == 0);
}

TEST_CASE("half-open handshakes are bounded in time", "[tls]") {
  testing::TempDir dir;
  if (!make_certificate(dir)) return testing::report_skipped("openssl not installed");
  HalfOpen half_open(dir, 300ms);
  // The silent ones are dropped at their deadline, and their places are free again.
  for (int fd : half_open.silent)
    CHECK(closed_within(fd, 10s));
  CHECK(half_open.listener.handshaking() == 0);
  CHECK(half_open.doors.next(0ms) == -1);  // nothing was handed to the door
}

TEST_CASE("a reload that fails keeps the certificates in use", "[tls]") {
  testing::TempDir dir;
  if (!make_certificate(dir)) return testing::report_skipped("openssl not installed");
  auto creds = credentials(dir);
  const auto before = creds->current();
  const auto description = creds->description();
  CHECK(description.find("subject=/CN=test") != std::string::npos);
  std::ofstream(dir.sub("cert.pem")) << "not a certificate\n";
  std::string error, now;
  CHECK_FALSE(creds->reload(error, now));
  CHECK(error.find("cannot load --cert-file") != std::string::npos);
  CHECK(creds->current() == before);
  CHECK(creds->description() == description);
}

}  // namespace
}  // namespace revkv
