# SMTP helpers shared by tests/30-32 (sourced after lib.sh).
# smtp_raw PORT FILE [SRCIP]: after the greeting, sends FILE in ONE write and
# prints everything the server says until it closes (at most 30 s), LF ends.
smtp_raw() {
  python3 - "$@" <<'PY'
import socket, sys
port, fn = int(sys.argv[1]), sys.argv[2]
s = socket.socket()
if len(sys.argv) > 3:
    s.bind((sys.argv[3], 0))
s.settimeout(30)
s.connect(("127.0.0.1", port))
got = b""
try:
    while not got.endswith(b"\r\n"):
        b = s.recv(4096)
        if not b:
            break
        got += b
    s.sendall(open(fn, "rb").read())
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
except (socket.timeout, ConnectionError) as e:
    got += b"\r\n#" + str(e).encode() + b"\r\n"
sys.stdout.write(got.decode("latin-1").replace("\r\n", "\n"))
PY
}
# codes: the codes of the last line of each reply, blank-separated.
codes() { grep -E '^[0-9]{3} ' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }
# is_codes WANT NAME: the reply codes in $OUT; shows the transcript when they differ.
is_codes() {
  if [ "$(codes <"$OUT")" = "$1" ]; then pass "$2"; else
    fail "$2"; diag "want: $1"; sed 's/^/#   /' "$OUT"
  fi
}
queue_empty() { [ -z "$(find "$QHOME/queue/new" "$QHOME/queue/mess" -type f 2>/dev/null)" ]; }
