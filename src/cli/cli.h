// The `rapport` command: a table of subcommands over the libraries (STYLE.md rule 1; the
// binary's main.cc only calls Main). Exit codes: 0 ok, 1 failure, 2 bad usage or bad input.
#pragma once

namespace rapport::cli {

int Main(int argc, char** argv);

}  // namespace rapport::cli
