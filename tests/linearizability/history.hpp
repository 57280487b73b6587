#pragma once

// A recorded history of operations on per-key registers (docs/CLUSTER.md "Linearizability
// checker"): what each client asked, when (a monotonic clock), and what came back. The
// checker (checker.hpp) decides whether some total order of the operations explains every
// answer and respects real time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace revkv::testing::lin {

enum class OpKind : uint8_t {
  put,  // write `value`
  get,  // read the key
  cas,  // a Txn: compare (value or mod_revision), then put `value`; no failure branch
};

// What the client knows of the operation's effect.
enum class Outcome : uint8_t {
  ok,       // answered: the results below hold
  failed,   // definitely not applied (refused before any evaluation)
  unknown,  // may or may not have taken effect (timeout, connection lost, leader changed)
};

enum class CasOn : uint8_t { value, mod_revision };

struct Operation {
  int client = 0;
  OpKind kind = OpKind::get;
  std::string key;
  // put / cas: the value written. The checker needs every written value of a key to be
  // unique, so a read names the write it saw.
  std::string value;
  // cas: what is compared (etcd's rules: a value compare on a missing key is false; a
  // mod_revision compare on a missing key compares 0).
  CasOn cas_on = CasOn::value;
  std::string expected_value;
  int64_t expected_mod_revision = 0;

  // Monotonic nanoseconds; complete_ns is ignored for an unknown outcome (it completes at
  // +infinity: it may take effect at any time after its invocation, or never).
  int64_t invoke_ns = 0;
  int64_t complete_ns = 0;
  Outcome outcome = Outcome::unknown;

  // Results of an ok operation.
  bool succeeded = false;         // cas: the compare held and the put was done
  bool found = false;             // get: the key exists
  std::string read_value;         // get, when found
  int64_t read_mod_revision = 0;  // get, when found
  // The response header's revision; for a put or a successful cas, the write's revision.
  int64_t revision = 0;
};

using History = std::vector<Operation>;

// A human-readable line for an operation (violation reports).
std::string describe(const Operation& op);

inline int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Thread-safe recording: begin() stamps the invocation, end() the completion and lets the
// caller fill in the outcome.
class Recorder {
 public:
  size_t begin(Operation op) {
    std::lock_guard lock(mu_);
    op.invoke_ns = monotonic_ns();
    ops_.push_back(std::move(op));
    return ops_.size() - 1;
  }
  void end(size_t id, const std::function<void(Operation&)>& fill) {
    int64_t now = monotonic_ns();
    std::lock_guard lock(mu_);
    ops_[id].complete_ns = now;
    fill(ops_[id]);
  }
  History history() const {
    std::lock_guard lock(mu_);
    return ops_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return ops_.size();
  }

 private:
  mutable std::mutex mu_;
  History ops_;
};

}  // namespace revkv::testing::lin
