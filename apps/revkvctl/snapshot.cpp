#include "apps/revkvctl/snapshot.hpp"

#include "storage/store.hpp"
#include "util/sha256.hpp"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace revkv::ctl {
namespace fs = std::filesystem;
namespace {

protocol::WireError io_error(const std::string& what) {
  return {2, what};
}

uint64_t octal(const char* p, std::size_t n) {
  uint64_t v = 0;
  for (std::size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; ++i)
    v = v * 8 + uint64_t(p[i] - '0');
  return v;
}

std::string field(const char* p, std::size_t n) {
  return std::string(p, strnlen(p, n));
}

bool safe_relative(const fs::path& p) {
  if (p.empty() || p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

// The value of `path=` in a pax extended header ("<len> path=<value>\n" records).
std::string pax_path(const std::string& data) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    auto space = data.find(' ', pos);
    if (space == std::string::npos) break;
    std::size_t len = std::strtoull(data.c_str() + pos, nullptr, 10);
    if (len == 0 || pos + len > data.size()) break;
    std::string record = data.substr(space + 1, pos + len - space - 2);  // no trailing \n
    if (record.rfind("path=", 0) == 0) return record.substr(5);
    pos += len;
  }
  return {};
}

}  // namespace

client::Result<protocol::SnapshotResponse> save_snapshot(client::Client& client,
                                                         const std::string& file) {
  const std::string part = file + ".part";
  std::ofstream out(part, std::ios::binary | std::ios::trunc);
  if (!out) return io_error("could not open " + part + ": " + std::strerror(errno));
  // Owner-only before a byte is written, as etcdctl saves snapshots (0600): they hold every
  // key and value.
  std::error_code perm_error;
  fs::permissions(part, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace,
                  perm_error);
  if (perm_error) return io_error("could not restrict " + part + ": " + perm_error.message());
  util::Sha256 sha;
  int64_t size = 0;
  auto r = client.snapshot([&](const protocol::SnapshotChunk& chunk) {
    sha.update(chunk.blob);
    size += static_cast<int64_t>(chunk.blob.size());
    out.write(chunk.blob.data(), static_cast<std::streamsize>(chunk.blob.size()));
    return static_cast<bool>(out);
  });
  out.close();
  auto discard = [&](protocol::WireError e) {
    std::error_code ec;
    fs::remove(part, ec);
    return e;
  };
  if (!r) return discard(r.error());
  if (!out) return discard(io_error("could not write " + part));
  if (r.value().size != size)
    return discard(io_error("snapshot size mismatch: received " + std::to_string(size) +
                            " bytes, the node sent " + std::to_string(r.value().size)));
  std::string digest = sha.finish();
  if (digest != r.value().sha256)
    return discard(io_error("snapshot sha256 mismatch: computed " + util::to_hex(digest) +
                            ", the node sent " + util::to_hex(r.value().sha256)));
  std::error_code ec;
  fs::rename(part, file, ec);
  if (ec) return discard(io_error("could not rename " + part + ": " + ec.message()));
  return r;
}

