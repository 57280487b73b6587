#pragma once

// Go's names for what etcd's gateway words its errors with: an enum's Go type, and
// strconv.Quote (fmt's %q).

#include <google/protobuf/descriptor.h>
#include <string>
#include <string_view>

namespace revkv::etcdapi::gateway {

// The Go type of a generated enum: its package, then its name with nesting joined by '_'
// (etcdserverpb.RangeRequest.SortOrder -> etcdserverpb.RangeRequest_SortOrder).
std::string go_enum_type(const google::protobuf::EnumDescriptor& e);

// Go's strconv.Quote: printable runes as they are, the rest escaped (\n, \x01, \u00a0,
// \xff for a byte that is not UTF-8). Printable is Unicode's graphic characters and the
// ASCII space; unassigned code points are taken as printable (no Unicode tables here).
std::string go_quote(std::string_view text);

}  // namespace revkv::etcdapi::gateway
