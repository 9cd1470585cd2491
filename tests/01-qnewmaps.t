#!/bin/sh
# qnewmaps and qpasswd: every map compiles into a CDB that tinycdb's
# `cdb -q` reads, a syntax error keeps the old map and names file and
# line, owner and mode of a map survive recompiling, qpasswd hashes.
. "$(dirname "$0")/lib.sh"

plan 47

inst_setup
C=$QHOME/control
q() { cdb -q "$C/$1.cdb" "$2" 2>/dev/null | tr '\0' '|'; }

cat > "$C/users" <<'EOF'
# virtual users
postmaster@test.example:!
Bob@Test.Example:$6$saltsalt$Yx1Zr7cwC7Tq2c5yZzF1:/srv/bob/Maildir/
EOF
cat > "$C/aliases" <<'EOF'
info: bob@test.example, "|/usr/bin/logger -t info", /var/mail/info
  , carol@example.org
@other.example: %1@test.example
gone: error:5.1.1 gone, sorry
EOF
cat > "$C/access" <<'EOF'
192.168.7 RELAY
Connect:10.0.0.1 REJECT
IPv6:2001:db8 RELAY
From:spam@example.com DISCARD
To:example.net ERROR:5.7.1:550 no thanks
EOF
cat > "$C/generics" <<'EOF'
joe joe.smith@example.org
root@host.test.example admin@example.org
EOF
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is $? 0 "qnewmaps compiles every map"
is "$(cat "$T_TMP/out")" "" "and says nothing"

is "$(q users bob@test.example)" '/srv/bob/Maildir/|' "users: lowercased key and mailbox"
is "$(q passwords bob@test.example)" '$6$saltsalt$Yx1Zr7cwC7Tq2c5yZzF1|' "passwords: lowercased key and hash"
is "$(q users postmaster@test.example)" 'mail/test.example/postmaster/|' "users: default mailbox"
is "$(q passwords postmaster@test.example)" '!|' "passwords: no password"
ok "no hash in users.cdb" sh -c "! grep -q saltsalt '$C/users.cdb'"
is "$(stat -c %a:%G "$C/passwords.cdb")" "640:qmta-auth" "passwords.cdb: 0640, group qmta-auth"
is "$(q aliases info)" 'bob@test.example||/usr/bin/logger -t info|/var/mail/info|carol@example.org|' \
  "aliases: targets in order, quotes removed, continuation"
is "$(q aliases @other.example)" '%1@test.example|' "aliases: catch-all"
is "$(q aliases gone)" 'error:5.1.1 gone, sorry|' "aliases: error: with its text"
is "$(q aliases postmaster)" 'postmaster@test.example|' "aliases: postmaster added"
is "$(q aliases mailer-daemon)" 'postmaster@test.example|' "aliases: mailer-daemon added"
is "$(q access '*:192.168.7')" RELAY "access: untagged IP prefix"
is "$(q access 'c:10.0.0.1')" REJECT "access: Connect: tag"
is "$(q access '*:ipv6:2001:db8')" RELAY "access: IPv6 prefix"
is "$(q access 'f:spam@example.com')" DISCARD "access: From: address"
is "$(q access 't:example.net')" 'ERROR:5.7.1:550 no thanks' "access: To: with ERROR"
is "$(q generics joe)" joe.smith@example.org "generics: user"
is "$(q generics root@host.test.example)" admin@example.org "generics: user@host"
is "$(q tcp.smtp 192.168.7.)" '+RELAYCLIENT=|' "tcp rules: RELAY prefix for tcpserver"
is "$(q tcp.smtp 2001:db8:)" '+RELAYCLIENT=|' "tcp rules: IPv6 prefix"
is "$(q tcp.smtp 10.0.0.1)" '' "tcp rules: nothing for REJECT"

# Errors: one line each with file and line, exit 100, old maps kept.
cp "$C/aliases.cdb" "$T_TMP/aliases.before"
cp "$C/access.cdb" "$T_TMP/access.before"
printf 'ok: bob\nno colon here\nx: :include:relative\n' > "$C/aliases"
printf '10.0.0.300 RELAY\nexample.org MAYBE\n' > "$C/access"
printf 'joe joe@example.org\nfred\n' > "$C/generics"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is $? 100 "syntax errors: exit 100"
ok "error names file and line (aliases:2)" grep -q '^qnewmaps: control/aliases:2: ' "$T_TMP/out"
ok "error names file and line (aliases:3)" grep -q '^qnewmaps: control/aliases:3: ' "$T_TMP/out"
ok "error names file and line (access:1, access:2)" sh -c "grep -q 'control/access:1: ' '$T_TMP/out' && grep -q 'control/access:2: ' '$T_TMP/out'"
ok "error names file and line (generics:2)" grep -q 'control/generics:2: ' "$T_TMP/out"
ok "old aliases.cdb kept byte for byte" cmp -s "$C/aliases.cdb" "$T_TMP/aliases.before"
ok "old access.cdb kept byte for byte" cmp -s "$C/access.cdb" "$T_TMP/access.before"
ok "no temp files left" sh -c "! ls '$C' | grep -q tmp"
is "$(q passwords bob@test.example | cut -c1-3)" '$6$' "a good map is still compiled beside bad ones"

