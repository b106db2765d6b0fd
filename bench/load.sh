# Sourced by the bench scripts: every timed figure is printed with the machine's 1-minute load
# average before and after it, and a warning when the machine was already busy before (more than
# 0.5 per core), because timings on a shared machine then say little.
load_now() { cut -d' ' -f1 /proc/loadavg; }
load_before() {  # label
    local l; l=$(load_now)
    echo "load average before ${1:-the run}: $l (1 min, $(nproc) cores)"
    awk -v l="$l" -v c="$(nproc)" -v what="${1:-the run}" \
        'BEGIN { if (l > 0.5 * c) printf "warning: load %.2f before %s is above 0.5 per core; its timings are not trustworthy\n", l, what }'
}
load_after() {  # label
    echo "load average after ${1:-the run}: $(load_now) (1 min)"
}
