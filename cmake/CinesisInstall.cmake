# `cmake --install <build> [--prefix DIR]`: what a user of libcinesis gets.
#   include/cinesis/...                     the public headers (C++ and the C cinesis.h)
#   lib/libcinesis.so.<VERSION> (+ links)    SONAME libcinesis.so.<SOVERSION>
#   lib/libcinesis.a
#   lib/cmake/cinesis/                      find_package(cinesis): cinesis::cinesis,
#                                           cinesis::testing, COMPONENTS static ->
#                                           cinesis::cinesis_static
#   lib/pkgconfig/cinesis.pc                pkg-config --cflags --libs cinesis
#   bin/cinesis, bin/cinesis-bench          server and CLI (and `cinesis bench`'s load generator)
# Relocatable: nothing installed names the prefix (the package and cinesis.pc find it
# relative to themselves), so `--prefix` at install time is enough.
# tests/integration/test_install.py installs into a temporary prefix and builds examples/
# and a C program against it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CINESIS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/cinesis)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/cinesis
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

install(TARGETS cinesis_shared cinesis_testing_interface EXPORT cinesisTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS cinesis_static EXPORT cinesisStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT cinesisTargets NAMESPACE cinesis:: DESTINATION ${CINESIS_CMAKE_DIR})
install(EXPORT cinesisStaticTargets NAMESPACE cinesis:: DESTINATION ${CINESIS_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cinesisConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cinesisConfig.cmake INSTALL_DESTINATION ${CINESIS_CMAKE_DIR})
# 0.x: a minor version may break the API and ABI (as the SONAME says), so only the same
# minor version is compatible; from 1.0 on, SameMajorVersion.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(cinesis_compatibility SameMinorVersion)
else()
  set(cinesis_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cinesisConfigVersion.cmake
  COMPATIBILITY ${cinesis_compatibility})
install(FILES ${PROJECT_BINARY_DIR}/cinesisConfig.cmake
              ${PROJECT_BINARY_DIR}/cinesisConfigVersion.cmake
        DESTINATION ${CINESIS_CMAKE_DIR})

# cinesis.pc: the prefix relative to the file itself (${pcfiledir}).
set(cinesis_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH cinesis_pc_to_prefix /${cinesis_pc_dir} /)
string(REGEX REPLACE "/$" "" cinesis_pc_to_prefix "${cinesis_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/cinesis.pc.in ${PROJECT_BINARY_DIR}/cinesis.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cinesis.pc DESTINATION ${cinesis_pc_dir})

# `cinesis bench` runs cinesis-bench from its own directory.
install(TARGETS cinesis cinesis-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
