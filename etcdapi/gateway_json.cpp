#include "etcdapi/gateway_json.hpp"

#include "etcdapi/gateway_jsonpb.hpp"
#include "util/json.hpp"

#include <cctype>
#include <google/protobuf/util/json_util.h>

namespace revkv::etcdapi::gateway {

namespace {

bool blank(std::string_view text) {
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

int http_status(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 408;
    case grpc::StatusCode::UNKNOWN:
      return 500;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    // etcd 3.4's grpc-gateway (v1) answers FailedPrecondition with 412, not 400.
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 412;
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::INTERNAL:
      return 500;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DATA_LOSS:
      return 500;
    default:
      return 500;
  }
}

std::string_view http_status_text(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Internal Server Error";
  }
}

std::string error_body(const grpc::Status& status) {
  return util::json::dump({{"error", status.error_message()},
                           {"message", status.error_message()},
                           {"code", static_cast<int>(status.error_code())}});
}

std::string stream_error_body(const grpc::Status& status) {
  const int http = http_status(status.error_code());
  return util::json::dump({{"error",
                            {{"grpc_code", static_cast<int>(status.error_code())},
                             {"http_code", http},
                             {"message", status.error_message()},
                             {"http_status", http_status_text(http)}}}});
}

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  // protobuf writes the proto3 mapping etcd's gateway writes; its string escapes are not
  // Go's: the text goes through the project's one JSON writer.
  if (auto document = util::json::parse(out)) return util::json::dump(*document);
  return out;
}

grpc::Status from_json(std::string_view body, google::protobuf::Message& message) {
  message.Clear();
  // etcd's gateway decodes the first JSON value of the body (Go's json.Decoder) and ignores
  // what follows it; an empty body is the empty message.
  const auto length = util::json::first_value_length(body);
  const std::string_view json = body.substr(0, length.value_or(body.size()));
  if (blank(json)) return grpc::Status::OK;
  // jsonpb takes a body of `null` as the empty message, as it takes a null field.
  if (const auto start = json.find_first_not_of(" \t\r\n");
      json.substr(start, json.find_last_not_of(" \t\r\n") + 1 - start) == "null")
    return grpc::Status::OK;
  // Go's decoder's words, for the bytes as they came.
  if (auto bad = util::json::decode_error(json)) return {grpc::StatusCode::INVALID_ARGUMENT, *bad};
  // Then jsonpb's walk of the message (etcdapi/gateway_jsonpb.hpp).
  if (auto bad = decode_jsonpb(json, message)) return {grpc::StatusCode::INVALID_ARGUMENT, *bad};
  return grpc::Status::OK;
}

}  // namespace revkv::etcdapi::gateway
