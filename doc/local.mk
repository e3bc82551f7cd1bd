# Manual pages that are not a program's own (those live with the program's
# rules), and the configuration example they refer to.
dist_man_MANS += doc/kazashi.conf.5
EXTRA_DIST += p11/kazashi.conf.example
