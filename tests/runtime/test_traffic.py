"""Traffic split and shadowing for one name: the router on its own (fixed seed, fixed keys), the
flags and YAML that configure it, and real `shipyard serve` processes over a real sqlite registry
whose versions answer differently (x * factor), so every answer names the version that gave it."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shipyard.exceptions import InvalidInput
from shipyard.registry.client import RegistryClient
from shipyard.runtime.model_list import entries_of_flags, read_model_list
from shipyard.runtime.shadow import disagreement
from shipyard.runtime.traffic import Router, key_point
from shipyard.settings import Settings

BIN = Path(sys.executable).parent
PIECEWISE_SOURCE = '''
import time
import numpy as np
from shipyard.flavors.python_model import PythonModel


class Piecewise(PythonModel):
    """x * low below 10, x * high from 10 on; raises from `fail_at` on (its warm-up, on 1 and 2,
    passes); takes 2 s on x == 7 when `slow`."""

    def __init__(self, low: float, high: float, fail_at: float | None = None) -> None:
        self.low = low
        self.high = high
        self.fail_at = fail_at
        self.slow = fail_at is not None

    def predict(self, context, model_input, params=None):
        values = np.asarray(model_input["x"], dtype=np.float64)
        if self.fail_at is not None and (values >= self.fail_at).any():
            raise RuntimeError("the shadow is broken on this input")
        if self.slow and (values == 7).any():
            time.sleep(2.0)
        return np.where(values >= 10, values * self.high, values * self.low)
'''


def save_piecewise(path: Path, low: float, high: float, fail_at: float | None = None) -> Path:
    import numpy as np
    import pandas as pd

    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.python_model import save_model

    code = path.parent / f"{path.name}-code"
    code.mkdir(parents=True)
    source = code / "piecewise_model.py"
    source.write_text(textwrap.dedent(PIECEWISE_SOURCE))
    spec = importlib.util.spec_from_file_location("piecewise_model", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["piecewise_model"] = module
    spec.loader.exec_module(module)
    save_model(
        path,
        module.Piecewise(low, high, fail_at),
        code_paths=[source],
        signature=infer_signature(pd.DataFrame({"x": [1.0]}), np.array([1.0])),
        input_example=pd.DataFrame({"x": [1.0, 2.0]}),
    )
    return path


def registry(tmp: Path) -> tuple[RegistryClient, dict[str, str]]:
    uri, cache = f"sqlite:///{tmp / 'registry.db'}", str(tmp / "cache")
    client = RegistryClient(tracking_uri=uri, settings=Settings(tracking_uri=uri, cache_dir=cache))
    return client, {"SHIPYARD_TRACKING_URI": uri, "SHIPYARD_CACHE_DIR": cache}


def register(client: RegistryClient, tmp: Path, versions: dict[str, tuple[float, float, float | None]]) -> None:
    """Register one version per alias (in order: version 1, 2, ...) of the model `scaled`."""
    for number, (alias, (low, high, fail_at)) in enumerate(versions.items(), start=1):
        client.register_model(str(save_piecewise(tmp / f"v{number}", low, high, fail_at)), "scaled")
        client.set_registered_model_alias("scaled", alias, str(number))


def invoke(client: httpx.Client, xs: list[float], key: str | None = None) -> httpx.Response:
    headers = {} if key is None else {"X-Shipyard-Route-Key": key}
    return client.post(
        "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[x] for x in xs]}}, headers=headers
    )


def samples(url: str, metric: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples named `metric` in /metrics, keyed by their sorted labels."""
    text = httpx.get(url + "/metrics", timeout=10).text
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == metric
    }


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


# the router, deterministically


def test_a_90_10_split_of_10000_draws_and_of_10000_keys_is_within_3_points_of_10_percent() -> None:
    router = Router([90, 10], rng=random.Random(20261201))
    drawn = sum(router.pick() for _ in range(10_000)) / 10_000
    keyed = sum(router.pick(f"user-{i}".encode()) for i in range(10_000)) / 10_000
    assert abs(drawn - 0.10) <= 0.03 and abs(keyed - 0.10) <= 0.03, (drawn, keyed)


def test_a_key_always_goes_to_the_same_route_and_a_zero_weight_never_gets_one() -> None:
    router = Router([1, 1, 1])
    for i in range(200):
        key = f"session-{i}".encode()
        assert len({router.pick(key) for _ in range(5)}) == 1
        # stable across routers (and so processes): the point is a hash of the key alone
        assert Router([1, 1, 1]).pick(key) == router.pick(key)
        assert 0.0 <= key_point(key) < 1.0
    never = Router([0, 5], rng=random.Random(3))
    assert {never.pick() for _ in range(1000)} | {never.pick(str(i).encode()) for i in range(1000)} == {1}


