#pragma once

// revkvd's log: every line on stderr in one format, chosen by --log-format:
//   json  {"ts":"2026-12-02T10:00:00.123","level":"info","msg":"..."}  (one object per line,
//         the message escaped as a JSON string, so any text stays one parsable line)
//   text  2026-12-02T10:00:00.123 info ...
// gRPC's own log lines (gpr_log) go through the same logger instead of gRPC's plain format.
// The one line that is not a log line is the ready line on stdout (docs/NODE.md).

#include <string>

namespace revkv::apps {

void setup_logging(const std::string& format, const std::string& level);

}  // namespace revkv::apps
