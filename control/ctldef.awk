# lib/ctldef.h -> "name|kind|default|meaning" lines for qconf (control/build.mk).
# A line that starts with "#define CTLDEF_" but is not in the table's form
# fails the build.
/^#define CTLDEF_[A-Z0-9_]+ / {
  if (!match($0, /^#define CTLDEF_[A-Z0-9_]+ ("[^"|]*"|[0-9]+) \/\* (number|flag|text|list|map): [^|]* \*\/$/)) {
    print "lib/ctldef.h:" NR ": not in the table's form: " $0 > "/dev/stderr"
    bad = 1
    exit 1
  }
  name = tolower(substr($2, 8))
  value = $3
  gsub(/"/, "", value)
  rest = $0
  sub(/^[^\/]*\/\* /, "", rest)
  sub(/ \*\/$/, "", rest)
  kind = rest
  sub(/:.*/, "", kind)
  meaning = rest
  sub(/^[a-z]+: /, "", meaning)
  print name "|" kind "|" value "|" meaning
  n++
}
END { if (bad || n == 0) exit 1 }
