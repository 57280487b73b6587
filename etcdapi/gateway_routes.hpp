#pragma once

// The JSON gateway's routes: etcd's HTTP paths (the google.api.http annotations of etcd's
// rpc.proto) and the gRPC method each one calls.

#include <google/protobuf/message.h>
#include <string_view>

namespace revkv::etcdapi::gateway {

enum class CallKind {
  unary,
  // The body's request is sent, the client's side is closed, and every answer is streamed
  // back until the server ends the call (Snapshot, a server stream).
  stream,
  // As `stream`, for a bidirectional call whose body holds any number of requests, one JSON
  // value after another (LeaseKeepAlive): each is sent as Go's gateway decodes them, up to
  // the first that does not decode; a first one that does not fails the call (Unknown).
  requests,
  // Watch: the body's requests are sent and the client's side stays open; the answer
  // streams until the server ends the call or the HTTP client goes away.
  watch,
};

struct Route {
  // "/etcdserverpb.KV/Range"
  const char* method = nullptr;
  // Prototypes of the messages; a null request means the body is not decoded and the
  // empty message is sent (the Auth methods revkvd does not serve: gRPC answers them
  // Unimplemented whatever they carry).
  const google::protobuf::Message* request = nullptr;
  const google::protobuf::Message* response = nullptr;
  CallKind kind = CallKind::unary;
};

// `path` without its "/v3" or "/v3beta" prefix ("/kv/range"); null when unknown.
const Route* find_route(std::string_view path);

}  // namespace revkv::etcdapi::gateway
