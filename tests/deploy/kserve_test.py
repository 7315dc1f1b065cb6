"""Renders deploy/kserve (a KServe ServingRuntime and InferenceService for attnserve) with
`kubectl kustomize` (no cluster) and checks what comes out. KServe's CRD schemas are not
available offline, so the schema level is a hand-written subset of them:

- The sources and the rendered YAML pass yamllint (deploy/yamllint.yaml).
- Schema level: apiVersion/kind are serving.kserve.io/v1alpha1 ServingRuntime and
  serving.kserve.io/v1beta1 InferenceService; every field used is a field of that type in
  KServe's CRDs (openAPIV3Schema of config/crd/full/serving.kserve.io_{servingruntimes,
  inferenceservices}.yaml, as far as these manifests go: a typo such as `readinesProbe`
  fails) with the right type; the CRDs' required fields are set (spec.containers,
  spec.predictor, modelFormat.name).
- Semantics: the InferenceService names the runtime and one of its model formats; both say
  protocolVersion grpc-v2; the gRPC port is named h2c (KServe's name for HTTP/2 cleartext)
  and is the port the image's entrypoint listens on (--address in the Dockerfile), as are
  the gRPC probes; Prometheus scrapes the entrypoint's --metrics_address port; every arg is
  a flag attnserve defines, --model loads KServe's /mnt/models under the InferenceService's
  name, --compute_threads equals the CPU limit; the container runs as the image's user,
  non-root, read-only; storageUri is a claim deploy/k8s renders in the same namespace.
"""

import re
import unittest

import yaml

import deploy_testlib as lib
import k8s_test as k8s

KSERVE = lib.source_path("deploy", "kserve")

SERVING_RUNTIME_SPEC = {
    "annotations": "map", "labels": "map", "nodeSelector": "map", "tolerations": ["any"],
    "affinity": "any", "imagePullSecrets": ["any"], "volumes": ["any"], "replicas": "int",
    "supportedModelFormats": [{"name": "str", "version": "str", "autoSelect": "bool",
                               "priority": "int"}],
    "protocolVersions": ["str"], "multiModel": "bool", "disabled": "bool",
    "grpcEndpoint": "str", "grpcDataEndpoint": "str", "httpDataEndpoint": "str",
    "containers": [k8s.CONTAINER],
}
PREDICTOR_MODEL = {
    "modelFormat": {"name": "str", "version": "str"}, "runtime": "str",
    "runtimeVersion": "str", "protocolVersion": "str", "storageUri": "str",
    "args": ["str"], "env": k8s.CONTAINER["env"], "ports": k8s.CONTAINER["ports"],
    "resources": k8s.RESOURCES,
}
SCHEMAS = {
    ("serving.kserve.io/v1alpha1", "ServingRuntime"): {
        "apiVersion": "str", "kind": "str", "metadata": k8s.OBJECT_META,
        "spec": SERVING_RUNTIME_SPEC,
    },
    ("serving.kserve.io/v1beta1", "InferenceService"): {
        "apiVersion": "str", "kind": "str", "metadata": k8s.OBJECT_META,
        "spec": {"predictor": {"minReplicas": "int", "maxReplicas": "int",
                               "scaleMetric": "str", "scaleTarget": "int",
                               "model": PREDICTOR_MODEL}},
    },
}
REQUIRED = {
    "ServingRuntime": ["spec.containers"],
    "InferenceService": ["spec.predictor", "spec.predictor.model.modelFormat.name"],
}
# KServe mounts the storageUri here (pkg/constants DefaultModelLocalMountPath).
KSERVE_MODEL_DIR = "/mnt/models"


def entrypoint_port(dockerfile, flag):
    """The port of --FLAG=host:port in the Dockerfile's ENTRYPOINT."""
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.M).group(1)
    for arg in yaml.safe_load(entrypoint):
        if arg.startswith(f"--{flag}="):
            return int(arg.rsplit(":", 1)[1])
    raise AssertionError(f"the Dockerfile's ENTRYPOINT sets no --{flag}")


class KServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = k8s.kustomize(KSERVE)
        cls.manifests = k8s.RenderedManifests(cls.text)
        cls.runtime = cls.manifests.one("ServingRuntime")
        cls.service = cls.manifests.one("InferenceService")
        containers = cls.runtime["spec"]["containers"]
        assert len(containers) == 1, "expected one container in the ServingRuntime"
        cls.container = containers[0]
        with open(lib.source_path("Dockerfile")) as f:
            cls.dockerfile = f.read()

    def test_yamllint(self):
        code, output = k8s.yamllint([KSERVE])
        self.assertEqual(code, 0, output)
        code, output = k8s.yamllint(text=self.text)
        self.assertEqual(code, 0, output)

    def test_schema(self):
        self.assertEqual(len(self.manifests.objects), 2)
        for obj in self.manifests.objects:
            key = (obj.get("apiVersion"), obj.get("kind"))
            self.assertIn(key, SCHEMAS, f"unknown apiVersion/kind {key}")
            where = f"{obj['kind']}/{k8s.get(obj, 'metadata.name')}"
            errors = k8s.schema_errors(obj, SCHEMAS[key], where)
            self.assertFalse(errors, "\n".join(errors))
            for field in REQUIRED[obj["kind"]]:
                self.assertIsNotNone(k8s.get(obj, field), f"{where}: {field} is required")

    def test_schema_check_catches_typos(self):
        runtime = yaml.safe_load(yaml.safe_dump(self.runtime))
        container = runtime["spec"]["containers"][0]
        container["readinesProbe"] = container.pop("readinessProbe")
        runtime["spec"]["protocolVersion"] = ["grpc-v2"]
        errors = k8s.schema_errors(
            runtime, SCHEMAS[("serving.kserve.io/v1alpha1", "ServingRuntime")], "runtime")
        self.assertTrue(any("readinesProbe" in e for e in errors), errors)
        self.assertTrue(any("protocolVersion:" in e for e in errors), errors)

    def test_inference_service_uses_the_runtime_over_grpc_v2(self):
        model = self.service["spec"]["predictor"]["model"]
        self.assertEqual(model["runtime"], self.runtime["metadata"]["name"])
        formats = [(f["name"], f.get("version")) for f in
                   self.runtime["spec"]["supportedModelFormats"]]
        self.assertIn((model["modelFormat"]["name"], model["modelFormat"].get("version")),
                      formats)
        self.assertEqual(model["protocolVersion"], "grpc-v2")
        self.assertIn("grpc-v2", self.runtime["spec"]["protocolVersions"])
        self.assertEqual(self.service["metadata"]["annotations"]
                         ["serving.kserve.io/deploymentMode"], "RawDeployment")

    def test_grpc_port_and_probes_match_the_image(self):
        grpc_port = entrypoint_port(self.dockerfile, "address")
        exposed = [int(p) for line in re.findall(r"^EXPOSE (.+)$", self.dockerfile, re.M)
                   for p in line.split()]
        self.assertIn(grpc_port, exposed)
        # One port: KServe routes to it, and its name h2c says gRPC (HTTP/2 cleartext).
        for ports in (self.container["ports"],
                      self.service["spec"]["predictor"]["model"]["ports"]):
            self.assertEqual([(p["name"], p["containerPort"]) for p in ports],
                             [("h2c", grpc_port)])
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertEqual(self.container[probe]["grpc"]["port"], grpc_port, probe)
        annotations = self.runtime["spec"]["annotations"]
        self.assertEqual(int(annotations["prometheus.kserve.io/port"]),
                         entrypoint_port(self.dockerfile, "metrics_address"))
        self.assertEqual(annotations["prometheus.kserve.io/path"], "/metrics")

    def test_args_are_attnserve_flags(self):
        flags = lib.binary_flags(lib.binary("attnserve"))
        self.assertIn("address", flags, "build/bin/attnserve --helpfull lists no --address")
        args = self.container["args"]
        for flag in lib.args_flag_names(args):
            self.assertIn(flag, flags, f"attnserve defines no flag --{flag}")
        self.assertEqual(k8s.flag_value(args, "model"), "{{.Name}}=" + KSERVE_MODEL_DIR)
        resources = self.container["resources"]
        self.assertEqual(float(k8s.flag_value(args, "compute_threads")),
                         k8s.cpu_cores(resources["limits"]["cpu"]))
        for kind in ("requests", "limits"):
            self.assertEqual(sorted(resources[kind]), ["cpu", "memory"], kind)

    def test_security_context(self):
        security = self.container["securityContext"]
        image_user = re.findall(r"^USER (\d+)", self.dockerfile, re.M)[-1]
        self.assertEqual(security["runAsUser"], int(image_user))
        self.assertTrue(security["runAsNonRoot"])
        self.assertTrue(security["readOnlyRootFilesystem"])
        self.assertFalse(security["allowPrivilegeEscalation"])
        self.assertEqual(security["capabilities"]["drop"], ["ALL"])

    def test_storage_uri_is_a_claim_deploy_k8s_renders(self):
        uri = self.service["spec"]["predictor"]["model"]["storageUri"]
        match = re.fullmatch(r"pvc://([a-z0-9-]+)/([a-z0-9._-]+)", uri)
        self.assertIsNotNone(match, uri)
        namespace = self.service["metadata"]["namespace"]
        prod = k8s.RenderedManifests(k8s.kustomize(
            lib.source_path("deploy", "k8s", "overlays", "prod")))
        claims = [(c["metadata"]["name"], c["metadata"]["namespace"])
                  for c in prod.all("PersistentVolumeClaim")]
        self.assertIn((match.group(1), namespace), claims)


if __name__ == "__main__":
    lib.main()
