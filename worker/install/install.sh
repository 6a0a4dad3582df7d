#!/bin/sh
# Installs cco from its release broker:
#
#   curl -fsSL https://BROKER/install.sh | sh
#   curl -fsSL https://BROKER/install.sh | sh -s -- --channel beta --install-dir /opt/bin
#
# It reads the channel's signed manifest, checks its Ed25519 signature with `openssl` against
# the keys written below (or says loudly that it relies on TLS alone), downloads the archive
# the manifest names for this platform, checks its size and sha256, and installs the `cco`
# binary inside it atomically. Everything from the network is treated as hostile: nothing from
# it is ever evaluated, and only values of an expected shape are used.
#
# POSIX sh (dash, busybox sh, bash, zsh in sh mode); curl or wget; tar with gzip; awk;
# sha256sum, shasum or openssl for the digest.

# The broker writes these four lines when it serves this file (worker/install/render.ts):
# its public URL, the product name, its channels and the public halves of its signing keys
# (base64 of each key's DER SubjectPublicKeyInfo).
CCO_BROKER_URL=''
CCO_PRODUCT=''
CCO_CHANNELS=''
CCO_TRUSTED_KEYS=''

# Everything runs inside main, called on the last line: `curl … | sh` hands the shell this
# script on stdin, so a half-downloaded script must run nothing, and no command may read
# the rest of the script as its input.
main() {
  set -u
  umask 022
  channel=${CCO_CHANNEL:-stable}
  install_dir=${CCO_INSTALL_DIR:-}
  force=0
  require_signature=0
  case ${CCO_REQUIRE_SIGNATURE:-} in 1 | true | yes) require_signature=1 ;; esac
  while [ $# -gt 0 ]; do
    case $1 in
      --channel) [ $# -ge 2 ] || die "--channel needs a value"; channel=$2; shift 2 ;;
      --channel=*) channel=${1#*=}; shift ;;
      --install-dir) [ $# -ge 2 ] || die "--install-dir needs a value"; install_dir=$2; shift 2 ;;
      --install-dir=*) install_dir=${1#*=}; shift ;;
      --force) force=1; shift ;;
      --require-signature) require_signature=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option: $1 (see --help)" ;;
    esac
  done

  case $CCO_BROKER_URL in
    http://* | https://*) ;;
    *) die "this copy of the script has no broker address: download it from your broker (curl -fsSL https://BROKER/install.sh | sh)" ;;
  esac
  case $channel in
    '' | *[!a-z0-9-]*) die "--channel must be one of: $CCO_CHANNELS" ;;
  esac
  case " $CCO_CHANNELS " in
    *" $channel "*) ;;
    *) die "unknown channel $channel (channels: $CCO_CHANNELS)" ;;
  esac
  if [ -z "$install_dir" ]; then
    [ -n "${HOME:-}" ] || die "HOME is not set: pass --install-dir or set CCO_INSTALL_DIR"
    install_dir=$HOME/.local/bin
  fi

  detect_platform
  pick_tools

  work=$(mktemp -d 2>/dev/null || mktemp -d -t cco-install) || die "cannot create a temporary directory"
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  mkdir -p -- "$install_dir" || die "cannot create $install_dir"
  install_dir=$(cd -- "$install_dir" && pwd -P) || die "cannot enter $install_dir"
  target=$install_dir/cco
  check_existing

  say "Installing cco from $CCO_BROKER_URL (channel $channel, $platform)"
  read_manifest
  download_archive
  install_binary
}

