"""Shared compile flags and cc_* macros for revkv's own targets.

Every revkv target goes through these macros, so it gets the same
warnings-as-errors flags as the CMake build (root CMakeLists.txt):

  add_compile_options(-Wall -Wextra -Werror)
  -Wno-restrict for GCC < 13 (GCC bugs 105329/105651: impossible -Wrestrict
      overlaps inside libstdc++'s std::string at -O2/-O3, fixed in GCC 13)
  REVKV_KEEP_ASSERTS=ON: Release keeps assert()

The C++ standard (-std=c++20) is set in .bazelrc (--cxxopt / --host_cxxopt).
System libraries are wrapped in //bazel:BUILD.bazel; their headers are in
/usr/include, a system include directory, so these warnings never fire on them.
"""

# The warning flags of the CMake build.
REVKV_WARNINGS = [
    "-Wall",
    "-Wextra",
    "-Werror",
] + select({
    # Bazel cannot see the GCC version; Debian 12 ships GCC 12, where the
    # false positives occur. Clang does not know -Wno-restrict (and -Werror
    # would turn its unknown-warning-option warning into an error).
    "//bazel:compiler_gcc": ["-Wno-restrict"],
    "//conditions:default": [],
})

# Bazel's opt mode (the default in .bazelrc) passes -DNDEBUG before the target's
# copts; -UNDEBUG undoes it, like REVKV_KEEP_ASSERTS=ON does for CMake Release.
REVKV_KEEP_ASSERTS = ["-UNDEBUG"]

REVKV_COPTS = REVKV_WARNINGS + REVKV_KEEP_ASSERTS

def revkv_cc_library(name, copts = [], **kwargs):
    """cc_library with revkv's warning flags."""
    native.cc_library(name = name, copts = REVKV_COPTS + copts, **kwargs)

def revkv_cc_binary(name, copts = [], **kwargs):
    """cc_binary with revkv's warning flags."""
    native.cc_binary(name = name, copts = REVKV_COPTS + copts, **kwargs)

def revkv_cc_test(name, copts = [], **kwargs):
    """cc_test with revkv's warning flags."""
    native.cc_test(name = name, copts = REVKV_COPTS + copts, **kwargs)
