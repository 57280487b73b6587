#include "apps/revkv-floor/floor_response.hpp"

#include "etcdserverpb/rpc.pb.h"

namespace revkv::floor {

const std::string& range_response() {
  static const std::string bytes = [] {
    etcdserverpb::RangeResponse r;
    auto* header = r.mutable_header();
    header->set_cluster_id(0x1000);
    header->set_member_id(0x2000);
    header->set_revision(123456);
    header->set_raft_term(1);
    auto* kv = r.add_kvs();
    kv->set_key("key-0001234");
    kv->set_value(std::string(256, 'v'));
    kv->set_create_revision(1234);
    kv->set_mod_revision(120000);
    kv->set_version(7);
    r.set_count(1);
    return r.SerializeAsString();
  }();
  return bytes;
}

}  // namespace revkv::floor
