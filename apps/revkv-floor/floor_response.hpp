#pragma once

// The one answer of the floor servers: a RangeResponse of one key with a 256-byte value
// and a full header, as revkvd answers a linearizable get in `revkv-bench --mix get=1`.

#include <string>

namespace revkv::floor {

// The serialized etcdserverpb.RangeResponse.
const std::string& range_response();

}  // namespace revkv::floor
