// The snippets were compiled and linked to get here; this only checks that the extractor
// found them (a broken fence or a renamed doc would otherwise silently compile nothing).
#include <cstdio>

int CompiledSnippets();
extern const char* const kSnippetList[];

int main() {
  for (const char* const* s = kSnippetList; *s != nullptr; ++s) std::printf("compiled: %s\n", *s);
  const int n = CompiledSnippets();
  std::printf("%d snippets compiled\n", n);
  return n >= 5 ? 0 : 1;  // docs/client.md alone has more
}
