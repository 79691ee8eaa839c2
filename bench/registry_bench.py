"""What the registry's safety costs: registration (copy + hash + verify + fsync + rename) against
a plain `shutil.copytree`, and resolving `models:/` (digest verified on every load) against
opening a plain directory. Run: `python bench/registry_bench.py` (from any directory but the
repository root). Prints the machine, the medians and the ratios side by side.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shipyard.registry.client import RegistryClient
from shipyard.registry.digest import compute_digest

SIZES_MB = (1, 16, 64)
REPEATS = 5


def _median_ms(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _model_dir(root: Path, size_mb: int, seed: int) -> Path:
    d = root / f"model-{size_mb}-{seed}"
    d.mkdir(parents=True)
    (d / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    (d / "weights.bin").write_bytes(os.urandom(size_mb << 20))
    (d / "seed.txt").write_text(str(seed))
    return d


def main() -> None:
    print(f"machine: {platform.platform()} | cpus: {os.cpu_count()} | python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        client = RegistryClient(f"sqlite:///{root / 'shipyard.db'}")
        copies = iter(range(10_000))
        print(
            f"{'size':>6} | {'copytree':>9} | {'register':>9} | {'ratio':>5} || "
            f"{'open dir':>9} | {'models:/ resolve':>16} | {'digest MB/s':>11}"
        )
        for size in SIZES_MB:
            sources = [_model_dir(root / "src", size, i) for i in range(REPEATS)]
            it = iter(sources)
            first = sources[0]
            copy_ms = _median_ms(lambda first=first: shutil.copytree(first, root / "copies" / str(next(copies))))
            register_ms = _median_ms(lambda it=it, size=size: client.register_model(str(next(it)), f"bench-{size}"))
            uri = f"models:/bench-{size}/latest"
            plain_ms = _median_ms(lambda first=first: client.resolve(str(first)))
            resolve_ms = _median_ms(lambda uri=uri: client.resolve(uri))
            digest_ms = _median_ms(lambda first=first: compute_digest(first))
            print(
                f"{size:>4}MB | {copy_ms:>7.1f}ms | {register_ms:>7.1f}ms | {register_ms / copy_ms:>4.1f}x || "
                f"{plain_ms:>7.2f}ms | {resolve_ms:>14.1f}ms | {size / (digest_ms / 1000):>11.0f}"
            )
        print("register = reserve number + copy while hashing + re-hash copy + fsync + rename + mark READY")
        print("models:/ resolve = registry lookup + full digest verification of the stored copy")


if __name__ == "__main__":
    main()
