"""Renders deploy/k8s with `kubectl kustomize` (no cluster) and checks what comes out.

- Every overlay (and prod with the optional ServiceMonitor component) renders; the sources
  and the rendered YAML pass yamllint (deploy/yamllint.yaml).
- Schema level: every object's apiVersion/kind is a known pair and every field it uses is a
  field of that Kubernetes type (a typo such as `readinesProbe` fails), required fields are
  set.
- Semantics: probes are gRPC probes on the container's gRPC port; Service target ports are
  container ports; the PodDisruptionBudget and Service selectors match the pod labels; the
  HorizontalPodAutoscaler targets the Deployment; the pod is non-root with a read-only root
  filesystem and no capabilities; /models is mounted read-only; the grace period exceeds
  preStop + the server's drain (--shutdown_grace_ms); every arg is a flag attnserve defines.
"""

import os
import re
import subprocess
import tempfile
import unittest

import yaml

import deploy_testlib as lib

K8S = lib.source_path("deploy", "k8s")
YAMLLINT_CONFIG = lib.source_path("deploy", "yamllint.yaml")
OVERLAYS = {"dev": "attnserve-dev", "prod": "attnserve"}
GRPC_PORT = 50051
METRICS_PORT = 9090

# The fields of each Kubernetes type these manifests may use (a subset of the API, enough to
# catch misspelt or misplaced keys). A dict maps field -> type; "str", "int", "bool", "any"
# are leaves; [T] is a list of T; "map" is a string map.
OBJECT_META = {"name": "str", "namespace": "str", "labels": "map", "annotations": "map"}
LABEL_SELECTOR = {"matchLabels": "map", "matchExpressions": ["any"]}
QUANTITY = "any"
RESOURCES = {"requests": "map", "limits": "map"}
PROBE = {
    "grpc": {"port": "int", "service": "str"},
    "httpGet": "any", "tcpSocket": "any", "exec": "any",
    "initialDelaySeconds": "int", "periodSeconds": "int", "timeoutSeconds": "int",
    "successThreshold": "int", "failureThreshold": "int",
    "terminationGracePeriodSeconds": "int",
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": "bool", "readOnlyRootFilesystem": "bool",
    "runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int", "privileged": "bool",
    "capabilities": {"drop": ["str"], "add": ["str"]},
    "seccompProfile": {"type": "str", "localhostProfile": "str"},
}
CONTAINER = {
    "name": "str", "image": "str", "imagePullPolicy": "str", "command": ["str"],
    "args": ["str"],
    "ports": [{"name": "str", "containerPort": "int", "protocol": "str"}],
    "env": [{"name": "str", "value": "str", "valueFrom": "any"}],
    "resources": RESOURCES,
    "startupProbe": PROBE, "livenessProbe": PROBE, "readinessProbe": PROBE,
    "lifecycle": {"preStop": {"exec": {"command": ["str"]}, "sleep": {"seconds": "int"}}},
    "securityContext": CONTAINER_SECURITY,
    "volumeMounts": [{"name": "str", "mountPath": "str", "readOnly": "bool",
                      "subPath": "str"}],
}
POD_SPEC = {
    "automountServiceAccountToken": "bool", "serviceAccountName": "str",
    "terminationGracePeriodSeconds": "int",
    "securityContext": {
        "runAsNonRoot": "bool", "runAsUser": "int", "runAsGroup": "int", "fsGroup": "int",
        "seccompProfile": {"type": "str", "localhostProfile": "str"},
    },
    "containers": [CONTAINER], "initContainers": [CONTAINER],
    "volumes": [{
        "name": "str",
        "persistentVolumeClaim": {"claimName": "str", "readOnly": "bool"},
        "emptyDir": {"medium": "str", "sizeLimit": QUANTITY},
        "configMap": "any", "secret": "any",
    }],
    "topologySpreadConstraints": [{
        "maxSkew": "int", "topologyKey": "str", "whenUnsatisfiable": "str",
        "labelSelector": LABEL_SELECTOR,
    }],
    "nodeSelector": "map", "affinity": "any", "tolerations": ["any"],
}
SCHEMAS = {
    ("v1", "Namespace"): {"apiVersion": "str", "kind": "str", "metadata": OBJECT_META},
    ("v1", "Service"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {"type": "str", "clusterIP": "str", "selector": "map", "ports": [{
            "name": "str", "port": "int", "targetPort": "any", "protocol": "str",
            "appProtocol": "str"}]},
    },
    ("v1", "PersistentVolumeClaim"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {"accessModes": ["str"], "storageClassName": "str",
                 "resources": {"requests": "map"}},
    },
    ("apps/v1", "Deployment"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {
            "replicas": "int", "revisionHistoryLimit": "int", "selector": LABEL_SELECTOR,
            "strategy": {"type": "str",
                         "rollingUpdate": {"maxSurge": "any", "maxUnavailable": "any"}},
            "template": {"metadata": OBJECT_META, "spec": POD_SPEC},
        },
    },
    ("policy/v1", "PodDisruptionBudget"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {"minAvailable": "any", "maxUnavailable": "any", "selector": LABEL_SELECTOR},
    },
    ("autoscaling/v2", "HorizontalPodAutoscaler"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {
            "scaleTargetRef": {"apiVersion": "str", "kind": "str", "name": "str"},
            "minReplicas": "int", "maxReplicas": "int",
            "metrics": [{"type": "str", "resource": {
                "name": "str", "target": {"type": "str", "averageUtilization": "int",
                                          "averageValue": "any"}},
                         "pods": {"metric": {"name": "str", "selector": LABEL_SELECTOR},
                                  "target": {"type": "str", "averageValue": "any"}}}],
            "behavior": {"scaleDown": "any", "scaleUp": "any"},
        },
    },
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "apiVersion": "str", "kind": "str", "metadata": OBJECT_META,
        "spec": {"selector": LABEL_SELECTOR, "namespaceSelector": "any",
                 "endpoints": [{"port": "str", "path": "str", "interval": "str",
                                "scheme": "str"}]},
    },
}
REQUIRED = {
    "Deployment": ["spec.selector", "spec.template.spec.containers"],
    "Service": ["spec.selector", "spec.ports"],
    "PodDisruptionBudget": ["spec.selector"],
    "HorizontalPodAutoscaler": ["spec.scaleTargetRef", "spec.maxReplicas", "spec.metrics"],
    "PersistentVolumeClaim": ["spec.accessModes", "spec.resources.requests"],
    "ServiceMonitor": ["spec.selector", "spec.endpoints"],
}
LEAF_TYPES = {"str": str, "int": int, "bool": bool}


