#!/usr/bin/env bash
# Times remote actions over SSH against OpenSSH's own client on the same server, in one run.
#
# Starts one sshd on 127.0.0.1 (a free port, keys made here, removed at the end), then:
#   - stepwise runs a runbook of N command steps on the host (one connection, reused): the
#     time per remote command;
#   - `ssh` runs the same N commands, one connection each (what a script calling ssh does);
#   - stepwise writes a file of SIZE_MB over SFTP (write_file: temporary name, read back,
#     SHA-256, move) and `scp` copies a file of the same size to the same server: throughput.
# Needs root (sshd) and Debian's openssh-server/openssh-client. Prints figures; asserts nothing.
#
#   bash benches/ssh.sh [N] [SIZE_MB]
set -euo pipefail
N=${1:-50}
SIZE_MB=${2:-8}
cd "$(dirname "$0")/.."
cargo build --release --locked -q
BIN=$PWD/target/release/stepwise
W=$(mktemp -d)
trap 'kill $SSHD 2>/dev/null || true; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -f "$W/client" -C bench
ssh-keygen -q -t ed25519 -N '' -f "$W/host" -C bench
cp "$W/client.pub" "$W/authorized_keys"
mkdir -p /run/sshd "$W/remote"
cat >"$W/sshd_config" <<EOF
ListenAddress 127.0.0.1:$PORT
HostKey $W/host
AuthorizedKeysFile $W/authorized_keys
PidFile none
UsePAM no
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
/usr/sbin/sshd -D -e -f "$W/sshd_config" 2>/dev/null &
SSHD=$!
for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$W/host.pub")" >"$W/known_hosts"
cat >"$W/inventory.yaml" <<EOF
known_hosts: $W/known_hosts
hosts:
  BENCH01: { target: ssh, address: 127.0.0.1, port: $PORT, user: root, key: $W/client, shell: sh }
EOF
{
  printf 'id: bench\ntitle: Bench\narticle: KB0\nproduct: P\nroles:\n  - { id: web, title: Web, hosts: [BENCH01] }\nphases:\n  - id: a\n    title: A\n    steps:\n'
  for i in $(seq "$N"); do
    printf '      - { id: c%s, title: C%s, on: web, action: { type: command, program: "true" } }\n' "$i" "$i"
  done
} >"$W/commands.yaml"
python3 - "$W/write.yaml" "$SIZE_MB" "$W/remote" <<'EOF'
import sys
path, mb, remote = sys.argv[1], int(sys.argv[2]), sys.argv[3]
line = "x" * 1023
content = "\n".join([line] * (mb * 1024)) + "\n"
with open(path, "w") as f:
    f.write("id: bench\ntitle: Bench\narticle: KB0\nproduct: P\nroles:\n  - { id: web, title: Web, hosts: [BENCH01] }\n")
    f.write("phases:\n  - id: a\n    title: A\n    steps:\n      - id: w\n        title: W\n        on: web\n        action:\n          type: write_file\n")
    f.write(f"          dir: {remote}\n          file: big.txt\n          content: |\n")
    for l in content.splitlines():
        f.write("            " + l + "\n")
EOF
printf 'confirm: true\ndefault: done\n' >"$W/a.yaml"
now() { date +%s.%N; }
t0=$(now)
"$BIN" run "$W/commands.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" --state-dir "$W/runs" >/dev/null
t1=$(now)
SSHOPTS=(-q -i "$W/client" -p "$PORT" -o UserKnownHostsFile="$W/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
for _ in $(seq "$N"); do ssh "${SSHOPTS[@]}" root@127.0.0.1 true; done
t2=$(now)
"$BIN" run "$W/write.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" --state-dir "$W/runs" >/dev/null
t3=$(now)
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$W/big.local"
scp -q -i "$W/client" -P "$PORT" -o UserKnownHostsFile="$W/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes "$W/big.local" root@127.0.0.1:"$W/remote/big.scp"
t4=$(now)
python3 - "$N" "$SIZE_MB" "$t0" "$t1" "$t2" "$t3" "$t4" <<'EOF'
import sys
n, mb = int(sys.argv[1]), int(sys.argv[2])
t0, t1, t2, t3, t4 = map(float, sys.argv[3:])
print(f"{n} remote commands through stepwise (one connection, journal included): {t1-t0:.2f} s, {1000*(t1-t0)/n:.1f} ms per command")
print(f"{n} commands through ssh, one connection each:                          {t2-t1:.2f} s, {1000*(t2-t1)/n:.1f} ms per command")
print(f"write_file of {mb} MB over SFTP (write, read back, SHA-256, move; whole run): {t3-t2:.2f} s, {mb/(t3-t2):.1f} MB/s")
print(f"scp of the same {mb} MB to the same server:                               {t4-t3:.2f} s, {mb/(t4-t3):.1f} MB/s")
EOF