client::Result<client::Ok> extract_tar(const std::string& file, const std::string& dir) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return io_error("could not open " + file + ": " + std::strerror(errno));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("could not create " + dir + ": " + ec.message());
  std::string long_name;  // from a GNU 'L' or pax 'x' entry, for the next entry
  char header[512];
  for (;;) {
    if (!in.read(header, 512)) return io_error(file + ": truncated tar archive");
    if (std::all_of(header, header + 512, [](char c) { return c == 0; })) break;  // end
    if (std::strncmp(header + 257, "ustar", 5) != 0)
      return io_error(file + ": not a tar archive (see docs/REVKVCTL.md, snapshot format)");
    const uint64_t size = octal(header + 124, 12);
    const char type = header[156];
    std::string data;
    auto read_data = [&](bool keep, std::ofstream* sink) {
      uint64_t left = size;
      char buf[512];
      while (left > 0) {
        if (!in.read(buf, 512)) return false;
        std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(left, 512));
        if (keep) data.append(buf, n);
        if (sink) sink->write(buf, static_cast<std::streamsize>(n));
        left -= n;
      }
      return true;
    };
    if (type == 'L' || type == 'x' || type == 'g') {
      if (!read_data(true, nullptr)) return io_error(file + ": truncated tar archive");
      if (type == 'L') long_name = field(data.data(), data.size());
      if (type == 'x') long_name = pax_path(data);
      continue;
    }
    std::string name = long_name;
    long_name.clear();
    if (name.empty()) {
      std::string prefix = field(header + 345, 155);
      name = field(header, 100);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    fs::path rel = fs::path(name).lexically_normal();
    if (rel == "." || rel == "./") {
      if (!read_data(false, nullptr)) return io_error(file + ": truncated tar archive");
      continue;
    }
    if (!safe_relative(rel)) return io_error(file + ": unsafe path in archive: " + name);
    fs::path target = fs::path(dir) / rel;
    if (type == '5') {
      fs::create_directories(target, ec);
      if (ec) return io_error("could not create " + target.string() + ": " + ec.message());
      continue;
    }
    if (type != '0' && type != '\0')
      return io_error(file + ": unsupported tar entry type '" + std::string(1, type) + "'");
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out || !read_data(false, &out) || !out)
      return io_error("could not extract " + target.string());
  }
  return client::Ok{};
}

client::Result<client::Ok> restore_snapshot(const std::string& file, const std::string& data_dir) {
  std::error_code ec;
  if (fs::exists(data_dir, ec)) return io_error("data-dir \"" + data_dir + "\" exists");
  const std::string staging = data_dir + ".restore-tmp";
  fs::remove_all(staging, ec);
  auto cleanup = [&] { fs::remove_all(staging, ec); };
  if (auto x = extract_tar(file, staging); !x) {
    cleanup();
    return x.error();
  }
  // A tar made with `tar -C parent dir` holds one top-level folder: the checkpoint.
  fs::path root = staging;
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(staging, ec))
    top.push_back(e.path());
  if (top.size() == 1 && fs::is_directory(top[0])) root = top[0];
  auto status = storage::Store::restore(root.string(), data_dir);
  cleanup();
  if (!status.ok()) return io_error(status.error().message());
  return client::Ok{};
}

namespace {

// The directory of the extracted archive that holds the store: the archive's one
// top-level folder (`tar -C parent dir`), or the extraction directory itself.
fs::path store_root(const fs::path& extracted) {
  std::error_code ec;
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(extracted, ec))
    top.push_back(e.path());
  return top.size() == 1 && fs::is_directory(top[0]) ? top[0] : extracted;
}

}  // namespace

client::Result<SnapshotStatus> snapshot_status(const std::string& file) {
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  // etcdctl's words (Go's os.Stat error).
  if (ec) {
    // Go's errno texts start in lower case ("no such file or directory").
    std::string why = std::strerror(ec.value());
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    return protocol::WireError{1, "stat " + file + ": " + why};
  }
  const fs::path staging =
      fs::temp_directory_path() / ("revkvctl-status-" + std::to_string(::getpid()));
  fs::remove_all(staging, ec);
  // Removed on every path out.
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{staging};
  if (auto x = extract_tar(file, staging.string()); !x) return x.error();
  auto store = storage::Store::open(store_root(staging).string());
  if (!store) return io_error("could not open the snapshot's store: " + store.error().message());
  auto hash = store.value()->hash_kv(0);
  if (!hash) return io_error("could not hash the snapshot's store: " + hash.error().message());
  SnapshotStatus st;
  st.hash = hash.value().hash;
  st.revision = store.value()->current_revision();
  st.total_keys = static_cast<int64_t>(store.value()->index_revisions());
  st.total_size = static_cast<int64_t>(size);
  return st;
}

}  // namespace revkv::ctl
