#!/bin/bash
# Firefox ESR as a relying party (docs/firefox.md), for real and headless:
#  - the module is loaded by enterprise policy (SecurityDevices in
#    policies.json) and security.default_personal_cert is set to "Select
#    Automatically" by the same policy;
#  - the token is logged in through Firefox's own PKCS#11 service (Marionette
#    in chrome context calls nsIPKCS11Token.login(); the PIN is typed into
#    the password prompt Firefox opens, as a user would);
#  - Firefox opens https://127.0.0.1:4443/, a page that requires a client
#    certificate from the test JPKI CA and shows the subject it received;
#    the test asserts on the page text and takes a screenshot (PNG);
#  - against TLS 1.3 (only, or allowed next to 1.2) the load ends on an error
#    page, never hangs; capped at TLS 1.2 (what the SSLVersionMax policy
#    does) the 1.2+1.3 site works.
# Slow (a browser starts): it has a test file of its own.
top_srcdir=${srcdir:-.}
. "$top_srcdir/tests/integration/pcscd-env.sh"
. "$top_srcdir/tests/integration/tap.sh"
. "$top_srcdir/tests/integration/rp-lib.sh"

firefox=$(command -v firefox-esr || command -v firefox)
[ -n "$firefox" ] || kz_bail "Firefox is not installed (Debian package firefox-esr)"
command -v python3 >/dev/null || kz_bail "python3 is not installed"

rp_start
rp_server_pki
marionette() { python3 "$top_srcdir/tests/integration/marionette.py" --timeout 30 "$@"; }
site() { # PORT TLS-VERSIONS
	python3 "$top_srcdir/tests/integration/rp-https-server.py" --port "$1" --tls "$2" \
		--cert srv.pem --key srv.key --ca authca.pem --log "site-$1.log" &
	KZ_PIDS+=($!)
	rp_wait_port "$1"
}
site 4443 1.2     # the JPKI login site, as docs/tls13.md advises: TLS 1.2
site 4444 1.3     # TLS 1.3 only
site 4445 1.2-1.3 # both

# --- kazashi as docs/firefox.md configures it for a browser -----------------
# A browser only authenticates: without the Digital Signature token, NSS has
# no reason to ask for the signature password while it looks for client
# certificates (it logs in to every token whose certificates are private).
printf 'signature_token = no\n' >"$KZ_TMP/kazashi-browser.conf"
export KAZASHI_CONF=$KZ_TMP/kazashi-browser.conf

# --- a fresh profile that trusts the test server's CA ----------------------
export HOME=$KZ_TMP/home MOZ_HEADLESS=1 MOZ_CRASHREPORTER_DISABLE=1
profile=$KZ_TMP/profile
mkdir -p "$HOME" "$profile"
certutil -N -d "sql:$profile" --empty-password
certutil -A -d "sql:$profile" -n "kazashi test server CA" -t "C,," -i srvca.pem
# Nothing of Firefox's own traffic (the test's network namespace has no
# way out anyway), no first-run pages.
cat >"$profile/user.js" <<'EOF'
user_pref("marionette.port", 2828);
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("extensions.update.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:9/");
user_pref("security.OCSP.enabled", 0);
EOF

# --- the enterprise policy ----------------------------------------------------
# Firefox reads /etc/firefox/policies/policies.json if it exists (Debian's
# firefox-esr too: its system configuration directory is /etc/firefox), else
# distribution/policies.json in its installation directory. The test's own
# file is bind-mounted over one of them, in this test's mount namespace only.
cat >policies.json <<EOF
{
  "policies": {
    "SecurityDevices": {
      "Add": { "kazashi": "$module" }
    },
    "Preferences": {
      "security.default_personal_cert": { "Value": "Select Automatically", "Status": "locked" }
    },
    "DisableAppUpdate": true,
    "DisableTelemetry": true,
    "DisableFirefoxStudies": true,
    "DontCheckDefaultBrowser": true,
    "OverrideFirstRunPage": "",
    "OverridePostUpdatePage": ""
  }
}
EOF
if [ -f /etc/firefox/policies/policies.json ]; then
	mount --bind policies.json /etc/firefox/policies/policies.json || kz_bail "cannot bind the policy file"
else
	dist=$(dirname "$(readlink -f "$firefox")")/distribution
	[ -d "$dist" ] || kz_bail "no $dist to put the policy in"
	mkdir -p dist
	cp -a "$dist"/. dist/
	cp policies.json dist/policies.json
	mount --bind dist "$dist" || kz_bail "cannot bind-mount over $dist"
fi

