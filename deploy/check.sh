#!/usr/bin/env bash
# Checks the Kubernetes manifests: renders both Kustomize overlays with `kubectl kustomize`
# (where kubectl is installed) and validates every rendered object, strictly, against the
# Kubernetes schemas with kubernetes-validate (PyPI). Also checks what each overlay promises:
# SQLite runs one replica with the Recreate strategy, PostgreSQL several.
set -euo pipefail
cd "$(dirname "$0")/kubernetes"

python3 -m pip show -q kubernetes-validate >/dev/null 2>&1 ||
  python3 -m pip install -q --root-user-action=ignore 'kubernetes-validate==1.37.0'

if ! command -v kubectl >/dev/null; then
  echo "!!! SKIPPED: kubectl is not installed, so the overlays cannot be rendered." >&2
  echo "!!! Validating the base's plain resources only." >&2
  kubernetes-validate --strict --quiet base/deployment.yaml base/service.yaml
  exit 0
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for overlay in sqlite postgres; do
  kubectl kustomize "overlays/$overlay" > "$out/$overlay.yaml"
  kubernetes-validate --strict --quiet "$out/$overlay.yaml"
done

python3 - "$out" <<'PY'
import sys, yaml
def deployment(overlay):
    docs = list(yaml.safe_load_all(open(f"{sys.argv[1]}/{overlay}.yaml")))
    return next(d for d in docs if d["kind"] == "Deployment"), docs
sqlite, _ = deployment("sqlite")
assert sqlite["spec"]["replicas"] == 1, "SQLite runs exactly one replica"
assert sqlite["spec"]["strategy"]["type"] == "Recreate", "SQLite replaces, never overlaps"
postgres, docs = deployment("postgres")
assert postgres["spec"]["replicas"] > 1, "PostgreSQL runs several replicas"
env = {e["name"] for e in postgres["spec"]["template"]["spec"]["containers"][0]["env"]}
assert "DATABASE_URL_FILE" in env and "DATABASE_URL" not in env, "the URL comes from a Secret file"
assert not any(d["kind"] == "Secret" for d in docs), "no secret is committed"
for d in (sqlite, postgres):
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert c["readinessProbe"] and c["livenessProbe"] and c["lifecycle"]["preStop"], "probes and preStop"
    assert c["securityContext"]["readOnlyRootFilesystem"] and d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
print("kubernetes manifests: both overlays render, validate strictly and keep their promises")
PY
