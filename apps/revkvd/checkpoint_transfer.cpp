#include "apps/revkvd/checkpoint_transfer.hpp"

#include "util/sha256.hpp"
#include "util/unique_fd.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace revkv::apps {
namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kMaxLine = 512;

int poll_ms(const TransferLimits& limits) {
  return static_cast<int>(limits.idle.count());
}

bool wait_for(int fd, short events, const TransferLimits& limits, std::string& error) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, poll_ms(limits));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (rc == 0) {
      error = "no progress for " + std::to_string(limits.idle.count()) + " ms";
      return false;
    }
    return true;
  }
}

bool write_all(int fd, std::string_view data, const TransferLimits& limits, std::string& error) {
  while (!data.empty()) {
    if (!wait_for(fd, POLLOUT, limits, error)) return false;
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      error = n < 0 ? std::strerror(errno) : "connection closed";
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads up to `size` bytes (at least one); 0 with `error` on end or failure.
size_t read_some(int fd, char* out, size_t size, const TransferLimits& limits, std::string& error) {
  for (;;) {
    if (!wait_for(fd, POLLIN, limits, error)) return 0;
    ssize_t n = ::recv(fd, out, size, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) {
      error = n < 0 ? std::strerror(errno) : "the peer closed the connection early";
      return 0;
    }
    return static_cast<size_t>(n);
  }
}

bool read_exact(int fd, char* out, size_t size, const TransferLimits& limits, std::string& error) {
  while (size > 0) {
    size_t n = read_some(fd, out, size, limits, error);
    if (n == 0) return false;
    out += n;
    size -= n;
  }
  return true;
}

// One line without its '\n', read a byte at a time so that no file byte after it is taken.
bool read_line(int fd, std::string& line, const TransferLimits& limits, std::string& error) {
  line.clear();
  for (;;) {
    char c = 0;
    if (!read_exact(fd, &c, 1, limits, error)) return false;
    if (c == '\n') return true;
    if (line.size() >= kMaxLine) {
      error = "a line longer than " + std::to_string(kMaxLine) + " bytes";
      return false;
    }
    line.push_back(c);
  }
}

// A checkpoint's files are RocksDB's flat names (000012.sst, MANIFEST-000005, CURRENT, ...):
// anything that could leave the staging directory is refused.
bool safe_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool fsync_path(const std::filesystem::path& path, std::string& error) {
  util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    error = "fsync " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool send_file(int fd, const std::filesystem::path& path, bool& damage,
               const TransferLimits& limits, std::string& error) {
  util::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) {
    error = "open " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) {
    error = "stat " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (!write_all(fd, "F " + path.filename().string() + " " + std::to_string(size) + "\n", limits,
                 error))
    return false;
  util::Sha256 digest;
  std::vector<char> buf(kChunk);
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(in.get(), buf.data(), std::min<uint64_t>(left, buf.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // The checkpoint's files are immutable (hard links): a short read is a failure.
      error = "read " + path.string() + ": " + (n < 0 ? std::strerror(errno) : "file shrank");
      return false;
    }
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    digest.update(chunk);
    if (damage) {
      buf[0] = static_cast<char>(buf[0] ^ 0x5a);
      damage = false;
    }
    if (!write_all(fd, chunk, limits, error)) return false;
    left -= static_cast<uint64_t>(n);
  }
  return write_all(fd, "S " + util::to_hex(digest.finish()) + "\n", limits, error);
}

bool receive_file(int fd, const std::filesystem::path& staging, const std::string& name,
                  uint64_t size, const TransferLimits& limits, std::string& error) {
  if (!safe_name(name)) {
    error = "refused the file name '" + name + "'";
    return false;
  }
  const auto path = staging / name;
  util::UniqueFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out.valid()) {
    error = "create " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  util::Sha256 digest;
  std::vector<char> buf(kChunk);
  uint64_t left = size;
  while (left > 0) {
    size_t n = read_some(fd, buf.data(), std::min<uint64_t>(left, buf.size()), limits, error);
    if (n == 0) return false;
    digest.update(std::string_view(buf.data(), n));
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf.data() + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        error = "write " + path.string() + ": " + std::strerror(errno);
        return false;
      }
      done += static_cast<size_t>(w);
    }
    left -= n;
  }
  if (::fsync(out.get()) != 0) {
    error = "fsync " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  std::string line;
  if (!read_line(fd, line, limits, error)) return false;
  const auto expected = util::to_hex(digest.finish());
  if (line.rfind("S ", 0) != 0) {
    error = "expected the digest of " + name + ", got '" + line + "'";
    return false;
  }
  if (line.substr(2) != expected) {
    error = "checksum mismatch for " + name + " (" + std::to_string(size) + " bytes)";
    return false;
  }
  return true;
}

}  // namespace

bool send_checkpoint(int fd, const std::filesystem::path& dir, const TransferLimits& limits,
                     std::string& error) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (ec) error = "list " + dir.string() + ": " + ec.message();
  std::sort(files.begin(), files.end());
  bool damage = limits.damage;
  bool ok = !ec;
  for (const auto& file : files) {
    if (!ok) break;
    ok = send_file(fd, file, damage, limits, error);
  }
  if (!ok) {
    send_failure(fd, error, limits);
    return false;
  }
  return write_all(fd, "E " + std::to_string(files.size()) + "\n", limits, error);
}

void send_failure(int fd, const std::string& reason, const TransferLimits& limits) {
  std::string ignored;
  write_all(fd, "X " + reason + "\n", limits, ignored);
}

bool read_catchup_request(int fd, const TransferLimits& limits, std::string& error) {
  std::string line;
  if (!read_line(fd, line, limits, error)) return false;
  if (line + "\n" != kCatchupRequest) {
    error = "not a catch-up request";
    return false;
  }
  return true;
}

bool receive_checkpoint(int fd, const std::filesystem::path& staging, const TransferLimits& limits,
                        std::string& error) {
  std::error_code ec;
  if (!std::filesystem::create_directory(staging, ec) || ec) {
    error = "create " + staging.string() + ": " + (ec ? ec.message() : "it exists");
    return false;
  }
  if (!write_all(fd, kCatchupRequest, limits, error)) return false;
  size_t files = 0;
  std::string line;
  for (;;) {
    if (!read_line(fd, line, limits, error)) return false;
    if (line.rfind("X ", 0) == 0) {
      error = "the source failed: " + line.substr(2);
      return false;
    }
    if (line.rfind("E ", 0) == 0) {
      if (line.substr(2) != std::to_string(files)) {
        error = "the source announced " + line.substr(2) + " files, " + std::to_string(files) +
                " arrived";
        return false;
      }
      if (files == 0) {
        error = "the source sent no file";
        return false;
      }
      return fsync_path(staging, error);
    }
    if (line.rfind("F ", 0) != 0) {
      error = "malformed line '" + line + "'";
      return false;
    }
    auto space = line.rfind(' ');
    std::string name = line.substr(2, space > 2 ? space - 2 : 0);
    uint64_t size = 0;
    try {
      size_t used = 0;
      size = std::stoull(line.substr(space + 1), &used);
      if (used != line.size() - space - 1) throw std::invalid_argument("size");
    } catch (const std::exception&) {
      error = "malformed line '" + line + "'";
      return false;
    }
    if (!receive_file(fd, staging, name, size, limits, error)) return false;
    ++files;
  }
}

}  // namespace revkv::apps
