#include "etcdapi/gateway_enums.hpp"

namespace revkv::etcdapi::gateway {

std::string go_enum_type(const google::protobuf::EnumDescriptor& e) {
  const std::string& package = e.file()->package();
  std::string name = e.full_name().substr(package.empty() ? 0 : package.size() + 1);
  for (char& c : name)
    if (c == '.') c = '_';
  return package.empty() ? name : package + "." + name;
}

}  // namespace revkv::etcdapi::gateway
