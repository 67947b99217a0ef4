"""Load test of `posegpt serve`: requests/s and p50/p95 latency with 1, 4 and 16 clients.

    python benchmarks/bench_serve.py --model PATH [--requests 48] [--max-seconds 60]

Starts the server as a subprocess on a free port of 127.0.0.1 (never any other address), then
for each client count sends `--requests` POST /v1/chat requests (fewer if `--max-seconds`
runs out), each asking for a pose. Every request is checked: anything but a 200 answer is a
failure, and the script exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def start_server(args: argparse.Namespace, out: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-c", "from posegpt.cli import main; main()", "serve"]
    command += ["--host", HOST, "--port", str(port), "--out", str(out)]
    command += ["--max-new-tokens", str(args.max_new_tokens)]
    if args.model:
        command += ["--model", args.model]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    sys.exit("the server did not start")


def run_level(url: str, clients: int, requests: int, max_seconds: float, prompt: str) -> dict:
    """Send up to `requests` requests from `clients` threads: wall time, latencies (s), poses
    per answer, failures."""
    body = {"messages": [{"role": "user", "content": prompt}]}
    latencies: list[float] = []
    poses: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()
    issued = 0
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        nonlocal issued
        with httpx.Client(timeout=120) as session:
            while True:
                with lock:
                    if issued >= requests or time.monotonic() > deadline:
                        return
                    issued += 1
                start = time.perf_counter()
                count, outcome = -1, None
                try:
                    response = session.post(f"{url}/v1/chat", json=body)
                    if response.status_code == 200:
                        count = len(response.json()["poses"])
                    else:
                        outcome = f"{response.status_code} {response.text[:100]}"
                except httpx.HTTPError as err:
                    outcome = repr(err)
                elapsed = time.perf_counter() - start
                with lock:
                    if outcome is None:
                        latencies.append(elapsed)
                        poses.append(count)
                    else:
                        failures.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    return {"wall": wall, "latencies": latencies, "poses": poses, "failures": failures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the packaged model)")
    parser.add_argument("--requests", type=int, default=48, help="requests per client count")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per level")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="server reply limit")
    parser.add_argument("--threads", type=int, default=1, help="server torch threads")
    parser.add_argument("--prompt", default="Give me the pose of someone waving.")
    args = parser.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as out:
        process, url = start_server(args, Path(out))
        try:
            run_level(url, 1, 3, args.max_seconds, args.prompt)  # warm-up
            print("clients requests failed   req/s  p50 ms  p95 ms  poses/reply")
            for clients in (1, 4, 16):
                level = run_level(url, clients, args.requests, args.max_seconds, args.prompt)
                times = sorted(1000 * t for t in level["latencies"])
                done = len(times) + len(level["failures"])
                if len(times) < 2:
                    sys.exit(
                        f"{clients} clients: under 2 answers; failures: {level['failures'][:3]}"
                    )
                p50, p95 = (statistics.quantiles(times, n=20)[i] for i in (9, 18))
                print(
                    f"{clients:>7} {done:>8} {len(level['failures']):>6} "
                    f"{len(times) / level['wall']:>7.2f} {p50:>7.0f} {p95:>7.0f} "
                    f"{statistics.mean(level['poses']):>12.2f}"
                )
                for failure in level["failures"][:3]:
                    print(f"        failure: {failure}")
                failed += len(level["failures"])
        finally:
            process.terminate()
            process.wait(timeout=30)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
