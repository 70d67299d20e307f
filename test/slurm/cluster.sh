#!/usr/bin/env bash
# A single-node Slurm cluster on loopback (SCALE-NOTES.md recipe), all state under one folder.
#   cluster.sh start DIR   a private munged, slurmctld, slurmd; waits for an idle node
#   cluster.sh stop DIR    kills the cluster's jobs, then stops what start started, by pid file
# Ports and the munge socket are private to each cluster, so two clusters on one machine (two
# test runs at once) neither collide nor stop each other's daemons.
set -euo pipefail
cmd=$1
D=$(cd "$2" && pwd)

stop() {
  # Jobs first, so no slurmstepd outlives its slurmd.
  if [ -f "$D/slurm.conf" ] && [ -f "$D/slurmctld.pid" ]; then
    export SLURM_CONF=$D/slurm.conf
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "$jobs" ]; then
      scancel --signal=KILL --full $jobs 2>/dev/null || true
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 100); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.1; done
    fi
  fi
  for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munged.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  [ -f "$D/munge.dir" ] && rm -rf "$(cat "$D/munge.dir")" "$D/munge.dir"
}

start() {
  # munge, which Slurm authenticates with: our own daemon on our own socket, in a folder the
  # munge user can reach (the scratch folder may sit in a private temp folder).
  [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key; }
  chown munge:munge /etc/munge /etc/munge/munge.key
  local M
  M=$(mktemp -d /tmp/omnidistill-munge.XXXXXX)
  echo "$M" > "$D/munge.dir"
  chown munge:munge "$M"
  chmod 700 "$M"
  runuser -u munge -- /usr/sbin/munged --force --socket="$M/munge.sock" --pid-file="$M/munged.pid" \
    --log-file="$M/munged.log" --seed-file="$M/munged.seed"
  for _ in $(seq 50); do [ -s "$M/munged.pid" ] && break; sleep 0.1; done
  cp "$M/munged.pid" "$D/munged.pid"
  munge -n --socket="$M/munge.sock" | unmunge --socket="$M/munge.sock" >/dev/null
  local host port
  host=$(hostname)
  port=$((20000 + RANDOM % 20000))
  mkdir -p "$D/state" "$D/spool"
  cat > "$D/slurm.conf" <<CONF
ClusterName=omnitest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$M/munge.sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/ctld.log
SlurmdLogFile=$D/d.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
KillWait=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=4000 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
  export SLURM_CONF=$D/slurm.conf
  slurmctld -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 150); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then return 0; fi
    sleep 0.2
  done
  echo "cluster.sh: the node did not come up; logs: $D/ctld.log $D/d.log" >&2
  sinfo >&2 || true
  return 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
