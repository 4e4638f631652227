// The client's and the retry policy's option tables (see src/common/option_table.h):
// Validate(ClientOptions), Validate(RetryOptions), the Markdown functions and
// option_table_test read them.
#pragma once

#include "cinesis/client.h"
#include "cinesis/retry.h"
#include "common/option_table.h"

namespace cinesis {

const options::Table<ClientOptions>& ClientOptionTable();
const options::Table<RetryOptions>& RetryOptionTable();

}  // namespace cinesis
