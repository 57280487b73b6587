#pragma once

// Maintenance.Snapshot on gRPC: a server stream fed by the request path's snapshot chunks
// (docs/NODE.md "Snapshots": a tar of a RocksDB checkpoint, at most 1 MiB per chunk,
// `remaining_bytes` = bytes still to come after the chunk). As etcd does, the stream
// ends with one more message whose blob is the SHA-256 of everything before it
// (remaining_bytes 0), carrying the response header.

#include "auth/caller.hpp"
#include "etcdapi/doors.hpp"

#include <etcdserverpb/rpc.grpc.pb.h>

namespace revkv::etcdapi {

// `caller`: who asked (Snapshot needs the root role with auth enabled).
grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* start_snapshot(Doors& doors,
                                                                         auth::Caller caller);

}  // namespace revkv::etcdapi
