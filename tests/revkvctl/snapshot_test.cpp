#include "apps/revkvctl/snapshot.hpp"

#include "apps/revkvctl/endpoint_output.hpp"
#include "storage/store.hpp"
#include "tests/temp_dir.hpp"
#include "util/directory_tar.hpp"
#include "util/sha256.hpp"

#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

using namespace revkv;
namespace fs = std::filesystem;

namespace {

// A tar written by libarchive (the writer the node uses, util/directory_tar.cpp), with any
// entries a test wants, unsafe ones included.
la_ssize_t append_to_string(archive*, void* out, const void* data, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), n);
  return static_cast<la_ssize_t>(n);
}

struct TarEntry {
  std::string name;
  char type = '0';  // '0' file, '5' directory, '2' symlink
  std::string data;
};

std::string make_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  REQUIRE(archive_write_set_format_gnutar(a) == ARCHIVE_OK);
  REQUIRE(archive_write_set_bytes_per_block(a, 0) == ARCHIVE_OK);
  REQUIRE(archive_write_open(a, &out, nullptr, append_to_string, nullptr) == ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_filetype(entry, e.type == '5'   ? AE_IFDIR
                                      : e.type == '2' ? AE_IFLNK
                                                      : AE_IFREG);
    if (e.type == '2') archive_entry_set_symlink(entry, e.data.c_str());
    archive_entry_set_perm(entry, 0644);
    archive_entry_set_size(entry, e.type == '0' ? static_cast<la_int64_t>(e.data.size()) : 0);
    REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
    if (e.type == '0') archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(entry);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

std::string tar_dir(const fs::path& dir, const std::string& prefix) {
  std::vector<TarEntry> entries;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = prefix + fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      entries.push_back({rel + "/", '5', ""});
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      entries.push_back({rel, '0', ss.str()});
    }
  }
  return make_tar(entries);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace

