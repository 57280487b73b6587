#pragma once

// Just enough JSON for etcdctl's `-w json` output: objects and arrays written in order,
// bytes as base64 (Go's encoding/json does that for []byte).

#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::ctl {

std::string base64(std::string_view bytes);
std::string json_string(std::string_view text);

// Appends `"key":value` members; omit_* skip zero values like Go's `omitempty`.
class JsonObject {
 public:
  JsonObject& raw(std::string_view key, std::string_view json);
  JsonObject& text(std::string_view key, std::string_view value);
  JsonObject& bytes(std::string_view key, std::string_view value);
  JsonObject& number(std::string_view key, int64_t value);
  JsonObject& unsigned_number(std::string_view key, uint64_t value);
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& omit_empty_number(std::string_view key, int64_t value);
  JsonObject& omit_empty_bytes(std::string_view key, std::string_view value);
  JsonObject& omit_false(std::string_view key, bool value);
  std::string str() const { return body_ + "}"; }

 private:
  std::string body_ = "{";
};

class JsonArray {
 public:
  JsonArray& raw(std::string_view json);
  std::string str() const { return body_ + "]"; }

 private:
  std::string body_ = "[";
};

}  // namespace revkv::ctl
