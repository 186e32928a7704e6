#!/usr/bin/env bash
# perf record (cpu-clock: this machine kind has no hardware counters) of
# both sides of one bench measurement, into target/profile/{server,client}-TAG.data.
# usage: bench/profile/record.sh SIDE WORK N TAG   (from the workspace root)
#   PERF_G=-g records call graphs too.
# Read with: perf report -i target/profile/client-TAG.data --no-children --sort symbol
#       and: perf annotate -i ... -s SYMBOL
set -euo pipefail
B=${BENCH:-target/release/tonic-thrift-bench}
mkdir -p target/profile
coproc SRV { exec perf record -q -e cpu-clock -F 4000 ${PERF_G:-} -o "target/profile/server-$4.data" "$B" --serve "$1" "$2" 2>/dev/null; }
read -r line <&"${SRV[0]}"
addr=${line#LISTENING }
spid=$(pgrep -n -f -- "$B --serve $1 $2")
perf record -q -e cpu-clock -F 4000 ${PERF_G:-} -o "target/profile/client-$4.data" "$B" --client "$1" "$2" "$addr" "$3" "$spid" | tail -1
exec {SRV[1]}>&-
wait || true
