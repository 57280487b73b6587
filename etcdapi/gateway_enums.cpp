#include "etcdapi/gateway_enums.hpp"

namespace revkv::etcdapi::gateway {

std::string go_local_name(const std::string& full_name, const std::string& package) {
  std::string name = full_name.substr(package.empty() ? 0 : package.size() + 1);
  for (char& c : name)
    if (c == '.') c = '_';
  return name;
}

std::string go_enum_type(const google::protobuf::EnumDescriptor& e) {
  const std::string& package = e.file()->package();
  const std::string name = go_local_name(e.full_name(), package);
  return package.empty() ? name : package + "." + name;
}

}  // namespace revkv::etcdapi::gateway
