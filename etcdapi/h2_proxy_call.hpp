#pragma once

// A call that revkv's HTTP/2 door (etcdapi/h2_door.hpp) does not serve itself, relayed to
// revkvd's gRPC services in-process: the Watch and LeaseKeepAlive streams, Snapshot, the
// Lease, Maintenance, Cluster and Auth calls, and unknown methods (which gRPC's server
// answers Unimplemented in etcd's words). Every method is relayed as a bidirectional
// stream of raw messages: on the wire a unary call is a stream of one message each way.
//
// The client's metadata goes with the call (its token), its grpc-timeout becomes the
// deadline, and the CN of its connection's certificate goes under kRelayedCnKey for the
// certificate check. Each message of the answer goes to the client's stream; while that
// stream or its connection holds more than the loop's limit unsent, no more is read until
// it drains (a watch whose client does not read then backs up into the watch service's own
// bounds). A request message the service has not taken yet stays held against the
// client's flow-control windows (released once gRPC took it), which bounds them.

#include "etcdapi/h2_live_count.hpp"
#include "etcdapi/h2_loop.hpp"

#include <grpcpp/generic/generic_stub.h>
#include <memory>
#include <optional>
#include <string>

namespace revkv::etcdapi::h2 {

// Opens the relayed call for a stream whose headers are in; the handler it returns feeds it.
// `certificate_cn`: the CN of the connection's verified certificate, if one was recorded.
// `count` counts the call until it ends.
std::unique_ptr<StreamHandler> relay_call(Loop& loop, StreamRef ref, const RequestHead& head,
                                          std::optional<std::string> certificate_cn,
                                          grpc::GenericStub& stub,
                                          std::shared_ptr<LiveCount> count);

}  // namespace revkv::etcdapi::h2