TEST_CASE("sha256 test vectors") {
  auto hex = [](std::string s) {
    util::Sha256 h;
    h.update(s);
    return util::to_hex(h.finish());
  };
  CHECK(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Fed in uneven pieces: same digest.
  util::Sha256 h;
  std::string million(1000000, 'a');
  for (std::size_t i = 0; i < million.size(); i += 777)
    h.update(std::string_view(million).substr(i, 777));
  CHECK(util::to_hex(h.finish()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("extract_tar refuses unsafe paths and non-tar input") {
  testing::TempDir tmp;
  write_file(tmp.sub("evil.tar"), make_tar({{"../escape", '0', "x"}}));
  CHECK_FALSE(ctl::extract_tar(tmp.sub("evil.tar"), tmp.sub("out1")).ok());
  CHECK_FALSE(fs::exists(tmp.path() / "escape"));
  write_file(tmp.sub("junk"), std::string(2048, 'j'));
  CHECK_FALSE(ctl::extract_tar(tmp.sub("junk"), tmp.sub("out2")).ok());
  write_file(tmp.sub("link.tar"), make_tar({{"link", '2', "/etc/passwd"}}));
  CHECK_FALSE(ctl::extract_tar(tmp.sub("link.tar"), tmp.sub("out3")).ok());
  CHECK_FALSE(fs::exists(tmp.path() / "out3" / "link"));
}

TEST_CASE("extract_tar checks header checksums") {
  testing::TempDir tmp;
  std::string tar = make_tar({{"a", '0', "alpha"}, {"b", '0', "beta"}});
  write_file(tmp.sub("good.tar"), tar);
  REQUIRE(ctl::extract_tar(tmp.sub("good.tar"), tmp.sub("good")).ok());
  CHECK(read_file(tmp.sub("good/b")) == "beta");
  // The second entry's name changes from "b" to "c": its header checksum no longer matches.
  const std::size_t second_header = 1024;  // a's header, a's one data block
  REQUIRE(tar[second_header] == 'b');
  tar[second_header] = 'c';
  write_file(tmp.sub("bad.tar"), tar);
  auto r = ctl::extract_tar(tmp.sub("bad.tar"), tmp.sub("bad"));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("not a valid tar archive"));
  CHECK_FALSE(fs::exists(tmp.sub("bad/c")));
}

TEST_CASE("snapshot restore turns a tar of a store checkpoint into a data dir") {
  testing::TempDir tmp;
  {
    auto store = storage::Store::open(tmp.sub("src"));
    REQUIRE(store.ok());
    REQUIRE((*store)->put(storage::PutRequest{"k", "v", 0, false, false, false}).ok());
    REQUIRE((*store)->snapshot(tmp.sub("checkpoint")).ok());
    REQUIRE((*store)->close().ok());
  }
  for (std::string prefix : {"", "checkpoint/"}) {
    write_file(tmp.sub("snap.tar"), tar_dir(tmp.sub("checkpoint"), prefix));
    std::string dir = tmp.sub("restored" + std::to_string(prefix.size()));
    auto r = ctl::restore_snapshot(tmp.sub("snap.tar"), dir);
    REQUIRE(r.ok());
    auto store = storage::Store::open(dir);
    REQUIRE(store.ok());
    storage::RangeRequest get;
    get.key = "k";
    auto got = (*store)->range(get);
    REQUIRE(got.ok());
    REQUIRE(got->kvs.size() == 1);
    CHECK(got->kvs[0].value == "v");
    // An existing data dir is never overwritten.
    CHECK_FALSE(ctl::restore_snapshot(tmp.sub("snap.tar"), dir).ok());
  }
}

TEST_CASE("util::tar_directory round-trips through extract_tar, long names included") {
  testing::TempDir tmp;
  const std::string long_name(150, 'n');
  fs::create_directories(tmp.sub("src/sub/empty"));
  write_file(tmp.sub("src/a"), "alpha");
  write_file(tmp.sub("src/sub/" + long_name), std::string(1000, 'z'));
  std::string tar;
  std::string error;
  REQUIRE(util::tar_directory(tmp.sub("src"), tar, error));
  CHECK(tar.size() % 512 == 0);
  write_file(tmp.sub("t.tar"), tar);
  REQUIRE(ctl::extract_tar(tmp.sub("t.tar"), tmp.sub("out")).ok());
  CHECK(read_file(tmp.sub("out/a")) == "alpha");
  CHECK(read_file(tmp.sub("out/sub/" + long_name)) == std::string(1000, 'z'));
  CHECK(fs::is_directory(tmp.sub("out/sub/empty")));
  std::string again;
  REQUIRE(util::tar_directory(tmp.sub("src"), again, error));
  CHECK(again == tar);  // deterministic
}

TEST_CASE("util::DirectoryTar knows its size first and streams the same bytes in chunks") {
  testing::TempDir tmp;
  fs::create_directories(tmp.sub("src/d"));
  std::string big;
  for (int i = 0; i < 300000; ++i)
    big += static_cast<char>('a' + i % 23);
  write_file(tmp.sub("src/big"), big);
  write_file(tmp.sub("src/d/" + std::string(120, 'l')), "long");
  write_file(tmp.sub("src/empty"), "");
  std::string whole;
  std::string error;
  REQUIRE(util::tar_directory(tmp.sub("src"), whole, error));
  for (std::size_t max : {std::size_t{1}, std::size_t{511}, std::size_t{4096}, std::size_t{100000},
                          std::size_t{1} << 20}) {
    CAPTURE(max);
    auto tar = util::DirectoryTar::open(tmp.sub("src"), error);
    REQUIRE(tar);
    CHECK(tar->size() == whole.size());
    std::string joined;
    std::string chunk;
    while (!tar->done()) {
      REQUIRE(tar->next(max, chunk, error));
      CHECK(chunk.size() <= max);
      CHECK(!chunk.empty());
      joined += chunk;
      CHECK(tar->produced() == joined.size());
    }
    CHECK(joined == whole);
  }
}

TEST_CASE("util::DirectoryTar fails when a file changes after it was measured") {
  testing::TempDir tmp;
  fs::create_directories(tmp.sub("src"));
  write_file(tmp.sub("src/f"), std::string(10000, 'x'));
  std::string error;
  for (std::size_t new_size : {std::size_t{5000}, std::size_t{20000}}) {
    CAPTURE(new_size);
    auto tar = util::DirectoryTar::open(tmp.sub("src"), error);
    REQUIRE(tar);
    write_file(tmp.sub("src/f"), std::string(new_size, 'y'));
    std::string chunk;
    bool ok = true;
    while (ok && !tar->done())
      ok = tar->next(4096, chunk, error);
    CHECK_FALSE(ok);
    CHECK_THAT(error, Catch::Contains("src/f"));
    write_file(tmp.sub("src/f"), std::string(10000, 'x'));
  }
}

TEST_CASE("snapshot status reads a snapshot file: hash and revision and keys and size") {
  testing::TempDir tmp;
  uint32_t hash = 0;
  int64_t revision = 0;
  {
    auto store = storage::Store::open(tmp.sub("src"));
    REQUIRE(store.ok());
    for (int i = 0; i < 7; ++i)
      REQUIRE((*store)->put(storage::PutRequest{"k" + std::to_string(i), "v"}).ok());
    REQUIRE((*store)->put(storage::PutRequest{"k0", "again"}).ok());
    storage::DeleteRangeRequest del;
    del.key = "k6";
    REQUIRE((*store)->delete_range(del).ok());
    revision = (*store)->current_revision();
    auto h = (*store)->hash_kv(revision);
    REQUIRE(h.ok());
    hash = h->hash;
    REQUIRE((*store)->snapshot(tmp.sub("checkpoint")).ok());
    REQUIRE((*store)->close().ok());
  }
  std::string tar;
  std::string error;
  REQUIRE(util::tar_directory(tmp.sub("checkpoint"), tar, error));
  write_file(tmp.sub("snap.db"), tar);
  auto status = ctl::snapshot_status(tmp.sub("snap.db"));
  REQUIRE(status.ok());
  CHECK(status.value().hash == hash);
  CHECK(status.value().revision == revision);
  CHECK(status.value().total_keys == 6);
  CHECK(status.value().total_size == static_cast<int64_t>(tar.size()));
  // Not a snapshot: refused, nothing left behind.
  write_file(tmp.sub("junk"), std::string(4096, 'j'));
  CHECK_FALSE(ctl::snapshot_status(tmp.sub("junk")).ok());
}

TEST_CASE("snapshot status prints etcdctl's columns") {
  CHECK(ctl::format_snapshot_status({0xfe01cf57, 10, 7, 2100000}, ctl::Format::simple) ==
        "fe01cf57, 10, 7, 2.1 MB\n");
  CHECK(ctl::format_snapshot_status({0x1, 3, 2, 24576}, ctl::Format::simple) == "1, 3, 2, 25 kB\n");
  CHECK(ctl::format_snapshot_status({0x1, 3, 2, 7}, ctl::Format::simple) == "1, 3, 2, 7 B\n");
  CHECK(ctl::format_snapshot_status({255, 3, 2, 7}, ctl::Format::json) ==
        "{\"hash\":255,\"revision\":3,\"totalKey\":2,\"totalSize\":7}\n");
}
