"""Each finding of issue #13's "Why" about `/invocations` bodies, with the issue's own bodies,
against the real servers of `conftest.py`: a 4xx naming the field, or the answer the equivalent
valid body gets; the model's own exception and a bug in Shipyard's conversion are 500s."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.exceptions import SchemaEnforcementError

IRIS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
PIPE_ROWS = [["red", 4.5, 3], ["blue", 6.25, 7]]
MLP_ROWS = [[0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.0, -2.0], [1.0, 0.5, -0.5, 0.125, 1.25, -1.5, 2.5, 0.75]]


def post(url: str, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + "/invocations", content=content, headers={"Content-Type": "application/json", **headers})


def refused(answer: httpx.Response, *names: str, status: int = 400) -> str:
    assert answer.status_code == status, answer.text
    message: str = answer.json()["message"]
    for name in names:
        assert name in message, message
    return message


def split(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"dataframe_split": {"columns": columns, "data": rows}}


def test_null_in_a_required_double_column_is_a_400(servers: dict[str, str]) -> None:
    body = split(IRIS, [[None, 3.5, 1.4, 0.2]])
    refused(post(servers["iris"], body), "sepal length (cm)", "required", "row 0")


@pytest.mark.parametrize("kind", ["iris", "mlp", "pipeline"])
def test_zero_rows_answer_an_empty_list_on_every_model_and_format(kind: str, servers: dict[str, str]) -> None:
    url = servers[kind]
    bodies: list[Any] = [{"inputs": []}, {"instances": []}, {"dataframe_split": {"data": []}}]
    if kind != "mlp":
        bodies += [{"dataframe_records": []}]
    for body in bodies:
        answer = post(url, body)
        assert answer.status_code == 200 and answer.json() == {"predictions": []}, (body, answer.text)
    header = ",".join(IRIS if kind == "iris" else ["color", "size", "count"] if kind == "pipeline" else "abcdefgh")
    csv = httpx.post(url + "/invocations", content=header + "\n", headers={"Content-Type": "text/csv"})
    assert csv.status_code == 200 and csv.json() == {"predictions": []}, csv.text


def test_a_record_missing_a_key_is_a_missing_required_column(servers: dict[str, str]) -> None:
    records = [dict(zip(IRIS, row, strict=True)) for row in IRIS_ROWS]
    del records[1]["petal width (cm)"]
    refused(post(servers["iris"], {"dataframe_records": records}), "missing required column", "petal width (cm)")


@pytest.mark.parametrize("cell", ["", "NaN", "inf"])
def test_csv_cells_follow_the_json_rules(cell: str, servers: dict[str, str]) -> None:
    text = ",".join(IRIS) + "\n5.1,3.5,1.4,0.2\n6.7,3.0," + cell + ",2.3\n"
    answer = httpx.post(servers["iris"] + "/invocations", content=text, headers={"Content-Type": "text/csv"})
    refused(answer, "petal length (cm)", "row 1")


def test_csv_short_row_and_the_equivalent_of_json(servers: dict[str, str]) -> None:
    url = servers["iris"]
    short = ",".join(IRIS) + "\n5.1,3.5,1.4\n"
    refused(httpx.post(url + "/invocations", content=short, headers={"Content-Type": "text/csv"}), "CSV row 0")
    text = ",".join(IRIS) + "\n" + "\n".join(",".join(map(str, r)) for r in IRIS_ROWS) + "\n"
    csv = httpx.post(url + "/invocations", content=text, headers={"Content-Type": "text/csv"})
    assert csv.status_code == 200 and csv.json() == post(url, split(IRIS, IRIS_ROWS)).json()


def test_a_boolean_among_numbers_is_refused_not_scored_as_one(servers: dict[str, str]) -> None:
    body = {"inputs": [[True, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
    message = refused(post(servers["iris"], body), "sepal length (cm)", "row 0", "True")
    assert "boolean" in message
    tensor = [list(MLP_ROWS[0]), MLP_ROWS[1]]
    tensor[0][3] = True
    refused(post(servers["mlp"], {"inputs": tensor}), "tensor", "[0][3]", "True")


def test_a_number_among_strings_is_refused_not_made_text(servers: dict[str, str]) -> None:
    body = split(["color", "size", "count"], [[5, 4.5, 3], ["blue", 6.25, 7]])
    refused(post(servers["pipeline"], body), "color", "row 0", "5")


def test_duplicate_column_names_are_refused(servers: dict[str, str]) -> None:
    body = split([*IRIS[:3], IRIS[0]], IRIS_ROWS)
    refused(post(servers["iris"], body), "repeats", IRIS[0])


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64 + 1, 10**30])
def test_long_values_outside_int64_are_refused_exactly(value: int, servers: dict[str, str]) -> None:
    body = split(["color", "size", "count"], [["red", 4.5, value]])
    refused(post(servers["pipeline"], body), "count", str(value))


def test_long_edges_are_scored_and_an_int_past_2_53_into_a_double_is_refused(servers: dict[str, str]) -> None:
    url = servers["pipeline"]
    for edge in (2**63 - 1, -(2**63)):
        assert post(url, split(["color", "size", "count"], [["red", 4.5, edge]])).status_code == 200
    refused(post(url, split(["color", "size", "count"], [["red", 2**53 + 1, 3]])), "size", "2**53", str(2**53 + 1))
    assert post(url, split(["color", "size", "count"], [["red", 2**53, 3]])).status_code == 200


def test_a_float32_value_past_its_range_is_refused(servers: dict[str, str]) -> None:
    rows = [list(MLP_ROWS[0])]
    rows[0][0] = 1e39
    refused(post(servers["mlp"], {"inputs": rows}), "tensor", "float32", "1e+39")


@pytest.mark.parametrize("shift", [2**63, -(2**63) - 1, 2**64])
def test_long_params_outside_int64_are_refused(shift: int, servers: dict[str, str]) -> None:
    body = {**split(["color", "size", "count"], PIPE_ROWS), "params": {"shift": shift}}
    refused(post(servers["pipeline"], body), "param 'shift'", str(shift))


def test_ragged_inputs_columns_name_the_column(servers: dict[str, str]) -> None:
    columns = {name: [row[j] for row in IRIS_ROWS] for j, name in enumerate(IRIS)}
    columns[IRIS[2]] = columns[IRIS[2]][:1]
    message = refused(post(servers["iris"], {"inputs": columns}), IRIS[2])
    assert "1 values" in message


def test_content_encoding_gzip_and_deflate(servers: dict[str, str]) -> None:
    url = servers["iris"]
    plain = json.dumps(split(IRIS, IRIS_ROWS)).encode()
    expected = post(url, plain).json()
    zipped = post(url, gzip.compress(plain), **{"Content-Encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.json() == expected
    refused(post(url, plain, **{"Content-Encoding": "gzip"}), "Content-Encoding")
    bomb = gzip.compress(b" " * (17 * 1024 * 1024))
    refused(post(url, bomb, **{"Content-Encoding": "gzip"}), "decompressed", status=413)
    refused(post(url, plain, **{"Content-Encoding": "br"}), "Content-Encoding", "'br'", status=415)


def test_the_models_own_exception_on_valid_input_is_a_500_with_an_error_id(servers: dict[str, str]) -> None:
    body = {**split(["color", "size", "count"], PIPE_ROWS), "params": {"label": "raise"}}
    answer = post(servers["pipeline"], body)
    assert answer.status_code == 500, answer.text
    error = answer.json()
    assert error["error_code"] == "INTERNAL_ERROR" and error["error_id"] in error["message"]
    assert "the model's own failure" not in answer.text  # no detail leaks to the caller
    assert post(servers["pipeline"], split(["color", "size", "count"], PIPE_ROWS)).status_code == 200


class ExplodingColumns(dict[str, Any]):
    """Input whose reading raises inside Shipyard's conversion code (as a bug there would)."""

    def items(self) -> Any:
        raise RuntimeError("a bug in the conversion")


def test_an_exception_in_shipyards_conversion_is_not_blamed_on_the_caller(model_dirs: dict[str, Path]) -> None:
    """`LoadedVersion.prepare` lets it through: the hot path answers it 500 with an error id,
    never a 400 (only SchemaEnforcementError blames the caller)."""
    from shipyard.flavors.pyfunc import load_model
    from shipyard.runtime.identity import ModelIdentity
    from shipyard.runtime.loaded import LoadedVersion

    pyfunc = load_model(model_dirs["pipeline"])
    version = LoadedVersion(ModelIdentity("pipeline", "", ""), pyfunc, batcher=None)  # type: ignore[arg-type]
    columns = ExplodingColumns({"color": ["red"], "size": [4.5], "count": [3]})
    with pytest.raises(RuntimeError, match="a bug in the conversion"):
        version.prepare(columns, None)
    with pytest.raises(SchemaEnforcementError):
        version.prepare({"color": [5], "size": [4.5], "count": [3]}, None)
