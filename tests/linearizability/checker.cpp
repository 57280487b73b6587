#include "tests/linearizability/checker.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace revkv::testing::lin {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

bool is_write(const Operation& op) {
  return op.kind == OpKind::put || (op.kind == OpKind::cas && op.succeeded);
}

// The register of one key: the value written (an index into the key's values; -1: the key
// does not exist) and its mod_revision (-1: not known, after a write of unknown outcome
// whose revision no read revealed; 0 while the key does not exist).
struct State {
  int32_t value = -1;
  int64_t mod_revision = 0;
  friend bool operator==(const State&, const State&) = default;
};

// One operation of a key's sub-history, its strings interned.
struct KeyOp {
  const Operation* op = nullptr;
  int32_t value = -1;     // put / cas: the value written
  int32_t expected = -1;  // cas on value
  int32_t read = -1;      // get, when found
  int64_t revision = 0;   // a write's revision; 0 when unknown
  bool unknown = false;
};

std::optional<State> write(const State& s, const KeyOp& k) {
  // Writes' revisions increase in the order they take effect.
  if (k.revision > 0 && s.mod_revision >= 0 && k.revision <= s.mod_revision) return std::nullopt;
  return State{k.value, k.revision > 0 ? k.revision : -1};
}

// Whether the compare holds in state `s`; nullopt when it cannot be known (a mod_revision
// compare against a write whose revision is unknown).
std::optional<bool> compare_holds(const State& s, const KeyOp& k) {
  if (k.op->cas_on == CasOn::value) return s.value != -1 && s.value == k.expected;
  if (s.value == -1) return k.op->expected_mod_revision == 0;
  if (s.mod_revision < 0) return std::nullopt;
  return s.mod_revision == k.op->expected_mod_revision;
}

// The sequential specification: the state after `k` from `s`, or nullopt when `k`'s answer
// is impossible in `s`.
std::optional<State> step(const State& s, const KeyOp& k) {
  const Operation& op = *k.op;
  // A read (or a compare that failed) at header revision H is evaluated at a point where
  // nothing newer than H was written.
  auto sees_nothing_newer = [&] { return s.mod_revision < 0 || s.mod_revision <= op.revision; };
  switch (op.kind) {
    case OpKind::get:
      if (!sees_nothing_newer()) return std::nullopt;
      if (!op.found) return s.value == -1 ? std::optional<State>(s) : std::nullopt;
      if (s.value != k.read) return std::nullopt;
      if (s.mod_revision >= 0 && s.mod_revision != op.read_mod_revision) return std::nullopt;
      return State{s.value, op.read_mod_revision};
    case OpKind::put:
      return write(s, k);
    case OpKind::cas: {
      auto holds = compare_holds(s, k);
      if (k.unknown) {
        // Applying it where the compare cannot be known only drops the order in which it is
        // a no-op there; that order is the same as linearizing it at the very end (an
        // unknown operation completes at +infinity), which the search still explores.
        return holds.value_or(true) ? write(s, k) : std::optional<State>(s);
      }
      if (holds.value_or(op.succeeded) != op.succeeded) return std::nullopt;
      if (op.succeeded) return write(s, k);
      if (!sees_nothing_newer()) return std::nullopt;
      return s;
    }
  }
  return std::nullopt;
}

struct Bits {
  std::vector<uint64_t> words;
  explicit Bits(size_t n) : words((n + 63) / 64, 0) {}
  void set(size_t i) { words[i / 64] |= uint64_t{1} << (i % 64); }
  void reset(size_t i) { words[i / 64] &= ~(uint64_t{1} << (i % 64)); }
  friend bool operator==(const Bits&, const Bits&) = default;
};

struct Visited {
  Bits linearized;
  State state;
  friend bool operator==(const Visited&, const Visited&) = default;
};

struct VisitedHash {
  size_t operator()(const Visited& v) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t x) { h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
    for (uint64_t w : v.linearized.words)
      mix(w);
    mix(static_cast<uint64_t>(v.state.value));
    mix(static_cast<uint64_t>(v.state.mod_revision));
    return static_cast<size_t>(h);
  }
};

std::string describe_state(const State& s, const std::vector<std::string>& values) {
  if (s.value == -1) return "the key absent";
  std::string out = "\"" + values[static_cast<size_t>(s.value)] + "\" at mod_revision ";
  return out + (s.mod_revision < 0 ? std::string("(unknown)") : std::to_string(s.mod_revision));
}

