#include "base/random.h"

#include <sodium.h>

#include <cassert>
#include <cmath>
#include <cstring>
#include <numbers>

namespace rapport {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

double Random::Uniform() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

int64_t Random::UniformInt(int64_t lo, int64_t hi) {
  assert(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next64());  // the full 64-bit range
  // Rejection sampling avoids modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t draw = Next64();
  while (draw >= limit) draw = Next64();
  return lo + static_cast<int64_t>(draw % span);
}

double Random::Normal() {
  double u1 = Uniform();
  while (u1 <= 0.0) u1 = Uniform();
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void SecureRandom::Fill(std::span<std::byte> out) { randombytes_buf(out.data(), out.size()); }

uint64_t SecureRandom::Next64() {
  uint64_t value = 0;
  randombytes_buf(&value, sizeof value);
  return value;
}

Random& DefaultRandom() {
  static const bool initialised = [] { return sodium_init() >= 0; }();
  assert(initialised);
  (void)initialised;
  static SecureRandom random;
  return random;
}

SeededRandom::SeededRandom(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (uint64_t& word : state_) word = SplitMix64(x);
}

uint64_t SeededRandom::Next64() {
  const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = Rotl(state_[3], 45);
  return result;
}

void SeededRandom::Fill(std::span<std::byte> out) {
  size_t offset = 0;
  while (offset < out.size()) {
    const uint64_t word = Next64();
    const size_t n = std::min(sizeof word, out.size() - offset);
    std::memcpy(out.data() + offset, &word, n);
    offset += n;
  }
}

}  // namespace rapport
