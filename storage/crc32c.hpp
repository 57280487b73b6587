#pragma once

// CRC-32C (Castagnoli), the checksum etcd's HashKV uses. Debian 12 ships no standalone
// crc32c library and RocksDB keeps its own implementation private, hence this table-driven one.

#include <cstdint>
#include <string_view>

namespace revkv::storage {

// Continues a CRC over more bytes: crc32c_extend(crc32c_extend(0, a), b) == crc of a+b.
uint32_t crc32c_extend(uint32_t crc, std::string_view bytes);

}  // namespace revkv::storage
