#!/bin/bash
# OpenSSH as a relying party (docs/openssh.md), with a real sshd on
# 127.0.0.1 of this test's own network namespace: its own configuration and
# host key, an authorized_keys holding only the user's key (taken from the
# certificate, not from the module). For a simulated Android phone and then
# a card:
#  - `ssh-keygen -D` lists the user-authentication key and nothing else
#    (on a phone, after asking for the PIN: the phone shows nothing before
#    login);
#  - `ssh -I module` logs in, the PIN given through SSH_ASKPASS, and the
#    server accepts the user-authentication key;
#  - `ssh-agent` with `ssh-add -s module` (the agent logs in first), then
#    ssh through the agent.
# Nothing of the system's ssh configuration is read or written: sshd and
# ssh get -f/-F with private files, known hosts live in the temp dir, the
# agent listens on a socket there. sshd, the agent and the phone are killed
# at exit, failure or not (test-env.sh's trap).
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

for p in ssh sshd ssh-keygen ssh-agent ssh-add; do
	command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
		{ echo "1..0 # SKIP $p not installed (openssh-client, openssh-server)"; exit 0; }
done
sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)

rp_start
port=2222
user=$(id -un)
ssh_dir=$KZ_TMP/ssh
mkdir -m 700 "$ssh_dir"

# sshd's privilege separation directory is compiled in (/run/sshd): a
# tmpfs there, seen by this test's mount namespace only.
mkdir -p /run/sshd && mount -t tmpfs -o mode=0755 tmpfs /run/sshd ||
	kz_bail "cannot mount a tmpfs on /run/sshd"

# --- the server -------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C "kazashi test host" -f "$ssh_dir/host_key" ||
	kz_bail "no host key"
# The only key the server accepts: the user-authentication key, from the
# phone's certificate as the test PKI issued it.
ssh-keygen -i -m PKCS8 -f auth.pub >user-key.pub || kz_bail "cannot convert auth.pub"
user_key=$(cut -d' ' -f1,2 user-key.pub)
cp user-key.pub "$ssh_dir/authorized_keys"
for c in authca signca; do
	openssl x509 -in $c.pem -pubkey -noout >$c.pub &&
		ssh-keygen -i -m PKCS8 -f $c.pub | cut -d' ' -f1,2 >$c-key.pub || kz_bail "no $c key"
done
cat >"$ssh_dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $ssh_dir/host_key
PidFile $ssh_dir/sshd.pid
AuthorizedKeysFile $ssh_dir/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
UsePAM no
StrictModes no
LogLevel VERBOSE
EOF
kz_bg sshd "$sshd_bin" -D -e -f "$ssh_dir/sshd_config"
rp_wait_port $port
kz_ok "sshd listens on 127.0.0.1:$port only" \
	eval "[ \"\$(ss -Hltn 'sport = :$port' | awk '{print \$4}')\" = 127.0.0.1:$port ]"

# --- the client -------------------------------------------------------------
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")" >"$ssh_dir/known_hosts"
cat >"$ssh_dir/ssh_config" <<EOF
Host kz
	HostName 127.0.0.1
	Port $port
	User $user
	UserKnownHostsFile $ssh_dir/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	IdentityFile $ssh_dir/no-such-key
	IdentityAgent none
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	ConnectTimeout 10
	LogLevel VERBOSE
EOF
# The PIN through SSH_ASKPASS, as a desktop would ask for it. The helper
# logs the prompts it was shown, never the PIN.
cat >"$ssh_dir/askpass" <<'EOF'
#!/bin/sh
echo "$1" >>"$KZ_ASKPASS_LOG"
case $1 in
*"Digital Signature"*) echo "$KZ_SIGN_PIN" ;;
*) echo "$KZ_AUTH_PIN" ;;
esac
EOF
chmod 755 "$ssh_dir/askpass"
export SSH_ASKPASS=$ssh_dir/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0
export KZ_AUTH_PIN=$auth_pin KZ_SIGN_PIN=$sign_pin KZ_ASKPASS_LOG=$KZ_TMP/askpass.log

# kz_ssh OUT [ARGS...]: ssh to the test server, no terminal, bounded.
kz_ssh() {
	local out=$1
	shift
	: >"$KZ_ASKPASS_LOG"
	timeout 60 setsid ssh -F "$ssh_dir/ssh_config" "$@" kz echo "kz-logged-in-as-\$(id -un)" \
		</dev/null >"$out" 2>"$out.err"
}
# sshd -e logs with CRLF line ends.
accepted() { tr -d '\r' <"$KZ_TMP/sshd.log" | grep -c "Accepted publickey for $user"; }
last_accepted() { tr -d '\r' <"$KZ_TMP/sshd.log" | grep "Accepted publickey" | tail -n 1 | awk '{print $(NF-1), $NF}'; }
user_fp=$(ssh-keygen -lf user-key.pub | cut -d' ' -f2)

