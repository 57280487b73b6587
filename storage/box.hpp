#pragma once

// A heap-allocated value with value semantics: copying a Box copies what it holds.
// Recursive request types (a Txn inside a RequestOp inside a Txn) need one level of
// indirection, and protocol messages must stay copyable.

#include <memory>
#include <utility>

namespace revkv::storage {

template <class T>
class Box {
 public:
  Box() : p_(std::make_unique<T>()) {}
  Box(T value) : p_(std::make_unique<T>(std::move(value))) {}  // NOLINT: implicit by design
  Box(const Box& other) : p_(std::make_unique<T>(*other.p_)) {}
  Box(Box&& other) noexcept : p_(std::make_unique<T>(std::move(*other.p_))) {}
  Box& operator=(const Box& other) {
    *p_ = *other.p_;
    return *this;
  }
  Box& operator=(Box&& other) noexcept {
    *p_ = std::move(*other.p_);
    return *this;
  }
  ~Box() = default;

  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }

  friend bool operator==(const Box& a, const Box& b) { return *a.p_ == *b.p_; }

 private:
  std::unique_ptr<T> p_;  // never null
};

}  // namespace revkv::storage
