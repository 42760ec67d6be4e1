# Throw-away OpenLDAP server (slapd, mdb backend, memberOf overlay) on loopback for the
# external-identity tests. Debian packages it needs (installed by start_ldap when missing):
#   slapd ldap-utils
#
# Source this file (after services.sh, whose free_port/wait_port/_pids/stop_services it uses;
# it sources services.sh itself when that was not done), then call start_ldap. Exports:
#   BERTH_TEST_LDAP_URL            ldap://127.0.0.1:<port>
#   BERTH_TEST_LDAP_BASE_DN        dc=berth,dc=test (users under ou=people, groups under ou=groups)
#   BERTH_TEST_LDAP_BIND_DN        a read-only service account for searches
#   BERTH_TEST_LDAP_BIND_PASSWORD  its password (random per run)
# Seeded users (uid / password): alice / Alice-pw-1, bob / Bob-pw-22, carol / Carol-pw-333,
# dave / Dave-pw-4444; groups: devs (alice, bob), berth-admins (carol). dave is in no group.
# The server runs as the current user in $BERTH_SERVICES_DIR/ldap and stops with stop_services.

declare -F free_port >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

_ldap_install() {
  local need=
  command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || need=1
  command -v ldapadd >/dev/null 2>&1 || need=1
  [ -z "$need" ] && return 0
  echo "services: apt-get install slapd ldap-utils"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null
}

start_ldap() {
  _ldap_install || { echo "services: could not install slapd/ldap-utils" >&2; return 1; }
  local d=$BERTH_SERVICES_DIR/ldap port base="dc=berth,dc=test" rootpw searchpw slapd=/usr/sbin/slapd
  command -v slapd >/dev/null 2>&1 && slapd=$(command -v slapd)
  port=$(free_port)
  rootpw=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  searchpw=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  mkdir -p "$d/data"
  chmod 700 "$d"
  cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $d/slapd.pid
argsfile $d/slapd.args
# Accept a DN with an empty password as an anonymous bind, as Active Directory and many other
# servers do: the trap a client must not fall into (treating that bind as a login).
allow bind_anon_dn

database mdb
maxsize 67108864
suffix "$base"
rootdn "cn=admin,$base"
rootpw $(slappasswd -s "$rootpw")
directory $d/data
overlay memberof

access to attrs=userPassword by self =xw by anonymous auth by * none
access to * by users read by * none
EOF
  "$slapd" -d 0 -f "$d/slapd.conf" -h "ldap://127.0.0.1:$port/" >"$d/slapd.log" 2>&1 &
  _pids+=($!)
  wait_port 127.0.0.1 "$port" 30 || { cat "$d/slapd.log" >&2; return 1; }

  local user
  {
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: berth\no: Berth tests\n\n' "$base"
    for ou in people groups services; do
      printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$ou" "$base" "$ou"
    done
    printf 'dn: cn=search,ou=services,%s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: search\nuserPassword: %s\n\n' \
      "$base" "$(slappasswd -s "$searchpw")"
    for user in "alice:Alice Liddell:Alice-pw-1" "bob:Bob Builder:Bob-pw-22" "carol:Carol Danvers:Carol-pw-333" "dave:Dave Lister:Dave-pw-4444"; do
      IFS=: read -r uid name pw <<<"$user"
      printf 'dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\ndisplayName: %s\nmail: %s@berth.test\nuserPassword: %s\n\n' \
        "$uid" "$base" "$uid" "$name" "${name#* }" "$name" "$uid" "$(slappasswd -s "$pw")"
    done
    # Groups after their members, so the memberOf overlay fills in the users' memberOf.
    printf 'dn: cn=devs,ou=groups,%s\nobjectClass: groupOfNames\ncn: devs\nmember: uid=alice,ou=people,%s\nmember: uid=bob,ou=people,%s\n\n' "$base" "$base" "$base"
    printf 'dn: cn=berth-admins,ou=groups,%s\nobjectClass: groupOfNames\ncn: berth-admins\nmember: uid=carol,ou=people,%s\n\n' "$base" "$base"
  } >"$d/seed.ldif"
  ldapadd -x -H "ldap://127.0.0.1:$port/" -D "cn=admin,$base" -w "$rootpw" -f "$d/seed.ldif" >"$d/seed.log" 2>&1 ||
    { cat "$d/seed.log" >&2; return 1; }

  export BERTH_TEST_LDAP_URL="ldap://127.0.0.1:$port"
  export BERTH_TEST_LDAP_BASE_DN=$base
  export BERTH_TEST_LDAP_BIND_DN="cn=search,ou=services,$base"
  export BERTH_TEST_LDAP_BIND_PASSWORD=$searchpw
  echo "services: OpenLDAP on 127.0.0.1:$port"
}
