"""Writes `corpus.json` beside this file: bad and edge-case `/invocations` requests for the three
model kinds of `conftest.py` (iris, mlp, pipeline). Run `python tests/fuzz/make_corpus.py` after
changing it; `test_fuzz.py` checks the file is what this script writes.

A case is one HTTP request and what must come back:
- `expect: "4xx"`: a 4xx whose JSON `message` contains one of `mentions` (the field or header);
- `expect: "2xx"`: a 200 whose predictions equal those of `same_as` (an equivalent valid JSON
  body), or equal `predictions`.
`body` is text, `body_b64` bytes; `pad` appends that many spaces (a body over the size limit
without storing one).
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("corpus.json")
IRIS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
PIPE = ["color", "size", "count"]
ROWS: dict[str, list[list[Any]]] = {
    "iris": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    "mlp": [[0.5, -1.0, 0.25, 2.0, -0.75, 1.5, 0.0, -2.0], [1.0, 0.5, -0.5, 0.125, 1.25, -1.5, 2.5, 0.75]],
    "pipeline": [["red", 4.5, 3], ["blue", 6.25, 7]],
}
NAMES: dict[str, list[str] | None] = {"iris": IRIS, "mlp": None, "pipeline": PIPE}
TENSOR_MENTIONS = ["tensor"]
LIMIT = 16 * 1024 * 1024


def bodies(kind: str, rows: list[list[Any]]) -> dict[str, Any]:
    """The same rows in every JSON format the kind takes."""
    names = NAMES[kind]
    if names is None:
        return {
            "split": {"dataframe_split": {"data": rows}},
            "instances": {"instances": rows},
            "inputs": {"inputs": rows},
            "named": {"inputs": {"x": rows}},
        }
    records = [dict(zip(names, row, strict=True)) for row in rows]
    return {
        "split": {"dataframe_split": {"columns": names, "data": rows}},
        "records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs": {"inputs": rows},
    }


class Corpus:
    def __init__(self) -> None:
        self.cases: list[dict[str, Any]] = []

    def add(self, kind: str, group: str, body: Any = None, *, raw: bytes | str | None = None, **fields: Any) -> None:
        case: dict[str, Any] = {"id": f"{kind}-{group}-{len(self.cases)}", "kind": kind, "group": group}
        case["method"] = fields.pop("method", "POST")
        case["path"] = fields.pop("path", "/invocations")
        case["headers"] = fields.pop("headers", {"Content-Type": "application/json"})
        if raw is None:
            raw = json.dumps(body)
        if isinstance(raw, bytes):
            try:
                case["body"] = raw.decode("utf-8")
            except UnicodeDecodeError:
                case["body_b64"] = base64.b64encode(raw).decode()
        else:
            case["body"] = raw
        if "same_as" in fields:
            fields["same_as"] = json.dumps(fields["same_as"])
        case.update(fields)
        assert case["expect"] in ("2xx", "4xx"), case
        assert case["expect"] == "4xx" or "same_as" in case or "predictions" in case, case
        self.cases.append(case)

    def bad(self, kind: str, group: str, body: Any = None, mentions: list[str] | None = None, **kw: Any) -> None:
        self.add(kind, group, body, expect="4xx", mentions=mentions or [], **kw)

    def same(self, kind: str, group: str, body: Any, same_as: Any, **kw: Any) -> None:
        self.add(kind, group, body, expect="2xx", same_as=same_as, **kw)


def value_cases(c: Corpus) -> None:
    """One bad (or equivalent) value in one column of row 1, in every format."""
    number_bad: list[Any] = [
        True,
        False,
        "5",
        "abc",
        "",
        None,
        [],
        [1.0],
        {},
        {"v": 1},
        2**53 + 1,
        -(2**53) - 1,
        2**63,
        2**64 + 1,
        -(2**63) - 1,
        10**30,
        "NaN",
        "Infinity",
    ]
    long_bad: list[Any] = [2.5, -0.5, True, "3", 2**63, -(2**63) - 1, 2**64, 1e19, -1e19, None, 10**40, [3], {}]
    text_bad: list[Any] = [5, 5.5, -1, True, False, None, [], ["red"], {"a": 1}]
    for kind in ("iris", "pipeline", "mlp"):
        rows = ROWS[kind]
        names = NAMES[kind]
        width = len(rows[0])
        for j in range(width):
            if kind == "mlp" and j not in (0, 7):
                continue
            if kind == "pipeline":
                bad_values = {0: text_bad, 1: number_bad, 2: long_bad}[j]
            else:
                bad_values = number_bad + ([1e39, -1e39, 3.5e38] if kind == "mlp" else [])
            mentions = [names[j]] if names is not None else TENSOR_MENTIONS
            for value in bad_values:
                changed = [list(r) for r in rows]
                changed[1][j] = value
                for fmt, body in bodies(kind, changed).items():
                    c.bad(kind, f"value-{fmt}", body, mentions)
        # equivalent spellings: an int for a whole float, a whole float for an int
        changed = [list(r) for r in rows]
        same = [list(r) for r in rows]
        if kind == "pipeline":
            changed[0][2] = 3.0
            changed[1][1] = 6.25
            same[0][2] = 3
        else:
            changed[0][0] = 5
            same[0][0] = 5.0
            changed[1][-1] = 2**24 + 1 if kind == "mlp" else 2
            same[1][-1] = float(2**24 + 1) if kind == "mlp" else 2.0
        reference = bodies(kind, same)["inputs"]
        for fmt, body in bodies(kind, changed).items():
            c.same(kind, f"equivalent-{fmt}", body, reference)


MALFORMED: list[bytes] = [
    b"",
    b" ",
    b"{",
    b"}",
    b'{"inputs": [1, 2}',
    b"{'inputs': []}",
    b'{"inputs": [NaN]}',
    b'{"inputs": [Infinity]}',
    b'{"inputs": [-Infinity]}',
    b'{"inputs": [1e999]}',
    b'{"inputs": [-1e999]}',
    b"\xff\xfe{}",
    b'{"inputs": ["\xff"]}',
    b"[" * 3000 + b"]" * 3000,
    b'{"inputs": ' + b"[" * 2000 + b"]" * 2000 + b"}",
    b'{"inputs": []} trailing',
    b'{"inputs": [1,]}',
    b'{"inputs": [01]}',
    b'{"inputs": [1] "params": {}}',
    b'{"inputs" [1]}',
    b'{"inputs": [-]}',
    b'{"inputs": [.5]}',
    b'{"inputs": [1.]}',
    b'{"inputs": [0x10]}',
    b'{"inputs": [true, tru]}',
    b'{"inputs": "\\x41"}',
    b"\x00",
    b'{"inputs": [1]}\x00',
]
NOT_OBJECTS: list[bytes] = [b"null", b"true", b'"text"', b"123", b"[]", b"[[1, 2]]", b'[{"inputs": []}]']


def structure_cases(c: Corpus) -> None:
    for kind in ("iris", "mlp", "pipeline"):
        rows = ROWS[kind]
        names = NAMES[kind]
        for raw in MALFORMED:
            c.bad(kind, "malformed-json", raw=raw, mentions=["JSON", "body"])
        for raw in NOT_OBJECTS:
            c.bad(kind, "not-an-object", raw=raw, mentions=["body"])
        key_bad: list[tuple[Any, list[str]]] = [
            ({}, ["exactly one"]),
            ({"inputs": rows, "instances": rows}, ["exactly one"]),
            ({"inputs": rows, "foo": 1}, ["foo"]),
            ({"Inputs": rows}, ["Inputs"]),
            ({"params": {}}, ["exactly one"]),
            ({"inputs": rows, "params": "x"}, ["params"]),
            ({"inputs": rows, "params": [1]}, ["params"]),
            ({"inputs": rows, "params": 5}, ["params"]),
            ({"dataframe_split": []}, ["dataframe_split"]),
            ({"dataframe_split": "x"}, ["dataframe_split"]),
            ({"dataframe_split": None}, ["dataframe_split"]),
            ({"dataframe_split": {"data": 5}}, ["dataframe_split"]),
            ({"dataframe_split": {"columns": "a", "data": rows}}, ["dataframe_split"]),
            ({"dataframe_split": {"columns": [1.5], "data": [[1]]}}, ["dataframe_split"]),
            ({"dataframe_split": {"columns": [None], "data": [[1]]}}, ["dataframe_split"]),
            ({"dataframe_split": {"data": rows, "extra": 1}}, ["dataframe_split"]),
            ({"dataframe_split": {"columns": ["a"]}}, ["dataframe_split"]),
            ({"dataframe_records": {}}, ["dataframe_records"]),
            ({"dataframe_records": [1, 2]}, ["dataframe_records"]),
            ({"dataframe_records": rows}, ["dataframe_records"]),
            ({"dataframe_records": "x"}, ["dataframe_records"]),
            ({"instances": 5}, ["instances"]),
            ({"instances": "x"}, ["instances"]),
            ({"instances": {}}, ["instances"]),
            ({"instances": None}, ["instances"]),
            ({"inputs": 5}, ["inputs"]),
            ({"inputs": "x"}, ["inputs"]),
            ({"inputs": None}, ["inputs"]),
            ({"inputs": True}, ["inputs"]),
        ]
        for body, mentions in key_bad:
            c.bad(kind, "format-keys", body, mentions)
        width = len(rows[0])
        first = [names[0]] if names is not None else TENSOR_MENTIONS
        shape_bad: list[tuple[Any, list[str]]] = [
            ({"inputs": [rows[0], rows[1][:-1]]}, ["row 1", *TENSOR_MENTIONS]),
            ({"inputs": [rows[0], [*rows[1], 1.0]]}, ["row 1", *TENSOR_MENTIONS]),
            ({"inputs": [rows[0], 5]}, ["row 1", *TENSOR_MENTIONS]),
            ({"inputs": [rows[0][:2]]}, ["column", *TENSOR_MENTIONS]),
            ({"inputs": [[*rows[0], *rows[0]]]}, ["column", *TENSOR_MENTIONS]),
            ({"instances": [rows[0], rows[1][:-1]]}, ["row 1", *TENSOR_MENTIONS]),
            ({"dataframe_split": {"data": [rows[0], rows[1][:-1]]}}, ["row 1", *TENSOR_MENTIONS]),
            ({"inputs": [[rows[0]]]}, ["column", "value", *TENSOR_MENTIONS]),
            ({"inputs": [[[v] for v in rows[0]]]}, ["column", *TENSOR_MENTIONS, *first]),
        ]
        if names is not None:
            columns = {n: [r[j] for r in rows] for j, n in enumerate(names)}
            short = dict(columns)
            short[names[-1]] = columns[names[-1]][:1]
            missing = [dict(zip(names, r, strict=True)) for r in rows]
            del missing[1][names[1]]
            shape_bad += [
                ({"dataframe_split": {"columns": names, "data": [rows[0], rows[1][:-1]]}}, ["dataframe_split.data[1]"]),
                ({"dataframe_split": {"columns": names[:-1], "data": [r[:-1] for r in rows]}}, [names[-1]]),
                ({"dataframe_split": {"columns": [*names[:-1], names[0]], "data": rows}}, [names[0]]),
                ({"dataframe_split": {"columns": list(range(width)), "data": rows}}, [names[0]]),
                ({"dataframe_records": missing}, [names[1]]),
                ({"dataframe_records": [missing[1]]}, [names[1]]),
                ({"dataframe_records": [{}]}, [names[0]]),
                ({"instances": missing}, [names[1]]),
                ({"inputs": short}, [names[-1]]),
                ({"inputs": {names[0]: columns[names[0]]}}, [names[1]]),
                ({"inputs": {**columns, names[0]: 5}}, [names[0]]),
            ]
            reordered = list(reversed(names))
            extra = [{**dict(zip(names, r, strict=True)), "extra": 1} for r in rows]
            reference = bodies(kind, rows)["inputs"]
            c.same(kind, "extra-column", {"dataframe_records": extra}, reference)
            c.same(
                kind,
                "extra-column",
                {"dataframe_split": {"columns": [*names, "extra"], "data": [[*r, "x"] for r in rows]}},
                reference,
            )
            c.same(
                kind,
                "reordered",
                {"dataframe_split": {"columns": reordered, "data": [list(reversed(r)) for r in rows]}},
                reference,
            )
            c.same(kind, "columns-dict", {"inputs": columns}, reference)
        else:
            shape_bad += [
                ({"inputs": {"x": rows, "y": rows}}, TENSOR_MENTIONS),
                ({"inputs": rows[0]}, TENSOR_MENTIONS),
                ({"inputs": [[rows]]}, TENSOR_MENTIONS),
            ]
        if names is None:  # the one unnamed tensor may come under any name
            c.same(kind, "tensor-name", {"inputs": {"y": rows}}, bodies(kind, rows)["inputs"])
        for body, mentions in shape_bad:
            c.bad(kind, "shape", body, mentions)
        # zero rows: one answer everywhere
        zero: list[Any] = [{"inputs": []}, {"instances": []}, {"dataframe_split": {"data": []}}]
        if names is not None:
            zero += [{"dataframe_split": {"columns": names, "data": []}}, {"dataframe_records": []}]
        for body in zero:
            c.add(kind, "zero-rows", body, expect="2xx", predictions=[])


def csv_text(names: list[str], rows: list[list[Any]], *, newline: str = "\n") -> str:
    return newline.join([",".join(names), *(",".join(str(v) for v in r) for r in rows)]) + newline


def csv_cases(c: Corpus) -> None:
    csv = {"Content-Type": "text/csv"}
    for kind in ("iris", "pipeline", "mlp"):
        rows = ROWS[kind]
        names = NAMES[kind] or [f"c{j}" for j in range(len(rows[0]))]
        reference = bodies(kind, rows)["inputs"]
        named = NAMES[kind] is not None

        def mention_of(j: int, names: list[str] = names, named: bool = named) -> list[str]:
            return [names[j]] if named else TENSOR_MENTIONS

        c.same(kind, "csv", None, reference, raw=csv_text(names, rows), headers=csv)
        c.same(kind, "csv", None, reference, raw=csv_text(names, rows, newline="\r\n"), headers=csv)
        c.same(kind, "csv", None, reference, raw="\ufeff" + csv_text(names, rows), headers=csv)
        c.same(kind, "csv", None, reference, raw=csv_text(names, rows).replace("\n", "\n\n"), headers=csv)
        quoted = "\n".join([",".join(names), *(",".join(f'"{v}"' for v in r) for r in rows)]) + "\n"
        c.same(kind, "csv", None, reference, raw=quoted, headers=csv)
        c.same(
            kind, "csv", None, reference, raw=csv_text(names, rows), headers={"Content-Type": "text/csv; charset=utf-8"}
        )
        c.add(kind, "csv-zero-rows", raw=",".join(names) + "\n", headers=csv, expect="2xx", predictions=[])
        if NAMES[kind] is not None:
            extra = csv_text([*names, "extra"], [[*r, "x"] for r in rows])
            c.same(kind, "csv", None, reference, raw=extra, headers=csv)
            c.bad(kind, "csv", raw=csv_text(names[1:], [r[1:] for r in rows]), headers=csv, mentions=[names[0]])
        numeric = next(j for j, v in enumerate(rows[0]) if isinstance(v, float))
        for cell in [
            "",
            "NaN",
            "nan",
            "NA",
            "null",
            "inf",
            "-inf",
            "Infinity",
            "abc",
            "1e400",
            "true",
            "1_000",
            "0x10",
        ]:
            changed = [list(r) for r in rows]
            changed[1][numeric] = cell
            c.bad(kind, "csv-cell", raw=csv_text(names, changed), headers=csv, mentions=mention_of(numeric))
        text = csv_text(names, rows)
        lines = text.splitlines()
        c.bad(kind, "csv", raw=lines[0] + "\n" + lines[1].rsplit(",", 1)[0] + "\n", headers=csv, mentions=["CSV"])
        c.bad(kind, "csv", raw=text + lines[1] + ",9\n", headers=csv, mentions=["CSV"])
        c.bad(
            kind, "csv", raw=",".join([names[0], *names[:-1]]) + "\n" + lines[1] + "\n", headers=csv, mentions=["CSV"]
        )
        c.bad(kind, "csv", raw="", headers=csv, mentions=["CSV"])
        c.bad(kind, "csv", raw=b"\xff\xfe" + text.encode(), headers=csv, mentions=["CSV"])
        c.bad(kind, "csv", raw=lines[0] + '\n"unterminated,1\n', headers=csv, mentions=["CSV", *mention_of(0)])
        c.bad(kind, "csv", raw=text, headers={"Content-Type": "text/csv; charset=latin-1"}, mentions=["charset"])
        if kind == "mlp":
            changed = [list(r) for r in rows]
            changed[0][0] = "1e39"
            c.bad(kind, "csv-cell", raw=csv_text(names, changed), headers=csv, mentions=TENSOR_MENTIONS)


def encoding_cases(c: Corpus) -> None:
    for kind in ("iris", "mlp", "pipeline"):
        reference = bodies(kind, ROWS[kind])["inputs"]
        plain = json.dumps(reference).encode()
        raw_deflate = zlib.compressobj(wbits=-15)
        deflated = raw_deflate.compress(plain) + raw_deflate.flush()

        def enc(name: str) -> dict[str, str]:
            return {"Content-Type": "application/json", "Content-Encoding": name}

        c.same(kind, "encoding", None, reference, raw=gzip.compress(plain, mtime=0), headers=enc("gzip"))
        c.same(kind, "encoding", None, reference, raw=gzip.compress(plain, mtime=0), headers=enc("GZIP"))
        c.same(kind, "encoding", None, reference, raw=gzip.compress(plain, mtime=0), headers=enc("x-gzip"))
        c.same(kind, "encoding", None, reference, raw=zlib.compress(plain), headers=enc("deflate"))
        c.same(kind, "encoding", None, reference, raw=deflated, headers=enc("deflate"))
        c.same(kind, "encoding", None, reference, raw=plain, headers=enc("identity"))
        half = len(plain) // 2
        members = gzip.compress(plain[:half], mtime=0) + gzip.compress(plain[half:], mtime=0)
        c.same(kind, "encoding", None, reference, raw=members, headers=enc("gzip"))
        c.bad(kind, "encoding", raw=plain, headers=enc("gzip"), mentions=["Content-Encoding"])
        c.bad(kind, "encoding", raw=plain, headers=enc("deflate"), mentions=["Content-Encoding"])
        c.bad(
            kind, "encoding", raw=gzip.compress(plain, mtime=0)[:-9], headers=enc("gzip"), mentions=["Content-Encoding"]
        )
        c.bad(kind, "encoding", raw=b"", headers=enc("gzip"), mentions=["Content-Encoding"])
        c.bad(kind, "encoding", raw=gzip.compress(b"{not json", mtime=0), headers=enc("gzip"), mentions=["JSON"])
        c.bad(
            kind,
            "encoding",
            raw=gzip.compress(gzip.compress(plain, mtime=0), mtime=0),
            headers=enc("gzip"),
            mentions=["JSON"],
        )
        for name in ("br", "compress", "zstd", "gzip, gzip", "gzip;q=1", "*", "bogus"):
            c.bad(kind, "encoding", raw=plain, headers=enc(name), mentions=["Content-Encoding"], status=415)
        bomb = gzip.compress(b" " * (LIMIT + 1024), compresslevel=9, mtime=0)
        c.bad(kind, "encoding", raw=bomb, headers=enc("gzip"), mentions=["body"], status=413)
        c.bad(kind, "size", raw=plain, pad=LIMIT + 10, mentions=["body"], status=413)


def http_cases(c: Corpus) -> None:
    for kind in ("iris", "mlp", "pipeline"):
        reference = bodies(kind, ROWS[kind])["inputs"]
        plain = json.dumps(reference)
        for content_type, mentions in [
            (None, ["Content-Type"]),
            ("text/plain", ["Content-Type"]),
            ("application/xml", ["Content-Type"]),
            ("multipart/form-data; boundary=x", ["Content-Type", "boundary"]),
            ("application/json; charset=latin-1", ["charset"]),
            ("application/json; charset=utf-16", ["charset"]),
            ("application/json; boundary=x", ["boundary"]),
            ("json", ["Content-Type"]),
            ("", ["Content-Type"]),
        ]:
            headers = {} if content_type is None else {"Content-Type": content_type}
            c.bad(kind, "http", raw=plain, headers=headers, mentions=mentions, status=415)
        for content_type in ("application/json; charset=utf-8", "application/JSON", "Application/Json; Charset=UTF-8"):
            c.same(kind, "http", None, reference, raw=plain, headers={"Content-Type": content_type})
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            c.bad(kind, "http", raw=plain, method=method, mentions=[method], status=405)


def params_cases(c: Corpus) -> None:
    rows = ROWS["pipeline"]
    base = bodies("pipeline", rows)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"scale": "x"}, "scale"),
        ({"scale": True}, "scale"),
        ({"scale": None}, "scale"),
        ({"scale": [1.0]}, "scale"),
        ({"scale": {}}, "scale"),
        ({"scale": 2**53 + 1}, "scale"),
        ({"scale": 10**400}, "scale"),
        ({"shift": 2.5}, "shift"),
        ({"shift": 2**63}, "shift"),
        ({"shift": -(2**63) - 1}, "shift"),
        ({"shift": 2**64}, "shift"),
        ({"shift": 1e19}, "shift"),
        ({"shift": True}, "shift"),
        ({"shift": "1"}, "shift"),
        ({"shift": None}, "shift"),
        ({"label": 5}, "label"),
        ({"label": True}, "label"),
        ({"label": None}, "label"),
        ({"label": ["a"]}, "label"),
        ({"strict": "true"}, "strict"),
        ({"strict": 1}, "strict"),
        ({"strict": 0}, "strict"),
        ({"strict": None}, "strict"),
        ({"foo": 1}, "foo"),
        ({"scale": 1.0, "Scale": 1.0}, "Scale"),
    ]
    for params, name in bad:
        for fmt in ("split", "records", "inputs"):
            c.bad("pipeline", "params", {**base[fmt], "params": params}, [name])
    same: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"scale": 2}, {"scale": 2.0}),
        ({"shift": 1.0}, {"shift": 1}),
        ({"scale": 1.0, "shift": 0, "label": "x", "strict": False}, {}),
        ({}, {"scale": 1.0}),
    ]
    for params, reference in same:
        for fmt in ("split", "records", "inputs"):
            c.same(
                "pipeline",
                "params-equivalent",
                {**base[fmt], "params": params},
                {**base["inputs"], "params": reference},
            )


def build() -> list[dict[str, Any]]:
    c = Corpus()
    value_cases(c)
    structure_cases(c)
    csv_cases(c)
    encoding_cases(c)
    http_cases(c)
    params_cases(c)
    return c.cases


def render() -> str:
    """One case per line (a readable diff)."""
    return "[\n" + ",\n".join(json.dumps(case, sort_keys=True) for case in build()) + "\n]\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {len(build())} cases to {OUT}")