usage() {
  cat <<EOF
Installs cco from $CCO_BROKER_URL

usage: curl -fsSL $CCO_BROKER_URL/install.sh | sh -s -- [options]

options:
  --channel NAME        release channel: $CCO_CHANNELS (default stable; env CCO_CHANNEL)
  --install-dir DIR     where cco goes (default ~/.local/bin; env CCO_INSTALL_DIR)
  --force               install even if cco is already installed there
  --require-signature   refuse to install when openssl cannot check the manifest's
                        signature (env CCO_REQUIRE_SIGNATURE=1)
  -h, --help            this help
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

cleanup() {
  # A refusal or an interruption leaves nothing behind: not the temporary directory, not a
  # half-written binary beside the target.
  [ -n "${partial:-}" ] && rm -f -- "$partial"
  [ -n "${work:-}" ] && rm -rf -- "$work"
}

detect_platform() {
  os=$(uname -s)
  arch=$(uname -m)
  case $os in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      die "this script installs on Linux and macOS; on Windows download $CCO_BROKER_URL/v1/channels/$channel/download/windows-x86_64 and unzip cco.exe" ;;
    *) die "unsupported operating system: $os" ;;
  esac
  case $arch in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64 | armv8*) arch=arm64 ;;
    *) die "unsupported CPU: $arch (builds exist for x86_64 and arm64)" ;;
  esac
  # A shell under Rosetta 2 reports x86_64 on Apple Silicon: install the native build.
  if [ "$os" = darwin ] && [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null)" = 1 ]; then
    arch=arm64
  fi
  if [ "$os" = linux ] && [ "$arch" = arm64 ]; then arch=aarch64; fi
  platform=$os-$arch
}

pick_tools() {
  if command -v curl >/dev/null 2>&1; then
    downloader=curl
  elif command -v wget >/dev/null 2>&1; then
    downloader=wget
  else
    die "neither curl nor wget is installed"
  fi
  if printf 'YQ==' | base64 -d 2>/dev/null | grep -q '^a$'; then
    base64_tool=base64
  elif command -v openssl >/dev/null 2>&1; then
    base64_tool=openssl
  else
    die "neither base64 nor openssl is installed"
  fi
  command -v tar >/dev/null 2>&1 || die "tar is not installed"
  command -v awk >/dev/null 2>&1 || die "awk is not installed"
}

# fetch URL FILE: the body of a successful (2xx) answer, following redirects.
fetch() {
  if [ "$downloader" = curl ]; then
    curl -fsSL --proto '=http,https' --proto-redir '=http,https' -o "$2" "$1"
  else
    wget -q -O "$2" "$1"
  fi
}

# b64url_decode TEXT FILE
b64url_decode() {
  case $1 in *[!A-Za-z0-9_-]*) return 1 ;; esac
  b64=$(printf '%s' "$1" | tr '_-' '/+')
  case $((${#b64} % 4)) in
    1) return 1 ;;
    2) b64=$b64== ;;
    3) b64=$b64= ;;
  esac
  if [ "$base64_tool" = base64 ]; then
    printf '%s' "$b64" | base64 -d >"$2" 2>/dev/null
  else
    printf '%s' "$b64" | openssl base64 -d -A >"$2" 2>/dev/null
  fi
}

file_size() { wc -c <"$1" | tr -d ' '; }

# Refuses a document with any control byte: the broker's JSON has none (it is compact and
# escapes them), and without them the parser below can rely on one line, no tabs.
check_no_controls() {
  [ "$(LC_ALL=C tr -d '\000-\037\177' <"$1" | wc -c | tr -d ' ')" = "$(file_size "$1")" ]
}

