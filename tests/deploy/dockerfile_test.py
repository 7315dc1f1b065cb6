"""Checks the Dockerfile without a docker engine.

- Every COPY source of the build context exists and is not excluded by .dockerignore; the
  build stage copies every directory the top-level CMakeLists.txt always adds.
- The build stage installs only deploy/install-deps.sh's build set and builds only the
  binaries the runtime stage ships (no tests, benchmarks or fuzzers); the sets of
  install-deps.sh are disjoint and `all` is their union.
- Every binary copied into the runtime stage exists in build/bin, and every Debian package
  its shared libraries come from (ldd + dpkg -S) is in install-deps.sh's runtime set, unless
  debian:12-slim already has it. debian:12-slim is Debian's minbase: the Essential packages
  plus apt, and their Depends/Pre-Depends closure, which this test computes with
  `apt-cache depends --recurse` (it holds libc6, libgcc-s1, libstdc++6, zlib1g, ...).
- The runtime stage is non-root, exposes 50051 and 9090, and its entrypoint and CMD flags
  are flags that build/bin/attnserve defines.
"""

import json
import os
import re
import shlex
import subprocess
import unittest

import deploy_testlib as lib

BASE_IMAGE = "debian:12-slim"


def read_instructions(path):
    """Dockerfile -> [(INSTRUCTION, argument string)] with continuations joined."""
    instructions = []
    pending = ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if pending and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            pending += line
            keyword, _, rest = pending.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
            pending = ""
    return instructions


class Stage:
    def __init__(self, base, name):
        self.base = base
        self.name = name
        self.instructions = []

    def all(self, keyword):
        return [arg for kw, arg in self.instructions if kw == keyword]


def read_stages(path):
    stages = []
    for keyword, arg in read_instructions(path):
        if keyword == "FROM":
            words = arg.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].instructions.append((keyword, arg))
    return stages


def parse_copy(arg):
    """'--from=build a b /dst/' -> ({'from': 'build'}, ['a', 'b'], '/dst/')."""
    words = shlex.split(arg)
    options = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        options[key] = value
    return options, words[:-1], words[-1]


def exec_form(arg):
    """The JSON (exec) form of ENTRYPOINT/CMD as a list; fails on the shell form."""
    value = json.loads(arg)
    if not isinstance(value, list):
        raise ValueError(f"{arg} is not the exec form (a JSON list)")
    return value


def dockerignore_patterns(path):
    patterns = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    patterns.append(line.strip("/"))
    return patterns


def pattern_matches(pattern, path):
    """.dockerignore matching: `**` spans directories, a match excludes everything below."""
    regex = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.fullmatch(regex + "(?:/.*)?", path) is not None


def ignored(patterns, path):
    excluded = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if pattern_matches(pattern[1:], path):
                excluded = False
        elif pattern_matches(pattern, path):
            excluded = True
    return excluded


def linked_libraries(path):
    """Resolved shared library paths of a binary, from ldd."""
    run = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60, check=True)
    libraries = []
    for line in run.stdout.splitlines():
        if "=>" in line:
            target = line.split("=>", 1)[1].strip().split(" (")[0]
            if target == "not found":
                raise AssertionError(f"ldd {path}: {line.strip()}")
            if target:
                libraries.append(target)
        elif line.strip().startswith("/"):
            libraries.append(line.strip().split(" (")[0])
    return libraries


def dpkg_file_owners():
    """{installed file path: package}, read from dpkg's database (what `dpkg -S` searches)."""
    owners = {}
    info = "/var/lib/dpkg/info"
    for entry in os.listdir(info):
        if entry.endswith(".list"):
            package = entry[:-len(".list")].split(":")[0]
            with open(os.path.join(info, entry), errors="replace") as f:
                for line in f:
                    owners[line.rstrip("\n")] = package
    return owners


def owning_package(library, owners):
    """Debian package of a library file; tries the /lib <-> /usr/lib spellings (usrmerge)."""
    candidates = [library, os.path.realpath(library)]
    for path in list(candidates):
        if path.startswith("/usr/lib/"):
            candidates.append(path[len("/usr"):])
        elif path.startswith("/lib/") or path.startswith("/lib64/"):
            candidates.append("/usr" + path)
    for path in candidates:
        if path in owners:
            return owners[path]
    raise AssertionError(f"no Debian package owns {library} (looked up {', '.join(candidates)})")


