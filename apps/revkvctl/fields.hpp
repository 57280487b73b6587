#pragma once

// etcdctl's `-w fields`: one `"Name" : value` line per field, Go's fmt rules (%q strings,
// %v numbers and booleans), the header's four fields first (ctlv3 fieldsPrinter).

#include "protocol/messages.hpp"
#include "storage/types.hpp"

#include <string>

namespace revkv::ctl {

std::string fields_header(const protocol::ResponseHeader& h);
std::string fields_put(const protocol::ResponseHeader& h, const storage::PutResponse& r);
std::string fields_get(const protocol::ResponseHeader& h, const storage::RangeResponse& r);
std::string fields_del(const protocol::ResponseHeader& h, const storage::DeleteRangeResponse& r);
std::string fields_txn(const protocol::ResponseHeader& h, const storage::TxnResponse& r);
std::string fields_watch(const protocol::WatchResponse& r);
std::string fields_lease(const protocol::ResponseHeader& h, int64_t id, int64_t ttl);
std::string fields_time_to_live(const protocol::LeaseTimeToLiveResponse& r);
std::string fields_leases(const protocol::LeaseLeasesResponse& r);
std::string fields_alarms(const protocol::AlarmResponse& r);

}  // namespace revkv::ctl
