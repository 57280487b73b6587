#pragma once

// Stored record encodings. kv values are protobuf mvccpb.KeyValue and lease values are
// protobuf leasepb.Lease, byte for byte as etcd writes them (SPEC §1.5), so that HashKV
// over the same history equals a real etcd's. Hand-written: the messages are tiny and a
// protobuf dependency for two of them would cost more than it saves.

#include "storage/types.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace revkv::storage {

std::string encode_key_value(const KeyValue& kv);
void encode_key_value_into(const KeyValue& kv, std::string& out);
// The same message without its key (field 1): the `latest` column's value, whose key is the
// column's key already.
std::string encode_key_value_without_key(const KeyValue& kv);
// The bytes encode_key_value(kv) spends on the key field: what follows them is
// encode_key_value_without_key(kv), so one encoding serves both columns.
size_t encoded_key_field_size(const KeyValue& kv);
// The size of encode_key_value(kv), without encoding it.
size_t encoded_key_value_size(const KeyValue& kv);
// nullopt when the bytes are not a valid KeyValue message. Without `with_value` the value
// is validated but not copied (the index rebuild needs only the metadata).
std::optional<KeyValue> decode_key_value(std::string_view bytes, bool with_value = true);

std::string encode_lease_record(const LeaseRecord& lease);
std::optional<LeaseRecord> decode_lease_record(std::string_view bytes);
// 8-byte big-endian id (two's complement for negative ids).
std::string encode_lease_key(int64_t id);
std::optional<int64_t> decode_lease_key(std::string_view bytes);

}  // namespace revkv::storage
