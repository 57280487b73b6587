#include "apps/revkv-bench/grpc_load.hpp"

#include "apps/revkv-bench/grpc_auth.hpp"
#include "apps/revkv-bench/grpc_channels.hpp"
#include "apps/revkv-bench/workload.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <etcdserverpb/rpc.grpc.pb.h>
#include <grpcpp/client_context.h>
#include <grpcpp/completion_queue.h>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace revkv::bench {
namespace {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

// A call that gets no answer in this time fails its client: a stuck node ends the run.
constexpr auto kCallDeadline = std::chrono::seconds(30);

// What the clients of one run share: the stubs and the end of the run.
struct Run {
  explicit Run(const Options& options) : o(options) {}

  const Options& o;
  std::vector<std::unique_ptr<pb::KV::Stub>> kv;
  std::vector<std::unique_ptr<pb::Lease::Stub>> lease;
  std::vector<std::unique_ptr<ChannelToken>> tokens;  // one per channel with --user, else none
  Clock::time_point stop;
  std::atomic<int64_t>* sequence = nullptr;  // preload: the next key to put
  PutCounts* puts = nullptr;
};

// One completion queue and the thread that drains it: every answer to its clients is taken
// there, and each client's next call is sent from there. The load generator shares the
// machine with the server it measures, so it should cost as little per call as it can: the
// thread that waits for an answer is the one that sends the next call, without waking
// another thread (with one lane, the default, no hand-off between threads at all).
struct Lane {
  grpc::CompletionQueue queue;
  // This lane's clients not finished yet: set before its thread starts, then only that
  // thread touches it.
  int running = 0;
  bool answered = false;  // took at least one answer (Report::grpc_threads)
};

// One closed-loop client: one call in flight; its completion (on its lane's thread)
// records it and issues the next. Its calls never overlap, so its state needs no lock.
// Keep-alives go on one LeaseKeepAlive stream of the client's, opened by its first one (as
// etcd's clients keep one stream per client): each is a write then a read, and the stream
// is cancelled and finished when the client ends.
class UnaryClient {
 public:
  // What the client's operation in flight is: a call, or a step of its keep-alive stream.
  enum class Step {
    call,
    stream_opened,
    keepalive_written,
    keepalive_read,
    stream_failed,
    stream_writes_done,
    stream_closed
  };

  UnaryClient(Run& run, Lane& lane, int index)
      : run_(run),
        lane_(lane),
        kv_(*run.kv[static_cast<std::size_t>(index) % run.kv.size()]),
        lease_(*run.lease[static_cast<std::size_t>(index) % run.lease.size()]),
        token_(run.tokens.empty()
                   ? nullptr
                   : run.tokens[static_cast<std::size_t>(index) % run.tokens.size()].get()),
        work_(run.o, run.o.seed * 1000003 + static_cast<uint64_t>(index)),
        list_(run.o) {}

  void start() { issue(); }
  const Report& report() const { return report_; }

  // The lane's thread, for this client's operation that completed (`ok`: gRPC's word for
  // a stream's step). The status is copied out: the next call resets the member.
  void on_answer(bool ok) {
    switch (step_) {
      case Step::call:
        break;
      case Step::stream_opened:
        if (!ok) return end_stream(Step::stream_failed);
        return write_keepalive();
      case Step::keepalive_written:
        if (!ok) return end_stream(Step::stream_failed);
        step_ = Step::keepalive_read;
        return stream_->Read(&keepalive_answer_, this);
      case Step::keepalive_read:
        if (!ok) return end_stream(Step::stream_failed);
        step_ = Step::call;
        if (keepalive_answer_.ttl() <= 0) {
          // The lease is gone: etcd answers TTL 0, which the run counts as an error.
          return complete(grpc::Status(grpc::StatusCode::NOT_FOUND, "lease not found"));
        }
        return complete(grpc::Status());
      case Step::stream_failed:
        // The stream's own end: its status (a broken stream is opened again by the next);
        // one that ended OK still left this keep-alive unanswered.
        stream_.reset();
        step_ = Step::call;
        if (status_.ok())
          status_ = grpc::Status(grpc::StatusCode::UNKNOWN, "keep-alive stream ended");
        break;
      case Step::stream_writes_done:
        step_ = Step::stream_closed;
        return stream_->Finish(&status_, this);
      case Step::stream_closed:
        stream_.reset();
        step_ = Step::call;
        return finish();
    }
    const grpc::Status status = status_;
    complete(status);
  }