# error: in sendmail's forms compiles; a code that is no code does not
printf 'a: error:5.7.0:550 Address invalid\nb: error:No such user\nc: error:551 moved away\n' > "$C/aliases"
: > "$C/access"; : > "$C/generics"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is $? 0 "error:x.y.z:nnn text, error:text and error:nnn text compile"
is "$(q aliases a)" 'error:5.7.0:550 Address invalid|' "... kept as written"
printf 'a: error:5.1 gone\nb: error:5.7.0:450 mixed\nc: error:\n' > "$C/aliases"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is "$(grep -c '^qnewmaps: control/aliases:[123]: error:' "$T_TMP/out")" 3 \
  "error: with a broken code, a class mismatch, or nothing: an error each"

# sendmail's quoted ERROR:"550 text" in access compiles; an unclosed quote does not
printf 'x: bob\n' > "$C/aliases"
printf 'From:spam.example ERROR:"550 We do not accept mail from spammers"\n' > "$C/access"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is "$?:$(q access f:spam.example)" '0:ERROR:"550 We do not accept mail from spammers"' \
  "access: ERROR:\"550 text\" compiles"
printf 'From:spam.example ERROR:"550 no end\n' > "$C/access"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
ok "access: ERROR: with an unclosed quote is an error" grep -q 'control/access:1: ERROR: a quote' "$T_TMP/out"
: > "$C/access"

# users: a plaintext password is refused
printf 'eve@test.example:secret\n' >> "$C/users"
printf 'x: bob\n' > "$C/aliases"; : > "$C/access"; : > "$C/generics"
qnewmaps "$QHOME" > "$T_TMP/out" 2>&1
is $? 100 "a plaintext password in users is an error"
sed -i '/^eve/d' "$C/users"

# owner and mode survive
chmod 600 "$C/aliases.cdb"; chgrp qmta-log "$C/aliases.cdb"
qnewmaps "$QHOME" >/dev/null 2>&1
is "$(stat -c %a:%G "$C/aliases.cdb")" "600:qmta-log" "recompiling keeps owner and mode"

# qpasswd
printf 'sekrit\n' | qpasswd "$QHOME" Alice@Test.Example > "$T_TMP/out" 2>&1
is $? 0 "qpasswd adds a user"
h=$(q passwords alice@test.example | cut -d'|' -f1)
ok "yescrypt or SHA-512 hash, no plaintext" sh -c "case '$h' in '\$y\$'*|'\$6\$'*) ! grep -q sekrit '$C/users' ;; *) false ;; esac"
ok "the hash verifies the password" python3 -c "
import sys, ctypes, ctypes.util
lib = ctypes.CDLL(ctypes.util.find_library('crypt'))
lib.crypt.restype = ctypes.c_char_p
h = sys.argv[1].encode()
sys.exit(0 if lib.crypt(b'sekrit', h) == h else 1)" "$h"
ok "Maildir made for the user, owned by qmta-vmail" sh -c "
  d='$QHOME/mail/test.example/alice'; test -d \$d/new && test -d \$d/cur && test -d \$d/tmp &&
  test \"\$(stat -c %U \$d/new)\" = qmta-vmail"
printf 'other\n' | qpasswd "$QHOME" alice@test.example >/dev/null 2>&1
h2=$(q passwords alice@test.example | cut -d'|' -f1)
ok "qpasswd changes the password, one line" sh -c "[ '$h' != '$h2' ] && [ \$(grep -c '^alice@' '$C/users') = 1 ]"
printf 'x\n' | qpasswd "$QHOME" not-an-address >/dev/null 2>&1
is $? 100 "qpasswd refuses a bad address"
ok "no warning for a user of a local domain" sh -c "! grep -q warning '$T_TMP/out'"
printf 'x\n' | qpasswd "$QHOME" carol@elsewhere.example >"$T_TMP/out" 2>&1
rc=$?
ok "a user of a domain not in control/locals: added, with a warning" sh -c "[ $rc = 0 ] &&
  grep -qx 'qpasswd: warning: elsewhere.example is not in control/locals: no mail is delivered to this user until it is' '$T_TMP/out'"
