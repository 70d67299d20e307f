#!/usr/bin/env bash
# A single-node Slurm cluster on loopback (SCALE-NOTES.md recipe), all state under one folder.
#   cluster.sh start DIR   munged (unless one answers already), slurmctld, slurmd; waits for an idle node
#   cluster.sh stop DIR    stops what start started, by pid file
# Ports are picked per cluster so a second cluster on the machine does not collide.
set -euo pipefail
cmd=$1
D=$(cd "$2" && pwd)

stop() {
  for f in "$D/slurmd.pid" "$D/slurmctld.pid" "$D/munged.started"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  done
}

start() {
  # munge: the daemon Slurm authenticates with; reuse a running one, else start ours and remember its pid.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key; }
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$D/munged.started"
    munge -n | unmunge >/dev/null
  fi
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
