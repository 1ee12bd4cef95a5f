"""The Kubernetes manifests in deploy/k8s, checked offline.

Each manifest is validated against the Kubernetes API schemas that ``kubernetes-validate`` ships (strict:
an unknown or misspelt field fails). Then what a schema cannot see, as kubeconform-style cross checks:
labels match selectors (Deployment, Service, PodDisruptionBudget, spread constraints), ports and probes
name the container's port, which is the Dockerfile's, the Ingress reaches the Service, the HPA scales the
Deployment, the cookie secret comes from the Secret deploy/README.md tells how to create, every path the
app writes is a volume under a read-only root filesystem, and the probes call the warm-up as it parses
its arguments. Also the readiness check itself (``loadtest.warmup``) on a ready file and a dead server.
"""

from __future__ import annotations

import re

import pytest

from loadtest import serve, warmup
from loadtest.server import free_port
from tests.test_deploy import ROOT, dockerfile_cmd, dockerfile_env, dockerfile_instructions, is_dockerignored

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33"  # the oldest minor version the manifests are checked against (and the newest)
NEWEST = kubernetes_validate.latest_version()
LABELS = {"app.kubernetes.io/name": "descent-lab", "app.kubernetes.io/component": "web"}
# Measured on one server (deploy/README.md, "Kubernetes"): server and workers after 50 visitors.
MEASURED_MEMORY_MI = 1104


def manifests() -> dict[str, dict]:
    """kind -> the manifest (one object per file; kustomization.yaml lists the files)."""
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1, f"{path.name}: one object per file"
        assert docs[0]["kind"] not in out, f"two {docs[0]['kind']} manifests"
        out[docs[0]["kind"]] = docs[0]
    return out


M = manifests()
DEPLOYMENT, SERVICE, INGRESS = M["Deployment"], M["Service"], M["Ingress"]
HPA, PDB = M["HorizontalPodAutoscaler"], M["PodDisruptionBudget"]
POD = DEPLOYMENT["spec"]["template"]["spec"]
(APP,) = POD["containers"]


def env_of(container: dict) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def under(path: str, mounts: list[str]) -> bool:
    return any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounts)


# --- schemas ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", sorted({KUBERNETES_VERSION, NEWEST}))
@pytest.mark.parametrize("kind", sorted(M))
def test_manifest_is_valid_against_the_kubernetes_schema(kind, version):
    kubernetes_validate.validate(M[kind], version, strict=True)