# --- Firefox, headless, remote-controlled by Marionette --------------------
# -remote-allow-system-access lets Marionette run chrome-context scripts.
timeout 300 "$firefox" --marionette -remote-allow-system-access --no-remote \
	--profile "$profile" about:blank >firefox.log 2>&1 &
firefox_pid=$!
KZ_PIDS+=("$firefox_pid")
marionette wait >marionette-wait.txt 2>&1 || kz_bail "Firefox did not start: $(tail -n 5 firefox.log)"

# Chrome-context scripts (Marionette runs each as a function body).
cat >prompts.js <<'EOF'
// Answer Firefox's password prompt for one token with the PIN, as a user
// would type it; cancel any other prompt. Every prompt is recorded.
const [token, pin] = arguments;
if (!globalThis.kazashiObserver) {
  globalThis.kazashiObserver = (win) => {
    const doc = win.document;
    const box = doc.getElementById("password1Textbox");
    const info = doc.getElementById("infoBody");
    const text = info ? info.textContent : doc.documentURI;
    const answer = !!box && text.includes(`(${token})`);
    const seen = JSON.parse(Services.prefs.getStringPref("kazashi.test.prompts", "[]"));
    seen.push({ prompt: text, answered: answer });
    Services.prefs.setStringPref("kazashi.test.prompts", JSON.stringify(seen));
    if (answer) {
      box.value = pin;
      doc.querySelector("dialog").acceptDialog();
    } else {
      doc.querySelector("dialog").cancelDialog();
    }
  };
  Services.obs.addObserver(globalThis.kazashiObserver, "common-dialog-loaded");
}
return "watching";
EOF
# nsIPKCS11Module/nsIPK11Token changed over the versions (slots vs
# listSlots(), isLoggedIn attribute vs method): helpers take either.
cat >compat.js <<'EOF'
const slotsOf = (m) => (m.slots !== undefined ? m.slots : m.listSlots());
const loggedIn = (t) => (typeof t.isLoggedIn === "function" ? t.isLoggedIn() : t.isLoggedIn);
EOF
cat >login.js <<'EOF'
// Find the token among the modules Firefox loaded, then log in to it with
// nsIPKCS11Token.login(), which opens Firefox's password prompt. The call
// is left to run on its own: the prompt blocks it until answered.
const [want] = arguments;
return (async () => {
  const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  const deadline = Date.now() + 20000;
  for (;;) {
    const seen = [];
    for (const m of await db.listModules()) {
      for (const slot of slotsOf(m)) {
        let t;
        try { t = slot.getToken(); } catch (e) { continue; }
        seen.push(`${m.name}: ${t.tokenName}`);
        if (t.tokenName !== want) continue;
        const was = loggedIn(t);
        if (!was) Services.tm.dispatchToMainThread(() => { try { t.login(false); } catch (e) {} });
        return { module: m.name, library: m.libName, token: t.tokenName, loggedInBefore: was,
                 policies: Services.policies.status == Services.policies.ACTIVE ? "active" : "inactive" };
      }
    }
    if (Date.now() > deadline) return { error: "token not found", seen };
    await new Promise((r) => setTimeout(r, 200));
  }
})();
EOF
cat >state.js <<'EOF'
// The token's login state (waiting up to 20 s for the login), the prompts
// seen so far and the client-certificate preference.
const [want] = arguments;
return (async () => {
  const db = Cc["@mozilla.org/security/pkcs11moduledb;1"].getService(Ci.nsIPKCS11ModuleDB);
  const deadline = Date.now() + 20000;
  for (;;) {
    let state = null;
    for (const m of await db.listModules())
      for (const slot of slotsOf(m)) {
        let t;
        try { t = slot.getToken(); } catch (e) { continue; }
        if (t.tokenName === want) state = loggedIn(t);
      }
    if (state || Date.now() > deadline)
      return { loggedIn: state,
               prompts: JSON.parse(Services.prefs.getStringPref("kazashi.test.prompts", "[]")),
               personalCert: Services.prefs.getStringPref("security.default_personal_cert"),
               personalCertLocked: Services.prefs.prefIsLocked("security.default_personal_cert") };
    await new Promise((r) => setTimeout(r, 100));
  }
})();
EOF
for f in login.js state.js; do cat compat.js "$f" >"$f.tmp" && mv "$f.tmp" "$f"; done
cat >tls-max.js <<'EOF'
// What the SSLVersionMax policy ("tls1.2") sets.
Services.prefs.setIntPref("security.tls.version.max", Number(arguments[0]));
return Services.prefs.getIntPref("security.tls.version.max");
EOF
json() { python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }

