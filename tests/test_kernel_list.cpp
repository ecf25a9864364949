// The kernel list (kernels/kernel_list.hpp) is the recipe's checklist: every listed kernel
// must have a parity case. A case's name starts with the entry points it runs, joined by
// '+' ("dice_sums+dice_loss+dice_backward ...").
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "kernels/kernel_list.hpp"
#include "tests/parity_cases.hpp"

TEST_CASE("every kernel in kernels/kernel_list.hpp has a parity case") {
  std::set<std::string> covered;
  for (const auto& c : unet::test::kernel_cases()) {
    const std::string first_word = c.name.substr(0, c.name.find(' '));
    for (size_t at = 0; at <= first_word.size();) {
      const size_t plus = std::min(first_word.find('+', at), first_word.size());
      covered.insert(first_word.substr(at, plus - at));
      at = plus + 1;
    }
  }
  for (const char* kernel : unet::kernels::kKernelNames) {
    CAPTURE(kernel);
    CHECK_MESSAGE(covered.count(kernel) == 1, "add a case for it in tests/parity_cases.cpp");
  }
}