 private:
  void issue() {
    if (run_.sequence != nullptr) {
      op_ = Op::put;
      key_ = run_.sequence->fetch_add(1);
      if (key_ >= run_.o.keys) return finish();
    } else {
      if (Clock::now() >= run_.stop) return finish();
      // A LIST in progress takes the client's next call.
      op_ = list_.active() ? Op::list : work_.next_op();
      key_ = work_.next_key();
      if (op_ == Op::list && !list_.active()) list_.start();
    }
    send();
  }

  // The keep-alive stream ends after a failed step (its Finish completes as
  // stream_failed), or as the client ends (closed by the client, as etcd's clients close
  // it: WritesDone, then Finish).
  void end_stream(Step step) {
    step_ = step;
    if (step == Step::stream_closed) {
      step_ = Step::stream_writes_done;
      return stream_->WritesDone(this);
    }
    stream_->Finish(&status_, this);
  }

  void write_keepalive() {
    keepalive_.set_id(work_.some_lease());
    step_ = Step::keepalive_written;
    started_ = Clock::now();  // the stream's opening is not the keep-alive's latency
    stream_->Write(keepalive_, this);
  }

  // Sends the chosen call (again, after a login).
  void send() {
    if (op_ == Op::keepalive) {
      if (stream_) return write_keepalive();
      stream_context_ = std::make_unique<grpc::ClientContext>();
      // A stuck node ends the run here too: the stream's deadline is the run's end and
      // the calls' deadline after it.
      stream_context_->set_deadline(
          std::chrono::system_clock::now() +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::max(run_.stop - Clock::now(), Clock::duration::zero()) + kCallDeadline));
      if (token_ != nullptr) {
        sent_token_ = token_->current();
        stream_context_->AddMetadata("token", sent_token_);
      }
      step_ = Step::stream_opened;
      stream_ = lease_.AsyncLeaseKeepAlive(stream_context_.get(), &lane_.queue, this);
      return;
    }
    // The previous call's context is done with: its call completed (the queue gave back
    // its Finish), and the response reader lives in the call's arena.
    context_ = std::make_unique<grpc::ClientContext>();
    context_->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    if (token_ != nullptr) {
      sent_token_ = token_->current();
      context_->AddMetadata("token", sent_token_);
    }
    status_ = grpc::Status();
    started_ = Clock::now();
    switch (op_) {
      case Op::put:
        put_.set_key(key_of(key_));
        put_.set_value(work_.put_value());
        kv_.AsyncPut(context_.get(), put_, &lane_.queue)->Finish(&put_answer_, &status_, this);
        return;
      case Op::get:
        range_.Clear();
        range_.set_key(key_of(key_));
        send_range();
        return;
      case Op::range:
        range_.set_key(key_of(key_));
        range_.set_range_end(key_of(key_ + run_.o.range_size));
        range_.set_limit(run_.o.range_size);
        range_.set_revision(0);
        send_range();
        return;
      case Op::list:
        range_.set_key(list_.page_start());
        range_.set_range_end(list_.page_end());
        range_.set_limit(list_.page_limit());
        range_.set_revision(list_.page_revision());
        send_range();
        return;
      case Op::txn: {
        // Compare-and-set shape, as over MessagePack: if the key exists overwrite it, else
        // read it.
        txn_.Clear();
        auto* compare = txn_.add_compare();
        compare->set_key(key_of(key_));
        compare->set_target(pb::Compare::VERSION);
        compare->set_result(pb::Compare::GREATER);
        compare->set_version(0);
        auto* put = txn_.add_success()->mutable_request_put();
        put->set_key(key_of(key_));
        put->set_value(work_.put_value());
        txn_.add_failure()->mutable_request_range()->set_key(key_of(key_));
        kv_.AsyncTxn(context_.get(), txn_, &lane_.queue)->Finish(&txn_answer_, &status_, this);
        return;
      }
      case Op::grant:
      case Op::keepalive:  // sent above
        grant_.set_ttl(3600);
        grant_.set_id(work_.grant_lease());
        lease_.AsyncLeaseGrant(context_.get(), grant_, &lane_.queue)
            ->Finish(&grant_answer_, &status_, this);
        return;
    }
  }