def schema_errors(value, schema, where):
    """Fields of `value` that `schema` does not allow, or whose type is wrong."""
    if schema == "any":
        return []
    if schema == "map":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return [f"{where}: expected a map of strings, got {value!r}"]
        return []
    if isinstance(schema, str):
        expected = LEAF_TYPES[schema]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return [f"{where}: expected {schema}, got {value!r}"]
        return []
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        errors = []
        for i, item in enumerate(value):
            errors += schema_errors(item, schema[0], f"{where}[{i}]")
        return errors
    if not isinstance(value, dict):
        return [f"{where}: expected an object, got {value!r}"]
    errors = []
    for key, item in value.items():
        if key not in schema:
            errors.append(f"{where}.{key}: not a field of this type "
                          f"(known: {', '.join(sorted(schema))})")
        else:
            errors += schema_errors(item, schema[key], f"{where}.{key}")
    return errors


def get(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def kustomize(path):
    run = subprocess.run([lib.require_tool("kubectl"), "kustomize", path],
                         capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{run.stderr}")
    return run.stdout


def yamllint(paths=None, text=None):
    command = [lib.require_tool("yamllint"), "-f", "parsable", "-c", YAMLLINT_CONFIG]
    run = subprocess.run(command + (paths or ["-"]), input=text, capture_output=True,
                         text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def flag_value(args, name):
    for arg in args:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return None


def cpu_cores(quantity):
    quantity = str(quantity)
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


class RenderedManifests:
    def __init__(self, text):
        self.objects = [doc for doc in yaml.safe_load_all(text) if doc]

    def all(self, kind):
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind, name=None):
        found = [o for o in self.all(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
        return found[0]


class K8sTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rendered = {name: kustomize(os.path.join(K8S, "overlays", name))
                        for name in OVERLAYS}
        # prod plus the optional ServiceMonitor component, as a user would enable it.
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                yaml.safe_dump({
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [os.path.relpath(os.path.join(K8S, "overlays/prod"), tmp)],
                    "components": [
                        os.path.relpath(os.path.join(K8S, "components/servicemonitor"), tmp)],
                }, f)
            cls.rendered["prod+servicemonitor"] = kustomize(tmp)
        cls.manifests = {n: RenderedManifests(t) for n, t in cls.rendered.items()}
        cls.attnserve_flags = lib.binary_flags(lib.binary("attnserve"))

    def test_yamllint_sources(self):
        code, output = yamllint([K8S])
        self.assertEqual(code, 0, output)

    def test_yamllint_rendered(self):
        for name, text in self.rendered.items():
            code, output = yamllint(text=text)
            self.assertEqual(code, 0, f"{name}:\n{output}")

    def test_yamllint_catches_errors(self):
        code, _ = yamllint(text="a: 1\na: 2\n")
        self.assertNotEqual(code, 0, "yamllint accepted a duplicated key")

    def test_schema(self):
        for name, manifests in self.manifests.items():
            for obj in manifests.objects:
                key = (obj.get("apiVersion"), obj.get("kind"))
                self.assertIn(key, SCHEMAS, f"{name}: unknown apiVersion/kind {key}")
                where = f"{name}: {obj['kind']}/{get(obj, 'metadata.name')}"
                errors = schema_errors(obj, SCHEMAS[key], where)
                self.assertFalse(errors, "\n".join(errors))
                self.assertTrue(get(obj, "metadata.name"), f"{where}: no metadata.name")
                for field in REQUIRED.get(obj["kind"], []):
                    self.assertIsNotNone(get(obj, field), f"{where}: {field} is required")

    def test_schema_check_catches_typos(self):
        deployment = yaml.safe_load(yaml.safe_dump(self.manifests["dev"].one("Deployment")))
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        container["readinesProbe"] = container.pop("readinessProbe")
        errors = schema_errors(deployment, SCHEMAS[("apps/v1", "Deployment")], "dev")
        self.assertTrue(any("readinesProbe" in e for e in errors), errors)

    def test_objects_in_overlay_namespace(self):
        for name, namespace in OVERLAYS.items():
            manifests = self.manifests[name]
            self.assertEqual(manifests.one("Namespace")["metadata"]["name"], namespace)
            for obj in manifests.objects:
                if obj["kind"] != "Namespace":
                    self.assertEqual(get(obj, "metadata.namespace"), namespace,
                                     f"{name}: {obj['kind']} namespace")

    def container(self, manifests):
        containers = manifests.one("Deployment")["spec"]["template"]["spec"]["containers"]
        self.assertEqual(len(containers), 1)
        return containers[0]

    def test_probes_are_grpc_on_the_grpc_port(self):
        for name, manifests in self.manifests.items():
            container = self.container(manifests)
            grpc_ports = [p["containerPort"] for p in container["ports"] if p["name"] == "grpc"]
            self.assertEqual(grpc_ports, [GRPC_PORT], name)
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                self.assertIn(probe, container, f"{name}: no {probe}")
                self.assertEqual(set(container[probe]) & {"grpc", "httpGet", "tcpSocket",
                                                          "exec"}, {"grpc"}, f"{name} {probe}")
                self.assertEqual(container[probe]["grpc"]["port"], GRPC_PORT, f"{name} {probe}")
            startup = container["startupProbe"]
            self.assertGreaterEqual(startup["periodSeconds"] * startup["failureThreshold"], 120,
                                    f"{name}: the startup probe allows < 2 min for model load")

    def test_service_ports_match_container_ports(self):
        for name, manifests in self.manifests.items():
            container_ports = {p["name"]: p["containerPort"]
                               for p in self.container(manifests)["ports"]}
            service = manifests.one("Service", "attnserve")
            ports = {p["name"]: p for p in service["spec"]["ports"]}
            self.assertEqual(sorted(ports), ["grpc", "metrics"], name)
            self.assertEqual(ports["grpc"]["port"], GRPC_PORT)
            self.assertEqual(ports["metrics"]["port"], METRICS_PORT)
            for port in ports.values():
                target = port["targetPort"]
                resolved = container_ports.get(target) if isinstance(target, str) else target
                self.assertEqual(resolved, port["port"],
                                 f"{name}: Service port {port['name']} -> {target}")

    def test_selectors_match_pod_labels(self):
        for name, manifests in self.manifests.items():
            deployment = manifests.one("Deployment")
            pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
            selectors = {
                "Deployment": deployment["spec"]["selector"]["matchLabels"],
                "Service": manifests.one("Service", "attnserve")["spec"]["selector"],
                "headless Service":
                    manifests.one("Service", "attnserve-headless")["spec"]["selector"],
                "PodDisruptionBudget":
                    manifests.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
            }
            for kind, selector in selectors.items():
                self.assertTrue(selector, f"{name}: {kind} selector is empty")
                for key, value in selector.items():
                    self.assertEqual(pod_labels.get(key), value,
                                     f"{name}: {kind} selects {key}={value}, pods have "
                                     f"{pod_labels}")

    def test_headless_service_for_client_side_balancing(self):
        for name, manifests in self.manifests.items():
            headless = manifests.one("Service", "attnserve-headless")["spec"]
            self.assertEqual(headless["clusterIP"], "None", name)
            self.assertEqual([(p["name"], p["port"], p["targetPort"]) for p in headless["ports"]],
                             [("grpc", GRPC_PORT, "grpc")], name)
            self.assertEqual(manifests.one("Service", "attnserve")["spec"]["type"], "ClusterIP")

    def test_hpa_in_prod_targets_the_deployment(self):
        self.assertEqual(self.manifests["dev"].all("HorizontalPodAutoscaler"), [])
        for name in ("prod", "prod+servicemonitor"):
            manifests = self.manifests[name]
            hpa = manifests.one("HorizontalPodAutoscaler")
            deployment = manifests.one("Deployment")
            self.assertEqual(hpa["spec"]["scaleTargetRef"],
                             {"apiVersion": "apps/v1", "kind": "Deployment",
                              "name": deployment["metadata"]["name"]})
            metrics = hpa["spec"]["metrics"]
            self.assertEqual([(m["type"], m["pods"]["metric"]["name"] if m["type"] == "Pods"
                               else m["resource"]["name"]) for m in metrics],
                             [("Pods", "attnserve_queue_depth"), ("Resource", "cpu")])
            self.assertEqual(metrics[0]["pods"]["target"]["type"], "AverageValue")
            with open(lib.source_path("deploy", "prometheus-adapter", "rules.yaml")) as f:
                adapter_names = [r["name"]["as"] for r in yaml.safe_load(f)["rules"]]
            self.assertIn("attnserve_queue_depth", adapter_names,
                          "the HPA's metric comes from the adapter rule")
            self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
            self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2)
            self.assertNotIn("replicas", deployment["spec"],
                             "the HPA owns replicas; the Deployment must not set it")
            self.assertIn("cpu", self.container(manifests)["resources"]["requests"],
                          "CPU utilisation needs a CPU request")

    def test_security_context(self):
        for name, manifests in self.manifests.items():
            pod = manifests.one("Deployment")["spec"]["template"]["spec"]
            self.assertTrue(pod["securityContext"]["runAsNonRoot"], name)
            self.assertNotEqual(pod["securityContext"]["runAsUser"], 0, name)
            self.assertFalse(pod["automountServiceAccountToken"], name)
            security = self.container(manifests)["securityContext"]
            self.assertTrue(security["readOnlyRootFilesystem"], name)
            self.assertFalse(security["allowPrivilegeEscalation"], name)
            self.assertEqual(security["capabilities"]["drop"], ["ALL"], name)
            self.assertNotIn("add", security["capabilities"], name)

    def test_models_volume_read_only(self):
        for name, manifests in self.manifests.items():
            pod = manifests.one("Deployment")["spec"]["template"]["spec"]
            mounts = {m["mountPath"]: m for m in self.container(manifests)["volumeMounts"]}
            self.assertIn("/models", mounts, name)
            self.assertTrue(mounts["/models"]["readOnly"], name)
            volumes = {v["name"]: v for v in pod["volumes"]}
            self.assertIn(mounts["/models"]["name"], volumes, name)
            claim = volumes[mounts["/models"]["name"]].get("persistentVolumeClaim")
            if claim:
                claims = [c["metadata"]["name"] for c in manifests.all("PersistentVolumeClaim")]
                self.assertIn(claim["claimName"], claims, f"{name}: the claim is not rendered")
            for arg in self.container(manifests)["args"]:
                if arg.startswith("--model=") and "=" in arg[len("--model="):]:
                    model_dir = arg.split("=", 2)[2]
                    self.assertTrue(model_dir.startswith("/models/"),
                                    f"{name}: {arg} is not under the /models mount")

    def test_resources_and_compute_threads(self):
        for name, manifests in self.manifests.items():
            container = self.container(manifests)
            resources = container["resources"]
            for kind in ("requests", "limits"):
                self.assertIn("cpu", resources[kind], name)
                self.assertIn("memory", resources[kind], name)
            threads = flag_value(container["args"], "compute_threads")
            self.assertIsNotNone(threads, f"{name}: set --compute_threads to the CPU limit")
            self.assertEqual(float(threads), cpu_cores(resources["limits"]["cpu"]), name)

    def test_grace_period_exceeds_drain(self):
        for name, manifests in self.manifests.items():
            pod = manifests.one("Deployment")["spec"]["template"]["spec"]
            container = self.container(manifests)
            drain_ms = flag_value(container["args"], "shutdown_grace_ms")
            if drain_ms is None:
                self.assertIn("shutdown_grace_ms", self.attnserve_flags,
                              "attnserve has no --shutdown_grace_ms flag to read the drain from")
                drain_ms = lib.flag_default(self.attnserve_flags["shutdown_grace_ms"])
            pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
            self.assertEqual(pre_stop[0], "sleep")
            budget = float(pre_stop[1]) + int(drain_ms) / 1000
            self.assertGreater(pod["terminationGracePeriodSeconds"], budget,
                               f"{name}: grace period <= preStop + drain")

    def test_scrape_annotations(self):
        for name, manifests in self.manifests.items():
            annotations = manifests.one("Deployment")["spec"]["template"]["metadata"][
                "annotations"]
            self.assertEqual(annotations["prometheus.io/scrape"], "true", name)
            self.assertEqual(annotations["prometheus.io/port"], str(METRICS_PORT), name)
            self.assertEqual(annotations["prometheus.io/path"], "/metrics", name)

    def test_service_monitor_component(self):
        self.assertEqual(self.manifests["prod"].all("ServiceMonitor"), [])
        manifests = self.manifests["prod+servicemonitor"]
        monitor = manifests.one("ServiceMonitor")
        selected = [s for s in manifests.all("Service")
                    if all(s["metadata"]["labels"].get(key) == value
                           for key, value in monitor["spec"]["selector"]["matchLabels"].items())]
        self.assertEqual([e["port"] for e in monitor["spec"]["endpoints"]], ["metrics"])
        # Each pod is scraped once: only the ClusterIP Service has the metrics port.
        with_metrics = [s["metadata"]["name"] for s in selected
                        if "metrics" in [p["name"] for p in s["spec"]["ports"]]]
        self.assertEqual(with_metrics, ["attnserve"])

    def test_matches_the_image(self):
        with open(lib.source_path("Dockerfile")) as f:
            dockerfile = f.read()
        exposed = sorted(int(p) for line in re.findall(r"^EXPOSE (.+)$", dockerfile, re.M)
                         for p in line.split())
        image_user = re.findall(r"^USER (\d+)", dockerfile, re.M)[-1]
        for name, manifests in self.manifests.items():
            container = self.container(manifests)
            self.assertEqual(sorted(p["containerPort"] for p in container["ports"]), exposed)
            pod = manifests.one("Deployment")["spec"]["template"]["spec"]
            self.assertEqual(pod["securityContext"]["runAsUser"], int(image_user), name)

    def test_args_are_attnserve_flags(self):
        self.assertIn("address", self.attnserve_flags,
                      "build/bin/attnserve --helpfull lists no --address flag")
        for name, manifests in self.manifests.items():
            for flag in lib.args_flag_names(self.container(manifests)["args"]):
                self.assertIn(flag, self.attnserve_flags,
                              f"{name}: attnserve defines no flag --{flag}")


if __name__ == "__main__":
    lib.main()
