#!/bin/sh
# Boot integration: make install ships the systemd unit, make
# install-systemd QHOME=DIR installs it for an instance; the unit is valid
# (systemd-analyze verify, or its fields checked), and its ExecStart and
# ExecStop lines, run by hand, start the instance and stop it cleanly.
# Nothing is installed outside the test's directory; /usr/sbin/sendmail
# and systemd's own configuration are left alone.
. "$(dirname "$0")/lib.sh"

plan 11

D=$T_TMP/destdir
make -s -C "$T_ROOT" install DESTDIR="$D" PREFIX=/usr/local QHOME=/var/qmta >"$T_TMP/make.out" 2>&1
is $? 0 "make install DESTDIR=..."
U=$D/usr/local/share/qmta/qmta.service
ok "the unit is shipped in PREFIX/share/qmta" grep -qx 'ExecStart=.*/s6-svscan /var/qmta/service' "$U"
ok "qconf and its page are installed" sh -c "test -x '$D/usr/local/bin/qconf' && test -f '$D/usr/local/share/man/man8/qconf.8'"

make -s -C "$T_ROOT" install-systemd DESTDIR="$D" QHOME="$QHOME" >"$T_TMP/make.out" 2>&1
is $? 0 "make install-systemd QHOME=..."
U=$D/etc/systemd/system/qmta.service
ok "... into /etc/systemd/system, for that instance" grep -qx "ExecStart=.*/s6-svscan $QHOME/service" "$U"
make -s -C "$T_ROOT" install-systemd DESTDIR="$D/rel" QHOME=var/qmta >/dev/null 2>&1
ok "a relative QHOME is refused" [ $? -ne 0 ] && [ ! -e "$D/rel/etc/systemd/system/qmta.service" ]

if command -v systemd-analyze >/dev/null 2>&1; then
  out=$(systemd-analyze verify --man=no "$U" 2>&1); rc=$?
  is "$rc:$out" "0:" "systemd-analyze verify: clean"
else
  field() { sed -n "/^\[$1\]/,/^\[/s/^$2=//p" "$U"; }
  start=$(field Service ExecStart)
  ok "fields: ExecStart an executable, WantedBy multi-user.target" sh -c "
    test -x '${start%% *}' && test '$(field Install WantedBy)' = multi-user.target &&
    test -n '$(field Unit Description)'"
fi
ok "stopping asks s6 to bring the services down" grep -qx "ExecStop=.*/s6-svscanctl -t $QHOME/service" "$U"

# ExecStart and ExecStop as systemd would run them
inst_setup --smtp 127.0.0.1:$(free_port)
start=$(sed -n 's/^ExecStart=//p' "$U")
stop=$(sed -n 's/^ExecStop=//p' "$U")
# shellcheck disable=SC2086
$start >"$T_TMP/svscan.out" 2>&1 &
SVSCAN_PID=$!
ok "ExecStart: every service up" sh -c "
  for s in qsend tlsd smtp; do
    i=0; while [ ! -f '$QHOME/service/'\$s/supervise/status ] && [ \$i -lt 200 ]; do sleep 0.1; i=\$((i + 1)); done
    s6-svwait -U -t 20000 '$QHOME/service/'\$s || exit 1
  done"
# shellcheck disable=SC2086
$stop
i=0
while kill -0 "$SVSCAN_PID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
ok "ExecStop: s6-svscan ends by itself" sh -c "! kill -0 $SVSCAN_PID 2>/dev/null"
wait "$SVSCAN_PID" 2>/dev/null
ok "... with no supervisor left behind" sh -c "! s6-svok '$QHOME/service/qsend' && ! s6-svok '$QHOME/service/smtp'"
[ -n "$(kill -0 "$SVSCAN_PID" 2>/dev/null && echo alive)" ] || SVSCAN_PID=
