#include "etcdapi/answer_ledger.hpp"

#include <algorithm>

namespace revkv::etcdapi {

namespace {

// Every client connection comes through the client port, which hands gRPC its descriptor:
// gRPC names such a peer "fd:N". The gateway's in-process channel has another name.
bool client_connection(const std::string& peer) {
  return peer.rfind("fd:", 0) == 0;
}

}  // namespace

bool AnswerLedger::admits(const std::string& peer) const {
  if (!client_connection(peer)) return true;
  std::lock_guard lock(mu_);
  auto it = unsent_.find(peer);
  return it == unsent_.end() || it->second <= limit_;
}

void AnswerLedger::add(const std::string& peer, uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard lock(mu_);
  unsent_[peer] += bytes;
}

void AnswerLedger::remove(const std::string& peer, uint64_t bytes) {
  if (bytes == 0) return;
  std::lock_guard lock(mu_);
  auto it = unsent_.find(peer);
  if (it == unsent_.end()) return;
  it->second -= std::min(bytes, it->second);
  if (it->second == 0) unsent_.erase(it);
}

uint64_t AnswerLedger::unsent(const std::string& peer) const {
  std::lock_guard lock(mu_);
  auto it = unsent_.find(peer);
  return it == unsent_.end() ? 0 : it->second;
}

void LedgerReactor::finish(const grpc::Status& status, uint64_t bytes) {
  // Counted before Finish: OnDone may run (and release it) before Finish returns.
  bytes_ = bytes;
  ledger_.add(peer_, bytes_);
  counted_ = ledger_.count_finishing();
  Finish(status);
}

void LedgerReactor::OnDone() {
  ledger_.remove(peer_, bytes_);
  if (counted_) ledger_.counted_done();
  delete this;
}

}  // namespace revkv::etcdapi
