#include "actors/thread_names.hpp"

#include <filesystem>
#include <fstream>
#include <pthread.h>
#include <string>
#include <sys/syscall.h>
#include <unistd.h>

namespace revkv::actors {

void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

void name_io_and_worker_threads() {
  name_this_thread("revkv.io");
  auto self = std::to_string(::syscall(SYS_gettid));
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    if (task.path().filename() == self) continue;
    std::string comm;
    std::ifstream(task.path() / "comm") >> comm;
    if (comm == "caf.multiplexer") std::ofstream(task.path() / "comm") << "caf.worker";
  }
}

}  // namespace revkv::actors
