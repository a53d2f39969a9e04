// Engine across fork(): a child forked while work is pending, or while another thread pushes,
// runs ops of its own (fresh worker threads) and gets the values a sequential loop gives; the
// parent keeps working. Every fork is bounded: the child is killed past a deadline and the test
// process gets SIGALRM if fork() itself hangs (a deadlock in the engine's fork handlers).
//
// Skipped under ThreadSanitizer: TSan's runtime refuses to start threads in the child of a
// multi-threaded process (die_after_fork), and the child must start the engine's workers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "engine/engine.h"

#if defined(__SANITIZE_THREAD__)
#define MX_FORK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MX_FORK_TSAN 1
#endif
#endif

namespace mx::engine {
namespace {

constexpr int kChildDeadlineS = 20;

class EngineFork : public ::testing::Test {
 protected:
  void SetUp() override {
#if defined(MX_FORK_TSAN)
    GTEST_SKIP() << "fork() of a multi-threaded process: TSan forbids threads in the child";
#endif
    set_type("threaded", 2);
    alarm(60);  // a hang inside fork() kills the test instead of stalling CI
  }
  void TearDown() override {
    alarm(0);
    set_type("threaded", 1);
  }
};

// Exit status of pid, or -1 if it had not exited by the deadline (it is killed then).
int wait_child(pid_t pid, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// The child's work: a chain of dependent pushes on two vars from the engine, then a wait.
// Reference: the same recurrence as a plain loop. Returns 0 when they agree.
int child_work() {
  alarm(kChildDeadlineS + 5);  // no orphan outlives a killed parent
  Engine& eng = get();
  int64_t a = 1, b = 0;
  Var* va = new_var();
  Var* vb = new_var();
  for (int i = 0; i < 2000; ++i) {
    eng.push([&a, i](RunContext&) { a = (a * 31 + i) % 1000003; }, cpu(), {}, std::vector<Var*>{va});
    eng.push([&a, &b](RunContext&) { b += a; }, cpu(), std::vector<Var*>{va}, std::vector<Var*>{vb});
  }
  eng.wait_for_var(vb);
  int64_t ra = 1, rb = 0;
  for (int i = 0; i < 2000; ++i) {
    ra = (ra * 31 + i) % 1000003;
    rb += ra;
  }
  eng.delete_var(va, nullptr);
  eng.delete_var(vb, nullptr);
  eng.wait_all();
  return a == ra && b == rb ? 0 : 1;
}

TEST_F(EngineFork, ChildRunsOpsAfterForkWithPendingWork) {
  Engine& eng = get();
  Var* v = new_var();
  std::atomic<int64_t> sum{0};
  // Work still queued at fork(): the engine finishes it before the fork, so the parent sees all
  // of it and the child inherits a quiet engine.
  for (int i = 1; i <= 200; ++i)
    eng.push(
        [&sum, i](RunContext&) {
          if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
          sum += i;
        },
        cpu(), {}, std::vector<Var*>{v});
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(sum.load() == 200 * 201 / 2 ? child_work() : 2);
  EXPECT_EQ(wait_child(pid, kChildDeadlineS), 0) << "the child could not run ops after fork()";
  // The parent's engine works on: more ops on the same var, then a wait.
  for (int i = 1; i <= 100; ++i) eng.push([&sum](RunContext&) { sum += 1; }, cpu(), {}, std::vector<Var*>{v});
  eng.wait_for_var(v);
  EXPECT_EQ(sum.load(), 200 * 201 / 2 + 100);
  eng.delete_var(v, nullptr);
  eng.wait_all();
}

TEST_F(EngineFork, ChildSeesErrorsOfItsOwnOps) {
  Var* warm = new_var();  // the parent's worker pool exists (and is busy) at fork()
  get().push([](RunContext&) { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }, cpu(), {},
             std::vector<Var*>{warm});
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(kChildDeadlineS + 5);
    Engine& eng = get();
    Var* v = new_var();
    eng.push([](RunContext&) { throw Error(MX_ERR_INVALID_ARGUMENT, "child boom"); }, cpu(), {}, std::vector<Var*>{v});
    int rc = 1;
    try {
      eng.wait_for_var(v);
    } catch (const Error& e) {
      rc = std::string(e.what()) == "child boom" ? 0 : 3;
    }
    _exit(rc);
  }
  EXPECT_EQ(wait_child(pid, kChildDeadlineS), 0);
  get().delete_var(warm, nullptr);
  get().wait_all();
}

// fork() from one thread while another pushes without pause: no deadlock in either process,
// and the pusher's ops all run exactly once in the parent.
void fork_while_pushing(bool fork_from_side_thread) {
  Engine& eng = get();
  Var* v = new_var();
  std::atomic<bool> stop{false};
  int64_t counter = 0;  // written by ops only: the engine orders them on v
  std::atomic<int64_t> pushed{0};
  std::thread pusher([&] {
    while (!stop.load()) {
      eng.push([&counter](RunContext&) { ++counter; }, cpu(), {}, std::vector<Var*>{v});
      pushed.fetch_add(1);
    }
  });
  auto do_forks = [&](std::vector<int>& statuses) {
    for (int k = 0; k < 5; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      pid_t pid = fork();
      if (pid == 0) _exit(child_work());
      statuses.push_back(pid < 0 ? -2 : wait_child(pid, kChildDeadlineS));
    }
  };
  std::vector<int> statuses;
  if (fork_from_side_thread) {
    std::thread forker([&] { do_forks(statuses); });
    forker.join();
  } else {
    do_forks(statuses);
  }
  stop = true;
  pusher.join();
  eng.wait_for_var(v);
  EXPECT_EQ(counter, pushed.load()) << "ops pushed around fork() were lost or run twice";
  EXPECT_EQ(statuses, std::vector<int>(5, 0)) << "0: child ok, -1: child hung, -2: fork failed";
  eng.delete_var(v, nullptr);
  eng.wait_all();
}

TEST_F(EngineFork, ForkWhileAnotherThreadPushes) { fork_while_pushing(false); }
TEST_F(EngineFork, ForkFromAThreadThatNeverPushed) { fork_while_pushing(true); }

}  // namespace
}  // namespace mx::engine
