// Command confbench measures confchat conferences the way the c-toxcore
// harness (shared/bench/toxcore-harness) measures Tox conferences, so the
// two can be run side by side and compared as ratios.
//
// It builds the confchat binary once, starts N `confchat bot` processes on
// loopback with real SQLite profiles in a temporary directory, befriends
// them and forms one conference the way the harness does (-g chain|star),
// then runs the phases connect, lat, burst, freeze and save. Every figure
// is printed as one `metric <name> <value> <unit>` line after a header
// line; -json writes a machine-readable copy.
//
// Times are taken from the nodes: a message's receive time is the `time`
// of its conference.message notification and its send time the `time` of
// the conference.send result, both read from the node's clock when it
// stored the message. Notifications that carry an `at` field (the node's
// clock when it emitted the event) are timed by it; others by the moment
// confbench read them. Actions confbench takes itself (SIGSTOP, a cut, a
// restart) are timed by confbench's clock, the same wall clock the nodes
// read.
//
// The nodes dial each other directly, as users' nodes do, unless a run
// injects faults: the freeze phase (or -proxy on, or a test's link
// faults) puts a small TCP proxy owned by confbench in front of every
// node, which cuts a node off (its traffic is dropped, connections stay
// open) and in tests slows or corrupts one link. Bytes on the wire are
// the kernel's count for the nodes' own TCP sockets (tcp_info via
// NETLINK_SOCK_DIAG), the same with or without proxies. CPU time and
// peak RSS come from /proc.
//
// confbench owns every process it starts: they run in their own process
// groups, die with confbench (PR_SET_PDEATHSIG), are killed on SIGINT,
// SIGTERM and SIGHUP, and the temporary directory is removed. A directory
// left behind by a confbench that was killed with SIGKILL is removed by
// the next run.
package main
