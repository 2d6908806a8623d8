# shellcheck shell=bash
# Sourced by bin/taskbatch and bin/test: exports JAVA_HOME pointing at a JDK 21 or newer.
# Order: $JAVA_HOME, the java on PATH, then the newest JDK under /usr/lib/jvm.

# The feature version (17, 21, 25) of the JDK at $1: from its release file, which every JDK image has (read by the
# shell itself: starting a JVM to ask it cost a quarter of a second before every command), else from the JVM.
java_feature_version() {
  local line
  if [ -r "$1/release" ]; then
    while IFS= read -r line; do
      if [[ $line =~ ^JAVA_VERSION=\"([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
        return 0
      fi
    done <"$1/release"
  fi
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

# Takes $1 if it is a JDK 21 or newer.
use_java_home() {
  local version
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  version=$(java_feature_version "$1")
  [ -n "$version" ] && [ "$version" -ge 21 ] || return 1
  export JAVA_HOME="$1"
  export TASKBATCH_JAVA_VERSION="$version"
}

select_java_home() {
  local candidate
  [ -n "${JAVA_HOME:-}" ] && use_java_home "$JAVA_HOME" && return 0
  if command -v java >/dev/null 2>&1; then
    use_java_home "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" && return 0
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -Vr); do
    use_java_home "${candidate%/}" && return 0
  done
  echo "taskbatch needs a JDK 21 or newer (found none in JAVA_HOME, on PATH or under /usr/lib/jvm)." >&2
  echo "Install one (for example Temurin 21 or 25) and set JAVA_HOME to it." >&2
  return 1
}
