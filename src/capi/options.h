// The option bags of the C interface: one table per options struct (key, doc, parser),
// from which the *_new functions fill ClientOptions, ProducerOptions, ConsumerOptions and
// LocalKinesisOptions, and from which docs/client.md's key list is generated (a unit test
// checks the doc matches OptionsMarkdown()).
#pragma once

#include <string>

#include "capi/internal.h"
#include "cinesis/consumer.h"
#include "cinesis/producer.h"
#include "cinesis/testing/local_kinesis.h"

namespace cinesis::capi {

// What cinesis_producer_new reads: the C++ options plus the C layer's own switch.
struct ProducerConfig {
  ProducerOptions options;
  bool delivery_reports = true;
};

// Each parser rejects unknown keys and bad values with kInvalidArgument naming the key,
// e.g. "unknown producer option 'lingerr'". `bag` may be null (defaults).
Status ParseClientOptions(const cinesis_options* bag, ClientOptions& out);
Status ParseProducerOptions(const cinesis_options* bag, ProducerConfig& out);
Status ParseConsumerOptions(const cinesis_options* bag, ConsumerOptions& out);
Status ParseLocalOptions(const cinesis_options* bag, testing::LocalKinesisOptions& out);

// The four tables as Markdown (one "#### <kind> options" heading and table each).
std::string OptionsMarkdown();

}  // namespace cinesis::capi
