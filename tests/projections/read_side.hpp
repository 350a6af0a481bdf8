// The read side over a command Harness: a read-model store in the same temp
// directory, the runner with every projection, and the answers.
#pragma once

#include "commands/harness.hpp"
#include "latchkey/projections/read_models.hpp"
#include "latchkey/projections/runner.hpp"

namespace latchkey::testing {

struct ReadSide {
  using MakeProjections =
      std::vector<std::unique_ptr<projections::Projection>> (*)(projections::ReadModelDb&);
  ReadSide(Harness& h, const std::string& dir_name = "readmodels",
           projections::RunnerOptions options = {},
           MakeProjections make = projections::make_all_projections) {
    auto opened = projections::open_read_model_db(h.dir.str(dir_name));
    if (!opened) throw std::runtime_error(opened.error().message);
    db = std::move(*opened);
    runner = std::make_unique<projections::ProjectionRunner>(*h.store, *db, make(*db), options);
    auto r = runner->open();
    if (!r) throw std::runtime_error(r.error().message);
    answers = std::make_unique<projections::ReadModels>(*db, *h.store, h.clock, runner.get());
  }
  void catch_up() {
    auto r = runner->catch_up();
    EXPECT_TRUE(r.ok()) << r.error().message;
  }

  std::unique_ptr<projections::ReadModelDb> db;
  std::unique_ptr<projections::ProjectionRunner> runner;
  std::unique_ptr<projections::ReadModels> answers;
};

}  // namespace latchkey::testing
