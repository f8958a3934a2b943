"""The analysis wire format: arrays round-trip bit for bit, bad input is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from genomesh.analysis.protocol import LocalReply, RoundRequest
from genomesh.analysis.wire import (
    decode_array,
    decode_reply,
    decode_request,
    encode_array,
    encode_reply,
    encode_request,
)
from genomesh.core.errors import InvalidInputError


@pytest.mark.parametrize(
    "array",
    [
        np.array([0, -1, np.iinfo(np.int64).max, np.iinfo(np.int64).min], dtype=np.int64),
        np.array([0, np.iinfo(np.uint64).max, 2**63 + 12345], dtype=np.uint64),
        np.array([[0.1, 1e-300], [np.pi, -0.0]], dtype=np.float64),
        np.array([np.nan, np.inf, -np.inf]),
        np.arange(24, dtype=np.int8).reshape(2, 3, 4) - 5,
        np.array([True, False]),
        np.zeros((0, 3), dtype=np.float32),
        np.array(7.5),
        np.array([1, 2], dtype=">i8"),  # big-endian input arrives with the same values
    ],
)
def test_array__round_trips_exactly_through_json(array: np.ndarray) -> None:
    back = decode_array(json.loads(json.dumps(encode_array(array))))
    assert back.shape == array.shape
    assert back.dtype == array.dtype.newbyteorder("=")
    assert back.tobytes() == array.astype(back.dtype).tobytes()
    back[...] = 0 if back.size else back  # writable


def test_array__encoding_is_little_endian() -> None:
    encoded = encode_array(np.array([1], dtype=">u4"))
    assert encoded["dtype"] == "<u4"
    assert encoded["data"] == "AQAAAA=="


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ({"dtype": "|O", "shape": [1], "data": ""}, "not allowed"),
        ({"dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="}, "needs 16"),
        ({"dtype": "<f8", "shape": [1], "data": "!!"}, "malformed"),
        ({"dtype": "<f8", "shape": [-1], "data": ""}, "negative"),
        ({"shape": [1], "data": ""}, "malformed"),
        ("nope", "must be an object"),
    ],
)
def test_array__bad_encoding_is_refused_by_name(encoded: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        decode_array(encoded, field="arrays.CtG")  # type: ignore[arg-type]
    assert info.value.field == "arrays.CtG"


def test_array__object_arrays_are_not_sent() -> None:
    with pytest.raises(InvalidInputError, match="numbers only"):
        encode_array(np.array(["a"], dtype=object))


def test_request_and_reply__round_trip() -> None:
    request = RoundRequest("allele-frequency", "t1", 2, ("ds1", "ds2"), {"region": "1:1-10"})
    assert decode_request(json.loads(json.dumps(encode_request(request)))) == request
    reply = LocalReply(
        values={"n": 3},
        arrays={"ac": np.array([1, 2], dtype=np.int64)},
        contributors={"p1", "p2"},
        suppressed={"ds1": "fewer than 5"},
    )
    back = decode_reply(json.loads(json.dumps(encode_reply(reply))))
    assert back.values == {"n": 3} and back.suppressed == {"ds1": "fewer than 5"}
    assert back.arrays["ac"].tolist() == [1, 2]
    assert back.contributors == set()  # contributors never leave the node


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_id": "t", "round": 0, "datasets": []}, "analysis"),
        ({"analysis": "a", "round": 0, "datasets": []}, "task_id"),
        ({"analysis": "a", "task_id": "t", "round": -1, "datasets": []}, "round"),
        ({"analysis": "a", "task_id": "t", "round": True, "datasets": []}, "round"),
        ({"analysis": "a", "task_id": "t", "round": 0, "datasets": [1]}, "datasets"),
        ({"analysis": "a", "task_id": "t", "round": 0, "datasets": [], "params": []}, "params"),
    ],
)
def test_request__malformed_field_is_named(body: dict, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        decode_request(body)
    assert info.value.field == field


def test_reply__numpy_scalars_in_values_become_numbers_and_arrays_are_refused() -> None:
    reply = LocalReply(
        values={"n": np.int64(3), "x": [np.float64(0.5)], "m": {"k": np.bool_(True)}}
    )
    assert json.loads(json.dumps(encode_reply(reply)))["values"] == {
        "n": 3,
        "x": [0.5],
        "m": {"k": True},
    }
    with pytest.raises(InvalidInputError, match=r"values.G holds an array"):
        encode_reply(LocalReply(values={"G": np.zeros(2)}))