def base_image_packages():
    """Packages in debian:12-slim: Essential packages + apt, closed over Depends/Pre-Depends."""
    essential = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Essential}\n"],
        capture_output=True, text=True, check=True).stdout
    roots = [line.split()[0] for line in essential.splitlines() if line.endswith(" yes")]
    run = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + roots + ["apt"],
        capture_output=True, text=True, check=True)
    return {line.split(":")[0] for line in run.stdout.splitlines() if not line.startswith(" ")}


def package_set(name):
    """`deploy/install-deps.sh --list NAME`: the packages of one set."""
    run = subprocess.run([lib.source_path("deploy", "install-deps.sh"), "--list", name],
                         capture_output=True, text=True, timeout=60, check=True)
    return run.stdout.split()


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = read_stages(lib.source_path("Dockerfile"))
        cls.build = cls.stages[0]
        cls.runtime = cls.stages[-1]
        cls.ignore = dockerignore_patterns(lib.source_path(".dockerignore"))

    def test_stages_are_debian_12_slim(self):
        self.assertGreaterEqual(len(self.stages), 2, "expected a build and a runtime stage")
        for stage in self.stages:
            self.assertEqual(stage.base, BASE_IMAGE, f"stage {stage.name}")
        self.assertEqual(self.build.name, "build")

    def test_dockerignore_matching(self):
        # The matcher itself, on cases whose answer is known from Docker's documentation.
        self.assertTrue(ignored(["build"], "build/bin/attnserve"))
        self.assertFalse(ignored(["build"], "tests/build_test.py"))
        self.assertTrue(ignored(["**/node_modules"], "bench/peers/node_modules/x.js"))
        self.assertTrue(ignored(["**/*.pyc"], "a.pyc"))
        self.assertFalse(ignored(["*.pyc"], "tests/a.pyc"))
        self.assertFalse(ignored(["build", "!build"], "build/x"))

    def test_context_copies_exist_and_are_not_ignored(self):
        for stage in self.stages:
            for arg in stage.all("COPY") + stage.all("ADD"):
                options, sources, _ = parse_copy(arg)
                if "from" in options:
                    continue
                for source in sources:
                    rel = os.path.normpath(source).lstrip("/")
                    self.assertTrue(os.path.exists(lib.source_path(rel)),
                                    f"COPY {source}: no such file or directory in the repo")
                    self.assertFalse(ignored(self.ignore, rel),
                                     f"COPY {source}: excluded from the build context by "
                                     ".dockerignore")

    def test_build_stage_copies_every_cmake_subdirectory(self):
        copied = set()
        for arg in self.build.all("COPY"):
            _, sources, _ = parse_copy(arg)
            copied.update(os.path.normpath(s) for s in sources)
        with open(lib.source_path("CMakeLists.txt")) as f:
            # Unindented: added whatever the options (tests and bench are behind options).
            subdirs = re.findall(r"^add_subdirectory\((\w+)", f.read(), re.M)
        self.assertTrue(subdirs)
        for subdir in subdirs + ["CMakeLists.txt", "deploy/install-deps.sh"]:
            self.assertIn(subdir, copied, f"the build stage does not COPY {subdir}")

    def test_build_stage_installs_and_builds_only_what_it_ships(self):
        runs = self.build.all("RUN")
        self.assertIn("deploy/install-deps.sh build", runs)
        builds = [run for run in runs if "cmake --build" in run]
        self.assertEqual(len(builds), 1, runs)
        for option in ("-DATTNSERVE_BUILD_TESTS=OFF", "-DATTNSERVE_BUILD_BENCH=OFF",
                       "-DCMAKE_BUILD_TYPE=Release"):
            self.assertIn(option, builds[0])
        targets = re.search(r"--target ([\w ]+)", builds[0]).group(1).split()
        self.assertEqual(sorted(targets), sorted(self.runtime_binaries()))

    def test_package_sets(self):
        sets = {name: package_set(name) for name in ("build", "runtime", "test", "image")}
        for name, packages in sets.items():
            self.assertTrue(packages, name)
            self.assertEqual(len(packages), len(set(packages)), f"{name}: a package twice")
        names = list(sets)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                self.assertFalse(set(sets[a]) & set(sets[b]), f"in both {a} and {b}")
        self.assertEqual(package_set("all"), sets["build"] + sets["runtime"] + sets["test"])
        # The image's build stage gets no test peer (torch and friends are the test set's).
        for package in ("python3-torch", "libgtest-dev", "clang", "prometheus"):
            self.assertIn(package, sets["test"])

    def runtime_binaries(self):
        """{name in /usr/local/bin: path in build/bin} of COPY --from=build."""
        workdir = self.build.all("WORKDIR")[-1]
        binaries = {}
        for arg in self.runtime.all("COPY"):
            options, sources, dest = parse_copy(arg)
            if options.get("from") != "build":
                continue
            for source in sources:
                rel = os.path.relpath(source, workdir)
                self.assertTrue(rel.startswith("build/bin/"),
                                f"COPY --from=build {source}: expected a file of build/bin/")
                binaries[os.path.basename(source)] = lib.binary(rel[len("build/bin/"):])
            self.assertEqual(dest, "/usr/local/bin/")
        self.assertIn("attnserve", binaries)
        return binaries

    def test_runtime_binaries_are_built(self):
        for name, path in self.runtime_binaries().items():
            self.assertTrue(os.access(path, os.X_OK), f"{name}: {path} is not built")

    def test_runtime_packages_cover_linked_libraries(self):
        listed = package_set("runtime")
        self.assertEqual(len(listed), len(set(listed)), "a package is listed twice")
        base = base_image_packages()
        for package in ("libc6", "libgcc-s1", "libstdc++6"):
            self.assertIn(package, base, "the debian:12-slim package closure looks wrong")
        owners = dpkg_file_owners()
        needed = {}
        for name, path in self.runtime_binaries().items():
            for library in linked_libraries(path):
                package = owning_package(library, owners)
                if package not in base:
                    needed.setdefault(package, []).append(f"{name}: {library}")
        missing = {p: why for p, why in needed.items() if p not in listed}
        self.assertFalse(missing, "packages linked but not in install-deps.sh's runtime set: "
                         + json.dumps(missing, indent=1))
        shown = subprocess.run(["apt-cache", "show", "--no-all-versions"] + listed,
                               capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)$", shown.stdout, re.M))
        self.assertEqual(set(listed) - known, set(), "not Debian packages")
        unused = sorted(set(listed) - set(needed))
        if unused:
            print(f"note: in install-deps.sh's runtime set but linked by no shipped "
                  f"binary yet: {' '.join(unused)}")

    def test_runtime_stage_installs_the_runtime_set(self):
        self.assertIn("deploy/install-deps.sh", " ".join(self.runtime.all("COPY")))
        runs = " ".join(self.runtime.all("RUN"))
        self.assertIn("install-deps.sh runtime", runs)
        self.assertIn("apt-get clean", runs)
        self.assertIn("rm -rf /var/lib/apt/lists/*", runs)
        with open(lib.source_path("deploy", "install-deps.sh")) as f:
            installs = [line for line in f if "apt-get install" in line]
        self.assertTrue(installs)
        for line in installs:
            self.assertIn("--no-install-recommends", line)

    def test_runtime_user_is_not_root(self):
        users = self.runtime.all("USER")
        self.assertTrue(users, "the runtime stage has no USER")
        self.assertNotIn(users[-1].split(":")[0], ("root", "0"))

    def test_exposes_grpc_and_metrics_ports(self):
        exposed = " ".join(self.runtime.all("EXPOSE")).split()
        self.assertEqual(sorted(exposed), ["50051", "9090"])

    def test_entrypoint_and_cmd_use_real_flags(self):
        entrypoint = exec_form(self.runtime.all("ENTRYPOINT")[-1])
        command = exec_form(self.runtime.all("CMD")[-1])
        self.assertEqual(entrypoint[0], "attnserve")
        self.assertIn("--address=0.0.0.0:50051", entrypoint)
        self.assertIn("--metrics_address=0.0.0.0:9090", entrypoint)
        flags = lib.binary_flags(self.runtime_binaries()["attnserve"])
        for name in lib.args_flag_names(entrypoint[1:] + command):
            self.assertIn(name, flags, f"attnserve defines no flag --{name}")

    def test_healthcheck_uses_a_shipped_binary(self):
        checks = self.runtime.all("HEALTHCHECK")
        self.assertEqual(len(checks), 1)
        command = exec_form(checks[0].split("CMD", 1)[1].strip())
        binaries = self.runtime_binaries()
        self.assertIn(command[0], binaries)
        flags = lib.binary_flags(binaries[command[0]])
        for name in lib.args_flag_names(command[1:]):
            self.assertIn(name, flags, f"{command[0]} defines no flag --{name}")


if __name__ == "__main__":
    lib.main()
