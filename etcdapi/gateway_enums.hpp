#pragma once

// Go's names for what etcd's gateway words its errors with: an enum's Go type, and
// strconv.Quote (fmt's %q).

#include "util/go_quote.hpp"

#include <google/protobuf/descriptor.h>
#include <string>
#include <string_view>

namespace revkv::etcdapi::gateway {

// A generated type's Go name without its package: nesting joined by '_'
// (etcdserverpb.RangeRequest.SortOrder -> RangeRequest_SortOrder).
std::string go_local_name(const std::string& full_name, const std::string& package);

// The Go type of a generated enum: its package, then its name with nesting joined by '_'
// (etcdserverpb.RangeRequest.SortOrder -> etcdserverpb.RangeRequest_SortOrder).
std::string go_enum_type(const google::protobuf::EnumDescriptor& e);

// strconv.Quote (util/go_quote.hpp).
using util::go_quote;

}  // namespace revkv::etcdapi::gateway
