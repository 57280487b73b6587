#include "storage/record.hpp"

#include "storage/crc32c.hpp"
#include "storage/revision.hpp"

#include <catch2/catch.hpp>

using namespace revkv::storage;

TEST_CASE("revision keys are 17/18 big-endian bytes ordered like revisions", "[record]") {
  std::string k = encode_revision_key({2, 1});
  REQUIRE(k.size() == kRevisionKeySize);
  CHECK(k == std::string("\0\0\0\0\0\0\0\x02_\0\0\0\0\0\0\0\x01", 17));
  std::string t = encode_revision_key({2, 1}, true);
  REQUIRE(t.size() == kTombstoneKeySize);
  CHECK(t.back() == 't');

  // Byte order equals revision order, across main and sub, tombstone or not.
  CHECK(encode_revision_key({1, 5}) < encode_revision_key({2, 0}));
  CHECK(encode_revision_key({2, 0}, true) < encode_revision_key({2, 1}));
  CHECK(encode_revision_key({255, 0}) < encode_revision_key({256, 0}));

  auto d = decode_revision_key(t);
  REQUIRE(d);
  CHECK(d->rev == Revision{2, 1});
  CHECK(d->tombstone);
  CHECK_FALSE(decode_revision_key("short"));
  CHECK_FALSE(decode_revision_key(std::string(17, 'x')));
  std::string bad_marker = t;
  bad_marker.back() = 'x';
  CHECK_FALSE(decode_revision_key(bad_marker));
}

TEST_CASE("KeyValue encoding is protobuf mvccpb.KeyValue", "[record]") {
  KeyValue kv{"foo", 2, 3, 2, "bar", 0};
  // field 1 "foo", 2:2, 3:3, 4:2, 5 "bar"; lease 0 omitted (proto3).
  CHECK(encode_key_value(kv) == std::string("\x0a\x03"
                                            "foo"
                                            "\x10\x02\x18\x03\x20\x02\x2a\x03"
                                            "bar"));
  KeyValue tomb;
  tomb.key = "k";
  CHECK(encode_key_value(tomb) == std::string("\x0a\x01k"));

  KeyValue big{"k", 300, 1ll << 40, 7, std::string(200, 'v'), -5};
  auto round = decode_key_value(encode_key_value(big));
  REQUIRE(round);
  CHECK(*round == big);
  // Negative lease ids are 10-byte varints, as protobuf int64.
  CHECK(encode_key_value(KeyValue{"k", 0, 0, 0, "", -1}).size() == 3 + 11);
}

TEST_CASE("KeyValue decoding rejects truncated and malformed input", "[record]") {
  std::string good = encode_key_value(KeyValue{"foo", 2, 3, 1, "bar", 9});
  for (size_t n = 1; n < good.size(); ++n) {
    auto r = decode_key_value(good.substr(0, n));
    // A prefix either fails or decodes to something other than the original.
    if (r) CHECK_FALSE(*r == *decode_key_value(good));
  }
  CHECK_FALSE(decode_key_value(std::string("\x0a\xff\xff\xff\xff\x0f", 6)));  // huge length
  CHECK_FALSE(decode_key_value(std::string("\x0b", 1)));                      // wire type 3
  // Unknown fields are skipped.
  auto with_unknown = good + std::string("\x38\x01", 2);
  CHECK(decode_key_value(with_unknown) == decode_key_value(good));
}

TEST_CASE("lease records and keys", "[record]") {
  LeaseRecord l{-7, 30, 12};
  CHECK(decode_lease_record(encode_lease_record(l)) == l);
  CHECK(encode_lease_key(1) == std::string("\0\0\0\0\0\0\0\x01", 8));
  CHECK(encode_lease_key(-1) == std::string(8, '\xff'));
  CHECK(decode_lease_key(encode_lease_key(-123456789)) == -123456789);
  CHECK_FALSE(decode_lease_key("abc"));
}

TEST_CASE("crc32c matches the Castagnoli check value", "[record]") {
  CHECK(crc32c_extend(0, "123456789") == 0xE3069283u);
  CHECK(crc32c_extend(0, "") == 0u);
  // Extending in pieces equals one pass.
  std::string data(1000, 'x');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7);
  CHECK(crc32c_extend(crc32c_extend(0, data.substr(0, 333)), data.substr(333)) ==
        crc32c_extend(0, data));
}
