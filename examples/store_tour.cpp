// A short tour of the storage engine: write, read an old revision, compact, reopen.
// Runs in a fresh temporary directory and prints each step.

#include "storage/store.hpp"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

namespace storage = revkv::storage;

namespace {

[[noreturn]] void die(const storage::Error& e) {
  std::cerr << "error: " << e.message() << "\n";
  std::exit(1);
}

template <class T>
T check(storage::Result<T> r) {
  if (!r.ok()) die(r.error());
  return std::move(*r);
}

void check(const storage::Status& s) {
  if (!s.ok()) die(s.error());
}

void show(const char* what, const storage::RangeResponse& r) {
  std::cout << what << " -> header revision " << r.revision << ", count " << r.count << "\n";
  for (const auto& kv : r.kvs) {
    std::cout << "    " << kv.key << " = \"" << kv.value << "\" (create " << kv.create_revision
              << ", mod " << kv.mod_revision << ", version " << kv.version << ")\n";
  }
}

storage::RangeRequest get(std::string key, int64_t revision = 0) {
  storage::RangeRequest r;
  r.key = std::move(key);
  r.revision = revision;
  return r;
}

}  // namespace

int main() {
  auto dir = std::filesystem::temp_directory_path() /
             ("revkv-example-" + std::to_string(std::random_device{}()));
  std::cout << "data directory: " << dir.string() << "\n";
  {
    auto store = check(storage::Store::open(dir.string()));
    std::cout << "opened an empty store at revision " << store->current_revision() << "\n";

    for (const char* v : {"v1", "v2", "v3"}) {
      auto put = check(store->put(storage::PutRequest{"greeting", v}));
      std::cout << "put greeting=" << v << " -> revision " << put.revision << "\n";
    }
    show("get greeting", check(store->range(get("greeting"))));
    show("get greeting at revision 2", check(store->range(get("greeting", 2))));

    auto hash = check(store->hash_kv(0));
    std::cout << "hashkv -> " << hash.hash << " at revision " << hash.hash_revision << "\n";

    check(store->compact(3));
    std::cout << "compacted at revision 3\n";
    auto old = store->range(get("greeting", 2));
    std::cout << "get greeting at revision 2 -> " << (old.ok() ? "ok" : old.error().message())
              << "\n";
    check(store->close());
    std::cout << "closed\n";
  }
  {
    auto store = check(storage::Store::open(dir.string()));
    std::cout << "reopened: current revision " << store->current_revision() << ", compact revision "
              << store->compact_revision() << "\n";
    show("get greeting at revision 3", check(store->range(get("greeting", 3))));
    show("get greeting", check(store->range(get("greeting"))));
    check(store->close());
  }
  std::filesystem::remove_all(dir);
  std::cout << "removed " << dir.string() << "\n";
  return 0;
}
