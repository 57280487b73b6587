#pragma once

// Finishing a write transaction from an actor: the staged batch goes to the backend actor.
// Either the reply is delivered once the watermark covers it (commit_then_deliver: the
// lessor's revocations), or it leaves at once and the backend tells the door when the
// watermark has reached its revision (commit_and_notify: every door's writes; the door
// holds the answer until then, actors/request_path.hpp). A transaction that changed
// nothing still waits until everything it read (up to its view revision) is durable, so no
// answer ever reveals a write that could still be lost.

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
  } else if (!txn.batch().empty()) {
    // Records without a revision (a revoked lease's, with no key attached): the backend
    // actor writes and syncs them with its next group, and answers once they are durable
    // and W covers what the transaction read.
    auto batch = std::make_shared<storage::WriteBatch>(std::move(txn.batch()));
    self->request(backend, caf::infinite, write_atom::value, txn.view_rev(), std::move(batch))
        .then(std::move(deliver), std::move(on_error));
  } else {
    self->request(backend, caf::infinite, wait_atom::value, txn.view_rev())
        .then(std::move(deliver), std::move(on_error));
  }
}

// The door's answer carries the revision it waits for (the response's header revision:
// the write's revision, or the view revision of a transaction that changed nothing). Only
// for transactions whose every record takes a revision (commit_then_deliver writes the
// others).
template <class Self>
void commit_and_notify(Self* self, const caf::actor& backend, storage::WriteTxn& txn,
                       const caf::actor& door, int64_t watermark) {
  if (txn.changes() > 0) {
    auto batch = std::make_shared<storage::WriteBatch>(std::move(txn.batch()));
    self->send(backend, commit_atom::value, txn.revision(), std::move(batch), door);
  } else if (txn.view_rev() > watermark && door) {
    self->send(backend, wait_atom::value, txn.view_rev(), door);
  }
}

// The actor that sent the message being handled: the door a write's notice goes to.
template <class Self>
caf::actor sender_of(Self* self) {
  return caf::actor_cast<caf::actor>(self->current_sender());
}

template <class Self, class T>
caf::result<storage::Result<T>> commit_and_reply(Self* self, const caf::actor& backend,
                                                 storage::WriteTxn& txn, storage::Result<T> out) {
  auto rp = self->make_response_promise();
  commit_then_deliver(self, backend, txn, std::move(out), rp);
  return rp;
}

}  // namespace revkv::actors
