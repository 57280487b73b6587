// The linearizability checker (docs/CLUSTER.md "Linearizability checker") on hand-made
// histories: linearizable ones it must accept, and stale reads, lost writes, reads of failed
// writes, CAS and revision anomalies it must reject.

#include "tests/linearizability/checker.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <random>
#include <string>

using namespace revkv::testing::lin;

namespace {

// Operations with times in abstract units.
Operation put(int client, std::string key, std::string value, int64_t from, int64_t to,
              int64_t revision, Outcome outcome = Outcome::ok) {
  Operation op;
  op.client = client;
  op.kind = OpKind::put;
  op.key = std::move(key);
  op.value = std::move(value);
  op.invoke_ns = from;
  op.complete_ns = to;
  op.outcome = outcome;
  op.revision = revision;
  return op;
}

Operation get(int client, std::string key, std::optional<std::string> value, int64_t mod_revision,
              int64_t from, int64_t to, int64_t revision) {
  Operation op;
  op.client = client;
  op.kind = OpKind::get;
  op.key = std::move(key);
  op.invoke_ns = from;
  op.complete_ns = to;
  op.outcome = Outcome::ok;
  op.found = value.has_value();
  op.read_value = value.value_or("");
  op.read_mod_revision = value ? mod_revision : 0;
  op.revision = revision;
  return op;
}

Operation cas(int client, std::string key, std::string expected, std::string value, int64_t from,
              int64_t to, bool succeeded, int64_t revision, Outcome outcome = Outcome::ok) {
  Operation op;
  op.client = client;
  op.kind = OpKind::cas;
  op.key = std::move(key);
  op.cas_on = CasOn::value;
  op.expected_value = std::move(expected);
  op.value = std::move(value);
  op.invoke_ns = from;
  op.complete_ns = to;
  op.outcome = outcome;
  op.succeeded = succeeded;
  op.revision = revision;
  return op;
}

Operation cas_rev(int client, std::string key, int64_t expected, std::string value, int64_t from,
                  int64_t to, bool succeeded, int64_t revision) {
  Operation op = cas(client, std::move(key), "", std::move(value), from, to, succeeded, revision);
  op.cas_on = CasOn::mod_revision;
  op.expected_mod_revision = expected;
  return op;
}

Verdict verdict(const History& h) {
  auto r = check(h);
  INFO(r.explanation);
  return r.verdict;
}

}  // namespace

TEST_CASE("checker: sequential and overlapping histories that are linearizable", "[lin]") {
  // Sequential: every read sees the last write.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), get(2, "k", "a", 2, 2, 3, 2), put(1, "k", "b", 4, 5, 3),
                 get(2, "k", "b", 3, 6, 7, 3)}) == Verdict::linearizable);
  // A read overlapping a write may see either value: two reads overlapping the write and
  // each other may see "new" and "old" in either order of invocation.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(1, "k", "b", 2, 10, 3),
                 get(2, "k", "b", 3, 3, 6, 3), get(3, "k", "a", 2, 4, 7, 2)}) ==
        Verdict::linearizable);
  // A read before any write finds nothing.
  CHECK(verdict({get(1, "k", std::nullopt, 0, 0, 1, 1), put(1, "k", "a", 2, 3, 2)}) ==
        Verdict::linearizable);
  // Keys are independent registers.
  CHECK(verdict({put(1, "x", "a", 0, 1, 2), put(2, "y", "b", 2, 3, 3), get(3, "x", "a", 2, 4, 5, 3),
                 get(3, "y", "b", 3, 6, 7, 3)}) == Verdict::linearizable);
  // A successful CAS and a failed one that read the value before it.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "a", "b", 2, 3, true, 3),
                 cas(3, "k", "a", "c", 4, 5, false, 3), get(1, "k", "b", 3, 6, 7, 3)}) ==
        Verdict::linearizable);
  // CAS on mod_revision: 0 creates a missing key, then the write's revision is expected.
  CHECK(verdict({cas_rev(1, "k", 0, "a", 0, 1, true, 5), cas_rev(2, "k", 5, "b", 2, 3, true, 6),
                 cas_rev(3, "k", 5, "c", 4, 5, false, 6), get(1, "k", "b", 6, 6, 7, 6)}) ==
        Verdict::linearizable);
}

