// Browser safety (issue 17): which Host headers are served, which origins get CORS
// headers, and when binding warns.
#include "server/browser_guard.h"

#include <gtest/gtest.h>

namespace cinesis::server {
namespace {

TEST(BrowserGuard, HostMustBeLocalAnAddressOrAllowed) {
  ServerOptions o;
  for (const char* ok : {"", "localhost", "localhost:4567", "LocalHost.", "127.0.0.1",
                         "127.0.0.1:80", "[::1]", "[::1]:4567", "10.0.0.7:4567", "[fe80::1]"}) {
    EXPECT_TRUE(HostAllowed(ok, o)) << ok;
  }
  for (const char* bad : {"evil.example", "evil.example:4567", "localhost.evil.example",
                          "2130706433", "127.0.0.1.nip.io", "[::1", "kinesis.internal"}) {
    EXPECT_FALSE(HostAllowed(bad, o)) << bad;
  }
  o.allowed_hosts = {"Kinesis.Internal"};
  EXPECT_TRUE(HostAllowed("kinesis.internal:4567", o));
  EXPECT_FALSE(HostAllowed("evil.example", o));
  o.allowed_hosts = {"*"};
  EXPECT_TRUE(HostAllowed("evil.example", o));
}

TEST(BrowserGuard, CorsOnlyForListedOrigins) {
  ServerOptions o;
  EXPECT_FALSE(CorsAllowOrigin("http://evil.example", o));
  o.cors_origins = {"http://app.example:3000"};
  EXPECT_EQ(CorsAllowOrigin("http://app.example:3000", o), "http://app.example:3000");
  EXPECT_FALSE(CorsAllowOrigin("http://app.example", o));
  o.cors_origins.push_back("*");
  EXPECT_EQ(CorsAllowOrigin("http://evil.example", o), "*");
}

TEST(BrowserGuard, NonLoopbackWithoutSignaturesWarns) {
  ServerOptions o;
  for (const char* quiet : {"127.0.0.1", "127.0.0.2", "::1", "localhost"}) {
    o.host = quiet;
    EXPECT_FALSE(ExposureWarning(o)) << quiet;
  }
  for (const char* loud : {"0.0.0.0", "::", "192.168.1.10"}) {
    o.host = loud;
    auto w = ExposureWarning(o);
    ASSERT_TRUE(w) << loud;
    EXPECT_NE(w->find("without checking request signatures"), std::string::npos);
  }
  o.signatures_checked = true;
  EXPECT_FALSE(ExposureWarning(o));
}

}  // namespace
}  // namespace cinesis::server
