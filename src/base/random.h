// Randomness behind an interface (STYLE.md rule 7).
//
// SecureRandom draws from the operating system's CSPRNG (libsodium) and is what ids and
// tokens use in production. SeededRandom is a deterministic stream for simulations and tests;
// it records its seed so any run can be reproduced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace rapport {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes.
  virtual void Fill(std::span<std::byte> out) = 0;
  // A uniformly distributed 64-bit value.
  virtual uint64_t Next64() = 0;

  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  int64_t UniformInt(int64_t lo, int64_t hi);
  // Standard normal deviate (Box–Muller; uses two draws).
  double Normal();
};

// Cryptographically secure. Thread safety: safe to call from any thread.
class SecureRandom final : public Random {
 public:
  void Fill(std::span<std::byte> out) override;
  uint64_t Next64() override;
};

// Returns the process-wide secure generator.
Random& DefaultRandom();

// Deterministic xoshiro256** stream seeded through splitmix64. Not thread safe.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed);
  uint64_t seed() const { return seed_; }
  void Fill(std::span<std::byte> out) override;
  uint64_t Next64() override;

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

}  // namespace rapport