@pytest.mark.parametrize("weights", [[0, 0], [-1, 2], []])
def test_weights_that_cannot_route_are_refused(weights: list[float]) -> None:
    with pytest.raises(InvalidInput, match="weights"):
        Router(weights)


# flags and YAML


def test_flags_make_a_split_and_a_shadow_under_one_name() -> None:
    (entry,) = entries_of_flags(
        ["iris=models:/iris@champion:90", "iris=models:/iris@challenger:10"], ["models:/iris@next"]
    )
    assert entry.name == "iris" and entry.shadow == "models:/iris@next"
    assert [(r.uri, r.weight) for r in entry.routes] == [("models:/iris@champion", 90), ("models:/iris@challenger", 10)]
    plain, other = entries_of_flags(["models:/iris/1", "fraud=models:/fraud/Production"], ["fraud=models:/fraud@b"])
    assert (plain.uri, plain.routes, plain.shadow) == ("models:/iris/1", (), None)
    assert (other.name, other.uri, other.shadow) == ("fraud", "models:/fraud/Production", "models:/fraud@b")


@pytest.mark.parametrize(
    ("flags", "shadows", "message"),
    [
        (["iris=models:/iris@champion:abc"], [], "weight 'abc' is not a number"),
        (["iris=models:/iris@champion:-5"], [], "weight '-5' is not a number >= 0"),
        (["iris=models:/iris@a:0", "iris=models:/iris@b:0"], [], "weights of model 'iris' sum to 0"),
        (["iris=models:/iris@a", "iris=models:/iris@b:10"], [], "both as a plain -m iris=URI and as a traffic split"),
        (["a=models:/a/1", "b=models:/b/1"], ["models:/b@x"], "say which one it shadows"),
        (["a=models:/a/1"], ["c=models:/c@x"], "no model is served under the name 'c'"),
        (["a=models:/a/1"], ["a=models:/a@x", "a=models:/a@y"], "already has a shadow"),
    ],
)
def test_bad_split_flags_name_the_flag_and_the_problem(flags: list[str], shadows: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        entries_of_flags(flags, shadows)


def test_the_yaml_form_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "models:\n  - name: iris\n"
        "    routes: [{uri: 'models:/iris@a', weight: 3}, {uri: 'models:/iris@b', weight: 1}]\n"
        "    shadow: models:/iris@c\n",
        encoding="utf-8",
    )
    (entry,) = read_model_list(good)
    assert [t[:2] for t in entry.targets()] == [("models:/iris@a", 3), ("models:/iris@b", 1), ("models:/iris@c", None)]
    for body, message in (
        ("models:\n  - {name: x, uri: 'models:/x/1', routes: [{uri: 'models:/x/2', weight: 1}]}\n", "either 'uri' or"),
        ("models:\n  - {name: x, routes: [{uri: 'models:/x/2', weight: 0}]}\n", "weights sum to 0"),
        ("models:\n  - {name: x, routes: [{uri: 'models:/x/2', weight: abc}]}\n", r"models\[0\]: routes.0.weight"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(InvalidInput, match=message):
            read_model_list(bad)


def test_the_cli_refuses_a_bad_weight_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "shipyard"), "serve", "-m", "iris=models:/iris@champion:abc", "-m", "iris=models:/iris@b:10"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2 and "weight 'abc'" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_disagreement_is_the_share_of_differing_predictions() -> None:
    assert disagreement(b'{"predictions": [1, 2, 3, 4]}', b'{"predictions": [1.0, 2, 9, 8]}') == (4, 2)
    assert disagreement(b'{"predictions": [1, 2]}', b'{"predictions": [1]}') == (2, 1)
    assert disagreement(b'{"predictions": {"y": [1]}}', b'{"predictions": {"y": [1]}}') == (1, 0)


# real servers


def test_a_split_on_a_real_server_routes_by_weight_sticks_by_key_and_follows_its_aliases(
    tmp_path: Path, start_shipyard: Any
) -> None:
    client, env = registry(tmp_path)
    register(client, tmp_path, {"champion": (1, 1, None), "challenger": (2, 2, None), "next": (4, 4, None)})
    split = ("-m", "iris=models:/scaled@challenger:10", "--poll-interval", "0.2")
    with start_shipyard("iris=models:/scaled@champion:90", tmp_path, *split, env=env) as server:
        router = Router([90, 10])
        with httpx.Client(base_url=server.url, timeout=30) as http:
            answered = {"1": 0, "2": 0}
            for i in range(1000):
                answer = invoke(http, [3.0], key=f"user-{i}")
                version = answer.headers["X-Shipyard-Model-Version"]
                assert answer.status_code == 200 and answer.json() == {"predictions": [3.0 * int(version)]}
                assert version == ("2" if router.pick(f"user-{i}".encode()) else "1")
                answered[version] += 1
            assert abs(answered["2"] / 1000 - 0.10) <= 0.03, answered
            for key in ("alice", "bob", "carol"):  # sticky
                assert len({invoke(http, [1.0], key=key).headers["X-Shipyard-Model-Version"] for _ in range(10)}) == 1
            unkeyed = {invoke(http, [1.0]).headers["X-Shipyard-Model-Version"] for _ in range(200)}
            assert unkeyed == {"1", "2"}

            document = http.get("/version", headers={"Accept": "application/json"}).json()
            routes = document["traffic"]["iris"]["routes"]
            assert [(r["model"]["version"], r["weight"]) for r in routes] == [("1", 90), ("2", 10)]
            assert http.get("/v2/models/iris/versions/2/ready").status_code == 200
            assert http.get("/v2/models/iris/versions/7").status_code == 404

            # the challenger's alias moves: its route follows it, the champion's stays
            challenger_key = next(f"user-{i}" for i in range(1000) if router.pick(f"user-{i}".encode()))
            client.set_registered_model_alias("scaled", "challenger", "3")
            wait_for(lambda: invoke(http, [1.0], key=challenger_key).headers["X-Shipyard-Model-Version"] == "3", "move")
            assert invoke(http, [1.0], key=challenger_key).json() == {"predictions": [4.0]}
            assert invoke(http, [1.0], key="user-0").headers["X-Shipyard-Model-Version"] == "1"


def test_a_shadow_never_changes_the_answer_and_reports_its_errors_and_disagreement(
    tmp_path: Path, start_shipyard: Any
) -> None:
    client, env = registry(tmp_path)
    # the primary doubles x; the shadow agrees below 10, triples from 10 on, and raises from 100 on
    register(client, tmp_path, {"champion": (2, 2, None), "shadow": (2, 3, 100.0)})
    with start_shipyard("models:/scaled@champion", tmp_path, "--shadow", "models:/scaled@shadow", env=env) as server:
        url = server.url
        with httpx.Client(base_url=url, timeout=30) as http:
            for _ in range(5):
                answer = invoke(http, [1.0, 2.0, 20.0, 30.0])  # 2 of 4 predictions differ
                assert answer.status_code == 200 and answer.json() == {"predictions": [2.0, 4.0, 40.0, 60.0]}
                assert answer.headers["X-Shipyard-Model-Version"] == "1"
            for _ in range(3):
                answer = invoke(http, [500.0])  # the shadow raises
                assert answer.status_code == 200 and answer.json() == {"predictions": [1000.0]}, answer.text
            assert invoke(http, [1.0, 2.0, 20.0, 30.0, 40.0]).json() == {"predictions": [2.0, 4.0, 40.0, 60.0, 80.0]}
            started = time.monotonic()
            assert invoke(http, [7.0]).json() == {"predictions": [14.0]}  # the shadow takes 2 s on it
            assert time.monotonic() - started < 1.5, "a slow shadow delayed the caller"

        labels = (("model_name", "scaled"), ("primary_version", "1"), ("shadow_version", "2"))

        def counted() -> dict[str, float]:
            requests = samples(url, "shipyard_shadow_requests_total")
            return {
                dict(k)["outcome"]: v for k, v in requests.items() if tuple(p for p in k if p[0] != "outcome") == labels
            }

        wait_for(lambda: sum(counted().values()) == 10, "10 shadow copies counted")
        assert counted() == {"ok": 7, "INTERNAL_ERROR": 3}  # the errors, by error code
        rows = samples(url, "shipyard_shadow_rows_total")[labels]
        differing = samples(url, "shipyard_shadow_disagreements_total")[labels]
        # 5 x (4 rows, 2 differ) + (5 rows, 3 differ) + (1 row, agreed); the 3 that raised made none
        assert (rows, differing) == (26.0, 13.0)
        assert samples(url, "shipyard_shadow_duration_seconds_count")[labels] == 10
        slow = samples(url, "shipyard_shadow_duration_seconds_bucket")[tuple(sorted((*labels, ("le", "1.0"))))]
        assert slow == 9  # the slow copy's 2 s were measured
        document = httpx.get(url + "/version", headers={"Accept": "application/json"}).json()
        assert document["traffic"]["scaled"]["shadow"]["model"]["version"] == "2"
