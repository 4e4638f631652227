#include <gtest/gtest.h>
#include "common/base64.h"
TEST(Base64, RoundTrip) { EXPECT_EQ(cinesis::Base64Encode("hello"), "aGVsbG8="); }