// Wing & Gong's search over the events of one key (Porcupine's formulation): a doubly
// linked list of call and return events in time order; linearizing an operation lifts its
// call and return out of the list; reaching a return whose call was not linearized means
// backtracking. `visited` prunes orders that reach a state already explored with the same
// set of operations linearized.
CheckResult check_key(const std::string& key, std::vector<KeyOp>& ops,
                      const std::vector<std::string>& values, uint64_t max_steps) {
  CheckResult result;
  result.key = key;
  const size_t n = ops.size();
  // Events 1..2n; 0 is the head sentinel; -1 ends the list.
  struct Event {
    int64_t time = 0;
    bool call = false;
    size_t op = 0;
    int64_t match = -1;  // a call's return event
    int64_t prev = -1, next = -1;
  };
  std::vector<Event> ev(1);
  for (size_t i = 0; i < n; ++i) {
    const Operation& op = *ops[i].op;
    ev.push_back(Event{op.invoke_ns, true, i});
    ev.push_back(Event{ops[i].unknown ? kNever : op.complete_ns, false, i});
  }
  std::vector<int64_t> order(ev.size() - 1);
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = static_cast<int64_t>(i + 1);
  // Calls before returns at equal times: such operations count as concurrent (lenient).
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (ev[a].time != ev[b].time) return ev[a].time < ev[b].time;
    return ev[a].call && !ev[b].call;
  });
  int64_t prev = 0;
  for (int64_t e : order) {
    ev[prev].next = e;
    ev[e].prev = prev;
    prev = e;
  }
  ev[prev].next = -1;
  for (size_t i = 0; i < n; ++i)
    ev[2 * i + 1].match = static_cast<int64_t>(2 * i + 2);

  auto lift = [&](int64_t e) {
    ev[ev[e].prev].next = ev[e].next;
    ev[ev[e].next].prev = ev[e].prev;  // a call is always followed by its return
    int64_t m = ev[e].match;
    ev[ev[m].prev].next = ev[m].next;
    if (ev[m].next != -1) ev[ev[m].next].prev = ev[m].prev;
  };
  auto unlift = [&](int64_t e) {
    int64_t m = ev[e].match;
    ev[ev[m].prev].next = m;
    if (ev[m].next != -1) ev[ev[m].next].prev = m;
    ev[ev[e].prev].next = e;
    ev[ev[e].next].prev = e;
  };

  std::unordered_set<Visited, VisitedHash> visited;
  Bits linearized(n);
  State state;
  std::vector<std::pair<int64_t, State>> stack;
  size_t deepest = 0;
  std::optional<size_t> stuck_op;
  State stuck_state;
  int64_t e = ev[0].next;
  while (ev[0].next != -1) {
    if (++result.steps > max_steps) {
      result.verdict = Verdict::too_long;
      result.explanation = "key " + key + ": " + std::to_string(n) +
                           " operations, search stopped after " + std::to_string(max_steps) +
                           " steps (" + std::to_string(deepest) + " linearized at most)";
      return result;
    }
    if (ev[e].call) {
      auto next_state = step(state, ops[ev[e].op]);
      if (next_state) {
        linearized.set(ev[e].op);
        if (visited.insert(Visited{linearized, *next_state}).second) {
          stack.emplace_back(e, state);
          state = *next_state;
          lift(e);
          e = ev[0].next;
          continue;
        }
        linearized.reset(ev[e].op);
      }
      e = ev[e].next;
    } else {
      if (stack.size() >= deepest) {
        deepest = stack.size();
        stuck_op = ev[e].op;
        stuck_state = state;
      }
      if (stack.empty()) break;
      auto [top, before] = stack.back();
      stack.pop_back();
      state = before;
      linearized.reset(ev[top].op);
      unlift(top);
      e = ev[top].next;
    }
  }
  if (ev[0].next == -1) return result;
  result.verdict = Verdict::violation;
  std::ostringstream out;
  out << "key " << key << ": no order of its " << n << " operations explains the answers; at most "
      << deepest << " linearized, after which " << describe(*ops[*stuck_op].op)
      << " must take effect but cannot (with " << describe_state(stuck_state, values)
      << " there, nor at any other point open to it)";
  result.explanation = out.str();
  return result;
}

CheckResult violation(const std::string& key, const std::string& why) {
  CheckResult r;
  r.verdict = Verdict::violation;
  r.key = key;
  r.explanation = why;
  return r;
}

// The revision rules across keys (see checker.hpp).
std::optional<CheckResult> check_revisions(const std::vector<const Operation*>& ops) {
  std::map<int64_t, const Operation*> writes;
  std::vector<const Operation*> answered;
  for (const Operation* op : ops) {
    if (op->outcome != Outcome::ok) continue;
    answered.push_back(op);
    if (op->kind == OpKind::get && op->found && op->read_mod_revision > op->revision)
      return violation(op->key,
                       "a read's value is newer than its header revision: " + describe(*op));
    if (!is_write(*op)) continue;
    if (op->revision <= 0)
      return violation(op->key, "a write without a revision: " + describe(*op));
    auto [it, fresh] = writes.emplace(op->revision, op);
    if (!fresh)
      return violation(op->key, "two writes acknowledged at the same revision: " +
                                    describe(*it->second) + " and " + describe(*op));
  }
  std::sort(answered.begin(), answered.end(),
            [](const Operation* a, const Operation* b) { return a->complete_ns < b->complete_ns; });
  // prefix[i]: the answered operation with the highest revision among the first i + 1.
  std::vector<const Operation*> prefix(answered.size());
  for (size_t i = 0; i < answered.size(); ++i)
    prefix[i] =
        i > 0 && prefix[i - 1]->revision >= answered[i]->revision ? prefix[i - 1] : answered[i];
  for (const Operation* b : ops) {
    bool writes_known = b->outcome == Outcome::unknown && b->revision > 0;
    if (b->outcome != Outcome::ok && !writes_known) continue;
    auto first_later =
        std::lower_bound(answered.begin(), answered.end(), b->invoke_ns,
                         [](const Operation* a, int64_t t) { return a->complete_ns < t; });
    if (first_later == answered.begin()) continue;
    const Operation* a = prefix[static_cast<size_t>(first_later - answered.begin()) - 1];
    bool is_new_write = writes_known || is_write(*b);
    if (is_new_write ? b->revision <= a->revision : b->revision < a->revision)
      return violation(b->key, "revisions go back in real time: " + describe(*b) +
                                   " started after " + describe(*a) + " completed");
  }
  return std::nullopt;
}

}  // namespace

