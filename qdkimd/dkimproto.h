#ifndef DKIMPROTO_H
#define DKIMPROTO_H
/*
 * dkimproto: the protocol between the programs that write the queue
 * (qsmtpd, qinject) and qdkimd, the DKIM service (qdkimd(8)). libc only:
 * both sides include it (qdkimd links neither libowfat nor lib/lib.a).
 *
 * Transport: a SOCK_SEQPACKET Unix socket, DIR/run/dkimsign (qdkimd -s)
 * or DIR/run/dkimverify (qdkimd -v). A client connects once and may send
 * any number of requests, one at a time; the connection stays open
 * across messages (qsmtpd keeps it across sessions), and qdkimd serves it
 * in one child process of its own, so no process starts per message.
 *
 * Request: one packet (at most DKIMP_REQ_MAX bytes) with the queue file
 * attached (SCM_RIGHTS; read-only, qdkimd only preads it), text lines
 * "key value\n", then an empty line:
 *
 *   op sign\n off 24\n len 1733\n\n
 *   op verify\n off 24\n len 5120\n id mx.example.org\n ip 192.0.2.7\n
 *   helo mail.example.net\n from bob@example.net\n spf pass\n
 *   spfd example.net\n\n
 *
 *   op      sign | verify
 *   off len where the message (LF line ends, header first) lies in the
 *           file: always given (the queue header is written at commit)
 *   id      verify: the authserv-id of the Authentication-Results field
 *   ip helo from   verify: the client, its EHLO, the MAIL FROM path
 *           (internal form, "" for the null path)
 *   spf spfd      verify: qsmtpd's SPF result (RFC 8601 word) and the
 *           domain it checked; spfhelo 1 when that was the HELO identity.
 *           Absent when SPF did not run (the A-R then says spf=none).
 * A value is at most DKIMP_VALUE_MAX bytes of printable ASCII; an unknown
 * key is ignored; a malformed request is answered T.
 *
 * Response: one packet (at most DKIMP_RESP_MAX bytes): "C LEN\n" and LEN
 * bytes of header fields to put before the message (LF line ends, folded
 * at 78 columns where possible), then a note to the end of the packet (no
 * line end, at most DKIMP_REASON_MAX bytes, may be empty). C is:
 *   A  add the LEN bytes (LEN may be 0: e.g. no key for the From domain)
 *   R  DMARC fail with p=reject: the LEN bytes are the A-R all the same
 *      (for the log), the reason is the text for the 550 reply
 *   T  temporary failure (LEN 0): the reason is for the log
 * Verify always ends its fields with the A-R field, and its note (for A
 * and R) holds the verdicts for the log:
 * "spf=pass dkim=pass dmarc=pass" (dkim= is the first signature's result;
 * dmarc=quarantine or dmarc=reject-policy where they apply).
 *
 * Time: a client waits at most DKIMP_TIMEOUT_MS for an answer (the DNS
 * lookups of a verify run under DKIMP_DNS_BUDGET_MS in all); then it drops
 * the connection, takes the failure and connects again for the next one.
 */

#define DKIMP_REQ_MAX 4096
#define DKIMP_VALUE_MAX 512
#define DKIMP_RESP_MAX 32768
#define DKIMP_REASON_MAX 400
#define DKIMP_TIMEOUT_MS 20000
#define DKIMP_DNS_BUDGET_MS 12000
#define DKIMP_CONNECT_MS 2000

#define DKIMP_ADD 'A'
#define DKIMP_REJECT 'R'
#define DKIMP_TEMP 'T'

#endif
