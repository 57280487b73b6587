// A cluster member's lessor proposes a lease grant without waiting for it (docs/CLUSTER.md
// "Leases"): on a lessor whose cluster link holds every proposal until the test settles it,
//   - a grant is answered only once its proposal is settled: with the lease when it was
//     applied, with the proposal's error (etcd's words) when it was not;
//   - while it is in flight, the lessor goes on serving: a second grant is proposed beside
//     it (both in the Raft log at once), a grant of the same id is refused, keep-alives and
//     LeaseLeases are answered, none showing the lease yet;
//   - the proposal counters come back to zero, a failed one counted, and the failed grant's id
//     is free again.
// The link's blocking `propose` holds its caller until the test ends: a lessor that used it
// would answer nothing meanwhile, and the test would fail at its first deadline.

#include "actors/cluster_link.hpp"
#include "actors/lessor_actor.hpp"
#include "actors/messages.hpp"
#include "actors/node_context.hpp"
#include "util/clock.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace revkv;
using actors::ClusterLink;

namespace {

using namespace std::chrono_literals;
using GrantResult = storage::Result<protocol::LeaseGrantResponse>;

// The proposals the lessor made, held until the test settles them.
class HeldProposals {
 public:
  void hold(std::function<void(ClusterLink::Proposed)> done) {
    std::lock_guard lock(mu_);
    held_.push_back(std::move(done));
    cv_.notify_all();
  }
  // Blocks the caller until the test ends (a lessor that waits for its proposal).
  void block() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return ended_; });
  }
  bool wait_for_count(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 30s, [&] { return held_.size() >= n; });
  }
  void settle(size_t i, ClusterLink::Proposed outcome) {
    std::function<void(ClusterLink::Proposed)> done;
    {
      std::lock_guard lock(mu_);
      done = held_.at(i);
    }
    done(std::move(outcome));
  }
  void end() {
    std::lock_guard lock(mu_);
    ended_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void(ClusterLink::Proposed)>> held_;
  bool ended_ = false;
};

caf::actor_system_config& configured(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.set("logger.console", caf::atom("none"));
  return cfg;
}

struct LessorOfALeader {
  LessorOfALeader() : sys(configured(cfg)), self(sys) {
    link->member_id = 1;
    link->leader_id.store(1);
    link->leader.store(true);
    link->propose = [this](std::string) -> ClusterLink::Proposed {
      proposals.block();
      return {0, std::string("etcdserver: server stopped")};
    };
    link->propose_then = [this](std::string, std::function<void(ClusterLink::Proposed)> done) {
      proposals.hold(std::move(done));
    };
    ctx->cluster = link;
    lessor = actors::spawn_lessor_actor(sys, ctx, {}, caf::actor{}, caf::actor{}, {}, clock);
  }
  ~LessorOfALeader() {
    proposals.end();
    caf::anon_send_exit(lessor, caf::exit_reason::user_shutdown);
  }

  // A request answered within the deadline, or a failed test.
  template <class Response, class Request>
  storage::Result<Response> ask(Request request) {
    std::optional<storage::Result<Response>> out;
    self->request(lessor, std::chrono::seconds(30), std::move(request))
        .receive([&](storage::Result<Response>& r) { out = std::move(r); },
                 [&](caf::error& e) { FAIL("no answer from the lessor: " << caf::to_string(e)); });
    return std::move(*out);
  }
  // A grant on a thread of its own: answered when the lessor answers it.
  std::future<GrantResult> grant_in_background(int64_t id, int64_t ttl) {
    return std::async(std::launch::async, [this, id, ttl] {
      caf::scoped_actor caller{sys};
      std::optional<GrantResult> out;
      // Bounded: a lessor that never answers fails the test instead of hanging its end
      // (the future's destructor waits for this thread).
      caller->request(lessor, std::chrono::seconds(60), protocol::LeaseGrantRequest{ttl, id})
          .receive([&](GrantResult& r) { out = std::move(r); },
                   [&](caf::error& e) {
                     out = GrantResult{storage::Error{storage::Errc::io_error, caf::to_string(e)}};
                   });
      return std::move(*out);
    });
  }
  std::vector<int64_t> listed() {
    auto leases = ask<protocol::LeaseLeasesResponse>(protocol::LeaseLeasesRequest{});
    REQUIRE(leases.ok());
    std::vector<int64_t> ids;
    for (const auto& l : leases->leases)
      ids.push_back(l.id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  actors::NodeContextPtr ctx = std::make_shared<actors::NodeContext>();
  std::shared_ptr<ClusterLink> link = std::make_shared<ClusterLink>();
  std::shared_ptr<util::ManualClock> clock = std::make_shared<util::ManualClock>();
  HeldProposals proposals;
  caf::actor lessor;
};

}  // namespace

TEST_CASE("a member's lessor serves on while its grants' proposals are in flight",
          "[actors][lease][cluster]") {
  LessorOfALeader m;
  auto first = m.grant_in_background(7, 60);
  REQUIRE(m.proposals.wait_for_count(1));
  // A second grant is proposed beside the first: both entries are in flight at once.
  auto second = m.grant_in_background(8, 60);
  REQUIRE(m.proposals.wait_for_count(2));
  CHECK(m.link->proposals_pending.load() == 2);

  // Meanwhile: the id is taken, the lease does not exist yet.
  auto again = m.ask<protocol::LeaseGrantResponse>(protocol::LeaseGrantRequest{60, 7});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code() == storage::Errc::lease_exists);
  auto kept = m.ask<protocol::LeaseKeepAliveResponse>(protocol::LeaseKeepAliveRequest{7});
  REQUIRE(kept.ok());
  CHECK(kept->ttl == 0);
  CHECK(m.listed().empty());
  CHECK(first.wait_for(0s) == std::future_status::timeout);

  // Applied: the grant is answered with the lease, which now exists.
  m.proposals.settle(0, {12, std::nullopt});
  REQUIRE(first.wait_for(30s) == std::future_status::ready);
  auto granted = first.get();
  REQUIRE(granted.ok());
  CHECK(granted->id == 7);
  CHECK(granted->ttl == 60);
  CHECK(m.listed() == std::vector<int64_t>{7});
  kept = m.ask<protocol::LeaseKeepAliveResponse>(protocol::LeaseKeepAliveRequest{7});
  REQUIRE(kept.ok());
  CHECK(kept->ttl == 60);

  // Not applied (leadership moved): the grant gets the proposal's words, counted as failed.
  m.proposals.settle(1, {0, std::string("etcdserver: leader changed")});
  REQUIRE(second.wait_for(30s) == std::future_status::ready);
  auto refused = second.get();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message() == "etcdserver: leader changed");
  CHECK(m.link->proposals_pending.load() == 0);
  CHECK(m.link->proposals_failed.load() == 1);
  CHECK(m.listed() == std::vector<int64_t>{7});

  // Its id is free again: a new grant of it is proposed.
  auto retried = m.grant_in_background(8, 30);
  REQUIRE(m.proposals.wait_for_count(3));
  m.proposals.settle(2, {13, std::nullopt});
  REQUIRE(retried.wait_for(30s) == std::future_status::ready);
  auto retry = retried.get();
  REQUIRE(retry.ok());
  CHECK(retry->id == 8);
  CHECK(m.listed() == std::vector<int64_t>{7, 8});
}
