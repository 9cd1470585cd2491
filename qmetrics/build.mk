# qmetrics/: the instance's figures for Prometheus (a textfile or GET /metrics).
PROGS += qmetrics/qmetrics
MANS += qmetrics/qmetrics.8
QMETRICS_OBJ = qmetrics/qmetrics.o qmetrics/qmetrics_logs.o qmetrics/qmetrics_state.o \
  qmetrics/qmetrics_gauge.o qmetrics/qmetrics_expo.o qmetrics/qmetrics_http.o

qmetrics/qmetrics: $(QMETRICS_OBJ) lib/lib.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
