#pragma once

// The lease-record steps (Feature::lease_records) of a target that only has the wire's
// Lease.* methods: existence, attached keys and the stored records, derived from
// LeaseTimeToLive and LeaseLeases. Shared by the TCP and the actor-harness targets.

#include "tests/scenarios/scenario_target.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace revkv::testing {

class WireLeaseRecords : public ScenarioTarget {
 public:
  // An unknown lease reports TTL -1 (SPEC §8.7).
  bool lease_exists(int64_t id) override { return time_to_live(id, false).ttl != -1; }
  std::vector<std::string> lease_keys(int64_t id) override {
    auto keys = time_to_live(id, true).keys;
    std::sort(keys.begin(), keys.end());
    return keys;
  }
  // The records as stored: id and granted TTL; no checkpoint is ever written (remaining 0).
  std::vector<storage::LeaseRecord> leases() override {
    std::vector<storage::LeaseRecord> out;
    for (const auto& l : lease_leases().leases)
      out.push_back(storage::LeaseRecord{l.id, time_to_live(l.id, false).granted_ttl, 0});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
  }

 protected:
  // Lease.LeaseTimeToLive and Lease.LeaseLeases; a failure fails the test.
  virtual protocol::LeaseTimeToLiveResponse time_to_live(int64_t id, bool keys) = 0;
  virtual protocol::LeaseLeasesResponse lease_leases() = 0;
};

}  // namespace revkv::testing