TEST_CASE("checker: stale reads are violations", "[lin]") {
  // The read starts after b was acknowledged but returns a.
  auto r =
      check({put(1, "k", "a", 0, 1, 2), put(1, "k", "b", 2, 3, 3), get(2, "k", "a", 2, 4, 5, 3)});
  CHECK(r.verdict == Verdict::violation);
  CHECK(r.key == "k");
  CHECK(r.explanation.find("get(k)") != std::string::npos);
  // Two sequential reads: new value, then the old one again.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(1, "k", "b", 2, 20, 3),
                 get(2, "k", "b", 3, 3, 4, 3), get(2, "k", "a", 2, 5, 6, 3)}) ==
        Verdict::violation);
}

TEST_CASE("checker: a lost acknowledged write is a violation", "[lin]") {
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), get(2, "k", std::nullopt, 0, 2, 3, 2)}) ==
        Verdict::violation);
  // Acknowledged b, later a read returns the older a.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(2, "k", "b", 2, 3, 3),
                 get(3, "k", "a", 2, 10, 11, 3)}) == Verdict::violation);
}

TEST_CASE("checker: a read of a failed write is a violation, of an unknown one is not", "[lin]") {
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(2, "k", "b", 2, 3, 0, Outcome::failed),
                 get(3, "k", "b", 3, 4, 5, 3)}) == Verdict::violation);
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(2, "k", "b", 2, 3, 0, Outcome::unknown),
                 get(3, "k", "b", 3, 4, 5, 3)}) == Verdict::linearizable);
  // An unknown write may also never happen.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(2, "k", "b", 2, 3, 0, Outcome::unknown),
                 get(3, "k", "a", 2, 4, 5, 2)}) == Verdict::linearizable);
  // But once seen, it cannot be undone: a then b then a again.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), put(2, "k", "b", 2, 3, 0, Outcome::unknown),
                 get(3, "k", "b", 3, 4, 5, 3), get(3, "k", "a", 2, 6, 7, 3)}) ==
        Verdict::violation);
  // An unknown write cannot take effect before it was invoked.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), get(3, "k", "b", 3, 2, 3, 3),
                 put(2, "k", "b", 4, 5, 0, Outcome::unknown)}) == Verdict::violation);
}

TEST_CASE("checker: CAS anomalies are violations", "[lin]") {
  // Two CAS from the same expected value both succeed, one after the other.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "a", "b", 2, 3, true, 3),
                 cas(3, "k", "a", "c", 4, 5, true, 4)}) == Verdict::violation);
  // ... or overlapping: still only one can see "a".
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "a", "b", 2, 6, true, 3),
                 cas(3, "k", "a", "c", 3, 5, true, 4)}) == Verdict::violation);
  // A CAS reports failure although the value matched and nothing else wrote.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "a", "b", 2, 3, false, 2)}) ==
        Verdict::violation);
  // A CAS succeeds on a value the key never held.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "z", "b", 2, 3, true, 3)}) ==
        Verdict::violation);
  // A value compare on a missing key never holds (etcd's rule).
  CHECK(verdict({cas(1, "k", "", "b", 0, 1, true, 2)}) == Verdict::violation);
  // A mod_revision compare that succeeded against a revision the key does not have.
  CHECK(verdict({put(1, "k", "a", 0, 1, 7), cas_rev(2, "k", 6, "b", 2, 3, true, 8)}) ==
        Verdict::violation);
  // A successful CAS whose write is lost.
  CHECK(verdict({put(1, "k", "a", 0, 1, 2), cas(2, "k", "a", "b", 2, 3, true, 3),
                 get(3, "k", "a", 2, 4, 5, 3)}) == Verdict::violation);
}

TEST_CASE("checker: revision anomalies are violations", "[lin]") {
  // A write that starts after another completed has a lower revision (other keys).
  CHECK(verdict({put(1, "x", "a", 0, 1, 10), put(2, "y", "b", 2, 3, 5)}) == Verdict::violation);
  // A read's header revision is below a write completed before it started.
  CHECK(verdict({put(1, "x", "a", 0, 1, 10), get(2, "y", std::nullopt, 0, 2, 3, 9)}) ==
        Verdict::violation);
  // Two writes acknowledged at one revision.
  CHECK(verdict({put(1, "x", "a", 0, 5, 10), put(2, "y", "b", 1, 6, 10)}) == Verdict::violation);
  // A read's value newer than its header.
  CHECK(verdict({put(1, "x", "a", 0, 5, 10), get(2, "x", "a", 10, 1, 6, 9)}) == Verdict::violation);
  // Overlapping writes, so real time orders neither; the read fixes b as the last one, but
  // b's revision is below a's: only the per-key revision order rejects it.
  CHECK(verdict({put(1, "k", "a", 0, 10, 8), put(2, "k", "b", 0, 10, 7),
                 get(3, "k", "b", 7, 11, 12, 8)}) == Verdict::violation);
  // With b's revision above a's the same history is fine.
  CHECK(verdict({put(1, "k", "a", 0, 10, 7), put(2, "k", "b", 0, 10, 8),
                 get(3, "k", "b", 8, 11, 12, 8)}) == Verdict::linearizable);
  // A read that reports the value of a write at another mod_revision than acknowledged.
  CHECK(verdict({put(1, "k", "a", 0, 1, 5), get(2, "k", "a", 4, 2, 3, 5)}) == Verdict::violation);
}

