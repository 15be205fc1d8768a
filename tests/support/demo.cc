#include "support/demo.h"

#include <vector>

#include <nlohmann/json.hpp>

namespace rapport::testing {

std::string CheckinToken(const std::string& link) { return link.substr(link.rfind("/c/") + 3); }

std::string DemoCheckinAnswers(int value) {
  return nlohmann::json{
      {"responses",
       {{{"instrument", "rapport-progress"}, {"answers", std::vector<int>(4, value)}},
        {{"instrument", "rapport-alliance-client"}, {"answers", std::vector<int>(7, value / 2)}}}}}
      .dump();
}

}  // namespace rapport::testing