# json_paths FILE: one "path<TAB>value" line per scalar of the JSON document in FILE
# ("/release/assets/linux-x86_64/url<TAB>https://…"; strings without their quotes and with
# their escapes left as written). Anything that is not well-formed JSON fails. Keys outside
# [A-Za-z0-9_.-] become "?", so they never match a path this script asks for.
json_paths() {
  check_no_controls "$1" || return 1
  LC_ALL=C awk '
    function fail(why) { printf "malformed JSON: %s at byte %d\n", why, pos > "/dev/stderr"; failed = 1; exit 1 }
    function ws() { while (substr(s, pos, 1) == " ") pos++ }
    function str(   t) {
      if (!match(substr(s, pos), /^"([^"\\]|\\["\\\/bfnrt]|\\u[0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f][0-9A-Fa-f])*"/)) fail("bad string")
      t = substr(s, pos + 1, RLENGTH - 2)
      pos += RLENGTH
      return t
    }
    function value(path, depth,   c, k, n) {
      if (depth > 16) fail("too deep")
      ws()
      c = substr(s, pos, 1)
      if (c == "{" || c == "[") {
        pos++
        ws()
        if (substr(s, pos, 1) == (c == "{" ? "}" : "]")) { pos++; return }
        for (n = 0; ; n++) {
          if (c == "{") {
            ws()
            if (substr(s, pos, 1) != "\"") fail("key expected")
            k = str()
            if (k !~ /^[A-Za-z0-9_.-]+$/) k = "?"
            ws()
            if (substr(s, pos, 1) != ":") fail("colon expected")
            pos++
            value(path "/" k, depth + 1)
          } else value(path "/" n, depth + 1)
          ws()
          k = substr(s, pos, 1)
          pos++
          if (k == (c == "{" ? "}" : "]")) return
          if (k != ",") fail("comma expected")
        }
      }
      if (c == "\"") { k = str(); print path "\t" k; return }
      if (match(substr(s, pos), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
        print path "\t" substr(s, pos, RLENGTH); pos += RLENGTH; return
      }
      if (substr(s, pos, 4) == "true" || substr(s, pos, 4) == "null") { print path "\t" substr(s, pos, 4); pos += 4; return }
      if (substr(s, pos, 5) == "false") { print path "\t" "false"; pos += 5; return }
      fail("value expected")
    }
    { s = s $0; lines++ }
    END {
      if (failed) exit 1
      if (lines != 1) { pos = 0; fail("not one line") }
      pos = 1
      value("", 0)
      ws()
      if (pos <= length(s)) fail("trailing data")
    }
  ' "$1"
}

# json_get PATHS-FILE PATH: the one value at PATH (fails when absent or given twice).
json_get() {
  awk -F '\t' -v p="$2" '$1 == p { n++; v = $2 } END { if (n != 1) exit 1; print v }' "$1"
}

# Whether this openssl verifies Ed25519 (OpenSSL 3: `pkeyutl -rawin`), proven on the test
# vector of RFC 8032 (section 7.1, TEST 2) rather than guessed from a version string.
openssl_verifies_ed25519() {
  command -v openssl >/dev/null 2>&1 || return 1
  printf 'r' >"$work/probe.msg"
  b64url_decode kqAJqfDUyrhyDoILX2QlQKKye1QWUD-Ps3YiI-vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA "$work/probe.sig" || return 1
  pem MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw= >"$work/probe.pem"
  openssl pkeyutl -verify -pubin -inkey "$work/probe.pem" -rawin -in "$work/probe.msg" -sigfile "$work/probe.sig" >/dev/null 2>&1
}

pem() { printf -- '-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n' "$1"; }

read_manifest() {
  fetch "$CCO_BROKER_URL/v1/channels/$channel/manifest" "$work/manifest" ||
    die "could not download the manifest of channel $channel from $CCO_BROKER_URL"
  [ "$(file_size "$work/manifest")" -le 65536 ] || die "the manifest is larger than 64 KiB: refusing it"
  json_paths "$work/manifest" >"$work/manifest.tsv" || die "the manifest is not a signed manifest (malformed JSON): refusing it"
  payload_b64=$(json_get "$work/manifest.tsv" /payload) || die "the manifest has no payload: refusing it"
  b64url_decode "$payload_b64" "$work/payload.json" || die "the manifest's payload is not base64url: refusing it"

  if openssl_verifies_ed25519; then
    verify_signature
  elif [ "$require_signature" = 1 ]; then
    die "openssl cannot verify Ed25519 signatures here (OpenSSL 3 is needed), and a verified signature was required: nothing installed"
  else
    warn "openssl cannot verify Ed25519 signatures here (OpenSSL 3 is needed): the manifest's signature is NOT checked, this install relies on TLS alone. Install OpenSSL 3, or pass --require-signature (CCO_REQUIRE_SIGNATURE=1) to refuse instead."
  fi

  json_paths "$work/payload.json" >"$work/payload.tsv" || die "the manifest's payload is malformed JSON: refusing it"
  [ "$(json_get "$work/payload.tsv" /schema)" = 1 ] || die "the manifest's payload schema is not 1: this script is too old for it"
  [ "$(json_get "$work/payload.tsv" /product)" = "$CCO_PRODUCT" ] || die "the manifest is not for $CCO_PRODUCT: refusing it"
  [ "$(json_get "$work/payload.tsv" /channel)" = "$channel" ] || die "the manifest is not for channel $channel: refusing it"
  expires=$(json_get "$work/payload.tsv" /expires_at) || die "the manifest has no expiry: refusing it"
  case $expires in
    [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z) ;;
    *) die "the manifest's expiry is not a UTC time: refusing it" ;;
  esac
  now=$(date -u +%Y-%m-%dT%H:%M:%S)
  expires=$(printf '%s' "$expires" | cut -c1-19)
  # Plain text order is time order for this fixed layout.
  if awk -v a="$now" -v b="$expires" 'BEGIN { exit !(a > b) }'; then
    die "the manifest expired at $expires UTC (an old copy, or this machine's clock is wrong): refusing it"
  fi

  if [ "$(json_get "$work/payload.tsv" /release)" = null ]; then
    die "channel $channel has no release yet"
  fi
  version=$(json_get "$work/payload.tsv" /release/version) || die "the manifest names no version: refusing it"
  asset=/release/assets/$platform
  url=$(json_get "$work/payload.tsv" "$asset/url") || {
    die "release $version on $channel has no build for $platform"
  }
  size=$(json_get "$work/payload.tsv" "$asset/size") || die "the manifest gives no size for $platform: refusing it"
  sha256=$(json_get "$work/payload.tsv" "$asset/sha256") || die "the manifest gives no sha256 for $platform: refusing it"
  name=$(json_get "$work/payload.tsv" "$asset/name") || die "the manifest gives no file name for $platform: refusing it"

  # Only values of the expected shape go any further (into a command line, a message).
  case $version in
    '' | *[!0-9A-Za-z.+-]*) die "the manifest's version has unexpected characters: refusing it" ;;
  esac
  [ ${#version} -le 128 ] || die "the manifest's version is too long: refusing it"
  case $url in
    http://*/* | https://*/*) ;;
    *) die "the manifest's download URL is not http(s): refusing it" ;;
  esac
  case $url in
    *[!A-Za-z0-9._~:/%+-]*) die "the manifest's download URL has unexpected characters: refusing it" ;;
  esac
  case $size in
    '' | 0* | *[!0-9]*) die "the manifest's size is not a positive integer: refusing it" ;;
  esac
  [ ${#size} -le 12 ] || die "the manifest's size is implausible: refusing it"
  case $sha256 in
    *[!0-9a-f]*) die "the manifest's sha256 is not lowercase hex: refusing it" ;;
  esac
  [ ${#sha256} -eq 64 ] || die "the manifest's sha256 is not 64 hex digits: refusing it"
  case $name in
    *.tar.gz | *.tgz) ;;
    *) die "the build for $platform is not a .tar.gz archive: refusing it" ;;
  esac
}

