#!/usr/bin/env bash
# Shows that tests/oracle/fix-corpus.sh (the CI step) fails when a fix breaks
# a file: a wrapper around dockwright that, after a real `fix`, damages one
# fixed file in the way named by MODE:
#   parse   `ENV NAME` without a value (BuildKit rejects the file)
#   shell   an unterminated quote in a RUN (`dash -n` fails)
#
#   tests/oracle/negative-check.sh DOCKWRIGHT PYTHON MODE     (expects fix-corpus.sh to fail)
set -euo pipefail
dockwright=$(realpath "$1"); python=$2; mode=$3
here=$(cd "$(dirname "$0")" && pwd)
wrapper=$(mktemp); trap 'rm -f "$wrapper"' EXIT
cat >"$wrapper" <<WRAP
#!/usr/bin/env bash
"$dockwright" "\$@"; status=\$?
case " \$* " in *" --dry-run "*) exit \$status;; esac
victim=./docker+awesome-compose/react-express-mysql__backend__Dockerfile
case "$mode" in
  parse) printf 'ENV NOVALUE\n' >> "\$victim" ;;
  shell) sed -i '0,/^RUN /s//RUN echo "unterminated \&\& /' "\$victim" ;;
esac
exit \$status
WRAP
chmod +x "$wrapper"
set +e
"$here/fix-corpus.sh" "$wrapper" "$python"
status=$?
set -e
if [ "$status" -eq 0 ]; then echo "negative check ($mode): fix-corpus.sh PASSED a broken fix"; exit 1; fi
echo "negative check ($mode): fix-corpus.sh failed as it should (exit $status)"
