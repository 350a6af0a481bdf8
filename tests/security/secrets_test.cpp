// SPEC §2 rules 1 and 2: no plain password, temporary password, reset token,
// session token, API key or security answer is ever stored in an event, nor
// in any answer or refusal a command gives. The outbox is the one place a
// token or temporary password may be, and the test checks that it finds them
// there, so that the search is known to work.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "commands/harness.hpp"

namespace latchkey::testing {
namespace {

class SecretsNeverStored : public ::testing::Test {
 protected:
  // Every place the log exposes text: envelope fields and payload.
  std::string everything_in_the_log() {
    std::string all;
    for (const auto& e : h.events_since(0)) {
      const auto& d = e.data;
      for (const auto* field : {&d.event_id, &d.type, &d.tenant, &d.actor.kind, &d.actor.id, &d.actor.name,
                                &d.correlation_id, &d.causation_id, &d.source_ip, &d.payload, &e.stream_id}) {
        all += *field;
        all += '\n';
      }
    }
    return all;
  }
  std::string everything_in_the_outbox() {
    std::string all;
    for (const auto& m : h.outbox()) all += m.subject + "\n" + m.body + "\n";
    return all;
  }

  Harness h;
  std::vector<std::string> secrets;          // must never be in the log
  std::vector<std::string> answers_and_errors;  // what commands said back, excluding the one-time key
};

TEST_F(SecretsNeverStored, AcrossEveryFlowThatTouchesASecret) {
  h.given_tenant(R"({"require_security_answer":true,"sms_enabled":true})");
  ASSERT_TRUE(h.handlers->add_sms_credits(h.admin(), {5}).ok());
  auto key = h.handlers->issue_api_key(h.admin(), {"Front desk", "staff"});
  ASSERT_TRUE(key.ok());
  secrets.push_back(key->key);
  secrets.push_back(key->key.substr(key->key.find('.') + 1));

  // Online registration with a chosen password.
  const std::string chosen = "Maple4Harbor7Quartz";
  secrets.push_back(chosen);
  auto reg = h.handlers->register_online(
      h.staff(), {"Okafor", {{{"Chidi", "Okafor", "chidi@example.com", "+15557654321", true}, chosen, ""}},
                  {{"S-77", "Ada", "Okafor"}}});
  ASSERT_TRUE(reg.ok()) << reg.error().code;
  const auto g = reg->guardian_ids[0];

  // Log in, set a security question, fail a login with a near-miss password.
  auto session = h.handlers->log_in(h.anonymous(), {"chidi@example.com", chosen});
  ASSERT_TRUE(session.ok());
  secrets.push_back(session->session_token);
  const std::string answer = "Grandma Ngozi's Kitchen";
  secrets.push_back(answer);
  secrets.push_back("grandma ngozi's kitchen");
  ASSERT_TRUE(h.handlers->set_security_question(h.anonymous(), {session->session_token, chosen, "First home?", answer}).ok());
  const std::string near_miss = "Maple4Harbor7Quartx";
  secrets.push_back(near_miss);
  auto failed = h.handlers->log_in(h.anonymous(), {"chidi@example.com", near_miss});
  ASSERT_FALSE(failed.ok());
  answers_and_errors.push_back(failed.error().message);

  // Forgot password; a wrong answer, a weak password, then the redemption.
  ASSERT_TRUE(h.handlers->request_reset(h.anonymous(), commands::RequestResetSelf{"chidi@example.com"}).ok());
  const auto token = h.last_reset_token("chidi@example.com");
  ASSERT_FALSE(token.empty());
  secrets.push_back(token);
  secrets.push_back(token.substr(token.find('.') + 1));
  const std::string weak = "password1";
  auto wrong = h.handlers->redeem_token(h.anonymous(), {token, "Lantern8Fig2Cobalt", "not it"});
  ASSERT_FALSE(wrong.ok());
  answers_and_errors.push_back(wrong.error().message);
  auto policy = h.handlers->redeem_token(h.anonymous(), {token, weak, answer});
  ASSERT_FALSE(policy.ok());
  answers_and_errors.push_back(policy.error().message);
  const std::string reset_password = "Lantern8Fig2Cobalt";
  secrets.push_back(reset_password);
  ASSERT_TRUE(h.handlers->redeem_token(h.anonymous(), {token, reset_password, answer}).ok());

  // Staff SMS link, staff temporary password, and its first login.
  ASSERT_TRUE(h.handlers->request_reset(h.staff(), commands::RequestResetStaff{g, "sms"}).ok());
  const auto sms_token = h.last_reset_token("+15557654321");
  ASSERT_FALSE(sms_token.empty());
  secrets.push_back(sms_token);
  ASSERT_TRUE(h.handlers->issue_temporary_password(h.staff(), {g}).ok());
  const auto temporary = h.last_temporary_password("chidi@example.com");
  ASSERT_FALSE(temporary.empty());
  secrets.push_back(temporary);
  auto temp_session = h.handlers->log_in(h.anonymous(), {"chidi@example.com", temporary});
  ASSERT_TRUE(temp_session.ok());
  secrets.push_back(temp_session->session_token);
  const std::string final_password = "Cedar5Violet9Anchor";
  secrets.push_back(final_password);
  ASSERT_TRUE(h.handlers->change_password(h.anonymous(), {temp_session->session_token, "", final_password}).ok());

  // Portal login reset and a claim, which mails another temporary password.
  h.handlers->reset_portal_login(h.staff(), {{g}});
  ASSERT_TRUE(h.handlers->claim_account(h.anonymous(), {"chidi.o", "S-77", "Chidi", "Okafor"}).ok());
  const auto claimed = h.last_temporary_password("chidi@example.com");
  ASSERT_NE(claimed, temporary);
  secrets.push_back(claimed);

  const std::string log = everything_in_the_log();
  for (const auto& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "a secret is in the log: " << secret.substr(0, 4) << "…";
    for (const auto& said : answers_and_errors) EXPECT_EQ(said.find(secret), std::string::npos);
  }
  // The search works: the outbox does hold what was sent.
  const std::string outbox = everything_in_the_outbox();
  for (const auto& sent : {token, sms_token, temporary, claimed}) {
    EXPECT_NE(outbox.find(sent), std::string::npos);
  }
  // And the log does hold their hashes, never the plain values.
  EXPECT_NE(log.find(h.tokens.hash(token)), std::string::npos);
}

}  // namespace
}  // namespace latchkey::testing
