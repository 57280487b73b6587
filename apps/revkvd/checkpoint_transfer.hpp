#pragma once

// The wire format of a catch-up transfer (docs/CLUSTER.md "Catch-up from a peer's
// checkpoint"): a member that is behind the leader's compacted log asks a peer for a RocksDB
// checkpoint of its store and receives its files, each followed by its SHA-256.
//
//   fetcher -> source   "RKVCATCHUP1\n"
//   source  -> fetcher  for each file: "F <name> <size>\n" <size bytes> "S <sha256 hex>\n"
//                       then "E <file count>\n"   (or "X <reason>\n" instead, at any point)
//
// Both ends are blocking descriptors (a TCP socket, or the plaintext end of a TLS tunnel);
// every read and write waits at most `idle` for progress, so a stalled peer ends the transfer
// instead of holding it for ever.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace revkv::apps {

inline constexpr std::string_view kCatchupRequest = "RKVCATCHUP1\n";

struct TransferLimits {
  std::chrono::milliseconds idle{30000};
  // Test hook (REVKV_TEST_DAMAGE_CATCHUP): flip one byte of the first file's data after it
  // was digested, as a damaged link would.
  bool damage = false;
};

// Sends every regular file of `dir` (a checkpoint) over `fd`. False with `error` when the
// peer went away or a file could not be read (an "X" line is sent if possible).
bool send_checkpoint(int fd, const std::filesystem::path& dir, const TransferLimits& limits,
                     std::string& error);

// Tells the fetcher that no checkpoint comes ("X <reason>"); best effort.
void send_failure(int fd, const std::string& reason, const TransferLimits& limits);

// Reads the request line a fetcher sent. False when it is not one.
bool read_catchup_request(int fd, const TransferLimits& limits, std::string& error);

// Sends the request, then receives the files into `staging` (created; must not exist), each
// fsynced and checked against its digest. False with `error` on any mismatch, malformed
// line, unsafe name or early end: the caller discards `staging`.
bool receive_checkpoint(int fd, const std::filesystem::path& staging, const TransferLimits& limits,
                        std::string& error);

}  // namespace revkv::apps
