#!/bin/sh
# Writes the configuration of a private rspamd (Debian's rspamd 3.4) into
# DIR, for tests/75-rspamd.t and bench/milter-bench.sh:
#   sh tests/rspamd-conf.sh DIR MILTER_PORT NORMAL_PORT DNS_IP:PORT
# DIR/rspamd.conf takes the package's rules and actions from /etc/rspamd
# (common.conf) and has its own options, log and two workers on 127.0.0.1:
# a normal worker on NORMAL_PORT and a proxy worker in milter mode on
# MILTER_PORT that hands each message to it. DIR/local.d/ switches off
# every module that looks things up in DNS or fetches maps over HTTP (so a
# scan never leaves the host nor waits for a timeout), points rspamd's
# resolver at DNS_IP:PORT, and has milter_headers add its fields for every
# client (X-Spamd-Result, X-Rspamd-Server, X-Rspamd-Queue-Id,
# X-Rspamd-Action). No redis, no controller, no fuzzy storage. DIR/run,
# DIR/db and DIR/log belong to _rspamd, which the workers run as. Start it:
#   rspamd -f -u _rspamd -g _rspamd -c DIR/rspamd.conf --var CONFDIR=/etc/rspamd \
#     --var LOCAL_CONFDIR=DIR --var RUNDIR=DIR/run --var DBDIR=DIR/db --var LOGDIR=DIR/log
[ $# -eq 4 ] || { echo "rspamd-conf: usage: rspamd-conf.sh DIR MILTER_PORT NORMAL_PORT DNS" >&2; exit 100; }
dir=$1
mkdir -p "$dir/local.d" "$dir/run" "$dir/db" "$dir/log" || exit 111

cat >"$dir/rspamd.conf" <<EOF || exit 111
.include "\$CONFDIR/common.conf"
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
  type = "file";
  filename = "\$LOGDIR/rspamd.log";
  level = "info";
}
worker "normal" {
  bind_socket = "127.0.0.1:$3";
  .include "\$CONFDIR/worker-normal.inc"
  count = 1;
}
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:$2";
  milter = yes;
  timeout = 120s;
  upstream "local" {
    default = yes;
    hosts = "127.0.0.1:$3";
  }
  count = 1;
}
EOF

cat >"$dir/local.d/options.inc" <<EOF || exit 111
dns {
  nameserver = ["$4"];
  timeout = 1s;
  retransmits = 1;
}
EOF

cat >"$dir/local.d/milter_headers.conf" <<EOF || exit 111
extended_spam_headers = true;
skip_local = false;
skip_authenticated = false;
EOF

for m in rbl surbl emails fuzzy_check asn multimap whitelist phishing mime_types mid spf \
  dkim dmarc arc hfilter mx_check rspamd_update reputation url_redirector dcc \
  external_services antivirus p0f bimi; do
  echo 'enabled = false;' >"$dir/local.d/$m.conf" || exit 111
done
chown _rspamd:_rspamd "$dir/run" "$dir/db" "$dir/log" || exit 111
