# qpop3d: the POP3 server; qdovecot-conf: the IMAP (Dovecot) configuration.
PROGS += qpop3d/qdovecot-conf
MANS += qpop3d/qdovecot-conf.8

qpop3d/qdovecot-conf: qpop3d/qdovecot-conf.sh
	cp qpop3d/qdovecot-conf.sh $@.tmp && chmod 755 $@.tmp && mv -f $@.tmp $@
