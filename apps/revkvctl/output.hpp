#pragma once

// revkvctl's output in etcdctl's formats (docs/REVKVCTL.md): `simple` (the texts of
// etcdctl's simplePrinter), `json` (the response messages with Go's encoding, bytes in
// base64, zero fields left out) and `fields` (fields.hpp). `table` is refused before these
// run for the commands etcdctl prints no table for. Pure functions of the responses, so
// tests check them without a node.

#include "apps/revkvctl/cli.hpp"
#include "apps/revkvctl/go_text.hpp"
#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <string>

namespace revkv::ctl {

template <class T>
using Kv = protocol::KvResponse<T>;

std::string format_put(const Kv<storage::PutResponse>& r, Format f);
// count_only prints the count (simple), which etcdctl reserves for -w fields.
std::string format_get(const Kv<storage::RangeResponse>& r, Format f, bool value_only = false,
                       bool count_only = false);
std::string format_del(const Kv<storage::DeleteRangeResponse>& r, Format f);
std::string format_txn(const Kv<storage::TxnResponse>& r, Format f);
// etcdctl prints the revision it asked for, not the header's.
std::string format_compact(int64_t revision, const Kv<storage::CompactResponse>& r, Format f);
std::string format_defrag(const std::string& endpoint, Format f);
std::string format_alarms(const protocol::AlarmResponse& r, Format f);
std::string format_lease_grant(const protocol::LeaseGrantResponse& r, Format f);
std::string format_lease_revoke(int64_t id, const protocol::LeaseRevokeResponse& r, Format f);
std::string format_keep_alive(const protocol::LeaseKeepAliveResponse& r, Format f);
std::string format_time_to_live(const protocol::LeaseTimeToLiveResponse& r, bool keys, Format f);
std::string format_leases(const protocol::LeaseLeasesResponse& r, Format f);
std::string format_watch(const protocol::WatchResponse& r, Format f);
std::string format_snapshot_saved(const std::string& file);

// "%016x", etcdctl's lease ID format.
std::string lease_hex(int64_t id);

}  // namespace revkv::ctl
