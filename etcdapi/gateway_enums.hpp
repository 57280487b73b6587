#pragma once

// etcd's gateway (golang/protobuf's jsonpb) refuses an enum name it does not know, with
// "unknown value %q for enum etcdserverpb.X_Y" — where the name is the JSON string's raw
// text between its quotes (jsonpb does not unescape it) written by Go's %q. protobuf's own
// parser, told to skip unknown fields as etcd does, skips unknown enum names too; this
// finds them first and words the error as etcd does.

#include <google/protobuf/descriptor.h>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::etcdapi::gateway {

// The error for the first unknown enum name in `json` (one JSON value already known to
// parse), read as `message`; nullopt when every enum name is known.
std::optional<std::string> unknown_enum_name(std::string_view json,
                                             const google::protobuf::Descriptor& message);

// Go's strconv.Quote: printable runes as they are, the rest escaped (\n, \x01, \u00a0,
// \xff for a byte that is not UTF-8). Printable is Unicode's graphic characters and the
// ASCII space; unassigned code points are taken as printable (no Unicode tables here).
std::string go_quote(std::string_view text);

}  // namespace revkv::etcdapi::gateway
