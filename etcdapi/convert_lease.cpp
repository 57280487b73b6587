// etcd's Lease messages <-> protocol/messages.hpp (declared in convert.hpp).
#include "etcdapi/convert.hpp"

namespace revkv::etcdapi {

protocol::LeaseGrantRequest from_proto(const etcdserverpb::LeaseGrantRequest& in) {
  return {in.ttl(), in.id()};
}
protocol::LeaseRevokeRequest from_proto(const etcdserverpb::LeaseRevokeRequest& in) {
  return {in.id()};
}
protocol::LeaseKeepAliveRequest from_proto(const etcdserverpb::LeaseKeepAliveRequest& in) {
  return {in.id()};
}
protocol::LeaseTimeToLiveRequest from_proto(const etcdserverpb::LeaseTimeToLiveRequest& in) {
  return {in.id(), in.keys()};
}
protocol::LeaseLeasesRequest from_proto(const etcdserverpb::LeaseLeasesRequest&) {
  return {};
}

void to_proto(const protocol::LeaseGrantResponse& in, etcdserverpb::LeaseGrantResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_id(in.id);
  out.set_ttl(in.ttl);
}
void to_proto(const protocol::LeaseRevokeResponse& in, etcdserverpb::LeaseRevokeResponse& out) {
  to_proto(in.header, *out.mutable_header());
}
void to_proto(const protocol::LeaseKeepAliveResponse& in,
              etcdserverpb::LeaseKeepAliveResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_id(in.id);
  out.set_ttl(in.ttl);
}
void to_proto(const protocol::LeaseTimeToLiveResponse& in,
              etcdserverpb::LeaseTimeToLiveResponse& out) {
  to_proto(in.header, *out.mutable_header());
  out.set_id(in.id);
  out.set_ttl(in.ttl);
  out.set_grantedttl(in.granted_ttl);
  for (const auto& k : in.keys)
    out.add_keys(k);
}
void to_proto(const protocol::LeaseLeasesResponse& in, etcdserverpb::LeaseLeasesResponse& out) {
  to_proto(in.header, *out.mutable_header());
  for (const auto& l : in.leases)
    out.add_leases()->set_id(l.id);
}

protocol::LeaseGrantResponse from_proto(const etcdserverpb::LeaseGrantResponse& in) {
  return {from_proto(in.header()), in.id(), in.ttl()};
}
protocol::LeaseRevokeResponse from_proto(const etcdserverpb::LeaseRevokeResponse& in) {
  return {from_proto(in.header())};
}
protocol::LeaseKeepAliveResponse from_proto(const etcdserverpb::LeaseKeepAliveResponse& in) {
  return {from_proto(in.header()), in.id(), in.ttl()};
}
protocol::LeaseTimeToLiveResponse from_proto(const etcdserverpb::LeaseTimeToLiveResponse& in) {
  protocol::LeaseTimeToLiveResponse out{
      from_proto(in.header()), in.id(), in.ttl(), in.grantedttl(), {}};
  out.keys.assign(in.keys().begin(), in.keys().end());
  return out;
}
protocol::LeaseLeasesResponse from_proto(const etcdserverpb::LeaseLeasesResponse& in) {
  protocol::LeaseLeasesResponse out{from_proto(in.header()), {}};
  for (const auto& l : in.leases())
    out.leases.push_back({l.id()});
  return out;
}

}  // namespace revkv::etcdapi
