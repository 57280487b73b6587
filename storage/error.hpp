#pragma once

// Errors of the storage library. Every fallible call returns a Status or a Result<T>;
// nothing in the library throws across its API or aborts on an I/O error.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace revkv::storage {

// DO NOT RENUMBER: the values travel in protocol error mappings and tests.
enum class Errc : uint8_t {
  ok = 0,
  empty_key,            // etcdserver: key is not provided
  key_not_found,        // etcdserver: key not found
  value_provided,       // etcdserver: value is provided
  lease_provided,       // etcdserver: lease is provided
  too_many_ops,         // etcdserver: too many operations in txn request
  duplicate_key,        // etcdserver: duplicate key given in txn request
  invalid_sort_option,  // etcdserver: invalid sort option
  request_too_large,    // etcdserver: request is too large
  compacted,            // etcdserver: mvcc: required revision has been compacted
  future_revision,      // etcdserver: mvcc: required revision is a future revision
  no_space,             // etcdserver: mvcc: database space exceeded
  lease_not_found,      // etcdserver: requested lease not found
  lease_exists,         // etcdserver: lease already exists
  lease_ttl_too_large,  // etcdserver: too large lease TTL
  invalid_argument,     // a library-level misuse (bad options, bad path)
  io_error,             // RocksDB reported an I/O failure
  corruption,           // stored bytes do not decode
  failed,               // an earlier write failed; the store must be reopened
};

// gRPC status codes as etcd returns them.
enum class GrpcCode : uint8_t {
  ok = 0,
  invalid_argument = 3,
  not_found = 5,
  failed_precondition = 9,
  resource_exhausted = 8,
  out_of_range = 11,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
};

// The etcd message for an API error, or a generic text for library-level codes.
const char* default_message(Errc code);
GrpcCode grpc_code(Errc code);

class Error {
 public:
  explicit Error(Errc code) : code_(code), message_(default_message(code)) {}
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  GrpcCode grpc() const { return grpc_code(code_); }

  friend bool operator==(const Error&, const Error&) = default;

 private:
  Errc code_;
  std::string message_;
};

// Success, or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  Status(Errc code) : error_(Error{code}) {}         // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// A value of T, or an Error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  Result(Errc code) : v_(Error{code}) {}         // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }
  Status status() const { return ok() ? Status{} : Status{error()}; }

 private:
  std::variant<T, Error> v_;
};

}  // namespace revkv::storage

// Propagates a failed Status/Result from the current function.
#define REVKV_TRY(expr)                                            \
  do {                                                             \
    auto&& revkv_try_status_ = (expr);                             \
    if (!revkv_try_status_.ok()) return revkv_try_status_.error(); \
  } while (false)
