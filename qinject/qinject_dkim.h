#ifndef QINJECT_DKIM_H
#define QINJECT_DKIM_H
/*
 * qinject_dkim: DKIM signing or verification of a message that a session
 * program hands over through a filter chain (qsmtpd with QINJECT), done
 * by qinject at the end of the chain. qsmtpd puts two variables into the
 * environment of the program it spawns (and only there); the chain passes
 * them on to qinject:
 *
 *   QMTA_DKIM=sign     a session whose mail qsmtpd signs (authenticated or
 *                      relay client): signed through run/dkimsign when
 *                      control/dkim exists; a signer that cannot be
 *                      reached or fails: exit QQ_UNSIGNED (nothing with a
 *                      key leaves unsigned). With "auth" in QMTA_DKIMREQ,
 *                      "Authentication-Results: ID; auth=pass
 *                      smtp.auth=USER" above the signature.
 *   QMTA_DKIM=verify   port-25 mail: the verdicts of run/dkimverify, its
 *                      Authentication-Results field (and
 *                      X-DMARC-Quarantine) put on top; a DMARC reject
 *                      (control/dmarcreject): exit QQ_DKIM_REJECT; a
 *                      verifier that cannot be reached or fails: queued
 *                      without the field, a warning on fd 2.
 *   QMTA_DKIMREQ       the request's fields, "key value" lines, each
 *                      ended by LF (at most DKIMP_REQ_MAX bytes in all):
 *                        id mx.example.org      the authserv-id
 *                        ip 192.0.2.7           (verify) the client
 *                        helo mail.example.net  (verify) its EHLO
 *                        from bob@example.net   (verify) its MAIL FROM
 *                        spf pass               (verify) qsmtpd's SPF result,
 *                        spfd example.net        its domain, and spfhelo 1
 *                        spfhelo 1               when that was the HELO's
 *                        auth bob@example.org   (sign) the login user
 *                      Other keys are ignored; values are passed on to
 *                      qdkimd as they are (dkimc_add cleans them).
 * Both are read only when TCPREMOTEIP is set too (mail from a session);
 * local mail is signed by qinject.c's sign_local, never refused for it.
 */
#include "queue.h"

/* Codes beside qmail-queue's (qinject_env.h), mapped by qsmtpd */
#define QQ_DKIM_REJECT 32 /* permanent: DMARC policy of the From domain (550 5.7.1) */
#define QQ_UNSIGNED 75    /* temporary: unable to sign while control/dkim exists (451 4.7.0) */

#define QINJECT_DKIM_ERR_MAX 600

/* Does what mode (QMTA_DKIM's value) asks for the message written so far
 * into w, with the fields of req (QMTA_DKIMREQ's value, NULL: none).
 * QQ_OK (go on); another qmail-queue exit code with its text in err
 * (QINJECT_DKIM_ERR_MAX bytes, NUL-terminated); or -1 + errno: the file
 * could not be written. Warnings and the verdicts go to fd 2 (qlog). */
int qinject_dkim(struct queue_writer *w, const char *mode, const char *req, char *err);

/* The value of key in req ("key value" lines; NULL: none) copied into val
 * (size bytes, NUL-terminated, cut to fit): 1 found, 0 not. */
int qinject_dkim_field(const char *req, const char *key, char *val, size_t size);

#endif
