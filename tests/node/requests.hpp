#pragma once

// Request builders shared by the whole-process suites.

#include "storage/types.hpp"

#include <string>
#include <utility>

namespace revkv::testing {

inline storage::RequestOp put_op(std::string key, std::string value) {
  storage::RequestOp op;
  op.op = storage::PutRequest{std::move(key), std::move(value)};
  return op;
}

}  // namespace revkv::testing
