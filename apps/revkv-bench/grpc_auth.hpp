#pragma once

// revkv-bench --user NAME:PASSWORD in gRPC mode: etcd's simple-token login, as etcdctl
// --user does it. Each channel (one HTTP/2 connection) authenticates once before the load;
// every call then carries the token in its `token` metadata. A call refused with etcd's
// "invalid auth token" (the token expired, or the node restarted) makes its client log in
// again on that channel and retry the call, uncounted.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace revkv::bench {

// "name:password" split at the first ':' (as etcdctl); nullopt without one or without a name.
struct UserPassword {
  std::string name, password;
};
std::optional<UserPassword> parse_user(const std::string& text);

// The token of one channel. Thread-safe: the channel's clients may be driven by several
// threads.
class ChannelToken {
 public:
  ChannelToken(std::shared_ptr<grpc::Channel> channel, UserPassword user);

  // Authenticates (again); "" on success, else why not.
  std::string login();
  // Adds the current token to a call's metadata.
  void attach(grpc::ClientContext& context) const;
  // After a call refused "invalid auth token" with the token `attach` gave it: logs in
  // again unless another client did already. Whether a token is there to retry with.
  bool refresh(const std::string& refused);
  std::string current() const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  UserPassword user_;
  std::mutex login_mutex_;  // one login at a time
  mutable std::mutex mutex_;
  std::string token_;
};

// etcd's message for a token that names no one.
bool is_invalid_token(const std::string& message);

}  // namespace revkv::bench
