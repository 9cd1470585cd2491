# Shared helpers for the integration tests (sourced by tests/*.t, POSIX sh).
#
#   . "$(dirname "$0")/lib.sh"
#   plan 5
#   inst_setup --smtp 127.0.0.1:$(free_port)    # qsetup "$QHOME" --me test.example ...
#   inst_start                                  # s6-svscan, waits for readiness
#   ok "$(cat file)" "description"  /  is "$got" "$want" "description"
#   (inst_stop and removal of the temp dir run from the EXIT trap)
#
# Every wait is bounded; only processes started here are killed, by PID.
# s6-svscan runs in the background: wait for your own PIDs, never a bare "wait".

T_ROOT=$(cd "$(dirname "$0")/.." && pwd)
PATH="$T_ROOT/bin:$PATH"
export PATH
T_TMP=$(mktemp -d /tmp/qmta-test.XXXXXX) || exit 1
chmod 755 "$T_TMP"
QHOME="$T_TMP/inst"
export QHOME
T_NUM=0
T_FAIL=0
SVSCAN_PID=

plan() { echo "1..$1"; }
diag() { printf '# %s\n' "$*"; }
pass() { T_NUM=$((T_NUM + 1)); echo "ok $T_NUM - $1"; }
fail() { T_NUM=$((T_NUM + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_NUM - $1"; }
# ok CONDITION-COMMAND... : runs the command; passes if it exits 0.
#   ok "name" test -f file
ok() { name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# is GOT WANT NAME
is() {
  if [ "$1" = "$2" ]; then pass "$3"; else
    fail "$3"; diag "got:  '$1'"; diag "want: '$2'"
  fi
}
bail() { echo "Bail out! $*"; exit 1; }

# free_port [IP]: a TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1]); s.close()' "${1:-127.0.0.1}"
}

# sink_start DIR IP:PORT... [OPTION...]: tests/smtpsink.py in the
# background, recording into DIR; returns once it listens. It is stopped
# at exit (SINK_PID).
SINK_PID=
sink_start() {
  python3 "$T_ROOT/tests/smtpsink.py" "$@" >"$T_TMP/sink.out" 2>&1 &
  SINK_PID=$!
  wait_for 20 test -e "$1/ready" || bail "smtpsink did not start"
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until COMMAND succeeds.
wait_for() {
  w_limit=$(( $1 * 10 )); shift
  w_i=0
  while [ $w_i -lt $w_limit ]; do
    "$@" 2>/dev/null && return 0
    sleep 0.1
    w_i=$((w_i + 1))
  done
  return 1
}

# count_files DIR: number of plain files in DIR (0 if none).
count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l | tr -d ' '; }
# maildir_count DIR: messages in new/ and cur/ of a Maildir.
maildir_count() { echo $(( $(count_files "$1/new") + $(count_files "$1/cur") )); }
has_mail() { [ "$(maildir_count "$1")" -ge "${2:-1}" ]; }

inst_setup() {
  qsetup "$QHOME" --me test.example "$@" >"$T_TMP/qsetup.out" 2>&1 ||
    { cat "$T_TMP/qsetup.out" >&2; bail "qsetup failed"; }
}

# inst_start: runs s6-svscan on the instance and waits until every service
# that supports readiness is up (at most 20 s).
# Every port-25 session asks DNS (SPF, DKIM, DMARC), and qremote asks for
# MX records: unless the test wrote its own control/resolvers, they go to
# the run's NXDOMAIN server (tests/nxdns.py, $QMTA_TEST_DNS, started by
# tools/runtests.sh), else to a loopback port where nothing listens, so
# that each lookup ends at once and nothing leaves the host.
inst_start() {
  [ -e "$QHOME/control/resolvers" ] ||
    echo "${QMTA_TEST_DNS:-127.0.0.1:$(free_port)}" >"$QHOME/control/resolvers"
  s6-svscan "$QHOME/service" >"$T_TMP/svscan.out" 2>&1 &
  SVSCAN_PID=$!
  for svc in "$QHOME"/service/*/; do
    svc=${svc%/}
    [ -f "$svc/notification-fd" ] || continue
    wait_for 20 test -f "$svc/supervise/status" || bail "no supervisor for $svc"
    s6-svwait -U -t 20000 "$svc" || bail "service $(basename "$svc") not ready"
  done
}

# freeze PID: stops PID, then everything below it, top down, and prints
# them all. A stopped process forks nothing new, so a kill -9 of the list
# leaves nothing behind (s6-svscan killed alone leaves its supervisors
# running; a supervisor killed first is restarted by s6-svscan).
freeze() {
  kill -STOP "$1" 2>/dev/null
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    freeze "$c"
  done
}

inst_stop() {
  [ -n "$SVSCAN_PID" ] || return 0
  s6-svscanctl -t "$QHOME/service" 2>/dev/null
  w=0
  while kill -0 "$SVSCAN_PID" 2>/dev/null && [ $w -lt 150 ]; do sleep 0.1; w=$((w + 1)); done
  if kill -0 "$SVSCAN_PID" 2>/dev/null; then
    diag "s6-svscan did not stop in 15 s: killing its tree"
    # shellcheck disable=SC2046
    kill -9 $(freeze "$SVSCAN_PID") 2>/dev/null
  fi
  wait "$SVSCAN_PID" 2>/dev/null
  SVSCAN_PID=
}

# log_of SERVICE: what the service logged (log/SERVICE/current).
log_of() { cat "$QHOME/log/$1/current" 2>/dev/null; }

# login_account PREFIX: (root, with useradd) a throwaway login account
# PREFIX<pid> with its own home (0700), for the "me" domain of a root
# instance; sets SYSU and SYSHOME. The EXIT trap stops the instance
# first (userdel refuses while a worker still runs as the account), then
# removes the account.
login_account() {
  SYSU="$1$$"
  SYSHOME="$T_TMP/home-$SYSU"
  trap login_cleanup EXIT
  useradd -M -d "$SYSHOME" -s /usr/sbin/nologin "$SYSU" >/dev/null 2>&1 || bail "useradd failed"
  mkdir "$SYSHOME" && chown "$SYSU" "$SYSHOME" && chmod 700 "$SYSHOME" || bail "no home"
}
login_cleanup() {
  l_rc=$?
  inst_stop
  l_w=0
  while pgrep -u "$SYSU" >/dev/null 2>&1 && [ $l_w -lt 50 ]; do sleep 0.1; l_w=$((l_w + 1)); done
  userdel "$SYSU" >/dev/null 2>&1
  (exit $l_rc)
  t_cleanup
}

t_cleanup() {
  t_rc=$?
  [ -z "$SINK_PID" ] || kill "$SINK_PID" 2>/dev/null
  inst_stop
  if [ -n "$KEEP" ]; then diag "kept $T_TMP"; else rm -rf "$T_TMP"; fi
  if [ "$T_FAIL" -gt 0 ]; then exit 1; fi
  exit $t_rc
}
trap t_cleanup EXIT
trap 'exit 1' INT TERM
