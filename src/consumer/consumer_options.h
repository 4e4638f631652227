// The consumer's option table (see src/common/option_table.h): Validate(ConsumerOptions),
// ConsumerOptionsMarkdown() and option_table_test read it.
#pragma once

#include "cinesis/consumer.h"
#include "common/option_table.h"

namespace cinesis {

const options::Table<ConsumerOptions>& ConsumerOptionTable();

}  // namespace cinesis