  void send_range() {
    kv_.AsyncRange(context_.get(), range_, &lane_.queue)->Finish(&range_answer_, &status_, this);
  }

  void complete(const grpc::Status& status) {
    auto& stats = report_.ops[static_cast<std::size_t>(op_)];
    if (status.ok()) {
      stats.latency.record(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started_).count()));
      if (op_ == Op::put && run_.puts != nullptr)
        (*run_.puts)[static_cast<std::size_t>(key_)].fetch_add(1, std::memory_order_relaxed);
      if (op_ == Op::list) {
        for (const auto& kv : range_answer_.kvs())
          list_.key(kv.key());
        if (list_.end_page(range_answer_.more(), range_answer_.header().revision()))
          report_.lists.record(list_);
      }
    } else if (token_ != nullptr && is_invalid_token(status.error_message()) &&
               token_->refresh(sent_token_)) {
      // The token expired (or the node restarted): logged in again, the same call again.
      return send();
    } else {
      list_.abandon();  // a LIST with a failed page is not counted
      ++stats.errors;
      if (report_.first_error.empty()) report_.first_error = describe(status);
      // No node to talk to (or a preload that cannot complete): this client is done.
      const auto code = status.error_code();
      if (run_.sequence != nullptr || code == grpc::StatusCode::UNAVAILABLE ||
          code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::CANCELLED) {
        report_.failed_connections = 1;
        return finish();
      }
    }
    issue();
  }

  // The last thing a client does: its keep-alive stream (if it has one) is cancelled and
  // finished first, so nothing of it is in flight any more.
  void finish() {
    if (stream_) return end_stream(Step::stream_closed);
    --lane_.running;
  }

  Run& run_;
  Lane& lane_;
  pb::KV::Stub& kv_;
  pb::Lease::Stub& lease_;
  ChannelToken* token_;
  std::string sent_token_;
  Workload work_;
  ListCursor list_;
  Report report_;
  std::unique_ptr<grpc::ClientContext> context_;
  grpc::Status status_;
  Op op_ = Op::put;
  int64_t key_ = 0;
  Clock::time_point started_;
  pb::PutRequest put_;
  pb::PutResponse put_answer_;
  pb::RangeRequest range_;
  pb::RangeResponse range_answer_;
  pb::TxnRequest txn_;
  pb::TxnResponse txn_answer_;
  pb::LeaseGrantRequest grant_;
  pb::LeaseGrantResponse grant_answer_;
  Step step_ = Step::call;  // of the keep-alive stream, once opened
  std::unique_ptr<grpc::ClientContext> stream_context_;
  std::unique_ptr<
      grpc::ClientAsyncReaderWriter<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>>
      stream_;
  pb::LeaseKeepAliveRequest keepalive_;
  pb::LeaseKeepAliveResponse keepalive_answer_;
};

