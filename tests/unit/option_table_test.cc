// One option table per component (issue 21): every declared default equals the options
// struct's own default, validation comes from the rows, and the docs are generated from them.
#include <gtest/gtest.h>

#include <set>

#include "client/client_options.h"
#include "consumer/consumer_options.h"
#include "producer/producer_options.h"

namespace cinesis {
namespace {

template <class T>
void ExpectWellFormed(const options::Table<T>& table) {
  EXPECT_TRUE(options::DefaultMismatches(table).empty())
      << "declared defaults differ from the struct's:\n"
      << [&] {
           std::string all;
           for (auto& m : options::DefaultMismatches(table)) all += "  " + m + "\n";
           return all;
         }();
  std::set<std::string> names;
  for (const auto& row : table) {
    EXPECT_TRUE(names.insert(row.name).second) << "duplicate row " << row.name;
    EXPECT_FALSE(row.help.empty()) << row.name;
    EXPECT_FALSE(row.type.empty()) << row.name;
  }
}

TEST(OptionTable, ProducerDefaultsAreTheStructDefaults) {
  ExpectWellFormed(ProducerOptionTable());
  EXPECT_EQ(ProducerOptionTable().size(), 18u);
}
TEST(OptionTable, ConsumerDefaultsAreTheStructDefaults) {
  ExpectWellFormed(ConsumerOptionTable());
  EXPECT_EQ(ConsumerOptionTable().size(), 19u);
}
TEST(OptionTable, ClientDefaultsAreTheStructDefaults) {
  ExpectWellFormed(ClientOptionTable());
  EXPECT_EQ(ClientOptionTable().size(), 11u);
}
TEST(OptionTable, RetryDefaultsAreTheStructDefaults) {
  ExpectWellFormed(RetryOptionTable());
  EXPECT_EQ(RetryOptionTable().size(), 6u);
}

// The check itself: a declared default that differs from the struct is reported by name.
TEST(OptionTable, AMismatchIsReportedByName) {
  RetryOptions other;
  other.max_attempts = 7;
  auto mismatches = options::DefaultMismatches(RetryOptionTable(), other);
  ASSERT_EQ(mismatches.size(), 1u);
  EXPECT_EQ(mismatches[0], "max_attempts: declared 5, struct 7");
}

TEST(OptionTable, ValidationComesFromTheRows) {
  ProducerOptions p;
  p.stream_name = "s";
  EXPECT_TRUE(Validate(p).ok());
  p.max_batch_records = 501;
  EXPECT_EQ(Validate(p).message(), "ProducerOptions.max_batch_records: must be 1..500");
  p.max_batch_records = 500;
  p.record_ttl = std::chrono::milliseconds(0);
  EXPECT_EQ(Validate(p).message(), "ProducerOptions.record_ttl: must be >= 1 ms");
  p.record_ttl = std::chrono::milliseconds(1);
  p.retry_max_delay = std::chrono::milliseconds(10);
  EXPECT_EQ(Validate(p).message(), "ProducerOptions.retry_max_delay: must be >= retry_base_delay");

  ConsumerOptions c;
  EXPECT_EQ(Validate(c).message(), "ConsumerOptions.application: is required");
  c.application = "app";
  c.stream_name = "s";
  EXPECT_TRUE(Validate(c).ok());
  c.max_records_per_call = 10001;
  EXPECT_EQ(Validate(c).message(), "ConsumerOptions.max_records_per_call: must be 1..10000");
  c.max_records_per_call = 100;
  c.initial_position = InitialPosition::kAtTimestamp;
  EXPECT_EQ(Validate(c).message(),
            "ConsumerOptions.initial_timestamp: is required for kAtTimestamp");
  c.initial_timestamp = 1;
  c.max_get_records_per_second = 0;
  EXPECT_EQ(Validate(c).message(), "ConsumerOptions.max_get_records_per_second: must be > 0");

  ClientOptions o;
  EXPECT_TRUE(Validate(o).ok());
  o.access_key_id = "AKID";
  EXPECT_EQ(Validate(o).message(),
            "ClientOptions.access_key_id: goes together with secret_access_key");
  o.secret_access_key = "secret";
  o.retry.max_attempts = 0;
  EXPECT_EQ(Validate(o).message(), "ClientOptions.retry.max_attempts: must be >= 1");
  o.retry.max_attempts = 1;
  o.retry.max_delay = std::chrono::milliseconds(1);
  EXPECT_EQ(Validate(o).message(), "ClientOptions.retry.max_delay: must be >= base_delay");
}

TEST(OptionTable, MarkdownHasOneLinePerRow) {
  const std::string md = ConsumerOptionsMarkdown();
  std::size_t lines = 0;
  for (char ch : md) lines += ch == '\n';
  EXPECT_EQ(lines, 2 + ConsumerOptionTable().size());
  EXPECT_NE(md.find("| `lease_ttl` | ms | `10000` | >= 1 |"), std::string::npos) << md;
}

}  // namespace
}  // namespace cinesis
