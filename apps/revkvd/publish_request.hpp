#pragma once

// The requests a member's catch-up port takes (docs/CLUSTER.md "Catch-up from a peer's
// checkpoint", "Membership"), told apart by their first line: the checkpoint request
// (apps/revkvd/checkpoint_transfer.hpp) and the publish request, by which a follower hands
// the leader its own client addresses to propose through the log:
//
//   member -> leader   "RKVPUBLISH1 <length>\n" then <length> bytes: the encoded
//                      MemberAttributes (actors/member_attributes.hpp), at most 4 KiB
//   leader -> member   "OK\n" once the `member` state change holding them was committed and
//                      applied on the leader (or its log already held them),
//                      or "X <reason>\n"
//
// A request's head (its line, and a publish's payload) must arrive within one deadline in
// all, so a peer trickling bytes holds the port's request thread for a few seconds at most.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace revkv::apps {

inline constexpr std::string_view kPublishRequest = "RKVPUBLISH1";
// Far above what a member's name and four HOST:PORT take; anything larger is refused unread.
inline constexpr std::size_t kMaxPublishPayload = 4096;

struct CatchupPortRequest {
  enum class Kind {
    checkpoint,  // "RKVCATCHUP1": the transfer follows
    publish,     // `payload` holds the encoded attributes
    refused,     // not a request this port takes: `payload` is the reason to answer
  };
  Kind kind = Kind::checkpoint;
  std::string payload;
};

// Reads one request's head from `fd` (blocking or not) within `within`. Nullopt with `error`
// when the peer went away or stalled (nothing to answer); a malformed or oversized request
// is Kind::refused, to be answered with an "X" line before the connection closes.
std::optional<CatchupPortRequest> read_catchup_port_request(int fd,
                                                            std::chrono::milliseconds within,
                                                            std::string& error);

// Answers a publish request: "OK\n" when `refusal` is empty, else "X <refusal>\n" (a line:
// any line break in it is replaced). Best effort, within `within`.
void answer_publish(int fd, const std::string& refusal, std::chrono::milliseconds within);

// The member's side: sends a publish request with `payload` and reads the answer, within
// `within` in all. True when an answer came: `refusal` is then empty for "OK", else the
// leader's reason. False with `error` when none did (closed, stalled, not an answer line).
bool exchange_publish(int fd, std::string_view payload, std::chrono::milliseconds within,
                      std::string& refusal, std::string& error);

}  // namespace revkv::apps