run_persona() {
	local persona=$1 n
	# --- ssh-keygen -D: the keys a person can put in authorized_keys
	: >"$KZ_ASKPASS_LOG"
	timeout 60 setsid ssh-keygen -D "$module" </dev/null >keygen-$persona.txt 2>keygen-$persona.err
	kz_ok "$persona: ssh-keygen -D lists the user-authentication key" \
		grep -qF "$user_key" keygen-$persona.txt
	kz_is "$persona: ... with the key's label as its comment" "User Authentication Key" \
		"$(grep -F "$user_key" keygen-$persona.txt | cut -d' ' -f3-)"
	if [ "$persona" = android ]; then
		kz_ok "android: ssh-keygen -D asked for the PIN of the user-authentication token" \
			grep -q "JPKI User Authentication" "$KZ_ASKPASS_LOG"
	else
		kz_is "card: ssh-keygen -D asked for no PIN (the key is public)" 0 \
			"$(wc -l <"$KZ_ASKPASS_LOG")"
	fi
	kz_is "$persona: ssh-keygen -D never asks for the signature password" 0 \
		"$(grep -c "Digital Signature" "$KZ_ASKPASS_LOG")"
	# The recipe of docs/openssh.md: the line labelled as the key.
	kz_is "$persona: ... the line labelled User Authentication Key is the user's key, alone" \
		"$user_key" "$(grep ' User Authentication Key$' keygen-$persona.txt | cut -d' ' -f1,2)"
	# OpenSSH 9.2 takes every certificate it sees for a key, the CA
	# certificates too (docs/openssh.md): the module shows none of them
	# (ca_certificates is off by default), so the output is one line, the
	# user's key, and nothing a person cannot log in with.
	kz_is "$persona: ssh-keygen -D lists exactly the user's key" \
		"$user_key User Authentication Key" "$(cat keygen-$persona.txt)"
	kz_ok "$persona: ... and no CA key" \
		eval "! grep -qF -e '$(cat authca-key.pub)' -e '$(cat signca-key.pub)' keygen-$persona.txt"

	# --- ssh -I: log in with the user-authentication key
	n=$(accepted)
	local v0
	v0=$(rp_verifies_sent)
	kz_ssh ssh-$persona.out -I "$module"
	kz_is "$persona: ssh -I logs in" "kz-logged-in-as-$user" "$(cat ssh-$persona.out)"
	kz_is "$persona: ... sshd accepted the user-authentication key" \
		"$((n + 1)) RSA $user_fp" \
		"$(accepted) $(last_accepted)"
	kz_ok "$persona: ... the PIN was asked for through SSH_ASKPASS" \
		grep -q "Enter PIN for 'JPKI User Authentication'" "$KZ_ASKPASS_LOG"
	kz_is "$persona: ... one PIN entry, one VERIFY on the air" "1 1" \
		"$(grep -c . "$KZ_ASKPASS_LOG") $(($(rp_verifies_sent) - v0))"

	# --- ssh-agent + ssh-add -s: the agent logs in first
	local sock=$KZ_TMP/agent-$persona.sock
	# The agent loads only allow-listed modules (-P): the module under test.
	kz_bg agent-$persona ssh-agent -D -a "$sock" -P "$module"
	for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && break; sleep 0.1; done
	: >"$KZ_ASKPASS_LOG"
	SSH_AUTH_SOCK=$sock timeout 60 setsid ssh-add -s "$module" </dev/null >ssh-add-$persona.txt 2>&1
	kz_ok "$persona: ssh-add -s adds the card reader's keys" grep -q "Card added" ssh-add-$persona.txt
	SSH_AUTH_SOCK=$sock ssh-add -L >agent-keys-$persona.txt 2>&1
	kz_ok "$persona: ... the agent holds the user-authentication key" \
		grep -qF "$user_key" agent-keys-$persona.txt
	kz_is "$persona: ... and no other key (no CA key)" 1 "$(grep -c . agent-keys-$persona.txt)"
	n=$(accepted)
	kz_ssh ssh-agent-$persona.out -o IdentityAgent="$sock" -o IdentitiesOnly=no
	kz_is "$persona: ssh through the agent logs in" "kz-logged-in-as-$user" "$(cat ssh-agent-$persona.out)"
	kz_is "$persona: ... with the user-authentication key" "$((n + 1)) RSA $user_fp" \
		"$(accepted) $(last_accepted)"
	kill "$KZ_BG_PID" 2>/dev/null
}

run_persona android

# --- the same with a card ----------------------------------------------------
kz_stop_phone
kz_start_phone --persona card --pki "$KZ_PKI" --log "$KZ_TMP/apdu.jsonl" || kz_bail "no card"
run_persona card

# --- what the server saw ------------------------------------------------------
kz_is "authorized_keys still holds the user's key only" 1 "$(grep -c . "$ssh_dir/authorized_keys")"
kz_is "sshd accepted no key but the user's" 0 \
	"$(tr -d '\r' <"$KZ_TMP/sshd.log" | grep "Accepted publickey" | grep -vc "$user_fp")"

kz_done
