"""Shared helpers of the deploy tests (run by ctest with /usr/bin/python3).

ctest passes ATTNSERVE_SOURCE_DIR and ATTNSERVE_BINARY_DIR in the environment
(tests/deploy/CMakeLists.txt).
"""

import os
import re
import shutil
import subprocess
import unittest

SOURCE_DIR = os.environ.get(
    "ATTNSERVE_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARY_DIR = os.environ.get("ATTNSERVE_BINARY_DIR", os.path.join(SOURCE_DIR, "build"))
BIN_DIR = os.path.join(BINARY_DIR, "bin")

# The exit code ctest maps to "skipped" (SKIP_RETURN_CODE in tests/deploy/CMakeLists.txt).
SKIP_EXIT_CODE = 77


def source_path(*parts):
    return os.path.join(SOURCE_DIR, *parts)


def binary(name):
    """Path of build/bin/NAME."""
    return os.path.join(BIN_DIR, name)


# Where each tool the deploy tests run comes from.
TOOL_SOURCES = {
    "kubectl": "the machine image (Debian 12's kubernetes-client is too old for kustomize "
               "components)",
    "yamllint": "deploy/install-deps.sh (Debian package yamllint)",
    "promtool": "deploy/install-deps.sh (Debian package prometheus)",
    "prometheus": "deploy/install-deps.sh (Debian package prometheus)",
}


def require_tool(name):
    """Absolute path of a command on PATH; fails (never skips) when it is absent."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not on PATH; it comes from {TOOL_SOURCES[name]}")
    return path


_FLAG_LINE = re.compile(r"^\s+--([A-Za-z0-9_]+) \(")


def binary_flags(path):
    """The absl flags a binary defines, from `PATH --helpfull`, as {name: help_text}.

    The help text of a flag is everything up to the next flag line, so it includes
    `default: ...;`.
    """
    run = subprocess.run([path, "--helpfull"], capture_output=True, text=True, timeout=60)
    flags = {}
    current = None
    for line in (run.stdout + run.stderr).splitlines():
        match = _FLAG_LINE.match(line)
        if match:
            current = match.group(1)
            flags[current] = line
        elif current is not None:
            flags[current] += "\n" + line
    return flags


_DEFAULT = re.compile(r'default: "?([^";]*)"?;')


def flag_default(help_text):
    """The default value printed in a flag's --helpfull text, as a string."""
    match = _DEFAULT.search(help_text)
    return match.group(1) if match else None


def args_flag_names(args):
    """Flag names in a command line list: ['--a=1', '--b', 'x'] -> ['a', 'b']."""
    names = []
    for arg in args:
        if arg.startswith("--"):
            names.append(arg[2:].split("=", 1)[0])
    return names


def main():
    """unittest.main that maps "every test skipped" to ctest's skip exit code."""
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        raise SystemExit(1)
    if result.testsRun > 0 and len(result.skipped) == result.testsRun:
        raise SystemExit(SKIP_EXIT_CODE)
    raise SystemExit(0)


# Metric names attnserve exports (CONTRACT.md section 7 and server/metrics/metrics.cc); a
# histogram NAME also exports NAME_bucket, NAME_sum and NAME_count.
CONTRACT_COUNTERS = {"attnserve_requests_total", "attnserve_tokens_total",
                     "attnserve_shed_total"}
CONTRACT_GAUGES = {"attnserve_queue_depth", "attnserve_model_info"}
CONTRACT_HISTOGRAMS = {"attnserve_request_duration_seconds", "attnserve_queue_duration_seconds",
                       "attnserve_compute_duration_seconds", "attnserve_batch_size",
                       "attnserve_batch_tokens"}
# Series Prometheus itself adds to every scrape target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def exported_metric_names():
    names = set(CONTRACT_COUNTERS) | CONTRACT_GAUGES | SCRAPE_SERIES
    for histogram in CONTRACT_HISTOGRAMS:
        names |= {histogram + "_bucket", histogram + "_sum", histogram + "_count"}
    return names


_PROMQL_KEYWORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta",
    "histogram_quantile", "min_over_time", "max_over_time", "avg_over_time",
    "sum_over_time", "count_over_time", "last_over_time", "abs", "clamp_min", "clamp_max",
    "vector", "scalar", "time", "label_replace", "label_join", "absent", "changes", "resets",
    "round", "sort", "sort_desc", "inf", "nan", "le",
}


def promql_metric_names(expr):
    """Metric names an expression selects: identifiers that are not functions, keywords,
    label names inside {...} or by/on(...) lists, or string contents."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "{}", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)
    expr = re.sub(r"\$\w+", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = match.group(0)
        rest = expr[match.end():].lstrip()
        if word.lower() in _PROMQL_KEYWORDS or rest.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or word in {"e"}:
            continue
        names.add(word)
    return names
