#pragma once

// libraft's C headers for C++: raft.h declares its functions without extern "C". libuv's
// own header guards itself and comes first, so raft/uv.h's include of it is a no-op here.

#include <uv.h>

extern "C" {
#include <raft.h>
#include <raft/uv.h>
}
