"""The real attnserve binary for Python end-to-end tests: started on 127.0.0.1 with
ports it picks (read back from its log), stopped with SIGTERM. Bounded in time."""
import pathlib
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.request


def sanitizer(build_dir):
    """The sanitizer build_dir was configured with (ATTNSERVE_SANITIZE): "", "address" or
    "thread"."""
    cache = (pathlib.Path(build_dir) / "CMakeCache.txt").read_text()
    match = re.search(r"^ATTNSERVE_SANITIZE:STRING=(\w*)$", cache, re.M)
    return match.group(1) if match else ""


class AttnServe:
    """attnserve started with `args` added to --address 127.0.0.1:0. Under ThreadSanitizer
    it computes on one thread (`args` may say otherwise): Debian's libgomp is not
    instrumented, so its OpenMP team's hand-offs look like races; one thread has no team."""

    def __init__(self, build_dir, args=(), metrics=False):
        one_thread = ["--compute_threads", "1"] if sanitizer(build_dir) == "thread" else []
        argv = [str(pathlib.Path(build_dir) / "bin" / "attnserve"), "--address", "127.0.0.1:0",
                "--metrics_address", "127.0.0.1:0" if metrics else "", *one_thread, *args]
        self.process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
        self.log = queue.Queue()
        self.metrics_address = None
        # Drains the server's log for as long as it runs.
        threading.Thread(target=lambda: [self.log.put(line) for line in self.process.stderr],
                         daemon=True).start()
        deadline = time.monotonic() + (180 if sanitizer(build_dir) else 60)
        seen = ""
        while time.monotonic() < deadline:
            try:
                line = self.log.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen += line
            match = re.search(r"metrics on http://(127\.0\.0\.1:\d+)/metrics", line)
            if match:
                self.metrics_address = match.group(1)
            match = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
            if match:
                self.address = match.group(1)
                return
        self.process.kill()
        raise RuntimeError("attnserve did not start:\n" + seen)

    def proc_status_kb(self, field):
        """A memory figure of the server from /proc/PID/status, in KiB: "VmRSS" (now) or
        "VmHWM" (peak)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise KeyError(field)

    def stop(self):
        """SIGTERM; returns the exit code (killed after 20 s)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def scrape(metrics_address):
    """Prometheus text -> {(name, frozenset of label pairs): value}."""
    body = urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=10).read()
    samples = {}
    for line in body.decode().splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if not match:
            continue
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def metric(samples, name, **labels):
    """The value of sample `name` with exactly `labels`; 0 when absent."""
    return samples.get((name, frozenset(labels.items())), 0.0)
