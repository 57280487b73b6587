#pragma once

// The JSON side of the gateway, as etcd's grpc-gateway writes it: proto3 JSON with the
// .proto's own field names, 64-bit integers as strings, bytes as base64, zero values left
// out; gRPC statuses as HTTP statuses and error bodies.

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::etcdapi::gateway {

// grpc-gateway's mapping of a gRPC code to the HTTP status of the answer.
int http_status(grpc::StatusCode code);
// The reason phrase Go's net/http gives that status ("Precondition Failed").
std::string_view http_status_text(int status);

// A unary call's error: {"error":"<text>","message":"<text>","code":<gRPC code>}.
std::string error_body(const grpc::Status& status);
// A stream's error once its answer has started: one {"error":{grpc_code, http_code,
// message, http_status}} object.
std::string stream_error_body(const grpc::Status& status);

// `message` as one JSON object. Never fails for the project's messages.
std::string to_json(const google::protobuf::Message& message);
// One JSON object into `message`; an empty (or all-blank) body is the empty message, as
// etcd's gateway takes it. The error's message says what was wrong with the JSON.
grpc::Status from_json(std::string_view json, google::protobuf::Message& message);

// A body that holds several JSON objects one after another (etcd's gateway reads a stream
// of WatchRequests from the body of /v3/watch): each object's text, in order. Braces inside
// strings do not count. An unterminated object comes back as the last element, whole,
// so that decoding it reports the error.
std::vector<std::string_view> split_json_objects(std::string_view body);

}  // namespace revkv::etcdapi::gateway
