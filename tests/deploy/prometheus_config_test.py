"""promtool checks of deploy/prometheus: config, rules and the rules' unit tests.

Debian's prometheus package is built without Kubernetes service discovery (its
NEWS.Debian: "Kubernetes support has been completely removed"), so its promtool rejects
`kubernetes_sd_configs`. prometheus.yml is therefore checked as written when promtool
accepts it, and otherwise with its kubernetes_sd_configs swapped for an equivalent
file_sd_configs, which still checks everything else in it (relabelling, rule files, ...).
prometheus_scrape_test.py runs those same relabel rules in a real Prometheus.
"""

import os
import subprocess
import tempfile
import unittest

import yaml

import deploy_testlib as lib

PROMETHEUS_DIR = lib.source_path("deploy", "prometheus")
RULES_DIR = os.path.join(PROMETHEUS_DIR, "rules")
TESTS_DIR = os.path.join(PROMETHEUS_DIR, "tests")


def promtool(*args, cwd=PROMETHEUS_DIR):
    run = subprocess.run([lib.require_tool("promtool")] + list(args), cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def rule_files():
    return sorted(os.path.join(RULES_DIR, f) for f in os.listdir(RULES_DIR)
                  if f.endswith(".yml"))


def rule_test_files():
    return sorted(os.path.join(TESTS_DIR, f) for f in os.listdir(TESTS_DIR)
                  if f.endswith(".yml"))


def load_rules():
    rules = []
    for path in rule_files():
        with open(path) as f:
            for group in yaml.safe_load(f)["groups"]:
                rules += group["rules"]
    return rules


def without_kubernetes_sd(config, directory):
    """A copy of a Prometheus config with kubernetes_sd_configs -> file_sd_configs and rule
    files made absolute (relative to `directory`)."""
    config = yaml.safe_load(yaml.safe_dump(config))
    config["rule_files"] = [os.path.join(directory, f) for f in config.get("rule_files", [])]
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["file_sd_configs"] = [{"files": ["targets.json"]}]
    return config


ADAPTER_RULES = lib.source_path("deploy", "prometheus-adapter", "rules.yaml")


def adapter_queries():
    """(name, metricsQuery) of each Prometheus Adapter rule, rendered as the adapter does
    when the HPA asks for pods a-0 and a-1 of namespace attnserve."""
    with open(ADAPTER_RULES) as f:
        rules = yaml.safe_load(f)["rules"]
    values = {"<<.Series>>": None, "<<.GroupBy>>": "pod",
              "<<.LabelMatchers>>": 'namespace="attnserve",pod=~"a-0|a-1"'}
    queries = []
    for rule in rules:
        query = rule["metricsQuery"]
        values["<<.Series>>"] = rule["seriesQuery"].split("{")[0]
        for template, value in values.items():
            query = query.replace(template, value)
        queries.append((rule["name"]["as"], query))
    return queries


class PrometheusConfigTest(unittest.TestCase):
    def test_adapter_rules_are_valid_promql_with_per_pod_values(self):
        queries = adapter_queries()
        self.assertEqual([name for name, _ in queries],
                         ["attnserve_queue_depth", "attnserve_requests_per_second"])
        for _, query in queries:
            self.assertNotIn("<<", query)
        rules = {"groups": [{"name": "adapter", "rules": [
            {"record": f"adapter:{name}", "expr": query} for name, query in queries]}]}
        # Two pods of attnserve (two models on a-0) and one of another namespace.
        series = [
            ('attnserve_queue_depth{namespace="attnserve",pod="a-0",model="demo"}', "3+0x10"),
            ('attnserve_queue_depth{namespace="attnserve",pod="a-0",model="attention"}',
             "2+0x10"),
            ('attnserve_queue_depth{namespace="attnserve",pod="a-1",model="demo"}', "7+0x10"),
            ('attnserve_queue_depth{namespace="other",pod="a-0",model="demo"}', "100+0x10"),
            ('attnserve_requests_total{namespace="attnserve",pod="a-0",method="m",code="OK"}',
             "0+60x10"),
            ('attnserve_requests_total{namespace="attnserve",pod="a-1",method="m",code="OK"}',
             "0+120x10"),
        ]
        tests = {"rule_files": ["adapter.yml"], "evaluation_interval": "1m", "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series],
            "promql_expr_test": [
                {"expr": "adapter:attnserve_queue_depth", "eval_time": "5m", "exp_samples": [
                    {"labels": 'adapter:attnserve_queue_depth{pod="a-0"}', "value": 5},
                    {"labels": 'adapter:attnserve_queue_depth{pod="a-1"}', "value": 7}]},
                {"expr": "adapter:attnserve_requests_per_second", "eval_time": "5m",
                 "exp_samples": [
                     {"labels": 'adapter:attnserve_requests_per_second{pod="a-0"}', "value": 1},
                     {"labels": 'adapter:attnserve_requests_per_second{pod="a-1"}',
                      "value": 2}]},
            ]}]}
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "adapter.yml"), "w") as f:
                yaml.safe_dump(rules, f)
            with open(os.path.join(tmp, "adapter_test.yml"), "w") as f:
                yaml.safe_dump(tests, f)
            code, output = promtool("check", "rules", "adapter.yml", cwd=tmp)
            self.assertEqual(code, 0, output)
            code, output = promtool("test", "rules", "adapter_test.yml", cwd=tmp)
            self.assertEqual(code, 0, output)

    def test_check_local_config(self):
        code, output = promtool("check", "config", "prometheus-local.yml")
        self.assertEqual(code, 0, output)
        self.assertIn("2 rule files found", output)

    def test_check_kubernetes_config(self):
        code, output = promtool("check", "config", "prometheus.yml")
        if code != 0:
            self.assertIn("field kubernetes_sd_configs not found", output,
                          "prometheus.yml fails for another reason than Debian's missing "
                          "Kubernetes SD")
            with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
                config = without_kubernetes_sd(yaml.safe_load(f), PROMETHEUS_DIR)
            with tempfile.TemporaryDirectory() as tmp:
                with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
                    yaml.safe_dump(config, f)
                code, output = promtool("check", "config", "prometheus.yml", cwd=tmp)
        self.assertEqual(code, 0, output)
        self.assertIn("2 rule files found", output)

    def test_both_configs_scrape_job_attnserve_with_the_same_rules(self):
        for name in ("prometheus.yml", "prometheus-local.yml"):
            with open(os.path.join(PROMETHEUS_DIR, name)) as f:
                config = yaml.safe_load(f)
            self.assertEqual([j["job_name"] for j in config["scrape_configs"]], ["attnserve"])
            self.assertEqual(sorted(os.path.join(PROMETHEUS_DIR, r) for r in
                                    config["rule_files"]), rule_files(), name)

    def test_check_rules(self):
        code, output = promtool("check", "rules", *rule_files())
        self.assertEqual(code, 0, output)

    def test_rule_unit_tests(self):
        code, output = promtool("test", "rules", *rule_test_files(), cwd=TESTS_DIR)
        self.assertEqual(code, 0, output)

    def test_rule_unit_tests_can_fail(self):
        # With every alert expression emptied (`unless on() vector(1)` drops all series), each
        # alert's firing case must fail.
        with tempfile.TemporaryDirectory() as tmp:
            for sub in ("rules", "tests"):
                os.mkdir(os.path.join(tmp, sub))
            for path in rule_files():
                with open(path) as f:
                    rules = yaml.safe_load(f)
                for group in rules["groups"]:
                    for rule in group["rules"]:
                        if "alert" in rule:
                            rule["expr"] = f"({rule['expr']}) unless on() vector(1)"
                with open(os.path.join(tmp, "rules", os.path.basename(path)), "w") as f:
                    yaml.safe_dump(rules, f)
            for path in rule_test_files():
                with open(path) as f:
                    text = f.read()
                with open(os.path.join(tmp, "tests", os.path.basename(path)), "w") as f:
                    f.write(text)
            code, output = promtool("test", "rules", "alerts_test.yml",
                                    cwd=os.path.join(tmp, "tests"))
            self.assertNotEqual(code, 0, output)
            for alert in [r["alert"] for r in load_rules() if "alert" in r]:
                self.assertIn(f"alertname: {alert}", output, "this alert's test did not fail")

    def test_every_alert_has_a_firing_and_a_silent_case(self):
        alerts = {r["alert"] for r in load_rules() if "alert" in r}
        self.assertEqual(alerts, {"AttnserveTargetDown", "AttnserveHighErrorRatio",
                                  "AttnserveQueueSaturated", "AttnserveHighP99Latency",
                                  "AttnserveShedding"})
        fires, silent = set(), set()
        for path in rule_test_files():
            with open(path) as f:
                for group in yaml.safe_load(f)["tests"]:
                    for case in group.get("alert_rule_test", []):
                        (fires if case.get("exp_alerts") else silent).add(case["alertname"])
        self.assertEqual(alerts - fires, set(), "alerts without a test where they fire")
        self.assertEqual(alerts - silent, set(), "alerts without a test where they stay silent")

    def test_rules_use_exported_metrics(self):
        known = lib.exported_metric_names()
        rules = load_rules()
        recorded = {r["record"] for r in rules if "record" in r}
        for rule in rules:
            for name in lib.promql_metric_names(rule["expr"]):
                self.assertIn(name, known | recorded,
                              f"{rule.get('record') or rule.get('alert')}: {name} is neither "
                              "an attnserve metric nor a recording rule")

    def test_yamllint(self):
        run = subprocess.run([lib.require_tool("yamllint"), "-f", "parsable", "-c",
                              lib.source_path("deploy", "yamllint.yaml"), PROMETHEUS_DIR],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


if __name__ == "__main__":
    lib.main()
