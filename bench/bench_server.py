"""Benchmark `ocrtool serve` against the CLI, and hammer it with good and bad requests.

Part 1, throughput (receipts): the CLI's own images/s (`ocrtool read --format json` on the
same files, its summary line, models already loaded), then requests/s and p50/p95
latency with 1, 4 and 16 concurrent clients against one server on loopback. Every
answer is checked against the CLI's JSON. The CLI runs before and after the server, and
the ratio uses their mean, so a load change on a shared machine shows up as a spread
instead of a false ratio. CPU seconds per image (the server process's own, and the CLI's
from the difference between its two runs, which read R and 2R rounds) compare the two
where wall-clock rates move with other load.

Part 2, mixed traffic (--mix N, 2,000 by default): N requests from 16 clients mixing good
images (raw and multipart), corrupt files, empty bodies, wrong content types, bad options
and uploads over the size limit. Every good request must get the right JSON, every bad
one a 4xx JSON error, none a 5xx; the server's RSS after the run is compared with its
RSS after the first 100 requests, and its peak RSS is reported.

    python bench/bench_server.py                      # both parts, default receipts
    python bench/bench_server.py --threads 2 --rounds 3 --mix 2000
    python bench/bench_server.py --mix 0              # throughput only
    python bench/bench_server.py --no-throughput      # mixed traffic only

Exit status 1 when an answer was wrong or a 5xx was seen. Needs `pip install
"ocrtool[serve]"`; clients are stdlib http.client threads (light, so they take little
CPU from the server they measure).
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ocrtool.server.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
SROIE = ROOT.parent / "shared" / "data" / "sroie_dev" / "images"
MAX_UPLOAD_MB = 1  # for the mixed run: small, so oversized uploads are cheap to send


def default_receipts() -> list[Path]:
    receipts = [ROOT / "samples" / "receipt.jpg"]
    if SROIE.is_dir():
        receipts += sorted(SROIE.glob("*.jpg"))[:3]
    return receipts


# ------------------------------------------------------------------ client

class Client:
    """One keep-alive connection per thread; reconnects when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        for attempt in range(2):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                                    timeout=600)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                return response.status, data
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def multipart(name: str, data: bytes, media: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{name}\"\r\nContent-Type: {media}\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), \
        f"multipart/form-data; boundary={boundary}"


def without_image(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "image"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------ part 1

# Runs a command and prints the CPU seconds it used as its last stderr line: the CLI's own
# CPU, apart from that of any other child of this process (the server).
_CPU_WRAPPER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
                "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
                "print(f'cpu_s={u.ru_utime + u.ru_stime}', file=sys.stderr); sys.exit(code)")


def cli_run(images: list[Path], rounds: int, threads: int | None
            ) -> tuple[float, float, dict]:
    """The CLI's images/s (its own summary line), its CPU seconds and its JSON per image.

    The CLI reads a file named twice only once, so each round reads copies of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        originals = {}
        for k in range(rounds):
            for i, p in enumerate(images):
                copy = Path(tmp) / f"r{k}-{i}-{p.name}"
                shutil.copyfile(p, copy)
                originals[str(copy)] = str(p)
        cmd = [sys.executable, "-m", "ocrtool.cli", "read", "--format", "json",
               *(["--threads", str(threads)] if threads else []), *originals]
        run = subprocess.run([sys.executable, "-c", _CPU_WRAPPER, *cmd],
                             capture_output=True, text=True, check=True)
    cpu = float(re.findall(r"cpu_s=([\d.]+)", run.stderr)[-1])
    found = re.search(r"([\d.]+) images/s", run.stderr)  # printed for 2+ images
    rate = float(found.group(1)) if found else 0.0
    records = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        records[originals[record["image"]]] = without_image(record)
    return rate, cpu, records


def load_level(server: ServerProcess, client: Client, images: list[tuple[str, bytes]],
               expected: dict,
               concurrency: int, requests: int) -> dict:
    latencies: list[float] = []
    wrong = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal wrong
        name, data = images[i % len(images)]
        start = time.perf_counter()
        status, body = client.post("/v1/read", data, {"Content-Type": "image/jpeg"})
        seconds = time.perf_counter() - start
        ok = status == 200 and without_image(json.loads(body)) == expected[name]
        with lock:
            latencies.append(seconds)
            wrong += not ok

    start, cpu = time.perf_counter(), server.cpu_s()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    wall = time.perf_counter() - start
    return {"concurrency": concurrency, "requests": requests, "req_per_s": requests / wall,
            "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
            "cpu_s": (server.cpu_s() - cpu) / requests, "wrong": wrong}


def throughput(args) -> tuple[list[str], bool]:
    images = [Path(p) for p in args.images] if args.images else default_receipts()
    threads = ["--threads", str(args.threads)] if args.threads else []
    print(f"throughput: {len(images)} receipts: {', '.join(p.name for p in images)}",
          flush=True)
    cli_before, cpu_before, expected = cli_run(images, args.rounds, args.threads)
    print(f"  CLI: {cli_before:.2f} images/s", flush=True)
    levels = []
    # no timeout and room for every client: this part measures speed, not the limits
    with ServerProcess(*threads, "--timeout", "3600", "--queue", "256") as server:
        client = Client(server.port)
        payload = [(str(p), p.read_bytes()) for p in images]
        load_level(server, client, payload, expected, 1, len(images))  # warm-up, one each
        for c in args.concurrency:
            n = max(args.rounds * len(images), 2 * c)
            level = load_level(server, client, payload, expected, c, n)
            levels.append(level)
            print(f"  server, {c:2d} clients: {level['req_per_s']:.2f} req/s, p50 "
                  f"{level['p50_s']:.2f} s, p95 {level['p95_s']:.2f} s, "
                  f"{level['cpu_s']:.2f} CPU s/request, {level['wrong']} wrong", flush=True)
        peak = server.peak_rss_kib()
    # twice the rounds: the difference in CPU is that of reading rounds x images, without
    # the start-up and model load both runs pay
    cli_after, cpu_after, _ = cli_run(images, 2 * args.rounds, args.threads)
    print(f"  CLI again: {cli_after:.2f} images/s", flush=True)
    cli = (cli_before + cli_after) / 2
    cli_cpu = (cpu_after - cpu_before) / (args.rounds * len(images))
    lines = ["| clients | requests | req/s | p50 (s) | p95 (s) | vs CLI | CPU s/request |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for lv in levels:
        lines.append(f"| {lv['concurrency']} | {lv['requests']} | {lv['req_per_s']:.2f} | "
                     f"{lv['p50_s']:.2f} | {lv['p95_s']:.2f} | "
                     f"{lv['req_per_s'] / cli:.0%} | {lv['cpu_s']:.2f} |")
    lines.append(f"\nCLI: {cli:.2f} images/s (before {cli_before:.2f}, after {cli_after:.2f}),"
                 f" {cli_cpu:.2f} CPU s/image; server peak RSS {peak / 1024:.0f} MiB")
    lines.append("(CPU seconds per image compare the two fairly on a busy machine, where "
                 "wall-clock rates move with the other load)")
    four = [lv for lv in levels if lv["concurrency"] == 4]
    if four:
        lines.append(f"ratio server(4 clients) / CLI = {four[0]['req_per_s'] / cli:.2f} "
                     "(target >= 0.90)")
    return lines, all(lv["wrong"] == 0 for lv in levels)


# ------------------------------------------------------------------ part 2

def mixed(args) -> tuple[list[str], bool]:
    good = [ROOT / "samples" / "line.png", ROOT / "samples" / "sign.jpg"]
    threads = ["--threads", str(args.threads)] if args.threads else []
    _, _, expected = cli_run(good, 1, args.threads)
    payload = {str(p): p.read_bytes() for p in good}
    limit = MAX_UPLOAD_MB * 1024 * 1024
    kinds = (["good_raw"] * 25 + ["good_multipart"] * 15 + ["corrupt"] * 12 + ["random"] * 5
             + ["empty"] * 10 + ["text_type"] * 8 + ["json_type"] * 5 + ["form_type"] * 5
             + ["bad_option"] * 10 + ["oversized"] * 5)
    rng = random.Random(args.seed)
    plan = [rng.choice(kinds) for _ in range(args.mix)]
    noise = bytes(rng.getrandbits(8) for _ in range(5000))
    oversized = b"\xff\xd8\xff" + bytes(limit + 1000)
    counts = {"good": 0, "good_ok": 0, "bad": 0, "bad_4xx_json": 0, "5xx": 0, "other": 0}
    lock = threading.Lock()
    rss = {}
    print(f"mixed traffic: {args.mix} requests, 16 clients", flush=True)

    def request(i: int, kind: str) -> tuple[str | None, int, bytes]:
        name = list(payload)[i % len(payload)]
        data = payload[name]
        if kind == "good_raw":
            return name, *client.post("/v1/read", data, {"Content-Type": "image/png"})
        if kind == "good_multipart":
            body, ctype = multipart(Path(name).name, data, "image/png")
            return name, *client.post("/v1/read", body, {"Content-Type": ctype})
        if kind == "corrupt":
            return None, *client.post("/v1/read", data[: len(data) // 3],
                                      {"Content-Type": "image/png"})
        if kind == "random":
            return None, *client.post("/v1/read", noise, {"Content-Type": "image/jpeg"})
        if kind == "empty":
            return None, *client.post("/v1/read", b"", {"Content-Type": "image/png"})
        if kind == "text_type":
            return None, *client.post("/v1/read", data, {"Content-Type": "text/plain"})
        if kind == "json_type":
            return None, *client.post("/v1/read", b'{"path": "/etc/passwd"}',
                                      {"Content-Type": "application/json"})
        if kind == "form_type":
            return None, *client.post("/v1/read", data, {
                "Content-Type": "application/x-www-form-urlencoded"})
        if kind == "bad_option":
            return None, *client.post("/v1/read?decoder=fast", data,
                                      {"Content-Type": "image/png"})
        return None, *client.post("/v1/read", oversized, {"Content-Type": "image/jpeg"})

    done = 0

    def one(i: int) -> None:
        nonlocal done
        name, status, body = request(i, plan[i])
        with lock:
            done += 1
            if done == 100:
                rss["after_100"] = server.rss_kib()
            if status >= 500:
                counts["5xx"] += 1
            if name is not None:
                counts["good"] += 1
                counts["good_ok"] += status == 200 and \
                    without_image(json.loads(body)) == expected[name]
            else:
                counts["bad"] += 1
                try:
                    error = json.loads(body)
                    counts["bad_4xx_json"] += 400 <= status < 500 and \
                        error["status"] == status and bool(error["error"])
                except (ValueError, KeyError, TypeError):
                    counts["other"] += 1

    start = time.perf_counter()
    with ServerProcess(*threads, "--max-upload-mb", str(MAX_UPLOAD_MB),
                       log=args.log) as server:
        client = Client(server.port)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(one, range(args.mix)))
        rss["end"] = server.rss_kib()
        rss["peak"] = server.peak_rss_kib()
        alive = server.proc.poll() is None
    wall = time.perf_counter() - start
    growth = rss["end"] / rss["after_100"] - 1
    ok = (counts["good_ok"] == counts["good"] and counts["bad_4xx_json"] == counts["bad"]
          and counts["5xx"] == 0 and alive and abs(growth) <= 0.10)
    lines = [
        f"{args.mix} requests in {wall:.0f} s: {counts['good']} good, {counts['good_ok']} "
        f"answered correctly; {counts['bad']} bad, {counts['bad_4xx_json']} got a 4xx JSON "
        f"error; {counts['5xx']} 5xx; server alive: {alive}",
        f"server RSS after 100 requests {rss['after_100'] / 1024:.1f} MiB, after "
        f"{args.mix} {rss['end'] / 1024:.1f} MiB ({growth:+.1%}, limit +-10%), peak "
        f"{rss['peak'] / 1024:.1f} MiB",
    ]
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", help="receipts for part 1 (default: "
                        "samples/receipt.jpg and three sroie_dev receipts)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="each image this many times per CLI run and per level")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 4, 16])
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for both the CLI and the server (default: theirs)")
    parser.add_argument("--mix", type=int, default=2000, help="requests in part 2; 0 skips")
    parser.add_argument("--no-throughput", action="store_true", help="skip part 1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", default=None, help="server log of part 2 (a file)")
    args = parser.parse_args()
    report, ok = [], True
    if not args.no_throughput:
        lines, good = throughput(args)
        report += ["## Throughput (receipts)", "", *lines, ""]
        ok &= good
    if args.mix:
        lines, good = mixed(args)
        report += ["## Mixed traffic", "", *lines, ""]
        ok &= good
    print("\n" + "\n".join(report))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
