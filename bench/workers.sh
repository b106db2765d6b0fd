#!/usr/bin/env bash
# Many workers on one PostgreSQL store: a regularized-evolution search of $QUERIES queries on the
# NAS-Bench-201 table (seed $SEED), each evaluation waiting $SCALE s per simulated epoch
# (--simulate-time, so a 12-epoch look-up takes 12×$SCALE s, like a replayed tabular benchmark),
#   (a) one worker, (b) $WORKERS worker processes (`search --workers`),
#   (c) $WORKERS workers started by hand on a study made with `--workers 0`; once a quarter of the
#       trials is done, one is killed with SIGKILL mid-trial, one stopped with SIGTERM (it hands its
#       trial back and exits 143) and one frozen with SIGSTOP for longer than --stale-after (its
#       heartbeat stops; its trial is queued again and its late result dropped), then the killed and
#       stopped workers are started again.
# The server is a throw-away one (scripts/postgres-sandbox.sh), deleted at the end. Counts come
# from the store: duplicates = results recorded twice for one trial, lost = trials of the budget
# not complete, stale_requeued = trials queued again because their worker went silent.
# Last line: trials=<n> duplicates=<d> lost=<l> stale_requeued=<r> throughput_ratio=<(b) trials/s ÷ (a) trials/s>
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/swiftnas_build.sh
QUERIES=${QUERIES:-2000}
SCALE=${SCALE:-0.005}
SEED=${SEED:-0}
WORKERS=${WORKERS:-4}
STALE=${STALE:-3}
work=$(mktemp -d)
chmod 755 "$work"  # the server runs as the postgres user
cleanup() { pkill -CONT -f "swiftnas worker" 2>/dev/null || true; bash scripts/postgres-sandbox.sh stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
URL=$(bash scripts/postgres-sandbox.sh start "$work/pg")
SEARCH=(search --strategy rea --budget "$QUERIES" --seed "$SEED" --simulate-time "$SCALE" --stale-after "$STALE" --quiet)
q() { psql -qAt "$URL" -c "$1"; }
now() { date +%s.%N; }

load_before "(a) one worker"
t0=$(now); "$BIN" "${SEARCH[@]}" --store "$URL?study=one" > "$work/one.txt"; t1=$(now)
load_after "(a) one worker"
load_before "(b) $WORKERS workers"
t2=$(now); "$BIN" "${SEARCH[@]}" --store "$URL?study=many" --workers "$WORKERS" > "$work/many.txt"; t3=$(now)
load_after "(b) $WORKERS workers"
grep '^best' -A1 "$work/one.txt" | sed 's/^/(a) /'
grep '^best' -A1 "$work/many.txt" | sed 's/^/(b) /'

load_before "(c) $WORKERS workers, killed and restarted"
"$BIN" "${SEARCH[@]}" --store "$URL?study=chaos" --workers 0 > /dev/null
start_worker() { "$BIN" worker --store "$URL?study=chaos" --stale-after "$STALE" --quiet > "$work/worker$1.txt" 2>&1 & pids[$1]=$!; }
declare -a pids
for i in $(seq 1 "$WORKERS"); do start_worker "$i"; done
until [ "$(q "SELECT count(*) FROM swiftnas_trials WHERE study = 'chaos' AND status = 'complete'")" -ge $((QUERIES / 4)) ]; do sleep 0.2; done
# Each signal is sent while its worker holds a trial (trials take 12×$SCALE s; the check is a few ms).
holding() { [ "$(q "SELECT count(*) FROM swiftnas_trials WHERE study = 'chaos' AND status = 'asked' AND worker LIKE '$1@%'")" -ge 1 ]; }
signal_mid_trial() { until holding "$2"; do sleep 0.005; done; kill "-$1" "$2"; }
signal_mid_trial KILL "${pids[1]}"; signal_mid_trial TERM "${pids[2]}"; signal_mid_trial STOP "${pids[3]}"
wait "${pids[1]}" || echo "(c) worker 1: killed by SIGKILL (status $?)"
wait "${pids[2]}" && status=0 || status=$?
echo "(c) worker 2: SIGTERM, exited with status $status: $(tail -1 "$work/worker2.txt")"
start_worker 1; start_worker 2
sleep $((STALE + 2)); kill -CONT "${pids[3]}"
for i in $(seq 1 "$WORKERS"); do wait "${pids[$i]}" || { echo "(c) worker $i failed:"; cat "$work/worker$i.txt"; exit 1; }; done
load_after "(c) $WORKERS workers, killed and restarted"
for i in $(seq 1 "$WORKERS"); do echo "(c) worker $i: $(tail -1 "$work/worker$i.txt")"; done

trials=$(q "SELECT count(*) FROM swiftnas_trials WHERE study = 'chaos' AND status = 'complete'")
duplicates=$(q "SELECT coalesce(sum(greatest(completions - 1, 0)), 0) FROM swiftnas_trials WHERE study = 'chaos'")
lost=$((QUERIES - trials))
stale=$(q "SELECT coalesce(sum(stale_requeues), 0) FROM swiftnas_trials WHERE study = 'chaos'")
handbacks=$(q "SELECT coalesce(sum(hand_backs), 0) FROM swiftnas_trials WHERE study = 'chaos'")
for s in one many; do
    n=$(q "SELECT count(*) FROM swiftnas_trials WHERE study = '$s' AND status = 'complete'")
    [ "$n" = "$QUERIES" ] || { echo "study $s has $n complete trials, not $QUERIES"; exit 1; }
done
echo "(c) handed back on SIGTERM: $handbacks; queued again after a silent worker: $stale"
python3 - "$t0" "$t1" "$t2" "$t3" "$QUERIES" "$WORKERS" <<'PY'
import sys
t0, t1, t2, t3, n, k = map(float, sys.argv[1:])
print(f"(a) 1 worker: {t1 - t0:.1f} s, {n / (t1 - t0):.1f} trials/s; (b) {k:.0f} workers: {t3 - t2:.1f} s, {n / (t3 - t2):.1f} trials/s")
PY
ratio=$(python3 -c "print(f'{($t1 - $t0) / ($t3 - $t2):.2f}')")
echo "trials=$trials duplicates=$duplicates lost=$lost stale_requeued=$stale throughput_ratio=$ratio"
