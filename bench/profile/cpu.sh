#!/usr/bin/env bash
# CPU time of each side of one bench measurement, from /proc and time(1).
# usage: bench/profile/cpu.sh SIDE WORK N     (from the workspace root)
#   SIDE: ours | prost | volo | ...   WORK: bidi:16 | sstream:16 | pp-framed:16:16 | ...
# Prints the rate and the server's and client's user+system milliseconds.
set -euo pipefail
B=${BENCH:-target/release/tonic-thrift-bench}
coproc SRV { exec "$B" --serve "$1" "$2"; }
read -r line <&"${SRV[0]}"
addr=${line#LISTENING }
spid=$SRV_PID
tk=$(getconf CLK_TCK)
s0=$(awk '{print $14+$15}' "/proc/$spid/stat")
out=$({ /usr/bin/time -f "CLI %U %S %w %c" "$B" --client "$1" "$2" "$addr" "$3" "$spid"; } 2>&1)
s1=$(awk '{print $14+$15}' "/proc/$spid/stat")
exec {SRV[1]}>&-
wait || true
rate=$(grep -o '"rate":[0-9.]*' <<<"$out" | cut -d: -f2)
read -r _ u s vcs ics < <(grep '^CLI' <<<"$out")
echo "$1 $2 x$3: rate $rate/s  server $(( (s1 - s0) * 1000 / tk )) ms  client $(awk "BEGIN{print ($u+$s)*1000}") ms  client context switches $vcs voluntary, $ics involuntary"
