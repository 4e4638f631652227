// The bounded CBOR decoder (issue 17): a declared length larger than the bytes left is
// rejected before anything is allocated, and the decoded document never takes more than
// kCborMemoryFactor x body + kCborMemorySlack bytes, measured here by a counting allocator.
#include "api/cbor.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace cinesis {
namespace {

namespace json = boost::json;

// Counts every byte allocated through it (frees are not subtracted: a monotonic resource,
// as the request pipeline uses, keeps them too).
class CountingResource : public json::memory_resource {
 public:
  std::size_t allocated = 0;

 private:
  void* do_allocate(std::size_t n, std::size_t align) override {
    allocated += n;
    return ::operator new(n, std::align_val_t(align));
  }
  void do_deallocate(void* p, std::size_t, std::size_t align) override {
    ::operator delete(p, std::align_val_t(align));
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override {
    return this == &other;
  }
};

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

Result<json::value> Decode(const std::string& body, CountingResource& mr) {
  return api::CborToJson(body, json::storage_ptr(&mr));
}

TEST(CborDecoder, DeclaredLengthsBeyondTheBodyAreRejectedBeforeAllocating) {
  const std::string bodies[] = {
      Bytes({0x9a, 0x08, 0x00, 0x00, 0x00}),  // array of 2^27 elements (the body)
      Bytes({0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),  // array of 2^63
      Bytes({0xba, 0x80, 0x00, 0x00, 0x00}),                          // map of 2^31 entries
      Bytes({0x5a, 0x80, 0x00, 0x00, 0x00}),                          // 2 GiB byte string
      Bytes({0x7a, 0x80, 0x00, 0x00, 0x00}),                          // 2 GiB text string
      Bytes({0x5f, 0x5a, 0x80, 0x00, 0x00, 0x00, 0xff}),              // ... as a chunk
      Bytes({0xa1, 0x7a, 0x80, 0x00, 0x00, 0x00, 0x00}),              // ... as a map key
      Bytes({0x82, 0x00}),                                            // 2 elements, 1 given
      Bytes({0xa2, 0x60, 0x00, 0x60}),                                // 2 entries, 1.5 given
  };
  for (const auto& body : bodies) {
    CountingResource mr;
    EXPECT_FALSE(Decode(body, mr).ok()) << body.size();
    EXPECT_LT(mr.allocated, 1024u) << body.size();
  }
}

TEST(CborDecoder, DecodedMemoryStaysWithinItsBudgetOfTheBodySize) {
  constexpr int kN = 200'000;
  std::vector<std::string> shapes;
  // A definite array of kN one-byte integers.
  shapes.push_back(Bytes({0x9a, 0, (kN >> 16) & 0xff, (kN >> 8) & 0xff, kN & 0xff}) +
                   std::string(kN, '\0'));
  // A definite map of kN/2 entries "":0 (duplicate keys) and of distinct one-byte keys.
  shapes.push_back(
      Bytes({0xba, 0, ((kN / 2) >> 16) & 0xff, ((kN / 2) >> 8) & 0xff, (kN / 2) & 0xff}));
  for (int i = 0; i < kN / 2; ++i) shapes.back() += Bytes({0x60, 0x00});
  // An indefinite map of 2-byte keys with null values.
  shapes.push_back(Bytes({0xbf}));
  for (int i = 0; i < kN / 4; ++i) shapes.back() += Bytes({0x62, i & 0x7f, (i >> 7) & 0x7f, 0xf6});
  shapes.back() += Bytes({0xff});
  // An array of empty maps, of empty arrays, of nested single-element arrays.
  shapes.push_back(Bytes({0x9a, 0, (kN >> 16) & 0xff, (kN >> 8) & 0xff, kN & 0xff}) +
                   std::string(kN, '\xa0'));
  shapes.push_back(
      Bytes({0x9a, 0, ((kN / 2) >> 16) & 0xff, ((kN / 2) >> 8) & 0xff, (kN / 2) & 0xff}));
  for (int i = 0; i < kN / 2; ++i) shapes.back() += Bytes({0x9f, 0xff});
  shapes.push_back(std::string(60, '\x81') + '\0');
  // Byte strings of one byte each (base64 makes four).
  shapes.push_back(
      Bytes({0x9a, 0, ((kN / 2) >> 16) & 0xff, ((kN / 2) >> 8) & 0xff, (kN / 2) & 0xff}));
  for (int i = 0; i < kN / 2; ++i) shapes.back() += Bytes({0x41, 0x00});
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    CountingResource mr;
    auto r = Decode(shapes[i], mr);
    const std::size_t budget = shapes[i].size() * api::kCborMemoryFactor + api::kCborMemorySlack;
    EXPECT_LE(mr.allocated, budget) << "shape " << i << " decoded: " << r.ok();
  }
}

TEST(CborDecoder, DocumentsOverTheBudgetAreRejected) {
  // An indefinite array of one-byte items is charged for its growth: 48 bytes per byte.
  std::string body = "\x9f" + std::string(100'000, '\0') + "\xff";
  CountingResource mr;
  EXPECT_FALSE(Decode(body, mr).ok());
  EXPECT_LE(mr.allocated, body.size() * api::kCborMemoryFactor + api::kCborMemorySlack);
  // The same items with a definite length fit.
  body = Bytes({0x9a, 0, 0x01, 0x86, 0xa0}) + std::string(100'000, '\0');
  ASSERT_TRUE(Decode(body, mr).ok());
}

// What the Java SDKs send (Jackson writes indefinite-length maps and arrays): 500 records
// with one-byte data and keys, the smallest PutRecords, fits the budget.
TEST(CborDecoder, IndefiniteLengthPutRecordsFitsTheBudget) {
  std::string body = "\xbf\x6aStreamName\x61s\x67Records\x9f";
  for (int i = 0; i < 500; ++i)
    body += Bytes({0xbf, 0x64, 'D', 'a', 't', 'a', 0x41, 'x'}) + "\x6cPartitionKey\x61k\xff";
  body += "\xff\xff";
  CountingResource mr;
  auto r = Decode(body, mr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at("Records").as_array().size(), 500U);
}

TEST(CborDecoder, DecodesEveryKindTheSdksSend) {
  // {"a": -1, "b": [1.5 (half), 2.5 (float), 3.25 (double)], "c": h'00ff' in two chunks,
  //  "d": "x" "y" (indefinite text), "e": true, "f": null, "g": 1(1500), "h": 2^64-1,
  //  "i": 1000000}
  const std::string body = Bytes(
      {0xbf, 0x61, 'a',  0x20, 0x61, 'b',  0x83, 0xf9, 0x3e, 0x00, 0xfa, 0x40, 0x20, 0x00, 0x00,
       0xfb, 0x40, 0x0a, 0,    0,    0,    0,    0,    0,    0x61, 'c',  0x5f, 0x41, 0x00, 0x41,
       0xff, 0xff, 0x61, 'd',  0x7f, 0x61, 'x',  0x61, 'y',  0xff, 0x61, 'e',  0xf5, 0x61, 'f',
       0xf6, 0x61, 'g',  0xc1, 0x19, 0x05, 0xdc, 0x61, 'h',  0x1b, 0xff, 0xff, 0xff, 0xff, 0xff,
       0xff, 0xff, 0xff, 0x61, 'i',  0x1a, 0x00, 0x0f, 0x42, 0x40, 0xff});
  CountingResource mr;
  auto r = Decode(body, mr);
  ASSERT_TRUE(r.ok());
  const auto& o = r->as_object();
  EXPECT_EQ(o.at("a").as_int64(), -1);
  EXPECT_EQ(o.at("b").as_array()[0].as_double(), 1.5);
  EXPECT_EQ(o.at("b").as_array()[1].as_double(), 2.5);
  EXPECT_EQ(o.at("b").as_array()[2].as_double(), 3.25);
  EXPECT_EQ(o.at("c").as_string(), "AP8=");
  EXPECT_EQ(o.at("d").as_string(), "xy");
  EXPECT_EQ(o.at("e").as_bool(), true);
  EXPECT_TRUE(o.at("f").is_null());
  EXPECT_EQ(o.at("g").as_double(), 1.5);
  EXPECT_EQ(o.at("h").as_double(), 18446744073709551615.0);
  EXPECT_EQ(o.at("i").as_int64(), 1000000);
  // Malformed: trailing bytes, a non-text key, a stray break, invalid UTF-8 (in a value,
  // overlong, a surrogate, in a key, in an indefinite text), reserved additional info,
  // a chunk of the wrong type, nesting beyond 64.
  for (const auto& bad :
       {Bytes({0xa0, 0x00}), Bytes({0xa1, 0x01, 0x02}), Bytes({0xff}), Bytes({0x62, 0xc3, 0x28}),
        Bytes({0x62, 0xc0, 0x80}), Bytes({0x63, 0xed, 0xa0, 0x80}), Bytes({0xa1, 0x61, 0xff, 0x00}),
        Bytes({0x7f, 0x61, 0xc3, 0xff}), Bytes({0x1c}), Bytes({0x5f, 0x61, 'x', 0xff}),
        std::string(70, '\x81') + '\0'}) {
    EXPECT_FALSE(Decode(bad, mr).ok()) << bad.size();
  }
}

}  // namespace
}  // namespace cinesis