marionette "chrome:prompts.js:$auth_token:$auth_pin" "chrome:login.js:$auth_token" >login.txt 2>&1
sed -n 2p login.txt >login.json
kz_is "the enterprise policy is active" active "$(json 'd.get("policies")' <login.json)"
kz_is "SecurityDevices loaded the module, named kazashi" "kazashi $module" \
	"$(json 'd.get("module"), d.get("library")' <login.json | tr -d "(),'")"
kz_is "Firefox sees the user-authentication token" "$auth_token" "$(json 'd.get("token")' <login.json)"
marionette "chrome:state.js:$auth_token" >state.txt 2>&1
kz_is "logged in through nsIPKCS11Token.login() and Firefox's password prompt" True \
	"$(json 'd.get("loggedIn")' <state.txt)"
kz_ok "... the prompt named the token" grep -q "Please authenticate to the security device ($auth_token)" state.txt
kz_is "security.default_personal_cert: Select Automatically, locked by the policy" \
	"Select Automatically True" "$(json 'd["personalCert"], d["personalCertLocked"]' <state.txt | tr -d "(),'")"

# --- the client-authenticated page ------------------------------------------
marionette navigate:https://127.0.0.1:4443/ text:page.txt screenshot:firefox-jpki.png title >page-nav.txt 2>&1
kz_ok "Firefox loads https://127.0.0.1:4443/" grep -q "^loaded: https://127.0.0.1:4443/" page-nav.txt
kz_ok "the page shows the subject the server received: C=JP, CN=$auth_cn" \
	grep -qx "Subject: C=JP, CN=$auth_cn" page.txt
kz_ok "... issued by the JPKI user-authentication CA" \
	grep -q "^Issuer: C=JP, O=JPKI, OU=JPKI for user authentication" page.txt
kz_ok "... over TLS 1.2" grep -qx "Protocol: TLSv1.2" page.txt
kz_ok "the server logged the same certificate" grep -q "^client-certificate: C=JP, CN=$auth_cn |" site-4443.log
kz_ok "a screenshot was taken (PNG)" \
	eval '[ "$(head -c 8 firefox-jpki.png | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]'
kz_note "screenshot: $(stat -c %s firefox-jpki.png 2>/dev/null) bytes; keep it with KZ_KEEP_TMP=1 ($KZ_TMP/firefox-jpki.png)"
if [ -n "${KZ_ARTIFACTS:-}" ]; then
	mkdir -p "$KZ_ARTIFACTS" && cp firefox-jpki.png "$KZ_ARTIFACTS/"
fi

# --- TLS 1.3 -------------------------------------------------------------------
marionette navigate:https://127.0.0.1:4444/ >tls13-nav.txt 2>&1
kz_ok "TLS 1.3-only site: the load ends on Firefox's error page, no hang" \
	grep -q "^loaded: about:neterror?e=nssFailure2&u=https%3A//127.0.0.1%3A4444/" tls13-nav.txt
kz_ok "... the server saw no client certificate (Firefox cannot sign RSA-PSS with it)" \
	grep -q "^handshake-failed: .*PEER_DID_NOT_RETURN_A_CERTIFICATE" site-4444.log
marionette navigate:https://127.0.0.1:4445/ >both-nav.txt 2>&1
kz_ok "1.2+1.3 site, Firefox's defaults: TLS 1.3, the same error page (no fallback)" \
	grep -q "^loaded: about:neterror?e=nssFailure2&u=https%3A//127.0.0.1%3A4445/" both-nav.txt
marionette chrome:tls-max.js:3 navigate:https://127.0.0.1:4445/ text:page-12.txt >both12-nav.txt 2>&1
kz_ok "security.tls.version.max = 3 (TLS 1.2), 1.2+1.3 site: the page loads over TLS 1.2" \
	eval 'grep -q "^loaded: https://127.0.0.1:4445/" both12-nav.txt && grep -qx "Protocol: TLSv1.2" page-12.txt'
kz_ok "... with the phone's certificate" grep -qx "Subject: C=JP, CN=$auth_cn" page-12.txt

# --- prompts --------------------------------------------------------------------
marionette "chrome:state.js:$auth_token" >state-end.txt 2>&1
sign_prompts=$(json 'sum(1 for p in d["prompts"] if "('"$sign_token"')" in p["prompt"])' <state-end.txt)
kz_note "Firefox asked for the $sign_token password $sign_prompts time(s) while picking client certificates"
kz_ok "with signature_token = no, Firefox never asks for the $sign_token password" \
	test "$sign_prompts" = 0

marionette quit >/dev/null 2>&1
for ((i = 0; i < 50; i++)); do
	kill -0 $firefox_pid 2>/dev/null || break
	sleep 0.1
done
kz_ok "Firefox quits when asked" eval '! kill -0 $firefox_pid 2>/dev/null'

kz_done
