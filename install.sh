#!/usr/bin/env bash
# Installs sqlbak from this checkout: Bun (via npm) if missing, dependencies,
# the compiled binary. Re-running it is safe: it replaces the binary in place.
#
#   ./install.sh                 build and install to $PREFIX (root: /usr/local/bin, else ~/.local/bin)
#   ./install.sh --prefix DIR    install into DIR
#   ./install.sh --demo          ... then back up a demo database in a temporary folder (removed on exit)
#   ./install.sh --test-deps     only install what the test suite needs (see --help)
#   ./install.sh --uninstall     remove the installed binary
# Without root, a missing Bun is installed with npm under ~/.local (see usage below).
set -euo pipefail
cd "$(dirname "$0")"

usage() {
  cat <<'USAGE'
Usage: ./install.sh [--prefix DIR] [--demo] | --test-deps | --uninstall [--prefix DIR] | --help

Builds sqlbak from this checkout and installs the binary, the man page sqlbak(1)
(in the share/man/man1 folder beside the binary's folder, where man finds it
through PATH) and shell completions.
Installs Bun with npm first when it is missing: globally as root, otherwise
under ~/.local (no root needed). Safe to re-run: the binary is replaced in place.

Options:
  --prefix DIR   install the binary into DIR (default: /usr/local/bin as root, ~/.local/bin otherwise)
  --demo         after installing, back up a freshly made demo database in a temporary
                 folder, list it, and remove the folder again
  --test-deps    install only what the test suite needs and build nothing: Bun, the npm
                 packages, and with apt-get (sudo when not root) sqlite3, zstd, tmux, age,
                 python3, systemd (systemd-analyze), libxml2-utils, cron, zsh, util-linux,
                 openssh-client, openssh-server, chromium (the status page test), and
                 groff and man-db (the man page test), faketime for `bun run bench`; it
                 enables and starts no service
  --uninstall    remove the installed binary, man page and completions
  -h, --help     show this text
USAGE
}

if [ "$(id -u)" = 0 ]; then PREFIX=/usr/local/bin; else PREFIX="$HOME/.local/bin"; fi
MODE=install
DEMO=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --demo) DEMO=1; shift ;;
    --test-deps) MODE=test-deps; shift ;;
    --uninstall) MODE=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

ORIG_PATH=$PATH
say() { printf 'install.sh: %s\n' "$*" >&2; }

# --- shell completions (generated files in completions/) -----------------------
# Where each shell looks: system folders for root, the user's XDG folders otherwise.
completion_paths() {
  if [ "$(id -u)" = 0 ]; then
    echo "bash /usr/share/bash-completion/completions/sqlbak"
    echo "zsh /usr/local/share/zsh/site-functions/_sqlbak"
    echo "fish /usr/share/fish/vendor_completions.d/sqlbak.fish"
  else
    echo "bash ${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions/sqlbak"
    echo "zsh ${XDG_DATA_HOME:-$HOME/.local/share}/zsh/site-functions/_sqlbak"
    echo "fish ${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/sqlbak.fish"
  fi
}
# install_completions: bash always, zsh and fish when installed. With "remove": delete them all.
install_completions() {
  local shell path
  while read -r shell path; do
    if [ "${1:-}" = remove ]; then
      if [ -e "$path" ]; then rm -f "$path"; say "removed $path"; fi
    elif [ "$shell" = bash ] || command -v "$shell" >/dev/null 2>&1; then
      mkdir -p "$(dirname "$path")"
      install -m 0644 "completions/sqlbak.$shell" "$path"
      say "installed $shell completion: $path"
      if [ "$shell" = zsh ] && [ "$(id -u)" != 0 ]; then say "zsh: add fpath=($(dirname "$path") \$fpath) to ~/.zshrc before compinit"; fi
    fi
  done < <(completion_paths)
}
# --- end shell completions ------------------------------------------------------

# The man page beside the binary: PREFIX/../share/man/man1 (/usr/local/share/man/man1
# as root, ~/.local/share/man/man1 otherwise), which man-db searches for every PATH folder.
man_page_path() { echo "$(dirname "$PREFIX")/share/man/man1/sqlbak.1"; }

if [ "$MODE" = uninstall ]; then
  if [ -e "$PREFIX/sqlbak" ]; then rm -f "$PREFIX/sqlbak"; say "removed $PREFIX/sqlbak"; else say "nothing to remove at $PREFIX/sqlbak"; fi
  if [ -e "$(man_page_path)" ]; then rm -f "$(man_page_path)"; say "removed $(man_page_path)"; fi
  install_completions remove
  exit 0
