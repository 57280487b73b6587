#pragma once

// A POSIX tar (ustar) writer: the node streams its snapshot as a tar of a storage
// checkpoint directory, the format `revkvctl snapshot restore` extracts
// (apps/revkvctl/snapshot.cpp, docs/REVKVCTL.md "Snapshots").

#include <string>
#include <string_view>

namespace revkv::util {

// Appends one entry (header, data, padding to 512 bytes) to `out`. type '0': regular file,
// '5': directory. A name longer than 100 bytes gets a GNU 'L' long-name entry first.
void tar_append(std::string& out, std::string_view name, char type, std::string_view data);

// Appends the end-of-archive marker (two zero blocks).
void tar_finish(std::string& out);

// Tars the contents of `dir` (entries relative to it, in name order, directories with a
// trailing '/'), end marker included. Files other than regular files and directories are
// refused. Empty on success, else what went wrong.
std::string tar_directory(const std::string& dir, std::string& out);

}  // namespace revkv::util
