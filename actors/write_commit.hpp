#pragma once

// Finishing a write transaction from an actor: the staged batch goes to the backend
// actor, and the reply is delivered once the watermark covers it. A transaction that
// changed nothing still waits until everything it read (up to its view revision) is
// durable, so no reply ever reveals a write that could still be lost.

#include "actors/messages.hpp"
#include "storage/write_txn.hpp"

#include <caf/all.hpp>

#include <memory>

namespace revkv::actors {

template <class Self, class T>
void commit_then_deliver(Self* self, const caf::actor& backend, storage::WriteTxn& txn,
                         storage::Result<T> out, caf::response_promise rp) {
  auto deliver = [rp, out = std::move(out)](int64_t) mutable { rp.deliver(std::move(out)); };
  auto on_error = [rp](caf::error& err) mutable { rp.deliver(std::move(err)); };
  if (txn.changes() > 0) {
    auto batch = std::make_shared<storage::WriteBatch>(std::move(txn.batch()));
    self->request(backend, caf::infinite, commit_atom::value, txn.revision(), std::move(batch))
        .then(std::move(deliver), std::move(on_error));
  } else {
    self->request(backend, caf::infinite, wait_atom::value, txn.view_rev())
        .then(std::move(deliver), std::move(on_error));
  }
}

template <class Self, class T>
caf::result<storage::Result<T>> commit_and_reply(Self* self, const caf::actor& backend,
                                                 storage::WriteTxn& txn, storage::Result<T> out) {
  auto rp = self->make_response_promise();
  commit_then_deliver(self, backend, txn, std::move(out), rp);
  return rp;
}

}  // namespace revkv::actors
