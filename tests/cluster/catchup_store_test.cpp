// The pieces of catch-up without a cluster (docs/CLUSTER.md "Catch-up from a peer's
// checkpoint"): the transfer's wire format over a socketpair (intact, damaged, cut short,
// unsafe names) and the staged checkpoint's swap into a data directory, including a swap
// resumed after a crash in its second phase.

#include "apps/revkvd/catchup_store.hpp"

#include "apps/revkvd/checkpoint_transfer.hpp"
#include "tests/temp_dir.hpp"
#include "util/unique_fd.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/socket.h>
#include <thread>

using namespace revkv;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Pair {
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    source.reset(fds[0]);
    fetcher.reset(fds[1]);
  }
  util::UniqueFd source, fetcher;
};

apps::TransferLimits quick() {
  apps::TransferLimits limits;
  limits.idle = std::chrono::milliseconds(5000);
  return limits;
}

// The fetcher's side against a source that writes `raw` bytes and closes.
bool receive_raw(const std::string& raw, const fs::path& staging, std::string& error) {
  Pair pair;
  std::thread source([&] {
    std::string ignored;
    apps::read_catchup_request(pair.source.get(), quick(), ignored);
    (void)::send(pair.source.get(), raw.data(), raw.size(), MSG_NOSIGNAL);
    pair.source.reset();
  });
  bool ok = apps::receive_checkpoint(pair.fetcher.get(), staging, quick(), error);
  source.join();
  return ok;
}

}  // namespace

TEST_CASE("catch-up transfer: files arrive intact and a damaged byte is refused",
          "[cluster][catchup]") {
  testing::TempDir dir;
  const fs::path checkpoint = dir.sub("checkpoint");
  fs::create_directory(checkpoint);
  std::string big(200 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 31 % 251);
  write_file(checkpoint / "000012.sst", big);
  write_file(checkpoint / "CURRENT", "MANIFEST-000005\n");
  write_file(checkpoint / "MANIFEST-000005", "manifest bytes");

  for (bool damage : {false, true}) {
    CAPTURE(damage);
    Pair pair;
    auto limits = quick();
    limits.damage = damage;
    std::string sent_error;
    bool sent = false;
    std::thread source([&] {
      std::string error;
      if (!apps::read_catchup_request(pair.source.get(), limits, error)) return;
      sent = apps::send_checkpoint(pair.source.get(), checkpoint, limits, sent_error);
      pair.source.reset();
    });
    const fs::path staging = dir.sub(damage ? "staging-damaged" : "staging");
    std::string error;
    bool received = apps::receive_checkpoint(pair.fetcher.get(), staging, quick(), error);
    pair.fetcher.reset();
    source.join();
    if (!damage) {
      INFO(error);
      REQUIRE(received);
      CHECK(sent);
      CHECK(read_file(staging / "000012.sst") == big);
      CHECK(read_file(staging / "CURRENT") == "MANIFEST-000005\n");
      CHECK(read_file(staging / "MANIFEST-000005") == "manifest bytes");
    } else {
      CHECK_FALSE(received);
      CHECK(error == "checksum mismatch for 000012.sst (" + std::to_string(big.size()) + " bytes)");
    }
  }
}

TEST_CASE("catch-up transfer: a cut, malformed or escaping stream is refused",
          "[cluster][catchup]") {
  testing::TempDir dir;
  std::string error;
  CHECK_FALSE(receive_raw("F a.sst 10\nabc", dir.sub("cut"), error));
  CHECK(error == "the peer closed the connection early");
  CHECK_FALSE(receive_raw("F ../evil 3\nabc", dir.sub("escape"), error));
  CHECK(error == "refused the file name '../evil'");
  CHECK_FALSE(fs::exists(dir.path() / "evil"));
  CHECK_FALSE(receive_raw("hello\n", dir.sub("garbage"), error));
  CHECK(error == "malformed line 'hello'");
  CHECK_FALSE(receive_raw("E 0\n", dir.sub("empty"), error));
  CHECK(error == "the source sent no file");
  CHECK_FALSE(receive_raw("X no space left\n", dir.sub("failed"), error));
  CHECK(error == "the source failed: no space left");
  // A complete file, then the end missing: not a checkpoint.
  CHECK_FALSE(
      receive_raw("F a 3\nabcS ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
                  dir.sub("no-end"), error));
  CHECK(error == "the peer closed the connection early");
  // A request that is not one is refused by the source.
  Pair pair;
  const std::string hello = "GET / HTTP/1.1\n";
  (void)::send(pair.fetcher.get(), hello.data(), hello.size(), MSG_NOSIGNAL);
  CHECK_FALSE(apps::read_catchup_request(pair.source.get(), quick(), error));
  CHECK(error == "not a catch-up request");
}

TEST_CASE("catch-up store: a staged checkpoint replaces the store and nothing else",
          "[cluster][catchup]") {
  testing::TempDir dir;
  const fs::path data = dir.sub("data");
  fs::create_directories(data / "raft");
  write_file(data / "raft" / "metadata1", "raft state");
  write_file(data / "000003.sst", "old store");
  write_file(data / "CURRENT", "old current");
  apps::CatchupPaths paths(data);

  // Nothing staged: nothing happens.
  CHECK_FALSE(apps::install_staged_checkpoint(data));
  CHECK(read_file(data / "CURRENT") == "old current");

  // A partial download (never marked ready) is discarded, the store untouched.
  fs::create_directories(paths.staging);
  write_file(paths.staging / "CURRENT", "half");
  CHECK_FALSE(apps::install_staged_checkpoint(data));
  CHECK_FALSE(fs::exists(paths.root));
  CHECK(read_file(data / "CURRENT") == "old current");

  // A complete one replaces the store's files; raft/ stays.
  fs::create_directories(paths.staging);
  write_file(paths.staging / "000009.sst", "new store");
  write_file(paths.staging / "CURRENT", "new current");
  std::string error;
  REQUIRE(apps::mark_staged(paths, "127.0.0.1:1", 42, error));
  auto installed = apps::install_staged_checkpoint(data);
  REQUIRE(installed);
  CHECK(*installed == "checkpoint from 127.0.0.1:1 for snapshot index 42");
  CHECK(read_file(data / "CURRENT") == "new current");
  CHECK(read_file(data / "000009.sst") == "new store");
  CHECK_FALSE(fs::exists(data / "000003.sst"));
  CHECK(read_file(data / "raft" / "metadata1") == "raft state");
  CHECK_FALSE(fs::exists(paths.root));
}

TEST_CASE("catch-up store: a swap cut short by a crash is finished at the next start",
          "[cluster][catchup]") {
  testing::TempDir dir;
  const fs::path data = dir.sub("data");
  apps::CatchupPaths paths(data);
  // The state a crash in phase 2 leaves: the old store moved out, SWAPPING written, one
  // staged file already moved in, one still staged.
  fs::create_directories(paths.staged);
  fs::create_directories(paths.old);
  write_file(paths.old / "CURRENT", "old current");
  write_file(data / "000009.sst", "new store");
  write_file(paths.staged / "CURRENT", "new current");
  write_file(paths.swapping, "checkpoint from 127.0.0.1:1 for snapshot index 7");
  auto installed = apps::install_staged_checkpoint(data);
  REQUIRE(installed);
  CHECK(read_file(data / "CURRENT") == "new current");
  CHECK(read_file(data / "000009.sst") == "new store");
  CHECK_FALSE(fs::exists(paths.root));
}