verify_signature() {
  n=0
  while prot=$(json_get "$work/manifest.tsv" "/signatures/$n/protected"); do
    [ $n -lt 8 ] || break
    sig=$(json_get "$work/manifest.tsv" "/signatures/$n/signature") || break
    n=$((n + 1))
    # The header must be the manifest profile's: a signature by the same key over another
    # kind of document is not a manifest.
    b64url_decode "$prot" "$work/header.json" || continue
    json_paths "$work/header.json" >"$work/header.tsv" 2>/dev/null || continue
    [ "$(json_get "$work/header.tsv" /alg)" = EdDSA ] || continue
    [ "$(json_get "$work/header.tsv" /typ)" = cco-manifest+json ] || continue
    b64url_decode "$sig" "$work/sig" || continue
    [ "$(file_size "$work/sig")" = 64 ] || continue
    printf '%s.%s' "$prot" "$payload_b64" >"$work/signing-input"
    for key in $CCO_TRUSTED_KEYS; do
      pem "$key" >"$work/key.pem"
      if openssl pkeyutl -verify -pubin -inkey "$work/key.pem" -rawin -in "$work/signing-input" -sigfile "$work/sig" >/dev/null 2>&1; then
        say "Manifest signature verified"
        return 0
      fi
    done
  done
  die "the manifest's signature does not verify with the broker's keys (tampered with, or not from this broker): refusing it, nothing installed"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    die "no sha256sum, shasum or openssl to check the archive with"
  fi
}

