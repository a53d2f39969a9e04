// gtest's main, except that a run in which every test skipped (and none failed) exits with 77,
// which ctest reports as "Not Run (skipped)" (SKIP_RETURN_CODE) instead of "Passed": a binary
// that tested nothing on this machine (cuda_test without a GPU) must not count as a pass.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  const testing::UnitTest& u = *testing::UnitTest::GetInstance();
  if (rc == 0 && u.successful_test_count() == 0 && u.skipped_test_count() > 0) return 77;
  return rc;
}
