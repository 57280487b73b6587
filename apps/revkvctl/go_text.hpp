#pragma once

// The few Go formatting rules etcdctl's output depends on, written out so that revkvctl
// prints the same bytes: fmt's %q (strconv.Quote), time.Duration's String(), strconv's
// parse errors and humanize.Bytes.

#include "util/go_quote.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace revkv::ctl {

// strconv.Quote (util/go_quote.hpp).
using util::go_quote;

// time.Duration(ns).String(): "1.519438ms", "523.4µs", "2.5s", "1m30s", "0s".
std::string go_duration(int64_t nanoseconds);

// strconv.ParseInt's error text for `text`: `strconv.ParseInt: parsing "x": invalid syntax`.
std::string go_parse_int_error(std::string_view text);

// humanize.Bytes (SI units): "20 kB", "1.5 MB".
std::string human_bytes(uint64_t bytes);

}  // namespace revkv::ctl
