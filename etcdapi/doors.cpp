#include "etcdapi/doors.hpp"

#include <caf/all.hpp>

namespace revkv::etcdapi {

void Doors::submit_to(const caf::actor& door, CallPtr call) {
  caf::anon_send(door, grpc_call_atom::value, std::move(call));
}

}  // namespace revkv::etcdapi
