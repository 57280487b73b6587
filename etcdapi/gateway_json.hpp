#pragma once

// The JSON side of the gateway, as etcd's grpc-gateway writes it: proto3 JSON with the
// .proto's own field names, 64-bit integers as strings, bytes as base64, zero values left
// out, strings escaped as Go escapes them (util/json.hpp); gRPC statuses as HTTP statuses
// and error bodies.

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>
#include <string>
#include <string_view>

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
// The first JSON value of `body` into `message`, as etcd's gateway decodes a request (what
// follows that value is ignored); an empty (or all-blank) body is the empty message. The
// error's message says what was wrong in the words of etcd's gateway: Go's syntax errors
// (util/json.hpp), then jsonpb's and encoding/json's (etcdapi/gateway_jsonpb.hpp).
grpc::Status from_json(std::string_view body, google::protobuf::Message& message);

}  // namespace revkv::etcdapi::gateway
