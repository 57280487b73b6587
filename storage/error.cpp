#include "storage/error.hpp"

namespace revkv::storage {

const char* default_message(Errc code) {
  switch (code) {
    case Errc::ok:
      return "ok";
    case Errc::empty_key:
      return "etcdserver: key is not provided";
    case Errc::key_not_found:
      return "etcdserver: key not found";
    case Errc::value_provided:
      return "etcdserver: value is provided";
    case Errc::lease_provided:
      return "etcdserver: lease is provided";
    case Errc::too_many_ops:
      return "etcdserver: too many operations in txn request";
    case Errc::duplicate_key:
      return "etcdserver: duplicate key given in txn request";
    case Errc::invalid_sort_option:
      return "etcdserver: invalid sort option";
    case Errc::request_too_large:
      return "etcdserver: request is too large";
    case Errc::compacted:
      return "etcdserver: mvcc: required revision has been compacted";
    case Errc::future_revision:
      return "etcdserver: mvcc: required revision is a future revision";
    case Errc::no_space:
      return "etcdserver: mvcc: database space exceeded";
    case Errc::lease_not_found:
      return "etcdserver: requested lease not found";
    case Errc::lease_exists:
      return "etcdserver: lease already exists";
    case Errc::lease_ttl_too_large:
      return "etcdserver: too large lease TTL";
    case Errc::invalid_argument:
      return "revkv: invalid argument";
    case Errc::io_error:
      return "revkv: storage I/O error";
    case Errc::corruption:
      return "revkv: storage corruption";
    case Errc::failed:
      return "revkv: store failed after a write error; reopen it";
  }
  return "revkv: unknown error";
}

GrpcCode grpc_code(Errc code) {
  switch (code) {
    case Errc::ok:
      return GrpcCode::ok;
    case Errc::empty_key:
    case Errc::key_not_found:
    case Errc::value_provided:
    case Errc::lease_provided:
    case Errc::too_many_ops:
    case Errc::duplicate_key:
    case Errc::invalid_sort_option:
    case Errc::request_too_large:
    case Errc::invalid_argument:
      return GrpcCode::invalid_argument;
    case Errc::compacted:
    case Errc::future_revision:
    case Errc::lease_ttl_too_large:
      return GrpcCode::out_of_range;
    case Errc::no_space:
      return GrpcCode::resource_exhausted;
    case Errc::lease_not_found:
      return GrpcCode::not_found;
    case Errc::lease_exists:
      return GrpcCode::failed_precondition;
    case Errc::io_error:
    case Errc::failed:
      return GrpcCode::unavailable;
    case Errc::corruption:
      return GrpcCode::data_loss;
  }
  return GrpcCode::internal;
}

}  // namespace revkv::storage
