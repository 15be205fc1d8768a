// What integration tests need to know of `rapport demo`'s output: its check-in links and the
// instruments they ask for.
#pragma once

#include <string>

namespace rapport::testing {

// The token of a check-in link (".../c/TOKEN") as demo-accounts.json lists them.
std::string CheckinToken(const std::string& link);

// A JSON body answering a demo check-in link (progress, then the client's alliance check-in):
// every progress item at `value`, every alliance item at `value / 2`.
std::string DemoCheckinAnswers(int value);

}  // namespace rapport::testing
