#include "actors/node_context.hpp"

namespace revkv::actors {
namespace {

// DO NOT CHANGE: the meta record of a raised NOSPACE alarm.
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
  if (written.ok()) nospace_alarm.store(raised);
  return written;
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

}  // namespace revkv::actors
