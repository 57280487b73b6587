#include "apps/revkvd/logging.hpp"

#include "util/json.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <grpc/support/log.h>
#include <memory>

namespace revkv::apps {

namespace {

// %*: the message as the body of a JSON string, escaped as everywhere else in the project
// (util/json.hpp: Go's escapes).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    // The project's one JSON writer; the pattern has the quotes.
    const std::string quoted =
        util::json::quote(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

spdlog::level::level_enum from_grpc(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      return spdlog::level::debug;
    case GPR_LOG_SEVERITY_INFO:
      return spdlog::level::info;
    case GPR_LOG_SEVERITY_ERROR:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// gRPC's log function: same logger, same format; the source location as gRPC gives it.
void grpc_to_spdlog(gpr_log_func_args* args) {
  spdlog::log(from_grpc(args->severity), "grpc: {} ({}:{})", args->message, args->file, args->line);
}

}  // namespace

void setup_logging(const std::string& format, const std::string& level) {
  auto logger = spdlog::stderr_color_mt("revkvd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (format == "json") {
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","msg":"%*"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
  }
  spdlog::set_formatter(std::move(formatter));
  // gRPC's verbosity stays its own (GRPC_VERBOSITY, errors only by default).
  gpr_set_log_function(grpc_to_spdlog);
}

}  // namespace revkv::apps
