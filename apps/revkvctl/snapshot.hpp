#pragma once

// `snapshot save` and `snapshot restore` (docs/REVKVCTL.md "Snapshots").
//
// save: streams Maintenance.Snapshot chunks to FILE.part, checks the total size and the
// SHA-256 the node reports, then renames the file to FILE.
// restore (offline, no node): ASSUMES the snapshot bytes are a POSIX tar (ustar, GNU/pax
// long names accepted) of the directory storage::Store::snapshot() wrote, entries relative
// to it (or inside one top-level folder). Extracts it next to DIR, then
// storage::Store::restore() makes DIR a store from it and proves it opens.

#include "client/client.hpp"

#include <string>

namespace revkv::ctl {

client::Result<protocol::SnapshotResponse> save_snapshot(client::Client& client,
                                                         const std::string& file);
client::Result<client::Ok> restore_snapshot(const std::string& file, const std::string& data_dir);

// `snapshot status FILE` (offline): etcdctl's four numbers for revkvd's snapshot format.
// The file is extracted to a temporary directory and opened as a store there: `hash` is
// the store's HashKV at its newest revision (etcd hashes its bbolt buckets instead),
// `revision` its newest revision, `total_keys` the key revisions it holds (etcd counts
// every bbolt key, meta included), `total_size` the file's size.
struct SnapshotStatus {
  uint32_t hash = 0;
  int64_t revision = 0;
  int64_t total_keys = 0;
  int64_t total_size = 0;
};
client::Result<SnapshotStatus> snapshot_status(const std::string& file);
// Extracts a tar archive into `dir` (created); refuses absolute and ".." paths.
client::Result<client::Ok> extract_tar(const std::string& file, const std::string& dir);

}  // namespace revkv::ctl
