#include "cluster/members.hpp"

#include "cluster/libraft.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <netinet/in.h>
#include <set>
#include <stdexcept>

namespace revkv::cluster {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string_view strip_scheme(std::string_view address) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (address.substr(0, scheme.size()) == scheme) {
      address.remove_prefix(scheme.size());
      break;
    }
  }
  if (!address.empty() && address.back() == '/') address.remove_suffix(1);
  return address;
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value > 0 && value <= 65535;
}

}  // namespace

std::uint64_t member_id(std::string_view name) {
  std::string text(name);
  std::uint64_t id = raft_digest(text.c_str(), 0);
  return id == 0 ? 1 : id;
}

std::uint64_t joined_member_id(std::string_view address) {
  return member_id("revkv-joined-member " + std::string(address));
}

std::string parse_peer_url(std::string_view url) {
  std::string address(strip_scheme(trim(url)));
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 ||
      !valid_port(std::string_view(address).substr(colon + 1)))
    throw std::invalid_argument("peer URL '" + std::string(url) + "' has no valid HOST:PORT");
  std::string host = address.substr(0, colon);
  in_addr parsed{};
  if (inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
    throw std::invalid_argument("peer URL '" + std::string(url) + "' has host '" + host +
                                "', which is not an IPv4 address (libraft's transport does not "
                                "resolve host names or take IPv6)");
  }
  return address;
}

namespace {

// Go's url.Parse and net.SplitHostPort: "[v6]:port" or "host:port" with exactly one colon,
// the port digits (or empty), no blank anywhere.
bool splits_host_port(std::string_view authority) {
  if (authority.find_first_of(" \t\r\n") != std::string_view::npos) return false;
  const auto port = authority.substr(
      authority.rfind(':') == std::string_view::npos ? authority.size() : authority.rfind(':') + 1);
  if (port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    auto rest = authority.substr(close + 1);
    return !rest.empty() && rest.front() == ':' &&
           rest.find_first_of("[]:", 1) == std::string_view::npos &&
           authority.find('[', 1) == std::string_view::npos;
  }
  auto colon = authority.find(':');
  return colon != std::string_view::npos &&
         authority.find(':', colon + 1) == std::string_view::npos &&
         authority.find_first_of("[]") == std::string_view::npos;
}

bool etcd_url_valid(std::string_view url) {
  url = trim(url);
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  std::string scheme(url.substr(0, sep));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https" && scheme != "unix" && scheme != "unixs") return false;
  auto rest = url.substr(sep + 3);
  auto end = rest.find_first_of("/?#");
  if (end != std::string_view::npos && rest[end] == '/') return false;  // a path
  auto authority = rest.substr(0, end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);  // user information
  return splits_host_port(authority);
}

}  // namespace

bool etcd_member_urls_valid(const std::vector<std::string>& urls) {
  if (urls.empty()) return false;
  return std::all_of(urls.begin(), urls.end(),
                     [](const std::string& u) { return etcd_url_valid(u); });
}

std::vector<Member> parse_initial_cluster(std::string_view text) {
  std::vector<Member> members;
  std::set<std::string> names, addresses;
  std::set<std::uint64_t> ids;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw std::invalid_argument("initial cluster entry '" + std::string(entry) +
                                  "' is not NAME=HOST:PORT");
    }
    Member m;
    m.name = std::string(trim(entry.substr(0, eq)));
    m.address = std::string(strip_scheme(trim(entry.substr(eq + 1))));
    auto colon = m.address.rfind(':');
    if (colon == std::string::npos || colon == 0 ||
        !valid_port(std::string_view(m.address).substr(colon + 1))) {
      throw std::invalid_argument("initial cluster member '" + m.name +
                                  "' has no valid HOST:PORT ('" + m.address + "')");
    }
    // libraft 0.15's TCP transport parses peer addresses with uv_ip4_addr and never
    // resolves names: a member given by host name (or IPv6) would silently never be reached.
    std::string host = m.address.substr(0, colon);
    in_addr parsed{};
    if (inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
      throw std::invalid_argument("initial cluster member '" + m.name + "' has host '" + host +
                                  "', which is not an IPv4 address (libraft's transport does "
                                  "not resolve host names or take IPv6)");
    }
    m.id = member_id(m.name);
    if (!names.insert(m.name).second) {
      throw std::invalid_argument("initial cluster names member '" + m.name + "' twice");
    }
    if (!addresses.insert(m.address).second) {
      throw std::invalid_argument("initial cluster names address " + m.address + " twice");
    }
    if (!ids.insert(m.id).second) {
      throw std::invalid_argument("initial cluster member names '" + m.name +
                                  "' collide in their ids");
    }
    members.push_back(std::move(m));
  }
  if (members.empty()) throw std::invalid_argument("initial cluster is empty");
  return members;
}

}  // namespace revkv::cluster
