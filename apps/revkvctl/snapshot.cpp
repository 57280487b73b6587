#include "apps/revkvctl/snapshot.hpp"

#include "storage/store.hpp"
#include "util/sha256.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

namespace revkv::ctl {
namespace fs = std::filesystem;
namespace {

// What libarchive reads from the file, and what is copied out of an entry, at a time.
constexpr std::size_t kReadBlockBytes = 64 * 1024;

protocol::WireError io_error(const std::string& what) {
  return {2, what};
}

bool safe_relative(const fs::path& p) {
  if (p.empty() || p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == "..") return false;
  return true;
}

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

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

// libarchive reads the tar (ustar, GNU and pax long names): it checks every header's
// checksum and refuses a damaged or truncated archive, which the hand-written reader this
// replaced did not. Entries are written by this function, not by archive_read_extract, so
// that only plain files and directories under `dir` are ever created.
client::Result<client::Ok> extract_tar(const std::string& file, const std::string& dir) {
  std::unique_ptr<archive, ReadFree> in(archive_read_new());
  if (!in) return io_error("could not read " + file + ": archive_read_new failed");
  archive_read_support_format_tar(in.get());
  archive_read_support_filter_none(in.get());
  if (archive_read_open_filename(in.get(), file.c_str(), kReadBlockBytes) != ARCHIVE_OK)
    return io_error("could not open " + file + ": " + archive_error_string(in.get()));
  auto damaged = [&] {
    return io_error(file + ": not a valid tar archive (see docs/REVKVCTL.md, snapshot format): " +
                    archive_error_string(in.get()));
  };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("could not create " + dir + ": " + ec.message());
  std::vector<char> buffer(kReadBlockBytes);
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return damaged();
    const char* raw_name = archive_entry_pathname(entry);
    const std::string name = raw_name ? raw_name : "";
    fs::path rel = fs::path(name).lexically_normal();
    if (rel == "." || rel == "./") continue;
    if (!safe_relative(rel)) return io_error(file + ": unsafe path in archive: " + name);
    fs::path target = fs::path(dir) / rel;
    const auto type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      fs::create_directories(target, ec);
      if (ec) return io_error("could not create " + target.string() + ": " + ec.message());
      continue;
    }
    if (type != AE_IFREG)
      return io_error(file + ": unsupported tar entry (not a file or directory): " + name);
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    if (!out) return io_error("could not create " + target.string());
    for (;;) {
      la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
      if (n < 0) return damaged();
      if (n == 0) break;
      out.write(buffer.data(), n);
    }
    if (!out.flush()) return io_error("could not write " + target.string());
  }
  return client::Ok{};
}

namespace {

// A tar made with `tar -C parent dir` holds one top-level folder: the checkpoint.
fs::path checkpoint_root(const fs::path& extracted) {
  std::error_code ec;
  std::vector<fs::path> top;
  for (const auto& e : fs::directory_iterator(extracted, ec))
    top.push_back(e.path());
  if (top.size() == 1 && fs::is_directory(top[0])) return top[0];
  return extracted;
}

}  // namespace

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
  auto status = storage::Store::restore(checkpoint_root(staging).string(), data_dir);
  cleanup();
  if (!status.ok()) return io_error(status.error().message());
  return client::Ok{};
}

client::Result<SnapshotStatus> snapshot_status(const std::string& file) {
  std::error_code ec;
  SnapshotStatus out;
  out.total_size = static_cast<int64_t>(fs::file_size(file, ec));
  if (ec) return io_error("could not open " + file + ": " + ec.message());
  std::string staging = (fs::temp_directory_path(ec) / "revkvctl-snapshot-status-XXXXXX").string();
  if (ec || !::mkdtemp(staging.data()))
    return io_error("could not create a temporary folder: " + std::string(std::strerror(errno)));
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  } cleanup{staging};
  if (auto x = extract_tar(file, staging); !x) return x.error();
  storage::StoreOptions options;
  options.backend.create_if_missing = false;
  auto store = storage::Store::open(checkpoint_root(staging).string(), options);
  if (!store.ok()) return io_error(file + ": not a revkv snapshot: " + store.error().message());
  out.revision = (*store)->current_revision();
  auto hash = (*store)->hash_kv(out.revision);
  if (!hash.ok()) return io_error(hash.error().message());
  out.hash = hash->hash;
  storage::RangeRequest all;  // every key: etcd's key "\0" with range_end "\0"
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  all.count_only = true;
  auto count = (*store)->range(all);
  if (!count.ok()) return io_error(count.error().message());
  out.total_keys = count->count;
  if (auto closed = (*store)->close(); !closed.ok()) return io_error(closed.error().message());
  return out;
}

}  // namespace revkv::ctl
