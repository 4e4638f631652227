// Clang thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html)
// and annotated mutex wrappers, as abseil and leveldb have them. Clang checks them with
// -Wthread-safety (on in every clang build, see cmake/CinesisTarget.cmake; the `tsan` preset
// builds with clang-15 and warnings as errors); GCC ignores them.
//
// Every mutable field shared between threads names its guard:
//   int x GUARDED_BY(mu_);                 // read and written only with mu_ held
//   void F() REQUIRES(mu_);                // caller holds mu_ exclusively
//   void G() REQUIRES_SHARED(mu_);         // caller holds mu_ at least shared
//   void H() EXCLUDES(mu_);                // caller must not hold mu_ (H takes it)
// std::mutex and the std lock types carry no annotations, so guarded state uses Mutex /
// SharedMutex and MutexLock / WriterLock / ReaderLock below.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define CINESIS_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CINESIS_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) CINESIS_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY CINESIS_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) CINESIS_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) CINESIS_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) CINESIS_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) CINESIS_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) CINESIS_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) CINESIS_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) CINESIS_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) CINESIS_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) CINESIS_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) CINESIS_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) CINESIS_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define EXCLUDES(...) CINESIS_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) CINESIS_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) CINESIS_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS CINESIS_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace cinesis {

// std::mutex with annotations.
class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// std::condition_variable over a Mutex the caller holds. Waits take no predicate (the
// analysis cannot see that a lambda runs with the lock held): loop on the condition instead,
//   while (!ready_) cv_.Wait(&mu_);
class CondVar {
 public:
  // Releases mu while waiting and holds it again on return (which may be spurious).
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, until `deadline` at the latest; false when it returned because of the deadline.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  template <class Rep, class Period>
  bool WaitFor(Mutex* mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// std::shared_mutex with annotations.
class CAPABILITY("shared_mutex") SharedMutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void ReaderLock() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds a Mutex for a scope (or until Unlock()).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  void Unlock() RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
  bool held_ = true;
};

// Holds a SharedMutex exclusively for a scope (or until Unlock()).
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  void Unlock() RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* mu_;
  bool held_ = true;
};

// Holds a SharedMutex shared for a scope (or until Unlock()).
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderLock() RELEASE() {
    if (held_) mu_->ReaderUnlock();
  }
  void Unlock() RELEASE() {
    mu_->ReaderUnlock();
    held_ = false;
  }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* mu_;
  bool held_ = true;
};

}  // namespace cinesis
