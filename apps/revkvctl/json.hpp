#pragma once

// revkvctl's names for the project's JSON layer (util/json.hpp): etcdctl's `-w json` is
// Go's encoding/json, bytes as base64.

#include "util/json.hpp"

#include <string>
#include <string_view>

namespace revkv::ctl {

using util::json::base64;

inline std::string json_string(std::string_view text) {
  return util::json::quote(text);
}

}  // namespace revkv::ctl
