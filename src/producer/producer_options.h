// The producer's option table (see src/common/option_table.h): Validate(ProducerOptions),
// ProducerOptionsMarkdown() and option_table_test read it.
#pragma once

#include "cinesis/producer.h"
#include "common/option_table.h"

namespace cinesis {

const options::Table<ProducerOptions>& ProducerOptionTable();

}  // namespace cinesis
