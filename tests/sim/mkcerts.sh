#!/bin/sh
# mkcerts.sh DIR -- create the TLS material the test server (sim.py) uses.
#
# Writes into DIR:
#   ca.pem, ca.key                 test CA that bridge is configured to trust
#   server.pem, server.key         server cert signed by that CA, valid for
#                                  DNS:localhost, IP:127.0.0.1 and IP:::1
#   rogue-ca.pem                   an unrelated CA (its key is thrown away)
#   rogue-server.pem, rogue-server.key
#                                  same names, signed by the rogue CA: a cert
#                                  that does not chain to the configured CA
#
# EC P-256 keys (mode 0600), certificates valid for 30 days.  Idempotent: if
# the set already exists and every certificate is valid for at least one more
# day, nothing is done.  Concurrent runs on the same DIR are serialised with a
# lock directory, and ca.pem is moved into place last, so a reader that sees
# ca.pem sees a complete, matching set.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
DAYS=30
SAN="DNS:localhost,IP:127.0.0.1,IP:::1"

# Succeeds when every certificate in DIR exists and outlives the next day.
certs_fresh() {
    for f in ca.pem server.pem rogue-ca.pem rogue-server.pem; do
        openssl x509 -checkend 86400 -noout -in "$DIR/$f" >/dev/null 2>&1 || return 1
    done
    for f in server.key rogue-server.key; do
        [ -f "$DIR/$f" ] || return 1
    done
}

[ -f "$DIR/ca.pem" ] && certs_fresh && exit 0

mkdir -p "$DIR"

# Take the lock (mkdir is atomic); wait up to 30 s for another run to finish.
LOCK=$DIR/.mkcerts.lock
tries=0
until mkdir "$LOCK" 2>/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
        echo "mkcerts: $LOCK is held; remove it if no other mkcerts.sh is running" >&2
        exit 1
    fi
    sleep 1
done
TMP=
trap 'rm -rf "$TMP"; rmdir "$LOCK" 2>/dev/null || :' EXIT
trap 'exit 1' HUP INT TERM

# Another run may have finished while we waited for the lock.
[ -f "$DIR/ca.pem" ] && certs_fresh && exit 0

umask 077
TMP=$(mktemp -d "$DIR/.mkcerts.XXXXXX")
LOG=$TMP/openssl.log

# Run a command with its output sent to the log; show the log if it fails.
run() {
    if ! "$@" >>"$LOG" 2>&1; then
        cat "$LOG" >&2
        echo "mkcerts: failed: $*" >&2
        exit 1
    fi
}

# Self-contained OpenSSL config, so the system openssl.cnf does not matter.
cat >"$TMP/openssl.cnf" <<EOF
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# new_key NAME: EC P-256 private key in $TMP/NAME.key.
new_key() {
    run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/$1.key"
}

# new_ca NAME CN: self-signed CA certificate $TMP/NAME.pem with key NAME.key.
new_ca() {
    new_key "$1"
    run openssl req -new -x509 -config "$TMP/openssl.cnf" -extensions ca_ext \
        -key "$TMP/$1.key" -subj "/O=bridge tests/CN=$2" -days "$DAYS" -sha256 \
        -out "$TMP/$1.pem"
}

# new_server NAME CA: server certificate $TMP/NAME.pem signed by CA.
new_server() {
    new_key "$1"
    run openssl req -new -config "$TMP/openssl.cnf" \
        -key "$TMP/$1.key" -subj "/O=bridge tests/CN=localhost" -out "$TMP/$1.csr"
    run openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/$2.pem" -CAkey "$TMP/$2.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days "$DAYS" -sha256 \
        -extfile "$TMP/openssl.cnf" -extensions server_ext -out "$TMP/$1.pem"
}

new_ca ca "bridge test CA"
new_server server ca
new_ca rogue-ca "bridge rogue CA"
new_server rogue-server rogue-ca

chmod 0644 "$TMP"/*.pem
for f in server.key server.pem rogue-ca.pem rogue-server.key rogue-server.pem ca.key ca.pem; do
    mv -f "$TMP/$f" "$DIR/$f"
done