TEST_CASE("checker: a search over its bound reports too long, not a verdict", "[lin]") {
  // Many fully concurrent writes of unknown outcome and reads that pin no order.
  History h;
  for (int i = 0; i < 40; ++i)
    h.push_back(put(i, "k", "v" + std::to_string(i), 0, 0, 0, Outcome::unknown));
  h.push_back(get(99, "k", std::nullopt, 0, 0, 1000, 1));  // forces a search to the end
  h.push_back(get(98, "k", "never-written", 1, 0, 1000, 1));
  CheckLimits limits;
  limits.max_steps_per_key = 1000;
  auto r = check(h, limits);
  CHECK(r.verdict == Verdict::too_long);
  CHECK(r.key == "k");
}

// A register driven by several clients with random overlaps, each operation taking effect
// at a random point inside its interval: always linearizable, and checked quickly.
TEST_CASE("checker: random histories of a real register are linearizable", "[lin]") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    CAPTURE(round);
    struct Pending {
      Operation op;
      int64_t effect;
    };
    std::vector<Pending> pending;
    const int clients = 6;
    std::vector<int64_t> free_at(clients, 0);
    int n = 0;
    for (int i = 0; i < 1500; ++i) {
      int c = static_cast<int>(rng() % clients);
      int64_t from = free_at[c] + static_cast<int64_t>(rng() % 50);
      int64_t to = from + 1 + static_cast<int64_t>(rng() % 200);
      free_at[c] = to + 1;
      Operation op;
      op.client = c;
      op.key = "k" + std::to_string(rng() % 3);
      op.invoke_ns = from;
      op.complete_ns = to;
      op.outcome = rng() % 20 == 0 ? Outcome::unknown : Outcome::ok;
      op.kind = static_cast<OpKind>(rng() % 3);
      op.value = "v" + std::to_string(n++);
      pending.push_back(
          {op, from + static_cast<int64_t>(rng() % static_cast<uint64_t>(to - from))});
    }
    // Apply in effect order (ties by index, both unique per time are fine).
    std::vector<size_t> idx(pending.size());
    for (size_t i = 0; i < idx.size(); ++i)
      idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](size_t a, size_t b) { return pending[a].effect < pending[b].effect; });
    std::map<std::string, std::pair<std::string, int64_t>> store;
    std::map<std::string, std::string> last_seen;  // per key, a value some client read
    int64_t revision = 1;
    History h;
    for (size_t i : idx) {
      Operation op = pending[i].op;
      auto it = store.find(op.key);
      if (op.kind == OpKind::cas) {
        bool by_value = rng() % 2 == 0;
        op.cas_on = by_value ? CasOn::value : CasOn::mod_revision;
        if (it != store.end() && rng() % 2 == 0) {
          op.expected_value = it->second.first;
          op.expected_mod_revision = it->second.second;
        } else {
          op.expected_value = "nope";
          op.expected_mod_revision = 12345678;
        }
        op.succeeded =
            it != store.end() && (by_value ? it->second.first == op.expected_value
                                           : it->second.second == op.expected_mod_revision);
        if (op.succeeded) {
          store[op.key] = {op.value, ++revision};
          op.revision = revision;
        } else {
          op.revision = revision;
        }
      } else if (op.kind == OpKind::put) {
        store[op.key] = {op.value, ++revision};
        op.revision = revision;
      } else {
        op.found = it != store.end();
        if (op.found) {
          op.read_value = it->second.first;
          op.read_mod_revision = it->second.second;
        }
        op.revision = revision;
      }
      h.push_back(op);
    }
    auto r = check(h);
    INFO(r.explanation);
    CHECK(r.verdict == Verdict::linearizable);
    CHECK(r.operations > 1000);

    // The same history with one completed read answered with a value older than a write
    // completed before it started is rejected.
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].kind != OpKind::get || h[i].outcome != Outcome::ok || !h[i].found) continue;
      // A value never written.
      History bad = h;
      bad[i].read_value = "never-written";
      CHECK(check(bad).verdict == Verdict::violation);
      break;
    }
  }
}
