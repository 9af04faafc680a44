#include "cli/terminal.h"

#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "cli/errors.h"
#include "cli/interrupt.h"

namespace nexus::cli {
namespace {

// Reads up to a newline straight from fd 0, one byte at a time: stdio's
// buffer would swallow lines meant for a later prompt (the mailed code comes
// after the password on the same pipe).
Result<std::string> ReadLineFromStdin() {
  std::string line;
  while (true) {
    char c = 0;
    ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) {
      if (InterruptRequested()) return InterruptedError("prompt");
      continue;
    }
    if (n < 0) return ErrnoError(StatusCode::kInvalidArgument, "read from stdin", errno);
    if (n == 0) {
      if (line.empty()) return InvalidArgumentError("no input: standard input is closed");
      return line;
    }
    if (c == '\n') return line;
    if (c != '\r') line.push_back(c);
  }
}

// Restores the terminal's settings on every way out of PromptHidden.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

bool StdinIsTerminal() { return ::isatty(STDIN_FILENO) == 1; }
bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }
bool StdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

bool ColorWanted(bool stream_is_terminal) {
  const char* no_color = std::getenv("NO_COLOR");
  return stream_is_terminal && (no_color == nullptr || *no_color == '\0');
}

namespace {

// A prompt only makes sense to someone typing: with input from a pipe it
// would only clutter stderr before the real message.
void ShowPrompt(const std::string& prompt) {
  if (!StdinIsTerminal()) return;
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace

Result<std::string> PromptLine(const std::string& prompt) {
  ShowPrompt(prompt);
  return ReadLineFromStdin();
}

Result<std::string> PromptHidden(const std::string& prompt) {
  if (!StdinIsTerminal()) return ReadLineFromStdin();
  // Echo goes off before the prompt shows: whatever is typed after seeing it
  // is never echoed (and never flushed away by the change of settings).
  EchoOff echo_off;
  ShowPrompt(prompt);
  return ReadLineFromStdin();
}

}  // namespace nexus::cli
