#pragma once

// How the auth state lies in the `auth` column family, laid out like etcd's auth buckets:
//   "enabled"          one byte, 1 or 0
//   "revision"         the auth revision, 8 bytes big-endian
//   "user/" + name     authpb.User (protobuf), password = the bcrypt hash
//   "role/" + name     authpb.Role (protobuf)
// A change writes the records it touches and the new revision in one batch.

#include "auth/state.hpp"
#include "storage/backend.hpp"
#include "storage/error.hpp"

namespace revkv::auth {

// The whole state as stored (an empty column: a fresh state, revision 0).
storage::Result<State> load_state(const storage::Backend& backend);

// Adds to `batch` what turns the stored `before` into `after`: changed and new users and
// roles are written, removed ones erased, the flag and the revision written when changed.
void write_changes(const State& before, const State& after, storage::WriteBatch& batch);

}  // namespace revkv::auth
