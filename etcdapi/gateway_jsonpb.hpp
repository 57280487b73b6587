#pragma once

// A JSON request body read into its protobuf message as etcd 3.4's gateway reads it:
// grpc-gateway hands the body to golang/protobuf 1.3's jsonpb, which walks the message's
// fields and leaves each value to Go's encoding/json. What that takes and refuses, and the
// words it refuses in, are Go's, not protobuf's JSON parser's:
//   - a field by its proto name or its lowerCamelCase JSON name (the latter wins when both
//     are given), the last of repeated names; unknown names ignored; null leaves a field unset;
//   - integers as numbers or as strings whose text, quotes dropped, is a JSON number
//     ("json: cannot unmarshal number 1.5 into Go value of type int64");
//   - bytes as padded standard base64 ("illegal base64 data at input byte 3") or as an
//     array of numbers;
//   - booleans and strings only as themselves ("json: cannot unmarshal string into Go value
//     of type bool");
//   - enums by name (an unknown one: `unknown value "X" for enum etcdserverpb.Y_Z`, the name
//     as its raw text, %q-quoted) or by number (any int32, known or not);
//   - a message from an object or null only ("json: cannot unmarshal array into Go value of
//     type map[string]json.RawMessage"); a oneof's own name is a field that takes only null
//     ("... into Go value of type etcdserverpb.isCompare_TargetUnion");
//   - of a oneof's members given together, jsonpb keeps one at random; here the last declared.
// Messages nest at most 100 deep (protobuf's own bound, which etcd's Go server lacks).

#include <google/protobuf/message.h>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::etcdapi::gateway {

// Fills `message` (cleared first) from `json`, one JSON value that util::json::decode_error
// found whole. nullopt when it decoded; else the error, as etcd's gateway words it.
std::optional<std::string> decode_jsonpb(std::string_view json, google::protobuf::Message& message);

}  // namespace revkv::etcdapi::gateway
