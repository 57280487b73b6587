#include "actors/node_context.hpp"

#include "util/little_endian.hpp"

namespace revkv::actors {
namespace {

// DO NOT CHANGE: the meta record of a raised NOSPACE alarm. Its value is "1" on a single
// node, the raising member's id (8 bytes, little-endian) in cluster mode.
constexpr std::string_view kNospaceAlarmKey = "alarm_nospace";

}  // namespace

storage::WriteBatch NodeContext::nospace_alarm_record(bool raised) const {
  storage::WriteBatch batch(*backend);
  if (raised) {
    batch.put(storage::Column::meta, kNospaceAlarmKey, "1");
  } else {
    batch.erase(storage::Column::meta, kNospaceAlarmKey);
  }
  return batch;
}

storage::Status NodeContext::set_nospace_alarm(bool raised) {
  auto written = backend->write(nospace_alarm_record(raised), /*sync=*/true);
  if (written.ok()) {
    nospace_alarm_member.store(raised ? member_id : 0);
    nospace_alarm.store(raised);
  }
  return written;
}

void NodeContext::stage_nospace_alarm(storage::WriteBatch& batch, bool raised,
                                      uint64_t member) const {
  if (raised) {
    std::string value;
    util::put_u64_le(value, member);
    batch.put(storage::Column::meta, kNospaceAlarmKey, value);
  } else {
    batch.erase(storage::Column::meta, kNospaceAlarmKey);
  }
}

void NodeContext::publish_nospace_alarm(bool raised, uint64_t member) {
  nospace_alarm_member.store(raised ? member : 0);
  nospace_alarm.store(raised);
}

NodeContext::SpaceVerdict NodeContext::check_space(int64_t cost) {
  if (cost <= 0) return SpaceVerdict::accept;
  if (nospace_alarm.load()) return SpaceVerdict::refuse;
  int64_t quota = options.quota_backend_bytes;
  if (quota <= 0 || db_size.load() + cost < quota) return SpaceVerdict::accept;
  bool was_raised = false;
  // One request raises it (and persists it); the others are refused as with the alarm up.
  if (!nospace_alarm.compare_exchange_strong(was_raised, true)) return SpaceVerdict::refuse;
  return SpaceVerdict::refuse_raised;
}

storage::Result<bool> load_nospace_alarm(const storage::Backend& backend) {
  auto raw = backend.get(storage::Column::meta, kNospaceAlarmKey);
  if (!raw.ok()) return raw.error();
  return raw->has_value();
}

storage::Result<uint64_t> load_nospace_alarm_member(const storage::Backend& backend, uint64_t own) {
  auto raw = backend.get(storage::Column::meta, kNospaceAlarmKey);
  if (!raw.ok()) return raw.error();
  if (!raw->has_value()) return uint64_t{0};
  if ((*raw)->size() == 8) return util::get_u64_le(**raw);
  return own;
}

}  // namespace revkv::actors
