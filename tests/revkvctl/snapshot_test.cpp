#include "apps/revkvctl/snapshot.hpp"

#include "storage/store.hpp"
#include "tests/temp_dir.hpp"
#include "util/sha256.hpp"
#include "util/tar.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace revkv;
namespace fs = std::filesystem;

namespace {

// The node's tar writer (util/tar.hpp): the archive format `snapshot restore` assumes.
void tar_entry(std::string& out, const std::string& name, char type, const std::string& data) {
  util::tar_append(out, name, type, data);
}

std::string tar_dir(const fs::path& dir, const std::string& prefix) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = prefix + fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      tar_entry(out, rel + "/", '5', "");
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      tar_entry(out, rel, '0', ss.str());
    }
  }
  out.append(1024, '\0');
  return out;
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
  std::string evil;
  tar_entry(evil, "../escape", '0', "x");
  evil.append(1024, '\0');
  write_file(tmp.sub("evil.tar"), evil);
  CHECK_FALSE(ctl::extract_tar(tmp.sub("evil.tar"), tmp.sub("out1")).ok());
  CHECK_FALSE(fs::exists(tmp.path() / "escape"));
  write_file(tmp.sub("junk"), std::string(2048, 'j'));
  CHECK_FALSE(ctl::extract_tar(tmp.sub("junk"), tmp.sub("out2")).ok());
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
  REQUIRE(util::tar_directory(tmp.sub("src"), tar).empty());
  CHECK(tar.size() % 512 == 0);
  write_file(tmp.sub("t.tar"), tar);
  REQUIRE(ctl::extract_tar(tmp.sub("t.tar"), tmp.sub("out")).ok());
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CHECK(read(tmp.sub("out/a")) == "alpha");
  CHECK(read(tmp.sub("out/sub/" + long_name)) == std::string(1000, 'z'));
  CHECK(fs::is_directory(tmp.sub("out/sub/empty")));
  std::string again;
  REQUIRE(util::tar_directory(tmp.sub("src"), again).empty());
  CHECK(again == tar);  // deterministic
}

TEST_CASE("snapshot status: the store's hash, revision and key revisions, the file's size") {
  testing::TempDir tmp;
  uint32_t hash = 0;
  {
    auto store = storage::Store::open(tmp.sub("src"));
    REQUIRE(store.ok());
    REQUIRE((*store)->put(storage::PutRequest{"k", "v1", 0, false, false, false}).ok());
    REQUIRE((*store)->put(storage::PutRequest{"k", "v2", 0, false, false, false}).ok());
    REQUIRE((*store)->put(storage::PutRequest{"j", "v", 0, false, false, false}).ok());
    auto h = (*store)->hash_kv(0);
    REQUIRE(h.ok());
    hash = h->hash;
    REQUIRE((*store)->snapshot(tmp.sub("checkpoint")).ok());
    REQUIRE((*store)->close().ok());
  }
  std::string tar;
  REQUIRE(util::tar_directory(tmp.sub("checkpoint"), tar).empty());
  write_file(tmp.sub("s.snap"), tar);
  auto st = ctl::snapshot_status(tmp.sub("s.snap"));
  REQUIRE(st.ok());
  CHECK(st.value().hash == hash);
  CHECK(st.value().revision == 4);
  CHECK(st.value().total_keys == 3);  // k@2, k@3, j@4
  CHECK(st.value().total_size == static_cast<int64_t>(tar.size()));

  auto missing = ctl::snapshot_status(tmp.sub("none"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message == "stat " + tmp.sub("none") + ": no such file or directory");
}