fi

ensure_bun() {
  if command -v bun >/dev/null 2>&1; then return; fi
  # A Bun installed by an earlier non-root run.
  if [ -x "$HOME/.local/bin/bun" ]; then PATH="$HOME/.local/bin:$PATH"; return; fi
  command -v npm >/dev/null 2>&1 || { say "needs Bun (https://bun.sh), or npm to install it; install one of them and run ./install.sh again"; exit 1; }
  local global
  global=$(npm prefix -g 2>/dev/null || echo /usr/local)
  if [ -w "$global/lib" ] || { [ ! -e "$global/lib" ] && [ -w "$global" ]; }; then
    say "installing Bun with npm into $global"
    npm install -g bun >/dev/null || { say "npm install -g bun failed; install Bun yourself (https://bun.sh) and run ./install.sh again"; exit 1; }
  else
    # Not root: npm's global folder is not ours, so Bun goes under ~/.local (its bin is ~/.local/bin/bun).
    say "installing Bun with npm into $HOME/.local (npm's global folder $global is not writable)"
    mkdir -p "$HOME/.local"
    npm install -g --prefix "$HOME/.local" bun >/dev/null || { say "npm could not install Bun into $HOME/.local; install Bun yourself (https://bun.sh) and run ./install.sh again"; exit 1; }
    PATH="$HOME/.local/bin:$PATH"
    case ":$ORIG_PATH:" in *":$HOME/.local/bin:"*) ;; *) say "note: Bun is in $HOME/.local/bin, which is not on your PATH" ;; esac
  fi
  command -v bun >/dev/null 2>&1 || { say "npm installed Bun but it is not on PATH ($global/bin); add that folder to PATH and run ./install.sh again"; exit 1; }
}

apt_install() {
  local missing=()
  # Each argument is a command, or COMMAND:PACKAGE when the Debian package is named differently.
  for tool in "$@"; do command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}"); done
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 || { say "please install: ${missing[*]}"; exit 1; }
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing ${missing[*]} with apt-get"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_bun
bun install --frozen-lockfile >/dev/null
say "Bun $(bun --version), dependencies installed"

if [ "$MODE" = test-deps ]; then
  say "test dependencies: sqlite3 zstd tmux age python3 systemd-analyze xmllint cron zsh setpriv mount sftp ssh-keygen sshd prlimit faketime chromium promtool groff man rclone (missing ones come from apt-get; sqlbak enables no service, though on a systemd host some packages, such as prometheus and openssh-server, start their own)"
  apt_install sqlite3 zstd tmux age:age age-keygen:age python3 systemd-analyze:systemd xmllint:libxml2-utils crontab:cron zsh setpriv:util-linux mount \
    sftp:openssh-client ssh-keygen:openssh-client sshd:openssh-server prlimit:util-linux faketime \
    chromium promtool:prometheus groff:groff-base man:man-db rclone
  exit 0
fi

bun run --silent build >/dev/null
mkdir -p "$PREFIX"
install -m 0755 dist/sqlbak "$PREFIX/sqlbak.new"
mv -f "$PREFIX/sqlbak.new" "$PREFIX/sqlbak"
say "installed $PREFIX/sqlbak ($("$PREFIX/sqlbak" --version))"
case ":$PATH:" in *":$PREFIX:"*) ;; *) say "note: $PREFIX is not on your PATH" ;; esac
mkdir -p "$(dirname "$(man_page_path)")"
install -m 0644 man/sqlbak.1 "$(man_page_path)"
say "installed the man page: $(man_page_path)"
install_completions

if [ "$DEMO" = 1 ]; then
  demo=$(mktemp -d "${TMPDIR:-/tmp}/sqlbak-demo.XXXXXX")
  trap 'rm -rf "$demo"' EXIT
  bun scripts/demo-db.ts "$demo/demo.db" >/dev/null
  say "backing up a demo database: $demo/demo.db"
  "$PREFIX/sqlbak" backup "$demo/demo.db" --backup-dir "$demo/backups"
  "$PREFIX/sqlbak" list --backup-dir "$demo/backups"
  say "demo done; its temporary folder $demo is removed on exit"
fi

say "next: write a config (see sqlbak.example.toml) to /etc/sqlbak/config.toml or ~/.config/sqlbak/config.toml, then run: sqlbak backup (a first backup) and sqlbak install-schedule --apply (the nightly backup, weekly restore test and health check)"
