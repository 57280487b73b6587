// jemalloc's options for revkvd, read once by jemalloc when the process starts (CMake's
// REVKV_ALLOCATOR=jemalloc, the default, and Bazel's //bazel:jemalloc link it; glibc's
// malloc never reads this symbol). MALLOC_CONF in the environment still overrides them.
//
// oversize_threshold: allocations of 1 MiB or more — a snapshot's chunks, values of up to
// --max-request-bytes, RocksDB's memtable arena blocks and its flush and compaction buffers —
// come from jemalloc's arena for oversize requests, which hands freed pages back to the
// kernel at once instead of keeping them dirty for its 10 s decay (the default threshold is
// 8 MiB). Small allocations, those of the request path, are not affected. While a 256 MiB
// database was snapshotted to a slow reader, the node's VmRSS grew by 51–69 MiB from
// baselines of 82–92 MiB with the default, against the 64 MiB the snapshot test allows; with
// 1 MiB, by 28 MiB from 35 MiB (docs/BENCHMARKS.md "Snapshot memory").
// The name and type jemalloc's header declares (jemalloc/jemalloc.h, je_malloc_conf).
extern "C" const char* malloc_conf;
const char* malloc_conf = "oversize_threshold:1048576";
