#include "etcdapi/gateway_json.hpp"

#include <cctype>
#include <cstdio>
#include <google/protobuf/util/json_util.h>

namespace revkv::etcdapi::gateway {

namespace {

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

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
  const auto text = quoted(status.error_message());
  return "{\"error\":" + text + ",\"message\":" + text +
         ",\"code\":" + std::to_string(static_cast<int>(status.error_code())) + "}";
}

std::string stream_error_body(const grpc::Status& status) {
  const int http = http_status(status.error_code());
  return "{\"error\":{\"grpc_code\":" + std::to_string(static_cast<int>(status.error_code())) +
         ",\"http_code\":" + std::to_string(http) +
         ",\"message\":" + quoted(status.error_message()) +
         ",\"http_status\":" + quoted(http_status_text(http)) + "}}";
}

std::string to_json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

grpc::Status from_json(std::string_view json, google::protobuf::Message& message) {
  message.Clear();
  if (blank(json)) return grpc::Status::OK;
  google::protobuf::util::JsonParseOptions options;
  // A client written for a newer etcd may send fields this proto does not have yet.
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (status.ok()) return grpc::Status::OK;
  // protobuf's text ends with a caret drawing under the JSON: keep its first line.
  std::string text(status.message());
  return {grpc::StatusCode::INVALID_ARGUMENT, text.substr(0, text.find('\n'))};
}

std::vector<std::string_view> split_json_objects(std::string_view body) {
  std::vector<std::string_view> objects;
  size_t start = std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth++ == 0) start = i;
    } else if (c == '}' || c == ']') {
      if (depth > 0 && --depth == 0) {
        objects.push_back(body.substr(start, i + 1 - start));
        start = std::string_view::npos;
      }
    } else if (depth == 0 && !std::isspace(static_cast<unsigned char>(c))) {
      // Not an object at all: hand the rest to the decoder to name the error.
      objects.push_back(body.substr(i));
      return objects;
    }
  }
  if (start != std::string_view::npos) objects.push_back(body.substr(start));
  return objects;
}

}  // namespace revkv::etcdapi::gateway
