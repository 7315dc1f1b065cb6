"""End to end: a real Prometheus scrapes a running attnserve, on loopback.

Starts build/bin/attnserve (demo model, free ports) and Debian's prometheus with the
attnserve job of deploy/prometheus/prometheus.yml: its relabel rules as written, with the
Kubernetes pod discovery replaced by a file_sd target that carries the labels Kubernetes
would attach to the pod of deploy/k8s/base/deployment.yaml (its prometheus.io/*
annotations, pointing __address__ at the gRPC port as pod discovery does), plus the
project's recording and alert rules. Then, through Prometheus's HTTP API:
- the target is up (so the relabelling found the metrics port and path);
- after Attend calls over gRPC, attnserve_requests_total counts them by method and code,
  and rises again after more calls;
- the recording rules produce per-method rates from the real series, and every recording
  and alert rule loads and evaluates without error.
Every wait is bounded; both processes are stopped at the end.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

import grpc
import yaml

import deploy_testlib as lib

WAIT_SECONDS = 30
ATTEND_METHOD = "attnserve.v1.AttentionService/Attend"
NAMESPACE = "attnserve-e2e"
POD = "attnserve-e2e-0"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, seconds=WAIT_SECONDS):
    """Polls condition() (truthy result wins) every 0.25 s for at most `seconds`."""
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds} s waiting for {what} (last: {last!r})")


class Process:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, args, cwd=None):
        self.args = args
        self.lines = []
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def find(self, pattern):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.args[0]} exited with {self.proc.returncode}:\n"
                                 + "\n".join(self.lines[-30:]))
        for line in list(self.lines):
            match = re.search(pattern, line)
            if match:
                return match
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.reader.join(timeout=5)
        return self.proc.returncode


def pod_scrape_labels(grpc_port, metrics_port):
    """The discovery labels Kubernetes pod SD would give attnserve's pod on this machine."""
    with open(lib.source_path("deploy", "k8s", "base", "deployment.yaml")) as f:
        template = yaml.safe_load(f)["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9090", "the pod scrapes another port"
    labels = {
        "__meta_kubernetes_namespace": NAMESPACE,
        "__meta_kubernetes_pod_name": POD,
    }
    for key, value in template["metadata"]["labels"].items():
        labels["__meta_kubernetes_pod_label_" + re.sub(r"[^A-Za-z0-9_]", "_", key)] = value
    for key, value in annotations.items():
        if key == "prometheus.io/port":
            value = str(metrics_port)  # the port the test's attnserve serves metrics on
        labels["__meta_kubernetes_pod_annotation_" + re.sub(r"[^A-Za-z0-9_]", "_", key)] = value
    # Pod discovery sets __address__ to the pod IP and its first container port (gRPC).
    return [{"targets": [f"127.0.0.1:{grpc_port}"], "labels": labels}]


def prometheus_config(targets_file):
    directory = lib.source_path("deploy", "prometheus")
    with open(os.path.join(directory, "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [os.path.join(directory, r) for r in config["rule_files"]]
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "attnserve"
    job.pop("kubernetes_sd_configs")
    job["file_sd_configs"] = [{"files": [targets_file], "refresh_interval": "1s"}]
    return config


class PrometheusScrapeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.processes = []
        attnserve = lib.binary("attnserve")
        if not os.path.exists(attnserve):
            raise unittest.SkipTest(f"{attnserve} is not built")
        prometheus = lib.require_tool("prometheus")

        cls.server = Process([attnserve, "--address=127.0.0.1:0",
                              "--metrics_address=127.0.0.1:0", "--model=demo",
                              "--compute_threads=1"])
        cls.processes.append(cls.server)
        cls.grpc_port = int(wait_for(
            "attnserve: listening on", lambda: cls.server.find(r"listening on [\d.]+:(\d+)"))
            .group(1))
        cls.metrics_port = int(wait_for(
            "attnserve: metrics on", lambda: cls.server.find(r"metrics on http://[\d.]+:(\d+)"))
            .group(1))

        targets = os.path.join(cls.tmp.name, "targets.json")
        with open(targets, "w") as f:
            json.dump(pod_scrape_labels(cls.grpc_port, cls.metrics_port), f)
        config = os.path.join(cls.tmp.name, "prometheus.yml")
        with open(config, "w") as f:
            yaml.safe_dump(prometheus_config(targets), f)
        cls.prometheus_url = f"http://127.0.0.1:{free_port()}"
        cls.prometheus = Process([
            prometheus, f"--config.file={config}",
            f"--storage.tsdb.path={os.path.join(cls.tmp.name, 'tsdb')}",
            f"--web.listen-address={cls.prometheus_url[len('http://'):]}"])
        cls.processes.append(cls.prometheus)
        wait_for("prometheus /-/ready", cls.ready)

        sys.path.insert(0, lib.source_path("client", "python"))
        import gen_stubs  # client/python/gen_stubs.py: protoc + grpc_python_plugin
        sys.path.insert(0, str(gen_stubs.generate(os.path.join(cls.tmp.name, "stubs"))))
        from attnserve.v1 import attnserve_pb2, attnserve_pb2_grpc
        cls.pb = attnserve_pb2
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.grpc_port}")
        cls.attention = attnserve_pb2_grpc.AttentionServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if hasattr(cls, "channel"):
            cls.channel.close()
        for process in reversed(cls.processes):
            process.stop()
        cls.tmp.cleanup()

    @classmethod
    def ready(cls):
        cls.prometheus.find("never matches")  # fails at once if prometheus exited
        try:
            with urllib.request.urlopen(cls.prometheus_url + "/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, promql):
        """Instant query -> {frozenset(labels without __name__): float value}."""
        url = (self.prometheus_url + "/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        self.assertEqual(body["status"], "success", body)
        return {frozenset((k, v) for k, v in r["metric"].items() if k != "__name__"):
                float(r["value"][1]) for r in body["data"]["result"]}

    def attend(self, valid):
        values = [0.1 * i for i in range(2 * 3 * 4)]
        query = self.pb.Tensor(shape=[1, 2, 3, 4], dtype=self.pb.FP32,
                               values=values if valid else values[:5])
        return self.attention.Attend(self.pb.AttendRequest(query=query), timeout=10)

    def counts_by_code(self):
        result = self.query(
            f'sum by (code) (attnserve_requests_total{{job="attnserve", '
            f'namespace="{NAMESPACE}", pod="{POD}", method="{ATTEND_METHOD}"}})')
        return {dict(labels)["code"]: value for labels, value in result.items()}

    def test_scrape_counts_calls_and_rules_evaluate(self):
        up = wait_for("up == 1 for the relabelled pod target", lambda: self.query(
            f'up{{job="attnserve", namespace="{NAMESPACE}", pod="{POD}"}} == 1'))
        (labels,) = up
        self.assertEqual(dict(labels)["instance"], f"127.0.0.1:{self.metrics_port}",
                         "relabelling did not move the target to the metrics port")
        self.assertEqual(self.counts_by_code(), {}, "Attend counted before any call")

        for _ in range(5):
            response = self.attend(valid=True)
            self.assertEqual(list(response.output.shape), [1, 2, 3, 4])
        with self.assertRaises(grpc.RpcError) as error:
            self.attend(valid=False)
        self.assertEqual(error.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

        expected = {"OK": 5.0, "INVALID_ARGUMENT": 1.0}
        wait_for(f"Attend counts {expected}", lambda: self.counts_by_code() == expected)

        for _ in range(3):
            self.attend(valid=True)
        with self.assertRaises(grpc.RpcError):
            self.attend(valid=False)
        expected = {"OK": 8.0, "INVALID_ARGUMENT": 2.0}
        wait_for(f"Attend counts to rise to {expected}",
                 lambda: self.counts_by_code() == expected)

        # A series' first sample is not an increase, so both codes' rates come from the
        # second round of calls.
        rates = wait_for("recording rule job_method_code:attnserve_requests:rate5m", lambda: {
            dict(labels)["code"]: value for labels, value in self.query(
                f'job_method_code:attnserve_requests:rate5m{{method="{ATTEND_METHOD}"}}'
            ).items()} or None)
        self.assertEqual(sorted(rates), ["INVALID_ARGUMENT", "OK"])
        self.assertTrue(all(rate > 0 for rate in rates.values()), rates)
        ratio = wait_for("recording rule job_method:attnserve_request_errors:ratio_rate5m",
                         lambda: self.query(
                             f'job_method:attnserve_request_errors:ratio_rate5m'
                             f'{{method="{ATTEND_METHOD}"}}'))
        (value,) = ratio.values()
        self.assertGreater(value, 0)
        self.assertLess(value, 1)

    def test_rules_load_and_evaluate(self):
        with open(os.path.join(lib.source_path("deploy", "prometheus", "rules",
                                               "attnserve-alerts.yml"))) as f:
            alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}

        def evaluated_rules():
            with urllib.request.urlopen(self.prometheus_url + "/api/v1/rules", timeout=5) as r:
                groups = json.load(r)["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            if any(rule.get("lastEvaluation", "").startswith("0001") for rule in rules):
                return None  # not every rule has been evaluated yet
            return rules

        rules = wait_for("every rule evaluated once", evaluated_rules)
        self.assertEqual({r["name"] for r in rules if r["type"] == "alerting"}, alerts)
        for rule in rules:
            self.assertEqual(rule["health"], "ok", f"{rule['name']}: {rule.get('lastError')}")


if __name__ == "__main__":
    lib.main()
