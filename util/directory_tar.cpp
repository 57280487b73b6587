#include "util/directory_tar.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <filesystem>
#include <fstream>

namespace revkv::util {
namespace fs = std::filesystem;
namespace {

// What is read from a file (and handed to libarchive) at a time.
constexpr std::size_t kReadBytes = 64 * 1024;

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

// One pass of libarchive over the entries. Each step() writes one piece (a header, up to
// kReadBytes of a file, an entry's end, or the archive's end); libarchive hands the bytes
// straight to on_write (no blocking of its own: bytes_per_block 0), which keeps them in
// pending() or, when measuring, only counts them.
class DirectoryTar::Writer {
 public:
  Writer(const std::vector<Entry>& entries, bool measure)
      : entries_(entries), measure_(measure), buffer_(kReadBytes, '\0') {}

  // archive_write_free closes an unfinished archive cleanly, which pads the current entry
  // to its size with zeros through on_write (a dropped snapshot stream would build up to a
  // whole SST file of zeros in pending_): archive_write_fail marks it failed so that free
  // writes nothing. The archive still goes first, while the members on_write uses exist.
  ~Writer() {
    if (archive_ && !closed_) archive_write_fail(archive_.get());
    archive_.reset();
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  bool open(std::string& error) {
    archive_.reset(archive_write_new());
    if (!archive_) return fail("archive_write_new failed", error);
    if (archive_write_set_format_gnutar(archive_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(archive_.get(), 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(archive_.get(), 1) != ARCHIVE_OK ||
        archive_write_open(archive_.get(), this, nullptr, &Writer::on_write, nullptr) !=
            ARCHIVE_OK) {
      return fail(archive_error_string(archive_.get()), error);
    }
    return true;
  }

  bool closed() const { return closed_; }
  std::string& pending() { return pending_; }
  uint64_t written() const { return written_; }

  bool step(std::string& error) {
    if (in_entry_ && left_ > 0) return write_data(error);
    if (in_entry_) return end_entry(error);
    if (next_ < entries_.size()) return begin_entry(entries_[next_++], error);
    if (archive_write_close(archive_.get()) != ARCHIVE_OK)
      return fail(archive_error_string(archive_.get()), error);
    closed_ = true;
    return true;
  }

 private:
  static la_ssize_t on_write(archive*, void* self, const void* data, size_t n) {
    auto* w = static_cast<Writer*>(self);
    if (!w->measure_) w->pending_.append(static_cast<const char*>(data), n);
    w->written_ += n;
    return static_cast<la_ssize_t>(n);
  }

  bool fail(const char* what, std::string& error) {
    error = std::string("tar: ") + (what ? what : "libarchive failed");
    return false;
  }

  bool begin_entry(const Entry& e, std::string& error) {
    std::unique_ptr<archive_entry, EntryFree> entry(archive_entry_new());
    if (!entry) return fail("archive_entry_new failed", error);
    archive_entry_set_pathname(entry.get(), e.name.c_str());
    archive_entry_set_filetype(entry.get(), e.directory ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry.get(), e.directory ? 0755 : 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.size));
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (!measure_ && !e.directory) {
      file_ = std::ifstream(e.path, std::ios::binary);
      if (!file_) return fail(("could not open " + e.path).c_str(), error);
      path_ = e.path;
    }
    if (archive_write_header(archive_.get(), entry.get()) != ARCHIVE_OK)
      return fail(archive_error_string(archive_.get()), error);
    in_entry_ = true;
    left_ = e.size;
    return true;
  }

  bool write_data(std::string& error) {
    const auto n = static_cast<std::size_t>(std::min<uint64_t>(left_, buffer_.size()));
    // Measuring writes the buffer's zeros: libarchive's bytes are the same whatever the data.
    if (!measure_ && !file_.read(buffer_.data(), static_cast<std::streamsize>(n)))
      return fail(("could not read " + path_ + " (shorter than listed?)").c_str(), error);
    if (archive_write_data(archive_.get(), buffer_.data(), n) != static_cast<la_ssize_t>(n))
      return fail(archive_error_string(archive_.get()), error);
    left_ -= n;
    return true;
  }

  bool end_entry(std::string& error) {
    if (!measure_ && file_.is_open()) {
      if (file_.peek() != std::char_traits<char>::eof())
        return fail(("file grew while archived: " + path_).c_str(), error);
      file_.close();
    }
    if (archive_write_finish_entry(archive_.get()) != ARCHIVE_OK)
      return fail(archive_error_string(archive_.get()), error);
    in_entry_ = false;
    return true;
  }

  const std::vector<Entry>& entries_;
  const bool measure_;
  std::unique_ptr<archive, ArchiveFree> archive_;
  std::vector<char> buffer_;
  std::string pending_;
  uint64_t written_ = 0;
  std::size_t next_ = 0;  // the next entry to begin
  bool in_entry_ = false;
  uint64_t left_ = 0;  // bytes of the current entry not yet written
  std::ifstream file_;
  std::string path_;
  bool closed_ = false;
};

DirectoryTar::DirectoryTar(std::vector<Entry> entries) : entries_(std::move(entries)) {}

DirectoryTar::~DirectoryTar() = default;

std::unique_ptr<DirectoryTar> DirectoryTar::open(const std::string& dir, std::string& error) {
  std::error_code ec;
  std::vector<fs::path> paths;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    paths.push_back(it->path());
  if (ec) {
    error = "tar: could not list " + dir + ": " + ec.message();
    return nullptr;
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Entry> entries;
  for (const auto& path : paths) {
    Entry e;
    e.name = path.lexically_relative(dir).generic_string();
    e.path = path.string();
    auto status = fs::symlink_status(path, ec);
    if (!ec && fs::is_directory(status)) {
      e.directory = true;
      e.name += '/';
    } else if (!ec && fs::is_regular_file(status)) {
      e.size = fs::file_size(path, ec);
    } else if (!ec) {
      error = "tar: not a regular file or directory: " + e.path;
      return nullptr;
    }
    if (ec) {
      error = "tar: could not stat " + e.path + ": " + ec.message();
      return nullptr;
    }
    entries.push_back(std::move(e));
  }
  std::unique_ptr<DirectoryTar> tar(new DirectoryTar(std::move(entries)));
  Writer measure(tar->entries_, /*measure=*/true);
  if (!measure.open(error)) return nullptr;
  while (!measure.closed())
    if (!measure.step(error)) return nullptr;
  tar->size_ = measure.written();
  tar->writer_ = std::make_unique<Writer>(tar->entries_, /*measure=*/false);
  if (!tar->writer_->open(error)) return nullptr;
  return tar;
}

bool DirectoryTar::next(std::size_t max, std::string& chunk, std::string& error) {
  chunk.clear();
  std::string& pending = writer_->pending();
  while (pending.size() < max && !writer_->closed())
    if (!writer_->step(error)) return false;
  const std::size_t n = std::min(max, pending.size());
  chunk.assign(pending, 0, n);
  pending.erase(0, n);
  produced_ += n;
  finished_ = writer_->closed() && pending.empty();
  if (produced_ > size_ || (finished_ && produced_ != size_)) {
    error = "tar: the archive is " + std::to_string(writer_->written()) +
            " bytes, not the measured " + std::to_string(size_) + " (a file changed)";
    return false;
  }
  return true;
}

bool tar_directory(const std::string& dir, std::string& out, std::string& error) {
  auto tar = DirectoryTar::open(dir, error);
  if (!tar) return false;
  out.clear();
  std::string chunk;
  while (!tar->done()) {
    if (!tar->next(1 << 20, chunk, error)) return false;
    out += chunk;
  }
  return true;
}

}  // namespace revkv::util
