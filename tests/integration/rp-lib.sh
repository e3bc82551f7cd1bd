# rp-lib.sh: what the relying-party tests (rp-*.sh) share. Source it after
# pcscd-env.sh and tap.sh:
#
#   . "$top_srcdir/tests/integration/pcscd-env.sh"
#   . "$top_srcdir/tests/integration/tap.sh"
#   . "$top_srcdir/tests/integration/rp-lib.sh"
#   rp_start                  # pcscd, test PKI, an Android phone in the field
#   rp_p11kit_config          # p11-kit loads the module under test
#   rp_server_pki             # a TLS server certificate for 127.0.0.1
#   rp_s_server 4412 -tls1_2  # openssl s_server that requires a JPKI client cert
#
# Everything runs inside the test's own mount and network namespaces
# (pcscd-env.sh): servers listen on 127.0.0.1 of a loopback nobody else
# sees, and the bind mounts below are invisible outside the test.

# The module under test: KZ_MODULE (CI passes the installed one), else the
# build's.
module=${KZ_MODULE:-${top_builddir:-.}/src/.libs/kazashi-pkcs11.so}
[ -r "$module" ] || kz_bail "no module at $module"
module=$(readlink -f "$module")

auth_pin=1234
sign_pin=ABC123
auth_token="JPKI User Authentication"
sign_token="JPKI Digital Signature"
# RFC 7512 URIs, as every consumer below is given them.
auth_uri="pkcs11:token=JPKI%20User%20Authentication"
sign_uri="pkcs11:token=JPKI%20Digital%20Signature"
auth_key_uri="$auth_uri;object=User%20Authentication%20Key;type=private"
auth_cert_uri="$auth_uri;object=User%20Authentication%20Certificate;type=cert"
sign_key_uri="$sign_uri;object=Digital%20Signature%20Key;type=private"

# kz_skip DESCRIPTION REASON: a test point that could not run here (TAP SKIP).
kz_skip() {
	kz_tap_n=$((kz_tap_n + 1))
	echo "ok $kz_tap_n - $1 # SKIP $2"
}

# kz_todo DESCRIPTION COMMAND...: a test point for a known defect, reported
# as TODO (automake counts "not ok # TODO" as XFAIL). When the defect is
# fixed it passes, which automake counts as XPASS, a failure: the TODO mark
# must then go.
kz_todo() {
	local desc=$1
	shift
	kz_tap_n=$((kz_tap_n + 1))
	if "$@" >>"${KZ_TMP:-/tmp}/assert.log" 2>&1; then
		echo "ok $kz_tap_n - $desc # TODO known defect (now fixed? remove the TODO)"
	else
		echo "not ok $kz_tap_n - $desc # TODO known defect, see the test's comment"
	fi
}

# kz_note TEXT: a TAP diagnostic line (shown in the log, counted nowhere).
kz_note() {
	echo "# $*"
}

