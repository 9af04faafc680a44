#include "gateway/backends/completion_queue_threads.h"

namespace nexus::gateway {

CompletionQueueThreads::CompletionQueueThreads(int threads) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      void* tag = nullptr;
      bool ok = false;
      // Next() without a deadline: the thread never stops polling while the
      // queue is open (the point of this class, see the header).
      while (queue_.Next(&tag, &ok)) static_cast<CompletionTag*>(tag)->Complete(ok);
    });
  }
}

CompletionQueueThreads::~CompletionQueueThreads() {
  queue_.Shutdown();
  for (std::thread& t : threads_) t.join();
}

}  // namespace nexus::gateway
