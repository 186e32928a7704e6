#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of both sides of one bench
# measurement, into target/profile/callgrind.{server,client}.TAG.
# usage: bench/profile/callgrind.sh SIDE WORK N TAG   (from the workspace root)
# Read with: callgrind_annotate [--inclusive=yes] target/profile/callgrind.client.TAG
set -euo pipefail
B=${BENCH:-target/release/tonic-thrift-bench}
mkdir -p target/profile
coproc SRV { exec valgrind -q --tool=callgrind --callgrind-out-file="target/profile/callgrind.server.$4" "$B" --serve "$1" "$2"; }
read -r line <&"${SRV[0]}"
addr=${line#LISTENING }
spid=$(pgrep -n -f -- "$B --serve $1 $2")
valgrind -q --tool=callgrind --callgrind-out-file="target/profile/callgrind.client.$4" "$B" --client "$1" "$2" "$addr" "$3" "$spid" | tail -1
exec {SRV[1]}>&-
wait || true
for side in server client; do
  printf '%s %s\n' "$side" "$(callgrind_annotate "target/profile/callgrind.$side.$4" | grep 'PROGRAM TOTALS')"
done
