#!/usr/bin/env bash
# One command step on many SSH hosts, `parallel: P`, side by side with `ansible -m command -f P`
# over the same hosts, in one run.
#
# Starts sshd listening on HOSTS loopback addresses (127.0.1.1, 127.0.1.2, …; one ListenAddress
# line each, the same port; OpenSSH takes at most 16 per server, so one server per 16 hosts), so
# every host is its own address with its own connection. Then, ROUNDS times each, alternating:
#   - stepwise runs a runbook of one command step (`true`) on a role of HOSTS hosts with
#     `parallel: P` (connections, dry-run checks, the walk and the journal included: the whole
#     `stepwise run`);
#   - ansible-core (installed from PyPI into a venv under /tmp, kept for the next run) runs
#     `ansible all -m command -a true -f P` over the same hosts, the same user and key, host
#     keys checked against the same known-hosts file.
# Prints both wall times (the median of the rounds) and their ratio. Needs root (sshd on port
# 22 is not needed: a free port is used) and Debian's openssh-server; asserts nothing.
#
#   bash benches/fleet.sh [HOSTS] [P] [ROUNDS]
#
# STEPWISE_BIN=PATH times that executable instead of building the release one.
set -euo pipefail
HOSTS=${1:-100}
P=${2:-20}
ROUNDS=${3:-3}
cd "$(dirname "$0")/.."
if [ -n "${STEPWISE_BIN:-}" ]; then
  BIN=$STEPWISE_BIN
else
  cargo build --release --locked -q
  BIN=$PWD/target/release/stepwise
fi
VENV=/tmp/stepwise-fleet-ansible
if [ ! -x "$VENV/bin/ansible" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q ansible-core
fi
W=$(mktemp -d)
SSHDS=()
trap 'kill "${SSHDS[@]}" 2>/dev/null || true; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$W/client" -C bench
ssh-keygen -q -t ed25519 -N '' -f "$W/host" -C bench
cp "$W/client.pub" "$W/authorized_keys"
mkdir -p /run/sshd
cat >"$W/sshd_common" <<EOF
HostKey $W/host
AuthorizedKeysFile $W/authorized_keys
PidFile none
UsePAM no
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 1000
MaxSessions 100
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
for first in $(seq 1 16 "$HOSTS"); do
  last=$((first + 15 < HOSTS ? first + 15 : HOSTS))
  { for i in $(seq "$first" "$last"); do echo "ListenAddress 127.0.1.$i:$PORT"; done
    cat "$W/sshd_common"; } >"$W/sshd_config.$first"
  /usr/sbin/sshd -D -e -f "$W/sshd_config.$first" 2>/dev/null &
  SSHDS+=($!)
done
for i in $(seq "$HOSTS"); do
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.1.$i/$PORT) 2>/dev/null && break; sleep 0.1; done
done
KEY=$(cut -d' ' -f1,2 "$W/host.pub")
: >"$W/known_hosts"
{
  echo "known_hosts: $W/known_hosts"
  echo "defaults: { target: ssh, user: root, key: $W/client, shell: sh, port: $PORT }"
  echo "hosts:"
} >"$W/inventory.yaml"
echo "[fleet]" >"$W/hosts.ini"
NAMES=()
for i in $(seq "$HOSTS"); do
  name=$(printf 'WEB%03d' "$i")
  NAMES+=("$name")
  echo "[127.0.1.$i]:$PORT $KEY" >>"$W/known_hosts"
  echo "  $name: { address: 127.0.1.$i }" >>"$W/inventory.yaml"
  echo "$name ansible_host=127.0.1.$i" >>"$W/hosts.ini"
done
LIST=$(IFS=,; echo "${NAMES[*]}")
cat >"$W/book.yaml" <<EOF
id: fleet-bench
title: Fleet bench
article: KB0
product: P
roles:
  - { id: web, title: Web, hosts: [$LIST] }
phases:
  - id: a
    title: A
    steps:
      - { id: run, title: Run, on: web, parallel: $P, action: { type: command, program: "true" } }
EOF
printf 'confirm: true\ndefault: done\n' >"$W/a.yaml"
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_NOCOLOR=1
ANSIBLE_ARGS=(all -i "$W/hosts.ini" -u root --private-key "$W/client" -m command -a true -f "$P"
  -e "ansible_port=$PORT" "--ssh-common-args=-o UserKnownHostsFile=$W/known_hosts -o StrictHostKeyChecking=yes")
now() { date +%s.%N; }
S=()
A=()
for r in $(seq "$ROUNDS"); do
  t0=$(now)
  "$BIN" run "$W/book.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" \
    --state-dir "$W/runs" >"$W/stepwise.out" 2>&1 || { cat "$W/stepwise.out"; exit 1; }
  t1=$(now)
  "$VENV/bin/ansible" "${ANSIBLE_ARGS[@]}" >"$W/ansible.out" 2>&1 || { head -20 "$W/ansible.out"; exit 1; }
  t2=$(now)
  S+=("$(python3 -c "print($t1-$t0)")")
  A+=("$(python3 -c "print($t2-$t1)")")
  echo "round $r: stepwise $(printf '%.2f' "${S[-1]}") s, ansible $(printf '%.2f' "${A[-1]}") s"
done
done_count=$(cat "$W"/runs/*/journal.jsonl | grep -c '"kind":"instance_done"' || true)
ok_count=$(grep -c 'CHANGED' "$W/ansible.out" || true)
python3 - "$HOSTS" "$P" "$done_count" "$ok_count" "$ROUNDS" "${S[@]}" "${A[@]}" <<'EOF'
import statistics, sys
hosts, p, done, ok, rounds = map(int, sys.argv[1:6])
times = list(map(float, sys.argv[6:]))
s, a = statistics.median(times[:rounds]), statistics.median(times[rounds:])
print(f"one command step on {hosts} SSH hosts, {p} at a time (median of {rounds} rounds):")
print(f"  stepwise run (connect, dry-run checks, walk, journal): {s:.2f} s  ({done} instances done over all rounds)")
print(f"  ansible -m command -f {p}:                             {a:.2f} s  ({ok} hosts CHANGED in the last round)")
print(f"  ratio stepwise / ansible: {s/a:.2f}")
EOF
