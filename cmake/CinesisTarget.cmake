# Per-target build settings (no global flags): warnings, warnings-as-errors in CI,
# sanitizers on request.
function(cinesis_settings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports std::optional members as maybe-uninitialized at -O2 (GCC bug 105593
    # and relatives); -Wuninitialized stays on. (Clang has no such warning.)
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
  # Clang checks the lock annotations of src/common/thread_annotations.h (GCC ignores them).
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wthread-safety)
  endif()
  if(CINESIS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(CINESIS_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  # Preset fuzz: libFuzzer's coverage hooks with ASan+UBSan (fuzz/; the harnesses add
  # -fsanitize=fuzzer at link time).
  if(CINESIS_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(CINESIS_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()

# cinesis_library(name SOURCES ... DEPS ...): one library target per component.
function(cinesis_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(cinesis_${name} STATIC ${ARG_SOURCES})
  add_library(cinesis::${name} ALIAS cinesis_${name})
  # Position-independent: libcinesis.so (src/libcinesis) is linked from these objects.
  set_target_properties(cinesis_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(cinesis_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(cinesis_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  cinesis_settings(cinesis_${name})
endfunction()
