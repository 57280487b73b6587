#pragma once

// `snapshot save` and `snapshot restore` (docs/REVKVCTL.md "Snapshots").
//
// save: streams Maintenance.Snapshot chunks to FILE.part, checks the total size and the
// SHA-256 the node reports, then renames the file to FILE.
// restore (offline, no node): ASSUMES the snapshot bytes are a tar (ustar; GNU and pax
// long names accepted) of the directory storage::Store::snapshot() wrote, entries relative
// to it (or inside one top-level folder). Reads it with libarchive (every header's
// checksum checked), extracts it next to DIR, then storage::Store::restore() makes DIR a
// store from it and proves it opens.

#include "client/client.hpp"

#include <string>

namespace revkv::ctl {

client::Result<protocol::SnapshotResponse> save_snapshot(client::Client& client,
                                                         const std::string& file);
client::Result<client::Ok> restore_snapshot(const std::string& file, const std::string& data_dir);

// `snapshot status FILE` (offline, etcdctl's columns): the archive is read and checked as
// restore does, extracted into a temporary folder that is removed afterwards, and opened.
struct SnapshotStatus {
  uint32_t hash = 0;       // HashKV at `revision`
  int64_t revision = 0;    // the store's current revision
  int64_t total_keys = 0;  // keys at `revision`
  int64_t total_size = 0;  // the file's bytes
};
client::Result<SnapshotStatus> snapshot_status(const std::string& file);
// Printed by format_snapshot_status (endpoint_output.hpp) in etcdctl's four formats.
// Extracts a tar archive into `dir` (created); refuses absolute and ".." paths, entries
// other than files and directories, and damaged archives (bad header checksums, truncation).
client::Result<client::Ok> extract_tar(const std::string& file, const std::string& dir);

}  // namespace revkv::ctl
