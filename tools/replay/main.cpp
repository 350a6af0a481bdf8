// latchkey-replay — see replay.hpp and `latchkey-replay --help`.
#include <iostream>

#include "replay.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  const int code = latchkey::replay::run_replay(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
