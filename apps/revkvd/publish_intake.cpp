#include "apps/revkvd/publish_intake.hpp"

#include "actors/state_change.hpp"
#include "cluster/peer_tls.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace revkv::apps {
namespace {

// Names and addresses are shown in member lists and dialed: printable, no spaces, bounded.
bool plain_text(const std::string& s, bool required) {
  if (s.empty()) return !required;
  return s.size() <= 255 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string malformed(const actors::MemberAttributes& a) {
  if (a.id == 0) return "revkv: malformed member attributes (member id 0)";
  if (!plain_text(a.name, false)) return "revkv: malformed member attributes (name)";
  if (!plain_text(a.client, true) || !plain_text(a.grpc, true))
    return "revkv: malformed member attributes (client addresses)";
  if (!plain_text(a.catchup, true)) return "revkv: malformed member attributes (catch-up address)";
  return {};
}

// The host of "http://HOST:PORT" (a configured member's peer URL).
std::string peer_host(const std::string& peer_url) {
  std::string address = peer_url;
  if (auto scheme = address.find("://"); scheme != std::string::npos)
    address = address.substr(scheme + 3);
  return address.substr(0, address.rfind(':'));
}

}  // namespace

std::string take_published_attributes(actors::ClusterLink& link, std::string_view payload,
                                      X509* certificate, bool certificate_required,
                                      const ProposeBounded& propose) {
  if (!link.leader.load()) return "etcdserver: not leader";
  auto attributes = actors::decode_member_attributes(payload);
  if (!attributes) return "revkv: malformed member attributes";
  if (auto why = malformed(*attributes); !why.empty()) return why;
  // Only ever the leader's own gate publishes its attributes: nobody else may redirect
  // what the followers forward to it.
  if (attributes->id == link.member_id) return "revkv: the leader publishes its own attributes";
  std::optional<actors::ClusterLink::Member> member;
  for (const auto& m : link.members())
    if (m.id == attributes->id) member = m;
  if (!member) return "etcdserver: member not found";
  if (certificate_required && certificate == nullptr)
    return "revkv: a publish request needs a verified peer certificate";
  if (certificate != nullptr) {
    // Only a member publishes for its own id: the certificate must be one its peer port
    // could present (docs/SECURITY.md "Peer TLS": it names the member's peer host).
    const auto host = peer_host(member->peer_url);
    if (!cluster::certificate_names_host(certificate, host))
      return "revkv: the peer certificate does not name " + host + ", the peer host of member " +
             std::to_string(attributes->id);
  }
  if (link.attributes_of(attributes->id) == attributes) return {};
  const auto encoded = actors::encode_member_attributes(*attributes);
  auto failed = propose(actors::encode_state_change(
      {link.member_id, link.incarnation, actors::ChangeKind::member, encoded}));
  if (failed) return *failed;
  spdlog::info("cluster: published the client addresses of member {:x} ({}) client={} grpc={}",
               attributes->id, attributes->name, attributes->client, attributes->grpc);
  return {};
}

}  // namespace revkv::apps
