"""Checks deploy/grafana/attnserve-dashboard.json.

- It is valid JSON with the panels an operator needs (throughput, latency p50/p90/p99, batch
  size, queue depth, sheds by reason, tokens/s), unique ids and non-overlapping positions.
- Every query is valid PromQL (promtool checks it as a recording rule, with Grafana's
  variables substituted) and selects only attnserve's metrics or the project's recording
  rules; every $variable it uses is defined.
"""

import json
import os
import re
import subprocess
import tempfile
import unittest

import yaml

import deploy_testlib as lib

DASHBOARD = lib.source_path("deploy", "grafana", "attnserve-dashboard.json")
RULES_DIR = lib.source_path("deploy", "prometheus", "rules")
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}


def recording_rule_names():
    names = set()
    for name in os.listdir(RULES_DIR):
        with open(os.path.join(RULES_DIR, name)) as f:
            for group in yaml.safe_load(f)["groups"]:
                names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def substitute_variables(expr):
    """Grafana variables -> values a plain PromQL parser accepts."""
    expr = re.sub(r"\$__rate_interval|\$__interval|\$__range", "5m", expr)
    return re.sub(r"\$\{?(\w+)\}?", r"value_of_\1", expr)


class GrafanaDashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            cls.dashboard = json.load(f)
        cls.panels = [p for p in cls.dashboard["panels"] if p["type"] != "row"]
        cls.targets = [(p["title"], t) for p in cls.panels for t in p["targets"]]

    def test_panels_an_operator_needs(self):
        titles = " | ".join(p["title"].lower() for p in self.panels)
        for needed in ("throughput", "latency", "batch size", "queue depth", "sheds by reason",
                       "tokens/s"):
            self.assertIn(needed, titles)
        latency = [p for p in self.panels if "latency" in p["title"].lower()][0]
        quantiles = sorted(re.search(r"histogram_quantile\((0\.\d+)", t["expr"]).group(1)
                           for t in latency["targets"])
        self.assertEqual(quantiles, ["0.50", "0.90", "0.99"])

    def test_ids_and_layout(self):
        ids = [p["id"] for p in self.dashboard["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        cells = {}
        for panel in self.dashboard["panels"]:
            pos = panel["gridPos"]
            self.assertLessEqual(pos["x"] + pos["w"], 24, panel["title"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    self.assertNotIn((x, y), cells,
                                     f"{panel['title']} overlaps {cells.get((x, y))}")
                    cells[(x, y)] = panel["title"]

    def test_queries_use_known_metrics(self):
        known = lib.exported_metric_names() | recording_rule_names()
        for title, target in self.targets:
            names = lib.promql_metric_names(target["expr"])
            self.assertTrue(names, f"{title}: no metric in {target['expr']}")
            self.assertLessEqual(names, known, f"{title}: unknown metric in {target['expr']}")

    def test_metric_check_catches_unknown_names(self):
        self.assertFalse(lib.promql_metric_names("rate(attnserve_request_total[5m])")
                         <= lib.exported_metric_names())

    def test_variables_are_defined(self):
        defined = {v["name"] for v in self.dashboard["templating"]["list"]} | GRAFANA_BUILTINS
        for title, target in self.targets:
            for used in re.findall(r"\$\{?(\w+)", target["expr"]):
                self.assertIn(used, defined, f"{title}: ${used} is not a dashboard variable")
        datasources = {json.dumps(p.get("datasource"), sort_keys=True) for p in self.panels}
        self.assertEqual(datasources, {json.dumps({"type": "prometheus",
                                                   "uid": "${datasource}"}, sort_keys=True)})

    def test_queries_are_valid_promql(self):
        rules = [{"record": f"dashboard:query_{i}:check",
                  "expr": substitute_variables(target["expr"])}
                 for i, (_, target) in enumerate(self.targets)]
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "dashboard-queries.yml")
            with open(path, "w") as f:
                yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            run = subprocess.run([lib.require_tool("promtool"), "check", "rules", path],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn(f"{len(rules)} rules found", run.stdout)


if __name__ == "__main__":
    lib.main()
