#include "testing/testing.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/id.h"
#include "base/random.h"

namespace rapport::testing {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("RAPPORT_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir)
                        : std::filesystem::path(RAPPORT_TEST_SOURCE_DIR);
}

std::filesystem::path RapportBinary() {
  const char* path = std::getenv("RAPPORT_BINARY");
  return path != nullptr ? std::filesystem::path(path) : std::filesystem::path(RAPPORT_TEST_BINARY);
}

std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TempDir::TempDir() {
  path_ = std::filesystem::temp_directory_path() / ("rapport-test-" + NewId(DefaultRandom()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace rapport::testing
