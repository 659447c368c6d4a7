"""Load generator for the API: single-record submissions at a fixed rate against a real uvicorn server.

    .venv/bin/python bench/api/run.py                 # 200 req/s for 20 s, SQLite in a temp folder
    .venv/bin/python bench/api/run.py --rate 400 --seconds 30 --with-processing

The script starts the server in a child process (``--serve``, its own interpreter, so the generator does
not share the server's GIL), on a fresh SQLite store with one partner client, then sends one-record PLIE
files (each different) to ``POST /api/v1/endpoints/plie-mel-depot/files`` on an open-loop schedule:
request *i* is due at ``start + i / rate`` whatever happened before, and its latency is measured from
that due time (queueing included, no coordinated omission). ``--with-processing`` also runs the
processor and delivery threads in the server, so submissions compete with the pipeline's writes.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SUBMIT = "/api/v1/endpoints/plie-mel-depot/files"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ENDPOINTS = """
partners:
  plie-mel: {name: PLIE MEL}
  ft-hdf: {name: France Travail HDF}
endpoints:
  plie-mel-depot: {direction: in, partner: plie-mel, mapping: plie-participants-csv, transport: {type: api}}
  ft-api-partenaires-hdf:
    {direction: out, partner: ft-hdf, transport: {type: file-drop, options: {directory: out}}}
"""


def serve(home: Path, port: int, key: str, processing: bool) -> None:
    import uvicorn

    from gateway.api.app import create_app
    from gateway.auth import hash_secret
    from gateway.runtime import Gateway
    from gateway.settings import Settings

    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "endpoints.yaml").write_text(ENDPOINTS, encoding="utf-8")
    (home / "config" / "clients.yaml").write_text(
        f"clients:\n  plie-mel-si: {{role: partner, party: plie-mel, key_hash: '{hash_secret(key)}'}}\n",
        encoding="utf-8",
    )
    settings = Settings(
        home=home,
        data_dir=home / "var",
        config_dir=home / "config",
        conventions_dir=ROOT / "conventions",
        mappings_dir=ROOT / "mappings",
        pseudonym_key="bench-pseudonym-key-0123456789abcdef",  # type: ignore[arg-type]
        checkpoint_key="9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",  # type: ignore[arg-type]
        environment="test",
    )
    gateway = Gateway(settings)
    app = create_app(settings, gateway.engine, gateway)
    if processing:
        gateway.run_background(threading.Event())
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


def bodies(count: int) -> list[bytes]:
    """``count`` one-record PLIE CSV files, all different (synthetic participants)."""
    from adapters.synthetic import generate

    stream = io.BytesIO()
    generate("plie-csv", count, stream, seed=7, plie_siret="78451209300013")
    header, *rows = stream.getvalue().splitlines(keepends=True)
    if len(rows) < count:
        raise SystemExit("the generator gave fewer rows than requested")
    return [header + row for row in rows[:count]]


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


def load(url: str, key: str, rate: float, seconds: float, threads: int) -> None:
    total = int(rate * seconds)
    payloads = bodies(total)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    slow: list[int] = []
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=url, headers={"X-API-Key": key, "Content-Type": "text/csv"})
        return local.client  # type: ignore[no-any-return]

    def one(index: int, due: float) -> None:
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            response = client().post(
                "/api/v1/endpoints/plie-mel-depot/files", content=payloads[index], timeout=30
            )
            outcome = None if response.status_code == 202 else str(response.status_code)
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        elapsed = time.perf_counter() - due
        with lock:
            latencies.append(elapsed)
            if elapsed > 0.05:
                slow.append(index)
            if outcome:
                errors[outcome] = errors.get(outcome, 0) + 1

    def warm(_: int) -> None:  # one client and connection per thread, the key's scrypt check, page cache
        client().get("/api/v1/exchanges?limit=1", timeout=30)
        time.sleep(0.2)  # keeps this thread busy so that every thread of the pool gets one

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(warm, range(threads)))
        start = time.perf_counter() + 0.5
        for index in range(total):
            pool.submit(one, index, start + index / rate)
    wall = time.perf_counter() - start
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    print(f"requests: {len(ordered)} in {wall:.1f} s -> {len(ordered) / wall:.1f} req/s (target {rate:.0f})")
    print(f"latency from due time: p50 {pct(0.50):.1f} ms, p90 {pct(0.90):.1f} ms, p99 {pct(0.99):.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms, mean {statistics.fmean(ordered) * 1000:.1f} ms")  # fmt: skip
    print(f"errors: {errors or 'none'}; over 50 ms: {len(slow)} (first indexes {sorted(slow)[:10]})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=32, help="client threads")
    parser.add_argument("--with-processing", action="store_true", help="run processor and worker threads too")
    parser.add_argument("--serve", nargs=3, metavar=("HOME", "PORT", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.serve[2], args.with_processing)
        return
    import socket

    from gateway.auth.secrets import new_api_key

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key = new_api_key("plie-mel-si")
    with tempfile.TemporaryDirectory(prefix="bench-api-") as home:
        command = [sys.executable, __file__, "--serve", home, str(port), key]
        if args.with_processing:
            command.append("--with-processing")
        env = {**os.environ, "GATEWAY_LOG_LEVEL": "warning"}
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url)
            load(url, key, args.rate, args.seconds, args.threads)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
