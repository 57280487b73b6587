#pragma once

// The RocksDB options a Backend opens with, derived from BackendOptions. Shared with the
// benchmark so that its raw-RocksDB side runs with the backend's options (the `kv` column's;
// the `latest` column's larger blocks are its own, see rocksdb_latest_column_options).
// Includes RocksDB's headers: only for code that talks to RocksDB directly.

#include "storage/backend.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <cassert>

namespace revkv::storage {

inline rocksdb::CompressionType to_rocksdb(Compression c) {
  switch (c) {
    case Compression::none:
      return rocksdb::kNoCompression;
    case Compression::snappy:
      return rocksdb::kSnappyCompression;
    case Compression::lz4:
      return rocksdb::kLZ4Compression;
    case Compression::zstd:
      return rocksdb::kZSTD;
  }
  return rocksdb::kNoCompression;
}

inline rocksdb::DBOptions rocksdb_db_options(const BackendOptions& options) {
  rocksdb::DBOptions db;
  db.create_if_missing = options.create_if_missing;
  // Also for an existing database: one written before a column family was added (the
  // `latest` column) opens with it empty, and recovery fills it.
  db.create_missing_column_families = true;
  db.IncreaseParallelism(2);
  // Write back what the WAL and new table files hold every 1 MiB, in the background, instead
  // of all at once when they are synced. Where the WAL is not synced per write (a cluster
  // member: its Raft log is the durable copy), a memtable switch otherwise synced the whole
  // closed WAL, ~11 MiB, in one burst that held every fsync on the disk — the members' Raft
  // log writes included — for 30-40 ms (docs/BENCHMARKS.md, "The put latency's tail").
  db.bytes_per_sync = 1 << 20;
  db.wal_bytes_per_sync = 1 << 20;
  if (options.env) db.env = options.env.get();
  db.statistics = options.statistics;
  return db;
}

// One call = one block cache; every column family of a database shares the result.
inline rocksdb::ColumnFamilyOptions rocksdb_column_options(const BackendOptions& options) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.cache_index_and_filter_blocks = true;
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.compression = to_rocksdb(options.compression);
  cf.write_buffer_size = options.write_buffer_bytes;
  return cf;
}

// The `latest` column's options: `base` (rocksdb_column_options, with its block-based table
// factory, whose block cache it shares) with larger table blocks. The column is read by scans,
// in key order, so a 100-key range of 256-byte values walks two or three 16 KiB blocks instead
// of eight or nine of 4 KiB, each a step of the index and a block-cache lookup; the `kv`
// column's historical point reads would pay for larger blocks on a cache miss, so it keeps
// RocksDB's 4 KiB (docs/STORAGE.md "Table blocks").
inline constexpr size_t kLatestBlockBytes = 16 << 10;
inline rocksdb::ColumnFamilyOptions rocksdb_latest_column_options(
    const rocksdb::ColumnFamilyOptions& base) {
  rocksdb::ColumnFamilyOptions cf = base;
  const auto* base_table = base.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  assert(base_table != nullptr);  // rocksdb_column_options makes a block-based table factory
  rocksdb::BlockBasedTableOptions table = *base_table;
  table.block_size = kLatestBlockBytes;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

}  // namespace revkv::storage
