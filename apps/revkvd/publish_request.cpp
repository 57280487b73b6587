#include "apps/revkvd/publish_request.hpp"

#include "apps/revkvd/checkpoint_transfer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace revkv::apps {
namespace {

using Clock = std::chrono::steady_clock;

// The longest request or answer line: "RKVPUBLISH1 4096", "X etcdserver: ..." (a reason
// longer than this is cut when sent).
constexpr std::size_t kMaxLine = 256;

// Waits for `events` until `deadline`; false with `error` when it passed or poll failed.
bool wait_until(int fd, short events, Clock::time_point deadline, std::string& error) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      error = "timed out";
      return false;
    }
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (rc > 0) return true;
  }
}

bool write_by(int fd, std::string_view data, Clock::time_point deadline, std::string& error) {
  while (!data.empty()) {
    if (!wait_until(fd, POLLOUT, deadline, error)) return false;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      error = n < 0 ? std::strerror(errno) : "connection closed";
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_by(int fd, char* out, std::size_t size, Clock::time_point deadline, std::string& error) {
  while (size > 0) {
    if (!wait_until(fd, POLLIN, deadline, error)) return false;
    const ssize_t n = ::recv(fd, out, size, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      error = n < 0 ? std::strerror(errno) : "the peer closed the connection";
      return false;
    }
    out += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// One line without its '\n', a byte at a time: nothing after it (a transfer, a payload) is
// taken. `too_long` tells a line over kMaxLine from a connection that ended.
bool read_line_by(int fd, std::string& line, Clock::time_point deadline, bool& too_long,
                  std::string& error) {
  line.clear();
  too_long = false;
  for (;;) {
    char c = 0;
    if (!read_by(fd, &c, 1, deadline, error)) return false;
    if (c == '\n') return true;
    if (line.size() >= kMaxLine) {
      too_long = true;
      error = "a line longer than " + std::to_string(kMaxLine) + " bytes";
      return false;
    }
    line.push_back(c);
  }
}

CatchupPortRequest refused(std::string reason) {
  return {CatchupPortRequest::Kind::refused, std::move(reason)};
}

// The length of "RKVPUBLISH1 <length>": plain decimal digits, no sign, no leading zero.
std::optional<std::size_t> publish_length(std::string_view text) {
  if (text.empty() || text.size() > 9 || (text.size() > 1 && text.front() == '0')) return {};
  std::size_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return {};
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

}  // namespace

std::optional<CatchupPortRequest> read_catchup_port_request(int fd,
                                                            std::chrono::milliseconds within,
                                                            std::string& error) {
  const auto deadline = Clock::now() + within;
  std::string line;
  bool too_long = false;
  if (!read_line_by(fd, line, deadline, too_long, error)) {
    if (too_long) return refused("revkv: not a catch-up port request");
    return std::nullopt;
  }
  if (line + "\n" == kCatchupRequest) return CatchupPortRequest{};
  const std::string prefix = std::string(kPublishRequest) + " ";
  if (line.rfind(prefix, 0) != 0) return refused("revkv: not a catch-up port request");
  const auto length = publish_length(std::string_view(line).substr(prefix.size()));
  if (!length) return refused("revkv: malformed publish request (length)");
  if (*length == 0 || *length > kMaxPublishPayload) {
    return refused("revkv: publish request of " + std::to_string(*length) + " bytes (1 to " +
                   std::to_string(kMaxPublishPayload) + " allowed)");
  }
  CatchupPortRequest request{CatchupPortRequest::Kind::publish, std::string(*length, '\0')};
  if (!read_by(fd, request.payload.data(), *length, deadline, error)) return std::nullopt;
  return request;
}

void answer_publish(int fd, const std::string& refusal, std::chrono::milliseconds within) {
  std::string line = refusal.empty() ? "OK" : "X " + refusal.substr(0, kMaxLine - 2);
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::string ignored;
  write_by(fd, line + "\n", Clock::now() + within, ignored);
}

bool exchange_publish(int fd, std::string_view payload, std::chrono::milliseconds within,
                      std::string& refusal, std::string& error) {
  const auto deadline = Clock::now() + within;
  const std::string head =
      std::string(kPublishRequest) + " " + std::to_string(payload.size()) + "\n";
  if (!write_by(fd, head, deadline, error) || !write_by(fd, payload, deadline, error)) return false;
  std::string line;
  bool too_long = false;
  if (!read_line_by(fd, line, deadline, too_long, error)) return false;
  if (line == "OK") {
    refusal.clear();
    return true;
  }
  if (line.rfind("X ", 0) == 0) {
    refusal = line.size() > 2 ? line.substr(2) : "no reason given";
    return true;
  }
  error = "not an answer: '" + line.substr(0, 64) + "'";
  return false;
}

}  // namespace revkv::apps