std::string describe(const Operation& op) {
  std::ostringstream out;
  out << "client " << op.client << " ";
  switch (op.kind) {
    case OpKind::put:
      out << "put(" << op.key << " = \"" << op.value << "\")";
      break;
    case OpKind::get:
      out << "get(" << op.key << ")";
      break;
    case OpKind::cas:
      out << "cas(" << op.key << ": ";
      if (op.cas_on == CasOn::value)
        out << "value == \"" << op.expected_value << "\"";
      else
        out << "mod_revision == " << op.expected_mod_revision;
      out << " -> \"" << op.value << "\")";
      break;
  }
  switch (op.outcome) {
    case Outcome::failed:
      out << " failed";
      break;
    case Outcome::unknown:
      out << " unknown";
      if (op.revision > 0) out << " (revision " << op.revision << " seen by a read)";
      break;
    case Outcome::ok:
      out << " ok";
      if (op.kind == OpKind::get)
        out << (op.found ? " \"" + op.read_value + "\" mod_revision " +
                               std::to_string(op.read_mod_revision)
                         : std::string(" (absent)"));
      if (op.kind == OpKind::cas) out << (op.succeeded ? " succeeded" : " not succeeded");
      out << " revision " << op.revision;
      break;
  }
  out << " [" << op.invoke_ns / 1000 << "us";
  if (op.outcome != Outcome::unknown) out << " .. " << op.complete_ns / 1000 << "us";
  out << "]";
  return out.str();
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::linearizable:
      return "linearizable";
    case Verdict::violation:
      return "violation";
    case Verdict::too_long:
      return "too long to check";
  }
  return "?";
}

CheckResult check(const History& history, const CheckLimits& limits) {
  // What can matter: answered operations and writes that may have happened. A failed
  // operation had no effect; an unanswered read neither.
  History kept;
  for (const Operation& op : history) {
    if (op.outcome == Outcome::failed) continue;
    if (op.outcome == Outcome::unknown && op.kind == OpKind::get) continue;
    kept.push_back(op);
    if (op.outcome == Outcome::unknown) kept.back().revision = 0;
  }
  // A write of unknown outcome whose value a read returned did happen, at the mod_revision
  // the read saw (values are unique per key).
  std::map<std::pair<std::string, std::string>, int64_t> seen;
  for (const Operation& op : kept)
    if (op.outcome == Outcome::ok && op.kind == OpKind::get && op.found)
      seen.emplace(std::make_pair(op.key, op.read_value), op.read_mod_revision);
  for (Operation& op : kept) {
    if (op.outcome != Outcome::unknown) continue;
    auto it = seen.find({op.key, op.value});
    if (it != seen.end()) op.revision = it->second;
  }

  std::vector<const Operation*> all;
  std::map<std::string, std::vector<const Operation*>> by_key;
  for (const Operation& op : kept) {
    all.push_back(&op);
    by_key[op.key].push_back(&op);
  }
  CheckResult total;
  total.operations = kept.size();
  if (auto bad = check_revisions(all)) {
    bad->operations = kept.size();
    return *bad;
  }
  for (auto& [key, ops] : by_key) {
    std::vector<std::string> values;
    std::unordered_map<std::string, int32_t> ids;
    auto intern = [&](const std::string& v) {
      auto [it, fresh] = ids.emplace(v, static_cast<int32_t>(values.size()));
      if (fresh) values.push_back(v);
      return it->second;
    };
    std::vector<KeyOp> key_ops;
    for (const Operation* op : ops) {
      KeyOp k;
      k.op = op;
      k.unknown = op->outcome == Outcome::unknown;
      if (op->kind != OpKind::get) {
        k.value = intern(op->value);
        k.revision = op->revision;
      }
      if (op->kind == OpKind::cas && op->cas_on == CasOn::value)
        k.expected = intern(op->expected_value);
      if (op->kind == OpKind::get && op->found) k.read = intern(op->read_value);
      key_ops.push_back(k);
    }
    CheckResult r = check_key(key, key_ops, values, limits.max_steps_per_key);
    total.steps += r.steps;
    if (r.verdict != Verdict::linearizable) {
      r.operations = kept.size();
      r.steps = total.steps;
      return r;
    }
  }
  return total;
}

}  // namespace revkv::testing::lin