# rp_start [PHONE-ARGS...]: this test's pcscd, the test PKI and a simulated
# Android phone in the field, APDUs logged to $KZ_TMP/apdu.jsonl; then cd
# into $KZ_TMP and write PEM copies of the phone's certificates (auth.pem,
# authca.pem, sign.pem, signca.pem, otherca.pem), auth.pub, sign.pub, and
# set auth_cn.
rp_start() {
	kz_start_pcscd || kz_bail "pcscd did not start"
	kz_make_pki || kz_bail "no test PKI"
	kz_start_phone --persona android --pki "$KZ_PKI" --log "$KZ_TMP/apdu.jsonl" "$@" ||
		kz_bail "no phone"
	cd "$KZ_TMP" || kz_bail "no temp dir"
	local c
	for c in auth authca sign signca otherca; do
		openssl x509 -inform DER -in "$KZ_PKI/$c.der" -out "$c.pem" || kz_bail "bad $c.der"
	done
	openssl x509 -in auth.pem -pubkey -noout >auth.pub || kz_bail "no auth public key"
	openssl x509 -in sign.pem -pubkey -noout >sign.pub || kz_bail "no sign public key"
	# The CN of the auth certificate: the phone's opaque identifier.
	auth_cn=$(openssl x509 -in auth.pem -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')
}

# VERIFY commands that carried a PIN or password (the tries query has none).
rp_verifies_sent() {
	jq -r 'select(.ins == "20") | .cmd' "$KZ_TMP/apdu.jsonl" | awk 'length($0) > 8' | wc -l
}

# rp_p11kit_config [--keep-opensc]: make p11-kit load the module under test
# under the name "kazashi", for every consumer that goes through p11-kit
# (p11-kit itself, p11-kit-proxy.so, p11tool, gnutls-cli, libp11's default).
#
# If the installed module file (make install) names the module under test,
# it is used as it is: RP_P11KIT=installed. Otherwise (a build tree not
# installed) a module file naming $module takes its place: RP_P11KIT=private.
# Either way p11-kit's module directories get a tmpfs holding copies of the
# system's module files, in this test's mount namespace only. The copies
# leave out OpenSC's module unless --keep-opensc: OpenSC has a JPKI driver
# of its own, and two drivers talking to one phone at once step on each
# other (see rp-p11kit.sh). May be called again to change its mind.
rp_p11kit_config() {
	local keep_opensc=no d orig f base
	[ "${1:-}" = --keep-opensc ] && keep_opensc=yes
	p11kit_dir=$(pkg-config --variable=p11_module_configs p11-kit-1 2>/dev/null)
	: "${p11kit_dir:=/usr/share/p11-kit/modules}"
	[ -d "$p11kit_dir" ] || kz_bail "no p11-kit module directory $p11kit_dir"
	# Both the package directory and /etc/pkcs11/modules (if any) are read.
	for d in "$p11kit_dir" /etc/pkcs11/modules; do
		[ -d "$d" ] || continue
		orig=$KZ_TMP/p11-kit-orig$(echo "$d" | tr / -)
		if [ ! -d "$orig" ]; then # the system's files, before any mount
			mkdir -p "$orig"
			cp "$d"/*.module "$orig"/ 2>/dev/null
		fi
		mount -t tmpfs -o mode=0755 tmpfs "$d" || kz_bail "cannot mount a tmpfs on $d"
		for f in "$orig"/*.module; do
			[ -f "$f" ] || continue
			base=$(basename "$f")
			case $base in
			opensc*) [ $keep_opensc = yes ] || continue ;;
			esac
			cp "$f" "$d/"
		done
	done
	RP_P11KIT=private
	f=$KZ_TMP/p11-kit-orig$(echo "$p11kit_dir" | tr / -)/kazashi.module
	if [ -f "$f" ] && [ "$(sed -n 's/^module: *//p' "$f")" -ef "$module" ]; then
		RP_P11KIT=installed
	else
		printf 'module: %s\ncritical: no\n' "$module" >"$p11kit_dir/kazashi.module"
	fi
	p11kit_proxy=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null)
	: "${p11kit_proxy:=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)/p11-kit-proxy.so}"
	p11kit_client=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)/p11-kit-client.so
}

# rp_server_pki: srvca.pem (a CA trusted for the server only) and
# srv.pem/srv.key, an EC P-256 server certificate for 127.0.0.1/localhost.
rp_server_pki() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout srvca.key -out srvca.pem -subj "/CN=kazashi test server CA" -days 2 \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		>/dev/null 2>&1 || kz_bail "no server CA"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" >/dev/null 2>&1 ||
		kz_bail "no server key"
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >srv.ext
	openssl x509 -req -in srv.csr -CA srvca.pem -CAkey srvca.key -CAcreateserial -days 2 \
		-extfile srv.ext -out srv.pem >/dev/null 2>&1 || kz_bail "no server certificate"
}

# rp_wait_port PORT [SECONDS]: until something listens on 127.0.0.1:PORT.
rp_wait_port() {
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	kz_bail "nothing listens on port $1 after ${2:-5} s"
}

# rp_s_server PORT [S_SERVER-ARGS...]: `openssl s_server -www` on
# 127.0.0.1:PORT that requires a client certificate issued by the test JPKI
# user-authentication CA (and no other), logging to s_server-PORT.log.
# Its status page ("-www") reports the client certificate it received.
rp_s_server() {
	local port=$1
	shift
	openssl s_server -accept "127.0.0.1:$port" -cert srv.pem -key srv.key \
		-CAfile authca.pem -Verify 1 -verify_return_error -www "$@" \
		>"s_server-$port.log" 2>&1 </dev/null &
	KZ_PIDS+=($!)
	rp_wait_port "$port"
}

# rp_request OUT CMD...: run a TLS client CMD (bounded by `timeout 30`)
# with an HTTP GET as its standard input (a file: tstclnt never ends when
# its input is a pipe); its output and errors go to OUT. Returns CMD's
# status, 124 if it had to be stopped. (openssl s_client needs -ign_eof to
# wait for the answer.)
rp_request() {
	local out=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' >"$KZ_TMP/request.txt"
	timeout 30 "$@" <"$KZ_TMP/request.txt" >"$out" 2>&1
}

# rp_client_subject FILE: the client certificate subject that s_server's
# status page (in FILE) reports, "C=JP, CN=...".
rp_client_subject() {
	awk '/^Client certificate/ { c = 1 } c && /Subject:/ { sub(/^ *Subject: */, ""); print; exit }' "$1"
}