def test_the_schema_check_can_fail():
    broken = yaml.safe_load((K8S / "deployment.yaml").read_text())
    broken["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, NEWEST, strict=True)


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(files)


# --- labels and selectors ---------------------------------------------------------------------------------
def test_labels_match_selectors():
    template_labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    assert DEPLOYMENT["spec"]["selector"]["matchLabels"] == LABELS
    assert LABELS.items() <= template_labels.items()
    assert SERVICE["spec"]["selector"] == LABELS
    assert PDB["spec"]["selector"]["matchLabels"] == LABELS
    for constraint in POD.get("topologySpreadConstraints", []):
        assert constraint["labelSelector"]["matchLabels"] == LABELS
    for obj in M.values():
        assert LABELS.items() <= obj["metadata"]["labels"].items(), obj["kind"]


def test_replicas_autoscaler_and_disruption_budget():
    assert DEPLOYMENT["spec"]["replicas"] == 3
    target = HPA["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DEPLOYMENT["metadata"]["name"])
    assert HPA["spec"]["minReplicas"] == DEPLOYMENT["spec"]["replicas"] < HPA["spec"]["maxReplicas"]
    (metric,) = HPA["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and APP["resources"]["requests"]["cpu"]  # % of the request
    assert PDB["spec"]["maxUnavailable"] == 1  # while the others (>= 2) keep serving
    rolling = DEPLOYMENT["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1  # a warm pod first, then one goes


# --- ports, probes, Service and Ingress -----------------------------------------------------------------
def test_ports_and_probes_name_the_container_port_of_the_image():
    (port,) = APP["ports"]
    exposed = [rest for word, rest in dockerfile_instructions() if word == "EXPOSE"]
    assert exposed == [str(port["containerPort"])]
    assert f"--server.port={port['containerPort']}" in dockerfile_cmd()
    assert APP["livenessProbe"]["httpGet"] == {"path": "/_stcore/health", "port": port["name"]}
    (service_port,) = SERVICE["spec"]["ports"]
    assert service_port["targetPort"] in (port["name"], port["containerPort"])
    backend = INGRESS["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == SERVICE["metadata"]["name"]
    assert backend["port"].get("name") == service_port["name"] or backend["port"].get("number") == \
        service_port["port"]


def test_probes_are_the_warm_up_and_its_check():
    startup = APP["startupProbe"]["exec"]["command"]
    readiness = APP["readinessProbe"]["exec"]["command"]
    assert startup == readiness == ["python", "-m", "loadtest.warmup", "--check"]
    # The warm-up runs in the image's CMD (loadtest.serve), which writes the ready file the probes read;
    # the startup probe waits at least as long as the warm-up may take.
    cmd = dockerfile_cmd()
    assert cmd[:3] == ["python", "-m", "loadtest.serve"]
    assert warmup.ready_file(serve.local_url(cmd[3:], {}), {}) == warmup.ready_file(warmup.DEFAULT_URL, {})
    probe = APP["startupProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] >= serve.build_parser().parse_args([]).deadline
    for command in (startup, readiness):  # the warm-up's own parser accepts the arguments
        warmup.build_parser().parse_args(command[3:])
    # The probes import loadtest from the app folder, which the image has.
    assert [rest for w, rest in dockerfile_instructions() if w == "WORKDIR"] == ["/app"]
    assert env_of(APP)["PYTHONPATH"]["value"] == "/app"
    assert not any(is_dockerignored(f"loadtest/{name}.py") for name in ("warmup", "protocol", "serve"))


def test_ingress_sticks_sessions_and_keeps_websockets_open():
    notes = INGRESS["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert INGRESS["spec"]["ingressClassName"] == "nginx"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "affinity-mode"] == "persistent"
    assert notes[prefix + "session-cookie-change-on-failure"] == "true"
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[prefix + timeout]) >= 3600, timeout
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    max_message = int(re.search(r"^maxMessageSize\s*=\s*(\d+)", config, re.M).group(1))
    assert notes[prefix + "proxy-body-size"] == f"{max_message}m"


# --- secret, security, writable paths, resources ---------------------------------------------------------
def test_cookie_secret_comes_from_the_secret_the_readme_creates():
    ref = env_of(APP)["STREAMLIT_SERVER_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]
    readme = (ROOT / "deploy" / "README.md").read_text()
    command = f"kubectl create secret generic {ref['name']} --from-literal={ref['key']}="
    assert command in readme and "kubectl apply -k deploy/k8s" in readme
    assert not ref.get("optional", False)


def test_runs_as_the_images_non_root_user_without_token_or_privileges():
    (user,) = [rest for word, rest in dockerfile_instructions() if word == "USER"]
    uid, gid = (int(x) for x in user.split(":"))
    pod_security = POD["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert (pod_security["runAsUser"], pod_security["runAsGroup"]) == (uid, gid)
    assert POD["automountServiceAccountToken"] is False
    for container in POD["containers"] + POD.get("initContainers", []):
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, container["name"]
        assert security["allowPrivilegeEscalation"] is False, container["name"]
        assert security["capabilities"]["drop"] == ["ALL"], container["name"]
        assert container["image"] == APP["image"], container["name"]


def test_every_path_the_app_writes_is_a_volume():
    image_env = dockerfile_env()
    mounts = {m["mountPath"]: m["name"] for m in APP["volumeMounts"]}
    volumes = {v["name"]: v for v in POD["volumes"]}
    assert set(mounts.values()) == set(volumes)
    writes = [image_env["DESCENT_LAB_KERNEL_DIR"], image_env["NUMBA_CACHE_DIR"], "/tmp",
              env_of(APP)["HOME"]["value"], warmup.DEFAULT_READY_FILE.parent.as_posix()]
    for path in writes:
        assert under(path, list(mounts)), path
    for volume in volumes.values():
        assert "emptyDir" in volume and volume["emptyDir"].get("sizeLimit"), volume["name"]
    # The image's compiled kernels are copied into the (empty) kernel volume before the app starts.
    (seed,) = POD["initContainers"]
    seed_mount = seed["volumeMounts"][0]
    assert volumes[seed_mount["name"]] is volumes[mounts[image_env["DESCENT_LAB_KERNEL_DIR"]]]
    kernels = image_env["DESCENT_LAB_KERNEL_DIR"]
    assert seed["command"] == ["cp", "-a", f"{kernels}/.", seed_mount["mountPath"] + "/"]


def _quantity(text: str) -> float:
    """A Kubernetes quantity in base units (cores, bytes)."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()
    return float(number) * units[unit]


def test_resources_cover_the_measured_server():
    for container in POD["containers"] + POD["initContainers"]:
        requests, limits = container["resources"]["requests"], container["resources"]["limits"]
        assert set(requests) == set(limits), container["name"]
        for key in requests:
            assert _quantity(requests[key]) <= _quantity(limits[key]), (container["name"], key)
    requests = APP["resources"]["requests"]
    assert _quantity(requests["memory"]) >= MEASURED_MEMORY_MI * 2**20
    assert _quantity(requests["cpu"]) >= 1  # one GIL-bound server process


# --- the readiness check itself ------------------------------------------------------------------------
def test_readiness_needs_the_ready_file_and_a_live_server(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there once the probing socket is closed
    ready = tmp_path / "ready"
    assert warmup.main(["--check", "--url", dead, "--ready-file", str(ready)]) == 1
    ready.write_text("{}")
    assert warmup.main(["--check", "--url", dead, "--ready-file", str(ready)]) == 1  # file, no server
    # A warm-up that never sees the server healthy removes an old file and writes none.
    assert warmup.run(dead, ready, budget=0.5, log=lambda m: None) is False
    assert not ready.exists()
