# service/: qsetup (a shell script) and qready (readiness for Dovecot).
PROGS += service/qsetup service/qready
MANS += service/qsetup.8 service/qready.8

service/qsetup: service/qsetup.sh
	rm -f $@
	cp service/qsetup.sh $@
	chmod 755 $@

service/qready: service/qready.o lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The systemd unit: s6-svscan on the instance QHOME. make install ships it
# (for QHOME, default /var/qmta) in PREFIX/share/qmta/; make install-systemd
# puts it into SYSTEMDDIR (default /etc/systemd/system) and enables nothing.
QHOME ?= /var/qmta
SYSTEMDDIR ?= /etc/systemd/system
S6SVSCAN ?= $(shell command -v s6-svscan 2>/dev/null || echo /usr/bin/s6-svscan)
S6SVSCANCTL ?= $(dir $(S6SVSCAN))s6-svscanctl
# qmta.service for QHOME into file $(1)
unit_write = case '$(QHOME)' in /*) ;; *) echo 'QHOME must be an absolute path' >&2; exit 1 ;; esac; \
  sed -e 's|@QHOME@|$(QHOME)|g' -e 's|@S6SVSCAN@|$(S6SVSCAN)|g' \
  -e 's|@S6SVSCANCTL@|$(S6SVSCANCTL)|g' service/qmta.service.in > $(1).tmp && \
  chmod 644 $(1).tmp && mv -f $(1).tmp $(1)

install-unit:
	mkdir -p $(DESTDIR)$(PREFIX)/share/qmta
	$(call unit_write,$(DESTDIR)$(PREFIX)/share/qmta/qmta.service)

install-systemd:
	mkdir -p $(DESTDIR)$(SYSTEMDDIR)
	$(call unit_write,$(DESTDIR)$(SYSTEMDDIR)/qmta.service)
	@echo "installed $(DESTDIR)$(SYSTEMDDIR)/qmta.service for $(QHOME); then: systemctl daemon-reload; systemctl enable --now qmta"

.PHONY: install-unit install-systemd