// Runs `clients` clients over the options' channels until each has finished.
Report drive(Run& run, int clients) {
  Report total;
  auto channels = connect_channels(run.o.grpc, std::min(run.o.conns, clients),
                                   {run.o.cacert, run.o.cert, run.o.key});
  if (!channels.error.empty()) {
    total.failed_connections = static_cast<uint64_t>(clients);
    total.first_error = channels.error;
    return total;
  }
  for (const auto& channel : channels.channels) {
    run.kv.push_back(pb::KV::NewStub(channel));
    run.lease.push_back(pb::Lease::NewStub(channel));
    if (const auto user = parse_user(run.o.user)) {
      run.tokens.push_back(std::make_unique<ChannelToken>(channel, *user));
      if (auto error = run.tokens.back()->login(); !error.empty()) {
        total.failed_connections = static_cast<uint64_t>(clients);
        total.first_error = error;
        return total;
      }
    }
  }
  std::vector<Lane> lanes(static_cast<std::size_t>(std::clamp(run.o.grpc_threads, 1, clients)));
  std::vector<std::unique_ptr<UnaryClient>> all;
  for (int i = 0; i < clients; ++i) {
    auto& lane = lanes[static_cast<std::size_t>(i) % lanes.size()];
    ++lane.running;
    all.push_back(std::make_unique<UnaryClient>(run, lane, i));
  }
  auto start = Clock::now();
  run.stop = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(run.o.duration_s));
  {
    std::vector<std::jthread> threads;
    for (std::size_t l = 0; l < lanes.size(); ++l)
      threads.emplace_back([&, l] {
        auto& lane = lanes[l];
        for (std::size_t i = l; i < all.size(); i += lanes.size())
          all[i]->start();
        void* tag = nullptr;
        bool ok = false;
        // A finished client has no call in flight, so with none running the queue is
        // empty; shut down, it then says so.
        while (lane.running > 0 && lane.queue.Next(&tag, &ok)) {
          lane.answered = true;
          static_cast<UnaryClient*>(tag)->on_answer(ok);
        }
        lane.queue.Shutdown();
        while (lane.queue.Next(&tag, &ok)) {
        }
      });
  }
  for (const auto& client : all)
    total.merge(client->report());
  total.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  total.grpc_threads = static_cast<int>(
      std::count_if(lanes.begin(), lanes.end(), [](const Lane& lane) { return lane.answered; }));
  return total;
}

// Clients a preload keeps busy: the node group-commits their puts together.
constexpr int kPreloadClients = 64;

}  // namespace

Report run_grpc(const Options& o, PutCounts* puts) {
  Run run(o);
  run.puts = puts;
  return drive(run, o.clients);
}

PreloadResult preload_grpc(const Options& o) {
  Run run(o);
  std::atomic<int64_t> next{0};
  run.sequence = &next;
  Report r;
  {
    // Progress once a second while the clients work: the keys they have taken so far (a
    // client takes its next key when its previous put is answered).
    const auto started = std::chrono::steady_clock::now();
    std::mutex mutex;
    std::condition_variable_any tick;
    std::jthread progress([&](std::stop_token stop) {
      std::unique_lock lock(mutex);
      while (!tick.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; })) {
        if (stop.stop_requested()) return;
        const int64_t taken = std::min(next.load(), o.keys);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::fprintf(stderr, "preload: %lld/%lld keys, %.0f puts/s\n",
                     static_cast<long long>(taken), static_cast<long long>(o.keys),
                     static_cast<double>(taken) / seconds);
      }
    });
    r = drive(run, std::max(o.clients, kPreloadClients));
  }
  PreloadResult result;
  result.keys = static_cast<int64_t>(r.ops[static_cast<std::size_t>(Op::put)].latency.count());
  result.seconds = r.elapsed_s;
  std::fprintf(stderr, "preload: %lld keys in %.1f s (%.0f puts/s)\n",
               static_cast<long long>(result.keys), r.elapsed_s,
               r.elapsed_s > 0 ? static_cast<double>(result.keys) / r.elapsed_s : 0.0);
  if (!r.first_error.empty()) {
    result.error = r.first_error;
  } else if (result.keys != o.keys) {
    result.error = "preload put " + std::to_string(result.keys) + " keys";
  }
  return result;
}

}  // namespace revkv::bench
