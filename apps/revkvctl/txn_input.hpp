#pragma once

// etcdctl's `txn` input: compares, a blank line, success ops, a blank line, failure ops.
//   mod("key1") > "0"
//   value("key2") = "v"
//
//   put key1 "new value"
//   get key2 --prefix
//
//   del key3

#include "client/socket.hpp"
#include "storage/types.hpp"

#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace revkv::ctl {

// Splits a line like a shell would for etcdctl: "double quoted" (with Go escapes),
// 'single quoted' or bare words.
std::vector<std::string> argify(std::string_view line);

// `target("key") op "value"`; targets ver|version, c|create, m|mod, val|value, lease
// (lease value in hex); ops =, !=, <, >.
client::Result<storage::Compare> parse_compare(std::string_view line);

// `put|get|del ...` with the same flags as the top-level commands.
client::Result<storage::RequestOp> parse_request_op(std::string_view line);

// Reads the three sections; with `prompts` (txn -i) prints etcdctl's prompts before each.
// Input that ends before the failure section's closing blank line: error "EOF".
client::Result<storage::TxnRequest> read_txn(std::istream& in, std::ostream* prompts);

}  // namespace revkv::ctl
