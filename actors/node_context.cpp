#include "actors/node_context.hpp"

namespace revkv::actors {
namespace {

// DO NOT CHANGE: the meta record of a raised NOSPACE alarm.
constexpr std::string_view kNospaceAlarmKey = "alarm_nospace";

}  // namespace

storage::Status NodeContext::set_nospace_alarm(bool raised) {
  storage::WriteBatch batch(*backend);
  if (raised) {
    batch.put(storage::Column::meta, kNospaceAlarmKey, "1");
  } else {
    batch.erase(storage::Column::meta, kNospaceAlarmKey);
  }
  auto written = backend->write(batch, /*sync=*/true);
  if (written.ok()) nospace_alarm.store(raised);
  return written;
}

bool NodeContext::refuse_for_space(int64_t cost) {
  if (cost <= 0) return false;
  if (nospace_alarm.load()) return true;
  int64_t quota = options.quota_backend_bytes;
  if (quota <= 0 || db_size.load() + cost < quota) return false;
  auto status = set_nospace_alarm(true);
  (void)status;  // the refusal stands even if the alarm could not be persisted
  return true;
}

storage::Result<bool> load_nospace_alarm(const storage::Backend& backend) {
  auto raw = backend.get(storage::Column::meta, kNospaceAlarmKey);
  if (!raw.ok()) return raw.error();
  return raw->has_value();
}

}  // namespace revkv::actors
