// verify, checkpoint and keygen: proving the log is whole.
//
// A hash chain shows that nothing before the head was altered relative to the
// head; it cannot show that the head itself was not rewritten along with
// everything before it. Signed checkpoints anchor it: an auditor signs the
// head (position and hash) with a key the server never sees and keeps the
// checkpoint elsewhere; later, `verify --checkpoint` proves the log still
// holds exactly that prefix.
#include <sodium.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "latchkey/domain/encoding.hpp"
#include "options.hpp"

namespace latchkey::replay {
namespace {

constexpr const char* kVerifyUsage = R"(usage: latchkey-replay verify --data DIR [--checkpoint FILE --pubkey FILE]
Decodes every event and checks positions and the hash chain. Prints the count
and the head hash; exits 1 naming the first broken position. With a signed
checkpoint, also proves the log still holds exactly that prefix.
)";
constexpr const char* kCheckpointUsage = R"(usage: latchkey-replay checkpoint --data DIR --key FILE
Prints the head position and hash as JSON, signed with the Ed25519 secret key
in FILE (see keygen). Keep the output where the server cannot change it.
)";
constexpr const char* kKeygenUsage = R"(usage: latchkey-replay keygen --out FILE
Writes an Ed25519 secret key to FILE (mode 0600) and its public key to FILE.pub.
)";

std::string hex(std::span<const std::uint8_t> bytes) { return domain::hex_encode(bytes); }

std::optional<std::vector<std::uint8_t>> unhex(std::string_view s) {
  auto bytes = domain::hex_decode(domain::trim(s));
  if (!bytes) return std::nullopt;
  return std::vector<std::uint8_t>(bytes->begin(), bytes->end());
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string signed_message(std::uint64_t position, const std::string& hash_hex) {
  return "latchkey checkpoint v1\nposition=" + std::to_string(position) + "\nhash=" + hash_hex + "\n";
}

}  // namespace

int keygen_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kKeygenUsage, 0;
  if (!o.has("out")) return usage_error(err, "keygen needs --out FILE", kKeygenUsage);
  if (sodium_init() < 0) return err << "latchkey-replay: libsodium failed to start\n", 2;
  std::uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  const std::string secret_path = o.get("out");
  {
    ::umask(077);
    std::ofstream secret(secret_path, std::ios::trunc);
    secret << hex(sk) << "\n";
    std::ofstream pub(secret_path + ".pub", std::ios::trunc);
    pub << hex(pk) << "\n";
    if (!secret || !pub) return err << "latchkey-replay: cannot write " << secret_path << "\n", 2;
  }
  ::chmod(secret_path.c_str(), 0600);
  ::chmod((secret_path + ".pub").c_str(), 0644);
  sodium_memzero(sk, sizeof sk);
  out << "secret key: " << secret_path << " (keep it away from the server)\npublic key: " << secret_path
      << ".pub\n";
  return 0;
}

int checkpoint_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kCheckpointUsage, 0;
  if (!o.has("data") || !o.has("key")) return usage_error(err, "checkpoint needs --data and --key", kCheckpointUsage);
  if (sodium_init() < 0) return err << "latchkey-replay: libsodium failed to start\n", 2;
  auto key_text = read_file(o.get("key"));
  auto sk = key_text ? unhex(*key_text) : std::nullopt;
  if (!sk || sk->size() != crypto_sign_SECRETKEYBYTES) {
    return err << "latchkey-replay: " << o.get("key") << " is not an Ed25519 secret key (see keygen)\n", 2;
  }
  auto log = Log::open(o.get("data"));
  if (!log) return err << "latchkey-replay: " << log.error().message << "\n", 2;
  auto report = (*log)->store().verify();
  if (!report) return err << "latchkey-replay: " << report.error().message << "\n", 2;
  if (!report->ok) {
    err << "latchkey-replay: will not sign a broken log: position " << report->first_bad_position << ": "
        << report->problem << "\n";
    return 1;
  }
  const std::string hash = hex(report->head_hash);
  const std::string message = signed_message(report->head_position, hash);
  std::uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       sk->data());
  std::uint8_t pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_ed25519_sk_to_pk(pk, sk->data());
  sodium_memzero(sk->data(), sk->size());
  nlohmann::json cp = {{"format", "latchkey checkpoint v1"},
                       {"position", report->head_position},
                       {"hash", hash},
                       {"public_key", hex(pk)},
                       {"signature", hex(sig)}};
  out << cp.dump(2) << "\n";
  return 0;
}

int verify_command(const Options& o, std::ostream& out, std::ostream& err) {
  if (o.flags.contains("help")) return out << kVerifyUsage, 0;
  if (!o.has("data")) return usage_error(err, "verify needs --data DIR", kVerifyUsage);
  if (o.has("checkpoint") != o.has("pubkey")) {
    return usage_error(err, "--checkpoint and --pubkey go together", kVerifyUsage);
  }
  auto log = Log::open(o.get("data"));
  if (!log) return err << "latchkey-replay: " << log.error().message << "\n", 2;
  auto report = (*log)->store().verify();
  if (!report) return err << "latchkey-replay: " << report.error().message << "\n", 2;
  if (!report->ok) {
    out << "BROKEN at position " << report->first_bad_position << ": " << report->problem << "\n"
        << "(" << report->events << " events checked before it)\n";
    return 1;
  }
  out << "ok: " << report->events << " events, positions 1.." << report->head_position << " dense, hash chain intact\n"
      << "head hash: " << hex(report->head_hash) << "\n";
  if (!o.has("checkpoint")) return 0;

  if (sodium_init() < 0) return err << "latchkey-replay: libsodium failed to start\n", 2;
  auto text = read_file(o.get("checkpoint"));
  auto pub_text = read_file(o.get("pubkey"));
  auto pk = pub_text ? unhex(*pub_text) : std::nullopt;
  if (!text || !pk || pk->size() != crypto_sign_PUBLICKEYBYTES) {
    return err << "latchkey-replay: cannot read the checkpoint or the public key\n", 2;
  }
  auto cp = nlohmann::json::parse(*text, nullptr, false);
  if (!cp.is_object() || !cp["position"].is_number_unsigned() || !cp["hash"].is_string() ||
      !cp["signature"].is_string()) {
    return err << "latchkey-replay: " << o.get("checkpoint") << " is not a checkpoint\n", 2;
  }
  const auto position = cp["position"].get<std::uint64_t>();
  const auto hash = cp["hash"].get<std::string>();
  const auto message = signed_message(position, hash);
  auto sig = unhex(cp["signature"].get<std::string>());
  if (!sig || sig->size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(sig->data(), reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size(), pk->data()) != 0) {
    out << "CHECKPOINT INVALID: the signature does not match this public key\n";
    return 1;
  }
  auto at = (*log)->store().read_all(position, 1);
  if (!at) return err << "latchkey-replay: " << at.error().message << "\n", 2;
  if (at->empty() || at->front().position != position) {
    out << "CHECKPOINT BROKEN: the log no longer reaches position " << position << "\n";
    return 1;
  }
  if (hex(at->front().hash) != hash) {
    out << "CHECKPOINT BROKEN: the event at position " << position << " is not the one signed\n";
    return 1;
  }
  out << "checkpoint holds: the log still contains the signed prefix up to position " << position << "\n";
  return 0;
}

}  // namespace latchkey::replay