download_archive() {
  say "Downloading cco $version ($size bytes)"
  fetch "$url" "$work/archive" || die "could not download $url"
  got=$(file_size "$work/archive")
  [ "$got" = "$size" ] || die "the archive is $got bytes, the manifest says $size: refusing it, nothing installed"
  got=$(sha256_of "$work/archive")
  [ "$got" = "$sha256" ] || die "the archive's sha256 is $got, the manifest says $sha256: refusing it, nothing installed"
  mkdir "$work/x" || die "cannot create a temporary directory"
  # Only the binary, by its exact name: nothing else in the archive is written anywhere.
  tar -xzf "$work/archive" -C "$work/x" cco 2>/dev/null || die "the archive holds no cco binary at its root"
  if [ ! -f "$work/x/cco" ] || [ -h "$work/x/cco" ]; then die "cco in the archive is not a regular file: refusing it"; fi
}

# Whether a process runs the file at $target (Linux: /proc; elsewhere: ps). The daemon runs
# from a private copy in its state dir (`…/run/cco-<version>-<pid>`) and carries the install
# path it stands for in CCO_DAEMON_INSTALL_PATH, so that copy counts too.
target_in_use() {
  if [ -d /proc/self ]; then
    for exe in /proc/[0-9]*/exe; do
      running=$(readlink "$exe" 2>/dev/null) || continue
      [ "$running" = "$target" ] && return 0
      case $running in
        */run/cco-*)
          tr '\000' '\n' <"${exe%/exe}/environ" 2>/dev/null | grep -Fqx -- "CCO_DAEMON_INSTALL_PATH=$target" && return 0 ;;
      esac
    done
    return 1
  fi
  # pgrep matches process names, not the full path of the executable that ps shows.
  # shellcheck disable=SC2009
  ps -A -o comm= 2>/dev/null | grep -Fqx -- "$target"
}

check_existing() {
  [ -e "$target" ] || [ -h "$target" ] || return 0
  [ -f "$target" ] || die "$target exists and is not a file: move it away first"
  if target_in_use; then
    die "cco is running from $target (the daemon?): run 'cco update' to update it in place, or stop it first ('cco daemon stop') and run this again"
  fi
  if [ "$force" = 0 ]; then
    current=$("$target" --version </dev/null 2>/dev/null | head -n 1 | tr -cd 'A-Za-z0-9 ._+-')
    say "cco is already installed at $target${current:+ ($current)}."
    say "To update it, run: cco update"
    say "To install it again anyway, run this script with --force."
    exit 0
  fi
}

install_binary() {
  # Prepare beside the target (same filesystem, so the rename is atomic), prove the new binary
  # runs, then swap: a reader of $target sees the old file or the new one, never a part.
  partial=$(mktemp "$install_dir/.cco.install.XXXXXX") || die "cannot write to $install_dir"
  cp "$work/x/cco" "$partial" || die "cannot write to $install_dir"
  chmod 755 "$partial" || die "cannot make $partial executable"
  got=$("$partial" --version </dev/null 2>/dev/null | head -n 1)
  [ "$got" = "cco $version" ] || die "the downloaded binary does not run here (its --version did not say cco $version): nothing installed"
  mv -f "$partial" "$target" || die "cannot replace $target"
  partial=
  got=$("$target" --version </dev/null 2>/dev/null | head -n 1)
  [ "$got" = "cco $version" ] || die "$target does not answer --version after the install"
  say "Installed cco $version to $target"
  case ":${PATH:-}:" in
    *":$install_dir:"*) say "Run: cco --help" ;;
    *)
      say "$install_dir is not on your PATH. Add it, e.g. in ~/.profile:"
      say "  export PATH=\"$install_dir:\$PATH\""
      ;;
  esac
}

main "$@"
