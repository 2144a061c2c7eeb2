#!/usr/bin/env bash
# Times remote actions over SSH against OpenSSH's own client on the same server, in one run.
#
# Starts one sshd on 127.0.0.1 (a free port, keys made here, removed at the end), then, ROUNDS
# times, side by side:
#   - stepwise runs a runbook of N command steps on the host (one connection, reused): the
#     time per remote command; `ssh` runs the same N commands, one connection each (what a
#     script calling ssh does);
#   - stepwise copies FILES files of SIZE_MB each from a package folder to a folder on the host
#     (copy over SSH: a temporary name created anew, read back over SFTP and compared by
#     SHA-256, posix-rename into place, the journal per file; a whole run, start and check
#     included); `scp` and `sftp` (a batch `put`) copy the same files to the same server;
#   - stepwise writes a file of SIZE_MB over SFTP (write_file).
# Prints medians and ratios. Needs root (sshd) and Debian's openssh-server/openssh-client.
# Asserts nothing.
#
#   bash benches/ssh.sh [N] [SIZE_MB] [FILES] [ROUNDS]
set -euo pipefail
N=${1:-50}
SIZE_MB=${2:-8}
FILES=${3:-4}
ROUNDS=${4:-3}
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
mkdir -p "$W/pkg" "$W/remote/copy"
names=()
for i in $(seq "$FILES"); do
  head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$W/pkg/f$i.msi"
  names+=("f$i.msi")
done
{
  printf 'id: bench\ntitle: Bench\narticle: KB0\nproduct: P\nroles:\n  - { id: web, title: Web, hosts: [BENCH01] }\nphases:\n  - id: a\n    title: A\n    steps:\n'
  printf '      - { id: c, title: C, on: web, action: { type: copy, from: %s, to: %s, files: [%s] } }\n' \
    "$W/pkg" "$W/remote/copy" "$(IFS=,; echo "${names[*]}")"
} >"$W/copy.yaml"
now() { date +%s.%N; }
SSHOPTS=(-q -i "$W/client" -o UserKnownHostsFile="$W/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes)
fresh() { rm -rf "$W/remote/copy" && mkdir -p "$W/remote/copy"; }
: >"$W/times"
for _ in $(seq "$ROUNDS"); do
  t0=$(now)
  "$BIN" run "$W/commands.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" --state-dir "$W/runs" >/dev/null
  t1=$(now)
  for _ in $(seq "$N"); do ssh "${SSHOPTS[@]}" -p "$PORT" root@127.0.0.1 true; done
  t2=$(now)
  fresh; t3=$(now)
  "$BIN" run "$W/copy.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" --state-dir "$W/runs" >/dev/null
  t4=$(now)
  cmp -s "$W/pkg/f1.msi" "$W/remote/copy/f1.msi" || { echo "stepwise did not copy the files" >&2; exit 1; }
  fresh; t5=$(now)
  scp "${SSHOPTS[@]}" -P "$PORT" "$W"/pkg/*.msi root@127.0.0.1:"$W/remote/copy/"
  t6=$(now)
  fresh; t7=$(now)
  printf 'put %s/pkg/*.msi %s/remote/copy/\n' "$W" "$W" | sftp "${SSHOPTS[@]}" -P "$PORT" -b - root@127.0.0.1 >/dev/null
  t8=$(now)
  cmp -s "$W/pkg/f1.msi" "$W/remote/copy/f1.msi" || { echo "sftp did not copy the files" >&2; exit 1; }
  rm -f "$W/remote/big.txt"
  t9=$(now)
  "$BIN" run "$W/write.yaml" --operator bench --inventory "$W/inventory.yaml" --answers "$W/a.yaml" --state-dir "$W/runs" >/dev/null
  t10=$(now)
  echo "$t0 $t1 $t2 $t3 $t4 $t5 $t6 $t7 $t8 $t9 $t10" >>"$W/times"
done
python3 - "$N" "$SIZE_MB" "$FILES" "$W/times" <<'EOF'
import statistics, sys
n, mb, files = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rounds = [list(map(float, l.split())) for l in open(sys.argv[4]) if l.strip()]
med = lambda i, j: statistics.median(r[j] - r[i] for r in rounds)
cmd_sw, cmd_ssh = med(0, 1), med(1, 2)
cp_sw, cp_scp, cp_sftp = med(3, 4), med(5, 6), med(7, 8)
wf = med(9, 10)
total = mb * files
print(f"medians of {len(rounds)} rounds, one sshd on 127.0.0.1")
print(f"{n} remote commands, stepwise (one connection, journal): {cmd_sw:6.2f} s {1000*cmd_sw/n:7.1f} ms per command")
print(f"{n} commands, ssh (one connection each):                 {cmd_ssh:6.2f} s {1000*cmd_ssh/n:7.1f} ms per command   stepwise/ssh time {cmd_sw/cmd_ssh:.2f}")
print(f"copy of {files} x {mb} MB, stepwise (whole run, read back, SHA-256): {cp_sw:6.2f} s {total/cp_sw:7.1f} MB/s")
print(f"the same files, scp:                                      {cp_scp:6.2f} s {total/cp_scp:7.1f} MB/s   stepwise/scp time {cp_sw/cp_scp:.2f}")
print(f"the same files, sftp (batch put):                         {cp_sftp:6.2f} s {total/cp_sftp:7.1f} MB/s   stepwise/sftp time {cp_sw/cp_sftp:.2f}")
print(f"write_file of {mb} MB over SFTP (whole run):                {wf:6.2f} s {mb/wf:7.1f} MB/s")
EOF
